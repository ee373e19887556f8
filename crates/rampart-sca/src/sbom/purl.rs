//! Package URLs (purl) for inventory packages, and back: purl type ↔ OSV ecosystem.

use crate::inventory::Package;
use packageurl::PackageUrl;
use std::str::FromStr;

/// PEP 503 name normalisation: lower case, runs of `-_.` become `-`.
pub fn pep503(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.chars() {
        if c == '-' || c == '_' || c == '.' {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// Split `a/b/c` at the last `/`: (`a/b`, `c`).
fn split_last(name: &str) -> (Option<&str>, &str) {
    match name.rsplit_once('/') {
        Some((ns, n)) if !ns.is_empty() && !n.is_empty() => (Some(ns), n),
        _ => (None, name),
    }
}

/// `Debian:12` → (`Debian`, `12`).
fn eco_release(ecosystem: &str) -> (&str, Option<&str>) {
    match ecosystem.split_once(':') {
        Some((e, r)) if !r.is_empty() => (e, Some(r)),
        Some((e, _)) => (e, None),
        None => (ecosystem, None),
    }
}

/// The purl of a package, or `None` when its name is empty or the ecosystem cannot be
/// expressed (then SBOMs carry the component without a purl).
pub fn purl(p: &Package) -> Option<String> {
    if p.name.trim().is_empty() {
        return None;
    }
    let (eco, release) = eco_release(&p.ecosystem);
    let eco_lc = eco.to_ascii_lowercase();
    let (ty, ns, name, qualifiers): (&str, Option<String>, String, Vec<(&str, String)>) =
        match eco_lc.as_str() {
            "crates.io" | "cargo" => ("cargo", None, p.name.clone(), vec![]),
            "npm" => {
                let (ns, n) = split_last(&p.name);
                ("npm", ns.map(str::to_string), n.to_string(), vec![])
            }
            "pypi" => ("pypi", None, pep503(&p.name), vec![]),
            "go" | "golang" => {
                let (ns, n) = split_last(&p.name);
                ("golang", ns.map(str::to_string), n.to_string(), vec![])
            }
            "maven" => match p.name.split_once(':') {
                Some((g, a)) => ("maven", Some(g.to_string()), a.to_string(), vec![]),
                None => ("maven", None, p.name.clone(), vec![]),
            },
            "rubygems" | "gem" => ("gem", None, p.name.clone(), vec![]),
            "packagist" | "composer" => {
                let (ns, n) = split_last(&p.name);
                ("composer", ns.map(str::to_string), n.to_string(), vec![])
            }
            "nuget" => ("nuget", None, p.name.clone(), vec![]),
            "hex" => ("hex", None, p.name.clone(), vec![]),
            "pub" => ("pub", None, p.name.to_ascii_lowercase(), vec![]),
            "swifturl" => {
                let (ns, n) = split_last(&p.name);
                ("swift", ns.map(str::to_string), n.to_string(), vec![])
            }
            "cran" => ("cran", None, p.name.clone(), vec![]),
            "hackage" => ("hackage", None, p.name.clone(), vec![]),
            "conancenter" => ("conan", None, p.name.clone(), vec![]),
            "github actions" => {
                let (ns, n) = split_last(&p.name);
                ("github", ns.map(str::to_string), n.to_string(), vec![])
            }
            "debian" | "ubuntu" => {
                let distro = release.map(|r| format!("{eco_lc}-{}", r.to_ascii_lowercase()));
                (
                    "deb",
                    Some(eco_lc.clone()),
                    p.name.clone(),
                    distro.map(|d| ("distro", d)).into_iter().collect(),
                )
            }
            "alpine" | "wolfi" | "chainguard" | "alpaquita" => {
                let distro = release.map(|r| format!("{eco_lc}-{}", r.trim_start_matches('v')));
                (
                    "apk",
                    Some(eco_lc.clone()),
                    p.name.clone(),
                    distro.map(|d| ("distro", d)).into_iter().collect(),
                )
            }
            "red hat" | "rocky linux" | "almalinux" | "opensuse" | "suse" | "mageia"
            | "openeuler" | "azure linux" | "amazon linux" => {
                let ns = match eco_lc.as_str() {
                    "red hat" => "redhat".to_string(),
                    "azure linux" => "azurelinux".to_string(),
                    "amazon linux" => "amazon".to_string(),
                    other => other.replace(' ', "-"),
                };
                let distro =
                    release.map(|r| format!("{ns}-{}", r.to_ascii_lowercase().replace(' ', "-")));
                (
                    "rpm",
                    Some(ns),
                    p.name.clone(),
                    distro.map(|d| ("distro", d)).into_iter().collect(),
                )
            }
            _ => ("generic", None, p.name.clone(), vec![]),
        };
    let mut u = PackageUrl::new(ty, name).ok()?;
    if let Some(ns) = ns {
        u.with_namespace(ns).ok()?;
    }
    if !p.version.is_empty() {
        u.with_version(p.version.clone()).ok()?;
    }
    for (k, v) in qualifiers {
        u.add_qualifier(k, v).ok()?;
    }
    Some(u.to_string())
}

/// A package from a purl: ecosystem (OSV spelling), name and version. `None` when the
/// text is not a purl.
pub fn package_from_purl(text: &str) -> Option<Package> {
    let u = PackageUrl::from_str(text).ok()?;
    let ns = u.namespace().filter(|s| !s.is_empty());
    let name = u.name();
    let joined = |sep: &str| match ns {
        Some(ns) => format!("{ns}{sep}{name}"),
        None => name.to_string(),
    };
    let distro = u.qualifiers().get("distro").map(|d| d.to_string());
    // `debian-12` / `12` / `bookworm` → release part of `Debian:12`.
    let release = |prefix: &str| {
        distro.as_deref().map(|d| {
            d.strip_prefix(prefix)
                .and_then(|r| r.strip_prefix('-'))
                .unwrap_or(d)
                .to_string()
        })
    };
    let (eco, name) = match u.ty() {
        "cargo" => ("crates.io".to_string(), name.to_string()),
        "npm" => ("npm".to_string(), joined("/")),
        "pypi" => ("PyPI".to_string(), name.to_string()),
        "golang" => ("Go".to_string(), joined("/")),
        "maven" => ("Maven".to_string(), joined(":")),
        "gem" => ("RubyGems".to_string(), name.to_string()),
        "composer" => ("Packagist".to_string(), joined("/")),
        "nuget" => ("NuGet".to_string(), name.to_string()),
        "hex" => ("Hex".to_string(), name.to_string()),
        "pub" => ("Pub".to_string(), name.to_string()),
        "swift" => ("SwiftURL".to_string(), joined("/")),
        "cran" => ("CRAN".to_string(), name.to_string()),
        "hackage" => ("Hackage".to_string(), name.to_string()),
        "conan" => ("ConanCenter".to_string(), name.to_string()),
        "github" => ("GitHub Actions".to_string(), joined("/")),
        "deb" => {
            let vendor = ns.unwrap_or("debian");
            let base = if vendor.eq_ignore_ascii_case("ubuntu") {
                "Ubuntu"
            } else {
                "Debian"
            };
            let eco = match release(&vendor.to_ascii_lowercase()) {
                Some(r) => format!("{base}:{}", debian_release(&r)),
                None => base.to_string(),
            };
            (eco, name.to_string())
        }
        "apk" => {
            let vendor = ns.unwrap_or("alpine").to_ascii_lowercase();
            let base = match vendor.as_str() {
                "wolfi" => "Wolfi",
                "chainguard" => "Chainguard",
                _ => "Alpine",
            };
            let eco = match (base, release(&vendor)) {
                ("Alpine", Some(r)) => {
                    // OSV uses major.minor: `Alpine:v3.19`.
                    let mm: Vec<&str> = r.split('.').take(2).collect();
                    format!("Alpine:v{}", mm.join("."))
                }
                _ => base.to_string(),
            };
            (eco, name.to_string())
        }
        "rpm" => {
            let vendor = ns.unwrap_or("").to_ascii_lowercase();
            let base = match vendor.as_str() {
                "redhat" | "rhel" => "Red Hat",
                "rocky" | "rocky-linux" => "Rocky Linux",
                "almalinux" | "alma" => "AlmaLinux",
                "opensuse" => "openSUSE",
                "suse" | "sles" => "SUSE",
                "mageia" => "Mageia",
                "openeuler" => "openEuler",
                "azurelinux" | "mariner" => "Azure Linux",
                "amazon" | "amzn" => "Amazon Linux",
                _ => "RPM",
            };
            (base.to_string(), name.to_string())
        }
        other => (other.to_string(), joined("/")),
    };
    let mut p = Package::new(eco, name, u.version().unwrap_or(""));
    if let Some(r) = u.qualifiers().get("repository_url") {
        p.resolved = Some(r.to_string());
    }
    Some(p)
}

/// Debian code names to release numbers (`bookworm` → `12`); numbers pass through with
/// only the major part kept (`12.5` → `12`). Ubuntu releases stay as written (`22.04`).
fn debian_release(r: &str) -> String {
    const NAMES: &[(&str, &str)] = &[
        ("buster", "10"),
        ("bullseye", "11"),
        ("bookworm", "12"),
        ("trixie", "13"),
        ("stretch", "9"),
    ];
    if let Some((_, n)) = NAMES.iter().find(|(c, _)| r.eq_ignore_ascii_case(c)) {
        return (*n).to_string();
    }
    if r.contains('.')
        && r.split('.')
            .next()
            .is_some_and(|m| m.len() <= 2 && m.parse::<u32>().is_ok_and(|v| v < 20))
    {
        return r.split('.').next().unwrap_or(r).to_string();
    }
    r.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pu(eco: &str, name: &str, v: &str) -> String {
        purl(&Package::new(eco, name, v)).unwrap()
    }

    #[test]
    fn purls_per_ecosystem() {
        assert_eq!(
            pu("crates.io", "serde", "1.0.200"),
            "pkg:cargo/serde@1.0.200"
        );
        assert_eq!(pu("npm", "lodash", "4.17.21"), "pkg:npm/lodash@4.17.21");
        assert_eq!(
            pu("npm", "@babel/core", "7.24.0"),
            "pkg:npm/%40babel/core@7.24.0"
        );
        assert_eq!(
            pu("PyPI", "Django_Rest.Framework", "3.15"),
            "pkg:pypi/django-rest-framework@3.15"
        );
        assert_eq!(
            pu("Go", "github.com/gorilla/mux", "v1.8.1"),
            "pkg:golang/github.com/gorilla/mux@v1.8.1"
        );
        assert_eq!(
            pu("Maven", "org.apache.logging.log4j:log4j-core", "2.14.1"),
            "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"
        );
        assert_eq!(pu("RubyGems", "rails", "7.1.0"), "pkg:gem/rails@7.1.0");
        assert_eq!(
            pu("Packagist", "symfony/http-kernel", "6.4.0"),
            "pkg:composer/symfony/http-kernel@6.4.0"
        );
        assert_eq!(
            pu("NuGet", "Newtonsoft.Json", "13.0.1"),
            "pkg:nuget/Newtonsoft.Json@13.0.1"
        );
        assert_eq!(pu("Hex", "phoenix", "1.7.0"), "pkg:hex/phoenix@1.7.0");
        assert_eq!(pu("Pub", "http", "1.2.0"), "pkg:pub/http@1.2.0");
        assert_eq!(
            pu("Debian:12", "openssl", "3.0.11-1~deb12u2"),
            "pkg:deb/debian/openssl@3.0.11-1~deb12u2?distro=debian-12"
        );
        assert_eq!(
            pu("Debian:12", "libc6", "1:2.36-9"),
            "pkg:deb/debian/libc6@1:2.36-9?distro=debian-12"
        );
        assert_eq!(
            pu("Ubuntu:22.04", "zlib1g", "1:1.2.11"),
            "pkg:deb/ubuntu/zlib1g@1:1.2.11?distro=ubuntu-22.04"
        );
        assert_eq!(
            pu("Alpine:v3.19", "musl", "1.2.4-r2"),
            "pkg:apk/alpine/musl@1.2.4-r2?distro=alpine-3.19"
        );
        assert_eq!(
            pu("Red Hat", "openssl-libs", "1:3.0.7-27.el9"),
            "pkg:rpm/redhat/openssl-libs@1:3.0.7-27.el9"
        );
        assert!(purl(&Package::new("npm", "", "1")).is_none());
    }

    #[test]
    fn round_trip_to_osv_ecosystems() {
        for (eco, name, v) in [
            ("crates.io", "serde", "1.0.200"),
            ("npm", "@babel/core", "7.24.0"),
            ("npm", "lodash", "4.17.21"),
            ("PyPI", "django-rest-framework", "3.15"),
            ("Go", "github.com/gorilla/mux", "v1.8.1"),
            ("Maven", "org.apache.logging.log4j:log4j-core", "2.14.1"),
            ("RubyGems", "rails", "7.1.0"),
            ("Packagist", "symfony/http-kernel", "6.4.0"),
            ("NuGet", "Newtonsoft.Json", "13.0.1"),
            ("Hex", "phoenix", "1.7.0"),
            ("Pub", "http", "1.2.0"),
            ("Debian:12", "libc6", "1:2.36-9"),
            ("Ubuntu:22.04", "zlib1g", "1:1.2.11"),
            ("Alpine:v3.19", "musl", "1.2.4-r2"),
        ] {
            let p = package_from_purl(&pu(eco, name, v)).unwrap();
            assert_eq!(
                (p.ecosystem.as_str(), p.name.as_str(), p.version.as_str()),
                (eco, name, v)
            );
        }
        // What syft and Trivy write.
        let p = package_from_purl(
            "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12.5",
        )
        .unwrap();
        assert_eq!(p.ecosystem, "Debian:12");
        let p = package_from_purl("pkg:apk/alpine/busybox@1.36.1-r15?arch=x86_64&distro=3.19.1")
            .unwrap();
        assert_eq!(p.ecosystem, "Alpine:v3.19");
        let p = package_from_purl("pkg:deb/debian/bash@5.2?distro=bookworm").unwrap();
        assert_eq!(p.ecosystem, "Debian:12");
        assert!(package_from_purl("not a purl").is_none());
    }
}
