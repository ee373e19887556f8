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

/// A plain-HTTP fake API server on 127.0.0.1 (std threads, raw HTTP/1.1): lists one
/// namespace `team` labelled `rampart.dev/enforce: restricted`, and answers watches with
/// a bookmark, ending them after a second. Returns its address and the Authorization
/// headers it saw.
fn fake_api_server() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::sync::{Arc, Mutex};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let auth = Arc::new(Mutex::new(Vec::new()));
    let seen = auth.clone();
    std::thread::spawn(move || {
        for conn in l.incoming().take(200) {
            let Ok(mut s) = conn else { return };
            let seen = seen.clone();
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut b = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && head.len() < 65536 {
                    if s.read(&mut b).unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(b[0]);
                }
                let head = String::from_utf8_lossy(&head).to_string();
                if let Some(a) = head.lines().find_map(|l| {
                    l.to_ascii_lowercase()
                        .starts_with("authorization:")
                        .then(|| l[14..].trim().to_string())
                }) {
                    seen.lock().unwrap().push(a);
                }
                let target = head.split_whitespace().nth(1).unwrap_or("").to_string();
                if target.contains("watch=") {
                    let ev = json!({"type": "BOOKMARK", "object": {"kind": "Namespace", "apiVersion": "v1", "metadata": {"resourceVersion": "11"}}}).to_string() + "\n";
                    let _ = write!(s, "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n{:x}\r\n{ev}\r\n", ev.len());
                    std::thread::sleep(std::time::Duration::from_secs(1));
                    let _ = write!(s, "0\r\n\r\n");
                    return;
                }
                let body = json!({"kind": "NamespaceList", "apiVersion": "v1", "metadata": {"resourceVersion": "10"},
                    "items": [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team", "resourceVersion": "5",
                        "labels": {"rampart.dev/enforce": "restricted"}}}]}).to_string();
                let _ = write!(s, "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len());
            });
        }
    });
    (addr, auth)
}

fn http(addr: &str, req: &str) -> String {
    let Ok(mut s) = std::net::TcpStream::connect(addr) else {
        return String::new();
    };
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let _ = s.write_all(req.as_bytes());
    let mut resp = String::new();
    let _ = s.read_to_string(&mut resp);
    resp
}

/// Issue 14: `serve --kubeconfig` reads namespace labels through a kubeconfig (the old
/// client only knew the in-cluster service account and --kube-server): `team` is
/// labelled restricted on the API server, so a pod that only breaks `restricted` is
/// denied there (the cluster default, baseline, would admit it).
#[test]
fn serve_reads_namespace_labels_through_a_kubeconfig() {
    let (api, auth) = fake_api_server();
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    std::fs::write(
        &kc,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: other\nclusters:\n- name: fake\n  cluster:\n    server: http://{api}\ncontexts:\n- name: other\n  context: {{cluster: fake, user: nobody}}\n- name: ci\n  context: {{cluster: fake, user: ci}}\nusers:\n- name: nobody\n  user: {{token: wrong}}\n- name: ci\n  user: {{token: ci-token}}\n"
        ),
    )
    .unwrap();
    let mut child = rampart()
        .args([
            "admission",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--insecure-http",
            "--kube-context",
            "ci",
        ])
        .arg("--kubeconfig")
        .arg(&kc)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let Some(addr) = line
        .split("http://")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .map(str::to_string)
    else {
        let _ = child.kill();
        panic!("no address in {line:?}");
    };
    let mut ready = false;
    for _ in 0..100 {
        if http(
            &addr,
            "GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .starts_with("HTTP/1.1 200")
        {
            ready = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let body = review_body(json!({"containers": [{"name": "a", "image": "x:1"}]})).to_string();
    let resp = http(
        &addr,
        &format!("POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()),
    );
    let _ = child.kill();
    let _ = child.wait();
    assert!(ready, "never ready");
    let v: Value = serde_json::from_str(resp[resp.find("\r\n\r\n").unwrap() + 4..].trim()).unwrap();
    assert_eq!(v["response"]["allowed"], false, "{v}");
    assert!(
        v["response"]["status"]["message"]
            .to_string()
            .contains("restricted"),
        "{v}"
    );
    let seen = auth.lock().unwrap().clone();
    assert!(
        !seen.is_empty() && seen.iter().all(|a| a == "Bearer ci-token"),
        "{seen:?}"
    );
}

/// A kubeconfig that cannot be read stops `serve` with exit 2 and the file's name.
#[test]
fn serve_with_a_missing_kubeconfig_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-kubeconfig");
    let out = rampart()
        .args([
            "admission",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--insecure-http",
            "-q",
        ])
        .arg("--kubeconfig")
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no-such-kubeconfig"), "{err}");
}
