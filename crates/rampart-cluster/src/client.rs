//! Connecting to the API server: where the configuration comes from ([`Source`]), the
//! timeouts ([`ClusterOptions`]), and the connected [`Cluster`].
//!
//! Everything a kubeconfig can say is read by `kube`'s own loader: contexts, the
//! cluster's CA (`certificate-authority`/`-data`), client certificates
//! (`client-certificate`/`client-key`, `-data`), bearer tokens, `tokenFile` (re-read at
//! least once a minute, so rotated tokens are picked up), exec credential plugins
//! (`client.authentication.k8s.io` ExecCredential, tokens refreshed when they expire),
//! `tls-server-name`, and relative paths resolved against the kubeconfig's directory.
//!
//! Trust: when the kubeconfig (or [`Source::Server`]) names a CA, that CA alone is
//! trusted for the API server; system roots are never mixed in. An `https` server given
//! with [`Source::Server`] needs a CA file.

use crate::{describe, ClusterError};
use kube::config::{KubeConfigOptions, Kubeconfig};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where the client configuration comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Source {
    /// A kubeconfig (`$KUBECONFIG` or `~/.kube/config`) when there is one, else the
    /// in-cluster service account.
    Infer,
    /// The pod's service account: `KUBERNETES_SERVICE_HOST`/`_PORT` (IPv6 addresses
    /// included), the token and CA under `/var/run/secrets/kubernetes.io/serviceaccount`.
    InCluster,
    /// A kubeconfig file (`None`: `$KUBECONFIG`, several files merged as kubectl does,
    /// or `~/.kube/config`) and a context in it (`None`: its `current-context`).
    Kubeconfig {
        /// The file.
        path: Option<PathBuf>,
        /// The context.
        context: Option<String>,
    },
    /// An explicit server URL (`https://host:port`, `https://[::1]:6443`; `http://` only
    /// for loopback test servers), with the CA that signs its certificate and a bearer
    /// token file (re-read at least once a minute).
    Server {
        /// The URL.
        url: String,
        /// The CA file (PEM), required for `https`.
        ca_file: Option<PathBuf>,
        /// The bearer token file.
        token_file: Option<PathBuf>,
    },
}

/// How to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterOptions {
    /// Where the configuration comes from.
    pub source: Source,
    /// Longest wait for a TCP/TLS connection.
    pub connect_timeout: Duration,
    /// Longest wait for one request that is not a watch (get, list page, apply, delete).
    pub request_timeout: Duration,
    /// Longest wait for the client to be built (an exec credential plugin runs then).
    pub setup_timeout: Duration,
}

impl Default for ClusterOptions {
    /// [`Source::Infer`], 10 s to connect, 30 s per request, 60 s to set up.
    fn default() -> ClusterOptions {
        ClusterOptions {
            source: Source::Infer,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            setup_timeout: Duration::from_secs(60),
        }
    }
}

impl ClusterOptions {
    /// The default timeouts with `source`.
    pub fn new(source: Source) -> ClusterOptions {
        ClusterOptions {
            source,
            ..ClusterOptions::default()
        }
    }
}

/// A connected client (cheap to clone: every clone shares one connection pool).
#[derive(Clone)]
pub struct Cluster {
    client: kube::Client,
    server: String,
    request_timeout: Duration,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Cluster({})", self.server)
    }
}

fn config_err(what: &str, e: impl std::fmt::Display) -> ClusterError {
    ClusterError::Config(format!("{what}: {e}"))
}

/// A one-context kubeconfig for an explicit server, so that `kube`'s loader reads the
/// CA and token file exactly as it reads a user's kubeconfig.
fn server_kubeconfig(
    url: &str,
    ca_file: Option<&Path>,
    token_file: Option<&Path>,
) -> Result<Kubeconfig, ClusterError> {
    let uri: http::Uri = url
        .trim_end_matches('/')
        .parse()
        .map_err(|e| config_err(url, format!("{e} (expected https://host:port)")))?;
    match uri.scheme_str() {
        Some("https") if ca_file.is_none() => {
            return Err(ClusterError::Config(format!(
                "{url}: a CA file is needed for https (the API server's CA alone is trusted)"
            )))
        }
        Some("https") | Some("http") => {}
        _ => {
            return Err(ClusterError::Config(format!(
                "{url}: expected an http(s)://host:port URL"
            )))
        }
    }
    let abs = |p: &Path| -> Result<String, ClusterError> {
        std::path::absolute(p)
            .map(|p| p.display().to_string())
            .map_err(|e| config_err(&p.display().to_string(), e))
    };
    let mut cluster = serde_json::json!({"server": url.trim_end_matches('/')});
    if let Some(ca) = ca_file {
        cluster["certificate-authority"] = abs(ca)?.into();
    }
    let mut user = serde_json::json!({});
    if let Some(t) = token_file {
        // Readable now (kube re-reads it later and keeps the last token on failure).
        std::fs::metadata(t).map_err(|e| config_err(&t.display().to_string(), e))?;
        user["tokenFile"] = abs(t)?.into();
    }
    let kc = serde_json::json!({
        "apiVersion": "v1", "kind": "Config", "current-context": "rampart",
        "clusters": [{"name": "rampart", "cluster": cluster}],
        "users": [{"name": "rampart", "user": user}],
        "contexts": [{"name": "rampart", "context": {"cluster": "rampart", "user": "rampart"}}],
    });
    serde_json::from_value(kc).map_err(|e| config_err(url, e))
}

async fn load_config(source: &Source) -> Result<kube::Config, ClusterError> {
    match source {
        Source::Infer => kube::Config::infer()
            .await
            .map_err(|e| config_err("no kubeconfig and not in a cluster", e)),
        Source::InCluster => kube::Config::incluster().map_err(|e| {
            config_err(
                "in-cluster configuration (KUBERNETES_SERVICE_HOST and the service account files)",
                e,
            )
        }),
        Source::Kubeconfig { path, context } => {
            let opts = KubeConfigOptions {
                context: context.clone(),
                ..KubeConfigOptions::default()
            };
            match path {
                Some(p) => {
                    let kc = Kubeconfig::read_from(p)
                        .map_err(|e| config_err(&p.display().to_string(), e))?;
                    kube::Config::from_custom_kubeconfig(kc, &opts)
                        .await
                        .map_err(|e| config_err(&p.display().to_string(), e))
                }
                None => kube::Config::from_kubeconfig(&opts)
                    .await
                    .map_err(|e| config_err("kubeconfig ($KUBECONFIG or ~/.kube/config)", e)),
            }
        }
        Source::Server {
            url,
            ca_file,
            token_file,
        } => {
            let kc = server_kubeconfig(url, ca_file.as_deref(), token_file.as_deref())?;
            kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
                .await
                .map_err(|e| config_err(url, e))
        }
    }
}

/// `kube` sends a token file's content verbatim, so a file ending in a newline (written
/// with `echo`) makes every request fail with "invalid bearer token". Say so up front,
/// naming the file (never the token).
fn check_token_file(path: &str) -> Result<(), ClusterError> {
    use std::io::Read as _;
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(64 << 10).read_to_string(&mut text))
        .map_err(|e| config_err(path, e))?;
    if text.trim().is_empty() {
        return Err(ClusterError::Config(format!("{path}: empty token file")));
    }
    if text.trim() != text {
        return Err(ClusterError::Config(format!(
            "{path}: the token file has leading or trailing whitespace (a newline?), which would be sent in the Authorization header; write it without (printf '%s' \"$TOKEN\" > file)"
        )));
    }
    Ok(())
}

impl Cluster {
    /// Read the configuration and build the client. An exec credential plugin runs
    /// here, bounded by [`ClusterOptions::setup_timeout`]. No request is sent yet.
    pub async fn connect(opts: &ClusterOptions) -> Result<Cluster, ClusterError> {
        let mut config = load_config(&opts.source).await?;
        if let Some(t) = &config.auth_info.token_file {
            check_token_file(t)?;
        }
        config.connect_timeout = Some(opts.connect_timeout);
        // Watches are bounded by their own idle timeout and requests by
        // `request_timeout`, so no per-read timeout on the connection.
        config.read_timeout = None;
        config.write_timeout = Some(opts.request_timeout);
        let server = config.cluster_url.to_string();
        // Building the client runs an exec plugin synchronously: on a thread of its own
        // (not Tokio's blocking pool, which a runtime waits for when it shuts down), in
        // the runtime's context, and bounded: a plugin that hangs leaves its thread
        // behind, not the caller nor the process's exit.
        let (tx, rx) = tokio::sync::oneshot::channel();
        let runtime = tokio::runtime::Handle::current();
        std::thread::Builder::new()
            .name("rampart-kube-setup".into())
            .spawn(move || {
                let _entered = runtime.enter();
                let _ = tx.send(kube::Client::try_from(config));
            })
            .map_err(|e| config_err(&server, e))?;
        let client = match tokio::time::timeout(opts.setup_timeout, rx).await {
            Err(_) => {
                return Err(ClusterError::Config(format!(
                    "{server}: credentials not ready after {:?} (exec credential plugin?)",
                    opts.setup_timeout
                )))
            }
            Ok(Err(e)) => return Err(config_err(&server, e)),
            Ok(Ok(Err(e))) => return Err(config_err(&server, describe(&e))),
            Ok(Ok(Ok(c))) => c,
        };
        Ok(Cluster {
            client,
            server: server.trim_end_matches('/').to_string(),
            request_timeout: opts.request_timeout,
        })
    }

    /// The underlying `kube` client (for requests this crate has no helper for yet).
    pub fn client(&self) -> kube::Client {
        self.client.clone()
    }

    /// The API server's URL.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// The per-request timeout.
    pub fn request_timeout(&self) -> Duration {
        self.request_timeout
    }

    /// The dynamic API for `resource`, in `namespace` (`None`: all namespaces, or a
    /// cluster-scoped resource).
    pub fn api(
        &self,
        resource: &kube::api::ApiResource,
        namespace: Option<&str>,
    ) -> kube::Api<kube::api::DynamicObject> {
        match namespace {
            Some(ns) => kube::Api::namespaced_with(self.client.clone(), ns, resource),
            None => kube::Api::all_with(self.client.clone(), resource),
        }
    }

    /// Run one request under [`ClusterOptions::request_timeout`].
    pub(crate) async fn bounded<T>(
        &self,
        what: &str,
        fut: impl Future<Output = Result<T, kube::Error>>,
    ) -> Result<T, ClusterError> {
        match tokio::time::timeout(self.request_timeout, fut).await {
            Err(_) => Err(ClusterError::Timeout(
                what.to_string(),
                self.request_timeout,
            )),
            Ok(r) => r.map_err(|e| ClusterError::api(what, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn https_servers_need_a_ca_and_urls_are_checked() {
        let e = server_kubeconfig("https://10.0.0.1:6443", None, None).unwrap_err();
        assert!(e.to_string().contains("CA file is needed"), "{e}");
        let e = server_kubeconfig("ftp://x", None, None).unwrap_err();
        assert!(e.to_string().contains("http(s)://"), "{e}");
        let e = server_kubeconfig(
            "http://127.0.0.1:1",
            None,
            Some(Path::new("/nonexistent/t")),
        )
        .unwrap_err();
        assert!(e.to_string().contains("/nonexistent/t"), "{e}");
        let kc = server_kubeconfig("https://[::1]:6443/", Some(Path::new("ca.crt")), None).unwrap();
        let c = &kc.clusters[0].cluster.as_ref().unwrap();
        assert_eq!(c.server.as_deref(), Some("https://[::1]:6443"));
        assert!(Path::new(c.certificate_authority.as_deref().unwrap()).is_absolute());
    }
}
