//! The one OCI registry client (distribution API v2), used by `rampart image` (pulls),
//! the admission webhook (tag → digest, image user) and, next, `rampart sign|verify`
//! (signatures and attestations pushed and read as blobs and manifests).
//!
//! # What it does
//!
//! - manifests, indexes, config and layer blobs: `GET` and `HEAD` with the OCI and
//!   Docker v2 media types in `Accept`; platform selection from an index
//!   ([`oci::select_platform`]); every document and blob fetched by digest is verified
//!   against it (`sha256:`, `sha512:`), and a manifest fetched by tag against the
//!   registry's `Docker-Content-Digest`; documents are capped at
//!   [`RegistryOptions::max_document`] bytes, streamed blobs at the caller's limit;
//! - pushes: blobs (`POST` an upload, then one monolithic `PUT ?digest=`) and manifests
//!   (`PUT`), for `rampart sign`;
//! - authentication: anonymous, basic, bearer tokens (`WWW-Authenticate` challenge,
//!   scope, tokens cached until `expires_in`), credentials from the runner's Docker
//!   config (`auths` with `auth`, `username`/`password` or `identitytoken`,
//!   `credHelpers`, `credsStore`: see [`auth`]); credentials never appear in an error;
//! - redirects (blobs on a CDN) followed by hand, at most [`MAX_REDIRECTS`]: never from
//!   https to http, plain http only to hosts [`PlainHttp`] allows, credentials and
//!   tokens only to the registry's own origin;
//! - retries on `429` and `503`, at most [`RegistryOptions::retries`] times, waiting
//!   `Retry-After` or a doubling backoff, capped by [`RegistryOptions::max_backoff`];
//! - a bounded, expiring cache of tag → digest lookups for the webhook ([`TtlCache`]).
//!
//! Every connection (registry, redirect target, token realm) is made by Rampart's one
//! HTTP client ([`crate::http::HttpClient`]) the caller configures: its trust store
//! (`--ca-file` or the system's, [`crate::tls::client_config`]), its egress policy (the
//! webhook's: no loopback, private, link-local or metadata address unless allow-listed,
//! checked on the resolved address connected to) and its timeouts.
//!
//! # Why not `oci-client`
//!
//! `DESIGN.md` planned this client over the `oci-client` crate. Measured on 2026-12-07
//! (`oci-client` 0.18.0, `default-features = false, features = ["rustls-tls-no-provider"]`
//! to avoid building aws-lc; a scratch binary calling `pull_manifest`):
//!
//! - 136 crates in its dependency tree, **39 not yet in `rampart`'s** (by name): a second
//!   HTTP client stack (`reqwest` 0.13, `hyper-rustls`, `tower-http`, `tokio-util`,
//!   `rustls-platform-verifier`, `rustls-native-certs`), `tracing` (+ attributes,
//!   core), and `oci-spec`'s proc macros (`derive_builder`, `darling`, `getset`,
//!   `strum`, `const_format`, `konst`); with its default features also `aws-lc-rs` and
//!   `aws-lc-sys` (a C/CMake build) and a second `sha2`/`digest` major version;
//! - build cost: a release build of that scratch binary (sharing the workspace's
//!   target directory, 2 shared cores) spent 141 of its 471 CPU-seconds on those 39
//!   crates (`reqwest` 44 s, `oci-spec` 24 s, `oci-client` 23 s, `darling_core` 6 s,
//!   …); the binary, which only fetches a manifest, is 7.7 MB (5.9 MB stripped);
//! - and it cannot honour Rampart's policies: it builds its own `reqwest::Client` from
//!   `ClientConfig` (protocol, certificates, proxy, connect/read timeouts, user agent)
//!   with no hook for a resolver or connector, so the egress policy's resolved-address
//!   check cannot be applied to the registry, the token realm or a redirect target
//!   (server-side request forgery from the webhook); reqwest's default redirect policy
//!   (10 hops, any host, https → http allowed) cannot be replaced; manifest, config,
//!   token and error bodies are read whole with `Response::bytes()` (no size cap: a
//!   hostile registry makes the webhook allocate what it sends); there is no
//!   whole-request timeout; and `tls_certs_only` would be a second trust-store policy
//!   next to [`crate::tls`].
//!
//! So the client is built on [`crate::http::HttpClient`] (already pooled, bounded and
//! policed), with the few document types it needs in [`oci`]: `oci-spec` would bring
//! the proc-macro crates above for six serde structs, and its strict types refuse the
//! partial documents (no `mediaType`, Docker v2 lists) registries serve.

pub mod auth;
mod blocking;
pub mod oci;

pub use auth::{Challenge, CredentialSource, Credentials};
pub use blocking::BlockingRegistry;
pub use oci::{Descriptor, Index, Manifest, Platform};

use crate::http::{header, HttpClient, Reply, Url};
use crate::NetError;
use http_body_util::BodyExt as _;
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper::Method;
use rampart_core::ImageRef;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most redirects followed for one request.
pub const MAX_REDIRECTS: usize = 5;
/// Largest token-realm answer read.
const MAX_TOKEN_BODY: usize = 1 << 20;
/// Longest token accepted.
const MAX_TOKEN: usize = 64 << 10;
/// A token without `expires_in` is kept this long (the distribution spec's default).
const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(60);
/// A token is dropped this long before it expires.
const TOKEN_MARGIN: Duration = Duration::from_secs(5);

/// Errors of the registry client. None carries a credential or token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// A request failed or was answered with an error status.
    #[error("{url}: {message}")]
    Http {
        /// The URL requested (never with credentials: Rampart's URLs have none).
        url: String,
        /// What went wrong.
        message: String,
    },
    /// The network layer refused or failed.
    #[error("{0}")]
    Net(#[from] NetError),
    /// A redirect, realm or scheme outside the policy.
    #[error("{url}: refused: {reason}")]
    Policy {
        /// Where the request was going.
        url: String,
        /// Why it was refused.
        reason: String,
    },
    /// Authentication failed.
    #[error("{0}")]
    Auth(String),
    /// Content that does not hash to the digest it was asked for.
    #[error("{what}: digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch {
        /// Which document or blob.
        what: String,
        /// The digest asked for.
        expected: String,
        /// The digest of the bytes received.
        actual: String,
    },
    /// Content over a size limit.
    #[error("{what} is over the {limit}-byte limit")]
    TooLarge {
        /// What.
        what: String,
        /// The limit.
        limit: u64,
    },
    /// No manifest of an index for the platform.
    #[error("no image for platform {platform} (the index has: {available})")]
    Platform {
        /// The platform asked for.
        platform: String,
        /// What the index offers.
        available: String,
    },
    /// A malformed document, digest or reference.
    #[error("{0}")]
    Malformed(String),
    /// Writing a streamed blob failed.
    #[error("{what}: {source}")]
    Io {
        /// What was written.
        what: String,
        /// The error.
        source: std::io::Error,
    },
}

fn http_err(url: &impl ToString, m: impl std::fmt::Display) -> RegistryError {
    RegistryError::Http {
        url: url.to_string(),
        message: m.to_string(),
    }
}

/// Which registries may be spoken to in plain HTTP.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum PlainHttp {
    /// None: https only.
    #[default]
    Never,
    /// These `host[:port]` (as written in image references).
    Hosts(Vec<String>),
    /// Every registry (`rampart image --insecure`: the user names the one registry).
    All,
}

impl PlainHttp {
    fn allows(&self, host_port: &str) -> bool {
        match self {
            PlainHttp::Never => false,
            PlainHttp::All => true,
            PlainHttp::Hosts(h) => h.iter().any(|h| h.eq_ignore_ascii_case(host_port)),
        }
    }
}

/// How the client behaves (the HTTP side is the [`HttpClient`]'s).
#[derive(Debug, Clone)]
pub struct RegistryOptions {
    /// Plain-HTTP registries.
    pub plain_http: PlainHttp,
    /// Where credentials come from.
    pub credentials: CredentialSource,
    /// Largest manifest, index, config or other document read whole.
    pub max_document: usize,
    /// Retries of a request answered `429` or `503`.
    pub retries: u32,
    /// Longest wait before a retry.
    pub max_backoff: Duration,
    /// A streamed blob that sends nothing this long fails.
    pub read_timeout: Duration,
    /// A streamed blob may take this long in all.
    pub blob_timeout: Duration,
    /// Tag → digest cache: entries and lifetime (`0` entries: no cache).
    pub digest_cache: (usize, Duration),
    /// `User-Agent`.
    pub user_agent: String,
    /// Longest a Docker credential helper may run ([`auth::HELPER_TIMEOUT`]).
    pub helper_timeout: Duration,
}

impl Default for RegistryOptions {
    fn default() -> RegistryOptions {
        RegistryOptions {
            plain_http: PlainHttp::Never,
            credentials: CredentialSource::Anonymous,
            max_document: 8 << 20,
            retries: 2,
            max_backoff: Duration::from_secs(2),
            read_timeout: Duration::from_secs(60),
            blob_timeout: Duration::from_secs(6 * 60 * 60),
            digest_cache: (0, Duration::ZERO),
            user_agent: concat!("rampart/", env!("CARGO_PKG_VERSION")).to_string(),
            helper_timeout: auth::HELPER_TIMEOUT,
        }
    }
}

/// A small map whose entries expire and whose size is bounded (the oldest entry makes
/// room).
#[derive(Debug)]
pub struct TtlCache<V> {
    max: usize,
    ttl: Duration,
    map: Mutex<HashMap<String, (V, Instant)>>,
}

impl<V: Clone> TtlCache<V> {
    /// At most `max` entries, each kept `ttl`.
    pub fn new(max: usize, ttl: Duration) -> TtlCache<V> {
        TtlCache {
            max,
            ttl,
            map: Mutex::new(HashMap::new()),
        }
    }

    /// A live entry.
    pub fn get(&self, key: &str) -> Option<V> {
        let m = self.map.lock().ok()?;
        let (v, at) = m.get(key)?;
        (at.elapsed() < self.ttl).then(|| v.clone())
    }

    /// Store an entry.
    pub fn put(&self, key: String, v: V) {
        if self.max == 0 {
            return;
        }
        if let Ok(mut m) = self.map.lock() {
            if m.len() >= self.max && !m.contains_key(&key) {
                let ttl = self.ttl;
                m.retain(|_, (_, at)| at.elapsed() < ttl);
                while m.len() >= self.max {
                    let Some(oldest) = m
                        .iter()
                        .min_by_key(|(_, (_, at))| *at)
                        .map(|(k, _)| k.clone())
                    else {
                        break;
                    };
                    m.remove(&oldest);
                }
            }
            m.insert(key, (v, Instant::now()));
        }
    }

    /// Entries held (live or not yet evicted).
    pub fn len(&self) -> usize {
        self.map.lock().map(|m| m.len()).unwrap_or(0)
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A manifest or index as fetched.
#[derive(Debug, Clone)]
pub struct FetchedManifest {
    /// Its digest (verified).
    pub digest: String,
    /// `Content-Type` (or the document's `mediaType`).
    pub media_type: Option<String>,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// An image manifest resolved for a platform.
#[derive(Debug, Clone)]
pub struct ResolvedImage {
    /// The image manifest's digest.
    pub digest: String,
    /// The digest of the index it was selected from, if any.
    pub index_digest: Option<String>,
    /// The manifest.
    pub manifest: Manifest,
}

/// What a request's body is read as.
enum Body {
    /// Whole, at most this many bytes.
    Whole(usize),
    /// Left unread (a blob streamed by the caller).
    Stream,
}

enum Answer {
    Whole(Reply),
    Stream(
        hyper::Response<hyper::body::Incoming>,
        crate::http::Reusable,
    ),
}

impl Answer {
    fn status(&self) -> u16 {
        match self {
            Answer::Whole(r) => r.status,
            Answer::Stream(r, _) => r.status().as_u16(),
        }
    }
    fn headers(&self) -> &HeaderMap {
        match self {
            Answer::Whole(r) => &r.headers,
            Answer::Stream(r, _) => r.headers(),
        }
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers().get(name).and_then(|v| v.to_str().ok())
    }
}

/// One request: method, URL, headers, body.
struct Call<'a> {
    method: Method,
    url: Url,
    accept: Option<&'a str>,
    content_type: Option<&'a str>,
    body: bytes::Bytes,
    read: Body,
}

/// The registry client. Cheap to share (`Arc`); clones of its [`HttpClient`] share one
/// connection pool.
pub struct RegistryClient {
    http: HttpClient,
    opts: RegistryOptions,
    tokens: Mutex<auth::TokenCache>,
    creds: Mutex<HashMap<String, Option<Credentials>>>,
    digests: TtlCache<String>,
}

impl std::fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryClient")
            .field("http", &self.http)
            .field("plain_http", &self.opts.plain_http)
            .finish()
    }
}

/// The host serving `r`'s registry API (Docker Hub's is `registry-1.docker.io`).
pub fn api_host(r: &ImageRef) -> &str {
    if r.domain() == rampart_core::image_ref::DEFAULT_DOMAIN {
        "registry-1.docker.io"
    } else {
        r.domain()
    }
}

fn header_value(url: &Url, v: &str) -> Result<HeaderValue, RegistryError> {
    HeaderValue::from_str(v).map_err(|_| http_err(url, "a header value HTTP cannot carry"))
}

fn status_text(code: u16) -> String {
    let reason = crate::http::StatusCode::from_u16(code)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    format!("HTTP {code} {reason}").trim_end().to_string()
}

impl RegistryClient {
    /// A client over `http` (its trust store, egress policy, pool and timeouts).
    pub fn new(mut http: HttpClient, opts: RegistryOptions) -> RegistryClient {
        http.user_agent = opts.user_agent.clone();
        let (n, ttl) = opts.digest_cache;
        RegistryClient {
            http,
            tokens: Mutex::default(),
            creds: Mutex::default(),
            digests: TtlCache::new(n, ttl),
            opts,
        }
    }

    /// The HTTP client underneath.
    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    /// The options.
    pub fn options(&self) -> &RegistryOptions {
        &self.opts
    }

    /// `scheme://host/v2/<path>` of `r`'s repository.
    pub fn repository_url(&self, r: &ImageRef) -> String {
        let scheme = if self.opts.plain_http.allows(r.domain()) {
            "http"
        } else {
            "https"
        };
        format!("{scheme}://{}/v2/{}", api_host(r), r.path())
    }

    fn url(&self, r: &ImageRef, rest: &str) -> Result<Url, RegistryError> {
        let s = format!("{}/{rest}", self.repository_url(r));
        Url::parse(&s).map_err(RegistryError::from)
    }

    async fn credentials(&self, r: &ImageRef) -> Result<Option<Credentials>, RegistryError> {
        let path = match &self.opts.credentials {
            CredentialSource::Anonymous => return Ok(None),
            CredentialSource::Fixed(c) => return Ok(Some(c.clone())),
            CredentialSource::DockerConfig(p) => auth::docker_config_path(p.as_deref()),
        };
        let domain = r.domain().to_string();
        if let Some(c) = self.creds.lock().ok().and_then(|m| m.get(&domain).cloned()) {
            return Ok(c);
        }
        let c = match path {
            Some(p) => auth::from_docker_config(&p, &domain, self.opts.helper_timeout).await?,
            None => None,
        };
        if let Ok(mut m) = self.creds.lock() {
            if m.len() > 256 {
                m.clear();
            }
            m.insert(domain, c.clone());
        }
        Ok(c)
    }

    /// May a request go from `from` to `to` (a redirect)?
    fn check_redirect(&self, from: &Url, to: &Url) -> Result<(), RegistryError> {
        if from.https && !to.https {
            return Err(RegistryError::Policy {
                url: from.to_string(),
                reason: format!("redirect from https to plain http refused ({to})"),
            });
        }
        if !to.https && !self.opts.plain_http.allows(&to.host_header()) {
            return Err(RegistryError::Policy {
                url: from.to_string(),
                reason: format!(
                    "redirect to plain http:// refused ({to}: not a registry allowed plain HTTP)"
                ),
            });
        }
        Ok(())
    }

    async fn one(
        &self,
        c: &Call<'_>,
        url: &Url,
        auth: Option<&str>,
    ) -> Result<Answer, RegistryError> {
        let mut headers: Vec<(HeaderName, HeaderValue)> = Vec::new();
        if let Some(a) = c.accept {
            headers.push((header::ACCEPT, header_value(url, a)?));
        }
        if let Some(ct) = c.content_type {
            headers.push((header::CONTENT_TYPE, header_value(url, ct)?));
        }
        if let Some(a) = auth {
            headers.push((header::AUTHORIZATION, header_value(url, a)?));
        }
        match c.read {
            Body::Whole(limit) => {
                let mut http = self.http.clone();
                http.max_body = limit;
                Ok(Answer::Whole(
                    http.fetch(c.method.clone(), url, &headers, c.body.clone())
                        .await?,
                ))
            }
            Body::Stream => {
                let (resp, conn) = self
                    .http
                    .send_reusable(c.method.clone(), url, &headers, c.body.clone())
                    .await?;
                Ok(Answer::Stream(resp, conn))
            }
        }
    }

    /// Send `c` for repository `r` with `actions` (`pull`, `pull,push`): authentication
    /// on the registry's first 401, redirects and retries within the policy of the module
    /// documentation. A 2xx answer, or an error.
    async fn exchange(
        &self,
        r: &ImageRef,
        actions: &str,
        c: Call<'_>,
    ) -> Result<Answer, RegistryError> {
        let registry = Url::parse(&self.repository_url(r))?;
        let scope = format!("repository:{}:{actions}", r.path());
        let origin = registry.origin();
        let mut url = c.url.clone();
        let mut authenticated = false;
        let mut hops = 0;
        let mut retries = 0;
        loop {
            let ours = url.same_origin(&registry);
            let auth = if ours {
                self.tokens.lock().ok().and_then(|t| t.get(&origin, &scope))
            } else {
                None
            };
            let a = self.one(&c, &url, auth.as_deref()).await?;
            let code = a.status();
            if (200..300).contains(&code) {
                return Ok(a);
            }
            match code {
                301 | 302 | 303 | 307 | 308 => {
                    let loc = a
                        .header("location")
                        .ok_or_else(|| http_err(&url, format!("HTTP {code} without a Location")))?;
                    let next = url.join(loc)?;
                    self.check_redirect(&url, &next)?;
                    hops += 1;
                    if hops > MAX_REDIRECTS {
                        return Err(http_err(
                            &c.url,
                            format!("more than {MAX_REDIRECTS} redirects"),
                        ));
                    }
                    url = next;
                }
                401 if ours && !authenticated => {
                    let ch = a
                        .header("www-authenticate")
                        .and_then(Challenge::parse)
                        .ok_or_else(|| {
                            RegistryError::Auth(format!(
                                "{url}: 401 Unauthorized without a WWW-Authenticate challenge"
                            ))
                        })?;
                    drop(a);
                    self.authenticate(r, &registry, &url, &ch, &scope).await?;
                    authenticated = true;
                    url = c.url.clone();
                    hops = 0;
                }
                429 | 503 if retries < self.opts.retries => {
                    let wait = a
                        .header("retry-after")
                        .and_then(|s| s.trim().parse::<u64>().ok())
                        .map(Duration::from_secs)
                        .unwrap_or_else(|| Duration::from_millis(200 << retries.min(10)))
                        .min(self.opts.max_backoff);
                    drop(a);
                    retries += 1;
                    tokio::time::sleep(wait).await;
                }
                _ => {
                    let creds = self.credentials(r).await.ok().flatten().is_some();
                    let hint = match code {
                        401 if authenticated => " (still unauthorized after authenticating)",
                        401 | 403 if creds => " (the configured credentials were rejected)",
                        401 | 403 => " (no credentials for this registry in the Docker config)",
                        _ => "",
                    };
                    return Err(http_err(&url, format!("{}{hint}", status_text(code))));
                }
            }
        }
    }

    /// Answer a challenge: store the `Authorization` value for (origin, scope).
    async fn authenticate(
        &self,
        r: &ImageRef,
        registry: &Url,
        url: &Url,
        ch: &Challenge,
        scope: &str,
    ) -> Result<(), RegistryError> {
        let origin = registry.origin();
        let creds = self.credentials(r).await?;
        let store = |value: String, ttl: Duration| {
            if let Ok(mut t) = self.tokens.lock() {
                t.put(&origin, scope, value, ttl);
            }
        };
        match ch.scheme.as_str() {
            "basic" => {
                let v = creds.as_ref().and_then(Credentials::basic_header).ok_or_else(|| {
                    RegistryError::Auth(format!(
                        "{url}: the registry asks for basic auth and no credentials are configured (no credentials for this registry in the Docker config)"
                    ))
                })?;
                if !registry.https && !self.opts.plain_http.allows(&registry.host_header()) {
                    return Err(RegistryError::Auth(format!(
                        "{url}: basic credentials are only sent over https"
                    )));
                }
                store(v, Duration::from_secs(3600));
                Ok(())
            }
            "bearer" => {
                let realm = ch.param("realm").ok_or_else(|| {
                    RegistryError::Auth(format!("{url}: bearer challenge without a realm"))
                })?;
                let mut turl = Url::parse(realm)
                    .map_err(|e| RegistryError::Auth(format!("{url}: token realm: {e}")))?;
                if !turl.https
                    && (registry.https || !self.opts.plain_http.allows(&turl.host_header()))
                {
                    return Err(RegistryError::Policy {
                        url: url.to_string(),
                        reason: format!("token realm {turl} refused: it must be https"),
                    });
                }
                // Our scope (the actions this request needs) first, then the
                // registry's if it differs: the token is cached under ours.
                let mut pairs: Vec<(&str, &str)> = Vec::new();
                if let Some(s) = ch.param("service") {
                    pairs.push(("service", s));
                }
                pairs.push(("scope", scope));
                if let Some(asked) = ch.param("scope").filter(|a| *a != scope) {
                    pairs.push(("scope", asked));
                }
                let mut headers: Vec<(HeaderName, HeaderValue)> = Vec::new();
                let (method, body) = match &creds {
                    Some(Credentials::IdentityToken(t)) => {
                        pairs.extend([
                            ("grant_type", "refresh_token"),
                            ("client_id", "rampart"),
                            ("refresh_token", t.as_str()),
                        ]);
                        headers.push((
                            header::CONTENT_TYPE,
                            HeaderValue::from_static("application/x-www-form-urlencoded"),
                        ));
                        (Method::POST, bytes::Bytes::from(form(&pairs)))
                    }
                    other => {
                        if let Some(b) = other.as_ref().and_then(Credentials::basic_header) {
                            headers.push((header::AUTHORIZATION, header_value(&turl, &b)?));
                        }
                        let sep = if turl.path_and_query.contains('?') {
                            '&'
                        } else {
                            '?'
                        };
                        turl.path_and_query =
                            format!("{}{sep}{}", turl.path_and_query, form(&pairs));
                        (Method::GET, bytes::Bytes::new())
                    }
                };
                let mut http = self.http.clone();
                http.max_body = MAX_TOKEN_BODY;
                let shown = realm.to_string();
                let tr = http
                    .fetch(method, &turl, &headers, body)
                    .await
                    .map_err(|e| match e {
                        NetError::Refused { .. } => RegistryError::Net(e),
                        e => RegistryError::Auth(format!("token realm {shown}: {e}")),
                    })?;
                if !(200..300).contains(&tr.status) {
                    return Err(RegistryError::Auth(format!(
                        "token realm {shown}: token request failed: {}",
                        status_text(tr.status)
                    )));
                }
                let v: serde_json::Value = serde_json::from_slice(&tr.body).map_err(|_| {
                    RegistryError::Auth(format!("token realm {shown}: the answer is not JSON"))
                })?;
                let token = v
                    .get("token")
                    .or_else(|| v.get("access_token"))
                    .and_then(|t| t.as_str())
                    .filter(|t| !t.is_empty() && t.len() <= MAX_TOKEN)
                    .ok_or_else(|| {
                        RegistryError::Auth(format!(
                            "token realm {shown}: the answer has no usable token"
                        ))
                    })?;
                let ttl = v
                    .get("expires_in")
                    .and_then(serde_json::Value::as_u64)
                    .map(Duration::from_secs)
                    .unwrap_or(DEFAULT_TOKEN_TTL)
                    .min(Duration::from_secs(24 * 3600))
                    .saturating_sub(TOKEN_MARGIN)
                    .max(Duration::from_secs(1));
                store(format!("Bearer {token}"), ttl);
                Ok(())
            }
            other => Err(RegistryError::Auth(format!(
                "{url}: unsupported auth scheme `{other}`"
            ))),
        }
    }

    fn whole(a: Answer) -> Reply {
        match a {
            Answer::Whole(r) => r,
            Answer::Stream(r, _) => Reply {
                status: r.status().as_u16(),
                headers: r.headers().clone(),
                body: bytes::Bytes::new(),
            },
        }
    }

    /// `GET` a manifest or index by tag or digest, verified: against the digest asked
    /// for, else against the registry's `Docker-Content-Digest`.
    pub async fn get_manifest(
        &self,
        r: &ImageRef,
        reference: &str,
    ) -> Result<FetchedManifest, RegistryError> {
        check_reference(reference)?;
        let by_digest = reference.contains(':');
        let url = self.url(r, &format!("manifests/{reference}"))?;
        let a = self
            .exchange(
                r,
                "pull",
                Call {
                    method: Method::GET,
                    url: url.clone(),
                    accept: Some(oci::MANIFEST_ACCEPT),
                    content_type: None,
                    body: bytes::Bytes::new(),
                    read: Body::Whole(self.opts.max_document),
                },
            )
            .await
            .map_err(|e| too_large(e, &url, self.opts.max_document))?;
        let reply = Self::whole(a);
        let media_type = reply
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(|s| s.split(';').next().unwrap_or(s).trim().to_string())
            .filter(|s| !s.is_empty());
        let expected = if by_digest {
            Some(reference.to_string())
        } else {
            reply
                .headers
                .get("docker-content-digest")
                .and_then(|v| v.to_str().ok())
                .map(|s| s.trim().to_string())
                .filter(|d| oci::check_digest(d).is_ok())
        };
        let digest = match &expected {
            Some(d) => {
                oci::verify(&reply.body, d, &format!("manifest {url}"))?;
                d.clone()
            }
            None => oci::sha256(&reply.body),
        };
        Ok(FetchedManifest {
            digest,
            media_type,
            bytes: reply.body.to_vec(),
        })
    }

    /// `HEAD` a manifest: its digest (`Docker-Content-Digest`) and media type, or
    /// `None` when the registry does not say.
    pub async fn head_manifest(
        &self,
        r: &ImageRef,
        reference: &str,
    ) -> Result<(Option<String>, Option<String>), RegistryError> {
        check_reference(reference)?;
        let url = self.url(r, &format!("manifests/{reference}"))?;
        let a = self
            .exchange(
                r,
                "pull",
                Call {
                    method: Method::HEAD,
                    url,
                    accept: Some(oci::MANIFEST_ACCEPT),
                    content_type: None,
                    body: bytes::Bytes::new(),
                    read: Body::Whole(0),
                },
            )
            .await?;
        let d = a
            .header("docker-content-digest")
            .map(|s| s.trim().to_string())
            .filter(|d| oci::check_digest(d).is_ok());
        let mt = a.header("content-type").map(str::to_string);
        Ok((d, mt))
    }

    /// The manifest digest `r` names: its digest when pinned, else its tag's (a `HEAD`,
    /// or a verified `GET` when the registry sends no digest), cached when
    /// [`RegistryOptions::digest_cache`] is set.
    pub async fn resolve_digest(&self, r: &ImageRef) -> Result<String, RegistryError> {
        if let Some(d) = r.digest() {
            return Ok(d.to_string());
        }
        let key = format!("{}:{}", r.name(), r.tag_or_latest());
        if let Some(d) = self.digests.get(&key) {
            return Ok(d);
        }
        let d = match self.head_manifest(r, r.tag_or_latest()).await?.0 {
            Some(d) => d,
            None => self.get_manifest(r, r.tag_or_latest()).await?.digest,
        };
        self.digests.put(key, d.clone());
        Ok(d)
    }

    /// The image manifest of `r` for `platform`: an index (nested at most 3 deep) is
    /// resolved by [`oci::select_platform`], each manifest verified against its digest.
    pub async fn resolve_image(
        &self,
        r: &ImageRef,
        platform: &Platform,
    ) -> Result<ResolvedImage, RegistryError> {
        let mut m = self
            .get_manifest(r, r.digest().unwrap_or_else(|| r.tag_or_latest()))
            .await?;
        let mut index_digest = None;
        for _ in 0..4 {
            let doc: serde_json::Value = serde_json::from_slice(&m.bytes)
                .map_err(|e| RegistryError::Malformed(format!("manifest {}: {e}", m.digest)))?;
            let mt = doc
                .get("mediaType")
                .and_then(|v| v.as_str())
                .map(str::to_string)
                .or(m.media_type.clone());
            if !oci::is_index(mt.as_deref(), &doc) {
                let manifest: Manifest = serde_json::from_value(doc)
                    .map_err(|e| RegistryError::Malformed(format!("manifest {}: {e}", m.digest)))?;
                oci::check_digest(&manifest.config.digest)?;
                return Ok(ResolvedImage {
                    digest: m.digest,
                    index_digest,
                    manifest,
                });
            }
            let idx: Index = serde_json::from_value(doc)
                .map_err(|e| RegistryError::Malformed(format!("index {}: {e}", m.digest)))?;
            let d = oci::select_platform(&idx, platform)?.digest.clone();
            index_digest.get_or_insert(m.digest.clone());
            m = self.get_manifest(r, &d).await?;
        }
        Err(RegistryError::Malformed(format!(
            "{}: indexes nested more than 3 deep",
            r.name()
        )))
    }

    /// `GET` a blob whole (a config, a signature), at most `limit` bytes, verified.
    pub async fn get_blob(
        &self,
        r: &ImageRef,
        digest: &str,
        limit: usize,
    ) -> Result<Vec<u8>, RegistryError> {
        oci::check_digest(digest)?;
        let url = self.url(r, &format!("blobs/{digest}"))?;
        let a = self
            .exchange(
                r,
                "pull",
                Call {
                    method: Method::GET,
                    url: url.clone(),
                    accept: None,
                    content_type: None,
                    body: bytes::Bytes::new(),
                    read: Body::Whole(limit),
                },
            )
            .await
            .map_err(|e| too_large(e, &url, limit))?;
        let body = Self::whole(a).body;
        oci::verify(&body, digest, &format!("blob {url}"))?;
        Ok(body.to_vec())
    }

    /// `HEAD` a blob: its size when it exists, `None` on 404.
    pub async fn head_blob(
        &self,
        r: &ImageRef,
        digest: &str,
    ) -> Result<Option<u64>, RegistryError> {
        oci::check_digest(digest)?;
        let url = self.url(r, &format!("blobs/{digest}"))?;
        let res = self
            .exchange(
                r,
                "pull",
                Call {
                    method: Method::HEAD,
                    url,
                    accept: None,
                    content_type: None,
                    body: bytes::Bytes::new(),
                    read: Body::Whole(0),
                },
            )
            .await;
        match res {
            Ok(a) => Ok(Some(
                a.header("content-length")
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0),
            )),
            Err(RegistryError::Http { message, .. }) if message.starts_with("HTTP 404") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Stream a blob into `out`, verifying it against `digest` as it arrives; fails past
    /// `limit` bytes, after [`RegistryOptions::read_timeout`] without data or
    /// [`RegistryOptions::blob_timeout`] in all. The bytes written.
    pub async fn download_blob(
        &self,
        r: &ImageRef,
        digest: &str,
        limit: u64,
        out: &mut (dyn std::io::Write + Send),
    ) -> Result<u64, RegistryError> {
        let mut hasher = oci::Hasher::for_digest(digest)?;
        let url = self.url(r, &format!("blobs/{digest}"))?;
        let deadline = Instant::now() + self.opts.blob_timeout;
        let a = self
            .exchange(
                r,
                "pull",
                Call {
                    method: Method::GET,
                    url: url.clone(),
                    accept: None,
                    content_type: None,
                    body: bytes::Bytes::new(),
                    read: Body::Stream,
                },
            )
            .await?;
        let Answer::Stream(resp, conn) = a else {
            return Err(http_err(&url, "no body"));
        };
        let mut body = resp.into_body();
        let mut n = 0u64;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(http_err(&url, "download took too long"));
            }
            let wait = self.opts.read_timeout.min(left);
            let frame = tokio::time::timeout(wait, body.frame())
                .await
                .map_err(|_| http_err(&url, format!("no data for {} s", wait.as_secs())))?;
            let Some(frame) = frame else { break };
            let frame = frame.map_err(|e| http_err(&url, e))?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            n = n.saturating_add(data.len() as u64);
            if n > limit {
                return Err(RegistryError::TooLarge {
                    what: format!("blob {digest}"),
                    limit,
                });
            }
            hasher.update(&data);
            out.write_all(&data).map_err(|e| RegistryError::Io {
                what: format!("blob {digest}"),
                source: e,
            })?;
        }
        // Read to the end: the connection can serve the next request.
        conn.release();
        let actual = hasher.finish();
        if actual != digest {
            return Err(RegistryError::DigestMismatch {
                what: format!("blob {url}"),
                expected: digest.to_string(),
                actual,
            });
        }
        Ok(n)
    }

    /// Push a blob (monolithic upload: `POST` a session, `PUT` it with `?digest=`),
    /// unless the registry has it already. Its `sha256:` digest.
    pub async fn push_blob(&self, r: &ImageRef, data: &[u8]) -> Result<String, RegistryError> {
        let digest = oci::sha256(data);
        if self.head_blob_push(r, &digest).await? {
            return Ok(digest);
        }
        let start = self.url(r, "blobs/uploads/")?;
        let a = self
            .exchange(
                r,
                "pull,push",
                Call {
                    method: Method::POST,
                    url: start.clone(),
                    accept: None,
                    content_type: None,
                    body: bytes::Bytes::new(),
                    read: Body::Whole(64 << 10),
                },
            )
            .await?;
        let loc = a
            .header("location")
            .ok_or_else(|| http_err(&start, "upload started without a Location"))?;
        let mut put = start.join(loc)?;
        self.check_redirect(&start, &put)?;
        let sep = if put.path_and_query.contains('?') {
            '&'
        } else {
            '?'
        };
        put.path_and_query = format!(
            "{}{sep}{}",
            put.path_and_query,
            form(&[("digest", &digest)])
        );
        self.exchange(
            r,
            "pull,push",
            Call {
                method: Method::PUT,
                url: put,
                accept: None,
                content_type: Some("application/octet-stream"),
                body: bytes::Bytes::copy_from_slice(data),
                read: Body::Whole(64 << 10),
            },
        )
        .await?;
        Ok(digest)
    }

    async fn head_blob_push(&self, r: &ImageRef, digest: &str) -> Result<bool, RegistryError> {
        let url = self.url(r, &format!("blobs/{digest}"))?;
        let res = self
            .exchange(
                r,
                "pull,push",
                Call {
                    method: Method::HEAD,
                    url,
                    accept: None,
                    content_type: None,
                    body: bytes::Bytes::new(),
                    read: Body::Whole(0),
                },
            )
            .await;
        match res {
            Ok(_) => Ok(true),
            Err(RegistryError::Http { message, .. }) if message.starts_with("HTTP 404") => {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// Push a manifest under `reference` (a tag, or its digest) with its media type. Its
    /// `sha256:` digest (checked against the registry's `Docker-Content-Digest`).
    pub async fn push_manifest(
        &self,
        r: &ImageRef,
        reference: &str,
        media_type: &str,
        data: &[u8],
    ) -> Result<String, RegistryError> {
        check_reference(reference)?;
        let digest = oci::sha256(data);
        let url = self.url(r, &format!("manifests/{reference}"))?;
        let a = self
            .exchange(
                r,
                "pull,push",
                Call {
                    method: Method::PUT,
                    url: url.clone(),
                    accept: None,
                    content_type: Some(media_type),
                    body: bytes::Bytes::copy_from_slice(data),
                    read: Body::Whole(64 << 10),
                },
            )
            .await?;
        if let Some(d) = a.header("docker-content-digest") {
            if d.trim() != digest {
                return Err(RegistryError::DigestMismatch {
                    what: format!("pushed manifest {url}"),
                    expected: digest,
                    actual: d.trim().to_string(),
                });
            }
        }
        Ok(digest)
    }
}

/// A manifest reference: a digest, or a tag (`[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`), so that
/// it cannot change the URL it is put in.
pub fn check_reference(reference: &str) -> Result<(), RegistryError> {
    if reference.contains(':') {
        return oci::check_digest(reference);
    }
    let b = reference.as_bytes();
    let ok = !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(RegistryError::Malformed(format!(
            "`{reference}` is neither a tag nor a digest"
        )))
    }
}

/// `application/x-www-form-urlencoded` pairs.
fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// A body over the client's limit is reported as [`RegistryError::TooLarge`].
fn too_large(e: RegistryError, url: &Url, limit: usize) -> RegistryError {
    match e {
        RegistryError::Net(NetError::Request(m)) if m.contains("length limit") => {
            RegistryError::TooLarge {
                what: url.to_string(),
                limit: limit as u64,
            }
        }
        e => e,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn references_cannot_change_the_url() {
        for ok in [
            "latest",
            "1.2.3",
            "_x",
            "sha256-abc.sig",
            &oci::sha256(b"x"),
        ] {
            assert!(check_reference(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "../blobs/x",
            "a/b",
            "a?b",
            "a#b",
            "-x",
            ".x",
            "sha256:zz",
            &"a".repeat(129),
        ] {
            assert!(check_reference(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_ttl_cache_is_bounded() {
        let c: TtlCache<u32> = TtlCache::new(3, Duration::from_secs(60));
        for i in 0..10 {
            c.put(format!("k{i}"), i);
        }
        assert_eq!(c.len(), 3);
        assert_eq!(c.get("k9"), Some(9));
        assert_eq!(c.get("k0"), None);
        let expired: TtlCache<u32> = TtlCache::new(3, Duration::ZERO);
        expired.put("a".into(), 1);
        assert_eq!(expired.get("a"), None);
    }
}
