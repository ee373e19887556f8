//! Rampart's one network layer, shared by the admission webhook, the runtime monitor and
//! every client that talks to a server.
//!
//! - [`pem`]: certificates and private keys from PEM files (over `rustls-pki-types`;
//!   bounded reads, a clear error naming the file).
//! - [`tls`]: the server TLS configuration (certificate reloaded when its files change,
//!   optional client authentication against a CA) and the one client trust-store policy.
//! - [`server`]: the server scaffold: accept loop with backoff, connection cap, TLS
//!   handshake and header timeouts, body limits, CPU work off the async workers, graceful
//!   shutdown, and the metrics of all of it.
//! - [`metrics`]: one [`prometheus_client`] registry per server, the `/metrics` handler
//!   (OpenMetrics or Prometheus text), the scaffold's metrics, bounded label families.
//! - [`egress`]: which addresses a client may connect to (no loopback, private or
//!   link-local targets unless allow-listed), checked on the resolved address that is
//!   then connected to.
//! - [`http`]: the one HTTP/1.1 client (timeouts, body limits, TLS with the trust store,
//!   egress policy).
//! - [`registry`]: the one OCI registry client (pull, push, auth, digests) over [`http`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), rampart_net::NetError> {
//! use std::sync::Arc;
//! use rampart_net::server::{self, ServerMetrics, ServerOptions};
//! let metrics = Arc::new(ServerMetrics::default());
//! let mut opts = ServerOptions::new("127.0.0.1:0".parse().unwrap(), metrics.clone());
//! opts.tls = Some(rampart_net::tls::server_config(
//!     &rampart_net::tls::ServerTlsFiles::new("tls.crt", "tls.key").with_client_ca("ca.crt"),
//!     metrics,
//! )?);
//! let app = axum::Router::new().route("/healthz", axum::routing::get(|| async { "ok" }));
//! let bound = server::bind(opts).await?;
//! bound.serve(app, server::Lifecycle::new(), server::shutdown_signal()).await?;
//! # Ok(()) }
//! ```

pub mod egress;
pub mod http;
pub mod metrics;
pub mod pem;
pub mod registry;
pub mod server;
pub mod tls;

/// Errors of the network layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    /// A certificate, key or CA file that cannot be used.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: String,
        /// What is wrong with it.
        message: String,
    },
    /// A TLS configuration that rustls refuses.
    #[error("TLS: {0}")]
    Tls(String),
    /// A URL that cannot be used.
    #[error("{url}: {message}")]
    Url {
        /// The URL.
        url: String,
        /// What is wrong with it.
        message: String,
    },
    /// The egress policy refused a destination.
    #[error("{host}:{port}: refused by the egress policy: {reason}")]
    Refused {
        /// Host as requested.
        host: String,
        /// Port.
        port: u16,
        /// Why.
        reason: String,
    },
    /// A request failed (connect, TLS, HTTP, body).
    #[error("{0}")]
    Request(String),
    /// A request ran out of time.
    #[error("{0}: timed out")]
    Timeout(String),
    /// Binding or accepting.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

pub(crate) fn file_err(path: &std::path::Path, message: impl std::fmt::Display) -> NetError {
    NetError::File {
        path: path.display().to_string(),
        message: message.to_string(),
    }
}
