//! Prometheus metrics: requests, a latency histogram, violations by mode and rule.
//!
//! Every label takes values from a bounded set, whatever requests say (any pod that can
//! reach the webhook can send forged reviews): rule ids are the registry's, a loaded
//! policy set's entry rules, or `policy/other` (see [`crate::engine::Counted`]), capped at
//! [`MAX_RULE_LABELS`] all the same; namespaces are not a label at all (like Pod Security
//! Admission's own metrics): per-namespace detail is in the audit log and PolicyReports.

use crate::settings::Mode;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Histogram bucket upper bounds, in seconds.
pub const BUCKETS: [f64; 12] = [
    0.000_25, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
];

/// A fixed-bucket latency histogram.
#[derive(Debug, Default)]
pub struct Histogram {
    counts: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    /// Record one observation.
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                self.counts[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(
            u64::try_from(d.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}

/// Most distinct rule labels; further rules are counted under `other`.
pub const MAX_RULE_LABELS: usize = 512;

/// Endpoints with their own series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Endpoint {
    /// `/validate`.
    Validate,
    /// `/mutate`.
    Mutate,
}

impl Endpoint {
    fn as_str(self) -> &'static str {
        match self {
            Endpoint::Validate => "validate",
            Endpoint::Mutate => "mutate",
        }
    }
}

/// Everything exported on `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Requests by (endpoint, HTTP code).
    pub requests: Mutex<BTreeMap<(Endpoint, u16), u64>>,
    /// Admission answers by (endpoint, allowed).
    pub answers: Mutex<BTreeMap<(Endpoint, bool), u64>>,
    /// Violations by (mode, rule).
    pub decisions: Mutex<BTreeMap<(Mode, String), u64>>,
    /// Latency of `/validate`.
    pub validate_latency: Histogram,
    /// Latency of `/mutate`.
    pub mutate_latency: Histogram,
    /// Rule panics caught.
    pub panics: AtomicU64,
    /// Evaluations past the deadline.
    pub deadline_exceeded: AtomicU64,
    /// Mutations applied (requests answered with a patch).
    pub patches: AtomicU64,
    /// PolicyReports applied.
    pub policy_reports_written: AtomicU64,
    /// PolicyReport writes the API server refused or that failed.
    pub policy_reports_failed: AtomicU64,
    /// Audited decisions not reported because a bound was reached (distinct resources,
    /// pending reports: see [`crate::reports`]).
    pub policy_reports_dropped: AtomicU64,
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    /// Count one HTTP request.
    pub fn request(&self, ep: Endpoint, code: u16, took: Duration) {
        if let Ok(mut m) = self.requests.lock() {
            *m.entry((ep, code)).or_insert(0) += 1;
        }
        match ep {
            Endpoint::Validate => self.validate_latency.observe(took),
            Endpoint::Mutate => self.mutate_latency.observe(took),
        }
    }

    /// Count one admission answer and its violations. `_namespace` is not a label (it
    /// comes from the request: see the module documentation).
    pub fn answer(
        &self,
        ep: Endpoint,
        allowed: bool,
        _namespace: &str,
        counted: &[crate::engine::Counted],
    ) {
        if let Ok(mut m) = self.answers.lock() {
            *m.entry((ep, allowed)).or_insert(0) += 1;
        }
        if counted.is_empty() {
            return;
        }
        if let Ok(mut m) = self.decisions.lock() {
            for c in counted {
                let key = (c.mode, c.rule_id.clone());
                if let Some(n) = m.get_mut(&key) {
                    *n += 1;
                    continue;
                }
                // Modes × rules: a new rule label only while under the cap.
                let key = if m.len() < MAX_RULE_LABELS * Mode::ALL.len() {
                    key
                } else {
                    (c.mode, "other".to_string())
                };
                *m.entry(key).or_insert(0) += 1;
            }
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# HELP rampart_admission_requests_total Admission requests by endpoint and HTTP status.\n# TYPE rampart_admission_requests_total counter");
        if let Ok(m) = self.requests.lock() {
            for ((ep, code), n) in m.iter() {
                let _ = writeln!(
                    s,
                    "rampart_admission_requests_total{{endpoint=\"{}\",code=\"{code}\"}} {n}",
                    ep.as_str()
                );
            }
        }
        let _ = writeln!(s, "# HELP rampart_admission_responses_total AdmissionReview answers by endpoint and allowed.\n# TYPE rampart_admission_responses_total counter");
        if let Ok(m) = self.answers.lock() {
            for ((ep, allowed), n) in m.iter() {
                let _ = writeln!(
                    s,
                    "rampart_admission_responses_total{{endpoint=\"{}\",allowed=\"{allowed}\"}} {n}",
                    ep.as_str()
                );
            }
        }
        let _ = writeln!(s, "# HELP rampart_admission_violations_total Violations by mode and rule.\n# TYPE rampart_admission_violations_total counter");
        if let Ok(m) = self.decisions.lock() {
            for ((mode, rule), n) in m.iter() {
                let _ = writeln!(
                    s,
                    "rampart_admission_violations_total{{mode=\"{}\",rule=\"{}\"}} {n}",
                    mode.as_str(),
                    esc(rule),
                );
            }
        }
        let _ = writeln!(s, "# HELP rampart_admission_request_duration_seconds Time to answer an admission request (body read to response).\n# TYPE rampart_admission_request_duration_seconds histogram");
        for (ep, h) in [
            (Endpoint::Validate, &self.validate_latency),
            (Endpoint::Mutate, &self.mutate_latency),
        ] {
            let e = ep.as_str();
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    s,
                    "rampart_admission_request_duration_seconds_bucket{{endpoint=\"{e}\",le=\"{b}\"}} {}",
                    h.counts[i].load(Ordering::Relaxed)
                );
            }
            let count = h.count.load(Ordering::Relaxed);
            let _ = writeln!(s, "rampart_admission_request_duration_seconds_bucket{{endpoint=\"{e}\",le=\"+Inf\"}} {count}");
            #[allow(clippy::cast_precision_loss)]
            let sum = h.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
            let _ = writeln!(
                s,
                "rampart_admission_request_duration_seconds_sum{{endpoint=\"{e}\"}} {sum}"
            );
            let _ = writeln!(
                s,
                "rampart_admission_request_duration_seconds_count{{endpoint=\"{e}\"}} {count}"
            );
        }
        for (name, help, v) in [
            (
                "rampart_admission_panics_total",
                "Rule panics caught (the request got the on_error answer).",
                &self.panics,
            ),
            (
                "rampart_admission_deadline_exceeded_total",
                "Evaluations that passed the per-request deadline.",
                &self.deadline_exceeded,
            ),
            (
                "rampart_admission_patches_total",
                "Mutate answers that carried a JSON Patch.",
                &self.patches,
            ),
            (
                "rampart_admission_policy_reports_written_total",
                "PolicyReports applied (server-side apply, one report per resource).",
                &self.policy_reports_written,
            ),
            (
                "rampart_admission_policy_reports_failed_total",
                "PolicyReport writes that failed or that the API server refused.",
                &self.policy_reports_failed,
            ),
            (
                "rampart_admission_policy_reports_dropped_total",
                "Audited decisions not reported because the report bounds were reached.",
                &self.policy_reports_dropped,
            ),
        ] {
            let _ = writeln!(
                s,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                v.load(Ordering::Relaxed)
            );
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Counted;

    #[test]
    fn exposition() {
        let m = Metrics::default();
        m.request(Endpoint::Validate, 200, Duration::from_micros(700));
        m.answer(
            Endpoint::Validate,
            false,
            "team \"a\"",
            &[Counted {
                mode: Mode::Enforce,
                rule_id: "k8s/pss-privileged".into(),
            }],
        );
        let t = m.render();
        assert!(
            t.contains("rampart_admission_requests_total{endpoint=\"validate\",code=\"200\"} 1")
        );
        assert!(t.contains("rampart_admission_request_duration_seconds_bucket{endpoint=\"validate\",le=\"0.0005\"} 0"));
        assert!(t.contains("rampart_admission_request_duration_seconds_bucket{endpoint=\"validate\",le=\"0.001\"} 1"));
        assert!(t.contains(
            "rampart_admission_violations_total{mode=\"enforce\",rule=\"k8s/pss-privileged\"} 1"
        ));
        assert!(!t.contains("team"), "{t}");
        assert!(t.contains(
            "rampart_admission_responses_total{endpoint=\"validate\",allowed=\"false\"} 1"
        ));
    }

    #[test]
    fn rule_labels_are_capped() {
        let m = Metrics::default();
        for i in 0..(MAX_RULE_LABELS * 4) {
            m.answer(
                Endpoint::Validate,
                false,
                &format!("ns-{i}"),
                &[Counted {
                    mode: Mode::Enforce,
                    rule_id: format!("r{i}"),
                }],
            );
        }
        let t = m.render();
        let series = t
            .lines()
            .filter(|l| l.starts_with("rampart_admission_violations_total{"))
            .count();
        assert!(series <= MAX_RULE_LABELS * 3 + 3, "{series}");
        assert!(t.contains("rule=\"other\""), "{t}");
    }
}
