//! A fake API server over TLS (rampart-net's server scaffold, optionally requiring
//! client certificates), a test PKI, and kubeconfig files pointing at it.
//!
//! It serves Namespaces (paginated lists, scripted watches), Pods (get), and
//! PolicyReports (server-side apply, list by label, delete with preconditions), and
//! records every request.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use rampart_net::server::{self, Lifecycle, ServerMetrics, ServerOptions};
use serde_json::{json, Value};
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A CA, a server certificate (localhost, 127.0.0.1, ::1) and a client certificate.
pub struct Pki {
    pub dir: tempfile::TempDir,
}

impl Pki {
    pub fn new() -> Pki {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
        };
        let dir = tempfile::tempdir().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "rampart-test-ca");
        let ca_key = KeyPair::generate().unwrap();
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let server_params = CertificateParams::new(vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
            "::1".to_string(),
        ])
        .unwrap();
        let server_key = KeyPair::generate().unwrap();
        let server = server_params.signed_by(&server_key, &ca, &ca_key).unwrap();
        let mut client_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        client_params
            .distinguished_name
            .push(DnType::CommonName, "rampart-test-user");
        client_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let client_key = KeyPair::generate().unwrap();
        let client = client_params.signed_by(&client_key, &ca, &ca_key).unwrap();
        for (name, text) in [
            ("ca.crt", ca.pem()),
            ("tls.crt", server.pem()),
            ("tls.key", server_key.serialize_pem()),
            ("client.crt", client.pem()),
            ("client.key", client_key.serialize_pem()),
        ] {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        Pki { dir }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// What the next watch request gets.
#[derive(Debug, Clone)]
pub enum WatchStep {
    /// These events, then the stream ends (as the server does at `timeoutSeconds`).
    Events(Vec<Value>),
    /// `410 Gone` as the HTTP status.
    Gone,
    /// 200, then an `ERROR` event with code 410.
    ErrorGone,
    /// 200, then nothing, never closing.
    Silent,
    /// 200, then this many bytes without a newline, never closing.
    Huge(usize),
}

/// The fake's state and what it saw.
#[derive(Default)]
pub struct State {
    /// Namespace name → labels.
    pub namespaces: Mutex<BTreeMap<String, Value>>,
    /// List resourceVersion.
    pub list_rv: Mutex<String>,
    /// Watch script; when empty a watch stays open for 30 s and ends.
    pub watch_plan: Mutex<VecDeque<WatchStep>>,
    /// `namespace/name` of the pods that exist.
    pub pods: Mutex<Vec<String>>,
    /// `namespace/name` → PolicyReport.
    pub reports: Mutex<BTreeMap<String, Value>>,
    /// Every request: (method, path?query, authorization, content-type).
    pub seen: Mutex<Vec<(String, String, String, String)>>,
    next_rv: Mutex<u64>,
}

impl State {
    pub fn requests(&self, method: &str, path_prefix: &str) -> Vec<String> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|(m, p, _, _)| m == method && p.starts_with(path_prefix))
            .map(|(_, p, _, _)| p.clone())
            .collect()
    }

    pub fn auth(&self) -> Vec<String> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|r| r.2.clone())
            .collect()
    }

    fn rv(&self) -> String {
        let mut n = self.next_rv.lock().unwrap();
        *n += 1;
        (1000 + *n).to_string()
    }
}

pub fn ns_obj(name: &str, rv: &str, labels: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "resourceVersion": rv, "labels": labels}})
}

fn status(code: u16, reason: &str, message: &str) -> Response {
    let body = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
        "message": message, "reason": reason, "code": code});
    (
        StatusCode::from_u16(code).unwrap(),
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn ok(v: Value) -> Response {
    (
        StatusCode::OK,
        [("content-type", "application/json")],
        v.to_string(),
    )
        .into_response()
}

fn query_map(q: &str) -> BTreeMap<String, String> {
    q.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| {
            (
                k.to_string(),
                v.replace("%2F", "/")
                    .replace("%3D", "=")
                    .replace("%2C", ","),
            )
        })
        .collect()
}

async fn handle(st: Arc<State>, req: Request<Body>) -> Response {
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let (auth, ct) = {
        let header = |n: &str| {
            req.headers()
                .get(n)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        (header("authorization"), header("content-type"))
    };
    st.seen
        .lock()
        .unwrap()
        .push((method.clone(), format!("{path}?{query}"), auth, ct));
    let q = query_map(&query);
    let body = axum::body::to_bytes(req.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method.as_str(), parts.as_slice()) {
        ("GET", ["api", "v1", "namespaces"]) if q.contains_key("watch") => watch(st).await,
        ("GET", ["api", "v1", "namespaces"]) => {
            let all: Vec<Value> = st
                .namespaces
                .lock()
                .unwrap()
                .iter()
                .map(|(n, l)| ns_obj(n, "5", l.clone()))
                .collect();
            let limit: usize = q
                .get("limit")
                .and_then(|l| l.parse().ok())
                .unwrap_or(usize::MAX);
            let from: usize = q.get("continue").and_then(|c| c.parse().ok()).unwrap_or(0);
            let end = from.saturating_add(limit).min(all.len());
            let mut meta = json!({"resourceVersion": st.list_rv.lock().unwrap().clone()});
            if end < all.len() {
                meta["continue"] = end.to_string().into();
            }
            ok(
                json!({"kind": "NamespaceList", "apiVersion": "v1", "metadata": meta,
                "items": all[from.min(end)..end]}),
            )
        }
        ("GET", ["api", "v1", "namespaces", ns, "pods", name]) => {
            let key = format!("{ns}/{name}");
            if st.pods.lock().unwrap().contains(&key) {
                ok(
                    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns}}),
                )
            } else {
                status(404, "NotFound", &format!("pods \"{name}\" not found"))
            }
        }
        ("GET", ["apis", "wgpolicyk8s.io", "v1alpha2", "policyreports"]) => {
            let selector = q.get("labelSelector").cloned().unwrap_or_default();
            let items: Vec<Value> = st
                .reports
                .lock()
                .unwrap()
                .values()
                .filter(|r| {
                    selector.is_empty()
                        || selector.split(',').all(|s| {
                            let (k, v) = s.split_once('=').unwrap_or((s, ""));
                            r["metadata"]["labels"][k] == v
                        })
                })
                .cloned()
                .collect();
            ok(
                json!({"kind": "PolicyReportList", "apiVersion": "wgpolicyk8s.io/v1alpha2",
                "metadata": {"resourceVersion": "77"}, "items": items}),
            )
        }
        (
            "PATCH",
            ["apis", "wgpolicyk8s.io", "v1alpha2", "namespaces", ns, "policyreports", name],
        ) => {
            let Ok(mut report) = serde_json::from_slice::<Value>(&body) else {
                return status(400, "BadRequest", "not JSON");
            };
            let key = format!("{ns}/{name}");
            let rv = st.rv();
            let mut reports = st.reports.lock().unwrap();
            let (uid, created) = match reports.get(&key) {
                Some(old) => (
                    old["metadata"]["uid"].clone(),
                    old["metadata"]["creationTimestamp"].clone(),
                ),
                None => (format!("uid-{rv}").into(), "2020-01-01T00:00:00Z".into()),
            };
            report["metadata"]["uid"] = uid;
            report["metadata"]["creationTimestamp"] = created;
            report["metadata"]["resourceVersion"] = rv.into();
            reports.insert(key, report.clone());
            ok(report)
        }
        (
            "DELETE",
            ["apis", "wgpolicyk8s.io", "v1alpha2", "namespaces", ns, "policyreports", name],
        ) => {
            let key = format!("{ns}/{name}");
            let opts: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let mut reports = st.reports.lock().unwrap();
            let Some(cur) = reports.get(&key) else {
                return status(404, "NotFound", "policyreport not found");
            };
            let pre = &opts["preconditions"];
            for f in ["resourceVersion", "uid"] {
                if !pre[f].is_null() && pre[f] != cur["metadata"][f] {
                    return status(409, "Conflict", "precondition failed");
                }
            }
            reports.remove(&key);
            ok(json!({"kind": "Status", "apiVersion": "v1", "status": "Success", "code": 200}))
        }
        _ => status(404, "NotFound", &format!("{method} {path}")),
    }
}

async fn watch(st: Arc<State>) -> Response {
    let step = st.watch_plan.lock().unwrap().pop_front();
    let lines = |evs: Vec<Value>| -> Vec<Result<String, std::io::Error>> {
        evs.into_iter().map(|e| Ok(format!("{e}\n"))).collect()
    };
    let stream_body = |first: Vec<Result<String, std::io::Error>>, then_wait: Duration| {
        let s = futures_util::stream::iter(first).chain(futures_util::stream::once(async move {
            tokio::time::sleep(then_wait).await;
            Ok::<String, std::io::Error>(String::new())
        }));
        Body::from_stream(s)
    };
    use futures_util::StreamExt as _;
    match step {
        Some(WatchStep::Gone) => status(410, "Expired", "too old resource version"),
        Some(WatchStep::Events(evs)) => (
            StatusCode::OK,
            [("content-type", "application/json")],
            Body::from_stream(futures_util::stream::iter(lines(evs))),
        )
            .into_response(),
        Some(WatchStep::ErrorGone) => {
            let ev = json!({"type": "ERROR", "object": {"kind": "Status", "apiVersion": "v1",
                "status": "Failure", "message": "too old resource version", "reason": "Expired", "code": 410}});
            (
                StatusCode::OK,
                [("content-type", "application/json")],
                stream_body(lines(vec![ev]), Duration::from_secs(30)),
            )
                .into_response()
        }
        Some(WatchStep::Huge(n)) => (
            StatusCode::OK,
            [("content-type", "application/json")],
            stream_body(
                (0..n.div_ceil(8192))
                    .map(|_| Ok("x".repeat(8192)))
                    .collect(),
                Duration::from_secs(3600),
            ),
        )
            .into_response(),
        Some(WatchStep::Silent) => (
            StatusCode::OK,
            [("content-type", "application/json")],
            stream_body(Vec::new(), Duration::from_secs(3600)),
        )
            .into_response(),
        None => (
            StatusCode::OK,
            [("content-type", "application/json")],
            stream_body(Vec::new(), Duration::from_secs(30)),
        )
            .into_response(),
    }
}

/// Serve the fake on `addr` over TLS; with `client_ca`, client certificates signed by
/// it are required.
pub async fn serve(pki: &Pki, addr: SocketAddr, client_ca: bool, st: Arc<State>) -> SocketAddr {
    let metrics = Arc::new(ServerMetrics::default());
    let mut opts = ServerOptions::new(addr, metrics.clone());
    let mut files = rampart_net::tls::ServerTlsFiles::new(pki.path("tls.crt"), pki.path("tls.key"));
    if client_ca {
        files = files.with_client_ca(pki.path("ca.crt"));
    }
    opts.tls = Some(rampart_net::tls::server_config(&files, metrics).unwrap());
    let bound = server::bind(opts).await.unwrap();
    let addr = bound.local_addr().unwrap();
    let app = Router::new().fallback(move |req| handle(st.clone(), req));
    tokio::spawn(bound.serve(app, Lifecycle::new(), std::future::pending()));
    addr
}

/// A kubeconfig with one cluster (`server`, the PKI's CA) and the given contexts:
/// (context name, user fields as JSON). The first is the current context.
pub fn kubeconfig(dir: &Path, pki: &Pki, server: &str, contexts: &[(&str, Value)]) -> PathBuf {
    let users: Vec<Value> = contexts
        .iter()
        .map(|(n, u)| json!({"name": format!("user-{n}"), "user": u}))
        .collect();
    let ctxs: Vec<Value> = contexts
        .iter()
        .map(|(n, _)| json!({"name": n, "context": {"cluster": "fake", "user": format!("user-{n}")}}))
        .collect();
    let kc = json!({
        "apiVersion": "v1", "kind": "Config",
        "current-context": contexts[0].0,
        "clusters": [{"name": "fake", "cluster": {"server": server,
            "certificate-authority": pki.path("ca.crt")}}],
        "users": users, "contexts": ctxs,
    });
    let path = dir.join("kubeconfig");
    std::fs::write(&path, serde_json::to_string_pretty(&kc).unwrap()).unwrap();
    path
}

/// Wait (up to `secs`) for `cond`.
pub async fn eventually(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cond()
}
