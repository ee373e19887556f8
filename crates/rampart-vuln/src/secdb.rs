//! Alpine secdb YAML (`v3.x/main.yaml`: `packages[].pkg.secfixes: {fixed: [CVE…]}`)
//! converted to OSV records `ALPINE-<CVE>` with one affected entry per
//! (release, package): introduced `0`, fixed at the listed version. A fixed version of
//! `0` means "never affected" and is skipped. Records of the same id from several files
//! are merged by the importer.

use crate::osv::{Affected, Event, PackageId, Range, RangeType, Record};
use serde_json::Value;
use std::collections::BTreeMap;

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Parse one secdb file into OSV records.
pub fn parse(text: &str) -> Result<Vec<Record>, String> {
    // Through the one YAML loader; every scalar as written (a fixed version `3.10` is
    // not the number 3.1).
    let opts = rampart_yaml::Options {
        scalars: rampart_yaml::Scalars::Text,
        ..rampart_yaml::Options::default()
    };
    let doc: Value = rampart_yaml::load_one(text, &opts)
        .map(|d| d.value)
        .map_err(|e| format!("not valid YAML: {e}"))?;
    let release = doc
        .get("distroversion")
        .and_then(scalar)
        .ok_or("Alpine secdb: no `distroversion`")?;
    let ecosystem = format!("Alpine:{}", release.trim());
    let packages = match doc.get("packages") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(v) => v
            .as_array()
            .ok_or("Alpine secdb: `packages` is not a list")?,
    };
    let mut by_id: BTreeMap<String, Record> = BTreeMap::new();
    for p in packages {
        let Some(pkg) = p.get("pkg") else { continue };
        let Some(name) = pkg.get("name").and_then(scalar) else {
            continue;
        };
        let Some(fixes) = pkg.get("secfixes").and_then(Value::as_object) else {
            continue;
        };
        for (fixed, ids) in fixes {
            let fixed = fixed.clone();
            if fixed.trim() == "0" {
                continue;
            }
            for id in ids.as_array().into_iter().flatten() {
                let Some(id) = scalar(id) else { continue };
                let Some(cve) = id.split_whitespace().next() else {
                    continue;
                };
                let rid = format!("ALPINE-{cve}");
                let rec = by_id.entry(rid.clone()).or_insert_with(|| Record {
                    schema_version: None,
                    id: rid,
                    modified: None,
                    published: None,
                    withdrawn: None,
                    aliases: Vec::new(),
                    related: Vec::new(),
                    upstream: vec![cve.to_string()],
                    summary: None,
                    details: None,
                    severity: Vec::new(),
                    affected: Vec::new(),
                    references: Vec::new(),
                    credits: Vec::new(),
                    database_specific: Some(serde_json::json!({"source": "alpine-secdb"})),
                });
                rec.affected.push(Affected {
                    package: Some(PackageId {
                        ecosystem: ecosystem.clone(),
                        name: name.clone(),
                        purl: Some(format!("pkg:apk/alpine/{name}")),
                    }),
                    severity: Vec::new(),
                    ranges: vec![Range {
                        kind: RangeType::Ecosystem,
                        repo: None,
                        events: vec![
                            Event {
                                introduced: Some("0".into()),
                                ..Event::default()
                            },
                            Event {
                                fixed: Some(fixed.trim().to_string()),
                                ..Event::default()
                            },
                        ],
                        database_specific: None,
                    }],
                    versions: Vec::new(),
                    ecosystem_specific: None,
                    database_specific: None,
                });
            }
        }
    }
    Ok(by_id.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts() {
        let y = "distroversion: v3.10\npackages:\n  - pkg:\n      name: curl\n      secfixes:\n        7.66.0-r0:\n          - CVE-2019-5481\n          - CVE-2019-5482 XSA-1\n        0:\n          - CVE-2000-1\n";
        let r = parse(y).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].id, "ALPINE-CVE-2019-5481");
        let a = &r[0].affected[0];
        assert_eq!(a.package.as_ref().unwrap().ecosystem, "Alpine:v3.10");
        assert_eq!(a.ranges[0].events[1].fixed.as_deref(), Some("7.66.0-r0"));
    }

    /// A version that reads as a number is kept as written (serde_yaml gave `3.1`).
    #[test]
    fn numeric_looking_versions_stay_as_written() {
        let y = "distroversion: v3.19\npackages:\n  - pkg:\n      name: py\n      secfixes:\n        3.10:\n          - CVE-2024-1\n";
        let r = parse(y).unwrap();
        let fixed = r[0].affected[0].ranges[0].events[1].fixed.clone();
        assert_eq!(fixed.as_deref(), Some("3.10"));
    }

    /// Deep nesting is an error quickly, with its line.
    #[test]
    fn deep_nesting_is_an_error() {
        let y = format!(
            "distroversion: v3.19\npackages: {}{}\n",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        let e = parse(&y).unwrap_err();
        assert!(e.contains("line 2") && e.contains("nesting"), "{e}");
    }
}
