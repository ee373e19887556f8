//! Registry authentication: `WWW-Authenticate` challenges, credentials from the
//! runner's Docker config file (`auths`, `credHelpers`, `credsStore`), and the bearer
//! tokens a realm hands out, cached until they expire.
//!
//! Credentials come only from the runner: the file named by the caller, else
//! `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`; never from scanned
//! content. A credential helper `docker-credential-<name>` is run from `PATH` with the
//! registry host on its standard input, bounded in time (default [`HELPER_TIMEOUT`]) and
//! [`MAX_HELPER_OUTPUT`]. No secret is ever part of an error or a `Debug` output.

use super::RegistryError;
use base64::Engine as _;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Longest a credential helper may run, by default.
pub const HELPER_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest credential-helper answer read.
pub const MAX_HELPER_OUTPUT: usize = 64 << 10;
/// Largest Docker config file read.
pub const MAX_DOCKER_CONFIG: u64 = 4 << 20;

/// What a registry is authenticated with.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// A user and password (or personal access token).
    Basic {
        /// User.
        username: String,
        /// Password or token.
        password: String,
    },
    /// An OAuth2 refresh token (`identitytoken`), exchanged at the token realm.
    IdentityToken(String),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Basic { username, .. } => write!(f, "Basic({username}, ***)"),
            Credentials::IdentityToken(_) => f.write_str("IdentityToken(***)"),
        }
    }
}

impl Credentials {
    /// A user and password.
    pub fn basic(username: impl Into<String>, password: impl Into<String>) -> Credentials {
        Credentials::Basic {
            username: username.into(),
            password: password.into(),
        }
    }

    /// `Basic …` for an `Authorization` header (user/password credentials only).
    pub(crate) fn basic_header(&self) -> Option<String> {
        match self {
            Credentials::Basic { username, password } => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
            )),
            Credentials::IdentityToken(_) => None,
        }
    }
}

/// A parsed `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Challenge {
    /// `bearer` or `basic` (lower case).
    pub scheme: String,
    /// Parameters (`realm`, `service`, `scope`), keys lower case.
    pub params: Vec<(String, String)>,
}

impl Challenge {
    /// Parse `Bearer realm="…",service="…",scope="…"` (quoted or bare values).
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

/// Where credentials come from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CredentialSource {
    /// None: anonymous only.
    #[default]
    Anonymous,
    /// The runner's Docker config: this file, or (`None`) `$DOCKER_CONFIG/config.json`,
    /// else `~/.docker/config.json`.
    DockerConfig(Option<PathBuf>),
    /// These credentials for every registry (tests, API callers).
    Fixed(Credentials),
}

/// The runner's Docker config path: `explicit`, else `$DOCKER_CONFIG/config.json`, else
/// `$HOME/.docker/config.json`.
pub fn docker_config_path(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    if let Some(d) = std::env::var_os("DOCKER_CONFIG") {
        return Some(PathBuf::from(d).join("config.json"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker").join("config.json"))
}

/// The keys a Docker config may file `registry`'s credentials under.
fn config_keys(registry: &str) -> Vec<String> {
    if registry == "docker.io" {
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
            format!("https://{registry}/v1/"),
        ]
    }
}

/// Credentials for `registry` (an `ImageRef` domain such as `ghcr.io` or `docker.io`)
/// from a parsed Docker config's `auths` (`auth` as base64 `user:password`,
/// `username`/`password`, `identitytoken`). Helpers are not consulted here.
pub fn from_auths(config: &serde_json::Value, registry: &str) -> Option<Credentials> {
    let auths = config.get("auths")?.as_object()?;
    for key in config_keys(registry) {
        let Some(entry) = auths.get(&key) else {
            continue;
        };
        if let Some(t) = entry
            .get("identitytoken")
            .and_then(|v| v.as_str())
            .filter(|t| !t.is_empty())
        {
            return Some(Credentials::IdentityToken(t.to_string()));
        }
        if let Some(a) = entry
            .get("auth")
            .and_then(|v| v.as_str())
            .filter(|a| !a.is_empty())
        {
            let dec = base64::engine::general_purpose::STANDARD
                .decode(a.trim())
                .ok()?;
            let dec = String::from_utf8(dec).ok()?;
            let (u, p) = dec.split_once(':')?;
            return Some(Credentials::basic(u, p));
        }
        if let (Some(u), Some(p)) = (
            entry.get("username").and_then(|v| v.as_str()),
            entry.get("password").and_then(|v| v.as_str()),
        ) {
            return Some(Credentials::basic(u, p));
        }
    }
    None
}

/// The credential helper a Docker config names for `registry`: its `credHelpers` entry,
/// else its `credsStore`.
pub fn helper_for(config: &serde_json::Value, registry: &str) -> Option<String> {
    let helpers = config.get("credHelpers").and_then(|v| v.as_object());
    let named = config_keys(registry)
        .iter()
        .find_map(|k| helpers.and_then(|h| h.get(k)).and_then(|v| v.as_str()))
        .map(str::to_string);
    named
        .or_else(|| {
            config
                .get("credsStore")
                .and_then(|v| v.as_str())
                .map(str::to_string)
        })
        .filter(|n| !n.is_empty())
}

/// Run `docker-credential-<helper> get` with `server` on its standard input (at most
/// `timeout`, [`MAX_HELPER_OUTPUT`] bytes; killed past the timeout). `Ok(None)`: the
/// helper has no credentials for it.
pub async fn run_helper(
    helper: &str,
    server: &str,
    timeout: Duration,
) -> Result<Option<Credentials>, RegistryError> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let fail = |m: String| {
        RegistryError::Auth(format!("credential helper docker-credential-{helper}: {m}"))
    };
    if !helper
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err(RegistryError::Auth(format!(
            "credential helper name {helper:?} is not a plain name"
        )));
    }
    let mut child = tokio::process::Command::new(format!("docker-credential-{helper}"))
        .arg("get")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| fail(e.to_string()))?;
    let work = async {
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(server.as_bytes())
                .await
                .map_err(|e| fail(e.to_string()))?;
        }
        let mut out = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            let cap = u64::try_from(MAX_HELPER_OUTPUT).unwrap_or(u64::MAX) + 1;
            stdout
                .take(cap)
                .read_to_end(&mut out)
                .await
                .map_err(|e| fail(e.to_string()))?;
        }
        let status = child.wait().await.map_err(|e| fail(e.to_string()))?;
        Ok::<_, RegistryError>((status, out))
    };
    let (status, out) = tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| fail(format!("no answer within {} ms", timeout.as_millis())))??;
    if out.len() > MAX_HELPER_OUTPUT {
        return Err(fail(format!("answer over {MAX_HELPER_OUTPUT} bytes")));
    }
    if !status.success() {
        // "credentials not found in native keychain": no credentials, not an error.
        if String::from_utf8_lossy(&out).contains("credentials not found") {
            return Ok(None);
        }
        return Err(fail(format!("exited with {status}")));
    }
    // The answer holds the secret: its parse error must not quote it.
    let v: serde_json::Value =
        serde_json::from_slice(&out).map_err(|_| fail("answer is not JSON".into()))?;
    let user = v.get("Username").and_then(|v| v.as_str()).unwrap_or("");
    let secret = v.get("Secret").and_then(|v| v.as_str()).unwrap_or("");
    if secret.is_empty() {
        return Ok(None);
    }
    Ok(Some(if user == "<token>" {
        Credentials::IdentityToken(secret.to_string())
    } else {
        Credentials::basic(user, secret)
    }))
}

/// Credentials for `registry` from the Docker config at `path` (a missing file:
/// anonymous; an unreadable or broken one: an error naming the file, never its content).
pub async fn from_docker_config(
    path: &Path,
    registry: &str,
    helper_timeout: Duration,
) -> Result<Option<Credentials>, RegistryError> {
    let cfg_err =
        |m: &dyn std::fmt::Display| RegistryError::Auth(format!("{}: {m}", path.display()));
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(cfg_err(&e)),
    };
    if meta.len() > MAX_DOCKER_CONFIG {
        return Err(cfg_err(&format!("over {MAX_DOCKER_CONFIG} bytes")));
    }
    let bytes = std::fs::read(path).map_err(|e| cfg_err(&e))?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
        // Line and column only: serde's message never quotes the (secret) content.
        cfg_err(&format!(
            "not JSON (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    if let Some(c) = from_auths(&v, registry) {
        return Ok(Some(c));
    }
    match helper_for(&v, registry) {
        Some(h) => {
            let server = if registry == "docker.io" {
                "https://index.docker.io/v1/"
            } else {
                registry
            };
            run_helper(&h, server, helper_timeout).await
        }
        None => Ok(None),
    }
}

/// Bearer tokens by (registry origin, scope), until they expire; bounded.
#[derive(Debug, Default)]
pub(crate) struct TokenCache {
    tokens: HashMap<(String, String), (String, Instant)>,
}

/// Most tokens kept.
const MAX_TOKENS: usize = 1024;

impl TokenCache {
    pub(crate) fn get(&self, origin: &str, scope: &str) -> Option<String> {
        let (t, until) = self.tokens.get(&(origin.to_string(), scope.to_string()))?;
        (Instant::now() < *until).then(|| t.clone())
    }

    pub(crate) fn put(&mut self, origin: &str, scope: &str, token: String, ttl: Duration) {
        if self.tokens.len() >= MAX_TOKENS {
            let now = Instant::now();
            self.tokens.retain(|_, (_, until)| *until > now);
            if self.tokens.len() >= MAX_TOKENS {
                self.tokens.clear();
            }
        }
        self.tokens.insert(
            (origin.to_string(), scope.to_string()),
            (token, Instant::now() + ttl),
        );
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

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
            "https://index.docker.io/v1/": {"username": "hub", "password": "pw"},
            "ghcr.io": {"identitytoken": "refresh-me"}},
            "credHelpers": {"gcr.io": "gcloud"}, "credsStore": "desktop"});
        let c = from_auths(&v, "127.0.0.1:5000").unwrap();
        assert_eq!(c, Credentials::basic("u", "p:x"));
        assert_eq!(
            from_auths(&v, "docker.io").unwrap(),
            Credentials::basic("hub", "pw")
        );
        assert_eq!(
            from_auths(&v, "ghcr.io").unwrap(),
            Credentials::IdentityToken("refresh-me".into())
        );
        assert!(from_auths(&v, "quay.io").is_none());
        assert_eq!(helper_for(&v, "gcr.io").as_deref(), Some("gcloud"));
        assert_eq!(helper_for(&v, "quay.io").as_deref(), Some("desktop"));
        assert!(!format!("{c:?}").contains("p:x"));
        assert!(!format!("{:?}", from_auths(&v, "ghcr.io")).contains("refresh-me"));
    }

    #[test]
    fn tokens_expire() {
        let mut t = TokenCache::default();
        t.put("https://r", "s", "tok".into(), Duration::from_secs(60));
        t.put("https://r", "old", "tok".into(), Duration::ZERO);
        assert_eq!(t.get("https://r", "s").as_deref(), Some("tok"));
        assert!(t.get("https://r", "old").is_none());
        assert!(t.get("https://other", "s").is_none());
    }
}
