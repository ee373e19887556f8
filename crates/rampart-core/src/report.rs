//! The report: every finding of one run plus what was scanned and skipped.
//! Serialized as-is it is the `rampart.report/v1` JSON format (see docs/report-json.md).

use crate::finding::Finding;
use crate::rule::RuleMeta;
use crate::severity::{FailOn, Severity};
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
        self.findings.sort_by(|a, b| {
            // Borrowed keys: this runs n log n times (a large scan has 10^5 findings).
            fn key(f: &Finding) -> (Option<&str>, Option<(usize, usize)>) {
                let span = f.location.span();
                (
                    f.location.path(),
                    span.map(|s| (s.start_line, s.start_column)),
                )
            }
            key(a)
                .cmp(&key(b))
                .then_with(|| a.rule_id.cmp(&b.rule_id))
                .then_with(|| a.fingerprint.cmp(&b.fingerprint))
        });
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
        s.gate_failed = self
            .findings
            .iter()
            .any(|f| !f.is_suppressed() && fail_on.trips(f.severity));
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
