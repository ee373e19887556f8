//! The audit webhook backend: an HTTPS endpoint receiving `audit.k8s.io/v1` `EventList`
//! batches (what the API server sends with `--audit-webhook-config-file`), plus
//! `/metrics` (Prometheus), `/healthz`, `/readyz`, and graceful shutdown that flushes the
//! queued alerts.
//!
//! Alerts go through a bounded queue to the sinks, so a slow sink never blocks
//! ingestion: when the queue is full, alerts are dropped and counted.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use http_body_util::BodyExt;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_rustls::rustls;

use crate::alert::Alert;
use crate::monitor::Monitor;

/// Server errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// Reading certificate or key files.
    #[error("{path}: {message}")]
    Tls {
        /// File.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// Binding or accepting.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A sink URL that cannot be used.
    #[error("sink: {0}")]
    Sink(String),
}

/// Counters exported on `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Audit events evaluated.
    pub events: AtomicU64,
    /// Records that were not audit events.
    pub parse_errors: AtomicU64,
    /// Batches accepted.
    pub batches: AtomicU64,
    /// Batches refused: too large (413).
    pub rejected_too_large: AtomicU64,
    /// Batches refused: not JSON / no audit events (400).
    pub rejected_invalid: AtomicU64,
    /// Alerts dropped because the queue was full.
    pub alerts_dropped: AtomicU64,
    /// Alerts delivered to every sink.
    pub alerts_delivered: AtomicU64,
    /// Delivery failures (after retries).
    pub sink_errors: AtomicU64,
    /// Alerts raised, by rule.
    pub alerts_by_rule: Mutex<BTreeMap<String, u64>>,
}

impl Metrics {
    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let mut counter = |name: &str, help: &str, v: &AtomicU64| {
            let _ = writeln!(
                s,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                v.load(Ordering::Relaxed)
            );
        };
        counter(
            "rampart_runtime_events_total",
            "Audit events evaluated.",
            &self.events,
        );
        counter(
            "rampart_runtime_parse_errors_total",
            "Input records that were not audit events.",
            &self.parse_errors,
        );
        counter(
            "rampart_runtime_batches_total",
            "Event batches accepted.",
            &self.batches,
        );
        counter(
            "rampart_runtime_batches_too_large_total",
            "Batches refused with 413.",
            &self.rejected_too_large,
        );
        counter(
            "rampart_runtime_batches_invalid_total",
            "Batches refused with 400.",
            &self.rejected_invalid,
        );
        counter(
            "rampart_runtime_alerts_dropped_total",
            "Alerts dropped because the sink queue was full.",
            &self.alerts_dropped,
        );
        counter(
            "rampart_runtime_alerts_delivered_total",
            "Alerts delivered to the sinks.",
            &self.alerts_delivered,
        );
        counter(
            "rampart_runtime_sink_errors_total",
            "Alert deliveries that failed after retries.",
            &self.sink_errors,
        );
        let _ = writeln!(s, "# HELP rampart_runtime_alerts_total Alerts raised, by rule.\n# TYPE rampart_runtime_alerts_total counter");
        if let Ok(m) = self.alerts_by_rule.lock() {
            for (rule, n) in m.iter() {
                let rule = rule
                    .replace('\\', "\\\\")
                    .replace('"', "\\\"")
                    .replace('\n', "\\n");
                let _ = writeln!(s, "rampart_runtime_alerts_total{{rule=\"{rule}\"}} {n}");
            }
        }
        s
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
/// (verified against the system CA bundle, or a CA file).
#[derive(Clone)]
pub struct HttpSink {
    url: String,
    host: String,
    port: u16,
    path: String,
    https: bool,
    tls: Option<Arc<rustls::ClientConfig>>,
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
            .field("url", &self.url)
            .field("retries", &self.retries)
            .finish()
    }
}

/// PEM files where distributions keep their CA bundle (`SSL_CERT_FILE` first).
const CA_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
    "/etc/ssl/ca-bundle.pem",
];

fn client_tls(ca_file: Option<&Path>) -> Result<Arc<rustls::ClientConfig>, ServerError> {
    let mut candidates: Vec<std::path::PathBuf> = Vec::new();
    match ca_file {
        Some(p) => candidates.push(p.to_path_buf()),
        None => {
            if let Some(p) = std::env::var_os("SSL_CERT_FILE") {
                candidates.push(p.into());
            }
            candidates.extend(CA_BUNDLES.iter().map(std::path::PathBuf::from));
        }
    }
    let mut roots = rustls::RootCertStore::empty();
    for p in &candidates {
        let Ok(pem) = std::fs::read(p) else { continue };
        for cert in rustls_pemfile::certs(&mut pem.as_slice()).flatten() {
            let _ = roots.add(cert);
        }
        if !roots.is_empty() {
            break;
        }
    }
    if roots.is_empty() {
        return Err(ServerError::Sink(format!(
            "no CA certificates found (looked in {})",
            candidates
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ServerError::Sink(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(cfg))
}

async fn post_over<I>(
    io: I,
    req: Request<http_body_util::Full<axum::body::Bytes>>,
) -> Result<(), String>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
    if resp.status().is_success() {
        Ok(())
    } else {
        Err(format!("HTTP {}", resp.status()))
    }
}

impl HttpSink {
    /// Parse `http://host[:port][/path]` or `https://…` (verified against the system CA
    /// bundle; see [`HttpSink::with_ca_file`]).
    pub fn new(url: &str) -> Result<HttpSink, ServerError> {
        let (rest, https) = match (url.strip_prefix("http://"), url.strip_prefix("https://")) {
            (Some(r), _) => (r, false),
            (_, Some(r)) => (r, true),
            _ => {
                return Err(ServerError::Sink(format!(
                    "{url}: expected an http:// or https:// URL"
                )))
            }
        };
        let (hostport, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => (
                h,
                p.parse::<u16>()
                    .map_err(|_| ServerError::Sink(format!("{url}: bad port")))?,
            ),
            _ => (hostport, if https { 443 } else { 80 }),
        };
        if host.is_empty() {
            return Err(ServerError::Sink(format!("{url}: no host")));
        }
        Ok(HttpSink {
            // Without a system CA bundle an https sink needs `with_ca_file`.
            tls: if https { client_tls(None).ok() } else { None },
            https,
            url: url.to_string(),
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
            port,
            path: path.to_string(),
            retries: 5,
            backoff: Duration::from_millis(200),
            timeout: Duration::from_secs(10),
        })
    }

    /// Verify an `https://` sink against this CA file (PEM) instead of the system bundle.
    pub fn with_ca_file(mut self, ca: &Path) -> Result<HttpSink, ServerError> {
        if self.https {
            self.tls = Some(client_tls(Some(ca))?);
        }
        Ok(self)
    }

    async fn post_once(&self, body: &str) -> Result<(), String> {
        let tcp = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| e.to_string())?;
        let req = Request::post(&self.path)
            .header(header::HOST, format!("{}:{}", self.host, self.port))
            .header(header::CONTENT_TYPE, "application/json")
            .body(http_body_util::Full::new(axum::body::Bytes::from(
                body.to_string(),
            )))
            .map_err(|e| e.to_string())?;
        match &self.tls {
            None if self.https => {
                Err("no CA certificates to verify the server (use a CA file)".into())
            }
            None => post_over(TokioIo::new(tcp), req).await,
            Some(cfg) => {
                let name = rustls::pki_types::ServerName::try_from(self.host.clone())
                    .map_err(|e| e.to_string())?;
                let tls = tokio_rustls::TlsConnector::from(cfg.clone())
                    .connect(name, tcp)
                    .await
                    .map_err(|e| e.to_string())?;
                post_over(TokioIo::new(tls), req).await
            }
        }
    }

    /// POST one alert, retrying with backoff.
    pub async fn post(&self, body: &str) -> Result<(), String> {
        let mut delay = self.backoff;
        let mut last = String::new();
        for attempt in 0..=self.retries {
            match tokio::time::timeout(self.timeout, self.post_once(body)).await {
                Ok(Ok(())) => return Ok(()),
                Ok(Err(e)) => last = e,
                Err(_) => last = "timed out".into(),
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
    /// TLS configuration; `None` serves plain HTTP (behind a TLS-terminating proxy, or
    /// tests).
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Largest accepted request body (larger batches get 413).
    pub max_body_bytes: usize,
    /// Alerts queued for the sinks before new ones are dropped.
    pub queue_capacity: usize,
    /// Time allowed for the TLS handshake, the request headers and the body.
    pub read_timeout: Duration,
    /// Time allowed at shutdown for in-flight requests and queued alerts.
    pub shutdown_grace: Duration,
}

impl ServerOptions {
    /// Defaults for `addr`: 32 MiB bodies, 10,000 queued alerts, 30 s reads, 30 s grace.
    pub fn new(addr: SocketAddr) -> ServerOptions {
        ServerOptions {
            addr,
            tls: None,
            max_body_bytes: 32 << 20,
            queue_capacity: 10_000,
            read_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// Load a PEM certificate chain and private key.
pub fn load_tls(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, ServerError> {
    let err = |p: &Path, m: String| ServerError::Tls {
        path: p.display().to_string(),
        message: m,
    };
    let cert_pem = std::fs::read(cert).map_err(|e| err(cert, e.to_string()))?;
    let key_pem = std::fs::read(key).map_err(|e| err(key, e.to_string()))?;
    let certs = rustls_pemfile::certs(&mut cert_pem.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(cert, e.to_string()))?;
    if certs.is_empty() {
        return Err(err(cert, "no PEM certificate found".into()));
    }
    let key_der = rustls_pemfile::private_key(&mut key_pem.as_slice())
        .map_err(|e| err(key, e.to_string()))?
        .ok_or_else(|| err(key, "no PEM private key found".into()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| err(cert, e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key_der)
        .map_err(|e| err(cert, e.to_string()))?;
    Ok(Arc::new(cfg))
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

#[derive(Clone)]
struct AppState {
    monitor: Arc<Mutex<Monitor>>,
    metrics: Arc<Metrics>,
    tx: Arc<Mutex<Option<mpsc::Sender<Alert>>>>,
    max_body: usize,
    read_timeout: Duration,
}

/// A bound, not yet running server.
pub struct Bound {
    listener: TcpListener,
    opts: ServerOptions,
}

impl Bound {
    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> Result<SocketAddr, ServerError> {
        Ok(self.listener.local_addr()?)
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
        let state = AppState {
            monitor: monitor.clone(),
            metrics: metrics.clone(),
            tx: Arc::new(Mutex::new(Some(tx))),
            max_body: self.opts.max_body_bytes,
            read_timeout: self.opts.read_timeout,
        };
        let sink_task = tokio::spawn(deliver(rx, sinks, metrics.clone()));
        let app = Router::new()
            .route("/healthz", get(|| async { "ok" }))
            .route("/readyz", get(ready))
            .route("/metrics", get(metrics_handler))
            .fallback(ingest)
            .with_state(state.clone());
        let graceful = GracefulShutdown::new();
        let acceptor = self.opts.tls.clone().map(tokio_rustls::TlsAcceptor::from);
        tokio::pin!(shutdown);
        loop {
            let (tcp, _peer) = tokio::select! {
                r = self.listener.accept() => match r {
                    Ok(c) => c,
                    Err(_) => continue,
                },
                () = &mut shutdown => break,
            };
            let svc = TowerToHyperService::new(app.clone());
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(self.opts.read_timeout);
            let watcher = graceful.watcher();
            let acceptor = acceptor.clone();
            let timeout = self.opts.read_timeout;
            tokio::spawn(async move {
                match acceptor {
                    Some(acc) => {
                        let Ok(Ok(tls)) = tokio::time::timeout(timeout, acc.accept(tcp)).await
                        else {
                            return;
                        };
                        let conn = builder.serve_connection(TokioIo::new(tls), svc);
                        let _ = watcher.watch(conn).await;
                    }
                    None => {
                        let conn = builder.serve_connection(TokioIo::new(tcp), svc);
                        let _ = watcher.watch(conn).await;
                    }
                }
            });
        }
        drop(self.listener);
        let grace = self.opts.shutdown_grace;
        let _ = tokio::time::timeout(grace, graceful.shutdown()).await;
        // Close the queue: the sink task drains what is left and ends.
        if let Ok(mut t) = state.tx.lock() {
            t.take();
        }
        drop(app);
        drop(state);
        let _ = tokio::time::timeout(grace, sink_task).await;
        let (events, notes) = match monitor.lock() {
            Ok(m) => (m.stats().events, m.summary()),
            Err(_) => (0, Vec::new()),
        };
        let alerts = metrics
            .alerts_by_rule
            .lock()
            .map(|m| m.values().sum())
            .unwrap_or(0);
        Ok(ServerSummary {
            events,
            alerts,
            dropped: metrics.alerts_dropped.load(Ordering::Relaxed),
            delivered: metrics.alerts_delivered.load(Ordering::Relaxed),
            notes,
        })
    }
}

/// Bind the listening socket.
pub async fn bind(opts: ServerOptions) -> Result<Bound, ServerError> {
    let listener = TcpListener::bind(opts.addr).await?;
    Ok(Bound { listener, opts })
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
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let bound = bind(opts).await?;
        on_bound(bound.local_addr()?);
        bound.run(monitor, sinks, metrics, shutdown_signal()).await
    })
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    {
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            () = ctrl_c => {},
            () = term => {},
        }
    }
    #[cfg(not(unix))]
    ctrl_c.await;
}

async fn ready(State(st): State<AppState>) -> impl IntoResponse {
    let open = st.tx.lock().map(|t| t.is_some()).unwrap_or(false);
    if open {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "shutting down")
    }
}

async fn metrics_handler(State(st): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        st.metrics.render(),
    )
}

fn status(code: StatusCode, msg: &str) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        format!("{{\"error\":{}}}", serde_json::Value::from(msg)),
    )
        .into_response()
}

async fn ingest(State(st): State<AppState>, req: Request<Body>) -> Response {
    if req.method() != Method::POST {
        return status(
            StatusCode::METHOD_NOT_ALLOWED,
            "POST audit.k8s.io/v1 EventList batches here",
        );
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > st.max_body) {
        st.metrics
            .rejected_too_large
            .fetch_add(1, Ordering::Relaxed);
        return status(StatusCode::PAYLOAD_TOO_LARGE, "batch too large");
    }
    let limited = http_body_util::Limited::new(req.into_body(), st.max_body);
    let bytes = match tokio::time::timeout(st.read_timeout, limited.collect()).await {
        Err(_) => return status(StatusCode::REQUEST_TIMEOUT, "timed out reading the body"),
        Ok(Err(e)) => {
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                st.metrics
                    .rejected_too_large
                    .fetch_add(1, Ordering::Relaxed);
                return status(StatusCode::PAYLOAD_TOO_LARGE, "batch too large");
            }
            return status(StatusCode::BAD_REQUEST, "could not read the body");
        }
        Ok(Ok(c)) => c.to_bytes(),
    };
    let Some(tx) = st.tx.lock().ok().and_then(|t| t.clone()) else {
        return status(StatusCode::SERVICE_UNAVAILABLE, "shutting down");
    };
    let text = String::from_utf8_lossy(&bytes);
    let results = crate::event::decode_events(&text);
    let mut alerts = Vec::new();
    let (mut ok, mut bad) = (0u64, 0u64);
    {
        let Ok(mut mon) = st.monitor.lock() else {
            return status(StatusCode::INTERNAL_SERVER_ERROR, "monitor unavailable");
        };
        for r in results {
            match r {
                Ok(ev) => {
                    ok += 1;
                    mon.process_event(&ev, &mut alerts);
                }
                Err(e) => {
                    bad += 1;
                    mon.record_error(&e);
                }
            }
        }
    }
    let m = &st.metrics;
    m.events.fetch_add(ok, Ordering::Relaxed);
    m.parse_errors.fetch_add(bad, Ordering::Relaxed);
    if ok == 0 && (bad > 0 || bytes.iter().all(u8::is_ascii_whitespace)) {
        m.rejected_invalid.fetch_add(1, Ordering::Relaxed);
        return status(
            StatusCode::BAD_REQUEST,
            "data not recognized as a k8s audit event",
        );
    }
    m.batches.fetch_add(1, Ordering::Relaxed);
    if let Ok(mut by_rule) = m.alerts_by_rule.lock() {
        for a in &alerts {
            *by_rule.entry(a.rule.clone()).or_insert(0) += 1;
        }
    }
    for a in alerts {
        if tx.try_send(a).is_err() {
            m.alerts_dropped.fetch_add(1, Ordering::Relaxed);
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
            metrics.alerts_delivered.fetch_add(1, Ordering::Relaxed);
        } else {
            metrics.sink_errors.fetch_add(1, Ordering::Relaxed);
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
            (s.host.as_str(), s.port, s.path.as_str()),
            ("sidekick.falco", 2801, "/")
        );
        let s = HttpSink::new("http://127.0.0.1").unwrap();
        assert_eq!((s.port, s.path.as_str()), (80, "/"));
        assert!(HttpSink::new("ftp://x").is_err());
        assert!(HttpSink::new("http://:80/").is_err());
    }

    #[test]
    fn metrics_text() {
        let m = Metrics::default();
        m.events.fetch_add(3, Ordering::Relaxed);
        m.alerts_by_rule.lock().unwrap().insert("A \"b\"".into(), 2);
        let t = m.render();
        assert!(t.contains("rampart_runtime_events_total 3"));
        assert!(t.contains("rampart_runtime_alerts_total{rule=\"A \\\"b\\\"\"} 2"));
    }
}
