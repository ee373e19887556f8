//! Baselines: a previous `rampart.report/v1` JSON report. Findings whose fingerprint is in
//! it are suppressed, so only new findings count. Fingerprints ignore line numbers, so
//! the baseline survives edits that move code around.

use crate::finding::{Finding, Suppression, SuppressionKind};
use crate::report::{Report, REPORT_SCHEMA};
use crate::{Error, Result};
use std::collections::HashSet;
use std::path::Path;

/// The fingerprints of a previous report.
#[derive(Debug, Default)]
pub struct Baseline {
    fingerprints: HashSet<String>,
    source: String,
}

impl Baseline {
    /// Load a JSON report written by `--format json`.
    pub fn load(path: &Path) -> Result<Baseline> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let report: Report = serde_json::from_str(&text).map_err(|e| Error::json(path, &e))?;
        if report.schema != REPORT_SCHEMA {
            return Err(Error::Parse {
                path: path.to_path_buf(),
                line: None,
                column: None,
                message: format!(
                    "baseline schema is `{}`, expected `{REPORT_SCHEMA}`",
                    report.schema
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
