//! OSV ecosystems: which version scheme each uses. Names, bases and normalisation are
//! the package model's (`rampart_core::package::ecosystem`), re-exported here.

use crate::version::Scheme;

pub use rampart_core::package::ecosystem::{base, covers, normalize_name};

/// The version scheme of an ecosystem (by its base), if Rampart can order its versions.
pub fn scheme(ecosystem: &str) -> Option<Scheme> {
    Some(match base(ecosystem) {
        "npm" | "crates.io" | "Go" | "Hex" | "SwiftURL" | "Bitnami" | "ConanCenter"
        | "Bioconductor" | "GHC" | "JavaScript" => Scheme::SemVer,
        "PyPI" => Scheme::Pep440,
        "Maven" => Scheme::Maven,
        "RubyGems" => Scheme::RubyGems,
        "NuGet" => Scheme::NuGet,
        "Debian" | "Ubuntu" => Scheme::Debian,
        "Alpine"
        | "Wolfi"
        | "Chainguard"
        | "MinimOS"
        | "Alpaquita"
        | "BellSoft Hardened Containers" => Scheme::Alpine,
        "Red Hat" | "Rocky Linux" | "AlmaLinux" | "SUSE" | "openSUSE" | "openEuler" | "Mageia"
        | "Photon OS" | "Azure Linux" | "CentOS" | "Fedora" | "Oracle Linux" | "Amazon Linux" => {
            Scheme::Rpm
        }
        "Packagist" => Scheme::Packagist,
        "Pub" => Scheme::Pub,
        "CRAN" => Scheme::Cran,
        "Hackage" => Scheme::Hackage,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            normalize_name("PyPI", "Django_REST.framework"),
            "django-rest-framework"
        );
        assert_eq!(normalize_name("PyPI", "a--b"), "a-b");
        assert_eq!(normalize_name("crates.io", "Serde_JSON"), "serde-json");
        assert_eq!(normalize_name("npm", "@Scope/Pkg"), "@Scope/Pkg");
        assert_eq!(base("Red Hat:rhel_aus:8.6::appstream"), "Red Hat");
        assert_eq!(scheme("Alpine:v3.16"), Some(Scheme::Alpine));
        assert_eq!(scheme("GIT"), None);
        assert!(covers("Debian:11", "Debian"));
        assert!(covers("Debian", "Debian:11"));
        assert!(!covers("Debian:11", "Debian:12"));
        assert!(!covers("Ubuntu", "Debian"));
    }
}
