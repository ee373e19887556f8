//! TLS for servers and clients.
//!
//! Servers: [`server_config`] serves the certificate in a cert/key file pair, re-read
//! when either file changes ([`ReloadingCert`]; a failed reload keeps the previous
//! certificate and is counted), TLS 1.2 and 1.3, HTTP/1.1. With a client CA
//! ([`ServerTlsFiles::with_client_ca`]) every client must present a certificate chaining
//! to it (mutual TLS, rustls' `WebPkiClientVerifier`); a client without one, or with one
//! from another CA, fails the handshake.
//!
//! Clients: [`client_config`] is the one trust-store policy: an explicit CA file when
//! given, else `SSL_CERT_FILE`, else the distribution's CA bundle. No bundle is an error,
//! never an unverified connection.

use crate::metrics::ServerMetrics;
use crate::pem::{read_certs, read_key};
use crate::{file_err, NetError};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio_rustls::rustls;
use tokio_rustls::rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use tokio_rustls::rustls::sign::CertifiedKey;

/// PEM files where distributions keep their CA bundle (after `SSL_CERT_FILE`).
pub const CA_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
    "/etc/ssl/ca-bundle.pem",
];

/// How often, at most, the certificate files' modification times are checked.
pub const RELOAD_CHECK: Duration = Duration::from_secs(1);

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn load_certified_key(cert: &Path, key: &Path) -> Result<CertifiedKey, NetError> {
    let certs = read_certs(cert)?;
    let key_der = read_key(key)?;
    let signing = provider()
        .key_provider
        .load_private_key(key_der)
        .map_err(|e| file_err(key, e))?;
    let ck = CertifiedKey::new(certs, signing);
    ck.keys_match().map_err(|e| file_err(key, e))?;
    Ok(ck)
}

fn mtime(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

type Stamps = (Option<SystemTime>, Option<SystemTime>);

struct CertState {
    key: Arc<CertifiedKey>,
    stamps: Stamps,
    failed: Option<Stamps>,
    checked: Instant,
}

/// Serves the certificate in `cert`/`key`, re-reading both when either file's
/// modification time changes (checked at most once per [`RELOAD_CHECK`], on a handshake).
/// A reload that fails (half-written files, a key that does not match) keeps the previous
/// certificate and counts one failure per change of the files.
pub struct ReloadingCert {
    cert: PathBuf,
    key: PathBuf,
    state: Mutex<CertState>,
    metrics: Arc<ServerMetrics>,
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
    /// Load the files now (an error if they are unusable).
    pub fn new(
        cert: &Path,
        key: &Path,
        metrics: Arc<ServerMetrics>,
    ) -> Result<ReloadingCert, NetError> {
        let ck = load_certified_key(cert, key)?;
        Ok(ReloadingCert {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            state: Mutex::new(CertState {
                key: Arc::new(ck),
                stamps: (mtime(cert), mtime(key)),
                failed: None,
                checked: Instant::now(),
            }),
            metrics,
        })
    }

    /// The current certificate, reloading it first if the files changed.
    pub fn current(&self) -> Option<Arc<CertifiedKey>> {
        let mut st = self.state.lock().ok()?;
        if st.checked.elapsed() >= RELOAD_CHECK {
            st.checked = Instant::now();
            let stamps = (mtime(&self.cert), mtime(&self.key));
            if stamps != st.stamps && st.failed != Some(stamps) {
                match load_certified_key(&self.cert, &self.key) {
                    Ok(ck) => {
                        st.key = Arc::new(ck);
                        st.stamps = stamps;
                        st.failed = None;
                        self.metrics.cert_reloads.inc();
                    }
                    Err(_) => {
                        st.failed = Some(stamps);
                        self.metrics.cert_reload_failures.inc();
                    }
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

/// The files of a server's TLS configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerTlsFiles {
    /// PEM certificate chain (re-read when it changes).
    pub cert: PathBuf,
    /// PEM private key (re-read when it changes).
    pub key: PathBuf,
    /// PEM CA certificates that client certificates must chain to; `None`: no client
    /// authentication.
    pub client_ca: Option<PathBuf>,
}

impl ServerTlsFiles {
    /// A certificate and key, no client authentication.
    pub fn new(cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> ServerTlsFiles {
        ServerTlsFiles {
            cert: cert.into(),
            key: key.into(),
            client_ca: None,
        }
    }

    /// Require client certificates chaining to the CA certificates in `ca`.
    pub fn with_client_ca(mut self, ca: impl Into<PathBuf>) -> ServerTlsFiles {
        self.client_ca = Some(ca.into());
        self
    }
}

/// Root certificates from a PEM file (at least one usable certificate).
pub fn roots_from_file(ca: &Path) -> Result<rustls::RootCertStore, NetError> {
    let mut roots = rustls::RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(read_certs(ca)?);
    if added == 0 {
        return Err(file_err(ca, "no usable CA certificate"));
    }
    Ok(roots)
}

/// A server configuration (TLS 1.2 and 1.3, HTTP/1.1) serving a reloading certificate,
/// with client authentication when `files.client_ca` is set.
pub fn server_config(
    files: &ServerTlsFiles,
    metrics: Arc<ServerMetrics>,
) -> Result<Arc<rustls::ServerConfig>, NetError> {
    let resolver = ReloadingCert::new(&files.cert, &files.key, metrics)?;
    let builder = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| NetError::Tls(e.to_string()))?;
    let builder = match &files.client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let roots = roots_from_file(ca)?;
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
                .build()
                .map_err(|e| file_err(ca, e))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut cfg = builder.with_cert_resolver(Arc::new(resolver));
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// The one client trust-store policy: `ca_file` when given; else the first of
/// `SSL_CERT_FILE` and [`CA_BUNDLES`] that holds a certificate. Finding none is an error
/// (never an unverified connection).
pub fn client_roots(ca_file: Option<&Path>) -> Result<rustls::RootCertStore, NetError> {
    if let Some(ca) = ca_file {
        return roots_from_file(ca);
    }
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(p) = std::env::var_os("SSL_CERT_FILE") {
        candidates.push(p.into());
    }
    candidates.extend(CA_BUNDLES.iter().map(PathBuf::from));
    for p in &candidates {
        if let Ok(roots) = roots_from_file(p) {
            return Ok(roots);
        }
    }
    Err(NetError::Tls(format!(
        "no CA certificates found (looked in {}; pass a CA file)",
        candidates
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )))
}

/// A client configuration over [`client_roots`].
pub fn client_config(ca_file: Option<&Path>) -> Result<Arc<rustls::ClientConfig>, NetError> {
    let cfg = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| NetError::Tls(e.to_string()))?
        .with_root_certificates(client_roots(ca_file)?)
        .with_no_client_auth();
    Ok(Arc::new(cfg))
}
