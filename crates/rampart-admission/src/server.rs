//! The HTTPS server: `/validate`, `/mutate`, `/healthz`, `/readyz`, `/metrics`, on the
//! one server scaffold of [`rampart_net::server`] (accept backoff, connection cap,
//! certificate reload, optional mutual TLS, timeouts, graceful shutdown).
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
//! | with a client CA: no client certificate, or one from another CA | TLS handshake refused |

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
use rampart_net::metrics::{MetricsRegistry, Routes};
pub use rampart_net::server::{shutdown_signal, ServerMetrics};
use rampart_net::server::{BlockingError, BodyError, Lifecycle};
pub use rampart_net::tls::ServerTlsFiles;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_rustls::rustls;

/// Server errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// TLS files, binding, the runtime.
    #[error(transparent)]
    Net(#[from] rampart_net::NetError),
    /// I/O.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The Kubernetes API client could not be set up.
    #[error(transparent)]
    Cluster(#[from] rampart_cluster::ClusterError),
}

/// A TLS configuration (TLS 1.2 and 1.3, HTTP/1.1) serving a certificate reloaded when
/// its files change, requiring client certificates when `files.client_ca` is set. Give
/// it the server's [`ServerOptions::net_metrics`] so reloads are counted on `/metrics`.
pub fn tls_config(
    files: &ServerTlsFiles,
    net_metrics: Arc<ServerMetrics>,
) -> Result<Arc<rustls::ServerConfig>, ServerError> {
    Ok(rampart_net::tls::server_config(files, net_metrics)?)
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
    /// Connections served at once.
    pub max_connections: usize,
    /// Time allowed for the TLS handshake, request headers and body.
    pub read_timeout: Duration,
    /// Time allowed at shutdown for in-flight requests.
    pub shutdown_grace: Duration,
    /// After the shutdown signal, keep serving (with `/readyz` failing) this long so
    /// that Service endpoints drop the pod before it stops accepting connections.
    pub shutdown_delay: Duration,
    /// The scaffold's counters (certificate reloads, accept errors, TLS failures), also
    /// on `/metrics`.
    pub net_metrics: Arc<ServerMetrics>,
}

impl ServerOptions {
    /// Defaults: 8 MiB bodies, 1,024 connections, 10 s reads, 20 s grace.
    pub fn new(addr: SocketAddr) -> ServerOptions {
        ServerOptions {
            addr,
            tls: None,
            max_body_bytes: 8 << 20,
            max_connections: 1024,
            read_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(20),
            shutdown_delay: Duration::ZERO,
            net_metrics: Arc::new(ServerMetrics::default()),
        }
    }

    fn net(&self) -> rampart_net::server::ServerOptions {
        let mut o = rampart_net::server::ServerOptions::new(self.addr, self.net_metrics.clone());
        o.tls = self.tls.clone();
        o.max_connections = self.max_connections;
        o.read_timeout = self.read_timeout;
        o.shutdown_grace = self.shutdown_grace;
        o.shutdown_delay = self.shutdown_delay;
        o.routes = ROUTES;
        o
    }
}

/// The routes request metrics are labelled with (any other path is `other`).
const ROUTES: Routes = Routes {
    paths: &["/validate", "/mutate", "/healthz", "/readyz", "/metrics"],
    fallback: rampart_net::metrics::OTHER,
};

#[derive(Clone)]
struct AppState {
    engine: Arc<Engine>,
    metrics: Arc<Metrics>,
    audit: Arc<dyn AuditSink>,
    registry: Option<Arc<Registry>>,
    life: Lifecycle,
    max_body: usize,
    read_timeout: Duration,
}

/// A bound, not yet running server.
pub struct Bound {
    inner: rampart_net::server::Bound,
    opts: ServerOptions,
}

/// What the server needs besides its options.
#[derive(Clone)]
pub struct Services {
    /// The decision engine.
    pub engine: Arc<Engine>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Audit sink.
    pub audit: Arc<dyn AuditSink>,
    /// Registry client for `/mutate` lookups (`None`: no lookups).
    pub registry: Option<Arc<Registry>>,
}

/// Bind the listening socket.
pub async fn bind(opts: ServerOptions) -> Result<Bound, ServerError> {
    let inner = rampart_net::server::bind(opts.net()).await?;
    Ok(Bound { inner, opts })
}

impl Bound {
    /// The address actually bound.
    pub fn local_addr(&self) -> Result<SocketAddr, ServerError> {
        Ok(self.inner.local_addr()?)
    }

    /// Serve until `shutdown` resolves; then `/readyz` fails, connections are still
    /// accepted for `shutdown_delay`, then no more, and in-flight requests finish (within
    /// `shutdown_grace`).
    pub async fn run(
        self,
        services: Services,
        shutdown: impl std::future::Future<Output = ()> + Send,
    ) -> Result<(), ServerError> {
        let life = Lifecycle::new();
        let mut registry = MetricsRegistry::new("rampart_admission");
        self.opts.net_metrics.register(&mut registry);
        services.metrics.register(&mut registry);
        let state = AppState {
            engine: services.engine,
            metrics: services.metrics,
            audit: services.audit,
            registry: services.registry,
            life: life.clone(),
            max_body: self.opts.max_body_bytes,
            read_timeout: self.opts.read_timeout,
        };
        let app = Router::new()
            .route("/healthz", get(|| async { "ok" }))
            .route("/readyz", get(ready))
            .route("/validate", axum::routing::any(validate))
            .route("/mutate", axum::routing::any(mutate))
            .with_state(state)
            .merge(rampart_net::metrics::router(Arc::new(registry)));
        self.inner.serve(app, life, shutdown).await?;
        Ok(())
    }
}

/// Run on a new Tokio runtime until SIGINT/SIGTERM; `on_bound` gets the bound address.
pub fn run_until_signal(
    opts: ServerOptions,
    services: Services,
    on_bound: impl FnOnce(SocketAddr),
) -> Result<(), ServerError> {
    rampart_net::server::runtime()?.block_on(async move {
        let bound = bind(opts).await?;
        on_bound(bound.local_addr()?);
        bound.run(services, shutdown_signal()).await
    })
}

async fn ready(State(st): State<AppState>) -> impl IntoResponse {
    if st.life.stopping() {
        (StatusCode::SERVICE_UNAVAILABLE, "shutting down")
    } else if !st.engine.namespaces().ready() {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "namespace cache not synced or stale",
        )
    } else {
        (StatusCode::OK, "ready")
    }
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
    rampart_net::server::read_body(req, st.max_body, st.read_timeout)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge(n) => plain(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("AdmissionReview larger than {n} bytes"),
            ),
            BodyError::Timeout => plain(StatusCode::REQUEST_TIMEOUT, "timed out reading the body"),
            _ => plain(StatusCode::BAD_REQUEST, "could not read the body"),
        })
}

/// Run `f` on the blocking pool, catching panics, bounded by `deadline`.
async fn isolated(
    st: &AppState,
    deadline: Duration,
    f: impl FnOnce() -> Outcome + Send + 'static,
) -> Result<Outcome, String> {
    match rampart_net::server::blocking(Some(deadline), f).await {
        Ok(o) => Ok(o),
        Err(BlockingError::Deadline(d)) => {
            st.metrics.deadline_exceeded.inc();
            Err(format!(
                "evaluation exceeded the {} ms deadline",
                d.as_millis()
            ))
        }
        Err(BlockingError::Panicked(p)) => {
            st.metrics.panics.inc();
            Err(format!("a rule panicked: {p}"))
        }
        Err(e) => {
            st.metrics.panics.inc();
            Err(format!("evaluation failed: {e}"))
        }
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
        st.metrics.patches.inc();
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
    /// How to reach the API server: Namespace watch cache (and PolicyReports when
    /// enabled). The client is built when the server starts; an error stops it.
    pub kube: Option<rampart_cluster::ClusterOptions>,
    /// Create PolicyReports for audit-mode decisions, and delete those about objects
    /// that are gone (needs `kube`).
    pub policy_reports: bool,
    /// How often reports about deleted objects are collected.
    pub report_gc_every: std::time::Duration,
    /// Where audit JSON lines go.
    pub audit_log: Box<dyn std::io::Write + Send>,
    /// Registry client for `/mutate` lookups.
    pub registry: Option<Registry>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
}

/// Run `rampart admission serve` on a new Tokio runtime until SIGINT/SIGTERM.
pub fn serve_until_signal(
    setup: ServeSetup,
    on_bound: impl FnOnce(SocketAddr),
) -> Result<(), ServerError> {
    rampart_net::server::runtime()?.block_on(async move {
        let mut engine = setup.engine;
        let metrics = setup.metrics;
        let mut audit = crate::reports::JsonAuditSink::new(setup.audit_log);
        if let Some(opts) = &setup.kube {
            let cluster = rampart_cluster::Cluster::connect(opts).await?;
            let (watcher, cache) = crate::namespaces::namespace_watcher(
                &cluster,
                rampart_cluster::watch::WatchOptions::default(),
            );
            // Ready only while the cache is fresh (see `namespaces`).
            engine = engine.with_namespaces(cache);
            tokio::spawn(watcher.run());
            if setup.policy_reports {
                let writer = rampart_cluster::reports::ReportWriter::new(
                    &cluster,
                    crate::reports::FIELD_MANAGER,
                );
                audit = audit.with_policy_reports(writer.clone(), metrics.clone());
                let gc = rampart_cluster::reports::GcOptions::default();
                let m = metrics.clone();
                // A pass that could not check everything counts as a failed write.
                crate::reports::spawn_garbage_collector(
                    writer,
                    setup.report_gc_every,
                    gc,
                    move |pass| {
                        if pass.map_or(true, |o| !o.errors.is_empty()) {
                            m.policy_reports_failed.fetch_add(1, Ordering::Relaxed);
                        }
                    },
                );
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
