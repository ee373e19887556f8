//! PolicyReports (`wgpolicyk8s.io/v1alpha2`) for audit-mode decisions, one per resource.
//!
//! A report is named after the resource it is about (namespace, kind, name), never after
//! the request, so every decision about the same resource updates the same report in
//! place (server-side apply as [`FIELD_MANAGER`], through `rampart-cluster`'s
//! [`ReportWriter`]) instead of adding one report per request. Reports waiting to be written are coalesced per resource in a
//! [`ReportQueue`] (the latest decision wins), and the number of distinct resources the
//! webhook writes reports for is capped ([`MAX_REPORTS`]): requests come from anyone who
//! can reach the webhook, and every name they carry would otherwise become an object in
//! etcd. Reports about objects that no longer exist are deleted by
//! [`spawn_garbage_collector`] ([`ReportWriter::collect_garbage`]).
//!
//! [`JsonAuditSink`] ties it together: one JSON line per audit event, and the report
//! queued for the background writer.

use crate::engine::{AuditEvent, AuditSink};
use crate::metrics::Metrics;
use rampart_cluster::reports::{stamp, GcOptions, ReportWriter, Subject};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};
use std::io::Write as _;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// Most results in one report (the rest are summarised in `summary.fail` and a last
/// result saying how many were left out).
pub const MAX_RESULTS: usize = 100;
/// Most distinct resources reports are written for by one webhook process; decisions
/// about further resources are counted ([`ReportQueue::refused`]), not reported.
pub const MAX_REPORTS: usize = 10_000;
/// Most reports waiting to be written at once.
pub const MAX_PENDING: usize = 1024;
/// Field manager of the reports.
pub const FIELD_MANAGER: &str = "rampart-admission";

/// The resource a report is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReportKey {
    /// Namespace.
    pub namespace: String,
    /// Kind.
    pub kind: String,
    /// Name (or `generateName` prefix when the name is not assigned yet).
    pub name: String,
}

impl ReportKey {
    /// The resource of an audit event.
    pub fn of(ev: &AuditEvent) -> ReportKey {
        ReportKey {
            namespace: ev.namespace.clone(),
            kind: ev.kind.clone(),
            name: ev.name.clone(),
        }
    }

    /// The report's object name: `rampart-<kind>-<name>-<hash>`, a valid DNS subdomain
    /// name whatever the kind and name are (lowercased, other characters replaced,
    /// shortened), unique per (kind, name) through the hash of both.
    pub fn report_name(&self) -> String {
        use sha2::Digest as _;
        let hash = hex::encode(
            &sha2::Sha256::digest(format!("{}\u{0}{}", self.kind, self.name).as_bytes())[..5],
        );
        let readable: String = format!("{}-{}", self.kind, self.name)
            .chars()
            .map(|c| {
                let c = c.to_ascii_lowercase();
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '-'
                }
            })
            .take(200)
            .collect();
        let readable = readable.trim_matches('-');
        if readable.is_empty() {
            format!("rampart-{hash}")
        } else {
            format!("rampart-{readable}-{hash}")
        }
    }
}

/// The PolicyReport for the latest audited decision about a resource: its results
/// replace the previous ones.
pub fn policy_report(ev: &AuditEvent) -> Value {
    let key = ReportKey::of(ev);
    let now = chrono::Utc::now().timestamp();
    let resource = json!({"kind": ev.kind, "name": ev.name, "namespace": ev.namespace});
    let mut results: Vec<Value> = ev
        .violations
        .iter()
        .take(MAX_RESULTS)
        .map(|v| {
            json!({
                "source": "rampart",
                "policy": ev.policy,
                "rule": v.rule_id,
                "result": "fail",
                "scored": true,
                "message": if v.field.is_empty() { v.message.clone() } else { format!("{}: {}", v.field, v.message) },
                "timestamp": {"seconds": now, "nanos": 0},
                "resources": [resource.clone()],
            })
        })
        .collect();
    if ev.violations.len() > MAX_RESULTS {
        results.push(json!({
            "source": "rampart",
            "policy": ev.policy,
            "rule": "admission/report-truncated",
            "result": "warn",
            "message": format!("{} more violations not listed", ev.violations.len() - MAX_RESULTS),
            "timestamp": {"seconds": now, "nanos": 0},
            "resources": [resource],
        }));
    }
    let mut report = json!({
        "metadata": {
            "name": key.report_name(),
            "annotations": {"rampart.dev/operation": ev.operation, "rampart.dev/allowed": ev.allowed.to_string()},
        },
        "summary": {"pass": 0, "fail": ev.violations.len(), "warn": 0, "error": 0, "skip": 0},
        "results": results,
    });
    stamp(
        &mut report,
        &Subject {
            api_version: ev.api_version.clone(),
            kind: ev.kind.clone(),
            plural: ev.resource.clone(),
            namespace: ev.namespace.clone(),
            name: ev.name.clone(),
        },
    );
    report
}

/// Reports waiting to be written, at most one per resource (the latest), bounded in
/// pending entries and in distinct resources over the process's life.
#[derive(Debug, Default)]
pub struct ReportQueue {
    pending: BTreeMap<ReportKey, Value>,
    known: HashSet<ReportKey>,
    refused: u64,
}

impl ReportQueue {
    /// An empty queue.
    pub fn new() -> ReportQueue {
        ReportQueue::default()
    }

    /// Queue the report of `ev` (never for dry runs or cluster-scoped objects), replacing
    /// a pending one for the same resource. False when refused (a dry run, no namespace,
    /// too many resources or too many pending reports).
    pub fn push(&mut self, ev: &AuditEvent) -> bool {
        if ev.dry_run || ev.namespace.is_empty() {
            return false;
        }
        let key = ReportKey::of(ev);
        let known = self.known.contains(&key);
        if (!known && self.known.len() >= MAX_REPORTS)
            || (!self.pending.contains_key(&key) && self.pending.len() >= MAX_PENDING)
        {
            self.refused += 1;
            return false;
        }
        if !known {
            self.known.insert(key.clone());
        }
        self.pending.insert(key, policy_report(ev));
        true
    }

    /// Take every pending report (one per resource), to be applied.
    pub fn drain(&mut self) -> Vec<Value> {
        std::mem::take(&mut self.pending).into_values().collect()
    }

    /// Reports waiting.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// True when nothing waits.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Decisions not reported because a bound was reached.
    pub fn refused(&self) -> u64 {
        self.refused
    }
}

/// Writes audit events: one JSON line per event to a writer (stderr in the CLI) and,
/// with [`JsonAuditSink::with_policy_reports`], a PolicyReport per resource (never for
/// dry runs, nor for cluster-scoped objects). Reports are coalesced in a bounded
/// [`ReportQueue`] and applied by a background task, so the request path never waits
/// on the API server and every decision about one resource updates the same report.
pub struct JsonAuditSink {
    writer: Mutex<Box<dyn std::io::Write + Send>>,
    reports: Option<QueueHandle>,
}

/// The queue shared with the background task that applies the reports.
struct QueueHandle {
    queue: Arc<Mutex<ReportQueue>>,
    wake: Arc<Notify>,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for JsonAuditSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonAuditSink").finish()
    }
}

impl JsonAuditSink {
    /// Log lines only.
    pub fn new(writer: Box<dyn std::io::Write + Send>) -> JsonAuditSink {
        JsonAuditSink {
            writer: Mutex::new(writer),
            reports: None,
        }
    }

    /// Also write PolicyReports with `writer` (call inside a Tokio runtime), counting
    /// reports written, failed and dropped (a bound reached) in `metrics`.
    pub fn with_policy_reports(
        mut self,
        writer: ReportWriter,
        metrics: Arc<Metrics>,
    ) -> JsonAuditSink {
        let queue = Arc::new(Mutex::new(ReportQueue::new()));
        let wake = Arc::new(Notify::new());
        let (q, w, m) = (queue.clone(), wake.clone(), metrics.clone());
        tokio::spawn(async move {
            loop {
                w.notified().await;
                let batch = match q.lock() {
                    Ok(mut q) => q.drain(),
                    Err(_) => return,
                };
                for report in batch {
                    let counter = if writer.apply(&report).await.is_ok() {
                        &m.policy_reports_written
                    } else {
                        &m.policy_reports_failed
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        self.reports = Some(QueueHandle {
            queue,
            wake,
            metrics,
        });
        self
    }
}

impl AuditSink for JsonAuditSink {
    fn record(&self, ev: &AuditEvent) {
        let line = json!({
            "time": chrono::Utc::now().to_rfc3339(),
            "level": "audit",
            "msg": "rampart admission audit",
            "event": ev,
        });
        if let Ok(mut w) = self.writer.lock() {
            let _ = writeln!(w, "{line}");
            let _ = w.flush();
        }
        if let Some(r) = &self.reports {
            if ev.dry_run || ev.namespace.is_empty() {
                return;
            }
            let queued = r.queue.lock().is_ok_and(|mut q| q.push(ev));
            if queued {
                r.wake.notify_one();
            } else {
                r.metrics
                    .policy_reports_dropped
                    .fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Delete, every `every`, the reports Rampart wrote about objects that are gone (see
/// [`ReportWriter::collect_garbage`]); each pass's outcome goes to `on_pass` (the CLI
/// logs it). Call inside a Tokio runtime; abort the task to stop.
pub fn spawn_garbage_collector(
    writer: ReportWriter,
    every: Duration,
    opts: GcOptions,
    on_pass: impl Fn(Result<rampart_cluster::reports::GcOutcome, rampart_cluster::ClusterError>)
        + Send
        + Sync
        + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every.max(Duration::from_millis(10)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            on_pass(writer.collect_garbage(&opts).await);
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Violation;

    fn event(uid: &str, ns: &str, name: &str, n: usize) -> AuditEvent {
        AuditEvent {
            uid: uid.into(),
            operation: "CREATE".into(),
            kind: "Pod".into(),
            api_version: "v1".into(),
            resource: "pods".into(),
            namespace: ns.into(),
            name: name.into(),
            user: "alice".into(),
            policy: "baseline:latest".into(),
            dry_run: false,
            allowed: true,
            violations: (0..n)
                .map(|i| Violation {
                    rule_id: "k8s/pss-privileged".into(),
                    field: format!("spec.containers[{i}].securityContext.privileged"),
                    message: "privileged".into(),
                })
                .collect(),
        }
    }

    /// Issue 13: the report name hashed the request uid, so every request created a new
    /// report and none was ever updated or collected.
    #[test]
    fn one_report_per_resource_updated_in_place() {
        let a = policy_report(&event("uid-1", "team", "web", 1));
        let b = policy_report(&event("uid-2", "team", "web", 2));
        assert_eq!(a["metadata"]["name"], b["metadata"]["name"]);
        assert_eq!(b["results"].as_array().unwrap().len(), 2);
        let other = policy_report(&event("uid-3", "team", "db", 1));
        assert_ne!(a["metadata"]["name"], other["metadata"]["name"]);
        assert_eq!(a["metadata"]["namespace"], "team");
        assert_eq!(a["scope"]["apiVersion"], "v1");
        assert_eq!(
            a["metadata"]["annotations"]["rampart.dev/scope-resource"],
            "pods"
        );
        assert_eq!(
            a["metadata"]["labels"]["app.kubernetes.io/managed-by"],
            "rampart"
        );
    }

    #[test]
    fn names_are_valid_whatever_the_resource_is_called() {
        for name in ["Web_App.v2", &"x".repeat(400), "", "---", "ünï"] {
            let key = ReportKey {
                namespace: "n".into(),
                kind: "Pod".into(),
                name: name.to_string(),
            };
            let n = key.report_name();
            assert!(n.len() <= 253, "{n}");
            assert!(
                n.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{n}"
            );
            assert!(!n.ends_with('-') && n.starts_with("rampart-"), "{n}");
        }
    }

    #[test]
    fn results_and_resources_are_bounded() {
        let r = policy_report(&event("u", "team", "big", MAX_RESULTS + 50));
        assert_eq!(r["results"].as_array().unwrap().len(), MAX_RESULTS + 1);
        assert_eq!(r["summary"]["fail"], MAX_RESULTS + 50);

        let mut q = ReportQueue::new();
        assert!(q.push(&event("1", "team", "web", 1)));
        assert!(q.push(&event("2", "team", "web", 3)));
        assert_eq!(q.len(), 1, "coalesced per resource");
        assert_eq!(q.drain()[0]["results"].as_array().unwrap().len(), 3);
        let mut dry = event("3", "team", "web", 1);
        dry.dry_run = true;
        assert!(!q.push(&dry));
        assert!(!q.push(&event("4", "", "node", 1)));

        // Forged requests naming ever new resources stop at the bounds.
        let mut q = ReportQueue::new();
        for i in 0..(MAX_REPORTS + 500) {
            q.push(&event("u", "team", &format!("p{i}"), 1));
            if q.len() >= MAX_PENDING {
                q.drain();
            }
        }
        assert_eq!(q.refused(), 500);
        // A resource already reported on is still updated.
        assert!(q.push(&event("u", "team", "p0", 2)));
    }
}
