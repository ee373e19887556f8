//! Every row of the upstream version-comparison truth tables
//! (`shared/corpora/version-compare/`, from osv-scalibr and osv.dev) must pass, in
//! both directions (antisymmetry).

use rampart_vuln::version::{alpine, Scheme, Version};
use std::cmp::Ordering;

const TABLES: &[(&str, Scheme)] = &[
    ("semver-versions.txt", Scheme::SemVer),
    ("pypi-versions.txt", Scheme::Pep440),
    ("pypi-versions-generated.txt", Scheme::Pep440),
    ("maven-versions.txt", Scheme::Maven),
    ("maven-versions-generated.txt", Scheme::Maven),
    ("rubygems-versions.txt", Scheme::RubyGems),
    ("rubygems-versions-generated.txt", Scheme::RubyGems),
    ("nuget-versions.txt", Scheme::NuGet),
    ("debian-versions.txt", Scheme::Debian),
    ("debian-versions-generated.txt", Scheme::Debian),
    ("alpine-versions.txt", Scheme::Alpine),
    ("alpine-versions-generated.txt", Scheme::Alpine),
    ("redhat-versions.txt", Scheme::Rpm),
    ("packagist-versions.txt", Scheme::Packagist),
    ("packagist-versions-generated.txt", Scheme::Packagist),
    ("pub-versions.txt", Scheme::Pub),
    ("cran-versions.txt", Scheme::Cran),
    ("cran-versions-generated.txt", Scheme::Cran),
    ("hackage-versions.txt", Scheme::Hackage),
];

fn op(o: &str) -> Option<Ordering> {
    match o {
        "<" => Some(Ordering::Less),
        "=" => Some(Ordering::Equal),
        ">" => Some(Ordering::Greater),
        _ => None,
    }
}

#[test]
fn truth_tables_every_row_passes() {
    let Some(dir) = rampart_testkit::corpus("version-compare") else {
        return;
    };
    let mut failures = Vec::new();
    let mut totals: std::collections::BTreeMap<Scheme, (usize, usize)> = Default::default();
    for (file, scheme) in TABLES {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let (mut pass, mut total) = (0, 0);
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with("//") {
                continue;
            }
            let parts: Vec<&str> = line.split(' ').collect();
            assert_eq!(parts.len(), 3, "{file}:{}: malformed row `{line}`", n + 1);
            let want = op(parts[1]).unwrap();
            total += 1;
            let (a, b) = match (
                Version::parse(*scheme, parts[0]),
                Version::parse(*scheme, parts[2]),
            ) {
                (Ok(a), Ok(b)) => (a, b),
                (a, b) => {
                    failures.push(format!(
                        "{file}:{}: `{line}`: parse error {a:?} / {b:?}",
                        n + 1
                    ));
                    continue;
                }
            };
            let got = a.cmp(&b);
            let back = b.cmp(&a);
            if got == want && back == want.reverse() && (a == b) == (want == Ordering::Equal) {
                pass += 1;
            } else {
                failures.push(format!(
                    "{file}:{}: `{line}`: got {got:?}, reversed {back:?}",
                    n + 1
                ));
            }
        }
        println!("{scheme:>10} {file:<36} {pass}/{total}");
        let e = totals.entry(*scheme).or_default();
        e.0 += pass;
        e.1 += total;
    }
    for (s, (p, t)) in &totals {
        println!("scheme {s}: {p}/{t} rows pass");
    }
    assert!(
        failures.is_empty(),
        "{} rows failed:\n{}",
        failures.len(),
        failures
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn alpine_validity_lists() {
    let Some(dir) = rampart_testkit::corpus("version-compare/alpine-validity") else {
        return;
    };
    let mut bad = Vec::new();
    for (file, want) in [
        ("valid_versions.txt", true),
        ("invalid_versions.txt", false),
    ] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let mut n = 0;
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            n += 1;
            if alpine::is_valid(line) != want {
                bad.push(format!(
                    "{file}: `{line}` should be {}",
                    if want { "valid" } else { "invalid" }
                ));
            }
            // Valid or not, it must parse (apk orders it) and never panic.
            assert!(Version::parse(Scheme::Alpine, line).is_ok(), "{line}");
        }
        println!("alpine {file}: {n} checked");
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
