//! `rampart monitor` end to end: the real binary on audit logs written to a temp dir.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const PRIVILEGED_POD: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"1","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/pods","verb":"create","user":{"username":"alice"},"objectRef":{"resource":"pods","namespace":"default","name":"web","apiVersion":"v1"},"responseStatus":{"code":201},"requestObject":{"kind":"Pod","spec":{"containers":[{"name":"app","image":"alpine:3.19","securityContext":{"privileged":true}}]}},"responseObject":{"kind":"Pod","metadata":{"name":"web","namespace":"default"}},"stageTimestamp":"2024-05-01T10:00:00.100000Z"}"#;
const EXEC: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"2","stage":"ResponseStarted","requestURI":"/api/v1/namespaces/default/pods/web/exec?command=sh&container=app","verb":"create","user":{"username":"alice"},"objectRef":{"resource":"pods","namespace":"default","name":"web","subresource":"exec"},"responseStatus":{"code":101},"stageTimestamp":"2024-05-01T10:00:01.000000Z"}"#;

fn rampart() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rampart"));
    c.env("NO_COLOR", "1").env("HOSTNAME", "test-host");
    c
}

fn run(args: &[&str]) -> Output {
    rampart().args(args).output().unwrap()
}

fn audit_log(dir: &Path) -> String {
    let p = dir.join("audit.log");
    std::fs::write(&p, format!("{PRIVILEGED_POD}\n{EXEC}\nnot json\n")).unwrap();
    p.display().to_string()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn text_alerts_like_falco() {
    let dir = tempfile::tempdir().unwrap();
    let log = audit_log(dir.path());
    let o = run(&["monitor", "--from-file", &log]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains(
            "10:00:00.100000000: Warning Pod started with privileged container (user=alice pod=web"
        ),
        "{out}"
    );
    assert!(
        out.contains("Notice Attach/Exec to pod (user=alice pod=web"),
        "{out}"
    );
    assert!(out.contains("command=sh"), "{out}");
    let err = stderr(&o);
    assert!(err.contains("2 event(s)"), "{err}");
    assert!(err.contains("1 input error(s)"), "{err}");
}

#[test]
fn falco_json_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let log = audit_log(dir.path());
    let o = run(&[
        "monitor",
        "--from-file",
        &log,
        "--format",
        "falco-json",
        "--min-priority",
        "warning",
        "-q",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let lines: Vec<Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!lines.is_empty());
    for a in &lines {
        for k in [
            "time",
            "rule",
            "priority",
            "output",
            "output_fields",
            "source",
            "tags",
            "hostname",
        ] {
            assert!(a.get(k).is_some(), "missing {k} in {a}");
        }
        assert_eq!(a["source"], "k8s_audit");
        assert_eq!(a["hostname"], "test-host");
        assert_ne!(
            a["priority"], "Notice",
            "--min-priority warning let a notice through"
        );
    }
    let pod = lines
        .iter()
        .find(|a| a["rule"] == "Create Privileged Pod")
        .unwrap();
    assert_eq!(pod["time"], "2024-05-01T10:00:00.100000000Z");
    assert_eq!(pod["output_fields"]["ka.user.name"], "alice");
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
}

#[test]
fn sarif_and_json_reports_through_rampart_report() {
    let dir = tempfile::tempdir().unwrap();
    let log = audit_log(dir.path());
    let o = run(&["monitor", "--from-file", &log, "--format", "sarif", "-q"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let sarif: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let ids: Vec<&str> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["ruleId"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"runtime/create-privileged-pod"), "{ids:?}");
    assert!(ids.contains(&"runtime/attach-exec-pod"), "{ids:?}");

    let out = dir.path().join("report.json");
    let o = run(&[
        "monitor",
        "--from-file",
        &log,
        "--format",
        "json",
        "-o",
        out.to_str().unwrap(),
        "--fail-on",
        "medium",
        "-q",
    ]);
    assert_eq!(o.status.code(), Some(1), "gate should fail: {}", stderr(&o));
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(report["schema"], "rampart.report/v1");
    let f = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == "runtime/create-privileged-pod")
        .unwrap();
    assert_eq!(f["severity"], "medium");
    assert_eq!(f["location"]["type"], "k8s_object");
    assert_eq!(f["location"]["object"]["kind"], "Pod");
    assert_eq!(f["location"]["object"]["name"], "web");
    assert_eq!(report["errors"].as_array().unwrap().len(), 1);
}

#[test]
fn stdin_json_lines() {
    let mut child = rampart()
        .args(["monitor", "--from-file", "-", "-f", "falco-json", "-q"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{EXEC}\n").as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("\"rule\":\"Attach/Exec Pod\""),
        "{}",
        stdout(&o)
    );
}

#[test]
fn custom_rules_override_and_errors_with_positions() {
    let dir = tempfile::tempdir().unwrap();
    let log = audit_log(dir.path());
    let tune = dir.path().join("tune.yaml");
    std::fs::write(
        &tune,
        "- list: k8s_audit_privileged_images\n  items: [alpine]\n  override:\n    items: append\n",
    )
    .unwrap();
    let o = run(&[
        "monitor",
        "--from-file",
        &log,
        "--builtin",
        "-r",
        tune.to_str().unwrap(),
        "-f",
        "falco-json",
        "-q",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        !stdout(&o).contains("Create Privileged Pod"),
        "{}",
        stdout(&o)
    );

    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "- rule: Broken\n  desc: x\n  condition: ka.verb = create and (ka.user.name = bob\n  output: x\n  priority: WARNING\n  source: k8s_audit\n",
    )
    .unwrap();
    let o = run(&["monitor", "check", "-r", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("bad.yaml:3:54: rule 'Broken': invalid condition: expected ')'"),
        "{err}"
    );

    let unknown = dir.path().join("unknown.yaml");
    std::fs::write(
        &unknown,
        "- rule: Typo\n  desc: x\n  condition: ka.usr.name = bob\n  output: x\n  priority: WARNING\n  source: k8s_audit\n",
    )
    .unwrap();
    let o = run(&["monitor", "check", "-r", unknown.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("unknown field 'ka.usr.name'"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn audit_policy_and_check() {
    let o = run(&["monitor", "audit-policy"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("kind: Policy") && out.contains("level: RequestResponse"),
        "{out}"
    );
    let o = run(&["monitor", "check"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("ok: 48 k8s_audit rule(s) compiled"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn usage_errors() {
    let o = run(&["monitor"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--from-file"), "{}", stderr(&o));
    let o = run(&[
        "monitor",
        "--from-file",
        "x.log",
        "--follow",
        "--format",
        "sarif",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let o = run(&["monitor", "--from-file", "x.log", "--min-priority", "loud"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn webhook_listener_until_sigterm() {
    use std::io::{BufRead, BufReader, Read};
    let mut child = rampart()
        .args([
            "monitor",
            "--listen",
            "127.0.0.1:0",
            "--insecure-http",
            "-f",
            "falco-json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let addr = loop {
        line.clear();
        assert!(
            err.read_line(&mut line).unwrap() > 0,
            "server exited before listening"
        );
        if let Some(rest) = line
            .trim()
            .strip_prefix("rampart monitor: listening on http://")
        {
            break rest.to_string();
        }
    };
    let body = format!(r#"{{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[{EXEC}]}}"#);
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    write!(
        s,
        "POST /k8s-audit HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    assert!(out.contains("\"rule\":\"Attach/Exec Pod\""), "{out}");
    let mut rest = String::new();
    err.read_to_string(&mut rest).unwrap();
    assert!(rest.contains("1 event(s)"), "{rest}");
}
