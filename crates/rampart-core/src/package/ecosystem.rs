//! OSV ecosystem names: the base of a versioned ecosystem, how package names are
//! normalised for lookup, and which advisory ecosystem covers which package's.
//! (Version schemes per ecosystem are `rampart_vuln::ecosystem::scheme`.)

/// The base of an OSV ecosystem string: `Debian:11` → `Debian`,
/// `Alpine:v3.16` → `Alpine`, `Red Hat:rhel_aus:8.6::appstream` → `Red Hat`.
pub fn base(ecosystem: &str) -> &str {
    ecosystem.split(':').next().unwrap_or(ecosystem).trim()
}

/// The name under which a package is indexed: PyPI names are normalised as PEP 503
/// (lower case, runs of `-`, `_`, `.` become `-`); names of ecosystems whose registry
/// is case-insensitive (crates.io, NuGet, Packagist, Pub, Hex, Debian, Ubuntu, Alpine)
/// are lower-cased, and crates.io also treats `_` as `-`. Others (npm, Go, Maven,
/// RubyGems, RPM) are case-sensitive and kept as given.
pub fn normalize_name(ecosystem: &str, name: &str) -> String {
    let name = name.trim();
    match base(ecosystem) {
        "PyPI" => {
            let mut out = String::with_capacity(name.len());
            let mut sep = false;
            for c in name.chars() {
                if matches!(c, '-' | '_' | '.') {
                    sep = true;
                    continue;
                }
                if sep && !out.is_empty() {
                    out.push('-');
                }
                sep = false;
                out.extend(c.to_lowercase());
            }
            out
        }
        "crates.io" => name.to_ascii_lowercase().replace('_', "-"),
        "NuGet" | "Packagist" | "Pub" | "Hex" | "Debian" | "Ubuntu" | "Alpine" | "Wolfi"
        | "Chainguard" => name.to_lowercase(),
        _ => name.to_string(),
    }
}

/// Whether a package's ecosystem (`Debian:12`, or plain `Debian`) is covered by an
/// advisory's ecosystem: same base, and same release suffix when both have one.
pub fn covers(advisory: &str, package: &str) -> bool {
    if base(advisory) != base(package) {
        return false;
    }
    match (advisory.split_once(':'), package.split_once(':')) {
        (Some((_, a)), Some((_, p))) => a == p,
        _ => true,
    }
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
        assert!(covers("Debian:11", "Debian"));
        assert!(covers("Debian", "Debian:11"));
        assert!(!covers("Debian:11", "Debian:12"));
        assert!(!covers("Ubuntu", "Debian"));
    }
}
