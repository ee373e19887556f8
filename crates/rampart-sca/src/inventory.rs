//! The package inventory: what every lockfile parser, installed-metadata reader and SBOM
//! reader produces, and what licence checks, SBOM writers and the vulnerability matcher
//! consume.

use serde::{Deserialize, Serialize};

/// The package model is core's (shared with the vulnerability matcher and image
/// scanning); re-exported here where the inventory's users have always found it.
pub use rampart_core::package::{Hash, Package, SourceRef};

/// The packages of one lockfile or manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Lockfile {
    /// Path relative to the scan root, `/`-separated.
    pub path: String,
    /// Parser that read it (`cargo-lock`, `npm-lock-v3`, `yarn-berry`, …).
    pub kind: String,
    /// The packages, in file order.
    pub packages: Vec<Package>,
}

/// Everything found under a scan root.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Inventory {
    /// One entry per lockfile / manifest read.
    pub lockfiles: Vec<Lockfile>,
    /// Files that could not be read or parsed; the rest continues.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<rampart_core::ScanError>,
}

impl Inventory {
    /// Every package of every lockfile.
    pub fn packages(&self) -> impl Iterator<Item = &Package> {
        self.lockfiles.iter().flat_map(|l| l.packages.iter())
    }
}
