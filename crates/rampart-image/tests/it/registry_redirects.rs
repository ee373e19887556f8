//! Redirects during a pull, against in-test servers on 127.0.0.1: registries serve blobs
//! from a CDN on another host (followed, without the registry's credentials), and a
//! server that redirects forever is given up on.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine as _;
use rampart_image::{scan, ScanOptions};
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

type Handler = dyn Fn(&str, Option<&str>) -> (String, Vec<String>, Vec<u8>) + Send;

/// A one-request-per-connection HTTP server; every request is logged as
/// `target authorization`.
fn server(handler: Box<Handler>) -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let log = Arc::new(Mutex::new(Vec::new()));
    let l2 = log.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().take(200) {
            let Ok(mut conn) = conn else { continue };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut first = String::new();
            if reader.read_line(&mut first).is_err() {
                continue;
            }
            let mut authz = None;
            loop {
                let mut l = String::new();
                if reader.read_line(&mut l).unwrap_or(0) == 0 || l == "\r\n" {
                    break;
                }
                if let Some((k, v)) = l.split_once(':') {
                    if k.eq_ignore_ascii_case("authorization") {
                        authz = Some(v.trim().to_string());
                    }
                }
            }
            let target = first.split_whitespace().nth(1).unwrap_or("/").to_string();
            l2.lock()
                .unwrap()
                .push(format!("{target} {}", authz.clone().unwrap_or_default()));
            let (status, headers, body) = handler(&target, authz.as_deref());
            let mut resp = format!(
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for h in headers {
                resp.push_str(&h);
                resp.push_str("\r\n");
            }
            resp.push_str("\r\n");
            let _ = conn.write_all(resp.as_bytes());
            let _ = conn.write_all(&body);
            let _ = conn.flush();
        }
    });
    (port, log)
}

fn sha(b: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(b)))
}

fn layer() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let d = b"ID=alpine\nVERSION_ID=3.20.0\n";
    let mut h = tar::Header::new_gnu();
    h.set_size(d.len() as u64);
    h.set_mode(0o644);
    b.append_data(&mut h, "etc/os-release", &d[..]).unwrap();
    let t = b.into_inner().unwrap();
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(&t).unwrap();
    e.finish().unwrap()
}

const BASIC: &str = "alice:wonder";

/// A registry (basic auth) whose layer blob is answered with a redirect to
/// `blob_location(layer digest)`.
fn registry(blob_location: impl Fn(&str) -> String + Send + 'static) -> (u16, Vec<u8>) {
    let l = layer();
    let cfg = serde_json::to_vec(&serde_json::json!({"architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": []}}))
    .unwrap();
    let m = serde_json::to_vec(&serde_json::json!({"schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(&cfg), "size": cfg.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": sha(&l), "size": l.len()}]}))
    .unwrap();
    let (ld, cd) = (sha(&l), sha(&cfg));
    let want = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(BASIC)
    );
    let (port, _) = server(Box::new(move |target, authz| {
        if authz != Some(want.as_str()) {
            return (
                "401 Unauthorized".into(),
                vec!["WWW-Authenticate: Basic realm=\"test\"".into()],
                vec![],
            );
        }
        if target == "/v2/team/app/manifests/1.0" {
            let ct = "Content-Type: application/vnd.oci.image.manifest.v1+json";
            ("200 OK".into(), vec![ct.into()], m.clone())
        } else if target == format!("/v2/team/app/blobs/{cd}") {
            ("200 OK".into(), vec![], cfg.clone())
        } else if target == format!("/v2/team/app/blobs/{ld}") {
            let loc = format!("Location: {}", blob_location(&ld));
            ("307 Temporary Redirect".into(), vec![loc], vec![])
        } else {
            ("404 Not Found".into(), vec![], vec![])
        }
    }));
    (port, l)
}

fn options(port: u16, dir: &std::path::Path) -> ScanOptions {
    let cfg = dir.join("config.json");
    let auth = base64::engine::general_purpose::STANDARD.encode(BASIC);
    std::fs::write(
        &cfg,
        format!(r#"{{"auths":{{"127.0.0.1:{port}":{{"auth":"{auth}"}}}}}}"#),
    )
    .unwrap();
    let mut o = ScanOptions::default();
    o.open.insecure = true;
    o.open.docker_config = Some(cfg);
    o
}

/// Issue 14: the pull now follows redirects itself (the one HTTP client never does):
/// a blob on a CDN host is fetched, and the registry's credentials stay with the
/// registry.
#[test]
fn blobs_redirected_to_a_cdn_are_fetched_without_the_registry_credentials() {
    let blob = Arc::new(Mutex::new(Vec::new()));
    let b2 = blob.clone();
    // "CDN": another origin (localhost by name, another port).
    let (cdn, cdn_log) = server(Box::new(move |_, _| {
        ("200 OK".into(), vec![], b2.lock().unwrap().clone())
    }));
    let (port, l) = registry(move |d| format!("http://localhost:{cdn}/cdn/{d}?sig=x"));
    *blob.lock().unwrap() = l;
    let dir = tempfile::tempdir().unwrap();
    let s = scan(
        &format!("127.0.0.1:{port}/team/app:1.0"),
        &options(port, dir.path()),
        None,
        None,
    )
    .unwrap();
    assert_eq!(s.image.os.as_ref().unwrap().id, "alpine");
    let log = cdn_log.lock().unwrap().clone();
    assert_eq!(log.len(), 1, "{log:?}");
    assert!(log[0].starts_with("/cdn/sha256:"), "{log:?}");
    assert!(
        log[0].ends_with(' '),
        "the registry's credentials went to the CDN: {log:?}"
    );
}

#[test]
fn endless_redirects_are_given_up() {
    let (cdn, cdn_log) = server(Box::new(|target, _| {
        let loc = format!("Location: {target}x");
        ("302 Found".into(), vec![loc], vec![])
    }));
    let (port, _) = registry(move |d| format!("http://localhost:{cdn}/cdn/{d}"));
    let dir = tempfile::tempdir().unwrap();
    let err = scan(
        &format!("127.0.0.1:{port}/team/app:1.0"),
        &options(port, dir.path()),
        None,
        None,
    )
    .unwrap_err();
    assert!(err.to_string().contains("redirects"), "{err}");
    assert!(cdn_log.lock().unwrap().len() <= 5);
}
