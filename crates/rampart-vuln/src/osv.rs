//! The OSV schema (1.6) record model and range evaluation.
//!
//! Unknown fields are accepted (the schema evolves); `null` is accepted wherever the
//! schema allows it. Ranges of type `SEMVER` and `ECOSYSTEM` are evaluated with the
//! ecosystem's [`Scheme`]; `GIT` ranges name commits, which cannot be compared with a
//! package version, so they are skipped (the explicit `versions` list usually carries
//! the tags they resolve to).

use crate::ecosystem;
use crate::version::{Scheme, Version};
use serde::{Deserialize, Deserializer, Serialize};
use std::cmp::Ordering;

fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// One OSV record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Schema version the record declares.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_version: Option<String>,
    /// `GHSA-…`, `PYSEC-…`, `RUSTSEC-…`, `GO-…`, `CVE-…` …
    pub id: String,
    /// RFC 3339 time of the last change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
    /// RFC 3339 publication time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    /// Set when the record was withdrawn (it must then be ignored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<String>,
    /// Other ids for the same vulnerability.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub aliases: Vec<String>,
    /// Related but different vulnerabilities.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub related: Vec<String>,
    /// Upstream vulnerabilities this one derives from.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub upstream: Vec<String>,
    /// One-line summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Details (Markdown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    /// Severity vectors for the whole record.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub severity: Vec<SeverityEntry>,
    /// Affected packages.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub affected: Vec<Affected>,
    /// Links.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub references: Vec<Reference>,
    /// Credits (kept as JSON).
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub credits: Vec<serde_json::Value>,
    /// Database-specific data (GHSA puts `severity` here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<serde_json::Value>,
}

/// A severity vector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeverityEntry {
    /// `CVSS_V2`, `CVSS_V3`, `CVSS_V4`, `Ubuntu`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The vector (or rating word for `Ubuntu`).
    pub score: String,
}

/// A link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reference {
    /// `ADVISORY`, `FIX`, `WEB`, …
    #[serde(rename = "type", default)]
    pub kind: String,
    /// The URL.
    pub url: String,
}

/// An affected package.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Affected {
    /// The package (absent for some GIT-only records).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<PackageId>,
    /// Per-package severity.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub severity: Vec<SeverityEntry>,
    /// Version ranges.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub ranges: Vec<Range>,
    /// Explicitly listed affected versions.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub versions: Vec<String>,
    /// Ecosystem-specific data (Go `imports`, RustSec `affects`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecosystem_specific: Option<serde_json::Value>,
    /// Database-specific data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<serde_json::Value>,
}

/// A package identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageId {
    /// OSV ecosystem, possibly with a release suffix (`Debian:11`).
    pub ecosystem: String,
    /// Name as the ecosystem spells it.
    pub name: String,
    /// Package URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
}

/// A range type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RangeType {
    /// SemVer 2.0 versions whatever the ecosystem.
    #[serde(rename = "SEMVER")]
    Semver,
    /// The ecosystem's own versions.
    #[serde(rename = "ECOSYSTEM")]
    Ecosystem,
    /// Git commits (not evaluated).
    #[serde(rename = "GIT")]
    Git,
    /// A type this version of Rampart does not know.
    #[serde(untagged)]
    Other(String),
}

/// A version range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Range {
    /// How to read the versions.
    #[serde(rename = "type")]
    pub kind: RangeType,
    /// Repository (GIT ranges).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// Events in any order.
    #[serde(default, deserialize_with = "null_default")]
    pub events: Vec<Event>,
    /// Database-specific data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<serde_json::Value>,
}

/// One event; exactly one field is set in a valid record.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Event {
    /// Versions from here on are affected (`0`: from the beginning).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introduced: Option<String>,
    /// Versions from here on are fixed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed: Option<String>,
    /// The last affected version (later ones are not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_affected: Option<String>,
    /// An upper bound: versions from here on are out of this range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EventKind {
    Introduced,
    Fixed,
    LastAffected,
}

/// Why a range could not be (fully) evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RangeNote {
    /// A `GIT` range (commits cannot be compared with versions).
    GitSkipped,
    /// A range of a type Rampart does not know.
    UnknownType(String),
    /// The ecosystem's version scheme is unknown; only `versions` lists are used.
    UnknownScheme(String),
    /// An event version did not parse; that event was ignored.
    BadEventVersion(String),
}

/// The outcome of evaluating one affected entry for one version.
#[derive(Debug, Clone, Default)]
pub struct Evaluation {
    /// Whether the version is affected.
    pub affected: bool,
    /// Versions that fix the affecting range(s) (the first `fixed` above the version).
    pub fixed: Vec<String>,
    /// What could not be evaluated.
    pub notes: Vec<RangeNote>,
}

impl Record {
    /// Whether the record is withdrawn.
    pub fn is_withdrawn(&self) -> bool {
        self.withdrawn.is_some()
    }
}

impl Affected {
    /// Evaluate whether `version` (already parsed with the ecosystem's scheme when
    /// possible) is affected. `raw` is the version string as the package gives it.
    pub fn evaluate(&self, raw: &str, parsed: Option<&Version>) -> Evaluation {
        let mut ev = Evaluation::default();
        let eco = self.package.as_ref().map_or("", |p| p.ecosystem.as_str());
        if self.versions.iter().any(|v| v == raw) {
            ev.affected = true;
        }
        let mut evaluable = false;
        for r in &self.ranges {
            let scheme = match &r.kind {
                RangeType::Git => {
                    ev.notes.push(RangeNote::GitSkipped);
                    continue;
                }
                RangeType::Other(t) => {
                    ev.notes.push(RangeNote::UnknownType(t.clone()));
                    continue;
                }
                RangeType::Semver => Scheme::SemVer,
                RangeType::Ecosystem => match ecosystem::scheme(eco) {
                    Some(s) => s,
                    None => {
                        ev.notes.push(RangeNote::UnknownScheme(eco.to_string()));
                        continue;
                    }
                },
            };
            let own;
            let v = match parsed {
                Some(p) if p.scheme() == scheme => p,
                _ => match Version::parse(scheme, raw) {
                    Ok(x) => {
                        own = x;
                        &own
                    }
                    Err(_) => continue,
                },
            };
            evaluable = true;
            if let Some(fix) = evaluate_range(r, scheme, v, &mut ev.notes) {
                ev.affected = true;
                if let Some(f) = fix {
                    if !ev.fixed.contains(&f) {
                        ev.fixed.push(f);
                    }
                }
            }
        }
        // The `versions` list is compared as text above; when no range could be
        // evaluated, also compare it by version equality (`1.0` = `1.0.0` in PEP 440).
        if !ev.affected && !evaluable {
            if let Some(p) = parsed {
                ev.affected = self
                    .versions
                    .iter()
                    .any(|v| Version::parse(p.scheme(), v).is_ok_and(|x| &x == p));
            }
        }
        ev
    }
}

/// Evaluate one range; `Some(fixed)` when `v` is inside it (`fixed` = the event that
/// ends the affecting interval, if it is a `fixed` event).
fn evaluate_range(
    r: &Range,
    scheme: Scheme,
    v: &Version,
    notes: &mut Vec<RangeNote>,
) -> Option<Option<String>> {
    // Parse events; `introduced: 0` is the bottom.
    let mut events: Vec<(Option<Version>, EventKind, &str)> = Vec::with_capacity(r.events.len());
    let mut limits = Vec::new();
    for e in &r.events {
        let (kind, s) = if let Some(s) = &e.introduced {
            (EventKind::Introduced, s)
        } else if let Some(s) = &e.fixed {
            (EventKind::Fixed, s)
        } else if let Some(s) = &e.last_affected {
            (EventKind::LastAffected, s)
        } else if let Some(s) = &e.limit {
            match Version::parse(scheme, s) {
                Ok(l) => limits.push(l),
                Err(_) if s == "*" => {}
                Err(_) => notes.push(RangeNote::BadEventVersion(s.clone())),
            }
            continue;
        } else {
            continue;
        };
        if kind == EventKind::Introduced && s == "0" {
            events.push((None, kind, s));
            continue;
        }
        match Version::parse(scheme, s) {
            Ok(p) => events.push((Some(p), kind, s)),
            Err(_) => notes.push(RangeNote::BadEventVersion(s.clone())),
        }
    }
    if !limits.is_empty() && limits.iter().all(|l| v >= l) {
        return None;
    }
    // Stable sort: events with equal versions keep the record's order (a record that
    // lists `fixed: X` then `introduced: X` means X is affected again; `introduced: X`
    // then `fixed: X` is an empty interval).
    events.sort_by(|a, b| match (&a.0, &b.0) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(x), Some(y)) => x.cmp(y),
    });
    let mut affected = false;
    let mut next_fix: Option<String> = None;
    for (ver, kind, s) in &events {
        match kind {
            EventKind::Introduced => {
                if ver.as_ref().is_none_or(|x| v >= x) {
                    affected = true;
                }
            }
            EventKind::Fixed => {
                if ver.as_ref().is_some_and(|x| v >= x) {
                    affected = false;
                } else if affected && next_fix.is_none() {
                    next_fix = Some((*s).to_string());
                }
            }
            EventKind::LastAffected => {
                if ver.as_ref().is_some_and(|x| v > x) {
                    affected = false;
                }
            }
        }
        if !affected {
            next_fix = None;
        }
    }
    affected.then_some(next_fix)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn affected(eco: &str, events: serde_json::Value, versions: &[&str]) -> Affected {
        serde_json::from_value(serde_json::json!({
            "package": {"ecosystem": eco, "name": "x"},
            "ranges": [{"type": "ECOSYSTEM", "events": events}],
            "versions": versions,
        }))
        .unwrap()
    }

    fn hit(a: &Affected, v: &str) -> bool {
        let p = Version::parse(
            ecosystem::scheme(&a.package.as_ref().unwrap().ecosystem).unwrap(),
            v,
        )
        .ok();
        a.evaluate(v, p.as_ref()).affected
    }

    #[test]
    fn introduced_fixed() {
        let a = affected(
            "PyPI",
            serde_json::json!([{"introduced": "1.0"}, {"fixed": "1.5"}]),
            &[],
        );
        assert!(!hit(&a, "0.9"));
        assert!(hit(&a, "1.0"));
        assert!(hit(&a, "1.4.9"));
        assert!(hit(&a, "1.5rc1"));
        assert!(!hit(&a, "1.5"));
        let p = Version::parse(Scheme::Pep440, "1.2").ok();
        assert_eq!(a.evaluate("1.2", p.as_ref()).fixed, vec!["1.5".to_string()]);
    }

    #[test]
    fn last_affected_limit_and_multiple() {
        let a = affected(
            "npm",
            serde_json::json!([{"introduced": "0"}, {"last_affected": "1.2.0"}]),
            &[],
        );
        assert!(hit(&a, "1.2.0"));
        assert!(!hit(&a, "1.2.1"));
        let a = affected(
            "Go",
            serde_json::json!([{"introduced": "0"}, {"fixed": "1.0.0"}, {"introduced": "2.0.0"}, {"fixed": "2.1.0"}]),
            &[],
        );
        assert!(hit(&a, "0.5.0"));
        assert!(!hit(&a, "1.5.0"));
        assert!(hit(&a, "2.0.5"));
        assert!(!hit(&a, "2.1.0"));
        let a = affected(
            "npm",
            serde_json::json!([{"introduced": "0"}, {"limit": "3.0.0"}]),
            &[],
        );
        assert!(hit(&a, "2.9.0"));
        assert!(!hit(&a, "3.0.0"));
    }

    #[test]
    fn explicit_versions_and_git() {
        let a: Affected = serde_json::from_value(serde_json::json!({
            "package": {"ecosystem": "PyPI", "name": "x"},
            "ranges": [{"type": "GIT", "repo": "r", "events": [{"introduced": "0"}]}],
            "versions": ["1.0", "1.1"],
        }))
        .unwrap();
        let p = Version::parse(Scheme::Pep440, "1.1.0").ok();
        let e = a.evaluate("1.1.0", p.as_ref());
        assert!(e.affected);
        assert_eq!(e.notes, vec![RangeNote::GitSkipped]);
        assert!(!hit(&a, "1.2"));
    }

    #[test]
    fn nulls_accepted() {
        let r: Record =
            serde_json::from_str(r#"{"id":"X-1","aliases":null,"affected":null}"#).unwrap();
        assert!(r.affected.is_empty());
    }
}
