//! A small OCI distribution API client: resolve a tag to its manifest digest (`HEAD
//! /v2/<repo>/manifests/<tag>`) and read an image's configured user (manifest → config
//! blob). Anonymous bearer tokens (`WWW-Authenticate: Bearer realm=…`) are fetched when a
//! registry asks; credentials are not supported yet. Results are cached for 5 minutes.

use crate::images::ImageRef;
use crate::mutate::{ImageUser, Lookups};
use axum::body::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::header::HeaderMap;
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use sha2::Digest as _;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_rustls::rustls;

const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";
const MAX_BODY: usize = 4 << 20;
const TTL: Duration = Duration::from_secs(300);
const MAX_CACHE: usize = 4096;

#[derive(Clone)]
enum Cached {
    Digest(String),
    User(ImageUser),
}

/// The registry client.
pub struct Registry {
    insecure: Vec<String>,
    tls: Option<Arc<rustls::ClientConfig>>,
    cache: Mutex<HashMap<String, (Cached, Instant)>>,
    tokens: Mutex<HashMap<String, String>>,
    /// Per-HTTP-request timeout.
    pub timeout: Duration,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("insecure", &self.insecure)
            .finish()
    }
}

fn client_tls(ca_file: Option<&Path>) -> Option<Arc<rustls::ClientConfig>> {
    rampart_net::tls::client_config(ca_file).ok()
}

struct Url {
    https: bool,
    host: String,
    port: u16,
    path: String,
}

fn parse_url(u: &str) -> Result<Url, String> {
    let (https, rest) = if let Some(r) = u.strip_prefix("https://") {
        (true, r)
    } else if let Some(r) = u.strip_prefix("http://") {
        (false, r)
    } else {
        return Err(format!("{u}: not an http(s) URL"));
    };
    let (hostport, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => (h, p.parse().map_err(|_| format!("{u}: bad port"))?),
        None => (hostport, if https { 443 } else { 80 }),
    };
    Ok(Url {
        https,
        host: host.to_string(),
        port,
        path: path.to_string(),
    })
}

struct Reply {
    status: u16,
    headers: HeaderMap,
    body: Bytes,
}

/// `key="value"` pairs of a `WWW-Authenticate: Bearer …` challenge.
fn challenge(h: &str) -> Option<HashMap<String, String>> {
    let rest = h.trim().strip_prefix("Bearer ")?;
    let mut out = HashMap::new();
    for part in rest.split(',') {
        if let Some((k, v)) = part.split_once('=') {
            out.insert(k.trim().to_string(), v.trim().trim_matches('"').to_string());
        }
    }
    Some(out)
}

fn urlencode(s: &str) -> String {
    let mut o = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            o.push(char::from(b));
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}

impl Registry {
    /// A client; `insecure` registries (`host:port`) are reached over plain HTTP.
    pub fn new(insecure: Vec<String>) -> Registry {
        Registry {
            insecure,
            tls: client_tls(None),
            cache: Mutex::new(HashMap::new()),
            tokens: Mutex::new(HashMap::new()),
            timeout: Duration::from_secs(3),
        }
    }

    /// Connect only where `egress` permits (TEMPORARY: not enforced yet).
    pub fn with_egress(self, _egress: rampart_net::egress::EgressPolicy) -> Registry {
        self
    }

    /// Verify HTTPS registries against this CA file instead of the system bundle.
    pub fn with_ca_file(mut self, ca: &Path) -> Registry {
        self.tls = client_tls(Some(ca));
        self
    }

    fn base(&self, r: &ImageRef) -> String {
        let host = if r.registry == "docker.io" {
            "registry-1.docker.io"
        } else {
            r.registry.as_str()
        };
        let scheme = if self.insecure.iter().any(|i| i == &r.registry) {
            "http"
        } else {
            "https"
        };
        format!("{scheme}://{host}/v2/{}", r.repository)
    }

    async fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, String)],
    ) -> Result<Reply, String> {
        let u = parse_url(url)?;
        let tcp = tokio::net::TcpStream::connect((u.host.as_str(), u.port))
            .await
            .map_err(|e| format!("{}:{}: {e}", u.host, u.port))?;
        let host_header = if (u.https && u.port == 443) || (!u.https && u.port == 80) {
            u.host.clone()
        } else {
            format!("{}:{}", u.host, u.port)
        };
        let mut b = Request::builder()
            .method(method)
            .uri(&u.path)
            .header(hyper::header::HOST, host_header)
            .header(hyper::header::USER_AGENT, "rampart-admission");
        for (k, v) in headers {
            b = b.header(*k, v.as_str());
        }
        let req = b.body(Empty::<Bytes>::new()).map_err(|e| e.to_string())?;
        if u.https {
            let cfg = self
                .tls
                .clone()
                .ok_or("no CA certificates to verify the registry")?;
            let name = rustls::pki_types::ServerName::try_from(u.host.clone())
                .map_err(|e| e.to_string())?;
            let tls = tokio_rustls::TlsConnector::from(cfg)
                .connect(name, tcp)
                .await
                .map_err(|e| e.to_string())?;
            exchange(TokioIo::new(tls), req).await
        } else {
            exchange(TokioIo::new(tcp), req).await
        }
    }

    /// GET/HEAD with anonymous bearer-token auth and up to 3 redirects.
    async fn fetch(
        &self,
        method: &str,
        url: &str,
        scope_key: &str,
        accept: Option<&str>,
    ) -> Result<Reply, String> {
        let mut url = url.to_string();
        for _ in 0..4 {
            let mut headers: Vec<(&str, String)> = Vec::new();
            if let Some(a) = accept {
                headers.push(("accept", a.to_string()));
            }
            let token = self
                .tokens
                .lock()
                .ok()
                .and_then(|t| t.get(scope_key).cloned());
            if let Some(t) = &token {
                headers.push(("authorization", format!("Bearer {t}")));
            }
            let r = tokio::time::timeout(self.timeout, self.send(method, &url, &headers))
                .await
                .map_err(|_| format!("{url}: timed out"))??;
            match r.status {
                401 if token.is_none() => {
                    let ch = r
                        .headers
                        .get("www-authenticate")
                        .and_then(|v| v.to_str().ok())
                        .and_then(challenge)
                        .ok_or_else(|| format!("{url}: 401 without a bearer challenge"))?;
                    let realm = ch.get("realm").ok_or("bearer challenge without realm")?;
                    let mut turl = format!("{realm}?");
                    if let Some(s) = ch.get("service") {
                        turl.push_str(&format!("service={}&", urlencode(s)));
                    }
                    if let Some(s) = ch.get("scope") {
                        turl.push_str(&format!("scope={}", urlencode(s)));
                    }
                    let tr = tokio::time::timeout(self.timeout, self.send("GET", &turl, &[]))
                        .await
                        .map_err(|_| "token request timed out".to_string())??;
                    let v: Value = serde_json::from_slice(&tr.body).map_err(|e| e.to_string())?;
                    let t = v
                        .get("token")
                        .or_else(|| v.get("access_token"))
                        .and_then(Value::as_str)
                        .ok_or("token response without a token")?;
                    if let Ok(mut m) = self.tokens.lock() {
                        if m.len() > MAX_CACHE {
                            m.clear();
                        }
                        m.insert(scope_key.to_string(), t.to_string());
                    }
                }
                301 | 302 | 303 | 307 | 308 => {
                    let loc = r
                        .headers
                        .get("location")
                        .and_then(|v| v.to_str().ok())
                        .ok_or("redirect without location")?;
                    url = if loc.starts_with("http") {
                        loc.to_string()
                    } else {
                        let u = parse_url(&url)?;
                        format!(
                            "{}://{}:{}{loc}",
                            if u.https { "https" } else { "http" },
                            u.host,
                            u.port
                        )
                    };
                }
                200..=299 => return Ok(r),
                s => return Err(format!("{url}: HTTP {s}")),
            }
        }
        Err(format!("{url}: too many redirects or auth rounds"))
    }

    fn cached(&self, key: &str) -> Option<Cached> {
        let m = self.cache.lock().ok()?;
        let (v, at) = m.get(key)?;
        (at.elapsed() < TTL).then(|| v.clone())
    }

    fn store(&self, key: String, v: Cached) {
        if let Ok(mut m) = self.cache.lock() {
            if m.len() > MAX_CACHE {
                m.clear();
            }
            m.insert(key, (v, Instant::now()));
        }
    }

    /// The manifest digest of `image`'s tag.
    pub async fn digest(&self, image: &str) -> Result<String, String> {
        let key = format!("d:{image}");
        if let Some(Cached::Digest(d)) = self.cached(&key) {
            return Ok(d);
        }
        let r = ImageRef::parse(image).ok_or_else(|| format!("{image}: invalid reference"))?;
        let url = format!("{}/manifests/{}", self.base(&r), r.tag_or_latest());
        let scope = r.name();
        let head = self.fetch("HEAD", &url, &scope, Some(ACCEPT)).await?;
        let d = match head
            .headers
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
        {
            Some(d) => d.to_string(),
            None => {
                let get = self.fetch("GET", &url, &scope, Some(ACCEPT)).await?;
                format!("sha256:{}", hex::encode(sha2::Sha256::digest(&get.body)))
            }
        };
        if !d.starts_with("sha256:") || d.len() != 71 {
            return Err(format!("{image}: unexpected digest {d:?}"));
        }
        self.store(key, Cached::Digest(d.clone()));
        Ok(d)
    }

    /// The user `image` runs as (its config's `User`).
    pub async fn user(&self, image: &str) -> Result<ImageUser, String> {
        let key = format!("u:{image}");
        if let Some(Cached::User(u)) = self.cached(&key) {
            return Ok(u);
        }
        let r = ImageRef::parse(image).ok_or_else(|| format!("{image}: invalid reference"))?;
        let base = self.base(&r);
        let scope = r.name();
        let reference = r
            .digest
            .clone()
            .unwrap_or_else(|| r.tag_or_latest().to_string());
        let mut manifest: Value = {
            let m = self
                .fetch(
                    "GET",
                    &format!("{base}/manifests/{reference}"),
                    &scope,
                    Some(ACCEPT),
                )
                .await?;
            serde_json::from_slice(&m.body).map_err(|e| format!("{image}: manifest: {e}"))?
        };
        if let Some(list) = manifest.get("manifests").and_then(Value::as_array) {
            let pick = list
                .iter()
                .find(|m| {
                    let p = m.get("platform");
                    p.and_then(|p| p.get("os")).and_then(Value::as_str) == Some("linux")
                        && p.and_then(|p| p.get("architecture"))
                            .and_then(Value::as_str)
                            == Some("amd64")
                })
                .or_else(|| list.first())
                .and_then(|m| m.get("digest"))
                .and_then(Value::as_str)
                .ok_or_else(|| format!("{image}: empty index"))?
                .to_string();
            let m = self
                .fetch(
                    "GET",
                    &format!("{base}/manifests/{pick}"),
                    &scope,
                    Some(ACCEPT),
                )
                .await?;
            manifest =
                serde_json::from_slice(&m.body).map_err(|e| format!("{image}: manifest: {e}"))?;
        }
        let cfg_digest = manifest
            .get("config")
            .and_then(|c| c.get("digest"))
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{image}: manifest without config"))?;
        let blob = self
            .fetch("GET", &format!("{base}/blobs/{cfg_digest}"), &scope, None)
            .await?;
        let cfg: Value =
            serde_json::from_slice(&blob.body).map_err(|e| format!("{image}: config: {e}"))?;
        let user = cfg
            .get("config")
            .and_then(|c| c.get("User"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let u = ImageUser::from_config_user(user);
        self.store(key, Cached::User(u.clone()));
        Ok(u)
    }

    /// Look up users and digests concurrently, within `deadline`; failures are left
    /// out (the mutation is then skipped, with a note).
    pub async fn lookups(
        self: &Arc<Self>,
        users: &[String],
        digests: &[String],
        deadline: Duration,
    ) -> Lookups {
        let mut set = tokio::task::JoinSet::new();
        for u in users {
            let me = self.clone();
            let u = u.clone();
            set.spawn(async move { (u.clone(), me.user(&u).await.map(Cached::User)) });
        }
        for d in digests {
            let me = self.clone();
            let d = d.clone();
            set.spawn(async move { (d.clone(), me.digest(&d).await.map(Cached::Digest)) });
        }
        let mut out = Lookups::default();
        let collect = async {
            while let Some(res) = set.join_next().await {
                match res {
                    Ok((img, Ok(Cached::User(u)))) => {
                        out.users.insert(img, u);
                    }
                    Ok((img, Ok(Cached::Digest(d)))) => {
                        out.digests.insert(img, d);
                    }
                    _ => {}
                }
            }
        };
        let _ = tokio::time::timeout(deadline, collect).await;
        out
    }
}

async fn exchange<I>(io: I, req: Request<Empty<Bytes>>) -> Result<Reply, String>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = http_body_util::Limited::new(resp.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok(Reply {
        status,
        headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_and_urls() {
        let c = challenge(r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull""#).unwrap();
        assert_eq!(c["realm"], "https://auth.docker.io/token");
        assert_eq!(c["scope"], "repository:library/nginx:pull");
        let u = parse_url("http://127.0.0.1:5000/v2/x/manifests/1").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.https),
            ("127.0.0.1", 5000, false)
        );
        assert_eq!(
            urlencode("repository:a/b:pull"),
            "repository%3Aa%2Fb%3Apull"
        );
        let reg = Registry::new(vec!["127.0.0.1:5000".into()]);
        let r = ImageRef::parse("127.0.0.1:5000/t/app:1").unwrap();
        assert_eq!(reg.base(&r), "http://127.0.0.1:5000/v2/t/app");
        let r = ImageRef::parse("nginx").unwrap();
        assert_eq!(
            reg.base(&r),
            "https://registry-1.docker.io/v2/library/nginx"
        );
    }
}
