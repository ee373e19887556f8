//! The registry client against a small in-test registry on 127.0.0.1: bearer-token auth
//! (WWW-Authenticate challenge), basic auth from a Docker config file, a multi-arch
//! index resolved by platform, and a blob whose content does not match its digest.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine as _;
use rampart_image::oci::Platform;
use rampart_image::{scan, ScanOptions};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

fn sha(b: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(b)))
}

#[derive(Clone, Copy, PartialEq)]
enum Auth {
    Bearer,
    Basic,
}

struct Served {
    blobs: HashMap<String, (String, Vec<u8>)>, // path → (content type, body)
    auth: Auth,
    port: u16,
    log: Vec<String>,
}

fn layer(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (p, d) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(d.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, p, *d).unwrap();
    }
    let t = b.into_inner().unwrap();
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(&t).unwrap();
    e.finish().unwrap()
}

/// Serve one image per architecture behind an index at `/v2/team/app/manifests/1.0`.
fn serve(auth: Auth, tamper: bool) -> Arc<Mutex<Served>> {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut blobs = HashMap::new();
    let mut manifests = Vec::new();
    for arch in ["arm64", "amd64"] {
        let l = layer(&[
            ("etc/os-release", b"ID=alpine\nVERSION_ID=3.20.0\n"),
            (
                "lib/apk/db/installed",
                format!("P:pkg-{arch}\nV:1.0-r0\n\n").as_bytes(),
            ),
        ]);
        let cfg = serde_json::to_vec(&serde_json::json!({"architecture": arch, "os": "linux",
            "config": {"User": "1000"}, "rootfs": {"type": "layers", "diff_ids": []}}))
        .unwrap();
        let layer_digest = sha(&l);
        let served_layer = if tamper {
            layer(&[("x", b"other")])
        } else {
            l.clone()
        };
        blobs.insert(
            format!("/v2/team/app/blobs/{layer_digest}"),
            ("application/octet-stream".into(), served_layer),
        );
        blobs.insert(
            format!("/v2/team/app/blobs/{}", sha(&cfg)),
            ("application/json".into(), cfg.clone()),
        );
        let m = serde_json::to_vec(&serde_json::json!({"schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(&cfg), "size": cfg.len()},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer_digest, "size": l.len()}]})).unwrap();
        let md = sha(&m);
        blobs.insert(
            format!("/v2/team/app/manifests/{md}"),
            (
                "application/vnd.oci.image.manifest.v1+json".into(),
                m.clone(),
            ),
        );
        manifests.push(serde_json::json!({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": m.len(),
            "platform": {"os": "linux", "architecture": arch}}));
    }
    let idx = serde_json::to_vec(&serde_json::json!({"schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests}))
    .unwrap();
    blobs.insert(
        "/v2/team/app/manifests/1.0".into(),
        ("application/vnd.oci.image.index.v1+json".into(), idx),
    );
    let state = Arc::new(Mutex::new(Served {
        blobs,
        auth,
        port,
        log: Vec::new(),
    }));
    let st = state.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().take(64) {
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
                if let Some(v) = l
                    .strip_prefix("Authorization: ")
                    .or_else(|| l.strip_prefix("authorization: "))
                {
                    authz = Some(v.trim().to_string());
                }
            }
            let target = first.split_whitespace().nth(1).unwrap_or("/").to_string();
            let mut s = st.lock().unwrap();
            s.log
                .push(format!("{target} {}", authz.clone().unwrap_or_default()));
            let basic_ok = Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode("alice:wonder")
            ));
            let (status, headers, body): (&str, Vec<String>, Vec<u8>) = if target
                .starts_with("/token")
            {
                if authz == basic_ok && target.contains("scope=repository%3Ateam%2Fapp%3Apull") {
                    ("200 OK", vec![], br#"{"token":"tok-123"}"#.to_vec())
                } else {
                    ("401 Unauthorized", vec![], b"{}".to_vec())
                }
            } else {
                let ok = match s.auth {
                    Auth::Bearer => authz.as_deref() == Some("Bearer tok-123"),
                    Auth::Basic => authz == basic_ok,
                };
                if !ok {
                    let ch = match s.auth {
                        Auth::Bearer => format!("WWW-Authenticate: Bearer realm=\"http://127.0.0.1:{}/token\",service=\"test\",scope=\"repository:team/app:pull\"", s.port),
                        Auth::Basic => "WWW-Authenticate: Basic realm=\"test\"".to_string(),
                    };
                    ("401 Unauthorized", vec![ch], b"{}".to_vec())
                } else if let Some((ct, b)) = s.blobs.get(&target) {
                    ("200 OK", vec![format!("Content-Type: {ct}")], b.clone())
                } else {
                    ("404 Not Found", vec![], b"{}".to_vec())
                }
            };
            drop(s);
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
            let _ = conn.shutdown(std::net::Shutdown::Both);
        }
    });
    state
}

fn options(port: u16, dir: &std::path::Path, platform: &str) -> ScanOptions {
    let cfg = dir.join("config.json");
    let auth = base64::engine::general_purpose::STANDARD.encode("alice:wonder");
    std::fs::write(
        &cfg,
        format!(r#"{{"auths":{{"127.0.0.1:{port}":{{"auth":"{auth}"}}}}}}"#),
    )
    .unwrap();
    let mut o = ScanOptions::default();
    o.open.insecure = true;
    o.open.docker_config = Some(cfg);
    o.open.platform = Platform::parse(platform).unwrap();
    o
}

#[test]
fn bearer_token_and_platforms() {
    let state = serve(Auth::Bearer, false);
    let port = state.lock().unwrap().port;
    let dir = tempfile::tempdir().unwrap();
    let r = format!("127.0.0.1:{port}/team/app:1.0");
    let s = scan(&r, &options(port, dir.path(), "linux/amd64"), None, None).unwrap();
    assert_eq!(s.packages[0].name, "pkg-amd64");
    assert_eq!(s.image.platform, "linux/amd64");
    let s = scan(&r, &options(port, dir.path(), "linux/arm64"), None, None).unwrap();
    assert_eq!(s.packages[0].name, "pkg-arm64");
    let err = scan(&r, &options(port, dir.path(), "linux/s390x"), None, None).unwrap_err();
    assert!(err.to_string().contains("linux/amd64"), "{err}");
    let log = state.lock().unwrap().log.clone();
    assert!(
        log.iter()
            .any(|l| l.starts_with("/token") && l.contains("Basic ")),
        "{log:?}"
    );
    assert!(log.iter().any(|l| l.contains("Bearer tok-123")), "{log:?}");
}

#[test]
fn basic_auth_and_missing_credentials() {
    let state = serve(Auth::Basic, false);
    let port = state.lock().unwrap().port;
    let dir = tempfile::tempdir().unwrap();
    let r = format!("127.0.0.1:{port}/team/app:1.0");
    let s = scan(&r, &options(port, dir.path(), "linux/amd64"), None, None).unwrap();
    assert_eq!(s.packages.len(), 1);
    let mut o = options(port, dir.path(), "linux/amd64");
    o.open.docker_config = Some(dir.path().join("nonexistent.json"));
    let err = scan(&r, &o, None, None).unwrap_err();
    assert!(err.to_string().contains("no credentials"), "{err}");
}

#[test]
fn tampered_blob_is_rejected() {
    let state = serve(Auth::Bearer, true);
    let port = state.lock().unwrap().port;
    let dir = tempfile::tempdir().unwrap();
    let err = scan(
        &format!("127.0.0.1:{port}/team/app:1.0"),
        &options(port, dir.path(), "linux/amd64"),
        None,
        None,
    )
    .unwrap_err();
    assert!(err.to_string().contains("digest mismatch"), "{err}");
}
