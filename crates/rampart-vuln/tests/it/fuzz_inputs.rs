//! Fuzz: the native-format converters, CVSS scoring and range evaluation never panic
//! on arbitrary input.

use proptest::prelude::*;
use rampart_vuln::osv::Affected;
use rampart_vuln::{cvss, rustsec, secdb, Scheme, Version};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn rustsec_never_panics(req in "[<>=^~ ,0-9.a-z*-]{0,24}", body in "\\PC{0,60}") {
        let text = format!("```toml\n[advisory]\nid = \"RUSTSEC-0000-0000\"\npackage = \"x\"\n\n[versions]\npatched = [\"{}\"]\n```\n{body}", req.replace('"', ""));
        let _ = rustsec::parse_advisory(&text);
        let _ = rustsec::parse_advisory(&body);
    }

    #[test]
    fn secdb_never_panics(s in "\\PC{0,200}") {
        let _ = secdb::parse(&s);
        let _ = secdb::parse(&format!("distroversion: v3.1\npackages:\n  - pkg:\n      name: a\n      secfixes:\n        {s}: [CVE-1]\n"));
    }

    #[test]
    fn cvss_never_panics(parts in prop::collection::vec("[A-Z]{1,3}:[A-Z]", 0..16), prefix in prop::sample::select(vec!["CVSS:3.1/", "CVSS:4.0/", "CVSS:3.0/", ""])) {
        let v = format!("{prefix}{}", parts.join("/"));
        if let Ok(s) = cvss::score(&v) {
            prop_assert!((0.0..=10.0).contains(&s.score));
        }
    }

    #[test]
    fn evaluation_never_panics(events in prop::collection::vec(("[a-z_]{1,14}", "\\PC{0,12}"), 0..6), v in "\\PC{0,12}") {
        let evs: Vec<serde_json::Value> = events.iter().map(|(k, x)| serde_json::json!({ k: x })).collect();
        for (eco, kind) in [("PyPI", "ECOSYSTEM"), ("npm", "SEMVER"), ("Debian:12", "ECOSYSTEM"), ("Alpine:v3.18", "ECOSYSTEM"), ("Nope", "ECOSYSTEM")] {
            let a: Result<Affected, _> = serde_json::from_value(serde_json::json!({
                "package": {"ecosystem": eco, "name": "x"},
                "ranges": [{"type": kind, "events": evs}],
                "versions": [v.clone()],
            }));
            if let Ok(a) = a {
                let parsed = rampart_vuln::ecosystem::scheme(eco).and_then(|s| Version::parse(s, &v).ok());
                let _ = a.evaluate(&v, parsed.as_ref());
            }
        }
        let _ = Version::parse(Scheme::Maven, &v);
    }
}
