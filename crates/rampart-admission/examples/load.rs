//! Load benchmark for the admission webhook (run by `bench/admission.sh`).
//!
//! Starts the real server (TLS, default settings: enforce baseline, warn restricted) on
//! 127.0.0.1 in this process, then drives `/validate` over keep-alive TLS connections:
//!
//! 1. fixed rate (`--rate`, default 2000 req/s) for `--secs` seconds, open loop;
//! 2. saturation: `--conns` connections sending back to back for `--secs` seconds.
//!
//! Prints client-side p50/p99/max, server-side latency from the server's own histogram
//! (`rampart_admission_request_duration_seconds`), errors and peak RSS.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::exit
)]

use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use rampart_admission::engine::{Engine, NoAudit};
use rampart_admission::metrics::{Metrics, BUCKETS};
use rampart_admission::server::{self, ServerOptions, Services};
use rampart_admission::settings::Settings;
use serde_json::json;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_rustls::rustls;

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn bodies() -> Vec<Bytes> {
    let dep = |i: usize, privileged: bool| {
        json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
            "uid": format!("00000000-0000-0000-0000-{i:012}"),
            "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
            "resource": {"group": "apps", "version": "v1", "resource": "deployments"},
            "namespace": "team-a", "operation": "CREATE",
            "userInfo": {"username": "system:serviceaccount:ci:deployer", "groups": ["system:serviceaccounts"]},
            "object": {"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": format!("web-{i}"), "labels": {"app": "web", "tier": "frontend"}},
                "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                    "template": {"metadata": {"labels": {"app": "web"}},
                        "spec": {"containers": [
                            {"name": "web", "image": "ghcr.io/acme/web:1.4.2",
                             "ports": [{"containerPort": 8080}],
                             "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
                             "securityContext": {"privileged": privileged, "runAsNonRoot": true, "allowPrivilegeEscalation": false}},
                            {"name": "sidecar", "image": "ghcr.io/acme/proxy:2.0",
                             "securityContext": {"capabilities": {"drop": ["ALL"]}}}]}}}}}})
        .to_string()
        .into()
    };
    (0..64).map(|i| dep(i, i % 8 == 0)).collect()
}

async fn connect(addr: std::net::SocketAddr, cfg: Arc<rustls::ClientConfig>) -> Sender {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let tls = tokio_rustls::TlsConnector::from(cfg)
        .connect(name, tcp)
        .await
        .unwrap();
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .unwrap();
    tokio::spawn(async move {
        let _ = conn.await;
    });
    sender
}

async fn one(s: &mut Sender, body: Bytes) -> bool {
    if s.ready().await.is_err() {
        return false;
    }
    let req = hyper::Request::post("/validate")
        .header("host", "localhost")
        .header("content-type", "application/json")
        .body(Full::new(body))
        .unwrap();
    match s.send_request(req).await {
        Ok(r) => {
            let ok = r.status() == 200;
            let b = r.into_body().collect().await.map(|c| c.to_bytes());
            ok && b.is_ok_and(|b| b.starts_with(b"{\"apiVersion\""))
        }
        Err(_) => false,
    }
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// Server-side quantile from the histogram deltas: the smallest bucket bound covering `p`.
fn server_quantile(before: &[u64], after: &[u64], total: u64, p: f64) -> String {
    for (i, b) in BUCKETS.iter().enumerate() {
        let n = after[i] - before[i];
        if total > 0 && n as f64 >= p * total as f64 {
            return format!("<= {:.2} ms", b * 1000.0);
        }
    }
    "> 1000 ms".into()
}

async fn buckets(addr: std::net::SocketAddr, cfg: Arc<rustls::ClientConfig>) -> (Vec<u64>, u64) {
    let mut s = connect(addr, cfg).await;
    s.ready().await.unwrap();
    let req = hyper::Request::get("/metrics")
        .header("host", "localhost")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let r = s.send_request(req).await.unwrap();
    let text =
        String::from_utf8(r.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    // `…_bucket{le="0.0005",endpoint="validate"} 12`: labels in any order, `le` as a float.
    let bucket = |l: &str| -> Option<(f64, u64)> {
        let rest = l.strip_prefix("rampart_admission_request_duration_seconds_bucket{")?;
        let (labels, n) = rest.split_once("} ")?;
        if !labels.split(',').any(|kv| kv == "endpoint=\"validate\"") {
            return None;
        }
        let le = labels
            .split(',')
            .find_map(|kv| kv.strip_prefix("le=\""))?
            .trim_end_matches('"');
        Some((le.parse().ok()?, n.trim().parse().ok()?))
    };
    let mut v = Vec::new();
    for b in BUCKETS {
        let n = text
            .lines()
            .filter_map(bucket)
            .find(|(le, _)| (le - b).abs() < 1e-12)
            .map_or(0, |(_, n)| n);
        v.push(n);
    }
    let count = text
        .lines()
        .find_map(|l| {
            l.strip_prefix(
                "rampart_admission_request_duration_seconds_count{endpoint=\"validate\"} ",
            )
        })
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    (v, count)
}

fn peak_rss(pid: &str) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.trim_start_matches("VmHWM:").trim().to_string())
        })
        .unwrap_or_else(|| "?".into())
}

fn report(
    name: &str,
    lat: &mut [Duration],
    errors: u64,
    secs: f64,
    after: &(Vec<u64>, u64),
    before: &(Vec<u64>, u64),
) {
    lat.sort();
    let (after, total_after) = (&after.0, after.1);
    let total = total_after - before.1;
    let under_5ms = after[4] - before.0[4]; // BUCKETS[4] = 5 ms
    println!(
        "{name}: {} requests in {secs:.1}s = {:.0} req/s, errors {errors}; client p50 {:.2} ms p99 {:.2} ms max {:.2} ms; server p50 {} p99 {} ({:.2}% under 5 ms)",
        lat.len(),
        lat.len() as f64 / secs,
        pct(lat, 0.50).as_secs_f64() * 1000.0,
        pct(lat, 0.99).as_secs_f64() * 1000.0,
        lat.last().copied().unwrap_or_default().as_secs_f64() * 1000.0,
        server_quantile(&before.0, after, total, 0.50),
        server_quantile(&before.0, after, total, 0.99),
        if total > 0 { under_5ms as f64 * 100.0 / total as f64 } else { 0.0 },
    );
}

fn sarg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

/// `--serve DIR`: write certificates into DIR, serve, print the address, run forever.
fn serve(dir: &std::path::Path, threads: usize) {
    let g = rampart_admission::certs::generate(&["localhost".into()], 1).unwrap();
    rampart_admission::certs::write(dir, &g).unwrap();
    let metrics = Arc::new(Metrics::default());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .unwrap();
    let mut opts = ServerOptions::new("127.0.0.1:0".parse().unwrap());
    let files = server::ServerTlsFiles::new(dir.join("tls.crt"), dir.join("tls.key"));
    opts.tls = Some(server::tls_config(&files, opts.net_metrics.clone()).unwrap());
    rt.block_on(async move {
        let bound = server::bind(opts).await.unwrap();
        println!("{}", bound.local_addr().unwrap());
        let services = Services {
            engine: Arc::new(Engine::new(Settings::default())),
            metrics,
            audit: Arc::new(NoAudit),
            registry: None,
        };
        bound
            .run(services, server::shutdown_signal())
            .await
            .unwrap();
    });
}

async fn phase(
    addr: std::net::SocketAddr,
    cfg: Arc<rustls::ClientConfig>,
    bodies: Arc<Vec<Bytes>>,
    conns: usize,
    secs: u64,
    rate: Option<u64>,
) -> (Vec<Duration>, u64, f64) {
    let lat = Arc::new(Mutex::new(Vec::new()));
    let errors = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..conns {
        let mut s = connect(addr, cfg.clone()).await;
        let (lat, errors, bodies) = (lat.clone(), errors.clone(), bodies.clone());
        tasks.push(tokio::spawn(async move {
            // Open loop at `rate` (each connection on its own schedule), or closed loop.
            let mut tick = rate.map(|r| {
                let per = Duration::from_secs_f64(conns as f64 / r as f64);
                let mut t = tokio::time::interval_at(
                    tokio::time::Instant::now() + per * c as u32 / conns as u32,
                    per,
                );
                t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                t
            });
            let mut i = c;
            let mut mine = Vec::new();
            while Instant::now() < deadline {
                if let Some(t) = tick.as_mut() {
                    t.tick().await;
                }
                let t = Instant::now();
                if one(&mut s, bodies[i % bodies.len()].clone()).await {
                    mine.push(t.elapsed());
                } else {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
                i += conns;
            }
            lat.lock().unwrap().extend(mine);
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let took = started.elapsed().as_secs_f64();
    let l = lat.lock().unwrap().clone();
    (l, errors.load(Ordering::Relaxed), took)
}

/// `--drive ADDR --ca FILE [--pid PID]`: the two phases against a running server.
fn drive(addr: std::net::SocketAddr, ca: &std::path::Path) {
    let rate = arg("--rate", 2000);
    let secs = arg("--secs", 10);
    let conns = arg("--conns", 8) as usize;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(arg("--client-threads", 2) as usize)
        .enable_all()
        .build()
        .unwrap();
    let pem = std::fs::read(ca).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for c in rampart_net::pem::certs_from_pem(&pem).unwrap() {
        roots.add(c).unwrap();
    }
    let cfg = Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth(),
    );
    let bodies = Arc::new(bodies());
    println!(
        "admission webhook load: TLS keep-alive, {conns} connections, {secs}s per phase, Deployment reviews of {} bytes (1 in 8 denied)",
        bodies[1].len()
    );
    rt.block_on(async {
        let mut s = connect(addr, cfg.clone()).await;
        for b in bodies.iter().take(64) {
            one(&mut s, b.clone()).await;
        }
        let before = buckets(addr, cfg.clone()).await;
        let (mut l, e, took) =
            phase(addr, cfg.clone(), bodies.clone(), conns, secs, Some(rate)).await;
        let after = buckets(addr, cfg.clone()).await;
        report(
            &format!("fixed {rate} req/s"),
            &mut l,
            e,
            took,
            &after,
            &before,
        );
        let before = after;
        let (mut l, e, took) = phase(addr, cfg.clone(), bodies.clone(), conns, secs, None).await;
        let after = buckets(addr, cfg.clone()).await;
        report("saturation", &mut l, e, took, &after, &before);
    });
    if let Some(pid) = sarg("--pid") {
        println!("server peak RSS: {}", peak_rss(&pid));
    }
}

fn main() {
    if let Some(dir) = sarg("--serve") {
        serve(
            std::path::Path::new(&dir),
            arg("--server-threads", 2) as usize,
        );
    } else if let (Some(addr), Some(ca)) = (sarg("--drive"), sarg("--ca")) {
        drive(addr.parse().unwrap(), std::path::Path::new(&ca));
    } else {
        eprintln!("usage: load --serve DIR [--server-threads N] | load --drive ADDR --ca DIR/ca.crt [--rate R] [--secs S] [--conns C] [--pid PID]");
        std::process::exit(2);
    }
}
