//! Ingestion rate of the HTTPS audit webhook at saturation, on 127.0.0.1: the built-in
//! rules, TLS (rustls), `EventList` batches as the API server sends them, several
//! keep-alive client connections posting as fast as the server answers. The clients run
//! on the same machine and compete for its cores.
//!
//! `cargo bench -p rampart-runtime --bench webhook` (`RAMPART_BENCH_SECS`, default 10;
//! `RAMPART_BENCH_CONNS`, default 4; `RAMPART_BENCH_BATCH`, default 200 events).

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use rampart_runtime::server::{
    bind, tls_config, AlertFormat, Metrics, ServerMetrics, ServerOptions, ServerTlsFiles, Sink,
};
use rampart_runtime::{Engine, EngineOptions, Monitor, MonitorOptions, Ruleset};
use tokio_rustls::rustls;

fn env(key: &str, default: u64) -> u64 {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn batch(n: usize, seed: usize) -> String {
    let items: Vec<String> = (0..n)
        .map(|i| {
            let k = seed * n + i;
            if k.checked_rem(50) == Some(0) {
                format!(r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"id-{k}","stage":"ResponseStarted","requestURI":"/api/v1/namespaces/default/pods/web/exec?command=sh","verb":"create","user":{{"username":"mallory"}},"sourceIPs":["10.0.0.9"],"objectRef":{{"resource":"pods","namespace":"default","name":"web","subresource":"exec","apiVersion":"v1"}},"responseStatus":{{"metadata":{{}},"code":101}},"requestReceivedTimestamp":"2024-05-01T10:00:00.000000Z","stageTimestamp":"2024-05-01T10:00:00.000000Z"}}"#)
            } else {
                format!(r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"id-{k}","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/kube-system/endpoints/obj-{m}","verb":"get","user":{{"username":"system:kube-controller-manager","groups":["system:authenticated"]}},"sourceIPs":["10.0.0.2"],"userAgent":"kube-controller-manager/v1.30.0","objectRef":{{"resource":"endpoints","namespace":"kube-system","name":"obj-{m}","apiVersion":"v1"}},"responseStatus":{{"metadata":{{}},"code":200}},"requestReceivedTimestamp":"2024-05-01T10:00:00.000000Z","stageTimestamp":"2024-05-01T10:00:00.001000Z","annotations":{{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC: allowed"}}}}"#, m = k % 97)
            }
        })
        .collect();
    format!(
        r#"{{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{{}},"items":[{}]}}"#,
        items.join(",")
    )
}

fn main() {
    let secs = env("RAMPART_BENCH_SECS", 10);
    let conns = env("RAMPART_BENCH_CONNS", 4) as usize;
    let batch_size = env("RAMPART_BENCH_BATCH", 200) as usize;
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (c, k) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    std::fs::write(&c, ck.cert.pem()).unwrap();
    std::fs::write(&k, ck.key_pair.serialize_pem()).unwrap();
    let server_tls = tls_config(
        &ServerTlsFiles::new(&c, &k),
        Arc::new(ServerMetrics::default()),
    )
    .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ck.cert.der().clone()).unwrap();
    let client_tls = Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth(),
    );
    let batches: Arc<Vec<Bytes>> =
        Arc::new((0..16).map(|s| Bytes::from(batch(batch_size, s))).collect());
    let bytes_per_batch = batches[0].len();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let mut rs = Ruleset::new();
        rs.load_builtin().unwrap();
        let mon = Monitor::new(Engine::compile(&rs, EngineOptions::default()).unwrap(), MonitorOptions::default());
        let mut opts = ServerOptions::new("127.0.0.1:0".parse().unwrap());
        opts.tls = Some(server_tls);
        let bound = bind(opts).await.unwrap();
        let addr = bound.local_addr().unwrap();
        let metrics = Arc::new(Metrics::default());
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(bound.run(
            mon,
            vec![Sink::Writer(Box::new(std::io::sink()), AlertFormat::Json)],
            metrics.clone(),
            async {
                let _ = stop_rx.await;
            },
        ));
        let sent = Arc::new(AtomicU64::new(0));
        let deadline = Instant::now() + Duration::from_secs(secs);
        let start = Instant::now();
        let mut clients = Vec::new();
        for c in 0..conns {
            let (tls, batches, sent) = (client_tls.clone(), batches.clone(), sent.clone());
            clients.push(tokio::spawn(async move {
                let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
                let stream = tokio_rustls::TlsConnector::from(tls)
                    .connect(rustls::pki_types::ServerName::try_from("localhost").unwrap(), tcp)
                    .await
                    .unwrap();
                let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.unwrap();
                tokio::spawn(async move {
                    let _ = conn.await;
                });
                let mut i = c;
                while Instant::now() < deadline {
                    sender.ready().await.unwrap();
                    let req = Request::post("/k8s-audit")
                        .header("host", "localhost")
                        .header("content-type", "application/json")
                        .body(Full::new(batches[i % batches.len()].clone()))
                        .unwrap();
                    let resp = sender.send_request(req).await.unwrap();
                    assert_eq!(resp.status().as_u16(), 200);
                    let _ = resp.into_body().collect().await;
                    sent.fetch_add(1, Ordering::Relaxed);
                    i += conns;
                }
            }));
        }
        for c in clients {
            c.await.unwrap();
        }
        let elapsed = start.elapsed().as_secs_f64();
        stop_tx.send(()).unwrap();
        let summary = server.await.unwrap().unwrap();
        let n = sent.load(Ordering::Relaxed);
        println!("webhook ingestion (HTTPS on 127.0.0.1, {conns} keep-alive connections, {batch_size}-event EventList batches of {:.0} KB)", bytes_per_batch as f64 / 1024.0);
        println!("  batches:     {n} in {elapsed:.1} s");
        println!("  events:      {} ({:.0} events/s)", summary.events, summary.events as f64 / elapsed);
        println!("  throughput:  {:.1} MB/s of request bodies", (n as f64 * bytes_per_batch as f64) / 1e6 / elapsed);
        println!("  alerts:      {} raised, {} delivered, {} dropped", summary.alerts, summary.delivered, summary.dropped);
    });
}
