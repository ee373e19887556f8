//! A small blocking client of the OCI distribution API: manifests (with multi-arch
//! indexes resolved by platform), config and layer blobs verified against their
//! digests, anonymous / basic / bearer-token auth (the `WWW-Authenticate` challenge),
//! credentials from the Docker config file. Requests go through Rampart's one HTTP
//! client (`rampart_net::http`, keep-alive connections reused for the whole pull);
//! redirects (blobs served from a CDN) are followed here, never from https to plain http,
//! and credentials are sent to the registry's own origin only.

use crate::error::ImageError;
use crate::oci::{self, Descriptor, ImageConfig, Index, Manifest};
use crate::source::{
    check_digest, verify_bytes, BlobLoc, Hasher, LayerBlob, OpenOptions, OpenedImage, SourceKind,
    Verify, MAX_DOCUMENT,
};
use base64::Engine as _;
use rampart_core::ImageRef;
use rampart_net::egress::EgressPolicy;
use rampart_net::http::header::{self, HeaderValue};
use rampart_net::http::{BlockingClient, BlockingResponse, HttpClient, StatusCode, Url};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::Duration;

/// Parse a registry reference with the one image-reference parser
/// ([`rampart_core::ImageRef`]: `[registry/]repo[:tag][@digest]`, Docker's normalisation).
pub fn parse_reference(s: &str) -> Result<ImageRef, ImageError> {
    ImageRef::parse(s)
        .map_err(|e| ImageError::Source(format!("invalid image reference `{s}`: {e}")))
}

/// The host the registry API of `r` is served from (Docker Hub's is
/// `registry-1.docker.io`).
pub fn api_host(r: &ImageRef) -> &str {
    if r.domain() == rampart_core::image_ref::DEFAULT_DOMAIN {
        "registry-1.docker.io"
    } else {
        r.domain()
    }
}

/// Tag or digest to fetch the manifest by (`latest` when neither is written).
pub fn manifest_ref(r: &ImageRef) -> &str {
    r.digest().unwrap_or_else(|| r.tag_or_latest())
}

/// Username and password for a registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// User.
    pub username: String,
    /// Password or token.
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}, ***)", self.username)
    }
}

/// Credentials for `registry` from a Docker config file's `auths` (`auth` as
/// base64 `user:password`, or `username`/`password`). Credential helpers are not run.
pub fn docker_credentials(config: &serde_json::Value, registry: &str) -> Option<Credentials> {
    let auths = config.get("auths")?.as_object()?;
    let candidates: Vec<String> = if registry == "docker.io" {
        vec![
            "https://index.docker.io/v1/".into(),
            "index.docker.io".into(),
            "docker.io".into(),
            "registry-1.docker.io".into(),
        ]
    } else {
        vec![
            registry.to_string(),
            format!("https://{registry}"),
            format!("http://{registry}"),
            format!("https://{registry}/v2/"),
        ]
    };
    for key in candidates {
        let Some(entry) = auths.get(&key) else {
            continue;
        };
        if let Some(a) = entry.get("auth").and_then(|v| v.as_str()) {
            let dec = base64::engine::general_purpose::STANDARD
                .decode(a.trim())
                .ok()?;
            let dec = String::from_utf8(dec).ok()?;
            let (u, p) = dec.split_once(':')?;
            return Some(Credentials {
                username: u.to_string(),
                password: p.to_string(),
            });
        }
        if let (Some(u), Some(p)) = (
            entry.get("username").and_then(|v| v.as_str()),
            entry.get("password").and_then(|v| v.as_str()),
        ) {
            return Some(Credentials {
                username: u.to_string(),
                password: p.to_string(),
            });
        }
    }
    None
}

fn docker_config_path(opts: &OpenOptions) -> Option<PathBuf> {
    if let Some(p) = &opts.docker_config {
        return Some(p.clone());
    }
    if let Some(d) = std::env::var_os("DOCKER_CONFIG") {
        return Some(PathBuf::from(d).join("config.json"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker").join("config.json"))
}

/// A parsed `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Challenge {
    /// `bearer` or `basic` (lower case).
    pub scheme: String,
    /// Parameters (`realm`, `service`, `scope`).
    pub params: Vec<(String, String)>,
}

impl Challenge {
    /// Parse `Bearer realm="…",service="…",scope="…"`.
    pub fn parse(h: &str) -> Option<Challenge> {
        let h = h.trim();
        let (scheme, rest) = h.split_once(char::is_whitespace).unwrap_or((h, ""));
        let mut params = Vec::new();
        let mut s = rest.trim();
        while !s.is_empty() {
            let (k, after) = s.split_once('=')?;
            let k = k.trim().trim_start_matches(',').trim().to_ascii_lowercase();
            let after = after.trim_start();
            let (v, tail) = if let Some(q) = after.strip_prefix('"') {
                let end = q.find('"')?;
                (q[..end].to_string(), &q[end + 1..])
            } else {
                let end = after.find(',').unwrap_or(after.len());
                (after[..end].trim().to_string(), &after[end..])
            };
            params.push((k, v));
            s = tail.trim_start().trim_start_matches(',').trim_start();
        }
        Some(Challenge {
            scheme: scheme.to_ascii_lowercase(),
            params,
        })
    }

    /// A parameter.
    pub fn param(&self, k: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    }
}

/// A pull: the HTTP client, and the registry session it reads and updates.
struct Client {
    http: BlockingClient,
    st: Session,
}

/// Where and as whom a pull talks to its registry.
struct Session {
    base: String,
    /// The registry's origin: the only one credentials and tokens are sent to.
    origin: Url,
    reference: ImageRef,
    creds: Option<Credentials>,
    auth: Option<String>,
}

const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

/// Most redirects followed for one request (registries send blobs to a CDN: one hop).
const MAX_REDIRECTS: usize = 5;
/// Largest token response.
const MAX_TOKEN: usize = 1024 * 1024;

fn reg_err(url: &str, m: impl std::fmt::Display) -> ImageError {
    ImageError::Registry {
        url: url.to_string(),
        message: m.to_string(),
    }
}

fn header_value(url: &str, v: &str) -> Result<HeaderValue, ImageError> {
    HeaderValue::from_str(v).map_err(|_| reg_err(url, "a header value HTTP cannot carry"))
}

/// What a non-2xx answer said.
struct Refusal {
    code: u16,
    location: Option<String>,
    challenge: Option<String>,
}

impl Client {
    /// GET `url`, authenticating on the registry's first `401` challenge and following
    /// redirects: a redirect may go to another host (a CDN for blobs) but never from
    /// https to plain http, and credentials go to the registry's origin only.
    fn get(&mut self, url: &str, accept: Option<&str>) -> Result<BlockingResponse<'_>, ImageError> {
        let http = &self.http;
        let st = &mut self.st;
        let start = Url::parse(url).map_err(|e| reg_err(url, e))?;
        let mut authenticated = false;
        let mut current = start.clone();
        let mut hops = 0;
        loop {
            let shown = current.to_string();
            let mut headers = Vec::new();
            if let Some(a) = accept {
                headers.push((header::ACCEPT, header_value(&shown, a)?));
            }
            let registry = current.same_origin(&st.origin);
            if let (true, Some(auth)) = (registry, &st.auth) {
                headers.push((header::AUTHORIZATION, header_value(&shown, auth)?));
            }
            let resp = http
                .get(&current, &headers)
                .map_err(|e| reg_err(&shown, e))?;
            if (200..300).contains(&resp.status) {
                return Ok(resp);
            }
            let r = Refusal {
                code: resp.status,
                location: resp.header("location").map(str::to_string),
                challenge: resp.header("www-authenticate").map(str::to_string),
            };
            drop(resp);
            if matches!(r.code, 301 | 302 | 303 | 307 | 308) {
                let loc = r.location.ok_or_else(|| {
                    reg_err(&shown, format!("HTTP {} without a Location", r.code))
                })?;
                let next = current.join(&loc).map_err(|e| reg_err(&shown, e))?;
                if current.https && !next.https {
                    return Err(reg_err(
                        &shown,
                        format!("redirect from https to plain http refused ({next})"),
                    ));
                }
                hops += 1;
                if hops > MAX_REDIRECTS {
                    return Err(reg_err(url, format!("more than {MAX_REDIRECTS} redirects")));
                }
                current = next;
                continue;
            }
            if r.code == 401 && registry && !authenticated {
                let challenge = r
                    .challenge
                    .as_deref()
                    .and_then(Challenge::parse)
                    .ok_or_else(|| {
                        reg_err(
                            &shown,
                            "401 Unauthorized without a WWW-Authenticate challenge",
                        )
                    })?;
                st.authenticate(http, &challenge, &shown)?;
                authenticated = true;
                current = start.clone();
                hops = 0;
                continue;
            }
            let reason = StatusCode::from_u16(r.code)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("");
            let hint = match r.code {
                401 if authenticated => " (still unauthorized after authenticating)",
                401 | 403 if st.creds.is_some() => {
                    " (credentials from the Docker config were rejected)"
                }
                401 | 403 => " (no credentials for this registry in the Docker config)",
                _ => "",
            };
            return Err(reg_err(&shown, format!("HTTP {} {reason}{hint}", r.code)));
        }
    }

    fn document(
        &mut self,
        url: &str,
        accept: Option<&str>,
    ) -> Result<(Option<String>, Vec<u8>), ImageError> {
        let resp = self.get(url, accept)?;
        let ct = resp
            .header("content-type")
            .map(|s| s.split(';').next().unwrap_or(s).trim().to_string());
        let body = resp
            .read_to_vec(usize::try_from(MAX_DOCUMENT).unwrap_or(usize::MAX))
            .map_err(|e| reg_err(url, e))?;
        Ok((ct, body))
    }

    fn manifest(&mut self, r: &str) -> Result<(String, Option<String>, Vec<u8>), ImageError> {
        let url = format!("{}/manifests/{r}", self.st.base);
        let (ct, body) = self.document(&url, Some(ACCEPT))?;
        let mut h = Hasher::for_digest(if r.starts_with("sha512:") {
            r
        } else {
            "sha256:0000000000000000000000000000000000000000000000000000000000000000"
        })?;
        h.update(&body);
        let digest = h.finish();
        if r.contains(':') && digest != r {
            return Err(ImageError::DigestMismatch {
                what: format!("manifest {url}"),
                expected: r.to_string(),
                actual: digest,
            });
        }
        Ok((digest, ct, body))
    }
}

impl Session {
    fn authenticate(
        &mut self,
        http: &BlockingClient,
        ch: &Challenge,
        url: &str,
    ) -> Result<(), ImageError> {
        match ch.scheme.as_str() {
            "basic" => {
                let c = self.creds.as_ref().ok_or_else(|| {
                    reg_err(
                        url,
                        "the registry asks for basic auth and no credentials are configured",
                    )
                })?;
                self.auth = Some(basic(c));
                Ok(())
            }
            "bearer" => {
                let realm = ch
                    .param("realm")
                    .ok_or_else(|| reg_err(url, "bearer challenge without a realm"))?;
                let scope = ch
                    .param("scope")
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("repository:{}:pull", self.reference.path()));
                let mut q = form_urlencoded::Serializer::new(String::new());
                q.append_pair("scope", &scope);
                if let Some(s) = ch.param("service") {
                    q.append_pair("service", s);
                }
                let sep = if realm.contains('?') { '&' } else { '?' };
                let token_url = Url::parse(&format!("{realm}{sep}{}", q.finish()))
                    .map_err(|e| reg_err(realm, e))?;
                // The registry names the realm: credentials never go there in clear.
                if self.origin.https && !token_url.https {
                    return Err(reg_err(
                        realm,
                        "token realm is plain http while the registry is https: refused",
                    ));
                }
                let mut headers = Vec::new();
                if let Some(c) = &self.creds {
                    headers.push((header::AUTHORIZATION, header_value(realm, &basic(c))?));
                }
                let resp = http
                    .get(&token_url, &headers)
                    .map_err(|e| reg_err(realm, e))?;
                let code = resp.status;
                if !(200..300).contains(&code) {
                    return Err(reg_err(realm, format!("token request failed: HTTP {code}")));
                }
                let body = resp.read_to_vec(MAX_TOKEN).map_err(|e| reg_err(realm, e))?;
                let v: serde_json::Value =
                    serde_json::from_slice(&body).map_err(|e| reg_err(realm, e))?;
                let token = v
                    .get("token")
                    .or_else(|| v.get("access_token"))
                    .and_then(|t| t.as_str())
                    .ok_or_else(|| reg_err(realm, "token response has no token"))?;
                self.auth = Some(format!("Bearer {token}"));
                Ok(())
            }
            other => Err(reg_err(url, format!("unsupported auth scheme `{other}`"))),
        }
    }
}

fn basic(c: &Credentials) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", c.username, c.password))
    )
}

/// Rampart's one HTTP client (`rampart_net`) as pulls use it: the trust store of
/// `ca_file` (`--ca-file`), else the system's (`SSL_CERT_FILE` or the usual bundle; see
/// `rampart_net::tls::client_roots`), any
/// destination (the user names the registry, loopback included), 15 s to connect and
/// get the headers, 60 s without a byte, keep-alive connections reused for the whole
/// pull.
fn blocking_client(ca_file: Option<&std::path::Path>) -> Result<BlockingClient, ImageError> {
    let tls = rampart_net::tls::client_config(ca_file);
    // A CA file given but unusable is an error now, whatever the registry's scheme.
    if let (Some(_), Err(e)) = (ca_file, &tls) {
        return Err(ImageError::Source(format!("--ca-file: {e}")));
    }
    let mut http = HttpClient::new(tls, EgressPolicy::unrestricted());
    http.timeout = Duration::from_secs(15);
    http.user_agent = concat!("rampart/", env!("CARGO_PKG_VERSION")).to_string();
    let mut c =
        BlockingClient::new(http).map_err(|e| ImageError::Source(format!("HTTP client: {e}")))?;
    c.read_timeout = Duration::from_secs(60);
    c.total_timeout = Duration::from_secs(6 * 60 * 60);
    Ok(c)
}

/// Pull an image's manifest, config and layers into a temporary directory.
pub fn pull(reference: &str, opts: &OpenOptions) -> Result<OpenedImage, ImageError> {
    let r = parse_reference(reference)?;
    let creds = docker_config_path(opts)
        .filter(|p| p.is_file())
        .and_then(|p| std::fs::read(&p).ok())
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| docker_credentials(&v, r.domain()));
    let scheme = if opts.insecure { "http" } else { "https" };
    let base = format!("{scheme}://{}/v2/{}", api_host(&r), r.path());
    let origin = Url::parse(&base).map_err(|e| reg_err(&base, e))?;
    let mut client = Client {
        http: blocking_client(opts.ca_file.as_deref())?,
        st: Session {
            base,
            origin,
            reference: r.clone(),
            creds,
            auth: None,
        },
    };
    let (mut digest, mut ct, mut body) = client.manifest(manifest_ref(&r))?;
    for _ in 0..3 {
        let doc: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| ImageError::malformed("manifest", e))?;
        let mt = doc
            .get("mediaType")
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .or(ct.clone());
        if !oci::is_index(mt.as_deref(), &doc) {
            break;
        }
        let idx: Index =
            serde_json::from_value(doc).map_err(|e| ImageError::malformed("index", e))?;
        let d = oci::select_platform(&idx, &opts.platform)?.clone();
        check_digest(&d.digest)?;
        (digest, ct, body) = client.manifest(&d.digest)?;
    }
    let manifest: Manifest =
        serde_json::from_slice(&body).map_err(|e| ImageError::malformed("manifest", e))?;
    let _ = ct;
    check_digest(&manifest.config.digest)?;
    let (_, config_bytes) = client.document(
        &format!("{}/blobs/{}", client.st.base, manifest.config.digest),
        None,
    )?;
    verify_bytes(&config_bytes, &manifest.config.digest, "image config")?;
    let config: ImageConfig = serde_json::from_slice(&config_bytes)
        .map_err(|e| ImageError::malformed("image config", e))?;
    let total = total_size(&manifest.layers);
    if total.is_none_or(|t| t > opts.max_pull_bytes) {
        return Err(ImageError::TooLarge {
            what: match total {
                Some(t) => format!("image layers ({t} bytes)"),
                None => "image layers (sizes overflow 64 bits)".to_string(),
            },
            limit: opts.max_pull_bytes,
        });
    }
    let temp = match &opts.temp_dir {
        Some(d) => tempfile::Builder::new()
            .prefix("rampart-pull-")
            .tempdir_in(d),
        None => tempfile::Builder::new().prefix("rampart-pull-").tempdir(),
    }
    .map_err(|e| ImageError::io("temporary directory", e))?;
    let diff_ids = config
        .rootfs
        .as_ref()
        .map(|r| r.diff_ids.clone())
        .unwrap_or_default();
    let mut layers = Vec::new();
    let mut pulled = 0u64;
    for (i, l) in manifest.layers.iter().enumerate() {
        let path = download(
            &mut client,
            l,
            temp.path(),
            i,
            opts.max_pull_bytes,
            &mut pulled,
        )?;
        layers.push(LayerBlob {
            digest: l.digest.clone(),
            diff_id: diff_ids.get(i).cloned(),
            media_type: l.media_type.clone(),
            size: l.size,
            loc: BlobLoc::File(path),
            verify: Verify::Done,
        });
    }
    Ok(OpenedImage {
        kind: SourceKind::Registry,
        reference: reference.to_string(),
        // No tag and no digest is `latest`, as before.
        tag: match (r.tag(), r.digest()) {
            (None, None) => Some("latest".to_string()),
            (t, _) => t.map(str::to_string),
        },
        manifest_digest: Some(digest),
        config_digest: manifest.config.digest.clone(),
        config,
        layers,
        _temp: Some(temp),
    })
}

/// The sum of the layers' declared sizes; `None` when it does not fit in 64 bits (a
/// crafted manifest, which must not wrap around under the pull limit).
fn total_size(layers: &[Descriptor]) -> Option<u64> {
    layers.iter().try_fold(0u64, |t, l| t.checked_add(l.size))
}

fn download(
    client: &mut Client,
    l: &Descriptor,
    dir: &std::path::Path,
    i: usize,
    limit: u64,
    pulled: &mut u64,
) -> Result<PathBuf, ImageError> {
    check_digest(&l.digest)?;
    let url = format!("{}/blobs/{}", client.st.base, l.digest);
    let mut reader = client.get(&url, None)?;
    let path = dir.join(format!("layer-{i}"));
    let mut out = std::fs::File::create(&path).map_err(|e| ImageError::io(&path, e))?;
    let mut hasher = Hasher::for_digest(&l.digest)?;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = reader.read(&mut buf).map_err(|e| reg_err(&url, e))?;
        if n == 0 {
            break;
        }
        *pulled += n as u64;
        if *pulled > limit {
            return Err(ImageError::TooLarge {
                what: "pulled blobs".into(),
                limit,
            });
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])
            .map_err(|e| ImageError::io(&path, e))?;
    }
    let actual = hasher.finish();
    if actual != l.digest {
        return Err(ImageError::DigestMismatch {
            what: format!("layer {url}"),
            expected: l.digest.clone(),
            actual,
        });
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_sizes_do_not_wrap() {
        let l = |size: u64| Descriptor {
            size,
            ..Descriptor::default()
        };
        assert_eq!(total_size(&[l(1), l(2)]), Some(3));
        // Two halves of 2^64 + 2 would wrap to 2 bytes, under any pull limit.
        assert_eq!(
            total_size(&[l(u64::MAX / 2 + 2), l(u64::MAX / 2 + 1)]),
            None
        );
    }

    #[test]
    fn references() {
        let r = parse_reference("debian").unwrap();
        assert_eq!(
            (r.domain(), r.path(), manifest_ref(&r)),
            ("docker.io", "library/debian", "latest")
        );
        assert_eq!(api_host(&r), "registry-1.docker.io");
        let r = parse_reference("127.0.0.1:5000/team/app:1.2").unwrap();
        assert_eq!(
            (r.domain(), r.path(), manifest_ref(&r)),
            ("127.0.0.1:5000", "team/app", "1.2")
        );
        let d = format!("sha256:{}", "b".repeat(64));
        let r = parse_reference(&format!("ghcr.io/o/r@{d}")).unwrap();
        assert_eq!((r.tag(), manifest_ref(&r)), (None, d.as_str()));
        assert!(parse_reference("Upper/Case").is_err());
        assert!(parse_reference("x@sha256:zz").is_err());
        // Docker Hub's old name is Docker Hub: its API host, `library/`, its credentials.
        let r = parse_reference("index.docker.io/debian:12").unwrap();
        assert_eq!(
            (r.domain(), r.path(), api_host(&r)),
            ("docker.io", "library/debian", "registry-1.docker.io")
        );
        // A registry part that is not a host[:port] never becomes part of a URL.
        for bad in [
            "ghcr.io#x/r:1",
            "ghcr.io?x=/r",
            "a.com%2f/r",
            "ghcr.io:/r",
            "-x.io/r",
        ] {
            assert!(parse_reference(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn challenges() {
        let c = Challenge::parse(r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull""#).unwrap();
        assert_eq!(c.scheme, "bearer");
        assert_eq!(c.param("realm"), Some("https://auth.example/token"));
        assert_eq!(c.param("scope"), Some("repository:a/b:pull"));
        let c = Challenge::parse(r#"Basic realm="Registry Realm""#).unwrap();
        assert_eq!(
            (c.scheme.as_str(), c.param("realm")),
            ("basic", Some("Registry Realm"))
        );
    }

    #[test]
    fn docker_config_auths() {
        let v: serde_json::Value = serde_json::json!({"auths": {
            "127.0.0.1:5000": {"auth": base64::engine::general_purpose::STANDARD.encode("u:p:x")},
            "https://index.docker.io/v1/": {"username": "hub", "password": "pw"}}});
        let c = docker_credentials(&v, "127.0.0.1:5000").unwrap();
        assert_eq!((c.username.as_str(), c.password.as_str()), ("u", "p:x"));
        assert_eq!(docker_credentials(&v, "docker.io").unwrap().username, "hub");
        assert!(docker_credentials(&v, "ghcr.io").is_none());
        assert!(!format!("{c:?}").contains("p:x"));
    }
}
