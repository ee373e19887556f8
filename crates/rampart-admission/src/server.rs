//! The HTTPS server: `/validate`, `/mutate`, `/healthz`, `/readyz`, `/metrics`.
//!
//! What each kind of bad request gets (the API server applies the webhook's
//! `failurePolicy` to any answer that is not HTTP 200 with a valid AdmissionReview):
//!
//! | request | answer |
//! |---|---|
//! | not `POST` | 405 |
//! | body over the limit | 413 (a declared body up to 4× the limit is drained first; larger ones are refused before reading) |
//! | not JSON, not an AdmissionReview, no `request.uid` | 400: there is no uid to answer |
//! | `apiVersion` other than `admission.k8s.io/v1` | 400: a v1 answer to a v1beta1 request is itself invalid |
//! | unknown kind, object without a pod spec, `DELETE`/`CONNECT`, other subresources | 200, allowed |
//! | a rule panics, or evaluation passes the deadline | 200, `allowed` per `on_error` (deny by default), `status.code` 500 |

use crate::engine::{AuditSink, Engine, Outcome};
use crate::metrics::{Endpoint, Metrics};
use crate::mutate::Lookups;
use crate::registry::Registry;
use crate::review::{self, Response};
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, Method, Request, StatusCode};
use axum::response::{IntoResponse, Response as HttpResponse};
use axum::routing::get;
use axum::Router;
use http_body_util::BodyExt;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio::net::TcpListener;
use tokio_rustls::rustls;
use tokio_rustls::rustls::server::{ClientHello, ResolvesServerCert};
use tokio_rustls::rustls::sign::CertifiedKey;

/// Server errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// Certificate or key.
    #[error("{path}: {message}")]
    Tls {
        /// File.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// Binding.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

fn tls_err(p: &Path, m: impl std::fmt::Display) -> ServerError {
    ServerError::Tls {
        path: p.display().to_string(),
        message: m.to_string(),
    }
}

fn load_certified_key(cert: &Path, key: &Path) -> Result<CertifiedKey, ServerError> {
    let cert_pem = std::fs::read(cert).map_err(|e| tls_err(cert, e))?;
    let key_pem = std::fs::read(key).map_err(|e| tls_err(key, e))?;
    let certs = rustls_pemfile::certs(&mut cert_pem.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| tls_err(cert, e))?;
    if certs.is_empty() {
        return Err(tls_err(cert, "no PEM certificate found"));
    }
    let key_der = rustls_pemfile::private_key(&mut key_pem.as_slice())
        .map_err(|e| tls_err(key, e))?
        .ok_or_else(|| tls_err(key, "no PEM private key found"))?;
    let provider = rustls::crypto::ring::default_provider();
    let signing = provider
        .key_provider
        .load_private_key(key_der)
        .map_err(|e| tls_err(key, e))?;
    let ck = CertifiedKey::new(certs, signing);
    ck.keys_match().map_err(|e| tls_err(key, e))?;
    Ok(ck)
}

fn mtime(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

struct CertState {
    key: Arc<CertifiedKey>,
    stamps: (Option<SystemTime>, Option<SystemTime>),
    checked: Instant,
}

/// Serves the certificate in `cert`/`key`, re-reading both when either file's
/// modification time changes (checked at most once a second, on a handshake). A
/// failed reload (half-written files) keeps the previous certificate.
pub struct ReloadingCert {
    cert: PathBuf,
    key: PathBuf,
    state: Mutex<CertState>,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for ReloadingCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReloadingCert")
            .field("cert", &self.cert)
            .field("key", &self.key)
            .finish()
    }
}

impl ReloadingCert {
    /// Load the files now (errors if they are unusable).
    pub fn new(
        cert: &Path,
        key: &Path,
        metrics: Arc<Metrics>,
    ) -> Result<ReloadingCert, ServerError> {
        let ck = load_certified_key(cert, key)?;
        Ok(ReloadingCert {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            state: Mutex::new(CertState {
                key: Arc::new(ck),
                stamps: (mtime(cert), mtime(key)),
                checked: Instant::now(),
            }),
            metrics,
        })
    }

    /// The current certificate, reloading it first if the files changed.
    pub fn current(&self) -> Option<Arc<CertifiedKey>> {
        let mut st = self.state.lock().ok()?;
        if st.checked.elapsed() >= Duration::from_secs(1) {
            st.checked = Instant::now();
            let stamps = (mtime(&self.cert), mtime(&self.key));
            if stamps != st.stamps {
                if let Ok(ck) = load_certified_key(&self.cert, &self.key) {
                    st.key = Arc::new(ck);
                    st.stamps = stamps;
                    self.metrics.cert_reloads.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        Some(st.key.clone())
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current()
    }
}

/// A TLS configuration (TLS 1.2 and 1.3, HTTP/1.1) serving a reloading certificate.
pub fn tls_config(
    cert: &Path,
    key: &Path,
    metrics: Arc<Metrics>,
) -> Result<Arc<rustls::ServerConfig>, ServerError> {
    let resolver = ReloadingCert::new(cert, key, metrics)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_err(cert, e))?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(resolver));
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// Server options.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Address to listen on.
    pub addr: SocketAddr,
    /// TLS; `None` serves plain HTTP (tests, or behind a TLS-terminating proxy).
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Largest request body (the API server's object limit is 3 MiB, and a review of an
    /// UPDATE carries two objects).
    pub max_body_bytes: usize,
    /// Time allowed for the TLS handshake, request headers and body.
    pub read_timeout: Duration,
    /// Time allowed at shutdown for in-flight requests.
    pub shutdown_grace: Duration,
    /// After the shutdown signal, keep serving (with `/readyz` failing) this long so
    /// that Service endpoints drop the pod before it stops accepting connections.
    pub shutdown_delay: Duration,
}

impl ServerOptions {
    /// Defaults: 8 MiB bodies, 10 s reads, 20 s grace.
    pub fn new(addr: SocketAddr) -> ServerOptions {
        ServerOptions {
            addr,
            tls: None,
            max_body_bytes: 8 << 20,
            read_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(20),
            shutdown_delay: Duration::ZERO,
        }
    }
}

#[derive(Clone)]
struct AppState {
    engine: Arc<Engine>,
    metrics: Arc<Metrics>,
    audit: Arc<dyn AuditSink>,
    registry: Option<Arc<Registry>>,
    stopping: Arc<AtomicBool>,
    max_body: usize,
    read_timeout: Duration,
}

/// A bound, not yet running server.
pub struct Bound {
    listener: TcpListener,
    opts: ServerOptions,
}

/// What the server needs besides its options.
#[derive(Clone)]
pub struct Services {
    /// The decision engine.
    pub engine: Arc<Engine>,
    /// Metrics (shared with the TLS resolver).
    pub metrics: Arc<Metrics>,
    /// Audit sink.
    pub audit: Arc<dyn AuditSink>,
    /// Registry client for `/mutate` lookups (`None`: no lookups).
    pub registry: Option<Arc<Registry>>,
}

/// Bind the listening socket.
pub async fn bind(opts: ServerOptions) -> Result<Bound, ServerError> {
    let listener = TcpListener::bind(opts.addr).await?;
    Ok(Bound { listener, opts })
}

impl Bound {
    /// The address actually bound.
    pub fn local_addr(&self) -> Result<SocketAddr, ServerError> {
        Ok(self.listener.local_addr()?)
    }

    /// Serve until `shutdown` resolves; then `/readyz` fails, connections are still
    /// accepted for `shutdown_delay`, then no more, and in-flight requests finish (within
    /// `shutdown_grace`).
    pub async fn run(
        self,
        services: Services,
        shutdown: impl std::future::Future<Output = ()> + Send,
    ) -> Result<(), ServerError> {
        let stopping = Arc::new(AtomicBool::new(false));
        let state = AppState {
            engine: services.engine,
            metrics: services.metrics,
            audit: services.audit,
            registry: services.registry,
            stopping: stopping.clone(),
            max_body: self.opts.max_body_bytes,
            read_timeout: self.opts.read_timeout,
        };
        let app = Router::new()
            .route("/healthz", get(|| async { "ok" }))
            .route("/readyz", get(ready))
            .route("/metrics", get(metrics_handler))
            .route("/validate", axum::routing::any(validate))
            .route("/mutate", axum::routing::any(mutate))
            .with_state(state);
        let graceful = GracefulShutdown::new();
        let acceptor = self.opts.tls.clone().map(tokio_rustls::TlsAcceptor::from);
        let delay = self.opts.shutdown_delay;
        let flag = stopping.clone();
        let shutdown = async move {
            shutdown.await;
            flag.store(true, Ordering::Release);
            tokio::time::sleep(delay).await;
        };
        tokio::pin!(shutdown);
        loop {
            let (tcp, _peer) = tokio::select! {
                r = self.listener.accept() => match r {
                    Ok(c) => c,
                    Err(_) => {
                        // Out of file descriptors and the like: back off briefly.
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let _ = tcp.set_nodelay(true);
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
        stopping.store(true, Ordering::Release);
        drop(self.listener);
        let _ = tokio::time::timeout(self.opts.shutdown_grace, graceful.shutdown()).await;
        Ok(())
    }
}

/// Run on a new Tokio runtime until SIGINT/SIGTERM; `on_bound` gets the bound address.
pub fn run_until_signal(
    opts: ServerOptions,
    services: Services,
    on_bound: impl FnOnce(SocketAddr),
) -> Result<(), ServerError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let bound = bind(opts).await?;
        on_bound(bound.local_addr()?);
        bound.run(services, shutdown_signal()).await
    })
}

/// Resolves on SIGINT or SIGTERM.
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
    if st.stopping.load(Ordering::Acquire) {
        (StatusCode::SERVICE_UNAVAILABLE, "shutting down")
    } else if !st.engine.namespaces().ready() {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "namespace cache not synced",
        )
    } else {
        (StatusCode::OK, "ready")
    }
}

async fn metrics_handler(State(st): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        st.metrics.render(),
    )
}

fn plain(code: StatusCode, msg: &str) -> HttpResponse {
    (
        code,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{msg}\n"),
    )
        .into_response()
}

async fn read_body(st: &AppState, req: Request<Body>) -> Result<axum::body::Bytes, HttpResponse> {
    if req.method() != Method::POST {
        return Err(plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "POST an admission.k8s.io/v1 AdmissionReview",
        ));
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let too_large = || {
        plain(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("AdmissionReview larger than {} bytes", st.max_body),
        )
    };
    if let Some(n) = declared.filter(|n| *n > st.max_body) {
        // A moderately oversized body is read and discarded first (bounded in size and
        // time), so the client finishes sending and gets the 413 instead of a connection
        // reset mid-write; a far larger one is refused at once.
        if n <= st.max_body.saturating_mul(4) {
            let mut body = req.into_body();
            let _ = tokio::time::timeout(st.read_timeout, async {
                while let Some(frame) = body.frame().await {
                    if frame.is_err() {
                        break;
                    }
                }
            })
            .await;
        }
        return Err(too_large());
    }
    let limited = http_body_util::Limited::new(req.into_body(), st.max_body);
    match tokio::time::timeout(st.read_timeout, limited.collect()).await {
        Err(_) => Err(plain(
            StatusCode::REQUEST_TIMEOUT,
            "timed out reading the body",
        )),
        Ok(Err(e)) => {
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                Err(too_large())
            } else {
                Err(plain(StatusCode::BAD_REQUEST, "could not read the body"))
            }
        }
        Ok(Ok(c)) => Ok(c.to_bytes()),
    }
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_string()
    }
}

/// Run `f` on the blocking pool, catching panics, bounded by `deadline`.
async fn isolated(
    st: &AppState,
    deadline: Duration,
    f: impl FnOnce() -> Outcome + Send + 'static,
) -> Result<Outcome, String> {
    let task = tokio::task::spawn_blocking(move || {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
    });
    match tokio::time::timeout(deadline, task).await {
        Err(_) => {
            st.metrics.deadline_exceeded.fetch_add(1, Ordering::Relaxed);
            Err(format!(
                "evaluation exceeded the {} ms deadline",
                deadline.as_millis()
            ))
        }
        Ok(Err(join)) => {
            st.metrics.panics.fetch_add(1, Ordering::Relaxed);
            Err(format!("evaluation failed: {join}"))
        }
        Ok(Ok(Err(p))) => {
            st.metrics.panics.fetch_add(1, Ordering::Relaxed);
            Err(format!("a rule panicked: {}", panic_message(&*p)))
        }
        Ok(Ok(Ok(o))) => Ok(o),
    }
}

fn error_outcome(st: &AppState, why: &str) -> Outcome {
    let allow = st.engine.settings.allow_on_error;
    Outcome {
        response: Response {
            allowed: allow,
            code: 500,
            message: format!("rampart: {why}"),
            warnings: if allow {
                vec![format!(
                    "rampart: {why}; admitted without checks (on_error: allow)"
                )]
            } else {
                Vec::new()
            },
            ..Response::default()
        },
        ..Outcome::default()
    }
}

fn review_response(uid: &str, r: &Response) -> HttpResponse {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        r.to_review(uid).to_string(),
    )
        .into_response()
}

async fn handle(st: AppState, req: Request<Body>, ep: Endpoint) -> HttpResponse {
    let started = Instant::now();
    let resp = handle_inner(&st, req, ep).await;
    st.metrics
        .request(ep, resp.status().as_u16(), started.elapsed());
    resp
}

async fn handle_inner(st: &AppState, req: Request<Body>, ep: Endpoint) -> HttpResponse {
    let body = match read_body(st, req).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let request = match review::parse(&body) {
        Ok(r) => Arc::new(r),
        Err(e) => return plain(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    let deadline = st.engine.settings.timeout;
    let engine = st.engine.clone();
    let outcome = match ep {
        Endpoint::Validate => {
            let r = request.clone();
            isolated(st, deadline, move || engine.validate(&r)).await
        }
        Endpoint::Mutate => {
            let started = Instant::now();
            let (users, digests) = engine.lookups_needed(&request);
            let lookups = match (&st.registry, users.is_empty() && digests.is_empty()) {
                (Some(reg), false) => reg.lookups(&users, &digests, deadline / 2).await,
                _ => Lookups::default(),
            };
            let r = request.clone();
            let rest = deadline.saturating_sub(started.elapsed());
            isolated(st, rest, move || engine.mutate(&r, &lookups)).await
        }
    };
    let outcome = outcome.unwrap_or_else(|why| error_outcome(st, &why));
    st.metrics.answer(
        ep,
        outcome.response.allowed,
        &request.namespace,
        &outcome.counted,
    );
    if !outcome.response.patch.is_empty() {
        st.metrics.patches.fetch_add(1, Ordering::Relaxed);
    }
    if let Some(ev) = &outcome.audit {
        st.audit.record(ev);
    }
    review_response(&request.uid, &outcome.response)
}

async fn validate(State(st): State<AppState>, req: Request<Body>) -> HttpResponse {
    handle(st, req, Endpoint::Validate).await
}

async fn mutate(State(st): State<AppState>, req: Request<Body>) -> HttpResponse {
    handle(st, req, Endpoint::Mutate).await
}

/// Everything `rampart admission serve` sets up.
pub struct ServeSetup {
    /// Listener, TLS, limits.
    pub opts: ServerOptions,
    /// The engine (its namespace source is replaced by the watch cache when `kube` is set).
    pub engine: Engine,
    /// API server client: Namespace watch cache (and PolicyReports when enabled).
    pub kube: Option<crate::kube::KubeClient>,
    /// Create PolicyReports for audit-mode decisions (needs `kube`).
    pub policy_reports: bool,
    /// Where audit JSON lines go.
    pub audit_log: Box<dyn std::io::Write + Send>,
    /// Registry client for `/mutate` lookups.
    pub registry: Option<Registry>,
    /// Metrics (give the same to [`tls_config`] to count certificate reloads).
    pub metrics: Arc<Metrics>,
}

/// Run `rampart admission serve` on a new Tokio runtime until SIGINT/SIGTERM.
pub fn serve_until_signal(
    setup: ServeSetup,
    on_bound: impl FnOnce(SocketAddr),
) -> Result<(), ServerError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let mut engine = setup.engine;
        let metrics = setup.metrics;
        let mut audit = crate::kube::JsonAuditSink::new(setup.audit_log);
        if let Some(client) = setup.kube {
            let store = Arc::new(crate::namespaces::StaticNamespaces::new());
            let watcher = crate::kube::KubeNamespaces::new(client.clone(), store.clone());
            tokio::spawn(watcher.run());
            engine = engine.with_namespaces(store);
            if setup.policy_reports {
                audit = audit.with_policy_reports(client);
            }
        }
        let services = Services {
            engine: Arc::new(engine),
            metrics,
            audit: Arc::new(audit),
            registry: setup.registry.map(Arc::new),
        };
        let bound = bind(setup.opts).await?;
        on_bound(bound.local_addr()?);
        bound.run(services, shutdown_signal()).await
    })
}
