//! The severity of a vulnerability: CVSS (v4, else v3, else v2) computed from the
//! vector, else the database's own rating (GHSA `database_specific.severity`, distro
//! ratings such as Ubuntu's priority), else — for an informational advisory (RustSec
//! `unsound`, `unmaintained`, `notice`) — `low`, else `unknown` (never a silent
//! `medium`: the gate decides with `fail_on_unknown`); the source says which. The matcher
//! looks at aliases and related records before it leaves a match `unknown`.

use crate::cvss;
use crate::osv::{Affected, Record, SeverityEntry};
use rampart_core::Severity;
use serde::{Deserialize, Serialize};

/// Where a severity came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SeveritySource {
    /// Computed from a CVSS vector.
    Cvss {
        /// 2, 3 or 4.
        version: u8,
        /// The vector.
        vector: String,
    },
    /// A rating word in the record (`database_specific.severity`, `Ubuntu` …).
    Rating {
        /// The field it came from.
        field: String,
        /// The word as given.
        value: String,
    },
    /// An informational advisory without a rating: low by default.
    Informational {
        /// `unsound`, `unmaintained`, `notice` …
        informational: String,
    },
    /// Nothing usable in the record. (`default` in databases built by older versions,
    /// which stored `medium` with it: read back as unknown.)
    #[serde(alias = "default")]
    Unknown,
}

/// A vulnerability's severity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VulnSeverity {
    /// The level.
    pub severity: Severity,
    /// The CVSS base score, when computed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// Where it came from.
    pub source: SeveritySource,
    /// The informational kind (`unsound`, `unmaintained`, `notice`) of an advisory that
    /// is not a vulnerability; `None` for vulnerabilities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub informational: Option<String>,
    /// The other record (alias or related) the severity was taken from, when the
    /// record itself has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
}

impl VulnSeverity {
    /// A short human description: `CVSS v3 9.8`, `database_specific.severity HIGH`,
    /// `CVSS v3 7.5 (from RHSA-2024:4546)`, `informational (unmaintained): low by default`,
    /// `unknown (no severity in the record, its aliases or related records)`.
    pub fn describe(&self) -> String {
        let mut s = match &self.source {
            SeveritySource::Cvss { version, .. } => {
                format!("CVSS v{version} {:.1}", self.score.unwrap_or_default())
            }
            SeveritySource::Rating { field, value } => format!("{field} {value}"),
            SeveritySource::Informational { informational } => {
                format!("informational ({informational}): low by default")
            }
            SeveritySource::Unknown => {
                "unknown (no severity in the record, its aliases or related records)".to_string()
            }
        };
        if let Some(v) = &self.via {
            s.push_str(&format!(" (from {v})"));
        }
        s
    }

    /// Whether nothing is known (also for rows stored by older versions as
    /// `medium`/`default`).
    pub fn is_unknown(&self) -> bool {
        self.source == SeveritySource::Unknown
    }

    /// The value as read back from a database row: an older `default` source (stored
    /// with `medium`) becomes `unknown`.
    pub fn normalized(mut self) -> VulnSeverity {
        if self.is_unknown() {
            self.severity = Severity::Unknown;
        }
        self
    }
}

fn from_cvss(entries: &[SeverityEntry]) -> Option<VulnSeverity> {
    let mut best: Option<(u8, VulnSeverity)> = None;
    for e in entries {
        let Ok(s) = cvss::score(&e.score) else {
            continue;
        };
        if best.as_ref().is_none_or(|(v, _)| s.version > *v) {
            best = Some((
                s.version,
                VulnSeverity {
                    severity: s.severity(),
                    score: Some(s.score),
                    source: SeveritySource::Cvss {
                        version: s.version,
                        vector: e.score.clone(),
                    },
                    informational: None,
                    via: None,
                },
            ));
        }
    }
    best.map(|(_, s)| s)
}

fn word(w: &str) -> Option<Severity> {
    match w.trim().to_ascii_lowercase().as_str() {
        "negligible" | "unimportant" => Some(Severity::Low),
        "important" => Some(Severity::High),
        "urgent" => Some(Severity::Critical),
        "none" => Some(Severity::Info),
        other => other.parse().ok(),
    }
}

fn from_ratings(entries: &[SeverityEntry]) -> Option<VulnSeverity> {
    entries.iter().find_map(|e| {
        word(&e.score).map(|s| VulnSeverity {
            severity: s,
            score: None,
            source: SeveritySource::Rating {
                field: format!("severity[{}]", e.kind),
                value: e.score.clone(),
            },
            informational: None,
            via: None,
        })
    })
}

fn from_specific(v: Option<&serde_json::Value>, field: &str) -> Option<VulnSeverity> {
    let w = v?.get("severity")?.as_str()?;
    word(w).map(|s| VulnSeverity {
        severity: s,
        score: None,
        source: SeveritySource::Rating {
            field: format!("{field}.severity"),
            value: w.to_string(),
        },
        informational: None,
        via: None,
    })
}

/// The informational kind in a `database_specific` object (RustSec: `informational`),
/// lower-case; `None` when absent, null or empty.
fn informational_of(v: Option<&serde_json::Value>) -> Option<String> {
    let w = v?.get("informational")?.as_str()?.trim();
    (!w.is_empty()).then(|| w.to_ascii_lowercase())
}

/// The informational kind of `record` (preferring the `affected` entry's data).
pub fn informational(record: &Record, affected: Option<&Affected>) -> Option<String> {
    affected
        .and_then(|a| informational_of(a.database_specific.as_ref()))
        .or_else(|| informational_of(record.database_specific.as_ref()))
}

/// Resolve the severity of `record`, preferring data of the `affected` entry.
pub fn resolve(record: &Record, affected: Option<&Affected>) -> VulnSeverity {
    let kind = informational(record, affected);
    let mut s = rated(record, affected).unwrap_or_else(|| match &kind {
        Some(k) => VulnSeverity {
            severity: Severity::Low,
            score: None,
            source: SeveritySource::Informational {
                informational: k.clone(),
            },
            informational: None,
            via: None,
        },
        None => VulnSeverity {
            severity: Severity::Unknown,
            score: None,
            source: SeveritySource::Unknown,
            informational: None,
            via: None,
        },
    });
    s.informational = kind;
    s
}

/// A severity from the record's own data (CVSS, else a rating word), if any.
fn rated(record: &Record, affected: Option<&Affected>) -> Option<VulnSeverity> {
    let aff_sev = affected.map_or(&[][..], |a| a.severity.as_slice());
    from_cvss(aff_sev)
        .or_else(|| from_cvss(&record.severity))
        .or_else(|| from_ratings(aff_sev))
        .or_else(|| from_ratings(&record.severity))
        .or_else(|| from_specific(record.database_specific.as_ref(), "database_specific"))
        .or_else(|| {
            affected.and_then(|a| {
                from_specific(a.database_specific.as_ref(), "affected.database_specific").or_else(
                    || from_specific(a.ecosystem_specific.as_ref(), "affected.ecosystem_specific"),
                )
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_of_sources() {
        let r: Record = serde_json::from_value(serde_json::json!({
            "id": "GHSA-x",
            "severity": [
                {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"},
                {"type": "CVSS_V4", "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:H/SC:N/SI:N/SA:N"}
            ],
            "database_specific": {"severity": "LOW"}
        }))
        .unwrap();
        let s = resolve(&r, None);
        assert_eq!(s.severity, Severity::High);
        assert_eq!(s.score, Some(8.7));
        let r: Record = serde_json::from_value(serde_json::json!({
            "id": "GHSA-y", "database_specific": {"severity": "MODERATE"}
        }))
        .unwrap();
        assert_eq!(resolve(&r, None).severity, Severity::Medium);
        assert!(matches!(
            resolve(&r, None).source,
            SeveritySource::Rating { .. }
        ));
        let r: Record = serde_json::from_value(serde_json::json!({"id": "GO-1"})).unwrap();
        let s = resolve(&r, None);
        assert_eq!(
            (s.severity, s.source.clone()),
            (Severity::Unknown, SeveritySource::Unknown)
        );
        assert!(s.describe().starts_with("unknown"), "{}", s.describe());
    }

    #[test]
    fn legacy_default_rows_read_back_as_unknown() {
        let old = r#"{"severity":"medium","source":{"kind":"default"}}"#;
        let s: VulnSeverity = serde_json::from_str(old).unwrap();
        assert_eq!(s.normalized().severity, Severity::Unknown);
    }

    #[test]
    fn informational_is_low_and_keeps_its_kind() {
        let r: Record = serde_json::from_value(serde_json::json!({
            "id": "RUSTSEC-2016-0004",
            "affected": [{"package": {"ecosystem": "crates.io", "name": "libusb"},
                          "database_specific": {"informational": "unmaintained", "cvss": null}}]
        }))
        .unwrap();
        let s = resolve(&r, r.affected.first());
        assert_eq!(s.severity, Severity::Low);
        assert_eq!(s.informational.as_deref(), Some("unmaintained"));
        assert!(matches!(s.source, SeveritySource::Informational { .. }));
    }
}
