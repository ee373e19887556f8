//! The OCI / Docker documents Rampart reads: index, manifest, image config.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// OCI image index media type.
pub const MT_OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// OCI image manifest media type.
pub const MT_OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// Docker manifest list media type.
pub const MT_DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// Docker image manifest media type.
pub const MT_DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

/// A content descriptor.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// Media type.
    #[serde(default)]
    pub media_type: String,
    /// `sha256:<hex>`.
    pub digest: String,
    /// Size in bytes.
    #[serde(default)]
    pub size: u64,
    /// Platform (in an index).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// An OS/architecture pair (with optional variant).
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
    /// Parse `os/arch[/variant]`.
    pub fn parse(s: &str) -> Option<Platform> {
        let mut it = s.split('/');
        let os = it.next().filter(|x| !x.is_empty())?;
        let architecture = it.next().filter(|x| !x.is_empty())?;
        let variant = it.next().map(str::to_string);
        if it.next().is_some() {
            return None;
        }
        Some(Platform {
            os: os.to_string(),
            architecture: architecture.to_string(),
            variant,
        })
    }

    /// Whether a manifest's platform satisfies this requested one (variant only checked
    /// when requested).
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
    /// Media type, when given.
    #[serde(default)]
    pub media_type: Option<String>,
    /// Manifests.
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
}

/// An image manifest.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// Media type, when given.
    #[serde(default)]
    pub media_type: Option<String>,
    /// The config blob.
    pub config: Descriptor,
    /// Layers, bottom first.
    #[serde(default)]
    pub layers: Vec<Descriptor>,
}

/// The image configuration blob (only the fields Rampart uses).
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct ImageConfig {
    /// Architecture.
    #[serde(default)]
    pub architecture: String,
    /// OS.
    #[serde(default)]
    pub os: String,
    /// Runtime configuration.
    #[serde(default)]
    pub config: Option<RunConfig>,
    /// Root file system: layer diff ids.
    #[serde(default)]
    pub rootfs: Option<RootFs>,
    /// Build history, one entry per instruction.
    #[serde(default)]
    pub history: Vec<History>,
    /// Creation date.
    #[serde(default)]
    pub created: Option<String>,
}

/// The runtime part of the config.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct RunConfig {
    /// `USER`.
    #[serde(rename = "User", default)]
    pub user: Option<String>,
    /// `ENV`.
    #[serde(rename = "Env", default)]
    pub env: Option<Vec<String>>,
    /// `EXPOSE`.
    #[serde(rename = "ExposedPorts", default)]
    pub exposed_ports: Option<BTreeMap<String, serde_json::Value>>,
    /// `HEALTHCHECK`.
    #[serde(rename = "Healthcheck", default)]
    pub healthcheck: Option<serde_json::Value>,
    /// `ENTRYPOINT`.
    #[serde(rename = "Entrypoint", default)]
    pub entrypoint: Option<Vec<String>>,
    /// `CMD`.
    #[serde(rename = "Cmd", default)]
    pub cmd: Option<Vec<String>>,
    /// Labels.
    #[serde(rename = "Labels", default)]
    pub labels: Option<BTreeMap<String, String>>,
}

/// `rootfs` of the config.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct RootFs {
    /// `layers`.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// Uncompressed layer digests.
    #[serde(default)]
    pub diff_ids: Vec<String>,
}

/// One history entry.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct History {
    /// The instruction.
    #[serde(default)]
    pub created_by: Option<String>,
    /// Comment.
    #[serde(default)]
    pub comment: Option<String>,
    /// Whether this entry made no layer.
    #[serde(default)]
    pub empty_layer: bool,
    /// When.
    #[serde(default)]
    pub created: Option<String>,
}

impl ImageConfig {
    /// The `created_by` of each layer, in layer order (history entries with
    /// `empty_layer` skipped); `None` where the history does not say.
    pub fn layer_instructions(&self, layers: usize) -> Vec<Option<String>> {
        let mut out: Vec<Option<String>> = self
            .history
            .iter()
            .filter(|h| !h.empty_layer)
            .map(|h| h.created_by.clone().or_else(|| h.comment.clone()))
            .collect();
        out.resize(layers, None);
        out
    }
}

/// Whether a media type (or a document's shape) is an index.
pub fn is_index(media_type: Option<&str>, doc: &serde_json::Value) -> bool {
    match media_type {
        Some(MT_OCI_INDEX) | Some(MT_DOCKER_LIST) => true,
        Some(MT_OCI_MANIFEST) | Some(MT_DOCKER_MANIFEST) => false,
        _ => doc.get("manifests").is_some() && doc.get("config").is_none(),
    }
}

/// Pick the manifest for `want` among an index's entries; entries without a platform
/// count only when they are the sole image manifest (attestations are skipped).
pub fn select_platform<'a>(
    index: &'a Index,
    want: &Platform,
) -> Result<&'a Descriptor, crate::ImageError> {
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
    Err(crate::ImageError::Platform {
        platform: want.to_string(),
        available: if available.is_empty() {
            "none".into()
        } else {
            available.join(", ")
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms() {
        let p = Platform::parse("linux/arm64/v8").unwrap();
        assert_eq!(p.variant.as_deref(), Some("v8"));
        assert!(Platform::parse("linux").is_none());
        assert!(Platform::parse("linux/amd64")
            .unwrap()
            .matches(&Platform::parse("linux/amd64").unwrap()));
        let idx: Index = serde_json::from_str(
            r#"{"manifests":[
              {"digest":"sha256:a","platform":{"os":"linux","architecture":"arm64","variant":"v8"}},
              {"digest":"sha256:b","platform":{"os":"linux","architecture":"amd64"}},
              {"digest":"sha256:c","platform":{"os":"unknown","architecture":"unknown"}}]}"#,
        )
        .unwrap();
        let amd = Platform::parse("linux/amd64").unwrap();
        assert_eq!(select_platform(&idx, &amd).unwrap().digest, "sha256:b");
        let arm = Platform::parse("linux/arm64").unwrap();
        assert_eq!(select_platform(&idx, &arm).unwrap().digest, "sha256:a");
        let err = select_platform(&idx, &Platform::parse("linux/s390x").unwrap()).unwrap_err();
        assert!(err.to_string().contains("linux/amd64"), "{err}");
    }

    #[test]
    fn history_skips_empty_layers() {
        let c: ImageConfig = serde_json::from_str(
            r#"{"history":[{"created_by":"ADD x /"},{"created_by":"ENV a=b","empty_layer":true},{"created_by":"RUN y"}]}"#,
        )
        .unwrap();
        assert_eq!(
            c.layer_instructions(3),
            vec![Some("ADD x /".into()), Some("RUN y".into()), None]
        );
    }
}
