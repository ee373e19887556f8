//! The webhook's registry lookups, over Rampart's one registry client
//! ([`rampart_net::registry`]): resolve a tag to its manifest digest (`HEAD`, cached)
//! and read an image's configured user (manifest → platform `linux/amd64` of an index →
//! config blob, each verified against its digest). Anonymous, with bearer tokens when a
//! registry asks. Results are cached for 5 minutes (at most 4096 entries each).
//!
//! The registry a lookup goes to is named by the admission request (the pod's image), so
//! every destination is treated as attacker-chosen (server-side request forgery):
//!
//! - every connection, to the registry, a redirect target or a token realm, passes the
//!   [`EgressPolicy`] (no loopback, private, link-local or metadata addresses unless
//!   allow-listed; checked on the resolved address that is connected to);
//! - plain HTTP only to registries listed as insecure, and never after a redirect from
//!   https (no downgrade);
//! - the bearer token is sent only to the registry's own origin, never to a redirect
//!   target on another host;
//! - the token realm must be https (and pass the egress policy);
//! - at most [`rampart_net::registry::MAX_REDIRECTS`] redirects per request, bodies capped
//!   at 4 MiB, 3 s per request.

use crate::images::ImageRef;
use crate::mutate::{ImageUser, Lookups};
pub use rampart_net::egress::EgressPolicy;
use rampart_net::http::HttpClient;
use rampart_net::registry::{
    CredentialSource, PlainHttp, Platform, RegistryClient, RegistryOptions, TtlCache,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Largest manifest or config read.
const MAX_BODY: usize = 4 << 20;
/// How long a lookup is remembered.
const TTL: Duration = Duration::from_secs(300);
/// Most lookups remembered (each kind).
const MAX_CACHE: usize = 4096;
/// Per-request timeout.
const TIMEOUT: Duration = Duration::from_secs(3);

/// The webhook's registry client.
pub struct Registry {
    insecure: Vec<String>,
    egress: EgressPolicy,
    ca_file: Option<PathBuf>,
    client: RegistryClient,
    users: TtlCache<ImageUser>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("insecure", &self.insecure)
            .field("egress", &self.egress)
            .finish()
    }
}

fn build(insecure: &[String], egress: &EgressPolicy, ca_file: Option<&Path>) -> RegistryClient {
    let mut http = HttpClient::new(rampart_net::tls::client_config(ca_file), egress.clone());
    http.timeout = TIMEOUT;
    RegistryClient::new(
        http,
        RegistryOptions {
            plain_http: PlainHttp::Hosts(insecure.to_vec()),
            credentials: CredentialSource::Anonymous,
            max_document: MAX_BODY,
            retries: 1,
            max_backoff: Duration::from_millis(500),
            read_timeout: TIMEOUT,
            blob_timeout: TIMEOUT,
            digest_cache: (MAX_CACHE, TTL),
            user_agent: "rampart-admission".into(),
            ..RegistryOptions::default()
        },
    )
}

impl Registry {
    /// A client; `insecure` registries (`host:port`) are reached over plain HTTP. Only
    /// public addresses are reached until [`Registry::with_egress`] allow-lists others.
    pub fn new(insecure: Vec<String>) -> Registry {
        let egress = EgressPolicy::public_only();
        Registry {
            client: build(&insecure, &egress, None),
            insecure,
            egress,
            ca_file: None,
            users: TtlCache::new(MAX_CACHE, TTL),
        }
    }

    /// Connect only where `egress` permits (e.g. an in-cluster registry on a private
    /// address, allow-listed by the operator).
    pub fn with_egress(mut self, egress: EgressPolicy) -> Registry {
        self.egress = egress;
        self.client = build(&self.insecure, &self.egress, self.ca_file.as_deref());
        self
    }

    /// Verify HTTPS registries against this CA file instead of the system bundle.
    pub fn with_ca_file(mut self, ca: &Path) -> Registry {
        self.ca_file = Some(ca.to_path_buf());
        self.client = build(&self.insecure, &self.egress, self.ca_file.as_deref());
        self
    }

    /// The manifest digest of `image`'s tag.
    pub async fn digest(&self, image: &str) -> Result<String, String> {
        let r = ImageRef::parse(image.trim()).map_err(|e| format!("{image}: {e}"))?;
        // The tag is resolved even when a digest is written: the pin is the registry's.
        let tagged = ImageRef::parse(&format!("{}:{}", r.name(), r.tag_or_latest()))
            .map_err(|e| format!("{image}: {e}"))?;
        let d = self
            .client
            .resolve_digest(&tagged)
            .await
            .map_err(|e| e.to_string())?;
        if !d.starts_with("sha256:") || d.len() != 71 {
            return Err(format!("{image}: unexpected digest {d:?}"));
        }
        Ok(d)
    }

    /// The user `image` runs as (its config's `User`).
    pub async fn user(&self, image: &str) -> Result<ImageUser, String> {
        if let Some(u) = self.users.get(image) {
            return Ok(u);
        }
        let r = ImageRef::parse(image.trim()).map_err(|e| format!("{image}: {e}"))?;
        let resolved = self
            .client
            .resolve_image(&r, &Platform::linux_amd64())
            .await
            .map_err(|e| e.to_string())?;
        let blob = self
            .client
            .get_blob(&r, &resolved.manifest.config.digest, MAX_BODY)
            .await
            .map_err(|e| e.to_string())?;
        let cfg: serde_json::Value =
            serde_json::from_slice(&blob).map_err(|e| format!("{image}: config: {e}"))?;
        let user = cfg
            .get("config")
            .and_then(|c| c.get("User"))
            .and_then(serde_json::Value::as_str)
            .unwrap_or("");
        let u = ImageUser::from_config_user(user);
        self.users.put(image.to_string(), u.clone());
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
        enum Found {
            User(ImageUser),
            Digest(String),
        }
        let mut set = tokio::task::JoinSet::new();
        for u in users {
            let me = self.clone();
            let u = u.clone();
            set.spawn(async move { (u.clone(), me.user(&u).await.map(Found::User)) });
        }
        for d in digests {
            let me = self.clone();
            let d = d.clone();
            set.spawn(async move { (d.clone(), me.digest(&d).await.map(Found::Digest)) });
        }
        let mut out = Lookups::default();
        let collect = async {
            while let Some(res) = set.join_next().await {
                match res {
                    Ok((img, Ok(Found::User(u)))) => {
                        out.users.insert(img, u);
                    }
                    Ok((img, Ok(Found::Digest(d)))) => {
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
    fn repository_urls() {
        let reg = Registry::new(vec!["127.0.0.1:5000".into()]);
        let r = ImageRef::parse("127.0.0.1:5000/t/app:1").unwrap();
        assert_eq!(
            reg.client.repository_url(&r),
            "http://127.0.0.1:5000/v2/t/app"
        );
        let r = ImageRef::parse("nginx").unwrap();
        assert_eq!(
            reg.client.repository_url(&r),
            "https://registry-1.docker.io/v2/library/nginx"
        );
    }
}
