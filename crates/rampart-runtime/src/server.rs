//! The audit webhook backend: an HTTPS endpoint receiving `audit.k8s.io/v1` `EventList`
//! batches (what the API server sends with `--audit-webhook-config-file`), plus
//! `/metrics` (Prometheus), `/healthz`, `/readyz`, and graceful shutdown that flushes the
//! queued alerts.
//!
//! It runs on the one server scaffold of [`rampart_net::server`] (accept backoff,
//! connection cap, certificate reload, optional mutual TLS, timeouts). A batch is decoded
//! and evaluated on Tokio's blocking pool, never on an async worker, and at most
//! [`ServerOptions::max_inflight_batches`] batches are read and evaluated at once, so
//! memory stays below that many times [`ServerOptions::max_body_bytes`].
//!
//! Alerts go through a bounded queue to the sinks, so a slow sink never blocks
//! ingestion: when the queue is full, alerts are dropped and counted.

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use rampart_net::http::{HttpClient, Url};
use rampart_net::metrics::{CappedFamily, Format, MetricsRegistry, Routes, OTHER};
pub use rampart_net::server::{shutdown_signal, ServerMetrics};
use rampart_net::server::{BodyError, Lifecycle};
pub use rampart_net::tls::ServerTlsFiles;
use tokio::sync::{mpsc, Semaphore};
use tokio_rustls::rustls;

use crate::alert::Alert;
use crate::monitor::Monitor;

/// Server errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// TLS files, binding, the runtime.
    #[error(transparent)]
    Net(#[from] rampart_net::NetError),
    /// Binding or accepting.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A sink URL that cannot be used.
    #[error("sink: {0}")]
    Sink(String),
}

/// Most distinct rule labels on `rampart_runtime_alerts_total`; alerts of further rules
/// are counted under `rule="other"`. Rule names come from the loaded rules, never from
/// events, and the cap bounds even a huge rule set.
pub const MAX_RULE_LABELS: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RuleLabels {
    rule: String,
}

/// The monitor's metrics on `/metrics` (besides the scaffold's), registered in the
/// server's [`MetricsRegistry`] (prefix `rampart_runtime`) by [`Metrics::register`].
#[derive(Debug)]
pub struct Metrics {
    /// Audit events evaluated.
    pub events: Counter,
    /// Records that were not audit events.
    pub parse_errors: Counter,
    /// Batches accepted.
    pub batches: Counter,
    /// Batches refused: too large (413).
    pub rejected_too_large: Counter,
    /// Batches refused: not JSON / no audit events (400).
    pub rejected_invalid: Counter,
    /// Alerts dropped because the queue was full.
    pub alerts_dropped: Counter,
    /// Alerts delivered to every sink.
    pub alerts_delivered: Counter,
    /// Delivery failures (after retries).
    pub sink_errors: Counter,
    /// Alerts raised, by rule (capped at [`MAX_RULE_LABELS`]).
    alerts_by_rule: CappedFamily<RuleLabels, Counter>,
    /// Alerts raised (for the run summary).
    alerts: Counter,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics {
            events: Counter::default(),
            parse_errors: Counter::default(),
            batches: Counter::default(),
            rejected_too_large: Counter::default(),
            rejected_invalid: Counter::default(),
            alerts_dropped: Counter::default(),
            alerts_delivered: Counter::default(),
            sink_errors: Counter::default(),
            alerts_by_rule: CappedFamily::new(MAX_RULE_LABELS),
            alerts: Counter::default(),
        }
    }
}

impl Metrics {
    /// Register every metric in `reg`.
    pub fn register(&self, reg: &mut MetricsRegistry) {
        let r = reg.registry_mut();
        for (name, help, c) in [
            ("events", "Audit events evaluated", &self.events),
            (
                "parse_errors",
                "Input records that were not audit events",
                &self.parse_errors,
            ),
            ("batches", "Event batches accepted", &self.batches),
            (
                "batches_too_large",
                "Batches refused with 413",
                &self.rejected_too_large,
            ),
            (
                "batches_invalid",
                "Batches refused with 400",
                &self.rejected_invalid,
            ),
            (
                "alerts_dropped",
                "Alerts dropped because the sink queue was full",
                &self.alerts_dropped,
            ),
            (
                "alerts_delivered",
                "Alerts delivered to the sinks",
                &self.alerts_delivered,
            ),
            (
                "sink_errors",
                "Alert deliveries that failed after retries",
                &self.sink_errors,
            ),
        ] {
            r.register(name, help, c.clone());
        }
        r.register(
            "alerts",
            "Alerts raised, by rule (names from the loaded rules; `other` past the cap)",
            self.alerts_by_rule.family().clone(),
        );
    }

    /// Count one alert of `rule`.
    pub fn alert(&self, rule: &str) {
        self.alerts.inc();
        self.alerts_by_rule
            .get(
                &RuleLabels {
                    rule: rule.to_string(),
                },
                || RuleLabels {
                    rule: OTHER.to_string(),
                },
            )
            .inc();
    }

    /// Alerts raised so far.
    pub fn alerts(&self) -> u64 {
        self.alerts.get()
    }

    /// These metrics alone in the OpenMetrics text format (the server's `/metrics` adds
    /// the scaffold's).
    pub fn render(&self) -> String {
        let mut reg = MetricsRegistry::new("rampart_runtime");
        self.register(&mut reg);
        reg.encode(Format::OpenMetrics).unwrap_or_default()
    }
}

/// How alerts are written by a [`Sink::Writer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertFormat {
    /// Falco's text line.
    Text,
    /// Falco's JSON alert.
    Json,
}

/// Where alerts go.
pub enum Sink {
    /// A writer (stdout, a file), one alert per line.
    Writer(Box<dyn Write + Send>, AlertFormat),
    /// HTTP POST of the Falco JSON alert to a URL (`http://host:port/path`), with
    /// exponential backoff between `retries` retries.
    Http(HttpSink),
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Sink::Writer(_, fmt) => write!(f, "Writer({fmt:?})"),
            Sink::Http(h) => write!(f, "Http({})", h.url),
        }
    }
}

/// An HTTP POST sink: `http://` (e.g. Falcosidekick in the cluster) or `https://`
/// (verified against the system CA bundle, or a CA file), over the one HTTP client of
/// [`rampart_net::http`]. The URL is the operator's, so private addresses are allowed.
#[derive(Clone)]
pub struct HttpSink {
    url: Url,
    client: HttpClient,
    /// Retries after the first attempt.
    pub retries: u32,
    /// First backoff; doubled each retry, capped at 10 s.
    pub backoff: Duration,
    /// Per-attempt timeout.
    pub timeout: Duration,
}

impl std::fmt::Debug for HttpSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpSink")
            .field("url", &self.url.to_string())
            .field("retries", &self.retries)
            .finish()
    }
}

impl HttpSink {
    /// Parse `http://host[:port][/path]` or `https://…` (verified against the system CA
    /// bundle; see [`HttpSink::with_ca_file`]).
    pub fn new(url: &str) -> Result<HttpSink, ServerError> {
        let url = Url::parse(url).map_err(|e| ServerError::Sink(e.to_string()))?;
        // Without a system CA bundle an https sink needs `with_ca_file` (the error is
        // reported on the first post).
        let tls = rampart_net::tls::client_config(None);
        let mut client = HttpClient::new(tls, rampart_net::egress::EgressPolicy::unrestricted());
        client.user_agent = "rampart-monitor".into();
        Ok(HttpSink {
            url,
            client,
            retries: 5,
            backoff: Duration::from_millis(200),
            timeout: Duration::from_secs(10),
        })
    }

    /// Verify an `https://` sink against this CA file (PEM) instead of the system bundle.
    pub fn with_ca_file(mut self, ca: &Path) -> Result<HttpSink, ServerError> {
        let tls = rampart_net::tls::client_config(Some(ca))?;
        self.client = HttpClient::new(Ok(tls), rampart_net::egress::EgressPolicy::unrestricted());
        self.client.user_agent = "rampart-monitor".into();
        Ok(self)
    }

    async fn post_once(&self, body: &str) -> Result<(), String> {
        let mut client = self.client.clone();
        client.timeout = self.timeout;
        client.max_body = 64 << 10;
        let reply = client
            .fetch(
                Method::POST,
                &self.url,
                &[(
                    header::CONTENT_TYPE,
                    header::HeaderValue::from_static("application/json"),
                )],
                Bytes::from(body.to_string()),
            )
            .await
            .map_err(|e| e.to_string())?;
        if (200..300).contains(&reply.status) {
            Ok(())
        } else {
            Err(format!("HTTP {}", reply.status))
        }
    }

    /// POST one alert, retrying with backoff.
    pub async fn post(&self, body: &str) -> Result<(), String> {
        let mut delay = self.backoff;
        let mut last = String::new();
        for attempt in 0..=self.retries {
            match self.post_once(body).await {
                Ok(()) => return Ok(()),
                Err(e) => last = e,
            }
            if attempt < self.retries {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
        }
        Err(format!("{}: {last}", self.url))
    }
}

/// Server options.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Address to listen on.
    pub addr: SocketAddr,
    /// TLS configuration ([`tls_config`]); `None` serves plain HTTP (behind a
    /// TLS-terminating proxy, or tests).
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Largest accepted request body (larger batches get 413).
    pub max_body_bytes: usize,
    /// Batches read and evaluated at once (others wait): bounds memory to about this
    /// many times `max_body_bytes`.
    pub max_inflight_batches: usize,
    /// Connections served at once.
    pub max_connections: usize,
    /// Alerts queued for the sinks before new ones are dropped.
    pub queue_capacity: usize,
    /// Time allowed for the TLS handshake, the request headers and the body.
    pub read_timeout: Duration,
    /// Time allowed at shutdown for in-flight requests and queued alerts.
    pub shutdown_grace: Duration,
    /// The scaffold's counters (certificate reloads, accept errors, TLS failures), also
    /// on `/metrics`.
    pub net_metrics: Arc<ServerMetrics>,
}

impl ServerOptions {
    /// Defaults for `addr`: 32 MiB bodies, 4 batches at once, 1,024 connections, 10,000
    /// queued alerts, 30 s reads, 30 s grace.
    pub fn new(addr: SocketAddr) -> ServerOptions {
        ServerOptions {
            addr,
            tls: None,
            max_body_bytes: 32 << 20,
            max_inflight_batches: 4,
            max_connections: 1024,
            queue_capacity: 10_000,
            read_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(30),
            net_metrics: Arc::new(ServerMetrics::default()),
        }
    }

    fn net(&self) -> rampart_net::server::ServerOptions {
        let mut o = rampart_net::server::ServerOptions::new(self.addr, self.net_metrics.clone());
        o.tls = self.tls.clone();
        o.max_connections = self.max_connections;
        o.read_timeout = self.read_timeout;
        o.shutdown_grace = self.shutdown_grace;
        o.routes = ROUTES;
        o
    }
}

/// A TLS configuration serving the certificate in `files` (re-read when the files
/// change), requiring client certificates when `files.client_ca` is set. Give it the
/// server's [`ServerOptions::net_metrics`] so reloads are counted on `/metrics`.
pub fn tls_config(
    files: &ServerTlsFiles,
    net_metrics: Arc<ServerMetrics>,
) -> Result<Arc<rustls::ServerConfig>, ServerError> {
    Ok(rampart_net::tls::server_config(files, net_metrics)?)
}

/// What a server run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerSummary {
    /// Events evaluated.
    pub events: u64,
    /// Alerts raised (before queueing).
    pub alerts: u64,
    /// Alerts dropped (queue full).
    pub dropped: u64,
    /// Alerts delivered.
    pub delivered: u64,
    /// Rate-limit and input-error summary lines.
    pub notes: Vec<String>,
}

/// The routes request metrics are labelled with; every other path is the audit webhook
/// (`ingest`).
const ROUTES: Routes = Routes {
    paths: &["/healthz", "/readyz", "/metrics"],
    fallback: "ingest",
};

#[derive(Clone)]
struct AppState {
    monitor: Arc<Mutex<Monitor>>,
    metrics: Arc<Metrics>,
    tx: Arc<Mutex<Option<mpsc::Sender<Alert>>>>,
    batches: Arc<Semaphore>,
    life: Lifecycle,
    max_body: usize,
    read_timeout: Duration,
}

/// A bound, not yet running server.
pub struct Bound {
    inner: rampart_net::server::Bound,
    opts: ServerOptions,
}

impl Bound {
    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> Result<SocketAddr, ServerError> {
        Ok(self.inner.local_addr()?)
    }

    /// Serve until `shutdown` resolves, then stop accepting, let in-flight requests
    /// finish, deliver the queued alerts (within `shutdown_grace`) and return.
    pub async fn run(
        self,
        monitor: Monitor,
        sinks: Vec<Sink>,
        metrics: Arc<Metrics>,
        shutdown: impl std::future::Future<Output = ()> + Send,
    ) -> Result<ServerSummary, ServerError> {
        let (tx, rx) = mpsc::channel::<Alert>(self.opts.queue_capacity.max(1));
        let monitor = Arc::new(Mutex::new(monitor));
        let life = Lifecycle::new();
        let state = AppState {
            monitor: monitor.clone(),
            metrics: metrics.clone(),
            tx: Arc::new(Mutex::new(Some(tx))),
            batches: Arc::new(Semaphore::new(self.opts.max_inflight_batches.max(1))),
            life: life.clone(),
            max_body: self.opts.max_body_bytes,
            read_timeout: self.opts.read_timeout,
        };
        let mut registry = MetricsRegistry::new("rampart_runtime");
        self.opts.net_metrics.register(&mut registry);
        metrics.register(&mut registry);
        let sink_task = tokio::spawn(deliver(rx, sinks, metrics.clone()));
        let app = Router::new()
            .route("/healthz", get(|| async { "ok" }))
            .route("/readyz", get(ready))
            .fallback(ingest)
            .with_state(state.clone())
            .merge(rampart_net::metrics::router(Arc::new(registry)));
        let grace = self.opts.shutdown_grace;
        self.inner.serve(app, life, shutdown).await?;
        // Close the queue: the sink task drains what is left and ends.
        if let Ok(mut t) = state.tx.lock() {
            t.take();
        }
        drop(state);
        let _ = tokio::time::timeout(grace, sink_task).await;
        let (events, notes) = match monitor.lock() {
            Ok(m) => (m.stats().events, m.summary()),
            Err(_) => (0, Vec::new()),
        };
        Ok(ServerSummary {
            events,
            alerts: metrics.alerts(),
            dropped: metrics.alerts_dropped.get(),
            delivered: metrics.alerts_delivered.get(),
            notes,
        })
    }
}

/// Bind the listening socket.
pub async fn bind(opts: ServerOptions) -> Result<Bound, ServerError> {
    let inner = rampart_net::server::bind(opts.net()).await?;
    Ok(Bound { inner, opts })
}

/// Run a server on a new Tokio runtime until SIGINT or SIGTERM; `on_bound` is told the
/// address actually bound before serving starts. For callers without a runtime (the CLI).
pub fn run_until_signal(
    opts: ServerOptions,
    monitor: Monitor,
    sinks: Vec<Sink>,
    metrics: Arc<Metrics>,
    on_bound: impl FnOnce(SocketAddr),
) -> Result<ServerSummary, ServerError> {
    rampart_net::server::runtime()?.block_on(async move {
        let bound = bind(opts).await?;
        on_bound(bound.local_addr()?);
        bound.run(monitor, sinks, metrics, shutdown_signal()).await
    })
}

async fn ready(State(st): State<AppState>) -> impl IntoResponse {
    let open = st.tx.lock().map(|t| t.is_some()).unwrap_or(false);
    if open && !st.life.stopping() {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "shutting down")
    }
}

fn status(code: StatusCode, msg: &str) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        format!("{{\"error\":{}}}", serde_json::Value::from(msg)),
    )
        .into_response()
}

/// What evaluating one batch produced.
struct Evaluated {
    ok: u64,
    bad: u64,
    alerts: Vec<Alert>,
    blank: bool,
}

/// Decode and evaluate a batch (CPU-bound: runs on the blocking pool).
fn evaluate(monitor: &Mutex<Monitor>, bytes: &[u8]) -> Option<Evaluated> {
    let text = String::from_utf8_lossy(bytes);
    let results = crate::event::decode_events(&text);
    let mut out = Evaluated {
        ok: 0,
        bad: 0,
        alerts: Vec::new(),
        blank: bytes.iter().all(u8::is_ascii_whitespace),
    };
    let mut mon = monitor.lock().ok()?;
    for r in results {
        match r {
            Ok(ev) => {
                out.ok += 1;
                mon.process_event(&ev, &mut out.alerts);
            }
            Err(e) => {
                out.bad += 1;
                mon.record_error(&e);
            }
        }
    }
    Some(out)
}

async fn ingest(State(st): State<AppState>, req: Request<Body>) -> Response {
    if req.method() != Method::POST {
        return status(
            StatusCode::METHOD_NOT_ALLOWED,
            "POST audit.k8s.io/v1 EventList batches here",
        );
    }
    let Ok(_slot) = st.batches.clone().acquire_owned().await else {
        return status(StatusCode::SERVICE_UNAVAILABLE, "shutting down");
    };
    let bytes = match rampart_net::server::read_body(req, st.max_body, st.read_timeout).await {
        Ok(b) => b,
        Err(BodyError::TooLarge(_)) => {
            st.metrics.rejected_too_large.inc();
            return status(StatusCode::PAYLOAD_TOO_LARGE, "batch too large");
        }
        Err(BodyError::Timeout) => {
            return status(StatusCode::REQUEST_TIMEOUT, "timed out reading the body")
        }
        Err(_) => return status(StatusCode::BAD_REQUEST, "could not read the body"),
    };
    let Some(tx) = st.tx.lock().ok().and_then(|t| t.clone()) else {
        return status(StatusCode::SERVICE_UNAVAILABLE, "shutting down");
    };
    let monitor = st.monitor.clone();
    let evaluated =
        match rampart_net::server::blocking(None, move || evaluate(&monitor, &bytes)).await {
            Ok(Some(e)) => e,
            Ok(None) | Err(_) => {
                return status(StatusCode::INTERNAL_SERVER_ERROR, "monitor unavailable")
            }
        };
    let Evaluated {
        ok,
        bad,
        alerts,
        blank,
    } = evaluated;
    let m = &st.metrics;
    m.events.inc_by(ok);
    m.parse_errors.inc_by(bad);
    if ok == 0 && (bad > 0 || blank) {
        m.rejected_invalid.inc();
        return status(
            StatusCode::BAD_REQUEST,
            "data not recognized as a k8s audit event",
        );
    }
    m.batches.inc();
    for a in &alerts {
        m.alert(&a.rule);
    }
    for a in alerts {
        if tx.try_send(a).is_err() {
            m.alerts_dropped.inc();
        }
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        "{}",
    )
        .into_response()
}

async fn deliver(mut rx: mpsc::Receiver<Alert>, mut sinks: Vec<Sink>, metrics: Arc<Metrics>) {
    while let Some(a) = rx.recv().await {
        let mut ok = true;
        for s in &mut sinks {
            match s {
                Sink::Writer(w, fmt) => {
                    let line = match fmt {
                        AlertFormat::Text => a.to_text(),
                        AlertFormat::Json => a.to_json(),
                    };
                    if writeln!(w, "{line}").and_then(|()| w.flush()).is_err() {
                        ok = false;
                    }
                }
                Sink::Http(h) => {
                    if h.post(&a.to_json()).await.is_err() {
                        ok = false;
                    }
                }
            }
        }
        if ok {
            metrics.alerts_delivered.inc();
        } else {
            metrics.sink_errors.inc();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sink_urls() {
        let s = HttpSink::new("http://sidekick.falco:2801/").unwrap();
        assert_eq!(
            (
                s.url.host.as_str(),
                s.url.port,
                s.url.path_and_query.as_str()
            ),
            ("sidekick.falco", 2801, "/")
        );
        let s = HttpSink::new("http://127.0.0.1").unwrap();
        assert_eq!((s.url.port, s.url.path_and_query.as_str()), (80, "/"));
        assert!(HttpSink::new("ftp://x").is_err());
        assert!(HttpSink::new("http://:80/").is_err());
    }

    #[test]
    fn metrics_text() {
        let m = Metrics::default();
        m.events.inc_by(3);
        m.alert("A \"b\"");
        m.alert("A \"b\"");
        let t = m.render();
        assert!(t.contains("rampart_runtime_events_total 3"), "{t}");
        assert!(
            t.contains("rampart_runtime_alerts_total{rule=\"A \\\"b\\\"\"} 2"),
            "{t}"
        );
        assert_eq!(m.alerts(), 2);
    }

    #[test]
    fn rule_labels_are_capped() {
        let m = Metrics::default();
        for i in 0..(MAX_RULE_LABELS + 500) {
            m.alert(&format!("rule {i}"));
        }
        let t = m.render();
        let series = t
            .lines()
            .filter(|l| l.starts_with("rampart_runtime_alerts_total{"))
            .count();
        assert_eq!(series, MAX_RULE_LABELS + 1, "{t}");
        assert!(
            t.contains("rampart_runtime_alerts_total{rule=\"other\"} 500"),
            "{t}"
        );
    }
}
