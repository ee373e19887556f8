//! Version schemes: one parser and one total order per ecosystem family.
//!
//! Every scheme follows the ordering of the ecosystem's own tool (dpkg, apk, rpmvercmp,
//! Python `packaging`, Maven `ComparableVersion`, RubyGems, NuGet, PHP `version_compare`,
//! node-semver / Cargo, Dart pub, R, Cabal) as captured by the upstream truth tables in
//! `shared/corpora/version-compare/`. Numbers have no size limit: digit runs are
//! compared by length after stripping leading zeros, never converted to machine integers,
//! so no input can overflow or panic.
//!
//! [`Version::parse`] rejects strings that no scheme can order meaningfully (empty,
//! control characters or inner whitespace, scheme-specific errors such as a Debian epoch
//! that is not a number); everything else parses, as the ecosystems' own tools are
//! lenient too. Stricter syntax checks exist where an ecosystem defines them
//! (e.g. [`alpine::is_valid`]).

pub mod alpine;
pub mod cran;
pub mod debian;
pub mod hackage;
pub mod maven;
pub mod nuget;
pub mod packagist;
pub mod pep440;
pub mod pub_dart;
pub mod rpm;
pub mod rubygems;
pub mod semver;

use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::fmt;

/// Why a version string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VersionError {
    /// The string is empty (or only whitespace).
    #[error("empty version")]
    Empty,
    /// The string contains a control character or inner whitespace.
    #[error("version `{0}` contains whitespace or a control character")]
    BadCharacter(String),
    /// The string is too long to be a version (over 1024 bytes).
    #[error("version is longer than 1024 bytes")]
    TooLong,
    /// Scheme-specific syntax error.
    #[error("invalid {scheme} version `{version}`: {reason}")]
    Invalid {
        /// The scheme.
        scheme: Scheme,
        /// The input.
        version: String,
        /// What is wrong.
        reason: String,
    },
}

impl VersionError {
    pub(crate) fn invalid(scheme: Scheme, version: &str, reason: impl Into<String>) -> Self {
        VersionError::Invalid {
            scheme,
            version: version.to_string(),
            reason: reason.into(),
        }
    }
}

/// A version ordering scheme (several ecosystems may share one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    /// SemVer 2.0 as node-semver / Cargo / Go modules order it (leading `v` allowed,
    /// extra numeric components treated as build data): npm, crates.io, Go, Hex, …
    SemVer,
    /// PEP 440 (PyPI), with the pre-PEP 440 "legacy" fallback of `packaging` < 22.
    Pep440,
    /// Maven `ComparableVersion`.
    Maven,
    /// RubyGems `Gem::Version`.
    RubyGems,
    /// NuGet (SemVer with four numeric components, case-insensitive labels).
    NuGet,
    /// Debian / Ubuntu dpkg.
    Debian,
    /// Alpine / Wolfi / Chainguard apk.
    Alpine,
    /// RPM `rpmvercmp` (Red Hat, Rocky, Alma, SUSE, …).
    Rpm,
    /// Composer / PHP `version_compare` (Packagist).
    Packagist,
    /// Dart pub.
    Pub,
    /// R package versions (CRAN, Bioconductor).
    Cran,
    /// Haskell package versions (Hackage).
    Hackage,
}

impl Scheme {
    /// Every scheme.
    pub const ALL: [Scheme; 12] = [
        Scheme::SemVer,
        Scheme::Pep440,
        Scheme::Maven,
        Scheme::RubyGems,
        Scheme::NuGet,
        Scheme::Debian,
        Scheme::Alpine,
        Scheme::Rpm,
        Scheme::Packagist,
        Scheme::Pub,
        Scheme::Cran,
        Scheme::Hackage,
    ];

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::SemVer => "semver",
            Scheme::Pep440 => "pep440",
            Scheme::Maven => "maven",
            Scheme::RubyGems => "rubygems",
            Scheme::NuGet => "nuget",
            Scheme::Debian => "debian",
            Scheme::Alpine => "alpine",
            Scheme::Rpm => "rpm",
            Scheme::Packagist => "packagist",
            Scheme::Pub => "pub",
            Scheme::Cran => "cran",
            Scheme::Hackage => "hackage",
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A version of one scheme: parsed once, then compared cheaply.
pub trait VersionScheme: Ord + Sized {
    /// The scheme.
    const SCHEME: Scheme;
    /// Parse a version string (see the module docs for what is rejected).
    fn parse(s: &str) -> Result<Self, VersionError>;
}

/// A parsed version of any scheme.
///
/// `Ord` is total: versions of the same scheme compare by that scheme's rules; versions
/// of different schemes (never compared in practice) order by scheme.
#[derive(Debug, Clone)]
pub struct Version {
    original: Box<str>,
    inner: Inner,
}

#[derive(Debug, Clone)]
enum Inner {
    SemVer(semver::SemVer),
    Pep440(pep440::Pep440),
    Maven(maven::MavenVersion),
    RubyGems(rubygems::GemVersion),
    NuGet(nuget::NuGetVersion),
    Debian(debian::DebianVersion),
    Alpine(alpine::ApkVersion),
    Rpm(rpm::RpmVersion),
    Packagist(packagist::PackagistVersion),
    Pub(pub_dart::PubVersion),
    Cran(cran::CranVersion),
    Hackage(hackage::HackageVersion),
}

impl Version {
    /// Parse `s` under `scheme`.
    pub fn parse(scheme: Scheme, s: &str) -> Result<Version, VersionError> {
        check_common(s)?;
        let inner = match scheme {
            Scheme::SemVer => Inner::SemVer(semver::SemVer::parse(s)?),
            Scheme::Pep440 => Inner::Pep440(pep440::Pep440::parse(s)?),
            Scheme::Maven => Inner::Maven(maven::MavenVersion::parse(s)?),
            Scheme::RubyGems => Inner::RubyGems(rubygems::GemVersion::parse(s)?),
            Scheme::NuGet => Inner::NuGet(nuget::NuGetVersion::parse(s)?),
            Scheme::Debian => Inner::Debian(debian::DebianVersion::parse(s)?),
            Scheme::Alpine => Inner::Alpine(alpine::ApkVersion::parse(s)?),
            Scheme::Rpm => Inner::Rpm(rpm::RpmVersion::parse(s)?),
            Scheme::Packagist => Inner::Packagist(packagist::PackagistVersion::parse(s)?),
            Scheme::Pub => Inner::Pub(pub_dart::PubVersion::parse(s)?),
            Scheme::Cran => Inner::Cran(cran::CranVersion::parse(s)?),
            Scheme::Hackage => Inner::Hackage(hackage::HackageVersion::parse(s)?),
        };
        Ok(Version {
            original: s.into(),
            inner,
        })
    }

    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        match &self.inner {
            Inner::SemVer(_) => Scheme::SemVer,
            Inner::Pep440(_) => Scheme::Pep440,
            Inner::Maven(_) => Scheme::Maven,
            Inner::RubyGems(_) => Scheme::RubyGems,
            Inner::NuGet(_) => Scheme::NuGet,
            Inner::Debian(_) => Scheme::Debian,
            Inner::Alpine(_) => Scheme::Alpine,
            Inner::Rpm(_) => Scheme::Rpm,
            Inner::Packagist(_) => Scheme::Packagist,
            Inner::Pub(_) => Scheme::Pub,
            Inner::Cran(_) => Scheme::Cran,
            Inner::Hackage(_) => Scheme::Hackage,
        }
    }

    /// The string as given.
    pub fn as_str(&self) -> &str {
        &self.original
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        match (&self.inner, &other.inner) {
            (Inner::SemVer(a), Inner::SemVer(b)) => a.cmp(b),
            (Inner::Pep440(a), Inner::Pep440(b)) => a.cmp(b),
            (Inner::Maven(a), Inner::Maven(b)) => a.cmp(b),
            (Inner::RubyGems(a), Inner::RubyGems(b)) => a.cmp(b),
            (Inner::NuGet(a), Inner::NuGet(b)) => a.cmp(b),
            (Inner::Debian(a), Inner::Debian(b)) => a.cmp(b),
            (Inner::Alpine(a), Inner::Alpine(b)) => a.cmp(b),
            (Inner::Rpm(a), Inner::Rpm(b)) => a.cmp(b),
            (Inner::Packagist(a), Inner::Packagist(b)) => a.cmp(b),
            (Inner::Pub(a), Inner::Pub(b)) => a.cmp(b),
            (Inner::Cran(a), Inner::Cran(b)) => a.cmp(b),
            (Inner::Hackage(a), Inner::Hackage(b)) => a.cmp(b),
            _ => self.scheme().cmp(&other.scheme()),
        }
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

/// Checks shared by every scheme.
fn check_common(s: &str) -> Result<(), VersionError> {
    if s.len() > 1024 {
        return Err(VersionError::TooLong);
    }
    let t = s.trim();
    if t.is_empty() {
        return Err(VersionError::Empty);
    }
    if s.chars().any(char::is_control) || t.chars().any(char::is_whitespace) {
        return Err(VersionError::BadCharacter(s.to_string()));
    }
    Ok(())
}

/// Implement `PartialEq`, `Eq`, `PartialOrd` from an `Ord` impl (equality is "compares
/// equal", so `Eq` is always consistent with `Ord`).
macro_rules! ord_via_cmp {
    ($t:ty) => {
        impl PartialEq for $t {
            fn eq(&self, other: &Self) -> bool {
                self.cmp(other) == std::cmp::Ordering::Equal
            }
        }
        impl Eq for $t {}
        impl PartialOrd for $t {
            fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }
    };
}
pub(crate) use ord_via_cmp;

// ---- shared helpers ---------------------------------------------------------------

/// Whether `s` is a non-empty run of ASCII digits.
pub(crate) fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Compare two digit strings numerically, without size limit.
pub(crate) fn cmp_digits(a: &str, b: &str) -> Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// A digit string with leading zeros removed (`"0"` for zero).
pub(crate) fn norm_digits(s: &str) -> String {
    let t = s.trim_start_matches('0');
    if t.is_empty() {
        "0".to_string()
    } else {
        t.to_string()
    }
}

/// Compare numeric component lists, the shorter padded with zeros.
pub(crate) fn cmp_components(a: &[String], b: &[String]) -> Ordering {
    let n = a.len().max(b.len());
    for i in 0..n {
        let x = a.get(i).map_or("0", String::as_str);
        let y = b.get(i).map_or("0", String::as_str);
        let o = cmp_digits(x, y);
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

/// "SemVer-like" parse shared by SemVer, NuGet, Pub and Hackage: an optional leading
/// `v`, dot-separated digit runs, and everything from the first other character on as
/// the "build" string (pre-release and metadata, e.g. `-beta.1+abc`).
#[derive(Debug, Clone, Default)]
pub(crate) struct SemverLike {
    pub components: Vec<String>,
    pub build: String,
}

impl SemverLike {
    pub(crate) fn parse(s: &str, max_components: Option<usize>) -> SemverLike {
        let s = s.strip_prefix('v').unwrap_or(s);
        let mut components = Vec::new();
        let mut cur = String::new();
        let mut build: Option<String> = None;
        for (i, c) in s.char_indices() {
            if c.is_ascii_digit() {
                cur.push(c);
                continue;
            }
            if !cur.is_empty() {
                components.push(norm_digits(&cur));
                cur.clear();
            }
            if c == '.' {
                continue;
            }
            build = Some(s[i..].to_string());
            break;
        }
        if build.is_none() && !cur.is_empty() {
            components.push(norm_digits(&cur));
        }
        let mut build = build.unwrap_or_default();
        if let Some(max) = max_components {
            if components.len() > max {
                for extra in components.drain(max..) {
                    build.push('.');
                    build.push_str(&extra);
                }
            }
        }
        SemverLike { components, build }
    }
}

/// Compare SemVer "build" strings (pre-release part; metadata after `+` ignored):
/// no pre-release sorts after any pre-release; identifiers compare numerically when
/// both are digits, numbers before words, words in ASCII order, more identifiers wins.
pub(crate) fn cmp_semver_build(a: &str, b: &str) -> Ordering {
    let a = a.split('+').next().unwrap_or("");
    let b = b.split('+').next().unwrap_or("");
    let a = a.strip_prefix('-').unwrap_or(a);
    let b = b.strip_prefix('-').unwrap_or(b);
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    let mut ai = a.split('.');
    let mut bi = b.split('.');
    loop {
        match (ai.next(), bi.next()) {
            (None, None) => return Ordering::Equal,
            (Some(_), None) => return Ordering::Greater,
            (None, Some(_)) => return Ordering::Less,
            (Some(x), Some(y)) => {
                let o = match (is_digits(x), is_digits(y)) {
                    (true, true) => cmp_digits(x, y),
                    (false, false) => x.cmp(y),
                    (true, false) => Ordering::Less,
                    (false, true) => Ordering::Greater,
                };
                if o != Ordering::Equal {
                    return o;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits() {
        assert_eq!(cmp_digits("010", "9"), Ordering::Greater);
        assert_eq!(cmp_digits("000", "0"), Ordering::Equal);
        assert_eq!(norm_digits("007"), "7");
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(Version::parse(Scheme::SemVer, ""), Err(VersionError::Empty));
        assert!(Version::parse(Scheme::SemVer, "1.0 beta").is_err());
        assert!(Version::parse(Scheme::SemVer, "1.0\n").is_err());
        assert!(Version::parse(Scheme::Debian, "a:1.0").is_err());
    }
}
