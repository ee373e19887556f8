//! Shared test harness: a real TLS server on 127.0.0.1 and a keep-alive TLS client.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    dead_code,
    clippy::missing_panics_doc
)]

use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use rampart_admission::certs;
use rampart_admission::engine::{AuditEvent, AuditSink, Engine};
use rampart_admission::metrics::Metrics;
use rampart_admission::registry::Registry;
use rampart_admission::server::{self, ServerOptions, Services};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;
use tokio_rustls::rustls;

/// Audit events collected in memory.
#[derive(Default)]
pub struct Collect(pub Mutex<Vec<AuditEvent>>);

impl AuditSink for Collect {
    fn record(&self, e: &AuditEvent) {
        self.0.lock().unwrap().push(e.clone());
    }
}

pub struct TestServer {
    pub addr: SocketAddr,
    pub ca_pem: String,
    pub dir: tempfile::TempDir,
    pub metrics: Arc<Metrics>,
    pub audit: Arc<Collect>,
    stop: Option<oneshot::Sender<()>>,
    pub done: Option<tokio::task::JoinHandle<()>>,
}

impl TestServer {
    pub fn cert_dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// Trigger graceful shutdown.
    pub fn shutdown(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

pub async fn start(engine: Engine) -> TestServer {
    start_with(engine, None, |_| {}).await
}

pub async fn start_with(
    engine: Engine,
    registry: Option<Arc<Registry>>,
    tweak: impl FnOnce(&mut ServerOptions),
) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let g = certs::generate(&["localhost".into(), "127.0.0.1".into()], 2).unwrap();
    certs::write(dir.path(), &g).unwrap();
    let metrics = Arc::new(Metrics::default());
    let mut opts = ServerOptions::new("127.0.0.1:0".parse().unwrap());
    let files = server::ServerTlsFiles::new(dir.path().join("tls.crt"), dir.path().join("tls.key"));
    opts.tls = Some(server::tls_config(&files, opts.net_metrics.clone()).unwrap());
    tweak(&mut opts);
    let bound = server::bind(opts).await.unwrap();
    let addr = bound.local_addr().unwrap();
    let audit = Arc::new(Collect::default());
    let services = Services {
        engine: Arc::new(engine),
        metrics: metrics.clone(),
        audit: audit.clone(),
        registry,
    };
    let (tx, rx) = oneshot::channel::<()>();
    let done = tokio::spawn(async move {
        bound
            .run(services, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
    });
    TestServer {
        addr,
        ca_pem: g.ca_crt,
        dir,
        metrics,
        audit,
        stop: Some(tx),
        done: Some(done),
    }
}

pub type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

pub fn client_config(ca_pem: &str) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for c in rampart_net::pem::certs_from_pem(ca_pem.as_bytes()).unwrap() {
        roots.add(c).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

pub async fn connect_with(
    addr: SocketAddr,
    cfg: Arc<rustls::ClientConfig>,
) -> Result<Sender, String> {
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let tls = tokio_rustls::TlsConnector::from(cfg)
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

pub async fn connect(s: &TestServer) -> Sender {
    connect_with(s.addr, client_config(&s.ca_pem))
        .await
        .unwrap()
}

/// Send one request; (status, body text).
pub async fn send(sender: &mut Sender, method: &str, path: &str, body: Vec<u8>) -> (u16, String) {
    sender.ready().await.unwrap();
    let req = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", "localhost")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    let resp = sender.send_request(req).await.unwrap();
    let status = resp.status().as_u16();
    let b = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&b).into_owned())
}

pub async fn post(s: &TestServer, path: &str, body: &Value) -> (u16, String) {
    let mut c = connect(s).await;
    send(&mut c, "POST", path, body.to_string().into_bytes()).await
}

/// Wrap an AdmissionRequest in a v1 AdmissionReview.
pub fn review(request: Value) -> Value {
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request})
}

/// A CREATE request for `object` in `namespace`.
pub fn create(uid: &str, namespace: &str, object: Value) -> Value {
    let kind = object["kind"].as_str().unwrap_or("Pod").to_string();
    review(json!({
        "uid": uid,
        "kind": {"group": "", "version": "v1", "kind": kind},
        "resource": {"group": "", "version": "v1", "resource": format!("{}s", kind.to_lowercase())},
        "namespace": namespace,
        "operation": "CREATE",
        "userInfo": {"username": "alice", "groups": ["system:authenticated"]},
        "object": object,
    }))
}

/// The `response` of an AdmissionReview answer.
pub fn response(text: &str) -> Value {
    let v: Value = serde_json::from_str(text).unwrap();
    assert_eq!(v["apiVersion"], "admission.k8s.io/v1", "{text}");
    assert_eq!(v["kind"], "AdmissionReview");
    v["response"].clone()
}

/// Send every body in parallel over `conns` keep-alive connections; answers in order.
pub async fn send_all(
    s: &TestServer,
    path: &str,
    bodies: Vec<Vec<u8>>,
    conns: usize,
) -> Vec<(u16, String)> {
    let n = bodies.len();
    let work = Arc::new(Mutex::new(
        bodies.into_iter().enumerate().collect::<Vec<_>>(),
    ));
    let results = Arc::new(Mutex::new(vec![(0u16, String::new()); n]));
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let work = work.clone();
        let results = results.clone();
        let mut c = connect(s).await;
        let path = path.to_string();
        tasks.push(tokio::spawn(async move {
            loop {
                let next = work.lock().unwrap().pop();
                let Some((i, body)) = next else { break };
                let r = send(&mut c, "POST", &path, body).await;
                results.lock().unwrap()[i] = r;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    Arc::try_unwrap(results).unwrap().into_inner().unwrap()
}
