//! Issue 13: out of file descriptors, the accept loop backs off instead of spinning.
//!
//! The monitor's old loop retried `accept` at once on every error: with a connection
//! waiting and no descriptor left, that is a busy loop burning a whole core (and starving
//! the requests that would free descriptors). The test lowers the process's descriptor
//! limit and measures the process's CPU time, so it runs in a process of its own: the
//! test below starts this test binary again with only the `#[ignore]`d body selected
//! (the other tests of the binary would run out of descriptors and add CPU time).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use rampart_net::server::{self, Lifecycle, ServerMetrics, ServerOptions};
use std::io::{Read, Seek};
use std::sync::Arc;
use std::time::Duration;

/// utime + stime of this process, in clock ticks, read through an already open handle.
fn cpu_ticks(stat: &mut std::fs::File) -> u64 {
    let mut s = String::new();
    stat.rewind().unwrap();
    stat.read_to_string(&mut s).unwrap();
    let after = &s[s.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of stat(5), counted after the command name (field 3 is index 0).
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// Set in the child process that runs [`in_own_process`].
const CHILD: &str = "RAMPART_ACCEPT_BACKOFF_CHILD";

#[test]
fn accept_errors_back_off_instead_of_spinning() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "accept_backoff::in_own_process",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    // The child ran the body (not zero tests after filtering).
    assert!(stdout.contains("1 passed"), "{stdout}\n{stderr}");
}

#[ignore = "run in a process of its own by accept_errors_back_off_instead_of_spinning"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_own_process() {
    assert!(
        std::env::var_os(CHILD).is_some(),
        "run only as a child of accept_errors_back_off_instead_of_spinning"
    );
    if std::process::Command::new("prlimit")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipping: no prlimit (util-linux)");
        return;
    }
    let metrics = Arc::new(ServerMetrics::default());
    let opts = ServerOptions::new("127.0.0.1:0".parse().unwrap(), metrics.clone());
    let bound = server::bind(opts).await.unwrap();
    let addr = bound.local_addr().unwrap();
    let app = axum::Router::new().route("/healthz", axum::routing::get(|| async { "ok" }));
    tokio::spawn(bound.serve(app, Lifecycle::new(), std::future::pending()));
    let mut stat = std::fs::File::open("/proc/self/stat").unwrap();

    // Leave a handful of descriptors, then fill them with connections.
    let open = std::fs::read_dir("/proc/self/fd").unwrap().count() as u64;
    let status = std::process::Command::new("prlimit")
        .arg(format!("--pid={}", std::process::id()))
        .arg(format!("--nofile={}:", open + 10))
        .status()
        .unwrap();
    assert!(status.success());
    let mut clients = Vec::new();
    while let Ok(c) = tokio::net::TcpStream::connect(addr).await {
        clients.push(c);
        assert!(clients.len() < 1000, "the descriptor limit did not apply");
    }
    // Connections are waiting in the backlog and `accept` fails with EMFILE.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = cpu_ticks(&mut stat);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let spent = cpu_ticks(&mut stat) - before;
    let errors = metrics.accept_errors.get();
    eprintln!(
        "{} connections, {spent} ticks of CPU in 1 s, {errors} accept errors",
        clients.len()
    );
    assert!(
        errors > 0,
        "accept never failed: the test set-up did not work"
    );
    assert!(
        spent < 30,
        "the accept loop spun: {spent} CPU ticks (1/100 s) in one second, {errors} accept errors"
    );
    assert!(errors < 100, "{errors} accept errors in about a second");

    // Descriptors come back: the server serves again.
    drop(clients);
    let mut served = false;
    for _ in 0..40 {
        if let Ok(Ok(mut tcp)) = tokio::time::timeout(
            Duration::from_millis(500),
            tokio::net::TcpStream::connect(addr),
        )
        .await
        {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            tcp.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
                .await
                .unwrap();
            let mut got = Vec::new();
            let _ = tokio::time::timeout(Duration::from_secs(2), tcp.read_to_end(&mut got)).await;
            if String::from_utf8_lossy(&got).starts_with("HTTP/1.1 200") {
                served = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        served,
        "the server did not recover once descriptors were free"
    );
}
