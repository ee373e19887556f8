//! The one HTTP/1.1 client: every connection goes through the [`EgressPolicy`], HTTPS
//! is verified with the trust store of [`crate::tls::client_config`], each request is
//! bounded in time ([`HttpClient::timeout`], connect to last body byte) and its body in
//! size ([`HttpClient::max_body`]). Redirects are never followed here: callers that
//! follow them decide, hop by hop, what the next destination may be.
//!
//! Connections are kept alive and reused per origin (scheme, host, port): a connection
//! goes back to the client's pool only once its response body was read to the end (by
//! [`HttpClient::fetch`] or a [`BlockingResponse`] read to EOF), at most
//! [`MAX_IDLE_PER_ORIGIN`] per origin. [`HttpClient::send`] (streams such as watches)
//! always uses a connection of its own.
//!
//! Synchronous callers (the scanners: `db update`, image pulls) use [`BlockingClient`],
//! the same client driven by a current-thread runtime of its own.

use crate::egress::EgressPolicy;
use crate::NetError;
use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, Response, Uri};
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_rustls::rustls;

/// The header, method and status types of this client's API (from `hyper`), so callers
/// need no HTTP crate of their own.
pub use hyper::{header, Method as HttpMethod, StatusCode};

/// Most idle connections kept per origin.
pub const MAX_IDLE_PER_ORIGIN: usize = 4;
/// Most origins with idle connections kept.
const MAX_POOLED_ORIGINS: usize = 64;
/// Longest wait for a pooled connection to be ready again.
const POOL_READY_WAIT: Duration = Duration::from_secs(1);

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;
type OriginKey = (bool, String, u16);

/// Idle keep-alive connections, per origin.
#[derive(Clone, Default)]
struct Pool(Arc<Mutex<HashMap<OriginKey, Vec<Sender>>>>);

fn origin_key(url: &Url) -> OriginKey {
    (url.https, url.host.clone(), url.port)
}

impl Pool {
    fn take(&self, url: &Url) -> Option<Sender> {
        let mut m = self.0.lock().ok()?;
        let idle = m.get_mut(&origin_key(url))?;
        while let Some(s) = idle.pop() {
            if !s.is_closed() {
                return Some(s);
            }
        }
        None
    }

    fn put(&self, url: &Url, s: Sender) {
        if s.is_closed() {
            return;
        }
        if let Ok(mut m) = self.0.lock() {
            let key = origin_key(url);
            if !m.contains_key(&key) && m.len() >= MAX_POOLED_ORIGINS {
                m.retain(|_, v| {
                    v.retain(|s| !s.is_closed());
                    !v.is_empty()
                });
                if m.len() >= MAX_POOLED_ORIGINS {
                    return;
                }
            }
            let idle = m.entry(key).or_default();
            if idle.len() < MAX_IDLE_PER_ORIGIN {
                idle.push(s);
            }
        }
    }

    fn idle(&self) -> usize {
        self.0
            .lock()
            .map(|m| m.values().map(Vec::len).sum())
            .unwrap_or(0)
    }
}

/// An absolute `http://` or `https://` URL, split for connecting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// `https`.
    pub https: bool,
    /// Host without brackets (a name, an IPv4 or IPv6 address).
    pub host: String,
    /// Port (default 443/80).
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path_and_query: String,
}

impl Url {
    /// Parse an absolute http(s) URL (no user-info).
    pub fn parse(s: &str) -> Result<Url, NetError> {
        let bad = |m: &str| NetError::Url {
            url: s.to_string(),
            message: m.to_string(),
        };
        let uri: Uri = s.parse().map_err(|_| bad("not a valid URL"))?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(bad("expected an http:// or https:// URL")),
        };
        let auth = uri.authority().ok_or_else(|| bad("no host"))?;
        if auth.as_str().contains('@') {
            return Err(bad("credentials in URLs are not supported"));
        }
        let host = auth
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let port = auth.port_u16().unwrap_or(if https { 443 } else { 80 });
        let path_and_query = uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .filter(|p| p.starts_with('/'))
            .unwrap_or_else(|| "/".to_string());
        Ok(Url {
            https,
            host,
            port,
            path_and_query,
        })
    }

    /// `scheme://host[:port]` with the port only when not the default.
    pub fn origin(&self) -> String {
        format!(
            "{}://{}",
            if self.https { "https" } else { "http" },
            self.host_header()
        )
    }

    /// The `Host` header value.
    pub fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == if self.https { 443 } else { 80 } {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }

    /// True when `other` has the same scheme, host and port.
    pub fn same_origin(&self, other: &Url) -> bool {
        self.https == other.https && self.host == other.host && self.port == other.port
    }

    /// Resolve a redirect `Location` (absolute, or an absolute path) against this URL.
    pub fn join(&self, location: &str) -> Result<Url, NetError> {
        if location.starts_with("http://") || location.starts_with("https://") {
            Url::parse(location)
        } else if location.starts_with('/') && !location.starts_with("//") {
            Url::parse(&format!("{}{location}", self.origin()))
        } else {
            Err(NetError::Url {
                url: location.to_string(),
                message: "redirect to a location that is neither absolute nor an absolute path"
                    .into(),
            })
        }
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.origin(), self.path_and_query)
    }
}

/// The connection of a [`HttpClient::send_reusable`] response.
pub struct Reusable {
    sender: Sender,
    url: Url,
    pool: Pool,
}

impl fmt::Debug for Reusable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reusable")
            .field("url", &self.url.to_string())
            .finish()
    }
}

impl Reusable {
    /// Put the connection back in the pool: only once the response body was read to the
    /// end.
    pub fn release(self) {
        self.pool.put(&self.url, self.sender);
    }
}

/// A whole response.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: HeaderMap,
    /// Body (at most [`HttpClient::max_body`] bytes).
    pub body: Bytes,
}

/// The client. Cheap to clone (clones share the connection pool).
#[derive(Clone)]
pub struct HttpClient {
    tls: Result<Arc<rustls::ClientConfig>, String>,
    egress: EgressPolicy,
    pool: Pool,
    connects: Arc<std::sync::atomic::AtomicU64>,
    /// Whole-request timeout (connect, TLS, headers, body).
    pub timeout: Duration,
    /// Largest body [`HttpClient::fetch`] reads.
    pub max_body: usize,
    /// `User-Agent`.
    pub user_agent: String,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("egress", &self.egress)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl HttpClient {
    /// A client verifying HTTPS with `tls` (an error is kept and reported when an https
    /// URL is requested, so plain-HTTP use works without a CA bundle) and connecting only
    /// where `egress` permits. Defaults: 10 s, 4 MiB bodies.
    pub fn new(
        tls: Result<Arc<rustls::ClientConfig>, NetError>,
        egress: EgressPolicy,
    ) -> HttpClient {
        HttpClient {
            tls: tls.map_err(|e| e.to_string()),
            egress,
            pool: Pool::default(),
            connects: Arc::default(),
            timeout: Duration::from_secs(10),
            max_body: 4 << 20,
            user_agent: "rampart".into(),
        }
    }

    /// The same client with another egress policy.
    pub fn with_egress(mut self, egress: EgressPolicy) -> HttpClient {
        self.egress = egress;
        // Connections made under another policy are not reused.
        self.pool = Pool::default();
        self
    }

    /// The same client verifying HTTPS with another configuration.
    pub fn with_tls(mut self, tls: Result<Arc<rustls::ClientConfig>, NetError>) -> HttpClient {
        self.tls = tls.map_err(|e| e.to_string());
        self.pool = Pool::default();
        self
    }

    /// Connections opened so far (by this client and its clones).
    pub fn connections_opened(&self) -> u64 {
        self.connects.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Idle keep-alive connections in the pool.
    pub fn idle_connections(&self) -> usize {
        self.pool.idle()
    }

    /// The egress policy.
    pub fn egress(&self) -> &EgressPolicy {
        &self.egress
    }

    /// Send a request and return the response with its body unread (for streams such
    /// as a watch). Only connecting and the response headers are bounded by
    /// [`HttpClient::timeout`]; the caller bounds the body.
    pub async fn send(
        &self,
        method: Method,
        url: &Url,
        headers: &[(HeaderName, HeaderValue)],
        body: Bytes,
    ) -> Result<Response<hyper::body::Incoming>, NetError> {
        tokio::time::timeout(
            self.timeout,
            self.send_unbounded(method, url, headers, body),
        )
        .await
        .map_err(|_| NetError::Timeout(url.to_string()))?
    }

    /// [`HttpClient::send`] on a pooled keep-alive connection: the response with its body
    /// unread, and the connection, to [`Reusable::release`] once the body was read to the
    /// end (dropped unreleased, it is closed). Connecting and the headers are bounded by
    /// [`HttpClient::timeout`]; the caller bounds the body.
    pub async fn send_reusable(
        &self,
        method: Method,
        url: &Url,
        headers: &[(HeaderName, HeaderValue)],
        body: Bytes,
    ) -> Result<(Response<hyper::body::Incoming>, Reusable), NetError> {
        let (resp, sender) =
            tokio::time::timeout(self.timeout, self.send_pooled(&method, url, headers, &body))
                .await
                .map_err(|_| NetError::Timeout(url.to_string()))??;
        let reuse = Reusable {
            sender,
            url: url.clone(),
            pool: self.pool.clone(),
        };
        Ok((resp, reuse))
    }

    fn build(
        &self,
        method: &Method,
        url: &Url,
        headers: &[(HeaderName, HeaderValue)],
        body: &Bytes,
    ) -> Result<Request<Full<Bytes>>, NetError> {
        let mut b = Request::builder()
            .method(method.clone())
            .uri(url.path_and_query.as_str())
            .header(hyper::header::HOST, url.host_header())
            .header(hyper::header::USER_AGENT, self.user_agent.as_str());
        for (k, v) in headers {
            b = b.header(k, v);
        }
        b.body(Full::new(body.clone()))
            .map_err(|e| NetError::Request(format!("{method} {url}: {e}")))
    }

    /// A new connection to `url`'s origin (egress policy, TLS), ready for a request.
    async fn connect(&self, method: &Method, url: &Url) -> Result<Sender, NetError> {
        let fail = |e: &dyn fmt::Display| NetError::Request(format!("{method} {url}: {e}"));
        let tls = if url.https {
            Some(self.tls.clone().map_err(|e| fail(&e))?)
        } else {
            None
        };
        let tcp = self.egress.connect(&url.host, url.port).await?;
        let _ = tcp.set_nodelay(true);
        self.connects
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match tls {
            None => handshake(TokioIo::new(tcp)).await.map_err(|e| fail(&e)),
            Some(cfg) => {
                let name = rustls::pki_types::ServerName::try_from(url.host.clone())
                    .map_err(|e| fail(&e))?;
                let stream = tokio_rustls::TlsConnector::from(cfg)
                    .connect(name, tcp)
                    .await
                    .map_err(|e| fail(&e))?;
                handshake(TokioIo::new(stream)).await.map_err(|e| fail(&e))
            }
        }
    }

    async fn send_unbounded(
        &self,
        method: Method,
        url: &Url,
        headers: &[(HeaderName, HeaderValue)],
        body: Bytes,
    ) -> Result<Response<hyper::body::Incoming>, NetError> {
        let req = self.build(&method, url, headers, &body)?;
        let mut sender = self.connect(&method, url).await?;
        sender
            .send_request(req)
            .await
            .map_err(|e| NetError::Request(format!("{method} {url}: {e}")))
    }

    /// Send on a pooled connection when one is idle for this origin (a new one
    /// otherwise): the response with its body unread, and the connection, to be put back
    /// with [`Pool::put`] once the body has been read to the end.
    async fn send_pooled(
        &self,
        method: &Method,
        url: &Url,
        headers: &[(HeaderName, HeaderValue)],
        body: &Bytes,
    ) -> Result<(Response<hyper::body::Incoming>, Sender), NetError> {
        let fail = |e: &dyn fmt::Display| NetError::Request(format!("{method} {url}: {e}"));
        if let Some(mut s) = self.pool.take(url) {
            let ready = tokio::time::timeout(POOL_READY_WAIT, s.ready()).await;
            if matches!(ready, Ok(Ok(()))) {
                match s
                    .send_request(self.build(method, url, headers, body)?)
                    .await
                {
                    Ok(resp) => return Ok((resp, s)),
                    // The server closed the idle connection: the request was not sent
                    // (canceled), or it is safe to send again (idempotent method).
                    Err(e)
                        if e.is_canceled()
                            || (e.is_incomplete_message()
                                && matches!(
                                    *method,
                                    Method::GET | Method::HEAD | Method::PUT | Method::DELETE
                                )) => {}
                    Err(e) => return Err(fail(&e)),
                }
            }
        }
        let mut s = self.connect(method, url).await?;
        let resp = s
            .send_request(self.build(method, url, headers, body)?)
            .await
            .map_err(|e| fail(&e))?;
        Ok((resp, s))
    }

    /// Send a request and read the whole body, all within [`HttpClient::timeout`].
    pub async fn fetch(
        &self,
        method: Method,
        url: &Url,
        headers: &[(HeaderName, HeaderValue)],
        body: Bytes,
    ) -> Result<Reply, NetError> {
        let work = async {
            let (resp, sender) = self.send_pooled(&method, url, headers, &body).await?;
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            let body = http_body_util::Limited::new(resp.into_body(), self.max_body)
                .collect()
                .await
                .map_err(|e| NetError::Request(format!("{method} {url}: body: {e}")))?
                .to_bytes();
            self.pool.put(url, sender);
            Ok(Reply {
                status,
                headers,
                body,
            })
        };
        tokio::time::timeout(self.timeout, work)
            .await
            .map_err(|_| NetError::Timeout(url.to_string()))?
    }
}

async fn handshake<I>(io: I) -> Result<Sender, hyper::Error>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (sender, conn) = hyper::client::conn::http1::handshake(io).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

/// [`HttpClient`] for synchronous callers: the same client (egress policy, trust store,
/// pool) driven by a current-thread Tokio runtime of its own. Create, use and drop it
/// outside any async runtime (it refuses to work inside one rather than block it).
pub struct BlockingClient {
    client: HttpClient,
    rt: tokio::runtime::Runtime,
    /// A streamed body ([`BlockingClient::get`]) that sends nothing for this long fails.
    pub read_timeout: Duration,
    /// A streamed response, headers and body, may take this long in all.
    pub total_timeout: Duration,
}

impl fmt::Debug for BlockingClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingClient")
            .field("client", &self.client)
            .finish()
    }
}

fn inside_runtime() -> Result<(), NetError> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(NetError::Request(
            "the blocking HTTP client cannot be used inside an async runtime".into(),
        ));
    }
    Ok(())
}

impl BlockingClient {
    /// Drive `client` synchronously. Defaults: 60 s without a byte, 30 min in all.
    pub fn new(client: HttpClient) -> Result<BlockingClient, NetError> {
        inside_runtime()?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Ok(BlockingClient {
            client,
            rt,
            read_timeout: Duration::from_secs(60),
            total_timeout: Duration::from_secs(30 * 60),
        })
    }

    /// The async client underneath.
    pub fn client(&self) -> &HttpClient {
        &self.client
    }

    /// [`HttpClient::fetch`]: the whole body, at most [`HttpClient::max_body`] bytes.
    pub fn fetch(
        &self,
        method: Method,
        url: &Url,
        headers: &[(HeaderName, HeaderValue)],
        body: Bytes,
    ) -> Result<Reply, NetError> {
        inside_runtime()?;
        self.rt
            .block_on(self.client.fetch(method, url, headers, body))
    }

    /// A GET whose body is read as it arrives ([`std::io::Read`]): connecting and the
    /// headers are bounded by [`HttpClient::timeout`], each read by
    /// [`BlockingClient::read_timeout`], the whole by [`BlockingClient::total_timeout`].
    /// The connection is reused once the body was read to the end.
    pub fn get(
        &self,
        url: &Url,
        headers: &[(HeaderName, HeaderValue)],
    ) -> Result<BlockingResponse<'_>, NetError> {
        inside_runtime()?;
        let deadline = Instant::now() + self.total_timeout;
        let limit = self.client.timeout.min(self.total_timeout);
        let (resp, sender) = self
            .rt
            .block_on(async {
                tokio::time::timeout(
                    limit,
                    self.client
                        .send_pooled(&Method::GET, url, headers, &Bytes::new()),
                )
                .await
            })
            .map_err(|_| NetError::Timeout(url.to_string()))??;
        let (parts, body) = resp.into_parts();
        Ok(BlockingResponse {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body: Some(body),
            sender: Some(sender),
            buf: Bytes::new(),
            url: url.clone(),
            owner: self,
            deadline,
        })
    }
}

/// A response whose body is read synchronously (see [`BlockingClient::get`]).
pub struct BlockingResponse<'a> {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: HeaderMap,
    body: Option<hyper::body::Incoming>,
    sender: Option<Sender>,
    buf: Bytes,
    url: Url,
    owner: &'a BlockingClient,
    deadline: Instant,
}

impl fmt::Debug for BlockingResponse<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingResponse")
            .field("status", &self.status)
            .field("url", &self.url.to_string())
            .finish()
    }
}

impl BlockingResponse<'_> {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The whole body, failing past `limit` bytes.
    pub fn read_to_vec(mut self, limit: usize) -> Result<Vec<u8>, NetError> {
        use std::io::Read as _;
        let mut out = Vec::new();
        let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
        (&mut self)
            .take(cap)
            .read_to_end(&mut out)
            .map_err(|e| NetError::Request(format!("GET {}: body: {e}", self.url)))?;
        if out.len() > limit {
            return Err(NetError::Request(format!(
                "GET {}: body over the {limit}-byte limit",
                self.url
            )));
        }
        Ok(out)
    }
}

impl std::io::Read for BlockingResponse<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        use std::io::{Error, ErrorKind};
        loop {
            if !self.buf.is_empty() {
                let n = self.buf.len().min(out.len());
                out[..n].copy_from_slice(&self.buf[..n]);
                self.buf = self.buf.slice(n..);
                return Ok(n);
            }
            if out.is_empty() {
                return Ok(0);
            }
            let Some(body) = self.body.as_mut() else {
                return Ok(0);
            };
            inside_runtime().map_err(Error::other)?;
            let left = self.deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::new(ErrorKind::TimedOut, "download took too long"));
            }
            let wait = self.owner.read_timeout.min(left);
            let frame = self
                .owner
                .rt
                .block_on(async { tokio::time::timeout(wait, body.frame()).await });
            match frame {
                Err(_) => {
                    return Err(Error::new(
                        ErrorKind::TimedOut,
                        format!("no data for {} s", wait.as_secs()),
                    ))
                }
                Ok(None) => {
                    self.body = None;
                    if let Some(s) = self.sender.take() {
                        self.owner.client.pool.put(&self.url, s);
                    }
                    return Ok(0);
                }
                Ok(Some(Err(e))) => return Err(Error::other(e)),
                Ok(Some(Ok(f))) => {
                    if let Ok(d) = f.into_data() {
                        self.buf = d;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn urls() {
        let u = Url::parse("http://127.0.0.1:5000/v2/x/manifests/1?a=b").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.https),
            ("127.0.0.1", 5000, false)
        );
        assert_eq!(u.path_and_query, "/v2/x/manifests/1?a=b");
        assert_eq!(u.to_string(), "http://127.0.0.1:5000/v2/x/manifests/1?a=b");
        let u = Url::parse("https://[::1]/t").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("::1", 443));
        assert_eq!(u.host_header(), "[::1]");
        assert!(Url::parse("ftp://x/").is_err());
        assert!(Url::parse("https://user:pw@x/").is_err());
        assert!(Url::parse("https:///x").is_err());
        let base = Url::parse("https://r.example:8443/v2/a").unwrap();
        assert_eq!(
            base.join("/v2/b").unwrap().to_string(),
            "https://r.example:8443/v2/b"
        );
        assert!(base.join("//evil.example/x").is_err());
        assert!(base.join("relative").is_err());
        assert!(!base.same_origin(&Url::parse("http://r.example:8443/").unwrap()));
    }

    /// A server on 127.0.0.1 (its own thread and runtime) counting the TCP connections
    /// it accepts; `/big` answers 1 MiB, `/close` closes its connection after answering.
    fn counting_server() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
        use axum::serve::ListenerExt as _;
        let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let a2 = accepted.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(l.local_addr().unwrap()).unwrap();
                let l = l.tap_io(move |_| {
                    a2.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                });
                let app = axum::Router::new()
                    .route("/big", axum::routing::get(|| async { vec![7u8; 1 << 20] }))
                    .route(
                        "/close",
                        axum::routing::get(|| async {
                            ([(hyper::header::CONNECTION, "close")], "bye")
                        }),
                    )
                    .fallback(|| async { "ok" });
                axum::serve(l, app).await.unwrap();
            });
        });
        let addr = rx.recv().unwrap();
        (format!("http://{addr}"), accepted)
    }

    /// Issue 14: every request opened a connection (and a TLS handshake) of its own;
    /// a pull of an image is dozens of requests to one registry.
    #[test]
    fn blocking_requests_reuse_one_connection_per_origin() {
        let (base, accepted) = counting_server();
        let c = BlockingClient::new(HttpClient::new(
            Err(NetError::Tls("no TLS in this test".into())),
            EgressPolicy::unrestricted(),
        ))
        .unwrap();
        for i in 0..20 {
            let url = Url::parse(&format!("{base}/x{i}")).unwrap();
            if i % 2 == 0 {
                let r = c.fetch(Method::GET, &url, &[], Bytes::new()).unwrap();
                assert_eq!((r.status, &r.body[..]), (200, &b"ok"[..]));
            } else {
                let big = Url::parse(&format!("{base}/big")).unwrap();
                let body = c.get(&big, &[]).unwrap().read_to_vec(2 << 20).unwrap();
                assert_eq!(body.len(), 1 << 20);
            }
        }
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert_eq!(c.client().connections_opened(), 1);
        assert_eq!(c.client().idle_connections(), 1);

        // A body not read to the end never goes back to the pool; a server that closes
        // its connection is reconnected to.
        let big = Url::parse(&format!("{base}/big")).unwrap();
        let mut partial = c.get(&big, &[]).unwrap();
        let mut b = [0u8; 10];
        std::io::Read::read(&mut partial, &mut b).unwrap();
        drop(partial);
        let close = Url::parse(&format!("{base}/close")).unwrap();
        assert_eq!(
            c.fetch(Method::GET, &close, &[], Bytes::new())
                .unwrap()
                .status,
            200
        );
        let ok = Url::parse(&format!("{base}/")).unwrap();
        for _ in 0..3 {
            assert_eq!(
                c.fetch(Method::GET, &ok, &[], Bytes::new()).unwrap().status,
                200
            );
        }
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 3);

        // Limits hold on streamed bodies.
        let err = c.get(&big, &[]).unwrap().read_to_vec(1000).unwrap_err();
        assert!(err.to_string().contains("1000-byte limit"), "{err}");
    }

    #[test]
    fn the_blocking_client_refuses_to_block_an_async_runtime() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let err = rt
            .block_on(async {
                BlockingClient::new(HttpClient::new(
                    Err(NetError::Tls("x".into())),
                    EgressPolicy::unrestricted(),
                ))
            })
            .unwrap_err();
        assert!(err.to_string().contains("async runtime"), "{err}");
    }
}
