//! The API-server and registry clients against local fakes on 127.0.0.1: the Namespace
//! list/watch cache, PolicyReports (applied in place), tag → digest and image-user lookups feeding
//! `/mutate`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::Engine as _;
use common::*;
use http_body_util::BodyExt;
use rampart_admission::engine::{AuditEvent, AuditSink, Engine};
use rampart_admission::mutate::ImageUser;
use rampart_admission::namespaces::namespace_watcher;
use rampart_admission::namespaces::NamespaceSource;
use rampart_admission::registry::Registry;
use rampart_admission::reports::{JsonAuditSink, FIELD_MANAGER};
use rampart_admission::settings::{Mutations, Settings};
use rampart_admission::Violation;
use rampart_cluster::reports::ReportWriter;
use rampart_cluster::watch::WatchOptions;
use rampart_cluster::{Cluster, ClusterOptions, Source};
use serde_json::{json, Value};
use sha2::Digest as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A client of a plain-HTTP loopback fake, with `token` in a token file (kept alive by
/// the returned directory).
async fn client(addr: SocketAddr, token: Option<&str>) -> (Cluster, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let token_file = token.map(|t| {
        let p = dir.path().join("token");
        std::fs::write(&p, t).unwrap();
        p
    });
    let c = Cluster::connect(&ClusterOptions::new(Source::Server {
        url: format!("http://{addr}"),
        ca_file: None,
        token_file,
    }))
    .await
    .unwrap();
    (c, dir)
}

fn writer(c: &Cluster) -> ReportWriter {
    ReportWriter::new(c, FIELD_MANAGER)
}

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
    /// Every write to a PolicyReport path: (method, path and query, content type).
    writes: Mutex<Vec<(String, String, String)>>,
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
    if path == "/api/v1/namespaces" && !query.contains("watch=") {
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
                json!({"type": "BOOKMARK", "object": {"kind": "Namespace", "apiVersion": "v1", "metadata": {"resourceVersion": "13"}}}),
            ];
            let body: String = events.iter().map(|e| format!("{e}\n")).collect();
            return (StatusCode::OK, body).into_response();
        }
        // Later watches: hold the stream open (idle) for a while.
        tokio::time::sleep(Duration::from_secs(5)).await;
        return (StatusCode::OK, String::new()).into_response();
    }
    if path.starts_with("/apis/wgpolicyk8s.io/v1alpha2/namespaces/") {
        let ct = req
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        st.writes
            .lock()
            .unwrap()
            .push((req.method().to_string(), format!("{path}?{query}"), ct));
        let b = req.into_body().collect().await.unwrap().to_bytes();
        st.reports
            .lock()
            .unwrap()
            .push((path, serde_json::from_slice(&b).unwrap()));
        // Server-side apply answers the object.
        return (StatusCode::CREATED, b).into_response();
    }
    (StatusCode::NOT_FOUND, "{}").into_response()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespace_watch_cache_follows_the_api_server() {
    let st = Arc::new(FakeApi::default());
    let s2 = st.clone();
    let addr = serve(Router::new().fallback(move |req| fake_api(s2.clone(), req))).await;
    let (client, _dir) = client(addr, Some("tok")).await;
    let (watcher, store) = namespace_watcher(&client, WatchOptions::default());
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
    let (client, _dir) = client(addr, None).await;
    let buf = Buf::default();
    let metrics = Arc::new(rampart_admission::metrics::Metrics::default());
    let sink =
        JsonAuditSink::new(Box::new(buf.clone())).with_policy_reports(writer(&client), metrics);
    let mut ev = AuditEvent {
        uid: "u".into(),
        operation: "CREATE".into(),
        kind: "Pod".into(),
        api_version: "v1".into(),
        resource: "pods".into(),
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
    assert!(
        path.starts_with(
            "/apis/wgpolicyk8s.io/v1alpha2/namespaces/team/policyreports/rampart-pod-p-"
        ),
        "{path}"
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
    let reg = Arc::new(Registry::new(vec![host.clone()]).with_egress(allow(&[&host])));
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
    let reg = Registry::new(vec!["127.0.0.1:5000".into()]).with_egress(allow(&["127.0.0.1:5000"]));
    match reg.digest("127.0.0.1:5000/debian:bookworm").await {
        Ok(d) => assert!(d.starts_with("sha256:")),
        Err(e) => eprintln!("skipping: 127.0.0.1:5000 has no debian:bookworm ({e})"),
    }
}

// ---- Issue 13: /mutate's registry client is not a server-side request forgery vector.

/// What a fake server saw: (path, Authorization header).
type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;

fn record(seen: &Seen, req: &Request<Body>) {
    seen.lock().unwrap().push((
        req.uri().to_string(),
        req.headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    ));
}

/// Serving certificates for localhost/127.0.0.1 and their CA file.
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let g = rampart_admission::certs::generate(&["localhost".into(), "127.0.0.1".into()], 2)
            .unwrap();
        rampart_admission::certs::write(dir.path(), &g).unwrap();
        Pki { dir }
    }
    fn ca(&self) -> std::path::PathBuf {
        self.dir.path().join("ca.crt")
    }
}

/// An HTTPS server on 127.0.0.1 (rampart-net's scaffold) serving `app`.
async fn serve_tls(pki: &Pki, app: Router) -> SocketAddr {
    use rampart_net::server::{self, Lifecycle, ServerMetrics, ServerOptions};
    let metrics = Arc::new(ServerMetrics::default());
    let mut opts = ServerOptions::new("127.0.0.1:0".parse().unwrap(), metrics.clone());
    opts.tls = Some(
        rampart_net::tls::server_config(
            &rampart_net::tls::ServerTlsFiles::new(
                pki.dir.path().join("tls.crt"),
                pki.dir.path().join("tls.key"),
            ),
            metrics,
        )
        .unwrap(),
    );
    let bound = server::bind(opts).await.unwrap();
    let addr = bound.local_addr().unwrap();
    tokio::spawn(bound.serve(app, Lifecycle::new(), std::future::pending()));
    addr
}

/// A recording server answering 200 with a manifest digest to everything.
fn recorder(seen: Seen) -> Router {
    Router::new().fallback(move |req: Request<Body>| {
        let seen = seen.clone();
        async move {
            record(&seen, &req);
            (
                StatusCode::OK,
                [(
                    "docker-content-digest",
                    format!("sha256:{}", "a".repeat(64)),
                )],
                "{}",
            )
                .into_response()
        }
    })
}

/// A registry that asks for a bearer token from `realm` (`{self}` stands for its own
/// `host:port`), hands out `secret-token`, and answers manifest requests carrying it with
/// a redirect to `location`.
fn redirecting_registry(seen: Seen, realm: &str, location: &str) -> Router {
    let (realm, location) = (realm.to_string(), location.to_string());
    Router::new().fallback(move |req: Request<Body>| {
        let (seen, realm, location) = (seen.clone(), realm.clone(), location.clone());
        async move {
            record(&seen, &req);
            if req.uri().path() == "/token" {
                return (StatusCode::OK, json!({"token": "secret-token"}).to_string())
                    .into_response();
            }
            let host = req
                .headers()
                .get("host")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            let auth = req.headers().get("authorization").and_then(|v| v.to_str().ok());
            if auth != Some("Bearer secret-token") {
                let realm = realm.replace("{self}", &host);
                return (
                    StatusCode::UNAUTHORIZED,
                    [(
                        "www-authenticate",
                        format!(r#"Bearer realm="{realm}",service="fake",scope="repository:team/app:pull""#),
                    )],
                    "",
                )
                    .into_response();
            }
            (StatusCode::TEMPORARY_REDIRECT, [("location", location)], "").into_response()
        }
    })
}

fn allow(entries: &[&str]) -> rampart_net::egress::EgressPolicy {
    rampart_net::egress::EgressPolicy::with_allowed(entries).unwrap()
}

fn saw_token(seen: &Seen) -> bool {
    seen.lock()
        .unwrap()
        .iter()
        .any(|(_, a)| a.as_deref() == Some("Bearer secret-token"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_redirect_to_plain_http_is_refused() {
    let pki = Pki::new();
    let plain_seen = Seen::default();
    let plain = serve(recorder(plain_seen.clone())).await;
    let seen = Seen::default();
    let registry = serve_tls(
        &pki,
        redirecting_registry(
            seen.clone(),
            "https://{self}/token",
            &format!("http://{plain}/v2/team/app/manifests/1"),
        ),
    )
    .await;
    // Both are allow-listed: only the scheme rule can stop the downgrade.
    let reg = Registry::new(Vec::new())
        .with_egress(allow(&["127.0.0.0/8"]))
        .with_ca_file(&pki.ca());
    let err = reg
        .digest(&format!("{registry}/team/app:1"))
        .await
        .unwrap_err();
    let plain_got = plain_seen.lock().unwrap().clone();
    assert!(
        plain_got.is_empty(),
        "followed https -> http: {plain_got:?}"
    );
    assert!(err.contains("http://"), "{err}");
    assert!(saw_token(&seen), "the registry never got its token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_token_is_not_sent_to_another_host() {
    let pki = Pki::new();
    let other_seen = Seen::default();
    let other = serve_tls(&pki, recorder(other_seen.clone())).await;
    let seen = Seen::default();
    let registry = serve_tls(
        &pki,
        redirecting_registry(
            seen.clone(),
            "https://{self}/token",
            // Another origin (host name and port): a blob CDN, or an attacker.
            &format!("https://localhost:{}/v2/team/app/manifests/1", other.port()),
        ),
    )
    .await;
    let reg = Registry::new(Vec::new())
        .with_egress(allow(&["127.0.0.0/8", "::1"]))
        .with_ca_file(&pki.ca());
    let d = reg.digest(&format!("{registry}/team/app:1")).await;
    let got = other_seen.lock().unwrap().clone();
    assert!(!got.is_empty(), "the redirect was not followed: {d:?}");
    assert!(
        got.iter().all(|(_, auth)| auth.is_none()),
        "the registry's token went to another host: {got:?}"
    );
    assert!(saw_token(&seen));
    assert_eq!(d.unwrap(), format!("sha256:{}", "a".repeat(64)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_token_realm_must_be_https_and_pass_the_egress_policy() {
    let pki = Pki::new();
    let elsewhere_seen = Seen::default();
    let elsewhere = serve_tls(&pki, recorder(elsewhere_seen.clone())).await;
    for realm in [
        "https://169.254.169.254/latest/meta-data/iam/security-credentials/".to_string(),
        format!("https://127.0.0.1:{}/token", elsewhere.port()),
        "http://{self}/token".to_string(),
    ] {
        let seen = Seen::default();
        let registry = serve_tls(&pki, redirecting_registry(seen.clone(), &realm, "/")).await;
        // Only the registry itself is allow-listed.
        let reg = Registry::new(Vec::new())
            .with_egress(allow(&[&registry.to_string()]))
            .with_ca_file(&pki.ca());
        let started = std::time::Instant::now();
        let err = reg
            .digest(&format!("{registry}/team/app:1"))
            .await
            .unwrap_err();
        assert!(
            err.contains("egress policy") || err.contains("must be https"),
            "realm {realm}: {err}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "realm {realm}: a connection was attempted ({err})"
        );
        assert_eq!(seen.lock().unwrap().len(), 1, "realm {realm}");
    }
    let got = elsewhere_seen.lock().unwrap().clone();
    assert!(
        got.is_empty(),
        "a realm on a non-allow-listed port was fetched: {got:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registries_on_private_addresses_need_an_allow_list_entry() {
    let seen = Seen::default();
    let addr = serve(recorder(seen.clone())).await;
    let host = addr.to_string();
    // Named as an insecure (plain-HTTP) registry, but not allow-listed: refused.
    let reg = Registry::new(vec![host.clone()]);
    let err = reg.digest(&format!("{host}/team/app:1")).await.unwrap_err();
    assert!(err.contains("egress policy"), "{err}");
    assert!(seen.lock().unwrap().is_empty());
    let started = std::time::Instant::now();
    let err = reg.digest("169.254.169.254/team/app:1").await.unwrap_err();
    assert!(err.contains("egress policy"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
    // Allow-listed: reached.
    let reg = Registry::new(vec![host.clone()]).with_egress(allow(&[&host]));
    assert!(reg.digest(&format!("{host}/team/app:1")).await.is_ok());
    assert_eq!(seen.lock().unwrap().len(), 1);
}

// ---- Issue 13: the Namespace watch cache never freezes silently.

/// What the fake API server does with a watch request.
#[derive(Clone, Copy, PartialEq, Eq)]
enum WatchMode {
    /// Answer 200 and then send nothing, never closing (a half-open connection).
    Silent,
    /// Send one BOOKMARK and end the stream after 100 ms (a healthy, quiet cluster).
    Healthy,
}

#[derive(Default)]
struct RawApi {
    lists: AtomicUsize,
    watches: AtomicUsize,
    auth: Mutex<Vec<String>>,
    mode: Mutex<Option<WatchMode>>,
}

/// A hand-rolled HTTP/1.1 API server on 127.0.0.1 (raw TCP, so it can go silent
/// mid-response). Lists answer one namespace `team` (enforce: restricted).
async fn raw_api(st: Arc<RawApi>) -> SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut tcp, _)) = l.accept().await else {
                return;
            };
            let st = st.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tcp.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&buf).into_owned();
                let target = head.split_whitespace().nth(1).unwrap_or("").to_string();
                if let Some(a) = head.lines().find_map(|l| {
                    l.strip_prefix("authorization: ")
                        .or_else(|| l.strip_prefix("Authorization: "))
                }) {
                    st.auth.lock().unwrap().push(a.trim().to_string());
                }
                if !target.contains("watch=") {
                    st.lists.fetch_add(1, Ordering::SeqCst);
                    let body = json!({"kind": "NamespaceList", "apiVersion": "v1", "metadata": {"resourceVersion": "10"},
                        "items": [ns("team", "5", json!({"rampart.dev/enforce": "restricted"}))]})
                    .to_string();
                    let resp = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = tcp.write_all(resp.as_bytes()).await;
                    return;
                }
                assert!(target.contains("timeoutSeconds="), "{target}");
                st.watches.fetch_add(1, Ordering::SeqCst);
                let _ = tcp
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n")
                    .await;
                let mode = st.mode.lock().unwrap().unwrap_or(WatchMode::Healthy);
                match mode {
                    WatchMode::Silent => {
                        // Hold the socket open, say nothing.
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                    }
                    WatchMode::Healthy => {
                        let ev = format!(
                            "{}\n",
                            json!({"type": "BOOKMARK", "object": {"kind": "Namespace", "apiVersion": "v1", "metadata": {"resourceVersion": "11"}}})
                        );
                        let _ = tcp
                            .write_all(format!("{:x}\r\n{ev}\r\n", ev.len()).as_bytes())
                            .await;
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        let _ = tcp.write_all(b"0\r\n\r\n").await;
                    }
                }
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_watch_is_abandoned_and_readyz_reports_the_stale_cache() {
    let st = Arc::new(RawApi::default());
    *st.mode.lock().unwrap() = Some(WatchMode::Silent);
    let addr = raw_api(st.clone()).await;
    let (client, _dir) = client(addr, Some("tok")).await;
    let (watcher, cache) = namespace_watcher(
        &client,
        WatchOptions {
            timeout_seconds: 60,
            idle_timeout: Duration::from_millis(700),
            stale_after: Duration::from_millis(400),
            ..WatchOptions::default()
        },
    );
    let task = tokio::spawn(watcher.run());
    let s = start(Engine::new(Settings::default()).with_namespaces(cache.clone())).await;
    let readyz = |s: &TestServer| {
        let addr = s.addr;
        let ca = s.ca_pem.clone();
        async move {
            let mut c = connect_with(addr, client_config(&ca)).await.unwrap();
            send(&mut c, "GET", "/readyz", Vec::new()).await.0
        }
    };
    // Synced by the list: ready.
    let mut ready = false;
    for _ in 0..50 {
        if readyz(&s).await == 200 {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(ready, "never ready after the list");
    // The watch goes silent: within the stale bound /readyz fails…
    let mut went_stale = false;
    for _ in 0..60 {
        if readyz(&s).await == 503 {
            went_stale = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(went_stale, "/readyz stayed green on a silent watch");
    // …and the client gives up on the connection and watches again.
    let mut reconnected = false;
    for _ in 0..100 {
        if st.watches.load(Ordering::SeqCst) >= 2 {
            reconnected = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(reconnected, "the silent watch was never abandoned");
    // The API server answers again: ready again.
    *st.mode.lock().unwrap() = Some(WatchMode::Healthy);
    let mut recovered = false;
    for _ in 0..150 {
        if readyz(&s).await == 200 {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        recovered,
        "never ready again after the API server recovered"
    );
    assert_eq!(
        cache
            .labels("team")
            .and_then(|l| l.get("rampart.dev/enforce").cloned())
            .as_deref(),
        Some("restricted")
    );
    task.abort();
}

// The rotated-token test moved to rampart-cluster (tests/it/auth.rs,
// `a_rotated_token_file_is_used`): token files are re-read by `kube` (at least once a
// minute, as client-go), for the in-cluster service account, --kube-server's
// --kube-token-file and kubeconfig `tokenFile` alike.

fn audit_event(uid: &str, name: &str) -> AuditEvent {
    AuditEvent {
        uid: uid.into(),
        operation: "UPDATE".into(),
        kind: "Pod".into(),
        api_version: "v1".into(),
        resource: "pods".into(),
        namespace: "team".into(),
        name: name.into(),
        user: "alice".into(),
        policy: "restricted:latest".into(),
        dry_run: false,
        allowed: true,
        violations: vec![Violation {
            rule_id: "k8s/pss-run-as-non-root".into(),
            field: "spec".into(),
            message: "may run as root".into(),
        }],
    }
}

/// Waits until the fake API server has seen `n` report writes (or 10 s).
async fn wait_writes(st: &FakeApi, n: usize) -> Vec<(String, String, String)> {
    for _ in 0..500 {
        let w = st.writes.lock().unwrap().clone();
        if w.len() >= n {
            return w;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    st.writes.lock().unwrap().clone()
}

/// Issue 13: every request created a new PolicyReport (named after the request uid,
/// POSTed), so 50 decisions about one pod left 50 reports in etcd, never updated nor
/// collected. Now they are one report, server-side applied in place.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_decisions_about_one_pod_update_one_report_in_place() {
    let st = Arc::new(FakeApi::default());
    let s2 = st.clone();
    let addr = serve(Router::new().fallback(move |req| fake_api(s2.clone(), req))).await;
    let (client, _dir) = client(addr, None).await;
    let metrics = Arc::new(rampart_admission::metrics::Metrics::default());
    let sink = JsonAuditSink::new(Box::new(std::io::sink()))
        .with_policy_reports(writer(&client), metrics.clone());
    for i in 0..50 {
        sink.record(&audit_event(&format!("uid-{i}"), "web"));
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let writes = wait_writes(&st, 1).await;
    // Let the writer finish what it has queued.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let writes = if writes.len() < st.writes.lock().unwrap().len() {
        st.writes.lock().unwrap().clone()
    } else {
        writes
    };
    assert!(!writes.is_empty(), "no report written");
    assert!(writes.len() <= 50, "{}", writes.len());
    let first = &writes[0].1;
    for (method, path, ct) in &writes {
        assert_eq!(
            method, "PATCH",
            "reports are applied, never created: {path}"
        );
        assert_eq!(path, first, "one report name for one pod");
        assert_eq!(ct, "application/apply-patch+yaml");
        assert!(
            path.contains("fieldManager=rampart-admission") && path.contains("force=true"),
            "{path}"
        );
    }
    assert!(
        first.starts_with(
            "/apis/wgpolicyk8s.io/v1alpha2/namespaces/team/policyreports/rampart-pod-web-"
        ),
        "{first}"
    );
    // The last write carries the latest decision.
    let reports = st.reports.lock().unwrap().clone();
    assert_eq!(
        reports.last().unwrap().1["metadata"]["annotations"]["rampart.dev/operation"],
        "UPDATE"
    );
    assert!(metrics
        .render()
        .contains("rampart_admission_policy_reports_written_total"));
}

/// Forged requests naming ever new pods stop creating reports at the cap; the
/// decisions left out are counted on /metrics, and a pod already reported on is still
/// updated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_beyond_the_cap_are_dropped_and_counted() {
    use rampart_admission::reports::MAX_REPORTS;
    let st = Arc::new(FakeApi::default());
    let s2 = st.clone();
    let addr = serve(Router::new().fallback(move |req| fake_api(s2.clone(), req))).await;
    let (client, _dir) = client(addr, None).await;
    let metrics = Arc::new(rampart_admission::metrics::Metrics::default());
    let sink = JsonAuditSink::new(Box::new(std::io::sink()))
        .with_policy_reports(writer(&client), metrics.clone());
    let extra = 200;
    for i in 0..(MAX_REPORTS + extra) {
        sink.record(&audit_event("u", &format!("p{i}")));
        if i % 512 == 0 {
            // Let the writer drain (the pending queue is bounded too).
            while st.writes.lock().unwrap().len() + 1 < i {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }
    let writes = wait_writes(&st, MAX_REPORTS).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let names: std::collections::HashSet<String> = st
        .writes
        .lock()
        .unwrap()
        .iter()
        .map(|w| w.1.clone())
        .collect();
    assert_eq!(names.len(), MAX_REPORTS, "{} writes", writes.len());
    let m = metrics.render();
    assert!(
        m.contains(&format!(
            "rampart_admission_policy_reports_dropped_total {extra}"
        )),
        "{m}"
    );
    // A pod already reported on is still updated past the cap.
    let before = st.writes.lock().unwrap().len();
    sink.record(&audit_event("again", "p0"));
    let after = wait_writes(&st, before + 1).await;
    assert!(after
        .last()
        .unwrap()
        .1
        .contains("/policyreports/rampart-pod-p0-"));
}
