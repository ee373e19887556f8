//! The one server scaffold: the webhook and the monitor give it an axum [`Router`] and
//! get the same accept loop, limits, TLS handling, shutdown and metrics.
//!
//! - **Accept loop with backoff**: an accept error (out of file descriptors, most often)
//!   waits 5 ms, doubling to 1 s, instead of spinning; each one is counted.
//! - **Connection cap**: at most [`ServerOptions::max_connections`] connections are
//!   served at once; past that the loop stops accepting (the kernel backlog queues new
//!   ones) until one closes, and the wait is counted.
//! - **Timeouts**: the TLS handshake and every request's headers must arrive within
//!   [`ServerOptions::read_timeout`]; [`read_body`] bounds the body in size and time.
//! - **CPU work** goes through [`blocking`]: Tokio's blocking pool, a deadline, panics
//!   caught and reported instead of killing the connection.
//! - **Graceful shutdown**: when the shutdown future resolves, [`Lifecycle::stopping`]
//!   turns true (handlers fail `/readyz` with it), connections are still accepted for
//!   [`ServerOptions::shutdown_delay`] (so Service endpoints drop the pod first), then the
//!   listener closes and in-flight requests get [`ServerOptions::shutdown_grace`].

pub use crate::metrics::ServerMetrics;
use crate::metrics::{OpenConnection, Routes};
use crate::NetError;
use axum::body::{Body, Bytes};
use axum::http::{header, Request};
use axum::Router;
use http_body_util::BodyExt;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::rustls;

/// Listener, TLS, limits and shutdown timing.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Address to listen on.
    pub addr: SocketAddr,
    /// TLS; `None` serves plain HTTP (tests, or behind a TLS-terminating proxy).
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Connections served at once.
    pub max_connections: usize,
    /// Time allowed for the TLS handshake and each request's headers (and, through
    /// [`read_body`], its body).
    pub read_timeout: Duration,
    /// Time allowed at shutdown for in-flight requests.
    pub shutdown_grace: Duration,
    /// After the shutdown signal, keep accepting (with [`Lifecycle::stopping`] true) this
    /// long.
    pub shutdown_delay: Duration,
    /// The scaffold's metrics (shared with [`crate::tls::server_config`] for certificate
    /// reloads); the server registers them in its [`crate::metrics::MetricsRegistry`].
    pub metrics: Arc<ServerMetrics>,
    /// The fixed routes request durations are labelled with (other paths:
    /// [`Routes::fallback`]).
    pub routes: Routes,
}

impl ServerOptions {
    /// Defaults: plain HTTP, 1,024 connections, 10 s reads, 20 s grace, no delay.
    pub fn new(addr: SocketAddr, metrics: Arc<ServerMetrics>) -> ServerOptions {
        ServerOptions {
            addr,
            tls: None,
            max_connections: 1024,
            read_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(20),
            shutdown_delay: Duration::ZERO,
            metrics,
            routes: Routes::default(),
        }
    }
}

/// Whether the server is shutting down (for `/readyz`).
#[derive(Debug, Clone, Default)]
pub struct Lifecycle(Arc<AtomicBool>);

impl Lifecycle {
    /// Running.
    pub fn new() -> Lifecycle {
        Lifecycle::default()
    }

    /// True once shutdown started.
    pub fn stopping(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    /// Start shutting down (the server calls this when its shutdown future resolves).
    pub fn stop(&self) {
        self.0.store(true, Ordering::Release);
    }
}

/// A bound, not yet serving listener.
#[derive(Debug)]
pub struct Bound {
    listener: TcpListener,
    opts: ServerOptions,
}

/// Bind the listening socket.
pub async fn bind(opts: ServerOptions) -> Result<Bound, NetError> {
    let listener = TcpListener::bind(opts.addr).await?;
    Ok(Bound { listener, opts })
}

const BACKOFF_MIN: Duration = Duration::from_millis(5);
const BACKOFF_MAX: Duration = Duration::from_secs(1);

impl Bound {
    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> Result<SocketAddr, NetError> {
        Ok(self.listener.local_addr()?)
    }

    /// Serve `app` until `shutdown` resolves, then shut down gracefully (see the module
    /// documentation).
    pub async fn serve(
        self,
        app: Router,
        life: Lifecycle,
        shutdown: impl std::future::Future<Output = ()> + Send,
    ) -> Result<(), NetError> {
        let Bound { listener, opts } = self;
        let metrics = opts.metrics.clone();
        let app = app.layer(axum::middleware::from_fn_with_state(
            (metrics.clone(), opts.routes),
            crate::metrics::track,
        ));
        let graceful = GracefulShutdown::new();
        let acceptor = opts.tls.clone().map(tokio_rustls::TlsAcceptor::from);
        let permits = Arc::new(Semaphore::new(opts.max_connections.max(1)));
        let delay = opts.shutdown_delay;
        let flag = life.clone();
        let shutdown = async move {
            shutdown.await;
            flag.stop();
            tokio::time::sleep(delay).await;
        };
        tokio::pin!(shutdown);
        let mut backoff = BACKOFF_MIN;
        loop {
            let permit = match permits.clone().try_acquire_owned() {
                Ok(p) => p,
                Err(_) => {
                    metrics.connection_cap_waits.inc();
                    tokio::select! {
                        p = permits.clone().acquire_owned() => match p {
                            Ok(p) => p,
                            Err(_) => break,
                        },
                        () = &mut shutdown => break,
                    }
                }
            };
            let tcp = tokio::select! {
                r = listener.accept() => match r {
                    Ok((tcp, _peer)) => {
                        backoff = BACKOFF_MIN;
                        tcp
                    }
                    Err(_) => {
                        metrics.accept_errors.inc();
                        tokio::select! {
                            () = tokio::time::sleep(backoff) => {},
                            () = &mut shutdown => break,
                        }
                        backoff = (backoff * 2).min(BACKOFF_MAX);
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            metrics.connections.inc();
            let _ = tcp.set_nodelay(true);
            let svc = TowerToHyperService::new(app.clone());
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(opts.read_timeout);
            let watcher = graceful.watcher();
            let acceptor = acceptor.clone();
            let timeout = opts.read_timeout;
            let metrics = metrics.clone();
            let open = OpenConnection::new(&metrics.connections_open);
            tokio::spawn(async move {
                let _permit = permit;
                let _open = open;
                match acceptor {
                    Some(acc) => {
                        let Ok(Ok(tls)) = tokio::time::timeout(timeout, acc.accept(tcp)).await
                        else {
                            metrics.tls_handshake_failures.inc();
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
        life.stop();
        drop(listener);
        let _ = tokio::time::timeout(opts.shutdown_grace, graceful.shutdown()).await;
        Ok(())
    }
}

/// A new multi-threaded Tokio runtime (for callers without one: the CLI).
pub fn runtime() -> Result<tokio::runtime::Runtime, NetError> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
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

/// Why a request body was not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BodyError {
    /// Larger than the limit (declared or actual): answer 413.
    #[error("body larger than {0} bytes")]
    TooLarge(usize),
    /// Not received within the read timeout: answer 408.
    #[error("timed out reading the body")]
    Timeout,
    /// The connection failed mid-body: answer 400.
    #[error("could not read the body")]
    Read,
}

/// Read a request body of at most `limit` bytes within `timeout`. A body whose declared
/// length is over the limit but at most 4× it is read and discarded first (bounded in
/// size and time), so the client finishes sending and gets the 413 instead of a reset
/// mid-write; a far larger one is refused at once.
pub async fn read_body(
    req: Request<Body>,
    limit: usize,
    timeout: Duration,
) -> Result<Bytes, BodyError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if let Some(n) = declared.filter(|n| *n > limit) {
        if n <= limit.saturating_mul(4) {
            let mut body = req.into_body();
            let _ = tokio::time::timeout(timeout, async {
                while let Some(frame) = body.frame().await {
                    if frame.is_err() {
                        break;
                    }
                }
            })
            .await;
        }
        return Err(BodyError::TooLarge(limit));
    }
    let limited = http_body_util::Limited::new(req.into_body(), limit);
    match tokio::time::timeout(timeout, limited.collect()).await {
        Err(_) => Err(BodyError::Timeout),
        Ok(Err(e))
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(BodyError::TooLarge(limit))
        }
        Ok(Err(_)) => Err(BodyError::Read),
        Ok(Ok(c)) => Ok(c.to_bytes()),
    }
}

/// Why [`blocking`] returned no value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BlockingError {
    /// The deadline passed (the work goes on in the background and its result is
    /// dropped).
    #[error("exceeded the {} ms deadline", .0.as_millis())]
    Deadline(Duration),
    /// The work panicked.
    #[error("panicked: {0}")]
    Panicked(String),
    /// The blocking task could not run (runtime shutting down).
    #[error("could not run: {0}")]
    Failed(String),
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

/// Run CPU-bound `f` on Tokio's blocking pool (never on an async worker), catching
/// panics, waiting at most `deadline` (`None`: as long as it takes).
pub async fn blocking<T: Send + 'static>(
    deadline: Option<Duration>,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, BlockingError> {
    let task = tokio::task::spawn_blocking(move || {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
    });
    let joined = match deadline {
        Some(d) => match tokio::time::timeout(d, task).await {
            Err(_) => return Err(BlockingError::Deadline(d)),
            Ok(j) => j,
        },
        None => task.await,
    };
    match joined {
        Err(join) => Err(BlockingError::Failed(join.to_string())),
        Ok(Err(p)) => Err(BlockingError::Panicked(panic_message(&*p))),
        Ok(Ok(v)) => Ok(v),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn blocking_reports_panics_and_deadlines() {
        assert_eq!(blocking(None, || 2 + 2).await, Ok(4));
        let e = blocking(None, || -> u8 { panic!("boom") })
            .await
            .unwrap_err();
        assert_eq!(e, BlockingError::Panicked("boom".into()));
        let e = blocking(Some(Duration::from_millis(20)), || {
            std::thread::sleep(Duration::from_millis(300));
        })
        .await
        .unwrap_err();
        assert_eq!(e, BlockingError::Deadline(Duration::from_millis(20)));
    }
}
