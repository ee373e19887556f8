//! Metrics, once for every server: a registry per server on the
//! [`prometheus_client`] crate, the `/metrics` handler, the scaffold's own metrics and a
//! capped label family.
//!
//! - [`MetricsRegistry`]: one per server; every name starts with the server's prefix
//!   (`rampart_admission`, `rampart_runtime`). The server registers the scaffold's
//!   [`ServerMetrics`] and its own metrics in it, then serves it with [`router`].
//! - [`router`]: `GET /metrics` in the OpenMetrics text format
//!   (`application/openmetrics-text; version=1.0.0`), or the Prometheus text format
//!   (`text/plain; version=0.0.4`) when the scrape's `Accept` header prefers it.
//! - [`ServerMetrics`]: what the scaffold counts (connections, TLS handshakes,
//!   certificate reloads, request durations by route, bodies over the limit).
//! - [`CappedFamily`]: a labelled family with at most `cap` label sets; later ones are
//!   counted under an `other` label set.
//!
//! **Bounded labels.** A label value never comes from request content: routes are the
//! server's fixed [`Routes`] (anything else is `other`), endpoints and modes are closed
//! enums, and rule ids come from the loaded rule set through a [`CappedFamily`]. Any pod
//! that can reach a webhook can send anything, and a label value taken from a request
//! would let it grow the exposition (and the monitoring system's memory) without bound.
//!
//! ```
//! use rampart_net::metrics::{MetricsRegistry, ServerMetrics};
//! let net = ServerMetrics::default();
//! let mut reg = MetricsRegistry::new("rampart_demo");
//! net.register(&mut reg);
//! net.cert_reload_failures.inc();
//! let text = reg.encode(rampart_net::metrics::Format::OpenMetrics).unwrap();
//! assert!(text.contains("rampart_demo_cert_reload_failures_total 1\n"));
//! assert!(text.ends_with("# EOF\n"));
//! ```

pub use prometheus_client;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::{Family, MetricConstructor};
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// `Content-Type` of the OpenMetrics text format.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// `Content-Type` of the Prometheus text format (0.0.4).
pub const PROMETHEUS_CONTENT_TYPE: &str =
    prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// The label value of everything outside a bounded set (an unknown route, a rule past a
/// [`CappedFamily`]'s cap).
pub const OTHER: &str = "other";

/// One server's metrics: a [`prometheus_client`] registry whose names all start with the
/// server's prefix.
#[derive(Debug)]
pub struct MetricsRegistry {
    registry: Registry,
}

/// An exposition format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// OpenMetrics 1.0 text (ends with `# EOF`; counters are typed without `_total`).
    OpenMetrics,
    /// Prometheus text format 0.0.4.
    Prometheus,
}

impl Format {
    /// The `Content-Type` of this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::OpenMetrics => OPENMETRICS_CONTENT_TYPE,
            Format::Prometheus => PROMETHEUS_CONTENT_TYPE,
        }
    }

    /// The format a scrape asks for in its `Accept` header: the Prometheus text format
    /// when it ranks `text/plain` above `application/openmetrics-text`, OpenMetrics
    /// otherwise (no header, `*/*`, or anything else). At most 64 media ranges are read.
    pub fn negotiate(accept: Option<&str>) -> Format {
        let Some(accept) = accept else {
            return Format::OpenMetrics;
        };
        let (mut om, mut text) = (-1.0f32, -1.0f32);
        for range in accept.split(',').take(64) {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let mut q = 1.0f32;
            for p in parts {
                if let Some((k, v)) = p.split_once('=') {
                    if k.trim().eq_ignore_ascii_case("q") {
                        q = v.trim().parse::<f32>().unwrap_or(0.0).clamp(0.0, 1.0);
                    }
                }
            }
            match media.as_str() {
                "application/openmetrics-text" => om = om.max(q),
                "text/plain" => text = text.max(q),
                _ => {}
            }
        }
        if text > 0.0 && text > om {
            Format::Prometheus
        } else {
            Format::OpenMetrics
        }
    }
}

impl MetricsRegistry {
    /// An empty registry; every metric registered in it is named `{prefix}_{name}`.
    pub fn new(prefix: &str) -> MetricsRegistry {
        MetricsRegistry {
            registry: Registry::with_prefix(prefix),
        }
    }

    /// The [`prometheus_client`] registry, to register metrics in. Counter names are
    /// given without `_total` (the encoder adds it).
    pub fn registry_mut(&mut self) -> &mut Registry {
        &mut self.registry
    }

    /// The exposition in `format`.
    pub fn encode(&self, format: Format) -> Result<String, std::fmt::Error> {
        let mut s = String::new();
        match format {
            Format::OpenMetrics => {
                prometheus_client::encoding::text::encode(&mut s, &self.registry)?
            }
            Format::Prometheus => {
                prometheus_client::encoding::prometheus_text::encode(&mut s, &self.registry)?;
            }
        }
        Ok(s)
    }
}

/// `GET /metrics` serving `registry` (merge it into a server's router).
pub fn router(registry: Arc<MetricsRegistry>) -> Router {
    Router::new()
        .route("/metrics", axum::routing::get(metrics_handler))
        .with_state(registry)
}

async fn metrics_handler(
    State(registry): State<Arc<MetricsRegistry>>,
    headers: HeaderMap,
) -> Response {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let format = Format::negotiate(accept);
    match registry.encode(format) {
        Ok(text) => ([(header::CONTENT_TYPE, format.content_type())], text).into_response(),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "metrics could not be encoded\n",
        )
            .into_response(),
    }
}

/// A labelled family holding at most `cap` label sets: a new label set past the cap is
/// counted under the caller's `other` label set instead, so the exposition stays bounded
/// whatever values arrive.
#[derive(Debug)]
pub struct CappedFamily<S, M, C = fn() -> M> {
    family: Family<S, M, C>,
    cap: usize,
    /// Label sets created below the cap (growing takes this lock, so the cap is exact).
    held: Mutex<usize>,
}

impl<S, M> CappedFamily<S, M>
where
    S: Clone + Hash + Eq,
    M: Default,
{
    /// At most `cap` label sets (plus the `other` ones).
    pub fn new(cap: usize) -> CappedFamily<S, M> {
        CappedFamily {
            family: Family::default(),
            cap,
            held: Mutex::new(0),
        }
    }
}

impl<S, M, C> CappedFamily<S, M, C>
where
    S: Clone + Hash + Eq,
    M: Clone,
    C: MetricConstructor<M>,
{
    /// At most `cap` label sets, each metric made by `constructor`.
    pub fn with_constructor(cap: usize, constructor: C) -> CappedFamily<S, M, C> {
        CappedFamily {
            family: Family::new_with_constructor(constructor),
            cap,
            held: Mutex::new(0),
        }
    }

    /// The family (to register it).
    pub fn family(&self) -> &Family<S, M, C> {
        &self.family
    }

    /// The metric for `labels`; past the cap, the metric for `other()`.
    pub fn get(&self, labels: &S, other: impl FnOnce() -> S) -> M {
        if let Some(m) = self.family.get(labels) {
            return m.clone();
        }
        let Ok(mut held) = self.held.lock() else {
            return self.family.get_or_create_owned(&other());
        };
        if let Some(m) = self.family.get(labels) {
            return m.clone();
        }
        if *held < self.cap {
            *held += 1;
            self.family.get_or_create_owned(labels)
        } else {
            self.family.get_or_create_owned(&other())
        }
    }

    /// Label sets held below the cap (not counting the `other` ones).
    pub fn len(&self) -> usize {
        self.held.lock().map_or(self.cap, |n| *n)
    }

    /// True when no label set was recorded yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A route label: one of the server's fixed [`Routes`], or [`OTHER`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Route(&'static str);

impl Route {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

impl EncodeLabelValue for Route {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        EncodeLabelValue::encode(&self.0, encoder)
    }
}

/// The `route` label set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct RouteLabels {
    /// The route.
    pub route: Route,
}

/// The fixed set of routes a server labels its request metrics with. A request whose
/// path is not one of `paths` is labelled `fallback` (`other` by default): the label
/// never takes a value from the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Routes {
    /// Paths with their own series (`/validate`, `/healthz`).
    pub paths: &'static [&'static str],
    /// The label of every other path (a fallback handler's name, or `other`).
    pub fallback: &'static str,
}

impl Default for Routes {
    fn default() -> Routes {
        Routes {
            paths: &[],
            fallback: OTHER,
        }
    }
}

impl Routes {
    /// The label of a request path.
    pub fn label(&self, path: &str) -> Route {
        Route(
            self.paths
                .iter()
                .find(|p| **p == path)
                .copied()
                .unwrap_or(self.fallback),
        )
    }
}

/// Upper bounds of [`ServerMetrics::request_duration`] buckets, in seconds.
pub const DURATION_BUCKETS: [f64; 14] = [
    0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

fn duration_histogram() -> Histogram {
    Histogram::new(DURATION_BUCKETS)
}

/// What the server scaffold counts; each server registers it in its
/// [`MetricsRegistry`] with [`ServerMetrics::register`].
#[derive(Debug, Clone)]
pub struct ServerMetrics {
    /// Serving certificate reloads (`{prefix}_cert_reloads_total`).
    pub cert_reloads: Counter,
    /// Certificate file changes that could not be loaded; the previous certificate is
    /// kept (`{prefix}_cert_reload_failures_total`).
    pub cert_reload_failures: Counter,
    /// Failed `accept` calls, each followed by a backoff (`{prefix}_accept_errors_total`).
    pub accept_errors: Counter,
    /// Times the accept loop stopped accepting because the connection cap was reached
    /// (`{prefix}_connection_cap_waits_total`; the kernel backlog holds new connections
    /// meanwhile).
    pub connection_cap_waits: Counter,
    /// TLS handshakes that failed or timed out, including clients refused by mutual TLS
    /// (`{prefix}_tls_handshake_failures_total`).
    pub tls_handshake_failures: Counter,
    /// Connections accepted (`{prefix}_connections_total`).
    pub connections: Counter,
    /// Connections open now (`{prefix}_connections_open`).
    pub connections_open: Gauge,
    /// Time from request headers to response headers, by route
    /// (`{prefix}_http_request_duration_seconds`).
    pub request_duration: Family<RouteLabels, Histogram>,
    /// Requests answered 413 because the body was over the limit, by route
    /// (`{prefix}_body_too_large_total`).
    pub body_too_large: Family<RouteLabels, Counter>,
}

impl Default for ServerMetrics {
    fn default() -> ServerMetrics {
        ServerMetrics {
            cert_reloads: Counter::default(),
            cert_reload_failures: Counter::default(),
            accept_errors: Counter::default(),
            connection_cap_waits: Counter::default(),
            tls_handshake_failures: Counter::default(),
            connections: Counter::default(),
            connections_open: Gauge::default(),
            request_duration: Family::new_with_constructor(duration_histogram),
            body_too_large: Family::default(),
        }
    }
}

impl ServerMetrics {
    /// Register every scaffold metric in `reg`.
    pub fn register(&self, reg: &mut MetricsRegistry) {
        let r = reg.registry_mut();
        r.register(
            "cert_reloads",
            "Serving certificate reloads",
            self.cert_reloads.clone(),
        );
        r.register(
            "cert_reload_failures",
            "Certificate file changes that could not be loaded (the previous certificate is kept)",
            self.cert_reload_failures.clone(),
        );
        r.register(
            "accept_errors",
            "Failed accept calls (each followed by a backoff)",
            self.accept_errors.clone(),
        );
        r.register(
            "connection_cap_waits",
            "Times accepting paused because the connection cap was reached",
            self.connection_cap_waits.clone(),
        );
        r.register(
            "tls_handshake_failures",
            "TLS handshakes that failed or timed out",
            self.tls_handshake_failures.clone(),
        );
        r.register(
            "connections",
            "Connections accepted",
            self.connections.clone(),
        );
        r.register(
            "connections_open",
            "Connections open now",
            self.connections_open.clone(),
        );
        r.register_with_unit(
            "http_request_duration",
            "Time from request headers to response headers, by route (a fixed set; other paths are `other`)",
            Unit::Seconds,
            self.request_duration.clone(),
        );
        r.register(
            "body_too_large",
            "Requests refused with 413 because the body was over the limit, by route",
            self.body_too_large.clone(),
        );
    }

    /// Count one request of `route` answered with `status` after `took`.
    pub fn record_request(&self, route: Route, status: StatusCode, started: Instant) {
        let labels = RouteLabels { route };
        self.request_duration
            .get_or_create(&labels)
            .observe(started.elapsed().as_secs_f64());
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            self.body_too_large.get_or_create(&labels).inc();
        }
    }
}

/// The scaffold's middleware: times every request and counts 413s, labelled by
/// `routes`.
pub(crate) async fn track(
    State((metrics, routes)): State<(Arc<ServerMetrics>, Routes)>,
    req: Request<Body>,
    next: Next,
) -> Response {
    let route = routes.label(req.uri().path());
    let started = Instant::now();
    let resp = next.run(req).await;
    metrics.record_request(route, resp.status(), started);
    resp
}

/// Decrements [`ServerMetrics::connections_open`] when the connection ends.
pub(crate) struct OpenConnection(Gauge);

impl OpenConnection {
    pub(crate) fn new(g: &Gauge) -> OpenConnection {
        g.inc();
        OpenConnection(g.clone())
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn negotiation_follows_the_accept_header() {
        use Format::{OpenMetrics, Prometheus};
        assert_eq!(Format::negotiate(None), OpenMetrics);
        assert_eq!(Format::negotiate(Some("*/*")), OpenMetrics);
        assert_eq!(Format::negotiate(Some("text/plain")), Prometheus);
        assert_eq!(
            Format::negotiate(Some("text/plain;version=0.0.4;q=0.9,*/*;q=0.1")),
            Prometheus
        );
        // What Prometheus sends: OpenMetrics first.
        assert_eq!(
            Format::negotiate(Some(
                "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
            )),
            OpenMetrics
        );
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text;q=0.2, text/plain;q=0.3")),
            Prometheus
        );
        assert_eq!(Format::negotiate(Some("text/plain;q=0")), OpenMetrics);
        assert_eq!(
            Format::negotiate(Some("text/plain;q=nonsense")),
            OpenMetrics
        );
    }

    #[test]
    fn routes_outside_the_set_are_other() {
        let r = Routes {
            paths: &["/validate", "/metrics"],
            fallback: OTHER,
        };
        assert_eq!(r.label("/validate").as_str(), "/validate");
        assert_eq!(r.label("/validate/").as_str(), "other");
        assert_eq!(r.label("/x\"y").as_str(), "other");
    }

    #[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
    struct RuleLabel {
        rule: String,
    }

    #[test]
    fn capped_family_stays_bounded() {
        let f: CappedFamily<RuleLabel, Counter> = CappedFamily::new(3);
        for i in 0..100 {
            f.get(
                &RuleLabel {
                    rule: format!("r{i}"),
                },
                || RuleLabel { rule: OTHER.into() },
            )
            .inc();
        }
        assert_eq!(f.len(), 3);
        assert_eq!(
            f.family()
                .get(&RuleLabel { rule: OTHER.into() })
                .unwrap()
                .get(),
            97
        );
        // A label set already held keeps counting.
        f.get(&RuleLabel { rule: "r1".into() }, || RuleLabel {
            rule: OTHER.into(),
        })
        .inc();
        assert_eq!(
            f.family()
                .get(&RuleLabel { rule: "r1".into() })
                .unwrap()
                .get(),
            2
        );
    }

    #[test]
    fn both_formats_encode_the_scaffold_metrics() {
        let m = ServerMetrics::default();
        let mut reg = MetricsRegistry::new("rampart_x");
        m.register(&mut reg);
        m.cert_reload_failures.inc_by(2);
        m.record_request(
            Routes::default().label("/anything"),
            StatusCode::PAYLOAD_TOO_LARGE,
            Instant::now(),
        );
        let om = reg.encode(Format::OpenMetrics).unwrap();
        assert!(
            om.contains("rampart_x_cert_reload_failures_total 2\n"),
            "{om}"
        );
        assert!(
            om.contains("# TYPE rampart_x_accept_errors counter\n"),
            "{om}"
        );
        assert!(
            om.contains("rampart_x_body_too_large_total{route=\"other\"} 1\n"),
            "{om}"
        );
        assert!(
            om.contains("rampart_x_http_request_duration_seconds_count{route=\"other\"} 1\n"),
            "{om}"
        );
        assert!(om.ends_with("# EOF\n"), "{om}");
        let text = reg.encode(Format::Prometheus).unwrap();
        assert!(
            text.contains("# TYPE rampart_x_accept_errors_total counter\n"),
            "{text}"
        );
        assert!(!text.contains("# EOF"), "{text}");
    }
}
