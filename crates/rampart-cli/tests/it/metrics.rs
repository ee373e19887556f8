//! `/metrics` of `rampart admission serve` and `rampart monitor --listen`, through the real
//! binary, parsed by the reference parser (Python's `prometheus_client` 0.26.0: its
//! OpenMetrics parser, and its Prometheus text parser for `Accept: text/plain`).
//!
//! Each server gets 10,000 requests with a distinct hostile value in every field that
//! could become a label (path, method, headers, and every field of the AdmissionReview
//! or audit event, including a policy rule id taken from the object), and its exposition
//! must stay bounded: no value from a request appears, and the series count barely moves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn rampart() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rampart"))
}

const PARSER_IMPORT: &str = "import prometheus_client.openmetrics.parser, prometheus_client.parser";

/// A Python that imports `prometheus_client` (`RAMPART_PROMETHEUS_PY`, the CI venv, or
/// `python3`). Missing: a panic under `RAMPART_REQUIRE_TOOLS=1`, else a skip notice.
fn parser_python() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = ["RAMPART_PROMETHEUS_PY", "RAMPART_CYCLONEDX_PY"]
        .iter()
        .filter_map(std::env::var_os)
        .map(PathBuf::from)
        .collect();
    candidates
        .push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/ci-tools/venv/bin/python"));
    candidates.push("python3".into());
    for c in candidates {
        let ok = Command::new(&c)
            .args(["-c", PARSER_IMPORT])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Some(c);
        }
    }
    let how = "pip install prometheus-client==0.26.0 (set RAMPART_PROMETHEUS_PY to that python)";
    if rampart_testkit::tools_required() {
        panic!(
            "required tool `prometheus_client` (Python) not found: {how} (RAMPART_REQUIRE_TOOLS=1)"
        );
    }
    eprintln!("notice: skipping: Python `prometheus_client` not found: {how}");
    None
}

const PARSE: &str = r#"
import json, sys
fmt = sys.argv[1]
text = sys.stdin.read()
if fmt == "openmetrics":
    from prometheus_client.openmetrics.parser import text_string_to_metric_families
else:
    from prometheus_client.parser import text_string_to_metric_families
out = []
for f in text_string_to_metric_families(text):
    out.append({"name": f.name, "type": f.type,
                "samples": [[s.name, s.labels, s.value] for s in f.samples]})
json.dump(out, sys.stdout)
"#;

/// One parsed sample: name, labels, value.
type Sample = (String, Vec<(String, String)>, f64);

/// One parsed family.
#[derive(Debug)]
struct Family {
    name: String,
    kind: String,
    samples: Vec<Sample>,
}

/// Parse an exposition with the reference parser; a parse error fails the test.
fn parse(py: &Path, format: &str, text: &str) -> Vec<Family> {
    let mut child = Command::new(py)
        .args(["-c", PARSE, format])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the {format} parser refused the exposition: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|f| Family {
            name: f["name"].as_str().unwrap().to_string(),
            kind: f["type"].as_str().unwrap().to_string(),
            samples: f["samples"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| {
                    let labels = s[1]
                        .as_object()
                        .unwrap()
                        .iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                        .collect();
                    (
                        s[0].as_str().unwrap().to_string(),
                        labels,
                        s[2].as_f64().unwrap(),
                    )
                })
                .collect(),
        })
        .collect()
}

/// Every sample's name and labels.
fn series(fams: &[Family]) -> BTreeSet<String> {
    fams.iter()
        .flat_map(|f| f.samples.iter())
        .map(|(n, l, _)| format!("{n}{l:?}"))
        .collect()
}

fn value(fams: &[Family], sample: &str, labels: &[(&str, &str)]) -> Option<f64> {
    fams.iter()
        .flat_map(|f| f.samples.iter())
        .find(|(n, l, _)| {
            n == sample
                && labels.len() == l.len()
                && labels
                    .iter()
                    .all(|(k, v)| l.iter().any(|(k2, v2)| k2 == k && v2 == v))
        })
        .map(|(_, _, v)| *v)
}

fn family<'a>(fams: &'a [Family], name: &str) -> &'a Family {
    fams.iter().find(|f| f.name == name).unwrap_or_else(|| {
        panic!(
            "no family {name} in {:?}",
            fams.iter().map(|f| &f.name).collect::<Vec<_>>()
        )
    })
}

/// A server child process, killed when dropped.
struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(args: &[&str], marker: &str) -> Server {
    let mut child = rampart()
        .args(args)
        .stdout(Stdio::null())
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
        if let Some(rest) = line.split(marker).nth(1) {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    // Keep draining stderr (audit lines) so the server never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
    Server { child, addr }
}

/// One request on a kept-alive connection (reconnecting when the server closed it);
/// returns the status and body.
fn exchange(conn: &mut Option<TcpStream>, addr: &str, raw: &[u8]) -> (u16, String) {
    for _ in 0..2 {
        let s = match conn {
            Some(s) => s,
            None => {
                let s = TcpStream::connect(addr).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
                conn.insert(s)
            }
        };
        if s.write_all(raw).is_ok() {
            if let Some(r) = read_response(s) {
                return r;
            }
        }
        *conn = None;
    }
    panic!("no answer from {addr}");
}

fn read_response(s: &mut TcpStream) -> Option<(u16, String)> {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if s.read(&mut b).ok()? == 0 {
            return None;
        }
        head.push(b[0]);
    }
    let head = String::from_utf8_lossy(&head).to_string();
    let status = head.get(9..12)?.parse().ok()?;
    let len = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).ok()?;
    Some((status, String::from_utf8_lossy(&body).into_owned()))
}

/// A request declaring a body far over the limit (refused with 413 before any is read).
fn too_large(addr: &str, path: &str) {
    let raw = format!("POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 900000000\r\n\r\n");
    let (code, _) = exchange(&mut None, addr, raw.as_bytes());
    assert_eq!(code, 413);
}

fn scrape(addr: &str, accept: &str) -> (String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: {accept}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let (head, body) = resp.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let ct = head
        .lines()
        .find_map(|l| l.strip_prefix("content-type: "))
        .unwrap_or("")
        .to_string();
    (ct, body.to_string())
}

/// A value nobody would choose, distinct per request: quotes, backslashes, a newline,
/// label syntax, non-ASCII, and up to 300 more bytes.
fn hostile(i: usize) -> String {
    format!(
        "HOSTILE{i}\"\\\n}}{{le=\"+Inf\",rule=\"x\"}} é\u{202e}{}",
        "x".repeat(i % 300)
    )
}

/// Header-safe hostile value (visible ASCII).
fn hostile_header(i: usize) -> String {
    format!("HOSTILE{i}\"}}{{le=\"+Inf\"}},rule=\\\"x")
}

/// Send `n` requests from 4 threads, request `i` built by `build`.
fn flood(addr: &str, n: usize, build: fn(usize) -> Vec<u8>) -> Vec<u16> {
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let addr = addr.to_string();
            std::thread::spawn(move || {
                let mut conn = None;
                (0..n)
                    .filter(|i| i % 4 == t)
                    .map(|i| exchange(&mut conn, &addr, &build(i)).0)
                    .collect::<Vec<u16>>()
            })
        })
        .collect();
    threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect()
}

fn http(method: &str, path: &str, i: usize, body: &str) -> Vec<u8> {
    let h = hostile_header(i);
    format!(
        "{method} {path} HTTP/1.1\r\nHost: h{i}.example\r\nUser-Agent: {h}\r\nContent-Type: application/json; x={i}\r\nX-Forwarded-For: {h}\r\nX-Rule: {h}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn admission_request(i: usize) -> Vec<u8> {
    let v = hostile(i);
    let review = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": v, "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "resource": {"group": "", "version": "v1", "resource": "pods"},
        "namespace": v, "name": v, "operation": "CREATE",
        "userInfo": {"username": v, "groups": [v]},
        "object": {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": v, "namespace": v, "labels": {"rule": format!("HOSTILE{i}")},
                "annotations": {"a": v}},
            "spec": {"containers": [{"name": v, "image": format!("registry.example/HOSTILE{i}:{i}")}]}}}})
    .to_string();
    // Every path and method variant: the two endpoints, unknown paths (hostile, with
    // percent-encoded quotes), a query string, and a method no route knows.
    let path = match i % 5 {
        0 | 1 => "/validate".to_string(),
        2 => format!("/mutate?HOSTILE{i}=%22%7D"),
        3 => format!("/HOSTILE{i}%22%5C%7Brule=%22x%22%7D"),
        _ => format!("/validate/HOSTILE{i}"),
    };
    let method = if i % 7 == 6 {
        format!("HOSTILE{i}")
    } else {
        "POST".to_string()
    };
    http(&method, &path, i, &review)
}

/// A policy whose rule ids come from the object (the worst case for the rule label).
const POLICY: &str = r#"package main
deny contains {"msg": "x", "id": input.metadata.labels.rule} if input.metadata.labels.rule
"#;

#[test]
fn admission_metrics_parse_and_stay_bounded_under_hostile_requests() {
    let Some(py) = parser_python() else { return };
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("team")).unwrap();
    std::fs::write(dir.path().join("team/policy.rego"), POLICY).unwrap();
    let cfg = dir.path().join("rampart.yaml");
    std::fs::write(&cfg, "admission:\n  enforce: team\n").unwrap();
    let team = format!("team={}", dir.path().join("team").display());
    let server = spawn(
        &[
            "admission",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--insecure-http",
            "--namespaces",
            "none",
            "--config",
            cfg.to_str().unwrap(),
            "--policy",
            &team,
        ],
        "listening on http://",
    );
    // Every kind of request once, so every bounded label set exists before the flood.
    let warm = flood(&server.addr, 35, admission_request);
    too_large(&server.addr, "/validate");
    // The first scrape creates the `/metrics` route's series; the second is the baseline.
    scrape(&server.addr, "application/openmetrics-text");
    let (_, before_text) = scrape(&server.addr, "application/openmetrics-text");
    let before = parse(&py, "openmetrics", &before_text);

    let codes = flood(&server.addr, 10_000, admission_request);
    let known: BTreeSet<u16> = warm.iter().copied().collect();
    assert!(codes.iter().all(|c| known.contains(c)), "{known:?}");
    assert!(codes.contains(&200) && codes.contains(&404), "{known:?}");

    let (ct, text) = scrape(&server.addr, "*/*");
    assert!(
        ct.starts_with("application/openmetrics-text; version=1.0.0"),
        "{ct}"
    );
    let after = parse(&py, "openmetrics", &text);
    assert!(
        !text.contains("HOSTILE"),
        "a request value became a label:\n{text}"
    );
    let (b, a) = (series(&before), series(&after));
    eprintln!(
        "admission /metrics: {} series after 35 requests, {} after 10,035 ({} bytes)",
        b.len(),
        a.len(),
        text.len()
    );
    let new: Vec<_> = a.difference(&b).collect();
    assert!(new.is_empty(), "series added by the flood: {new:?}");

    // The names dashboards use are still there (counters sample as `_total`).
    for (fam, kind) in [
        ("rampart_admission_requests", "counter"),
        ("rampart_admission_responses", "counter"),
        ("rampart_admission_violations", "counter"),
        ("rampart_admission_request_duration_seconds", "histogram"),
        ("rampart_admission_panics", "counter"),
        ("rampart_admission_deadline_exceeded", "counter"),
        ("rampart_admission_patches", "counter"),
        ("rampart_admission_policy_reports_written", "counter"),
        ("rampart_admission_policy_reports_failed", "counter"),
        ("rampart_admission_policy_reports_dropped", "counter"),
        ("rampart_admission_cert_reloads", "counter"),
        ("rampart_admission_cert_reload_failures", "counter"),
        ("rampart_admission_accept_errors", "counter"),
        ("rampart_admission_connection_cap_waits", "counter"),
        ("rampart_admission_tls_handshake_failures", "counter"),
        ("rampart_admission_connections", "counter"),
        ("rampart_admission_connections_open", "gauge"),
        (
            "rampart_admission_http_request_duration_seconds",
            "histogram",
        ),
        ("rampart_admission_body_too_large", "counter"),
    ] {
        assert_eq!(family(&after, fam).kind, kind, "{fam}");
    }
    // Every request was counted, under bounded labels only.
    let validated = codes.iter().chain(&warm).filter(|c| **c == 200).count();
    let ok = value(
        &after,
        "rampart_admission_requests_total",
        &[("endpoint", "validate"), ("code", "200")],
    )
    .unwrap()
        + value(
            &after,
            "rampart_admission_requests_total",
            &[("endpoint", "mutate"), ("code", "200")],
        )
        .unwrap();
    assert_eq!(ok as usize, validated, "{text}");
    assert_eq!(
        value(
            &after,
            "rampart_admission_body_too_large_total",
            &[("route", "/validate")]
        ),
        Some(1.0),
        "{text}"
    );
    let other = value(
        &after,
        "rampart_admission_violations_total",
        &[("mode", "enforce"), ("rule", "policy/other")],
    );
    assert!(other.is_some_and(|v| v >= 2000.0), "{text}");
    let routes: BTreeSet<&str> = family(&after, "rampart_admission_http_request_duration_seconds")
        .samples
        .iter()
        .flat_map(|(_, l, _)| l.iter())
        .filter(|(k, _)| k == "route")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(
        routes.into_iter().collect::<Vec<_>>(),
        ["/metrics", "/mutate", "/validate", "other"]
    );

    // The Prometheus text format, when the scrape asks for it, parses too.
    let (ct, text) = scrape(&server.addr, "text/plain;version=0.0.4");
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    let prom = parse(&py, "prometheus", &text);
    assert!(
        value(&prom, "rampart_admission_patches_total", &[]).is_some(),
        "{text}"
    );
}

fn audit_event(i: usize) -> Value {
    let v = hostile(i);
    json!({"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "RequestResponse",
        "auditID": v, "stage": "ResponseStarted",
        "requestURI": format!("/api/v1/namespaces/HOSTILE{i}/pods/p/exec?command=sh"),
        "verb": if i.is_multiple_of(2) { "create".to_string() } else { v.clone() },
        "user": {"username": v, "groups": [v], "extra": {v.clone(): [v.clone()]}},
        "sourceIPs": [v], "userAgent": v,
        "objectRef": {"resource": "pods", "subresource": "exec", "namespace": v, "name": v,
            "apiVersion": "v1"},
        "responseStatus": {"code": 101},
        "requestReceivedTimestamp": "2026-01-01T00:00:00.000000Z",
        "stageTimestamp": "2026-01-01T00:00:00.000001Z"})
}

/// 100 events per batch, each field distinct; the path is the audit webhook's or a
/// hostile one (every other path is the webhook too).
fn monitor_request(i: usize) -> Vec<u8> {
    let items: Vec<Value> = (0..100).map(|j| audit_event(i * 100 + j)).collect();
    let body =
        json!({"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": items}).to_string();
    let path = if i.is_multiple_of(2) {
        "/k8s-audit".to_string()
    } else {
        format!("/HOSTILE{i}%22%7D?rule=%22{i}")
    };
    http("POST", &path, i, &body)
}

#[test]
fn monitor_metrics_parse_and_stay_bounded_under_hostile_events() {
    let Some(py) = parser_python() else { return };
    let server = spawn(
        &[
            "monitor",
            "--listen",
            "127.0.0.1:0",
            "--insecure-http",
            "-f",
            "falco-json",
        ],
        "listening on http://",
    );
    let warm = flood(&server.addr, 4, monitor_request);
    assert!(warm.iter().all(|c| *c == 200), "{warm:?}");
    too_large(&server.addr, "/k8s-audit");
    // The first scrape creates the `/metrics` route's series; the second is the baseline.
    scrape(&server.addr, "application/openmetrics-text");
    let (_, before_text) = scrape(&server.addr, "application/openmetrics-text");
    let before = parse(&py, "openmetrics", &before_text);

    // 100 batches of 100 events: 10,000 distinct values in every field.
    let codes = flood(&server.addr, 100, monitor_request);
    assert!(codes.iter().all(|c| *c == 200), "{codes:?}");
    let (ct, text) = scrape(&server.addr, "");
    assert!(
        ct.starts_with("application/openmetrics-text; version=1.0.0"),
        "{ct}"
    );
    let after = parse(&py, "openmetrics", &text);
    assert!(
        !text.contains("HOSTILE"),
        "an event value became a label:\n{text}"
    );
    let (b, a) = (series(&before), series(&after));
    eprintln!(
        "monitor /metrics: {} series after 400 events, {} after 10,400 ({} bytes)",
        b.len(),
        a.len(),
        text.len()
    );
    let new: Vec<_> = a.difference(&b).collect();
    assert!(new.is_empty(), "series added by the flood: {new:?}");
    assert_eq!(
        value(&after, "rampart_runtime_events_total", &[]),
        Some(10_400.0),
        "{text}"
    );
    assert_eq!(
        value(&after, "rampart_runtime_batches_total", &[]),
        Some(104.0),
        "{text}"
    );
    let exec = value(
        &after,
        "rampart_runtime_alerts_total",
        &[("rule", "Attach/Exec Pod")],
    );
    assert!(exec.is_some_and(|v| v >= 5000.0), "{text}");
    assert_eq!(
        value(
            &after,
            "rampart_runtime_body_too_large_total",
            &[("route", "ingest")]
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(&after, "rampart_runtime_batches_too_large_total", &[]),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(
            &after,
            "rampart_runtime_http_request_duration_seconds_count",
            &[("route", "ingest")]
        ),
        Some(105.0),
        "{text}"
    );
    for (fam, kind) in [
        ("rampart_runtime_events", "counter"),
        ("rampart_runtime_parse_errors", "counter"),
        ("rampart_runtime_batches", "counter"),
        ("rampart_runtime_batches_too_large", "counter"),
        ("rampart_runtime_batches_invalid", "counter"),
        ("rampart_runtime_alerts_dropped", "counter"),
        ("rampart_runtime_alerts_delivered", "counter"),
        ("rampart_runtime_sink_errors", "counter"),
        ("rampart_runtime_alerts", "counter"),
        ("rampart_runtime_cert_reloads", "counter"),
        ("rampart_runtime_cert_reload_failures", "counter"),
        ("rampart_runtime_tls_handshake_failures", "counter"),
        ("rampart_runtime_connections", "counter"),
        ("rampart_runtime_connections_open", "gauge"),
        ("rampart_runtime_http_request_duration_seconds", "histogram"),
        ("rampart_runtime_body_too_large", "counter"),
    ] {
        assert_eq!(family(&after, fam).kind, kind, "{fam}");
    }
    let (ct, text) = scrape(&server.addr, "text/plain");
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    let prom = parse(&py, "prometheus", &text);
    assert_eq!(
        value(&prom, "rampart_runtime_events_total", &[]),
        Some(10_400.0)
    );
}
