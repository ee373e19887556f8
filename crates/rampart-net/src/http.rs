//! The one HTTP/1.1 client: every connection goes through the [`EgressPolicy`], HTTPS
//! is verified with the trust store of [`crate::tls::client_config`], each request is
//! bounded in time ([`HttpClient::timeout`], connect to last body byte) and its body in
//! size ([`HttpClient::max_body`]). Redirects are never followed here: callers that
//! follow them decide, hop by hop, what the next destination may be.

use crate::egress::EgressPolicy;
use crate::NetError;
use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, Response, Uri};
use hyper_util::rt::TokioIo;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio_rustls::rustls;

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

/// The client. Cheap to clone.
#[derive(Clone)]
pub struct HttpClient {
    tls: Result<Arc<rustls::ClientConfig>, String>,
    egress: EgressPolicy,
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
            timeout: Duration::from_secs(10),
            max_body: 4 << 20,
            user_agent: "rampart".into(),
        }
    }

    /// The same client with another egress policy.
    pub fn with_egress(mut self, egress: EgressPolicy) -> HttpClient {
        self.egress = egress;
        self
    }

    /// The same client verifying HTTPS with another configuration.
    pub fn with_tls(mut self, tls: Result<Arc<rustls::ClientConfig>, NetError>) -> HttpClient {
        self.tls = tls.map_err(|e| e.to_string());
        self
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

    async fn send_unbounded(
        &self,
        method: Method,
        url: &Url,
        headers: &[(HeaderName, HeaderValue)],
        body: Bytes,
    ) -> Result<Response<hyper::body::Incoming>, NetError> {
        let fail = |e: &dyn fmt::Display| NetError::Request(format!("{method} {url}: {e}"));
        let tls = if url.https {
            Some(self.tls.clone().map_err(|e| fail(&e))?)
        } else {
            None
        };
        let tcp = self.egress.connect(&url.host, url.port).await?;
        let _ = tcp.set_nodelay(true);
        let mut b = Request::builder()
            .method(method.clone())
            .uri(url.path_and_query.as_str())
            .header(hyper::header::HOST, url.host_header())
            .header(hyper::header::USER_AGENT, self.user_agent.as_str());
        for (k, v) in headers {
            b = b.header(k, v);
        }
        let req = b.body(Full::new(body)).map_err(|e| fail(&e))?;
        match tls {
            None => exchange(TokioIo::new(tcp), req).await.map_err(|e| fail(&e)),
            Some(cfg) => {
                let name = rustls::pki_types::ServerName::try_from(url.host.clone())
                    .map_err(|e| fail(&e))?;
                let stream = tokio_rustls::TlsConnector::from(cfg)
                    .connect(name, tcp)
                    .await
                    .map_err(|e| fail(&e))?;
                exchange(TokioIo::new(stream), req)
                    .await
                    .map_err(|e| fail(&e))
            }
        }
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
            let resp = self
                .send_unbounded(method.clone(), url, headers, body)
                .await?;
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            let body = http_body_util::Limited::new(resp.into_body(), self.max_body)
                .collect()
                .await
                .map_err(|e| NetError::Request(format!("{method} {url}: body: {e}")))?
                .to_bytes();
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

async fn exchange<I>(
    io: I,
    req: Request<Full<Bytes>>,
) -> Result<Response<hyper::body::Incoming>, hyper::Error>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    sender.send_request(req).await
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
}
