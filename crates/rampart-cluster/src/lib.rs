//! Rampart's one Kubernetes API client, over the [`kube`] crate.
//!
//! - [`client`]: connecting ([`ClusterOptions`] → [`Cluster`]): kubeconfig files with
//!   contexts, client certificates, bearer tokens, token files (re-read as `kube` does, at
//!   least once a minute), exec credential plugins (bounded in time), the in-cluster
//!   service account, or an explicit server with a CA and token file; request timeouts.
//! - [`list`]: paginated lists (`limit`/`continue`) of any resource as dynamic objects.
//! - [`watch`]: a watch cache (list, then watch from the list's `resourceVersion`, resume
//!   after the server ends a watch, abandon a silent one, relist on `410 Gone`) that says
//!   when it is stale.
//! - [`reports`]: PolicyReports (`wgpolicyk8s.io/v1alpha2`): server-side apply with
//!   Rampart's field manager, and garbage collection of the reports Rampart wrote about
//!   objects that no longer exist.
//!
//! Objects are [`DynamicObject`]s described by an [`ApiResource`]: no generated type is
//! compiled beyond what `kube` itself needs. Nothing here prints or exits; errors are
//! [`ClusterError`]s.

pub mod client;
pub mod list;
pub mod reports;
pub mod watch;

pub use client::{Cluster, ClusterOptions, Source};
pub use kube::api::{ApiResource, DynamicObject};

/// Errors talking to the API server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClusterError {
    /// The client could not be configured (kubeconfig, context, CA, credentials).
    #[error("kubernetes client configuration: {0}")]
    Config(String),
    /// A request failed or the server answered with an error.
    #[error("kubernetes API: {0}")]
    Api(String),
    /// A request took longer than its timeout.
    #[error("kubernetes API: {0} timed out after {1:?}")]
    Timeout(String, std::time::Duration),
    /// An answer was larger than a bound.
    #[error("kubernetes API: {0}")]
    TooLarge(String),
}

impl ClusterError {
    pub(crate) fn api(what: &str, e: kube::Error) -> ClusterError {
        ClusterError::Api(format!("{what}: {}", describe(&e)))
    }
}

/// `kube`'s error with its sources, and the HTTP status for API errors.
pub(crate) fn describe(e: &kube::Error) -> String {
    if let kube::Error::Api(s) = e {
        return format!("HTTP {}: {}", s.code, s.message);
    }
    let mut out = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        let t = s.to_string();
        if !out.contains(&t) {
            out.push_str(": ");
            out.push_str(&t);
        }
        src = s.source();
    }
    out
}

/// The HTTP status of an API error (`None` for transport errors).
pub(crate) fn status_of(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(s) => Some(s.code),
        _ => None,
    }
}
