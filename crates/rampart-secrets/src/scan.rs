//! From matches to findings: redaction, fingerprints, Kubernetes object locations,
//! inline suppressions; directory and buffer scanning.

use crate::engine::{Engine, RawMatch};
use crate::error::SecretsError;
use crate::k8s;
use crate::redact::redact;
use crate::rules::{CompiledRule, RuleSet};
use rampart_core::fingerprint::{fingerprint, secret_digest};
use rampart_core::report::StaleIgnore;
use rampart_core::suppress::inline;
use rampart_core::walk::{walk, WalkOptions};
use rampart_core::{CommitInfo, Finding, Location, Report, RuleMeta, ScanError, Span};
use std::collections::BTreeMap;
use std::path::Path;

/// Scanner options.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// Show secrets in full instead of `abcd…`.
    pub show_secrets: bool,
    /// Walker options for directory scans.
    pub walk: WalkOptions,
}

/// Everything a secret scan produced.
#[derive(Debug, Default)]
pub struct ScanOutput {
    /// Findings (inline suppressions already applied).
    pub findings: Vec<Finding>,
    /// Inline ignores that matched nothing.
    pub stale: Vec<StaleIgnore>,
    /// Problems met.
    pub errors: Vec<ScanError>,
    /// Files (or blobs) scanned.
    pub files_scanned: u64,
    /// Bytes scanned.
    pub bytes_scanned: u64,
    /// Commits scanned (history).
    pub commits_scanned: u64,
    /// Skipped by reason.
    pub skipped: BTreeMap<String, u64>,
}

impl ScanOutput {
    /// Move everything into `report`.
    pub fn merge_into(self, report: &mut Report) {
        report.findings.extend(self.findings);
        report.stale_ignores.extend(self.stale);
        report.errors.extend(self.errors);
        report.summary.files_scanned += self.files_scanned;
        report.summary.bytes_scanned += self.bytes_scanned;
        report.summary.commits_scanned += self.commits_scanned;
        for (k, v) in self.skipped {
            report.skip(&k, v);
        }
    }
}

/// The secret scanner: an engine plus output options.
#[derive(Debug)]
pub struct SecretScanner {
    engine: Engine,
    opts: ScanOptions,
}

impl SecretScanner {
    /// Build a scanner over a rule set.
    pub fn new(set: RuleSet, opts: ScanOptions) -> Result<SecretScanner, SecretsError> {
        let engine = Engine::new(set).map_err(|e| SecretsError::Rule {
            file: "<keywords>".into(),
            rule: "*".into(),
            message: e.to_string(),
        })?;
        Ok(SecretScanner { engine, opts })
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The options this scanner was built with.
    pub fn options(&self) -> &ScanOptions {
        &self.opts
    }

    /// Metadata of every rule this scanner can report, including the code-defined ones.
    pub fn metas(&self) -> Vec<RuleMeta> {
        let mut v: Vec<RuleMeta> = self.engine.rules().iter().map(|r| r.meta.clone()).collect();
        v.push(k8s::manifest_rule_meta());
        v
    }

    /// Scan a directory or file.
    pub fn scan_path(&self, root: &Path) -> Result<ScanOutput, SecretsError> {
        let out = walk(root, &self.opts.walk, |f| {
            self.scan_buffer(f.rel, f.content, true)
        })?;
        let mut res = ScanOutput {
            errors: out.errors,
            files_scanned: out.files_scanned,
            bytes_scanned: out.bytes_scanned,
            skipped: out.skipped,
            ..ScanOutput::default()
        };
        for (findings, stale) in out.results {
            res.findings.extend(findings);
            res.stale.extend(stale);
        }
        Ok(res)
    }

    /// Scan one buffer as file `rel`, applying inline suppressions (and reporting stale
    /// ones when `report_stale`).
    pub fn scan_buffer(
        &self,
        rel: &str,
        content: &[u8],
        report_stale: bool,
    ) -> (Vec<Finding>, Vec<StaleIgnore>) {
        let mut findings = self.findings_in(rel, content, None);
        let stale = inline::apply(content, rel, &mut findings);
        (findings, if report_stale { stale } else { Vec::new() })
    }

    /// Findings in `content` (no suppression), with `commit` attached to each location.
    pub fn findings_in(
        &self,
        rel: &str,
        content: &[u8],
        commit: Option<&CommitInfo>,
    ) -> Vec<Finding> {
        let matches = self
            .engine
            .scan(rel, content, commit.map(|c| c.commit.as_str()));
        let matches = drop_generic_duplicates(self.engine.rules(), matches);
        let mut findings: Vec<Finding> = matches
            .iter()
            .map(|m| self.finding(rel, content, m, commit))
            .collect();
        if k8s::looks_like_manifest(rel, content) {
            k8s::enrich(self, rel, content, commit, &mut findings);
        }
        findings
    }

    /// Build a finding for a match in `content`.
    pub(crate) fn finding(
        &self,
        rel: &str,
        content: &[u8],
        m: &RawMatch,
        commit: Option<&CommitInfo>,
    ) -> Finding {
        let rule = &self.engine.rules()[m.rule];
        let secret = String::from_utf8_lossy(&content[m.start..m.end]);
        let span = Span::from_offsets(content, m.start, m.end);
        let (fp, message, evidence) = if secret.is_empty() {
            (
                fingerprint(&[&rule.meta.id, rel]),
                format!("{}: file matches the rule's path pattern", rule.meta.title),
                None,
            )
        } else {
            let shown = self.show(&secret);
            (
                fingerprint(&[&rule.meta.id, rel, &secret_digest(secret.as_bytes())]),
                format!("{} found: {shown}", rule.meta.title),
                Some(shown),
            )
        };
        let mut f = Finding::new(
            &rule.meta,
            message,
            Location::File {
                path: rel.to_string(),
                span: Some(span),
                commit: commit.cloned(),
            },
            fp,
        );
        f.evidence = evidence;
        f.properties.insert(
            "entropy".into(),
            serde_json::json!((m.entropy * 100.0).round() / 100.0),
        );
        f
    }

    /// The secret as it may be shown: redacted unless `show_secrets`.
    pub fn show(&self, secret: &str) -> String {
        if self.opts.show_secrets {
            secret.to_string()
        } else {
            redact(secret)
        }
    }
}

/// When a generic rule and a specific rule report the same secret, keep the specific one.
fn drop_generic_duplicates(rules: &[CompiledRule], matches: Vec<RawMatch>) -> Vec<RawMatch> {
    let is_generic = |m: &RawMatch| rules[m.rule].meta.id.contains("generic");
    let specific: Vec<(usize, usize)> = matches
        .iter()
        .filter(|m| !is_generic(m))
        .map(|m| (m.start, m.end))
        .collect();
    matches
        .into_iter()
        .filter(|m| !is_generic(m) || !specific.iter().any(|&(s, e)| s < m.end && m.start < e))
        .collect()
}
