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
    bind, load_tls, AlertFormat, HttpSink, Metrics, ServerOptions, Sink,
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
    let server = load_tls(&c, &k).unwrap();
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
    assert_eq!(metrics.sink_errors.load(Ordering::Relaxed), 0);
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
    assert!(metrics.alerts_dropped.load(Ordering::Relaxed) >= 17);
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
    let acceptor = tokio_rustls::TlsAcceptor::from(load_tls(&c, &k).unwrap());
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
