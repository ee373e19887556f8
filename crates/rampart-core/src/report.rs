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

/// Rules outside the `secret/` area whose finding is about one literal secret value in a
/// manifest, so that the secret scanner's finding on that value is the same thing.
const SECRET_VALUE_RULES: &[&str] = &["k8s/secret-in-manifest", "k8s/env-secret-literal"];

/// Largest group of candidate findings compared pairwise (one file line, one evidence);
/// past it nothing in the group is merged, which keeps more findings, never fewer.
const MERGE_GROUP_MAX: usize = 64;

/// Longest span (lines) of an evidence-less finding that is matched against the values
/// it covers.
const MERGE_SPAN_MAX_LINES: usize = 10_000;

/// How specific a rule is about a secret value; lower is kept as the merged finding's
/// rule: a named secret (`secret/aws-access-key`) over the Secret-manifest rules, over
/// the generic `secret/generic-*` patterns. `None`: never merged.
fn merge_rank(rule: &str) -> Option<u8> {
    if rule.starts_with("secret/generic-") {
        Some(3)
    } else if rule == "secret/kubernetes-secret-manifest" {
        Some(1)
    } else if SECRET_VALUE_RULES.contains(&rule) {
        Some(2)
    } else if rule.starts_with("secret/") {
        Some(0)
    } else {
        None
    }
}

type MergePlace<'a> = (
    &'a str,
    Option<&'a str>,
    Option<(&'a str, &'a str, Option<&'a str>, &'a str)>,
);

/// Where a finding is, for merging: file, commit and Kubernetes object (all must agree).
fn merge_place(f: &Finding) -> Option<MergePlace<'_>> {
    use crate::location::Location;
    match &f.location {
        Location::File { path, commit, .. } => Some((
            path.as_str(),
            commit.as_ref().map(|c| c.commit.as_str()),
            None,
        )),
        Location::K8sObject {
            object,
            path: Some(path),
            ..
        } => Some((
            path.as_str(),
            None,
            Some((
                object.api_version.as_str(),
                object.kind.as_str(),
                object.namespace.as_deref(),
                object.name.as_str(),
            )),
        )),
        _ => None,
    }
}

fn field_path(f: &Finding) -> Option<&str> {
    match &f.location {
        crate::location::Location::K8sObject { field_path, .. } => field_path.as_deref(),
        _ => None,
    }
}

/// `outer` is `inner` or one of its parents (`stringData` of `stringData.password`).
fn field_contains(outer: &str, inner: &str) -> bool {
    inner
        .strip_prefix(outer)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.') || rest.starts_with('['))
}

/// Whether two findings with the same (redacted) evidence on the same line are about the
/// same value: both name the same field, or (neither names one) their columns overlap,
/// or one names the field and the other matched the raw text.
fn same_value(a: &Finding, b: &Finding) -> bool {
    let (Some(sa), Some(sb)) = (a.location.span(), b.location.span()) else {
        return false;
    };
    match (field_path(a), field_path(b)) {
        (Some(fa), Some(fb)) => fa == fb,
        (None, None) => {
            let single = |s: crate::Span| s.start_line == s.end_line;
            !(single(sa) && single(sb))
                || (sa.start_column < sb.end_column && sb.start_column < sa.end_column)
        }
        _ => true,
    }
}

/// Merge findings of different rules (and scanners) about the same secret value at the
/// same place into one: the most specific rule's finding is kept (see [`merge_rank`]),
/// with the highest severity of the group, the first suppression any member had (an
/// ignore by any of the ids applies to the merged finding) and every rule id in
/// `properties.merged_rule_ids`. Values are compared by their redacted evidence on the
/// same line, never by the secret; a finding without evidence (the k8s manifest rule)
/// joins the one group of values its span covers, and none when it covers several.
pub fn merge_same_value(findings: &mut Vec<Finding>) {
    use std::collections::HashMap;
    type Key<'a> = MergePlace<'a>;
    // Groups of values: (place, line, evidence) -> indices; then split by `same_value`.
    let mut by_value: HashMap<(Key<'_>, usize, &str), Vec<usize>> = HashMap::new();
    let mut bare: Vec<usize> = Vec::new();
    for (i, f) in findings.iter().enumerate() {
        let (Some(_), Some(place), Some(span)) =
            (merge_rank(&f.rule_id), merge_place(f), f.location.span())
        else {
            continue;
        };
        match f.evidence.as_deref() {
            Some(ev) if span.start_line == span.end_line => by_value
                .entry((place, span.start_line, ev))
                .or_default()
                .push(i),
            Some(_) => {}
            None => bare.push(i),
        }
    }
    // Clusters: every member is the same value as every other (no chaining).
    let mut clusters: Vec<Vec<usize>> = Vec::new();
    let mut by_line: HashMap<(Key<'_>, usize), Vec<usize>> = HashMap::new();
    let mut keys: Vec<_> = by_value.into_iter().collect();
    keys.sort_unstable_by_key(|(_, members)| members.first().copied());
    for ((place, line, _), members) in keys {
        let start = clusters.len();
        if members.len() <= MERGE_GROUP_MAX {
            for i in members {
                let fits = (start..clusters.len()).find(|&c| {
                    clusters[c]
                        .iter()
                        .all(|&j| same_value(&findings[i], &findings[j]))
                });
                match fits {
                    Some(c) => clusters[c].push(i),
                    None => clusters.push(vec![i]),
                }
            }
        } else {
            clusters.extend(members.into_iter().map(|i| vec![i]));
        }
        for c in start..clusters.len() {
            by_line.entry((place, line)).or_default().push(c);
        }
    }
    for i in bare {
        let (Some(place), Some(span)) = (merge_place(&findings[i]), findings[i].location.span())
        else {
            continue;
        };
        if span.end_line < span.start_line
            || span.end_line - span.start_line >= MERGE_SPAN_MAX_LINES
        {
            continue;
        }
        let mut candidates = (span.start_line..=span.end_line)
            .filter_map(|line| by_line.get(&(place, line)))
            .flatten()
            .copied()
            .filter(|&c| {
                clusters[c].iter().all(|&j| {
                    match (field_path(&findings[i]), field_path(&findings[j])) {
                        (Some(outer), Some(inner)) => field_contains(outer, inner),
                        _ => true,
                    }
                })
            });
        if let (Some(c), None) = (candidates.next(), candidates.next()) {
            clusters[c].push(i);
        }
    }
    // Build the merged findings; the others are dropped.
    let mut drop = vec![false; findings.len()];
    let mut merged: Vec<(usize, Finding)> = Vec::new();
    for mut members in clusters.into_iter().filter(|c| c.len() > 1) {
        members.sort_by_key(|&i| {
            (
                merge_rank(&findings[i].rule_id),
                findings[i].rule_id.clone(),
                i,
            )
        });
        let Some(&keep) = members.first() else {
            continue;
        };
        let mut f = findings[keep].clone();
        let mut ids: Vec<String> = Vec::new();
        for &i in &members {
            let m = &findings[i];
            if m.severity > f.severity {
                f.severity = m.severity;
            }
            if f.suppression.is_none() {
                f.suppression.clone_from(&m.suppression);
            }
            if !ids.contains(&m.rule_id) {
                ids.push(m.rule_id.clone());
            }
            drop[i] = true;
        }
        f.properties
            .insert("merged_rule_ids".to_string(), serde_json::Value::from(ids));
        merged.push((keep, f));
    }
    if merged.is_empty() {
        return;
    }
    let mut i = 0;
    findings.retain(|_| {
        i += 1;
        !drop[i - 1]
    });
    findings.extend(merged.into_iter().map(|(_, f)| f));
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
    fn at(rule: &str, line: usize, cols: (usize, usize), ev: Option<&str>) -> Finding {
        let mut f = test_finding(rule, "a.env", line);
        if let Location::File { span, .. } = &mut f.location {
            *span = Some(Span {
                start_line: line,
                start_column: cols.0,
                end_line: line,
                end_column: cols.1,
            });
        }
        f.evidence = ev.map(str::to_string);
        f
    }

    #[test]
    fn merge_keeps_the_specific_rule_the_highest_severity_and_any_suppression() {
        let mut low = at("secret/generic-api-key", 3, (1, 30), Some("AKIA…"));
        low.severity = Severity::Low;
        low.suppression = Some(crate::finding::Suppression {
            kind: crate::finding::SuppressionKind::IgnoreFile,
            reason: None,
            source: None,
        });
        let mut aws = at("secret/aws-access-key", 3, (10, 30), Some("AKIA…"));
        aws.severity = Severity::Medium;
        let mut crit = at("secret/generic-password", 3, (12, 29), Some("AKIA…"));
        crit.severity = Severity::Critical;
        let other_col = at("secret/generic-token", 3, (40, 50), Some("AKIA…"));
        let other_line = at("secret/generic-token", 4, (1, 30), Some("AKIA…"));
        let privileged = at("k8s/pss-privileged", 3, (1, 30), None);
        let mut fs = vec![low, aws, crit, other_col, other_line, privileged];
        merge_same_value(&mut fs);
        assert_eq!(fs.len(), 4, "{fs:#?}");
        let m = fs
            .iter()
            .find(|f| f.properties.contains_key("merged_rule_ids"))
            .unwrap();
        assert_eq!(m.rule_id, "secret/aws-access-key");
        assert_eq!(m.severity, Severity::Critical);
        assert!(m.is_suppressed());
        assert_eq!(
            m.properties["merged_rule_ids"],
            serde_json::json!([
                "secret/aws-access-key",
                "secret/generic-api-key",
                "secret/generic-password"
            ])
        );
        assert_eq!(
            fs.iter()
                .filter(|f| f.properties.contains_key("merged_rule_ids"))
                .count(),
            1
        );
    }

    #[test]
    fn merge_needs_the_same_evidence_and_commit() {
        let a = at("secret/aws-access-key", 3, (1, 30), Some("AKIA…"));
        let b = at("secret/generic-api-key", 3, (1, 30), Some("AKIB…"));
        let mut c = at("secret/generic-password", 3, (1, 30), Some("AKIA…"));
        if let Location::File { commit, .. } = &mut c.location {
            *commit = Some(crate::location::CommitInfo {
                commit: "abc".into(),
                author: String::new(),
                email: String::new(),
                date: String::new(),
                summary: String::new(),
            });
        }
        let mut fs = vec![a, b, c];
        merge_same_value(&mut fs);
        assert_eq!(fs.len(), 3, "{fs:#?}");
    }

    #[test]
    fn merge_is_bounded_on_a_line_full_of_the_same_evidence() {
        let mut fs: Vec<Finding> = (0..10_000)
            .map(|i| {
                at(
                    "secret/generic-api-key",
                    1,
                    (i * 3 + 1, i * 3 + 3),
                    Some("x…"),
                )
            })
            .collect();
        let t = std::time::Instant::now();
        merge_same_value(&mut fs);
        assert_eq!(fs.len(), 10_000);
        assert!(t.elapsed() < std::time::Duration::from_secs(5));
    }
}
