//! `rampart admission` through the real binary: certs, review, serve.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};

fn rampart() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rampart"))
}

fn review_body(spec: Value) -> Value {
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": "cli-1", "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "resource": {"group": "", "version": "v1", "resource": "pods"},
        "namespace": "team", "operation": "CREATE",
        "userInfo": {"username": "alice"},
        "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec}}})
}

#[test]
fn certs_writes_files_and_prints_the_ca_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let out = rampart()
        .args(["admission", "certs", "--out"])
        .arg(dir.path().join("c"))
        .args(["--dns", "rampart-admission.rampart.svc", "--days", "30"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bundle = String::from_utf8(out.stdout).unwrap();
    let ca = std::fs::read_to_string(dir.path().join("c/ca.crt")).unwrap();
    assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(dir.path().join("c/tls.key").exists() && dir.path().join("c/tls.crt").exists());
    // base64 of the PEM starts with the base64 of "-----BEGIN".
    assert!(bundle.trim().starts_with("LS0tLS1CRUdJTi"), "{bundle}");
    let no_dns = rampart()
        .args(["admission", "certs", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(no_dns.status.code(), Some(2));
}

#[test]
fn review_denies_with_exit_1_and_mutates_with_config() {
    let dir = tempfile::tempdir().unwrap();
    let req = dir.path().join("req.json");
    std::fs::write(
        &req,
        review_body(json!({"hostPID": true, "containers": [{"name": "a", "image": "nginx:1"}]}))
            .to_string(),
    )
    .unwrap();
    let out = rampart()
        .args(["admission", "review"])
        .arg(&req)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["response"]["uid"], "cli-1");
    assert_eq!(v["response"]["allowed"], false);
    assert!(v["response"]["status"]["message"]
        .as_str()
        .unwrap()
        .contains("k8s/pss-host-namespaces at spec.hostPID"));

    // A namespace labelled privileged admits it.
    let out = rampart()
        .args([
            "admission",
            "review",
            "--namespace-label",
            "rampart.dev/enforce=privileged",
        ])
        .arg(&req)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));

    // Mutations from rampart.yaml.
    let cfg = dir.path().join("rampart.yaml");
    std::fs::write(
        &cfg,
        "admission:\n  enforce: restricted\n  mutations:\n    seccomp_runtime_default: true\n    drop_all_capabilities: true\n",
    )
    .unwrap();
    std::fs::write(
        &req,
        review_body(json!({"containers": [{"name": "a", "image": "nginx:1"}]})).to_string(),
    )
    .unwrap();
    let out = rampart()
        .args(["admission", "review", "--mutate", "--config"])
        .arg(&cfg)
        .arg(&req)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["response"]["patchType"], "JSONPatch");
    let ops = v["response"]["patchDecoded"].to_string();
    assert!(
        ops.contains("/spec/securityContext") && ops.contains("RuntimeDefault"),
        "{ops}"
    );
    assert!(ops.contains("/spec/containers/0/securityContext"), "{ops}");

    // A bad config is a clear error (exit 2).
    std::fs::write(&cfg, "admission:\n  enforce: strictest\n").unwrap();
    let out = rampart()
        .args(["admission", "review", "--config"])
        .arg(&cfg)
        .arg(&req)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("admission.enforce"));
}

#[test]
fn serve_answers_admission_reviews() {
    let mut child = rampart()
        .args([
            "admission",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--insecure-http",
            "--namespaces",
            "none",
        ])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    let body = review_body(json!({"containers": [{"name": "a", "image": "x:1", "securityContext": {"privileged": true}}]})).to_string();
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    write!(
        s,
        "POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    let json_part = &resp[resp.find("\r\n\r\n").unwrap() + 4..];
    let v: Value = serde_json::from_str(json_part.trim()).unwrap();
    assert_eq!(v["response"]["uid"], "cli-1");
    assert_eq!(v["response"]["allowed"], false);
}
