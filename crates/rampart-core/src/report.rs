//! The report: every finding of one run plus what was scanned and skipped.
//! Serialized as-is it is the `rampart.report/v1` JSON format (see docs/report-json.md).

use crate::finding::Finding;
use crate::rule::RuleMeta;
use crate::severity::{FailOn, FailOnUnknown, Severity};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The JSON schema identifier written in every report.
pub const REPORT_SCHEMA: &str = "rampart.report/v1";

/// One run's result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// Always [`REPORT_SCHEMA`].
    pub schema: String,
    /// Tool name and version.
    pub tool: ToolInfo,
    /// What was scanned (path, `-`, `git-history:PATH` …).
    pub target: String,
    /// Which scanners ran.
    pub scanners: Vec<String>,
    /// RFC 3339 start time.
    pub started_at: String,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
    /// Metadata of every rule that produced a finding.
    pub rules: Vec<RuleMeta>,
    /// Findings, sorted by path, line, rule.
    pub findings: Vec<Finding>,
    /// Suppressions that matched nothing.
    #[serde(default)]
    pub stale_ignores: Vec<StaleIgnore>,
    /// Counts.
    pub summary: Summary,
    /// Problems met on the way (unreadable file, bad YAML …); the scan went on.
    #[serde(default)]
    pub errors: Vec<ScanError>,
}

/// Tool name and version.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ToolInfo {
    /// `rampart`.
    pub name: String,
    /// Crate version.
    pub version: String,
}

/// Counts for the summary line.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Summary {
    /// Files (or blobs, or commits' patches) whose content was scanned.
    pub files_scanned: u64,
    /// Bytes scanned.
    pub bytes_scanned: u64,
    /// Files skipped, by reason (`binary`, `too_large`, `symlink`, `unreadable` …).
    pub skipped: BTreeMap<String, u64>,
    /// Commits scanned (history mode).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub commits_scanned: u64,
    /// Unsuppressed findings by severity.
    pub by_severity: BTreeMap<Severity, u64>,
    /// Suppressed findings by mechanism.
    pub suppressed: BTreeMap<String, u64>,
    /// Whether the gate failed.
    pub gate_failed: bool,
    /// The gate used.
    pub fail_on: FailOn,
    /// How the gate counted findings of unknown severity (absent: the default, high).
    #[serde(default, skip_serializing_if = "FailOnUnknown::is_default")]
    pub fail_on_unknown: FailOnUnknown,
    /// With `--allow-errors`: the run's `errors` were accepted as warnings, so the exit
    /// code follows the gate alone. Without it a run with errors exits 2.
    #[serde(default, skip_serializing_if = "is_false")]
    pub errors_allowed: bool,
    /// The configuration file read, where it came from, and what it changed or was
    /// refused (absent when no configuration file was read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<ConfigSummary>,
    /// The display filter (`--min-severity`), when one was set: the findings below it
    /// were left out of the table, Markdown, SARIF and JUnit reports (never out of the
    /// gate, the counts above or the JSON report), and how many.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_filter: Option<DisplayFilter>,
}

/// What `--min-severity` left out of the human and CI reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisplayFilter {
    /// The lowest severity shown.
    pub min_severity: Severity,
    /// Unsuppressed findings not shown, by severity (absent severities: none hidden).
    pub hidden: BTreeMap<Severity, u64>,
}

impl DisplayFilter {
    /// Whether a finding of `severity` is left out. `unknown` is always shown: nobody
    /// knows it is below the threshold.
    pub fn hides(&self, severity: Severity) -> bool {
        severity != Severity::Unknown && severity < self.min_severity
    }

    /// How many findings were left out.
    pub fn hidden_total(&self) -> u64 {
        self.hidden.values().sum()
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Which configuration file a run read and what it did: a `rampart.yaml` found in the
/// scanned tree is repository content, so it may only set repository policy; the keys
/// it was refused are listed so that a reviewer sees the attempt.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigSummary {
    /// The file.
    pub path: String,
    /// `repository` (found in the scanned root: policy keys only) or `runner`
    /// (`--config FILE` or `RAMPART_CONFIG`: every key).
    pub source: String,
    /// Settings taken from the file (`key: value`, one per setting).
    #[serde(default)]
    pub applied: Vec<String>,
    /// Settings of a repository file that were not applied, and why.
    #[serde(default)]
    pub refused: Vec<RefusedSetting>,
    /// The file's `exclude` globs and how many files each hid from every scanner.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excludes: Vec<ExcludeEffect>,
}

/// A configuration setting that was not applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedSetting {
    /// The key (`output`, `secrets.rules`, `baseline` …).
    pub key: String,
    /// Why it was refused.
    pub reason: String,
}

/// One `exclude` glob of a configuration file and its effect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExcludeEffect {
    /// The glob.
    pub pattern: String,
    /// Files under the root it matched (and so were not scanned when it applied).
    pub files: u64,
    /// Whether it applied (a repository's excludes that together would hide every file
    /// are refused).
    pub applied: bool,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A suppression that matched nothing in a full scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaleIgnore {
    /// `inline`, `ignore_file` or `baseline`.
    pub kind: String,
    /// Where it is declared (`path:line`).
    pub source: String,
    /// The rule pattern it names.
    pub rule: String,
    /// Why it is stale (matched nothing / expired on …).
    pub message: String,
}

/// A problem met during the scan; the rest of the scan went on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanError {
    /// The file or target concerned.
    pub path: String,
    /// 1-based line, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// What went wrong.
    pub message: String,
}

impl std::fmt::Display for ScanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{}: {}", self.path, l, self.message),
            None => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

impl Report {
    /// A new, empty report for `target`.
    pub fn new(target: impl Into<String>, scanners: Vec<String>) -> Report {
        Report {
            schema: REPORT_SCHEMA.to_string(),
            tool: ToolInfo {
                name: "rampart".to_string(),
                version: env!("CARGO_PKG_VERSION").to_string(),
            },
            target: target.into(),
            scanners,
            started_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            duration_ms: 0,
            rules: Vec::new(),
            findings: Vec::new(),
            stale_ignores: Vec::new(),
            summary: Summary::default(),
            errors: Vec::new(),
        }
    }

    /// Sort findings, fill `rules` from the registry lookup, compute the summary and gate.
    pub fn finalize(&mut self, lookup: impl Fn(&str) -> Option<RuleMeta>, fail_on: FailOn) {
        sort_findings(&mut self.findings);
        let mut ids: Vec<&str> = self.findings.iter().map(|f| f.rule_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        self.rules = ids.into_iter().filter_map(&lookup).collect();
        let s = &mut self.summary;
        s.by_severity.clear();
        s.suppressed.clear();
        for f in &self.findings {
            match &f.suppression {
                Some(sup) => {
                    *s.suppressed
                        .entry(sup.kind.as_str().to_string())
                        .or_default() += 1
                }
                None => *s.by_severity.entry(f.severity).or_default() += 1,
            }
        }
        s.fail_on = fail_on;
        let unknown = s.fail_on_unknown;
        s.gate_failed = self
            .findings
            .iter()
            .any(|f| !f.is_suppressed() && fail_on.trips_with(f.severity, unknown));
    }

    /// Unsuppressed findings.
    pub fn active(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| !f.is_suppressed())
    }

    /// Count a skipped file under `reason`.
    pub fn skip(&mut self, reason: &str, n: u64) {
        *self.summary.skipped.entry(reason.to_string()).or_default() += n;
    }
}

/// Sort findings by (path, line, column, rule, fingerprint), paths first ranked once so
/// that the n log n comparisons are on integers (a large scan has 10^5 findings, almost
/// all sharing long path prefixes with their neighbours).
fn sort_findings(findings: &mut Vec<Finding>) {
    let mut paths: Vec<&str> = findings.iter().filter_map(|f| f.location.path()).collect();
    paths.sort_unstable();
    paths.dedup();
    // Rank 0 is "no path" (sorts first, as `None` did).
    let rank = |p: Option<&str>| p.map_or(0, |p| paths.binary_search(&p).map_or(0, |i| i + 1));
    let keys: Vec<(usize, usize, usize, &str, &str)> = findings
        .iter()
        .map(|f| {
            let (line, col) = f
                .location
                .span()
                .map_or((0, 0), |s| (s.start_line + 1, s.start_column));
            (
                rank(f.location.path()),
                line,
                col,
                f.rule_id.as_str(),
                f.fingerprint.as_str(),
            )
        })
        .collect();
    let mut order: Vec<usize> = (0..findings.len()).collect();
    order.sort_by(|&a, &b| keys[a].cmp(&keys[b]));
    drop(keys);
    let mut slots: Vec<Option<Finding>> = std::mem::take(findings).into_iter().map(Some).collect();
    findings.extend(order.into_iter().filter_map(|i| slots[i].take()));
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::finding::test_finding;
    use crate::location::{Location, Span};

    #[test]
    fn findings_sort_by_path_line_column_rule_fingerprint() {
        let mut fs = Vec::new();
        for (i, path) in ["b/x.yaml", "a/y.yaml", "a/x.yaml"].iter().enumerate() {
            for line in [9, 2, 2, 10] {
                for rule in ["secret/z", "secret/a"] {
                    let mut f = test_finding(rule, path, line);
                    f.fingerprint = format!("{}{i}", 9 - line % 7);
                    fs.push(f);
                }
            }
        }
        let mut no_path = test_finding("secret/q", "ignored", 1);
        no_path.location = Location::Url {
            url: "http://x".into(),
            method: "GET".into(),
            parameter: None,
        };
        fs.push(no_path);
        let mut no_span = test_finding("secret/q", "a/x.yaml", 1);
        if let Location::File { span, .. } = &mut no_span.location {
            *span = None;
        }
        fs.push(no_span);
        let mut col = test_finding("secret/a", "a/x.yaml", 2);
        if let Location::File { span, .. } = &mut col.location {
            *span = Some(Span {
                start_line: 2,
                start_column: 7,
                end_line: 2,
                end_column: 8,
            });
        }
        fs.push(col);
        let mut expected = fs.clone();
        expected.sort_by(|a, b| {
            let key = |f: &Finding| {
                (
                    f.location.path().map(str::to_string),
                    f.location.span().map(|s| (s.start_line, s.start_column)),
                    f.rule_id.clone(),
                    f.fingerprint.clone(),
                )
            };
            key(a).cmp(&key(b))
        });
        sort_findings(&mut fs);
        assert_eq!(fs, expected);
        assert!(fs[0].location.path().is_none());
        assert_eq!(fs[1].location.span(), None);
    }
}
