//! The server scaffold on 127.0.0.1: the connection cap holds.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use rampart_net::server::{self, Lifecycle, ServerMetrics, ServerOptions};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn get(tcp: &mut tokio::net::TcpStream) -> Option<String> {
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .ok()?;
    let mut buf = vec![0u8; 1024];
    let n = tokio::time::timeout(Duration::from_millis(400), tcp.read(&mut buf))
        .await
        .ok()?
        .ok()?;
    Some(String::from_utf8_lossy(&buf[..n]).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_cap_wait_for_a_free_slot() {
    let metrics = Arc::new(ServerMetrics::default());
    let mut opts = ServerOptions::new("127.0.0.1:0".parse().unwrap(), metrics.clone());
    opts.max_connections = 2;
    let bound = server::bind(opts).await.unwrap();
    let addr = bound.local_addr().unwrap();
    let app = axum::Router::new().route("/healthz", axum::routing::get(|| async { "ok" }));
    tokio::spawn(bound.serve(app, Lifecycle::new(), std::future::pending()));

    let mut a = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut b = tokio::net::TcpStream::connect(addr).await.unwrap();
    assert!(get(&mut a).await.unwrap().starts_with("HTTP/1.1 200"));
    assert!(get(&mut b).await.unwrap().starts_with("HTTP/1.1 200"));
    // A third connection is not served while two are open (kept alive)…
    let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
    assert_eq!(get(&mut c).await, None, "served past the connection cap");
    assert!(metrics.connection_cap_waits.get() >= 1);
    assert_eq!(metrics.connections_open.get(), 2);
    // …and is, once one closes.
    drop(a);
    let mut buf = vec![0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(2), c.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    assert_eq!(metrics.connections.get(), 3);
    assert_eq!(metrics.connections_open.get(), 2);
}

/// Request durations are labelled with the server's fixed routes only: 2,000 requests
/// with distinct paths, queries and methods add no series; a 413 is counted by route;
/// `/metrics` answers OpenMetrics, or the Prometheus text format when asked for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_metrics_are_labelled_by_a_fixed_route_set() {
    use rampart_net::metrics::{MetricsRegistry, Routes};
    let metrics = Arc::new(ServerMetrics::default());
    let mut opts = ServerOptions::new("127.0.0.1:0".parse().unwrap(), metrics.clone());
    opts.routes = Routes {
        paths: &["/healthz", "/upload", "/metrics"],
        fallback: "other",
    };
    let mut reg = MetricsRegistry::new("rampart_t");
    metrics.register(&mut reg);
    let bound = server::bind(opts).await.unwrap();
    let addr = bound.local_addr().unwrap();
    let app = axum::Router::new()
        .route("/healthz", axum::routing::get(|| async { "ok" }))
        .route(
            "/upload",
            axum::routing::post(|req: axum::extract::Request| async move {
                match server::read_body(req, 16, Duration::from_secs(2)).await {
                    Ok(_) => axum::http::StatusCode::OK,
                    Err(_) => axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                }
            }),
        )
        .merge(rampart_net::metrics::router(Arc::new(reg)));
    tokio::spawn(bound.serve(app, Lifecycle::new(), std::future::pending()));

    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut sink = vec![0u8; 4096];
    for i in 0..2000 {
        let method = if i % 2 == 0 {
            "GET".to_string()
        } else {
            format!("X-M{i}")
        };
        let req = format!(
            "{method} /p{i}%22x%5Cy?q={i} HTTP/1.1\r\nhost: h{i}\r\nuser-agent: ua{i}\r\ncontent-length: 0\r\n\r\n"
        );
        tcp.write_all(req.as_bytes()).await.unwrap();
        let n = tcp.read(&mut sink).await.unwrap();
        assert!(n > 0, "connection closed at request {i}");
    }
    let big = "x".repeat(40);
    let req = format!(
        "POST /upload HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\n\r\n{big}",
        big.len()
    );
    tcp.write_all(req.as_bytes()).await.unwrap();
    let n = tcp.read(&mut sink).await.unwrap();
    assert!(String::from_utf8_lossy(&sink[..n]).starts_with("HTTP/1.1 413"));

    let scrape = |accept: &'static str| async move {
        let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
        c.write_all(
            format!(
                "GET /metrics HTTP/1.1\r\nhost: x\r\naccept: {accept}\r\nconnection: close\r\n\r\n"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
        let mut out = String::new();
        c.read_to_string(&mut out).await.unwrap();
        out
    };
    let om = scrape("*/*").await;
    assert!(
        om.contains("content-type: application/openmetrics-text; version=1.0.0"),
        "{om}"
    );
    assert!(om.trim_end().ends_with("# EOF"), "{om}");
    let routes: std::collections::BTreeSet<&str> = om
        .lines()
        .filter(|l| l.starts_with("rampart_t_http_request_duration_seconds_count"))
        .filter_map(|l| l.split('"').nth(1))
        .collect();
    assert_eq!(
        routes.into_iter().collect::<Vec<_>>(),
        ["/upload", "other"],
        "{om}"
    );
    assert!(
        om.contains("rampart_t_http_request_duration_seconds_count{route=\"other\"} 2000\n"),
        "{om}"
    );
    assert!(
        om.contains("rampart_t_body_too_large_total{route=\"/upload\"} 1\n"),
        "{om}"
    );
    assert!(
        !om.contains("p1999") && !om.contains("ua1") && !om.contains("X-M"),
        "{om}"
    );
    let text = scrape("text/plain;version=0.0.4").await;
    assert!(
        text.contains("content-type: text/plain; version=0.0.4"),
        "{text}"
    );
    assert!(
        text.contains("# TYPE rampart_t_body_too_large_total counter"),
        "{text}"
    );
    assert!(!text.contains("# EOF"), "{text}");
}
