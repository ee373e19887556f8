//! The package inventory: what every lockfile parser, installed-metadata reader and SBOM
//! reader produces, and what licence checks, SBOM writers and the vulnerability matcher
//! consume.

use serde::{Deserialize, Serialize};

/// One package found in a lockfile, manifest, installed metadata or SBOM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Package {
    /// OSV ecosystem name (`crates.io`, `npm`, `PyPI`, `Go`, `Maven`, `NuGet`,
    /// `RubyGems`, `Packagist`, `Hex`, `Pub`, `Debian:12` …).
    pub ecosystem: String,
    /// Name as the ecosystem spells it (Maven: `group:artifact`; Go: module path).
    pub name: String,
    /// Resolved version as written in the lockfile.
    pub version: String,
    /// Where it was found: path relative to the scan root (`/`-separated), and line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceRef>,
    /// `Some(true)`: a direct dependency of the project; `Some(false)`: transitive;
    /// `None`: the lockfile does not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direct: Option<bool>,
    /// Only needed for development / tests (npm `dev`, poetry `category = "dev"` …).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dev: bool,
    /// Keys ([`Package::key`]) of the packages this one depends on, as the lockfile
    /// resolved them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<String>,
    /// Declared licences, as written (SPDX expressions or free text).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub licenses: Vec<String>,
    /// Integrity hashes from the lockfile.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hashes: Vec<Hash>,
    /// Download location / registry, when the lockfile records it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved: Option<String>,
}

/// Where a package was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SourceRef {
    /// Path relative to the scan root, `/`-separated.
    pub path: String,
    /// 1-based line of the package's entry, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
}

/// An integrity hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hash {
    /// Algorithm as CycloneDX spells it: `SHA-1`, `SHA-256`, `SHA-384`, `SHA-512`, `MD5`.
    pub alg: String,
    /// Lower-case hex digest.
    pub value: String,
}

impl Package {
    /// A package with ecosystem, name and version only.
    pub fn new(
        ecosystem: impl Into<String>,
        name: impl Into<String>,
        version: impl Into<String>,
    ) -> Package {
        Package {
            ecosystem: ecosystem.into(),
            name: name.into(),
            version: version.into(),
            ..Package::default()
        }
    }

    /// The key other packages use to refer to this one: `name@version`.
    pub fn key(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }

    /// The package for the vulnerability matcher (`found_in` = the source path).
    pub fn to_vuln_package(&self) -> rampart_vuln::matcher::Package {
        let mut p = rampart_vuln::matcher::Package::new(
            self.ecosystem.clone(),
            self.name.clone(),
            self.version.clone(),
        );
        if let Some(s) = &self.source {
            p = p.with_found_in(s.path.clone());
            if let Some(l) = s.line {
                p = p.with_line(l);
            }
        }
        p
    }
}

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
