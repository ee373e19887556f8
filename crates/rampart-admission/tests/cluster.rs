//! The API-server and registry clients against local fakes on 127.0.0.1: the Namespace
//! list/watch cache, PolicyReport creation, tag → digest and image-user lookups feeding
//! `/mutate`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::Engine as _;
use common::*;
use http_body_util::BodyExt;
use rampart_admission::engine::{AuditEvent, AuditSink, Engine};
use rampart_admission::kube::{JsonAuditSink, KubeClient, KubeNamespaces};
use rampart_admission::mutate::ImageUser;
use rampart_admission::namespaces::{NamespaceSource, StaticNamespaces};
use rampart_admission::registry::Registry;
use rampart_admission::settings::{Mutations, Settings};
use rampart_admission::Violation;
use serde_json::{json, Value};
use sha2::Digest as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

async fn serve(app: Router) -> SocketAddr {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    addr
}

#[derive(Default)]
struct FakeApi {
    watches: AtomicUsize,
    reports: Mutex<Vec<(String, Value)>>,
    auth: Mutex<Vec<String>>,
}

fn ns(name: &str, rv: &str, labels: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "resourceVersion": rv, "labels": labels}})
}

async fn fake_api(st: Arc<FakeApi>, req: Request<Body>) -> Response {
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    if let Some(a) = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
    {
        st.auth.lock().unwrap().push(a.to_string());
    }
    if path == "/api/v1/namespaces" && !query.contains("watch=1") {
        let list = json!({"kind": "NamespaceList", "apiVersion": "v1", "metadata": {"resourceVersion": "10"},
            "items": [ns("team", "5", json!({"rampart.dev/enforce": "baseline"})), ns("gone", "6", json!({}))]});
        return (StatusCode::OK, list.to_string()).into_response();
    }
    if path == "/api/v1/namespaces" {
        let n = st.watches.fetch_add(1, Ordering::SeqCst);
        if n == 0 {
            assert!(query.contains("resourceVersion=10"), "{query}");
            let events = [
                json!({"type": "MODIFIED", "object": ns("team", "11", json!({"rampart.dev/enforce": "restricted"}))}),
                json!({"type": "DELETED", "object": ns("gone", "12", json!({}))}),
                json!({"type": "BOOKMARK", "object": {"kind": "Namespace", "metadata": {"resourceVersion": "13"}}}),
            ];
            let body: String = events.iter().map(|e| format!("{e}\n")).collect();
            return (StatusCode::OK, body).into_response();
        }
        // Later watches: hold the stream open (idle) for a while.
        tokio::time::sleep(Duration::from_secs(5)).await;
        return (StatusCode::OK, String::new()).into_response();
    }
    if path.starts_with("/apis/wgpolicyk8s.io/v1alpha2/namespaces/") && req.method() == "POST" {
        let b = req.into_body().collect().await.unwrap().to_bytes();
        st.reports
            .lock()
            .unwrap()
            .push((path, serde_json::from_slice(&b).unwrap()));
        return (StatusCode::CREATED, "{}").into_response();
    }
    (StatusCode::NOT_FOUND, "{}").into_response()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespace_watch_cache_follows_the_api_server() {
    let st = Arc::new(FakeApi::default());
    let s2 = st.clone();
    let addr = serve(Router::new().fallback(move |req| fake_api(s2.clone(), req))).await;
    let client = KubeClient::new(&format!("http://{addr}"), Some("tok".into()), None).unwrap();
    let store = Arc::new(StaticNamespaces::new());
    let watcher = KubeNamespaces::new(client, store.clone());
    assert!(!store.ready(), "not ready before the first list");
    let task = tokio::spawn(watcher.run());
    let mut synced = false;
    for _ in 0..100 {
        if store.labels("gone").is_none()
            && store.labels("team").is_some_and(|l| {
                l.get("rampart.dev/enforce").map(String::as_str) == Some("restricted")
            })
        {
            synced = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(synced, "watch events not applied");
    assert!(store.ready());
    assert!(st.watches.load(Ordering::SeqCst) >= 1);
    assert!(st.auth.lock().unwrap().iter().all(|a| a == "Bearer tok"));
    task.abort();

    // The webhook uses the cache: `team` is now restricted.
    let s = start(Engine::new(Settings::default()).with_namespaces(store)).await;
    let pod = json!({"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "a", "image": "x:1"}]}});
    let (_, text) = post(&s, "/validate", &create("w", "team", pod)).await;
    assert_eq!(response(&text)["allowed"], false);
}

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_events_become_json_lines_and_policy_reports() {
    let st = Arc::new(FakeApi::default());
    let s2 = st.clone();
    let addr = serve(Router::new().fallback(move |req| fake_api(s2.clone(), req))).await;
    let client = KubeClient::new(&format!("http://{addr}"), None, None).unwrap();
    let buf = Buf::default();
    let sink = JsonAuditSink::new(Box::new(buf.clone())).with_policy_reports(client);
    let mut ev = AuditEvent {
        uid: "u".into(),
        operation: "CREATE".into(),
        kind: "Pod".into(),
        namespace: "team".into(),
        name: "p".into(),
        user: "alice".into(),
        policy: "restricted:latest".into(),
        dry_run: true,
        allowed: true,
        violations: vec![Violation {
            rule_id: "k8s/pss-run-as-non-root".into(),
            field: "spec".into(),
            message: "may run as root".into(),
        }],
    };
    sink.record(&ev); // dry run: log line only
    ev.dry_run = false;
    sink.record(&ev);
    let lines: Vec<Value> = String::from_utf8(buf.0.lock().unwrap().clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(
        lines[0]["event"]["violations"][0]["rule_id"],
        "k8s/pss-run-as-non-root"
    );
    let mut got = Vec::new();
    for _ in 0..100 {
        got = st.reports.lock().unwrap().clone();
        if !got.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        st.reports.lock().unwrap().len(),
        1,
        "dry runs create no report"
    );
    let (path, report) = &got[0];
    assert_eq!(
        path,
        "/apis/wgpolicyk8s.io/v1alpha2/namespaces/team/policyreports"
    );
    assert_eq!(report["apiVersion"], "wgpolicyk8s.io/v1alpha2");
    assert_eq!(report["kind"], "PolicyReport");
    assert_eq!(report["results"][0]["rule"], "k8s/pss-run-as-non-root");
    assert_eq!(report["results"][0]["result"], "fail");
    assert_eq!(report["summary"]["fail"], 1);
}

/// A registry serving one image `team/app:1` whose config has `USER 65532`, and
/// `team/root:1` without a USER.
async fn fake_registry(req: Request<Body>) -> Response {
    let path = req.uri().path().to_string();
    let config_for = |user: &str| {
        json!({"architecture": "amd64", "os": "linux", "config": {"User": user}}).to_string()
    };
    for (repo, user) in [("team/app", "65532"), ("team/root", "")] {
        let cfg = config_for(user);
        let cfg_digest = format!(
            "sha256:{}",
            hex::encode(sha2::Sha256::digest(cfg.as_bytes()))
        );
        let manifest = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cfg_digest, "size": cfg.len()},
            "layers": []})
        .to_string();
        let digest = format!(
            "sha256:{}",
            hex::encode(sha2::Sha256::digest(manifest.as_bytes()))
        );
        if path == format!("/v2/{repo}/manifests/1")
            || path == format!("/v2/{repo}/manifests/{digest}")
        {
            return (
                StatusCode::OK,
                [
                    (
                        "content-type",
                        "application/vnd.oci.image.manifest.v1+json".to_string(),
                    ),
                    ("docker-content-digest", digest),
                ],
                if req.method() == "HEAD" {
                    String::new()
                } else {
                    manifest
                },
            )
                .into_response();
        }
        if path == format!("/v2/{repo}/blobs/{cfg_digest}") {
            return (StatusCode::OK, cfg).into_response();
        }
    }
    (StatusCode::NOT_FOUND, "{}").into_response()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_lookups_pin_digests_and_set_run_as_non_root() {
    let addr = serve(Router::new().fallback(fake_registry)).await;
    let host = addr.to_string();
    let reg = Arc::new(Registry::new(vec![host.clone()]));
    let app = format!("{host}/team/app:1");
    let d = reg.digest(&app).await.unwrap();
    assert!(d.starts_with("sha256:") && d.len() == 71);
    assert_eq!(reg.user(&app).await.unwrap(), ImageUser::Uid(65532));
    assert_eq!(
        reg.user(&format!("{host}/team/root:1")).await.unwrap(),
        ImageUser::Root
    );
    assert!(reg.digest(&format!("{host}/team/missing:1")).await.is_err());

    let mut settings = Settings {
        mutations: Mutations {
            run_as_non_root: true,
            ..Mutations::default()
        },
        ..Settings::default()
    };
    settings.images.resolve_digests = true;
    let s = start_with(Engine::new(settings), Some(reg), |_| {}).await;
    let pod = json!({"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [
        {"name": "a", "image": app},
        {"name": "r", "image": format!("{host}/team/root:1")},
    ]}});
    let (_, text) = post(&s, "/mutate", &create("m", "default", pod.clone())).await;
    let r = response(&text);
    let patch: Vec<Value> = serde_json::from_slice(
        &base64::engine::general_purpose::STANDARD
            .decode(r["patch"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    let mut obj = pod;
    rampart_admission::mutate::apply(&mut obj, &patch).unwrap();
    assert_eq!(obj["spec"]["containers"][0]["image"], format!("{app}@{d}"));
    assert_eq!(
        obj["spec"]["containers"][0]["securityContext"]["runAsNonRoot"],
        true
    );
    assert!(obj["spec"]["containers"][1]
        .get("securityContext")
        .is_none());
    assert!(r["warnings"].to_string().contains("runs as root"), "{r}");
}

/// The Debian docker-registry peer on 127.0.0.1:5000 (started by the peers install
/// script), when it is running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_registry_digest_when_available() {
    if tokio::net::TcpStream::connect("127.0.0.1:5000")
        .await
        .is_err()
    {
        eprintln!("skipping: no registry on 127.0.0.1:5000");
        return;
    }
    let reg = Registry::new(vec!["127.0.0.1:5000".into()]);
    match reg.digest("127.0.0.1:5000/debian:bookworm").await {
        Ok(d) => assert!(d.starts_with("sha256:")),
        Err(e) => eprintln!("skipping: 127.0.0.1:5000 has no debian:bookworm ({e})"),
    }
}
