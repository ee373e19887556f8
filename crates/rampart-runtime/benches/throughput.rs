//! Throughput of the runtime monitor on one core with the built-in (upstream Falco) k8s
//! audit rules, over a generated, realistic mix of audit events written to a file: mostly
//! benign reads and watches by system components, some writes with request bodies, and a
//! few events that fire rules.
//!
//! `cargo bench -p rampart-runtime --bench throughput` (events: `RAMPART_BENCH_EVENTS`,
//! default 1,000,000). Prints events/s and peak RSS; not a timed test.

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::time::Instant;

use rampart_runtime::{Engine, EngineOptions, Monitor, MonitorOptions, Ruleset};

const USERS: &[&str] = &[
    "system:kube-controller-manager",
    "system:kube-scheduler",
    "system:node:worker-1",
    "system:serviceaccount:kube-system:coredns",
    "system:apiserver",
    "kubelet",
];
const RESOURCES: &[(&str, &str)] = &[
    ("pods", ""),
    ("configmaps", ""),
    ("endpoints", ""),
    ("leases", "coordination.k8s.io"),
    ("nodes", ""),
    ("deployments", "apps"),
    ("services", ""),
    ("events", ""),
];

/// Deterministic pseudo-random numbers (xorshift).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[(self.next() % v.len() as u64) as usize]
    }
}

fn event(i: u64, rng: &mut Rng) -> String {
    let ts = format!(
        "2024-05-01T10:{:02}:{:02}.{:06}Z",
        (i / 60_000) % 60,
        (i / 1000) % 60,
        i % 1_000_000
    );
    let roll = rng.next() % 1000;
    let common = format!(
        r#""kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"8d2c4b1e-{i:012x}","sourceIPs":["10.0.{}.{}"],"requestReceivedTimestamp":"{ts}","stageTimestamp":"{ts}","annotations":{{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC: allowed by ClusterRoleBinding \"system:controller\""}}"#,
        rng.next() % 255,
        rng.next() % 255
    );
    if roll < 880 {
        // Benign reads and watches (Metadata level).
        let user = rng.pick(USERS);
        let (res, group) = rng.pick(RESOURCES);
        let verb = rng.pick(&["get", "list", "watch", "get", "update"]);
        let base = if group.is_empty() {
            "/api/v1".to_string()
        } else {
            format!("/apis/{group}/v1")
        };
        format!(
            r#"{{{common},"level":"Metadata","stage":"ResponseComplete","requestURI":"{base}/namespaces/kube-system/{res}/obj-{n}","verb":"{verb}","user":{{"username":"{user}","groups":["system:authenticated"]}},"userAgent":"kube-controller-manager/v1.30.0","objectRef":{{"resource":"{res}","namespace":"kube-system","name":"obj-{n}","apiGroup":"{group}","apiVersion":"v1"}},"responseStatus":{{"metadata":{{}},"code":200}}}}"#,
            n = rng.next() % 500
        )
    } else if roll < 960 {
        // Writes with request bodies by controllers (a pod created by a ReplicaSet).
        format!(
            r#"{{{common},"level":"RequestResponse","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/pods","verb":"create","user":{{"username":"system:serviceaccount:kube-system:replicaset-controller","groups":["system:serviceaccounts"]}},"objectRef":{{"resource":"pods","namespace":"default","apiVersion":"v1"}},"responseStatus":{{"metadata":{{}},"code":201}},"requestObject":{{"kind":"Pod","apiVersion":"v1","metadata":{{"generateName":"web-5cdcc99dbf-","labels":{{"app":"web"}}}},"spec":{{"containers":[{{"name":"web","image":"nginx:1.25.{n}","resources":{{"limits":{{"cpu":"500m"}}}},"securityContext":{{"runAsNonRoot":true}}}}],"restartPolicy":"Always","serviceAccountName":"default"}}}},"responseObject":{{"kind":"Pod","apiVersion":"v1","metadata":{{"name":"web-5cdcc99dbf-{n}","namespace":"default"}}}}}}"#,
            n = rng.next() % 10
        )
    } else if roll < 990 {
        // A human reading secrets and exec-ing into pods (fires Disallowed K8s User,
        // K8s Secret Get, Attach/Exec).
        if roll & 1 == 0 {
            format!(
                r#"{{{common},"level":"Metadata","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/secrets/db","verb":"get","user":{{"username":"mallory@example.com","groups":["dev"]}},"objectRef":{{"resource":"secrets","namespace":"default","name":"db","apiVersion":"v1"}},"responseStatus":{{"metadata":{{}},"code":200}}}}"#
            )
        } else {
            format!(
                r#"{{{common},"level":"Metadata","stage":"ResponseStarted","requestURI":"/api/v1/namespaces/default/pods/web-1/exec?command=sh&container=web&stdin=true","verb":"create","user":{{"username":"mallory@example.com","groups":["dev"]}},"objectRef":{{"resource":"pods","namespace":"default","name":"web-1","subresource":"exec","apiVersion":"v1"}},"responseStatus":{{"metadata":{{}},"code":101}}}}"#
            )
        }
    } else {
        // A privileged pod with a host mount (fires several pod rules).
        format!(
            r#"{{{common},"level":"RequestResponse","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/pods","verb":"create","user":{{"username":"mallory@example.com","groups":["dev"]}},"objectRef":{{"resource":"pods","namespace":"default","apiVersion":"v1"}},"responseStatus":{{"metadata":{{}},"code":201}},"requestObject":{{"kind":"Pod","spec":{{"hostPID":true,"containers":[{{"name":"x","image":"alpine:3.19","securityContext":{{"privileged":true}}}}],"volumes":[{{"name":"root","hostPath":{{"path":"/"}}}}]}}}},"responseObject":{{"kind":"Pod","metadata":{{"name":"x","namespace":"default"}}}}}}"#
        )
    }
}

/// CPU seconds (user + system) used by this process so far.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    // Fields 14 and 15 of stat (utime, stime), in clock ticks of 1/100 s.
    (f.get(11).copied().unwrap_or(0.0) + f.get(12).copied().unwrap_or(0.0)) / 100.0
}

fn rss_kb(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with(key)).map(|l| {
                l.split_whitespace()
                    .nth(1)
                    .unwrap_or("0")
                    .parse()
                    .unwrap_or(0)
            })
        })
        .unwrap_or(0)
}

/// Events generated on the fly (no file), for long runs that check memory stays flat.
fn generated_stream(n: u64) {
    let mut rs = Ruleset::new();
    rs.load_builtin().unwrap();
    let engine = Engine::compile(&rs, EngineOptions::default()).unwrap();
    let mut mon = Monitor::new(engine, MonitorOptions::default());
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut alerts = Vec::new();
    let mut total = 0usize;
    let start = Instant::now();
    let step = (n / 10).max(1);
    println!("streaming {n} generated events (generation included in the time)");
    for i in 0..n {
        let line = event(i, &mut rng);
        mon.process_line(&line, &mut alerts);
        total += alerts.len();
        alerts.clear();
        if (i + 1) % step == 0 {
            println!(
                "  {:>10} events  {:>8.0} events/s  RSS {} MB",
                i + 1,
                (i + 1) as f64 / start.elapsed().as_secs_f64(),
                rss_kb("VmRSS:") / 1024
            );
        }
    }
    println!("  alerts: {total}; peak RSS {} MB", rss_kb("VmHWM:") / 1024);
}

fn main() {
    let n: u64 = std::env::var("RAMPART_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    if std::env::var_os("RAMPART_BENCH_NO_FILE").is_some() {
        return generated_stream(n);
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut bytes = 0u64;
    {
        let mut w = BufWriter::new(File::create(&path).unwrap());
        for i in 0..n {
            let e = event(i, &mut rng);
            bytes += e.len() as u64 + 1;
            writeln!(w, "{e}").unwrap();
        }
    }
    let mut rs = Ruleset::new();
    rs.load_builtin().unwrap();
    let engine = Engine::compile(&rs, EngineOptions::default()).unwrap();
    let active = engine.enabled_rules().count();
    let mut mon = Monitor::new(engine, MonitorOptions::default());
    if std::env::var_os("RAMPART_BENCH_PARSE_ONLY").is_some() {
        let reader = BufReader::with_capacity(1 << 20, File::open(&path).unwrap());
        let start = Instant::now();
        let mut k = 0usize;
        for line in reader.lines() {
            let v: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
            k += v.as_object().map_or(0, |o| o.len());
        }
        println!(
            "parse only: {:.0} events/s ({k})",
            n as f64 / start.elapsed().as_secs_f64()
        );
    }
    let reader = BufReader::with_capacity(1 << 20, File::open(&path).unwrap());
    let mut alerts = Vec::new();
    let mut total_alerts = 0usize;
    let rss_start = rss_kb("VmRSS:");
    let cpu_start = cpu_secs();
    let start = Instant::now();
    let mut rss_mid = 0;
    for (i, line) in reader.lines().enumerate() {
        let line = line.unwrap();
        mon.process_line(&line, &mut alerts);
        total_alerts += alerts.len();
        alerts.clear();
        if i as u64 == n / 2 {
            rss_mid = rss_kb("VmRSS:");
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let cpu = cpu_secs() - cpu_start;
    let stats = mon.stats();
    println!("runtime throughput (1 thread, {active} active upstream k8s audit rules)");
    println!(
        "  events:        {} ({:.1} MB, {:.0} bytes/event avg)",
        stats.events,
        bytes as f64 / 1e6,
        bytes as f64 / n as f64
    );
    println!("  alerts:        {total_alerts}");
    println!("  time:          {secs:.2} s");
    println!(
        "  throughput:    {:.0} events/s ({:.1} MB/s)",
        stats.events as f64 / secs,
        bytes as f64 / 1e6 / secs
    );
    println!(
        "  per CPU-second: {:.0} events/s ({cpu:.2} CPU s; wall time counts other load on the machine)",
        stats.events as f64 / cpu
    );
    println!(
        "  RSS:           start {} MB, half-way {} MB, end {} MB, peak {} MB",
        rss_start / 1024,
        rss_mid / 1024,
        rss_kb("VmRSS:") / 1024,
        rss_kb("VmHWM:") / 1024
    );
}
