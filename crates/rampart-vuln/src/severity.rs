//! The severity of a vulnerability: CVSS (v4, else v3, else v2) computed from the
//! vector, else the database's own rating (GHSA `database_specific.severity`, distro
//! ratings such as Ubuntu's priority), else `medium` — and the source says which.

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
    /// Nothing usable in the record: medium by policy.
    Default,
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
}

impl VulnSeverity {
    /// A short human description: `CVSS 3 9.8`, `GHSA rating HIGH`,
    /// `unknown (no severity in the record; medium by default)`.
    pub fn describe(&self) -> String {
        match &self.source {
            SeveritySource::Cvss { version, .. } => {
                format!("CVSS v{version} {:.1}", self.score.unwrap_or_default())
            }
            SeveritySource::Rating { field, value } => format!("{field} {value}"),
            SeveritySource::Default => {
                "unknown (no severity in the record; medium by default)".to_string()
            }
        }
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
    })
}

/// Resolve the severity of `record`, preferring data of the `affected` entry.
pub fn resolve(record: &Record, affected: Option<&Affected>) -> VulnSeverity {
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
        .unwrap_or(VulnSeverity {
            severity: Severity::Medium,
            score: None,
            source: SeveritySource::Default,
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
            (Severity::Medium, SeveritySource::Default)
        );
        assert!(s.describe().contains("medium by default"));
    }
}
