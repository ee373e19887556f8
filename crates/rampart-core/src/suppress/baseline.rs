//! Baselines: a previous `rampart.report/v1` JSON report. Findings whose fingerprint is in
//! it are suppressed, so only new findings count. Fingerprints ignore line numbers, so
//! the baseline survives edits that move code around.

use crate::finding::{Finding, Suppression, SuppressionKind};
use crate::report::REPORT_SCHEMA;
use crate::{Error, Result};
use std::collections::HashSet;
use std::path::Path;

/// The fingerprints of a previous report.
#[derive(Debug, Default)]
pub struct Baseline {
    fingerprints: HashSet<String>,
    source: String,
}

/// Largest baseline read (a 10,000-manifest JSON report is far below it).
const MAX_BASELINE_BYTES: u64 = 512 * 1024 * 1024;

/// The part of a report a baseline needs: the schema and each finding's fingerprint.
/// Everything else (locations of kinds a newer Rampart added, properties) is skipped
/// unread, so a baseline written by a newer version still loads.
#[derive(serde::Deserialize)]
struct Skim {
    schema: String,
    #[serde(default)]
    findings: Vec<SkimFinding>,
}

#[derive(serde::Deserialize)]
struct SkimFinding {
    fingerprint: String,
}

impl Baseline {
    /// Load a JSON report written by `--format json` (at most 512 MiB).
    pub fn load(path: &Path) -> Result<Baseline> {
        use std::io::Read as _;
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let mut text = String::new();
        file.take(MAX_BASELINE_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(|e| Error::io(path, e))?;
        if text.len() as u64 > MAX_BASELINE_BYTES {
            return Err(Error::Parse {
                path: path.to_path_buf(),
                line: None,
                column: None,
                message: format!("baseline is over {MAX_BASELINE_BYTES} bytes"),
            });
        }
        let report: Skim = serde_json::from_str(&text).map_err(|e| Error::json(path, &e))?;
        if report.schema != REPORT_SCHEMA {
            return Err(Error::Parse {
                path: path.to_path_buf(),
                line: None,
                column: None,
                message: format!(
                    "baseline schema is `{}`, expected `{REPORT_SCHEMA}`",
                    report.schema.chars().take(64).collect::<String>()
                ),
            });
        }
        Ok(Baseline {
            fingerprints: report.findings.into_iter().map(|f| f.fingerprint).collect(),
            source: path.display().to_string(),
        })
    }

    /// Number of fingerprints.
    pub fn len(&self) -> usize {
        self.fingerprints.len()
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.fingerprints.is_empty()
    }

    /// Suppress findings present in the baseline.
    pub fn apply(&self, findings: &mut [Finding]) -> usize {
        let mut n = 0;
        for f in findings.iter_mut() {
            if f.suppression.is_none() && self.fingerprints.contains(&f.fingerprint) {
                f.suppression = Some(Suppression {
                    kind: SuppressionKind::Baseline,
                    reason: Some("present in baseline".into()),
                    source: Some(self.source.clone()),
                });
                n += 1;
            }
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_fingerprints_only_and_checks_the_schema() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("b.json");
        // A finding with a location kind this version does not know still loads.
        std::fs::write(
            &p,
            format!(
                r#"{{"schema":"{REPORT_SCHEMA}","tool":{{"name":"rampart","version":"9"}},"findings":[{{"rule_id":"x/y","fingerprint":"abc","location":{{"type":"satellite","orbit":3}}}}]}}"#
            ),
        )
        .unwrap();
        let b = Baseline::load(&p).unwrap();
        assert_eq!(b.len(), 1);
        let mut f = vec![crate::finding::test_finding("x/y", "a", 1)];
        f[0].fingerprint = "abc".into();
        assert_eq!(b.apply(&mut f), 1);
        std::fs::write(&p, r#"{"schema":"other/v9","findings":[]}"#).unwrap();
        let err = Baseline::load(&p).unwrap_err().to_string();
        assert!(err.contains("other/v9"), "{err}");
        std::fs::write(&p, "not json").unwrap();
        assert!(Baseline::load(&p).is_err());
    }
}
