//! The packages found in an image, with where they came from.

use serde::Serialize;

/// What kind of package database or metadata a package came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, PartialOrd, Ord, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum PackageKind {
    /// Debian / Ubuntu dpkg.
    Dpkg,
    /// Alpine apk.
    Apk,
    /// RPM.
    Rpm,
    /// Python dist-info / egg-info.
    Python,
    /// Node `node_modules` package.
    Npm,
    /// Java archive.
    Java,
    /// Go module compiled into a binary.
    Go,
    /// Rust crate compiled into a cargo-auditable binary.
    Rust,
    /// Ruby gem.
    Gem,
}

impl PackageKind {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            PackageKind::Dpkg => "dpkg",
            PackageKind::Apk => "apk",
            PackageKind::Rpm => "rpm",
            PackageKind::Python => "python",
            PackageKind::Npm => "npm",
            PackageKind::Java => "java",
            PackageKind::Go => "go",
            PackageKind::Rust => "rust",
            PackageKind::Gem => "gem",
        }
    }

    /// Whether this is an OS package (matched in the distro's ecosystem).
    pub fn is_os(self) -> bool {
        matches!(
            self,
            PackageKind::Dpkg | PackageKind::Apk | PackageKind::Rpm
        )
    }
}

/// One package in the image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImagePackage {
    /// Where it came from.
    pub kind: PackageKind,
    /// OSV ecosystem (`Debian:12`, `Alpine:v3.20`, `PyPI`, `npm`, `Maven`, `Go` …).
    pub ecosystem: String,
    /// Name.
    pub name: String,
    /// Version (RPM: `[epoch:]version-release`).
    pub version: String,
    /// Source package name (dpkg `Source:`, apk origin, rpm source RPM).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_name: Option<String>,
    /// Source package version, when it differs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_version: Option<String>,
    /// Architecture, when recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    /// Declared licences.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub licenses: Vec<String>,
    /// File in the image it was read from (package database, metadata, binary).
    pub path: String,
    /// 1-based line of its entry in `path`, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// Index of the layer that holds `path` (bottom = 0).
    pub layer: usize,
    /// Digest of that layer.
    pub layer_digest: String,
    /// The instruction that made that layer, from the image history.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// Package URL.
    pub purl: String,
}

impl ImagePackage {
    /// A package with the required fields; the rest is filled in by the readers.
    pub fn new(
        kind: PackageKind,
        ecosystem: impl Into<String>,
        name: impl Into<String>,
        version: impl Into<String>,
        path: impl Into<String>,
    ) -> ImagePackage {
        ImagePackage {
            kind,
            ecosystem: ecosystem.into(),
            name: name.into(),
            version: version.into(),
            source_name: None,
            source_version: None,
            arch: None,
            licenses: Vec::new(),
            path: path.into(),
            line: None,
            layer: 0,
            layer_digest: String::new(),
            created_by: None,
            purl: String::new(),
        }
    }
}

/// Percent-encode a purl segment.
pub fn purl_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The package URL of a package, given the distro (`debian`, `12`) for OS packages.
pub fn purl(p: &ImagePackage, distro: Option<(&str, &str)>) -> String {
    let e = purl_encode;
    let mut quals: Vec<String> = Vec::new();
    let base = match p.kind {
        PackageKind::Dpkg | PackageKind::Apk | PackageKind::Rpm => {
            let ty = match p.kind {
                PackageKind::Dpkg => "deb",
                PackageKind::Apk => "apk",
                _ => "rpm",
            };
            let ns = distro.map(|d| d.0).unwrap_or(match p.kind {
                PackageKind::Dpkg => "debian",
                PackageKind::Apk => "alpine",
                _ => "redhat",
            });
            if let Some(a) = &p.arch {
                quals.push(format!("arch={}", e(a)));
            }
            if let Some((id, ver)) = distro {
                if !ver.is_empty() {
                    quals.push(format!("distro={}", e(&format!("{id}-{ver}"))));
                }
            }
            if let Some(s) = &p.source_name {
                if s != &p.name {
                    quals.push(format!("upstream={}", e(s)));
                }
            }
            format!("pkg:{ty}/{}/{}@{}", e(ns), e(&p.name), e(&p.version))
        }
        PackageKind::Python => format!(
            "pkg:pypi/{}@{}",
            e(&rampart_core::package::ecosystem::normalize_name(
                "PyPI", &p.name
            )),
            e(&p.version)
        ),
        PackageKind::Npm => match p.name.split_once('/') {
            Some((scope, n)) if scope.starts_with('@') => {
                format!("pkg:npm/{}/{}@{}", e(scope), e(n), e(&p.version))
            }
            _ => format!("pkg:npm/{}@{}", e(&p.name), e(&p.version)),
        },
        PackageKind::Java => match p.name.split_once(':') {
            Some((g, a)) => format!("pkg:maven/{}/{}@{}", e(g), e(a), e(&p.version)),
            None => format!("pkg:maven/{}@{}", e(&p.name), e(&p.version)),
        },
        PackageKind::Go => {
            let segs: Vec<String> = p.name.split('/').map(e).collect();
            format!("pkg:golang/{}@{}", segs.join("/"), e(&p.version))
        }
        PackageKind::Rust => format!("pkg:cargo/{}@{}", e(&p.name), e(&p.version)),
        PackageKind::Gem => format!("pkg:gem/{}@{}", e(&p.name), e(&p.version)),
    };
    if quals.is_empty() {
        base
    } else {
        format!("{base}?{}", quals.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purls() {
        let mut p = ImagePackage::new(
            PackageKind::Dpkg,
            "Debian:12",
            "libssl3",
            "3.0.11-1~deb12u2",
            "var/lib/dpkg/status",
        );
        p.arch = Some("amd64".into());
        p.source_name = Some("openssl".into());
        assert_eq!(
            purl(&p, Some(("debian", "12"))),
            "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12&upstream=openssl"
        );
        let n = ImagePackage::new(PackageKind::Npm, "npm", "@types/node", "20.1.0", "x");
        assert_eq!(purl(&n, None), "pkg:npm/%40types/node@20.1.0");
        let py = ImagePackage::new(PackageKind::Python, "PyPI", "Flask_Login", "0.6", "x");
        assert_eq!(purl(&py, None), "pkg:pypi/flask-login@0.6");
    }
}
