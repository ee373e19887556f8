//! The package model every dependency front shares: what lockfile parsers, installed
//! metadata readers, SBOM readers and image package databases produce
//! ([`Package`]), how ecosystems are named and package names normalised
//! ([`ecosystem`]), and the seam to a vulnerability matcher ([`VulnMatcher`]).
//!
//! It lives in core so that the inventory side (`rampart-sca`: lockfiles, licences,
//! SBOMs, VEX) and the database side (`rampart-vuln`: version schemes, OSV records,
//! matching) share one type without depending on each other: `rampart-vuln` implements
//! [`VulnMatcher`] for its database and the CLI passes it into the inventory pipeline.

pub mod ecosystem;

use crate::{Finding, ScanError};
use serde::{Deserialize, Serialize};

/// One package found in a lockfile, manifest, installed metadata, SBOM or image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Package {
    /// OSV ecosystem name (`crates.io`, `npm`, `PyPI`, `Go`, `Maven`, `NuGet`,
    /// `RubyGems`, `Packagist`, `Hex`, `Pub`, `Debian:12` …).
    pub ecosystem: String,
    /// Name as the ecosystem spells it (Maven: `group:artifact`; Go: module path).
    pub name: String,
    /// Resolved version as written in the lockfile.
    pub version: String,
    /// Where it was found: path relative to the scan root (`/`-separated) or image
    /// layer path, and line.
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

    /// Set where the package was found (lockfile path, image layer …), keeping the line.
    pub fn with_found_in(mut self, found_in: impl Into<String>) -> Package {
        let line = self.source.as_ref().and_then(|s| s.line);
        self.source = Some(SourceRef {
            path: found_in.into(),
            line,
        });
        self
    }

    /// Set the line of the package's entry in its source file.
    pub fn with_line(mut self, line: usize) -> Package {
        self.source.get_or_insert_with(SourceRef::default).line = Some(line);
        self
    }

    /// Where the package was found (the source path), if known.
    pub fn found_in(&self) -> Option<&str> {
        self.source.as_ref().map(|s| s.path.as_str())
    }

    /// The line of the package's entry in its source, if known.
    pub fn line(&self) -> Option<usize> {
        self.source.as_ref().and_then(|s| s.line)
    }

    /// The key other packages use to refer to this one: `name@version`.
    pub fn key(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }

    /// The same package with only what a matcher reads (ecosystem, name, version and
    /// source): no dependency list, licences or hashes to copy.
    pub fn for_matching(&self) -> Package {
        Package {
            ecosystem: self.ecosystem.clone(),
            name: self.name.clone(),
            version: self.version.clone(),
            source: self.source.clone(),
            ..Package::default()
        }
    }
}

/// One advisory that affects one package, as a finding (`vuln/<id>`, located at the
/// package) and the ids it is known by.
#[derive(Debug, Clone)]
pub struct VulnHit {
    /// The finding, before suppression.
    pub finding: Finding,
    /// Every id of the vulnerability: the primary id, its aliases and the merged
    /// records (VEX statements name any of them).
    pub ids: Vec<String>,
    /// Whether a fixed version is known.
    pub has_fix: bool,
}

/// Why a matcher could not match (the database is unreadable or corrupt …): the
/// matcher's own error, shown as it is.
#[derive(Debug)]
pub struct MatchError(Box<dyn std::error::Error + Send + Sync>);

impl MatchError {
    /// Wrap a matcher's error.
    pub fn new(e: impl std::error::Error + Send + Sync + 'static) -> MatchError {
        MatchError(Box::new(e))
    }

    /// An error that is only a message.
    pub fn msg(message: impl Into<String>) -> MatchError {
        MatchError(message.into().into())
    }
}

impl std::fmt::Display for MatchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for MatchError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// A vulnerability matcher: the local database (`rampart_vuln::Db`) implements it; the
/// inventory pipeline (`rampart_sca::deps`) takes it, so the lockfile crate does not
/// depend on the database crate.
pub trait VulnMatcher {
    /// The advisories affecting each package, one list per package in input order.
    fn match_packages(&self, packages: &[Package]) -> Result<Vec<Vec<VulnHit>>, MatchError>;
}

impl<T: VulnMatcher + ?Sized> VulnMatcher for &T {
    fn match_packages(&self, packages: &[Package]) -> Result<Vec<Vec<VulnHit>>, MatchError> {
        (**self).match_packages(packages)
    }
}

/// Opens a matcher for the ecosystems a scan found (a database checked for freshness
/// and coverage of exactly these). `Err` is the reason the packages were not checked,
/// reported as a scan error: never "no findings".
pub type OpenMatcher<'a> = dyn Fn(&[String]) -> Result<Box<dyn VulnMatcher + 'a>, ScanError> + 'a;
