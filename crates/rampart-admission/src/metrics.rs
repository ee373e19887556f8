//! The webhook's metrics (requests, a latency histogram, violations by mode and rule),
//! on `prometheus-client` through [`rampart_net::metrics`]: the server registers them
//! with the scaffold's in one [`MetricsRegistry`] (prefix `rampart_admission`) and
//! serves it on `/metrics`.
//!
//! Every label takes values from a bounded set, whatever requests say (any pod that can
//! reach the webhook can send forged reviews): endpoints, modes and `allowed` are closed
//! sets, the HTTP code is one the server answered, rule ids are the registry's, a loaded
//! policy set's entry rules, or `policy/other` (see [`crate::engine::Counted`]), capped
//! at [`MAX_RULE_LABELS`] all the same (`rule="other"` beyond); namespaces are not a
//! label at all (like Pod Security Admission's own metrics): per-namespace detail is in
//! the audit log and PolicyReports.

use crate::settings::Mode;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeLabelSet, EncodeLabelValue, EncodeMetric, LabelValueEncoder,
};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Unit;
use rampart_net::metrics::{CappedFamily, Format, MetricsRegistry, OTHER};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Histogram bucket upper bounds, in seconds.
pub const BUCKETS: [f64; 12] = [
    0.000_25, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
];

/// Most distinct (mode, rule) label sets; further ones are counted under `rule="other"`.
pub const MAX_RULE_LABELS: usize = 512 * 3;

/// Endpoints with their own series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Endpoint {
    /// `/validate`.
    Validate,
    /// `/mutate`.
    Mutate,
}

impl Endpoint {
    /// The label value: `validate`, `mutate`.
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::Validate => "validate",
            Endpoint::Mutate => "mutate",
        }
    }
}

impl EncodeLabelValue for Endpoint {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        EncodeLabelValue::encode(&self.as_str(), encoder)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RequestLabels {
    endpoint: Endpoint,
    code: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct AnswerLabels {
    endpoint: Endpoint,
    allowed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ViolationLabels {
    mode: &'static str,
    rule: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct EndpointLabels {
    endpoint: Endpoint,
}

fn latency_histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

/// Everything the webhook exports on `/metrics` besides the scaffold's metrics.
#[derive(Debug)]
pub struct Metrics {
    /// Requests by (endpoint, HTTP code).
    requests: Family<RequestLabels, Counter>,
    /// Admission answers by (endpoint, allowed).
    answers: Family<AnswerLabels, Counter>,
    /// Violations by (mode, rule), capped.
    violations: CappedFamily<ViolationLabels, Counter>,
    /// Latency by endpoint.
    latency: Family<EndpointLabels, Histogram>,
    /// Rule panics caught.
    pub panics: Counter,
    /// Evaluations past the deadline.
    pub deadline_exceeded: Counter,
    /// Mutations applied (requests answered with a patch).
    pub patches: Counter,
    /// PolicyReports applied.
    pub policy_reports_written: Arc<AtomicU64>,
    /// PolicyReport writes the API server refused or that failed.
    pub policy_reports_failed: Arc<AtomicU64>,
    /// Audited decisions not reported because a bound was reached (distinct resources,
    /// pending reports: see [`crate::reports`]).
    pub policy_reports_dropped: Arc<AtomicU64>,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics {
            requests: Family::default(),
            answers: Family::default(),
            violations: CappedFamily::new(MAX_RULE_LABELS),
            latency: Family::new_with_constructor(latency_histogram),
            panics: Counter::default(),
            deadline_exceeded: Counter::default(),
            patches: Counter::default(),
            policy_reports_written: Arc::default(),
            policy_reports_failed: Arc::default(),
            policy_reports_dropped: Arc::default(),
        }
    }
}

/// The PolicyReport counters, kept as plain atomics (the report writer counts with
/// them) and read at each scrape.
#[derive(Debug)]
struct ReportCounters([(&'static str, &'static str, Arc<AtomicU64>); 3]);

impl Collector for ReportCounters {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for (name, help, v) in &self.0 {
            let c = ConstCounter::new(v.load(Ordering::Relaxed));
            let m = encoder.encode_descriptor(name, help, None, c.metric_type())?;
            c.encode(m)?;
        }
        Ok(())
    }
}

impl Metrics {
    /// Register every metric in `reg` (the server's registry, prefix
    /// `rampart_admission`).
    pub fn register(&self, reg: &mut MetricsRegistry) {
        let r = reg.registry_mut();
        r.register(
            "requests",
            "Admission requests by endpoint and HTTP status",
            self.requests.clone(),
        );
        r.register(
            "responses",
            "AdmissionReview answers by endpoint and allowed",
            self.answers.clone(),
        );
        r.register(
            "violations",
            "Violations by mode and rule (rule ids from the loaded rules; `other` past the cap)",
            self.violations.family().clone(),
        );
        r.register_with_unit(
            "request_duration",
            "Time to answer an admission request (body read to response)",
            Unit::Seconds,
            self.latency.clone(),
        );
        r.register(
            "panics",
            "Rule panics caught (the request got the on_error answer)",
            self.panics.clone(),
        );
        r.register(
            "deadline_exceeded",
            "Evaluations that passed the per-request deadline",
            self.deadline_exceeded.clone(),
        );
        r.register(
            "patches",
            "Mutate answers that carried a JSON Patch",
            self.patches.clone(),
        );
        r.register_collector(Box::new(ReportCounters([
            (
                "policy_reports_written",
                "PolicyReports applied (server-side apply, one report per resource)",
                self.policy_reports_written.clone(),
            ),
            (
                "policy_reports_failed",
                "PolicyReport writes that failed or that the API server refused",
                self.policy_reports_failed.clone(),
            ),
            (
                "policy_reports_dropped",
                "Audited decisions not reported because the report bounds were reached",
                self.policy_reports_dropped.clone(),
            ),
        ])));
    }

    /// Count one HTTP request.
    pub fn request(&self, ep: Endpoint, code: u16, took: Duration) {
        self.requests
            .get_or_create(&RequestLabels { endpoint: ep, code })
            .inc();
        self.latency
            .get_or_create(&EndpointLabels { endpoint: ep })
            .observe(took.as_secs_f64());
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
        self.answers
            .get_or_create(&AnswerLabels {
                endpoint: ep,
                allowed,
            })
            .inc();
        for c in counted {
            let mode = mode_label(c.mode);
            self.violations
                .get(
                    &ViolationLabels {
                        mode,
                        rule: c.rule_id.clone(),
                    },
                    || ViolationLabels {
                        mode,
                        rule: OTHER.to_string(),
                    },
                )
                .inc();
        }
    }

    /// This struct's metrics alone in the OpenMetrics text format (the server's
    /// `/metrics` adds the scaffold's).
    pub fn render(&self) -> String {
        let mut reg = MetricsRegistry::new("rampart_admission");
        self.register(&mut reg);
        reg.encode(Format::OpenMetrics).unwrap_or_default()
    }
}

fn mode_label(m: Mode) -> &'static str {
    m.as_str()
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
            t.contains("rampart_admission_requests_total{endpoint=\"validate\",code=\"200\"} 1"),
            "{t}"
        );
        assert!(t.contains("rampart_admission_request_duration_seconds_bucket{le=\"0.0005\",endpoint=\"validate\"} 0") || t.contains("rampart_admission_request_duration_seconds_bucket{endpoint=\"validate\",le=\"0.0005\"} 0"), "{t}");
        assert!(t.contains(
            "rampart_admission_violations_total{mode=\"enforce\",rule=\"k8s/pss-privileged\"} 1"
        ), "{t}");
        assert!(!t.contains("team"), "{t}");
        assert!(
            t.contains(
                "rampart_admission_responses_total{endpoint=\"validate\",allowed=\"false\"} 1"
            ),
            "{t}"
        );
        assert!(
            t.contains("rampart_admission_policy_reports_dropped_total 0"),
            "{t}"
        );
        assert!(t.ends_with("# EOF\n"), "{t}");
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
        assert!(series <= MAX_RULE_LABELS + 3, "{series}");
        assert!(t.contains("rule=\"other\"} "), "{t}");
    }
}
