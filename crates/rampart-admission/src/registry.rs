//! A small OCI distribution API client: resolve a tag to its manifest digest (`HEAD
//! /v2/<repo>/manifests/<tag>`) and read an image's configured user (manifest → config
//! blob). Anonymous bearer tokens (`WWW-Authenticate: Bearer realm=…`) are fetched when a
//! registry asks; credentials are not supported yet. Results are cached for 5 minutes.
//!
//! The registry a lookup goes to is named by the admission request (the pod's image), so
//! every destination is treated as attacker-chosen (server-side request forgery):
//!
//! - every connection, to the registry, a redirect target or a token realm, passes the
//!   [`EgressPolicy`] (no loopback, private, link-local or metadata addresses unless
//!   allow-listed; checked on the resolved address that is connected to);
//! - plain HTTP only to registries listed as insecure, and never after a redirect from
//!   https (no downgrade);
//! - the bearer token is sent only to the registry's own origin over https, never to a
//!   redirect target on another host;
//! - the token realm must be https (and pass the egress policy);
//! - at most [`MAX_HOPS`] requests (redirects and the token round) per lookup.
//!
//! The HTTP itself is [`rampart_net::http`]'s one client.

use crate::images::ImageRef;
use crate::mutate::{ImageUser, Lookups};
use axum::body::Bytes;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::Method;
pub use rampart_net::egress::EgressPolicy;
use rampart_net::http::{HttpClient, Reply, Url};
use serde_json::Value;
use sha2::Digest as _;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";
const MAX_BODY: usize = 4 << 20;
const TTL: Duration = Duration::from_secs(300);
const MAX_CACHE: usize = 4096;
/// Requests per lookup (redirects plus the token round).
pub const MAX_HOPS: usize = 5;
/// Longest bearer token accepted from a realm.
const MAX_TOKEN: usize = 16 << 10;

#[derive(Clone)]
enum Cached {
    Digest(String),
    User(ImageUser),
}

/// The registry client.
pub struct Registry {
    insecure: Vec<String>,
    client: HttpClient,
    cache: Mutex<HashMap<String, (Cached, Instant)>>,
    tokens: Mutex<HashMap<String, String>>,
    /// Per-HTTP-request timeout.
    pub timeout: Duration,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("insecure", &self.insecure)
            .field("egress", self.client.egress())
            .finish()
    }
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

/// Percent-encode everything but RFC 3986 unreserved characters (`A-Za-z0-9-_.~`).
fn urlencode(s: &str) -> String {
    const RESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(s, RESERVED).to_string()
}

impl Registry {
    /// A client; `insecure` registries (`host:port`) are reached over plain HTTP. Only
    /// public addresses are reached until [`Registry::with_egress`] allow-lists others.
    pub fn new(insecure: Vec<String>) -> Registry {
        let mut client = HttpClient::new(
            rampart_net::tls::client_config(None),
            EgressPolicy::public_only(),
        );
        client.max_body = MAX_BODY;
        client.user_agent = "rampart-admission".into();
        Registry {
            insecure,
            client,
            cache: Mutex::new(HashMap::new()),
            tokens: Mutex::new(HashMap::new()),
            timeout: Duration::from_secs(3),
        }
    }

    /// Connect only where `egress` permits (e.g. an in-cluster registry on a private
    /// address, allow-listed by the operator).
    pub fn with_egress(mut self, egress: EgressPolicy) -> Registry {
        self.client = self.client.with_egress(egress);
        self
    }

    /// Verify HTTPS registries against this CA file instead of the system bundle.
    pub fn with_ca_file(mut self, ca: &Path) -> Registry {
        self.client = self
            .client
            .with_tls(rampart_net::tls::client_config(Some(ca)));
        self
    }

    fn base(&self, r: &ImageRef) -> String {
        let host = if r.domain() == "docker.io" {
            "registry-1.docker.io"
        } else {
            r.domain()
        };
        let scheme = if self.insecure.iter().any(|i| i == r.domain()) {
            "http"
        } else {
            "https"
        };
        format!("{scheme}://{host}/v2/{}", r.path())
    }

    fn is_insecure(&self, url: &Url) -> bool {
        let origin = url.host_header();
        self.insecure
            .iter()
            .any(|i| i.eq_ignore_ascii_case(&origin))
    }

    /// May a redirect go from `from` to `to`?
    fn check_redirect(&self, from: &Url, to: &Url) -> Result<(), String> {
        if from.https && !to.https {
            return Err(format!(
                "{from}: redirect to {to} refused (a downgrade from https to http://)"
            ));
        }
        if !to.https && !self.is_insecure(to) {
            return Err(format!(
                "{from}: redirect to {to} refused (plain http:// to a registry not listed as insecure)"
            ));
        }
        Ok(())
    }

    /// Fetch an anonymous token from the realm of a 401's challenge.
    async fn fetch_token(
        &self,
        client: &HttpClient,
        url: &Url,
        headers: &HeaderMap,
        scope_key: &str,
    ) -> Result<(), String> {
        let ch = headers
            .get(header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .and_then(challenge)
            .ok_or_else(|| format!("{url}: 401 without a bearer challenge"))?;
        let realm = ch
            .get("realm")
            .ok_or_else(|| format!("{url}: bearer challenge without realm"))?;
        let mut turl = Url::parse(realm).map_err(|e| format!("{url}: token realm: {e}"))?;
        if !turl.https {
            return Err(format!(
                "{url}: token realm {realm} refused: it must be https"
            ));
        }
        let mut query: Vec<String> = Vec::new();
        if let Some(s) = ch.get("service") {
            query.push(format!("service={}", urlencode(s)));
        }
        if let Some(s) = ch.get("scope") {
            query.push(format!("scope={}", urlencode(s)));
        }
        if !query.is_empty() {
            let sep = if turl.path_and_query.contains('?') {
                '&'
            } else {
                '?'
            };
            turl.path_and_query = format!("{}{sep}{}", turl.path_and_query, query.join("&"));
        }
        let tr = client
            .fetch(Method::GET, &turl, &[], Bytes::new())
            .await
            .map_err(|e| format!("{url}: token realm: {e}"))?;
        if tr.status != 200 {
            return Err(format!("{url}: token realm {turl}: HTTP {}", tr.status));
        }
        let v: Value = serde_json::from_slice(&tr.body)
            .map_err(|e| format!("{url}: token realm {turl}: {e}"))?;
        let t = v
            .get("token")
            .or_else(|| v.get("access_token"))
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty() && t.len() <= MAX_TOKEN)
            .ok_or_else(|| format!("{url}: token response without a usable token"))?;
        if let Ok(mut m) = self.tokens.lock() {
            if m.len() > MAX_CACHE {
                m.clear();
            }
            m.insert(scope_key.to_string(), t.to_string());
        }
        Ok(())
    }

    /// GET/HEAD with anonymous bearer-token auth and redirects, within the policy of the
    /// module documentation.
    async fn fetch(
        &self,
        method: &str,
        url: &str,
        scope_key: &str,
        accept: Option<&str>,
    ) -> Result<Reply, String> {
        let origin = Url::parse(url).map_err(|e| e.to_string())?;
        let method = Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
        let mut client = self.client.clone();
        client.timeout = self.timeout;
        let mut url = origin.clone();
        let mut asked_token = false;
        for _ in 0..MAX_HOPS {
            let mut headers: Vec<(HeaderName, HeaderValue)> = Vec::new();
            if let Some(a) = accept {
                let v = HeaderValue::from_str(a).map_err(|e| e.to_string())?;
                headers.push((header::ACCEPT, v));
            }
            // Credentials only to the registry's own origin, and only over https.
            let token = if url.https && url.same_origin(&origin) {
                self.tokens
                    .lock()
                    .ok()
                    .and_then(|t| t.get(scope_key).cloned())
            } else {
                None
            };
            if let Some(t) = &token {
                let v = HeaderValue::from_str(&format!("Bearer {t}"))
                    .map_err(|_| format!("{url}: unusable token"))?;
                headers.push((header::AUTHORIZATION, v));
            }
            let r = client
                .fetch(method.clone(), &url, &headers, Bytes::new())
                .await
                .map_err(|e| e.to_string())?;
            match r.status {
                401 if token.is_none() && !asked_token && url.same_origin(&origin) => {
                    if !url.https {
                        return Err(format!(
                            "{url}: the registry asks for a token over plain HTTP (tokens are only sent over https)"
                        ));
                    }
                    asked_token = true;
                    self.fetch_token(&client, &url, &r.headers, scope_key)
                        .await?;
                }
                301 | 302 | 303 | 307 | 308 => {
                    let loc = r
                        .headers
                        .get(header::LOCATION)
                        .and_then(|v| v.to_str().ok())
                        .ok_or_else(|| format!("{url}: redirect without location"))?;
                    let next = url.join(loc).map_err(|e| format!("{url}: {e}"))?;
                    self.check_redirect(&url, &next)?;
                    url = next;
                }
                200..=299 => return Ok(r),
                s => return Err(format!("{url}: HTTP {s}")),
            }
        }
        Err(format!(
            "{origin}: more than {MAX_HOPS} redirects or auth rounds"
        ))
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
        let r = ImageRef::parse(image.trim()).map_err(|e| format!("{image}: {e}"))?;
        let url = format!("{}/manifests/{}", self.base(&r), r.tag_or_latest());
        let scope = r.name().to_string();
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
        let r = ImageRef::parse(image.trim()).map_err(|e| format!("{image}: {e}"))?;
        let base = self.base(&r);
        let scope = r.name().to_string();
        let reference = r
            .digest()
            .map_or_else(|| r.tag_or_latest().to_string(), str::to_string);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_and_urls() {
        let c = challenge(r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull""#).unwrap();
        assert_eq!(c["realm"], "https://auth.docker.io/token");
        assert_eq!(c["scope"], "repository:library/nginx:pull");
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
