//! The HTTPS audit webhook on 127.0.0.1: EventList batches in, alerts out to a writer and
//! an HTTP sink (with retry), 413 for oversized batches, 400 for garbage, `/metrics`,
//! `/healthz`, a slow sink dropping (and counting) instead of blocking, and graceful
//! shutdown delivering what was queued.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)]

use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use rampart_runtime::server::{
    bind, tls_config, AlertFormat, HttpSink, Metrics, ServerMetrics, ServerOptions, ServerTlsFiles,
    Sink,
};
use rampart_runtime::{Engine, EngineOptions, Monitor, MonitorOptions, Ruleset};
use tokio_rustls::rustls;

const EXEC: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"AID","stage":"ResponseStarted","requestURI":"/api/v1/namespaces/default/pods/web/exec?command=sh","verb":"create","user":{"username":"alice"},"objectRef":{"resource":"pods","namespace":"default","name":"web","subresource":"exec"},"responseStatus":{"code":101},"stageTimestamp":"2024-05-01T10:00:01.000000Z"}"#;

fn batch(n: usize) -> String {
    let items: Vec<String> = (0..n)
        .map(|i| EXEC.replace("AID", &i.to_string()))
        .collect();
    format!(
        r#"{{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{{}},"items":[{}]}}"#,
        items.join(",")
    )
}

fn monitor() -> Monitor {
    let mut rs = Ruleset::new();
    rs.load_builtin().unwrap();
    Monitor::new(
        Engine::compile(&rs, EngineOptions::default()).unwrap(),
        MonitorOptions::default(),
    )
}

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);
impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct Tls {
    client: Arc<rustls::ClientConfig>,
    server: Arc<rustls::ServerConfig>,
}

fn tls() -> Tls {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (c, k) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    std::fs::write(&c, ck.cert.pem()).unwrap();
    std::fs::write(&k, ck.key_pair.serialize_pem()).unwrap();
    let server = tls_config(
        &ServerTlsFiles::new(&c, &k),
        Arc::new(ServerMetrics::default()),
    )
    .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ck.cert.der().clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Tls {
        client: Arc::new(client),
        server,
    }
}

async fn https(
    tls: &Tls,
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: String,
) -> (u16, String) {
    try_https(tls, addr, method, path, body).await.unwrap()
}

async fn try_https(
    tls: &Tls,
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: String,
) -> Result<(u16, String), hyper::Error> {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let conn = tokio_rustls::TlsConnector::from(tls.client.clone());
    let stream = conn
        .connect(
            rustls::pki_types::ServerName::try_from("localhost").unwrap(),
            tcp,
        )
        .await
        .unwrap();
    let (mut sender, c) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(async move {
        let _ = c.await;
    });
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "localhost")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    let resp = sender.send_request(req).await?;
    let code = resp.status().as_u16();
    let text = String::from_utf8_lossy(&resp.into_body().collect().await?.to_bytes()).into_owned();
    Ok((code, text))
}

/// A plain-HTTP receiver that fails its first request (to exercise retries) and records
/// the bodies it accepts.
async fn receiver() -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let got = Arc::new(Mutex::new(Vec::new()));
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let g = got.clone();
    let app = axum::Router::new().fallback(move |body: Bytes| {
        let g = g.clone();
        let calls = calls.clone();
        async move {
            if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                return axum::http::StatusCode::SERVICE_UNAVAILABLE;
            }
            g.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&body).into_owned());
            axum::http::StatusCode::OK
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, got)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_webhook_end_to_end() {
    let tls = tls();
    let (sink_addr, received) = receiver().await;
    let mut http = HttpSink::new(&format!("http://{sink_addr}/alerts")).unwrap();
    http.backoff = Duration::from_millis(10);
    let out = Buf::default();
    let mut opts = ServerOptions::new("127.0.0.1:0".parse().unwrap());
    opts.tls = Some(tls.server.clone());
    opts.max_body_bytes = 64 * 1024;
    let bound = bind(opts).await.unwrap();
    let addr = bound.local_addr().unwrap();
    let metrics = Arc::new(Metrics::default());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(bound.run(
        monitor(),
        vec![
            Sink::Writer(Box::new(out.clone()), AlertFormat::Json),
            Sink::Http(http),
        ],
        metrics.clone(),
        async {
            let _ = stop_rx.await;
        },
    ));

    assert_eq!(
        https(&tls, addr, "GET", "/healthz", String::new()).await,
        (200, "ok".into())
    );
    let (code, _) = https(&tls, addr, "POST", "/k8s-audit", batch(3)).await;
    assert_eq!(code, 200);
    // The server answers 413 from Content-Length without reading the body, so the client
    // may see the connection close while still sending: either outcome is a refusal (the
    // counter below is the proof).
    match try_https(&tls, addr, "POST", "/k8s-audit", "x".repeat(70_000)).await {
        Ok((code, body)) => assert_eq!(code, 413, "{body}"),
        Err(e) => assert!(!e.is_timeout(), "{e}"),
    }
    let (code, body) = https(&tls, addr, "POST", "/k8s-audit", "{\"kind\": 0}".into()).await;
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("not recognized"), "{body}");
    assert_eq!(
        https(&tls, addr, "GET", "/k8s-audit", String::new())
            .await
            .0,
        405
    );
    let (code, m) = https(&tls, addr, "GET", "/metrics", String::new()).await;
    assert_eq!(code, 200);
    assert!(m.contains("rampart_runtime_events_total 3"), "{m}");
    assert!(
        m.contains("rampart_runtime_alerts_total{rule=\"Attach/Exec Pod\"} 3"),
        "{m}"
    );
    assert!(
        m.contains("rampart_runtime_batches_too_large_total 1"),
        "{m}"
    );
    assert!(m.contains("rampart_runtime_batches_invalid_total 1"), "{m}");

    stop_tx.send(()).unwrap();
    let summary = server.await.unwrap().unwrap();
    assert_eq!(summary.events, 3);
    assert!(summary.alerts >= 3);
    assert_eq!(summary.dropped, 0);
    let written = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    assert_eq!(
        written
            .lines()
            .filter(|l| l.contains("\"rule\":\"Attach/Exec Pod\""))
            .count(),
        3,
        "{written}"
    );
    let got = received.lock().unwrap().clone();
    assert_eq!(
        got.iter().filter(|b| b.contains("Attach/Exec Pod")).count(),
        3,
        "{got:?}"
    );
    assert_eq!(metrics.sink_errors.get(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_sink_drops_instead_of_blocking() {
    // A sink that never answers: every alert waits for its timeout.
    let dead = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead_addr = dead.local_addr().unwrap();
    let mut http = HttpSink::new(&format!("http://{dead_addr}/")).unwrap();
    http.retries = 0;
    http.timeout = Duration::from_millis(300);
    let mut opts = ServerOptions::new("127.0.0.1:0".parse().unwrap());
    opts.queue_capacity = 2;
    opts.shutdown_grace = Duration::from_millis(500);
    let bound = bind(opts).await.unwrap();
    let addr = bound.local_addr().unwrap();
    let metrics = Arc::new(Metrics::default());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server =
        tokio::spawn(
            bound.run(monitor(), vec![Sink::Http(http)], metrics.clone(), async {
                let _ = stop_rx.await;
            }),
        );
    // Plain HTTP (no TLS configured).
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, c) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .unwrap();
    tokio::spawn(async move {
        let _ = c.await;
    });
    let started = std::time::Instant::now();
    let req = Request::post("/")
        .header("host", "x")
        .body(Full::new(Bytes::from(batch(20))))
        .unwrap();
    let resp = sender.send_request(req).await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "ingestion blocked on the sink"
    );
    assert!(metrics.alerts_dropped.get() >= 17);
    stop_tx.send(()).unwrap();
    let summary = server.await.unwrap().unwrap();
    assert!(summary.dropped >= 17);
    drop(dead);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_sink_with_ca_file() {
    use hyper::service::service_fn;
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (c, k) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    std::fs::write(&c, ck.cert.pem()).unwrap();
    std::fs::write(&k, ck.key_pair.serialize_pem()).unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(
        tls_config(
            &ServerTlsFiles::new(&c, &k),
            Arc::new(ServerMetrics::default()),
        )
        .unwrap(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let got = Arc::new(Mutex::new(Vec::<String>::new()));
    let g = got.clone();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let (acceptor, g) = (acceptor.clone(), g.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let svc = service_fn(move |req: Request<hyper::body::Incoming>| {
                    let g = g.clone();
                    async move {
                        let b = req.into_body().collect().await.unwrap().to_bytes();
                        g.lock()
                            .unwrap()
                            .push(String::from_utf8_lossy(&b).into_owned());
                        Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(
                            Bytes::new(),
                        )))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), svc)
                    .await;
            });
        }
    });
    let sink = HttpSink::new(&format!("https://localhost:{port}/alerts"))
        .unwrap()
        .with_ca_file(&c)
        .unwrap();
    sink.post("{\"rule\":\"x\"}").await.unwrap();
    assert_eq!(got.lock().unwrap().as_slice(), ["{\"rule\":\"x\"}"]);
    // A server whose certificate is not trusted is an error (after the retries).
    let mut untrusted = HttpSink::new(&format!("https://localhost:{port}/alerts")).unwrap();
    untrusted.retries = 0;
    let other = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let other_ca = dir.path().join("other.crt");
    std::fs::write(&other_ca, other.cert.pem()).unwrap();
    let untrusted = untrusted.with_ca_file(&other_ca).unwrap();
    assert!(untrusted.post("{}").await.is_err());
}

/// A CA and a client certificate (clientAuth) it signed: (CA PEM, client chain, key).
fn client_pki() -> (
    String,
    Vec<rustls::pki_types::CertificateDer<'static>>,
    rustls::pki_types::PrivateKeyDer<'static>,
) {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    };
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "audit client CA");
    let ca_key = KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let mut params = CertificateParams::new(vec!["kube-apiserver".to_string()]).unwrap();
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
    (
        ca.pem(),
        vec![cert.der().clone()],
        rustls::pki_types::PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
    )
}

/// Serving certificate files in a temporary directory and a client trusting them.
struct Served {
    dir: tempfile::TempDir,
    roots: rustls::RootCertStore,
}

fn served() -> Served {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tls.crt"), ck.cert.pem()).unwrap();
    std::fs::write(dir.path().join("tls.key"), ck.key_pair.serialize_pem()).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ck.cert.der().clone()).unwrap();
    Served { dir, roots }
}

fn client(
    roots: rustls::RootCertStore,
    cert: Option<(
        Vec<rustls::pki_types::CertificateDer<'static>>,
        rustls::pki_types::PrivateKeyDer<'static>,
    )>,
) -> Arc<rustls::ClientConfig> {
    let b = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    Arc::new(match cert {
        Some((chain, key)) => b.with_client_auth_cert(chain, key).unwrap(),
        None => b.with_no_client_auth(),
    })
}

/// POST one batch over a fresh TLS connection; any TLS or HTTP failure is an `Err`.
async fn post_batch(
    addr: SocketAddr,
    cfg: Arc<rustls::ClientConfig>,
    path: &str,
    body: String,
) -> Result<(u16, String), String> {
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let stream = tokio_rustls::TlsConnector::from(cfg)
        .connect(
            rustls::pki_types::ServerName::try_from("localhost").unwrap(),
            tcp,
        )
        .await
        .map_err(|e| e.to_string())?;
    let (mut sender, c) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = c.await;
    });
    let method = if body.is_empty() { "GET" } else { "POST" };
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "localhost")
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let code = resp.status().as_u16();
    let b = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((code, String::from_utf8_lossy(&b).into_owned()))
}

async fn start_monitor(
    opts: ServerOptions,
) -> (
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<
        Result<rampart_runtime::server::ServerSummary, rampart_runtime::server::ServerError>,
    >,
) {
    let bound = bind(opts).await.unwrap();
    let addr = bound.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(bound.run(
        monitor(),
        vec![Sink::Writer(Box::new(Buf::default()), AlertFormat::Json)],
        Arc::new(Metrics::default()),
        async {
            let _ = stop_rx.await;
        },
    ));
    (addr, stop_tx, server)
}

/// Issue 13: with `--client-ca`, the audit endpoint only accepts the API server's client
/// certificate: anyone else who can reach the port could otherwise inject forged audit
/// events (or flood alerts).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_endpoint_requires_client_certificates_with_a_client_ca() {
    let s = served();
    let (client_ca, chain, key) = client_pki();
    let (_, wrong_chain, wrong_key) = client_pki();
    std::fs::write(s.dir.path().join("client-ca.crt"), client_ca).unwrap();
    let mut opts = ServerOptions::new("127.0.0.1:0".parse().unwrap());
    let files = ServerTlsFiles::new(s.dir.path().join("tls.crt"), s.dir.path().join("tls.key"))
        .with_client_ca(s.dir.path().join("client-ca.crt"));
    opts.tls = Some(tls_config(&files, opts.net_metrics.clone()).unwrap());
    let (addr, stop, server) = start_monitor(opts).await;

    let anonymous = post_batch(addr, client(s.roots.clone(), None), "/", batch(1)).await;
    assert!(
        anonymous.is_err(),
        "a forged batch without a certificate was accepted: {anonymous:?}"
    );
    let wrong = post_batch(
        addr,
        client(s.roots.clone(), Some((wrong_chain, wrong_key))),
        "/",
        batch(1),
    )
    .await;
    assert!(
        wrong.is_err(),
        "a certificate from another CA was accepted: {wrong:?}"
    );
    let right = client(s.roots.clone(), Some((chain, key)));
    assert_eq!(
        post_batch(addr, right.clone(), "/", batch(2))
            .await
            .unwrap()
            .0,
        200
    );
    // The server counts a refused handshake just after sending its alert: poll briefly.
    let mut m = String::new();
    for _ in 0..50 {
        m = post_batch(addr, right.clone(), "/metrics", String::new())
            .await
            .unwrap()
            .1;
        if m.contains("rampart_runtime_tls_handshake_failures_total 2") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(m.contains("rampart_runtime_events_total 2"), "{m}");
    assert!(
        m.contains("rampart_runtime_tls_handshake_failures_total 2"),
        "{m}"
    );
    stop.send(()).unwrap();
    assert_eq!(server.await.unwrap().unwrap().events, 2);
}

/// The monitor reloads its serving certificate when the files change (cert-manager
/// renewals), like the webhook; before, it served the first certificate until restarted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitor_reloads_its_certificate() {
    let s = served();
    let mut opts = ServerOptions::new("127.0.0.1:0".parse().unwrap());
    let files = ServerTlsFiles::new(s.dir.path().join("tls.crt"), s.dir.path().join("tls.key"));
    opts.tls = Some(tls_config(&files, opts.net_metrics.clone()).unwrap());
    let (addr, stop, server) = start_monitor(opts).await;
    assert_eq!(
        post_batch(
            addr,
            client(s.roots.clone(), None),
            "/healthz",
            String::new()
        )
        .await
        .unwrap()
        .0,
        200
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let renewed = served();
    for f in ["tls.crt", "tls.key"] {
        std::fs::copy(renewed.dir.path().join(f), s.dir.path().join(f)).unwrap();
    }
    let mut ok = false;
    for _ in 0..30 {
        if post_batch(
            addr,
            client(renewed.roots.clone(), None),
            "/healthz",
            String::new(),
        )
        .await
        .is_ok()
        {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ok, "the renewed certificate was never served");
    let (_, m) = post_batch(addr, client(renewed.roots, None), "/metrics", String::new())
        .await
        .unwrap();
    assert!(m.contains("rampart_runtime_cert_reloads_total 1"), "{m}");
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

/// A large batch is decoded and evaluated on the blocking pool: with a single async
/// worker, `/healthz` still answers while it runs (before, the worker was busy for the
/// whole evaluation and liveness probes timed out).
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_large_batch_does_not_stall_the_async_worker() {
    let mut opts = ServerOptions::new("127.0.0.1:0".parse().unwrap());
    opts.max_body_bytes = 64 << 20;
    let (addr, stop, server) = start_monitor(opts).await;
    let big = batch(60_000);
    let plain = |path: &'static str, body: String| async move {
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (mut sender, c) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
            .await
            .unwrap();
        tokio::spawn(async move {
            let _ = c.await;
        });
        let req = Request::post(path)
            .header("host", "x")
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        let started = std::time::Instant::now();
        let code = sender.send_request(req).await.unwrap().status().as_u16();
        (code, started.elapsed())
    };
    let batch_task = tokio::spawn(plain("/", big));
    // Probe while the batch is being evaluated.
    let mut worst = Duration::ZERO;
    let mut probes = 0;
    while !batch_task.is_finished() {
        let (code, took) = plain("/healthz", String::new()).await;
        assert!(code == 200 || code == 405, "{code}");
        worst = worst.max(took);
        probes += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (code, batch_took) = batch_task.await.unwrap();
    assert_eq!(code, 200);
    eprintln!("batch {batch_took:?}, {probes} probes, worst probe {worst:?}");
    assert!(
        worst < batch_took / 3,
        "a probe waited {worst:?} during a {batch_took:?} batch"
    );
    assert!(
        probes >= 3,
        "the batch took {batch_took:?}: too fast to probe"
    );
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}
