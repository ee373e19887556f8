//! Property tests: every scheme's order is total (antisymmetric, transitive, consistent
//! with `Eq`), and no parser or comparison panics on arbitrary input.

use proptest::prelude::*;
use rampart_vuln::version::{Scheme, Version};
use std::cmp::Ordering;

/// Version-like strings built from the tokens real versions are made of.
fn versionish() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        4 => "[0-9]{1,3}",
        1 => Just("0".to_string()),
        1 => Just("00".to_string()),
        2 => prop::sample::select(vec![
            "a", "b", "c", "rc", "alpha", "beta", "pre", "dev", "post", "r", "sp", "final",
            "ga", "snapshot", "p", "git", "cvs", "patch", "pl", "RC", "Beta", "x", "z",
        ]).prop_map(str::to_string),
        3 => prop::sample::select(vec![".", ".", ".", "-", "_", "+", "~", "^", ":", "!"])
            .prop_map(str::to_string),
    ];
    ("[0-9]{1,2}", prop::collection::vec(token, 0..8)).prop_map(|(h, t)| {
        let mut s = h;
        for x in t {
            s.push_str(&x);
        }
        s
    })
}

fn parse(scheme: Scheme, s: &str) -> Option<Version> {
    Version::parse(scheme, s).ok()
}

fn check_total(scheme: Scheme, a: &str, b: &str, c: &str) -> Result<(), TestCaseError> {
    let (Some(a), Some(b), Some(c)) = (parse(scheme, a), parse(scheme, b), parse(scheme, c)) else {
        return Ok(());
    };
    for (x, y) in [(&a, &b), (&b, &c), (&a, &c)] {
        prop_assert_eq!(x.cmp(y), y.cmp(x).reverse(), "antisymmetry {} vs {}", x, y);
        prop_assert_eq!(x == y, x.cmp(y) == Ordering::Equal);
        prop_assert_eq!(x.cmp(x), Ordering::Equal);
    }
    let mut v = [&a, &b, &c];
    v.sort();
    prop_assert!(v[0] <= v[1] && v[1] <= v[2]);
    prop_assert!(
        v[0] <= v[2],
        "transitivity {} <= {} <= {}",
        v[0],
        v[1],
        v[2]
    );
    if v[0] == v[1] && v[1] == v[2] {
        prop_assert!(v[0] == v[2]);
    }
    // Every permutation of the triple must be consistent with the sorted order.
    for (x, y) in [(0, 1), (1, 2), (0, 2)] {
        prop_assert_ne!(v[x].cmp(v[y]), Ordering::Greater, "{} > {}", v[x], v[y]);
    }
    Ok(())
}

macro_rules! total_order_test {
    ($name:ident, $scheme:expr) => {
        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]
            #[test]
            fn $name(a in versionish(), b in versionish(), c in versionish()) {
                check_total($scheme, &a, &b, &c)?;
            }
        }
    };
}

total_order_test!(total_semver, Scheme::SemVer);
total_order_test!(total_pep440, Scheme::Pep440);
total_order_test!(total_maven, Scheme::Maven);
total_order_test!(total_rubygems, Scheme::RubyGems);
total_order_test!(total_nuget, Scheme::NuGet);
total_order_test!(total_debian, Scheme::Debian);
total_order_test!(total_alpine, Scheme::Alpine);
total_order_test!(total_rpm, Scheme::Rpm);
total_order_test!(total_packagist, Scheme::Packagist);
total_order_test!(total_pub, Scheme::Pub);
total_order_test!(total_cran, Scheme::Cran);
total_order_test!(total_hackage, Scheme::Hackage);

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]
    /// Fuzz: arbitrary strings never panic any parser or comparison.
    #[test]
    fn parsers_never_panic(a in any::<String>(), b in "\\PC{0,40}") {
        for scheme in Scheme::ALL {
            let x = Version::parse(scheme, &a);
            let y = Version::parse(scheme, &b);
            if let (Ok(x), Ok(y)) = (x, y) {
                let _ = x.cmp(&y);
            }
        }
    }
}

/// Regression: apk's "compare malformed versions as text" rule made this triple
/// intransitive (found by `total_alpine`).
#[test]
fn alpine_malformed_triple_is_transitive() {
    let v = |s| Version::parse(Scheme::Alpine, s).unwrap();
    let (a, b, c) = (v("8_"), v("10."), v("11rc"));
    assert!(a < b && b < c && a < c);
}
