//! Issue 13 through the real binary: `rampart admission serve --client-ca` and
//! `rampart monitor --listen --client-ca` refuse clients without a certificate from the
//! CA. Certificates come from openssl and requests from curl (both skipped with a notice
//! when missing, unless `RAMPART_REQUIRE_TOOLS=1`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Stdio};

fn tools() -> bool {
    let ok = ["openssl", "curl"].iter().all(|t| {
        Command::new(t)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
            || Command::new(t)
                .arg("version")
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
    });
    if !ok {
        assert!(
            !rampart_testkit::tools_required(),
            "openssl and curl are required"
        );
        eprintln!("skipping: openssl or curl missing");
    }
    ok
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A client CA `name-ca.crt` and a client certificate `name.crt`/`name.key` it signed.
fn client_pki(dir: &Path, name: &str) {
    let p = |f: &str| dir.join(f).display().to_string();
    run(Command::new("openssl").args([
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-days",
        "2",
        "-subj",
        &format!("/CN={name} CA"),
        "-keyout",
        &p(&format!("{name}-ca.key")),
        "-out",
        &p(&format!("{name}-ca.crt")),
    ]));
    run(Command::new("openssl").args([
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-subj",
        &format!("/CN={name}"),
        "-keyout",
        &p(&format!("{name}.key")),
        "-out",
        &p(&format!("{name}.csr")),
    ]));
    std::fs::write(dir.join("ext.cnf"), "extendedKeyUsage=clientAuth\n").unwrap();
    run(Command::new("openssl").args([
        "x509",
        "-req",
        "-days",
        "2",
        "-in",
        &p(&format!("{name}.csr")),
        "-CA",
        &p(&format!("{name}-ca.crt")),
        "-CAkey",
        &p(&format!("{name}-ca.key")),
        "-CAcreateserial",
        "-extfile",
        &p("ext.cnf"),
        "-out",
        &p(&format!("{name}.crt")),
    ]));
}

/// `curl https://localhost:PORT/healthz`, optionally with a client certificate: the body,
/// or `None` when the request failed.
fn curl(dir: &Path, port: &str, client: Option<&str>) -> Option<String> {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--max-time", "10", "--cacert"])
        .arg(dir.join("ca.crt"))
        .arg("--resolve")
        .arg(format!("localhost:{port}:127.0.0.1"));
    if let Some(name) = client {
        cmd.arg("--cert")
            .arg(dir.join(format!("{name}.crt")))
            .arg("--key")
            .arg(dir.join(format!("{name}.key")));
    }
    let out = cmd
        .arg(format!("https://localhost:{port}/healthz"))
        .output()
        .unwrap();
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn check_server(dir: &Path, args: &[&str]) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(args)
        .arg("--tls-cert")
        .arg(dir.join("tls.crt"))
        .arg("--tls-key")
        .arg(dir.join("tls.key"))
        .arg("--client-ca")
        .arg(dir.join("apiserver-ca.crt"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("listening on") {
        line.clear();
        if stderr.read_line(&mut line).unwrap() == 0 {
            break;
        }
    }
    let port = line
        .split("https://127.0.0.1:")
        .nth(1)
        .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    let anonymous = curl(dir, &port, None);
    let wrong = curl(dir, &port, Some("intruder"));
    let right = curl(dir, &port, Some("apiserver"));
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        anonymous, None,
        "{args:?}: served without a client certificate"
    );
    assert_eq!(
        wrong, None,
        "{args:?}: served a certificate from another CA"
    );
    assert_eq!(right.as_deref(), Some("ok"), "{args:?}");
}

#[test]
fn client_ca_is_enforced_by_the_webhook_and_the_monitor() {
    if !tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    run(Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["admission", "certs", "--dns", "localhost", "--out"])
        .arg(dir.path()));
    client_pki(dir.path(), "apiserver");
    client_pki(dir.path(), "intruder");
    check_server(
        dir.path(),
        &[
            "admission",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--namespaces",
            "none",
        ],
    );
    check_server(dir.path(), &["monitor", "--listen", "127.0.0.1:0"]);
}
