//! SBOMs: write an [`Inventory`] as CycloneDX 1.6 JSON or SPDX 2.3 JSON, and read a
//! CycloneDX (1.4–1.7) or SPDX (2.2/2.3) JSON SBOM made by another tool (syft, Trivy …)
//! back into an [`Inventory`].
//!
//! The writers are pure functions of the inventory and an [`SbomMeta`] (no file system,
//! no clock unless [`SbomMeta::now`] is used), so any front that builds an inventory
//! (directories, container images) can produce an SBOM:
//!
//! ```
//! use rampart_sca::inventory::{Inventory, Lockfile, Package};
//! use rampart_sca::sbom::{cyclonedx, spdx, SbomMeta};
//! let inv = Inventory {
//!     lockfiles: vec![Lockfile {
//!         path: "Cargo.lock".into(),
//!         kind: "cargo-lock".into(),
//!         packages: vec![Package::new("crates.io", "serde", "1.0.200")],
//!     }],
//!     errors: vec![],
//! };
//! let meta = SbomMeta::fixed("demo", Some("1.0.0"), 0);
//! let bom = cyclonedx(&inv, &meta);
//! assert_eq!(bom["components"][0]["purl"], "pkg:cargo/serde@1.0.200");
//! let doc = spdx(&inv, &meta);
//! assert_eq!(doc["spdxVersion"], "SPDX-2.3");
//! ```

mod cyclonedx;
mod graph;
pub mod purl;
mod read;
mod spdx_doc;

pub use cyclonedx::cyclonedx;
pub use read::{read, read_str};
pub use spdx_doc::spdx;

use chrono::{DateTime, TimeZone, Utc};
use std::path::PathBuf;

/// SBOM formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// CycloneDX 1.6 JSON.
    CycloneDx,
    /// SPDX 2.3 JSON.
    Spdx,
}

impl Format {
    /// Parse `cyclonedx` / `cdx` / `spdx` (also `spdx-json`, `cyclonedx-json`).
    pub fn from_name(s: &str) -> Option<Format> {
        match s.to_ascii_lowercase().as_str() {
            "cyclonedx" | "cyclonedx-json" | "cdx" => Some(Format::CycloneDx),
            "spdx" | "spdx-json" => Some(Format::Spdx),
            _ => None,
        }
    }
}

/// Write an inventory in the given format.
pub fn write(
    inv: &crate::inventory::Inventory,
    meta: &SbomMeta,
    format: Format,
) -> serde_json::Value {
    match format {
        Format::CycloneDx => cyclonedx(inv, meta),
        Format::Spdx => spdx(inv, meta),
    }
}

/// What the SBOM says about itself and the thing it describes.
#[derive(Debug, Clone)]
pub struct SbomMeta {
    /// Name of the described software (root component / SPDX document name).
    pub name: String,
    /// Its version, when known.
    pub version: Option<String>,
    /// Creation time.
    pub timestamp: DateTime<Utc>,
    /// Serial number (CycloneDX) / namespace UUID (SPDX). `None`: random (v4), or, when
    /// `reproducible`, derived from the content so the same input gives the same SBOM.
    pub serial: Option<uuid::Uuid>,
    /// Derive the UUID from the content instead of at random.
    pub reproducible: bool,
    /// Root component type in CycloneDX (`application`, `container`, …).
    pub root_type: String,
}

impl SbomMeta {
    /// Now, random serial number.
    pub fn now(name: impl Into<String>, version: Option<&str>) -> SbomMeta {
        SbomMeta {
            name: name.into(),
            version: version.map(str::to_string),
            timestamp: Utc::now(),
            serial: None,
            reproducible: false,
            root_type: "application".into(),
        }
    }

    /// A fixed timestamp (seconds since the epoch) and a content-derived serial number:
    /// byte-identical output for identical input.
    pub fn fixed(name: impl Into<String>, version: Option<&str>, epoch_seconds: i64) -> SbomMeta {
        SbomMeta {
            timestamp: Utc
                .timestamp_opt(epoch_seconds, 0)
                .single()
                .unwrap_or(DateTime::<Utc>::UNIX_EPOCH),
            reproducible: true,
            ..SbomMeta::now(name, version)
        }
    }

    /// [`SbomMeta::fixed`] when `SOURCE_DATE_EPOCH` is set to an integer (the
    /// reproducible-builds convention), else [`SbomMeta::now`].
    pub fn from_env(name: impl Into<String>, version: Option<&str>) -> SbomMeta {
        match std::env::var("SOURCE_DATE_EPOCH")
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok())
        {
            Some(e) => SbomMeta::fixed(name, version, e),
            None => SbomMeta::now(name, version),
        }
    }

    /// RFC 3339 timestamp, seconds precision, `Z`.
    pub(crate) fn time(&self) -> String {
        self.timestamp.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    }

    /// The document UUID, derived from `content` when reproducible.
    pub(crate) fn uuid(&self, content: &[u8]) -> uuid::Uuid {
        if let Some(u) = self.serial {
            return u;
        }
        if self.reproducible {
            use sha2::{Digest, Sha256};
            let mut h = Sha256::new();
            h.update(self.name.as_bytes());
            h.update([0]);
            h.update(self.version.as_deref().unwrap_or("").as_bytes());
            h.update([0]);
            h.update(self.time().as_bytes());
            h.update([0]);
            h.update(content);
            let d = h.finalize();
            let mut b = [0u8; 16];
            b.copy_from_slice(&d[..16]);
            return uuid::Builder::from_random_bytes(b).into_uuid();
        }
        uuid::Uuid::new_v4()
    }
}

/// The version of Rampart written into SBOMs as the creating tool.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Reading an SBOM failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not JSON.
    #[error("{}:{line}:{column}: invalid JSON: {message}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// Line (1-based).
        line: usize,
        /// Column (1-based).
        column: usize,
        /// Parser message.
        message: String,
    },
    /// JSON, but not a CycloneDX or SPDX document Rampart can read.
    #[error("{}: {message}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}
