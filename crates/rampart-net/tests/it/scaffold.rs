//! The server scaffold on 127.0.0.1: the connection cap holds.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use rampart_net::server::{self, Lifecycle, ServerMetrics, ServerOptions};
use std::sync::atomic::Ordering;
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
    assert!(metrics.connection_cap_waits.load(Ordering::Relaxed) >= 1);
    // …and is, once one closes.
    drop(a);
    let mut buf = vec![0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(2), c.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    assert_eq!(metrics.connections.load(Ordering::Relaxed), 3);
}
