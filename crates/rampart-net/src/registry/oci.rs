//! The OCI / Docker distribution documents the registry client reads and writes (only
//! the fields it needs: descriptors, platforms, index entries, a manifest's config and
//! layers), digests (`sha256:`, `sha512:`) and platform selection from an index.

use super::RegistryError;
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

/// OCI image index.
pub const MT_OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// OCI image manifest.
pub const MT_OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// Docker manifest list.
pub const MT_DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// Docker image manifest.
pub const MT_DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// The `Accept` header of every manifest request: the four types above.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

/// A content descriptor.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// Media type.
    #[serde(default)]
    pub media_type: String,
    /// `sha256:<hex>` or `sha512:<hex>`.
    pub digest: String,
    /// Size in bytes.
    #[serde(default)]
    pub size: u64,
    /// Platform (index entries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
}

/// `os/architecture[/variant]`.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq, Eq)]
pub struct Platform {
    /// `linux`.
    #[serde(default)]
    pub os: String,
    /// `amd64`, `arm64` …
    #[serde(default)]
    pub architecture: String,
    /// `v8`, `v7` …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl Platform {
    /// `linux/amd64`.
    pub fn linux_amd64() -> Platform {
        Platform {
            os: "linux".into(),
            architecture: "amd64".into(),
            variant: None,
        }
    }

    /// Does a manifest's platform `other` satisfy this requested one (the variant only
    /// counts when requested)?
    pub fn matches(&self, other: &Platform) -> bool {
        self.os == other.os
            && self.architecture == other.architecture
            && (self.variant.is_none() || self.variant == other.variant)
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// An image index or Docker manifest list.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    /// Media type, when written.
    #[serde(default)]
    pub media_type: Option<String>,
    /// Entries.
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
}

/// An image manifest.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// Media type, when written.
    #[serde(default)]
    pub media_type: Option<String>,
    /// The config blob.
    pub config: Descriptor,
    /// Layers, bottom first.
    #[serde(default)]
    pub layers: Vec<Descriptor>,
}

/// Is a document an index (by its media type, else by its shape)?
pub fn is_index(media_type: Option<&str>, doc: &serde_json::Value) -> bool {
    match media_type {
        Some(MT_OCI_INDEX) | Some(MT_DOCKER_LIST) => true,
        Some(MT_OCI_MANIFEST) | Some(MT_DOCKER_MANIFEST) => false,
        _ => doc.get("manifests").is_some() && doc.get("config").is_none(),
    }
}

/// Pick the entry of `index` for `want`; entries without a platform count only when
/// they are the sole image (attestations, `unknown/unknown`, are skipped).
pub fn select_platform<'a>(
    index: &'a Index,
    want: &Platform,
) -> Result<&'a Descriptor, RegistryError> {
    let images: Vec<&Descriptor> = index
        .manifests
        .iter()
        .filter(|d| {
            d.platform
                .as_ref()
                .is_none_or(|p| p.os != "unknown" && p.architecture != "unknown")
        })
        .collect();
    if let Some(d) = images
        .iter()
        .find(|d| d.platform.as_ref().is_some_and(|p| want.matches(p)))
    {
        return Ok(d);
    }
    if images.len() == 1 && images[0].platform.is_none() {
        return Ok(images[0]);
    }
    let available: Vec<String> = images
        .iter()
        .filter_map(|d| d.platform.as_ref().map(ToString::to_string))
        .collect();
    Err(RegistryError::Platform {
        platform: want.to_string(),
        available: if available.is_empty() {
            "none".into()
        } else {
            available.join(", ")
        },
    })
}

/// Check a digest's form: `sha256:` + 64 or `sha512:` + 128 lower-case hex digits.
pub fn check_digest(d: &str) -> Result<(), RegistryError> {
    let bad = |m: &str| RegistryError::Malformed(format!("digest `{d}`: {m}"));
    let (alg, hex) = d.split_once(':').ok_or_else(|| bad("no algorithm"))?;
    let len = match alg {
        "sha256" => 64,
        "sha512" => 128,
        _ => return Err(bad("unsupported algorithm")),
    };
    if hex.len() != len || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(bad("malformed"));
    }
    Ok(())
}

/// An incremental digest of the algorithm a digest names.
#[derive(Clone)]
pub enum Hasher {
    /// `sha256:`.
    Sha256(sha2::Sha256),
    /// `sha512:`.
    Sha512(sha2::Sha512),
}

impl Hasher {
    /// The hasher for `digest`'s algorithm (which must be well formed).
    pub fn for_digest(digest: &str) -> Result<Hasher, RegistryError> {
        check_digest(digest)?;
        Ok(if digest.starts_with("sha512:") {
            Hasher::Sha512(sha2::Sha512::new())
        } else {
            Hasher::Sha256(sha2::Sha256::new())
        })
    }

    /// A SHA-256 hasher.
    pub fn sha256() -> Hasher {
        Hasher::Sha256(sha2::Sha256::new())
    }

    /// Feed bytes.
    pub fn update(&mut self, b: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(b),
            Hasher::Sha512(h) => h.update(b),
        }
    }

    /// `alg:hex`.
    pub fn finish(self) -> String {
        match self {
            Hasher::Sha256(h) => format!("sha256:{}", hex::encode(h.finalize())),
            Hasher::Sha512(h) => format!("sha512:{}", hex::encode(h.finalize())),
        }
    }
}

/// The `sha256:` digest of `b`.
pub fn sha256(b: &[u8]) -> String {
    let mut h = Hasher::sha256();
    h.update(b);
    h.finish()
}

/// Refuse `bytes` unless they hash to `digest`.
pub fn verify(bytes: &[u8], digest: &str, what: &str) -> Result<(), RegistryError> {
    let mut h = Hasher::for_digest(digest)?;
    h.update(bytes);
    let actual = h.finish();
    if actual != digest {
        return Err(RegistryError::DigestMismatch {
            what: what.to_string(),
            expected: digest.to_string(),
            actual,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn digests() {
        let d = sha256(b"x");
        assert!(verify(b"x", &d, "x").is_ok());
        let e = verify(b"y", &d, "blob").unwrap_err();
        assert!(e.to_string().contains("digest mismatch"), "{e}");
        let mut h = Hasher::for_digest(&format!("sha512:{}", "0".repeat(128))).unwrap();
        h.update(b"x");
        let d512 = h.finish();
        assert!(d512.starts_with("sha512:") && d512.len() == 7 + 128);
        assert!(verify(b"x", &d512, "x").is_ok());
        for bad in [
            "sha256:zz",
            "md5:00",
            "sha256",
            &format!("sha256:{}", "A".repeat(64)),
        ] {
            assert!(check_digest(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn platforms() {
        let p = |os: &str, a: &str| {
            Some(Platform {
                os: os.into(),
                architecture: a.into(),
                variant: None,
            })
        };
        let idx = Index {
            media_type: None,
            manifests: vec![
                Descriptor {
                    digest: "a".into(),
                    platform: p("linux", "arm64"),
                    ..Default::default()
                },
                Descriptor {
                    digest: "b".into(),
                    platform: p("linux", "amd64"),
                    ..Default::default()
                },
                Descriptor {
                    digest: "c".into(),
                    platform: p("unknown", "unknown"),
                    ..Default::default()
                },
            ],
        };
        assert_eq!(
            select_platform(&idx, &Platform::linux_amd64())
                .unwrap()
                .digest,
            "b"
        );
        let e = select_platform(&idx, &p("linux", "s390x").unwrap()).unwrap_err();
        assert!(e.to_string().contains("linux/arm64, linux/amd64"), "{e}");
    }
}
