//! From matches to findings: redaction, fingerprints, Kubernetes object locations,
//! inline suppressions; directory and buffer scanning.

use crate::engine::{Engine, RawMatch};
use crate::error::SecretsError;
use crate::k8s;
use crate::redact::redact;
use crate::rules::{CompiledRule, RuleSet};
use rampart_core::fingerprint::{fingerprint, secret_digest};
use rampart_core::location::LineIndex;
use rampart_core::report::StaleIgnore;
use rampart_core::suppress::inline;
use rampart_core::walk::{Tree, WalkOptions};
use rampart_core::{CommitInfo, Finding, Location, Report, RuleMeta, ScanError};
use std::collections::{BTreeMap, HashMap};
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
    /// Untracked paths git ignores, skipped (directory scans inside a work tree); their
    /// count is `skipped["gitignored"]`.
    pub ignored: Vec<String>,
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

    /// Scan a directory or file. Inside a git work tree, what git tracks is scanned
    /// whatever the ignore files say, and untracked files git ignores are skipped and
    /// listed in [`ScanOutput::ignored`]; outside one, `.gitignore` files do not apply.
    pub fn scan_path(&self, root: &Path) -> Result<ScanOutput, SecretsError> {
        let git = if self.opts.walk.respect_gitignore {
            crate::git::ignored_paths(root)?
        } else {
            None
        };
        let tree = Tree::collect_with(root, &self.opts.walk, git.as_ref())?;
        Ok(self.scan_tree(&tree))
    }

    /// Scan every text file of a tree walked once (see [`Tree`]): the secrets part of
    /// `rampart scan`, which shares the tree with the other scanners.
    pub fn scan_tree(&self, tree: &Tree) -> ScanOutput {
        let visit = |f: &rampart_core::walk::WalkedFile<'_>| {
            self.scan_buffer_checked(f.rel, f.content, true)
        };
        let out = tree.visit(|_| true, visit);
        let mut res = ScanOutput {
            errors: out.errors,
            files_scanned: out.files_scanned,
            bytes_scanned: out.bytes_scanned,
            skipped: out.skipped,
            ignored: out.ignored,
            ..ScanOutput::default()
        };
        for (findings, stale, problems) in out.results {
            res.findings.extend(findings);
            res.stale.extend(stale);
            res.errors.extend(problems);
        }
        if res.stale.len() > MAX_STALE_TOTAL {
            // Which ones are listed must not depend on thread scheduling.
            res.stale.sort_by(|a, b| a.source.cmp(&b.source));
            let more = res.stale.len() - MAX_STALE_TOTAL;
            res.stale.truncate(MAX_STALE_TOTAL);
            res.stale.push(StaleIgnore {
                kind: "inline".into(),
                source: "<scan>".into(),
                rule: "*".into(),
                message: format!("{more} more stale inline ignore reports (not listed)"),
            });
        }
        res
    }

    /// Scan one buffer as file `rel`, applying inline suppressions (and reporting stale
    /// ones when `report_stale`). The problems [`Self::scan_buffer_checked`] returns are
    /// dropped: a caller that can report them uses that instead.
    pub fn scan_buffer(
        &self,
        rel: &str,
        content: &[u8],
        report_stale: bool,
    ) -> (Vec<Finding>, Vec<StaleIgnore>) {
        let (findings, stale, _) = self.scan_buffer_checked(rel, content, report_stale);
        (findings, stale)
    }

    /// [`Self::scan_buffer`], with the problems met (a Secret manifest that could not be
    /// parsed, so its data values were not checked).
    pub fn scan_buffer_checked(
        &self,
        rel: &str,
        content: &[u8],
        report_stale: bool,
    ) -> (Vec<Finding>, Vec<StaleIgnore>, Vec<ScanError>) {
        let (mut findings, _, problems) = self.findings_keyed(rel, content, None);
        let stale = inline::apply(content, rel, &mut findings);
        (
            findings,
            if report_stale { stale } else { Vec::new() },
            problems,
        )
    }

    /// Findings in `content` (no suppression), with `commit` attached to each location.
    pub fn findings_in(
        &self,
        rel: &str,
        content: &[u8],
        commit: Option<&CommitInfo>,
    ) -> Vec<Finding> {
        self.findings_keyed(rel, content, commit).0
    }

    /// As [`Self::findings_in`], with one private identity per finding (rule, path and a
    /// digest of the secret) for deduplicating across commits. The keys never leave the
    /// process: fingerprints do not depend on the secret, so two different secrets
    /// written on the same line text in two commits share a fingerprint, and the history
    /// scan must still report both (and one secret whose line was reworded only once).
    pub(crate) fn findings_keyed(
        &self,
        rel: &str,
        content: &[u8],
        commit: Option<&CommitInfo>,
    ) -> (Vec<Finding>, Vec<String>, Vec<ScanError>) {
        let matches = self
            .engine
            .scan(rel, content, commit.map(|c| c.commit.as_str()));
        let (mut findings, mut keys) = self.build(rel, rel, content, matches, commit);
        let mut problems = Vec::new();
        if k8s::looks_like_manifest(rel, content) {
            problems = k8s::enrich(self, rel, content, commit, &mut findings, &mut keys);
        }
        (findings, keys, problems)
    }

    /// Findings for the matches of one buffer: generic duplicates dropped, fingerprints
    /// from the masked context of each secret. `fp_path` names the buffer in fingerprints
    /// (`rel`, or `rel#data.key` for a decoded Secret value).
    pub(crate) fn build(
        &self,
        rel: &str,
        fp_path: &str,
        content: &[u8],
        matches: Vec<RawMatch>,
        commit: Option<&CommitInfo>,
    ) -> (Vec<Finding>, Vec<String>) {
        if matches.is_empty() {
            return (Vec::new(), Vec::new());
        }
        // Every secret any rule saw is masked in every context, so one finding's
        // fingerprint never carries another's secret.
        let masks = merged_spans(matches.iter().map(|m| (m.start, m.end)));
        let matches = drop_generic_duplicates(self.engine.rules(), matches);
        let lines = LineIndex::new(content);
        let mut occurrences: HashMap<(usize, Vec<u8>), usize> = HashMap::new();
        let mut findings = Vec::with_capacity(matches.len());
        let mut keys = Vec::with_capacity(matches.len());
        for m in &matches {
            let rule = &self.engine.rules()[m.rule];
            let fp = if m.start == m.end {
                fingerprint(&[&rule.meta.id, fp_path])
            } else {
                let ctx = masked_context(content, &lines, &masks, m.start, m.end);
                let n = occurrences.entry((m.rule, ctx.clone())).or_insert(0);
                let occ = n.to_string();
                *n += 1;
                fingerprint(&[&rule.meta.id, fp_path, &String::from_utf8_lossy(&ctx), &occ])
            };
            keys.push(fingerprint(&[
                &rule.meta.id,
                fp_path,
                &secret_digest(&content[m.start..m.end]),
            ]));
            findings.push(self.finding(rel, content, &lines, m, commit, fp));
        }
        (findings, keys)
    }

    /// Build a finding for a match in `content`.
    fn finding(
        &self,
        rel: &str,
        content: &[u8],
        lines: &LineIndex,
        m: &RawMatch,
        commit: Option<&CommitInfo>,
        fp: String,
    ) -> Finding {
        let rule = &self.engine.rules()[m.rule];
        let secret = String::from_utf8_lossy(&content[m.start..m.end]);
        let span = lines.span(content, m.start, m.end);
        let (message, evidence) = if secret.is_empty() {
            (
                format!("{}: file matches the rule's path pattern", rule.meta.title),
                None,
            )
        } else {
            let shown = self.show(&secret);
            (format!("{} found: {shown}", rule.meta.title), Some(shown))
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
        if self.opts.show_secrets {
            // The entropy is a function of the secret: published only with the secret.
            f.properties.insert(
                "entropy".into(),
                serde_json::json!((m.entropy * 100.0).round() / 100.0),
            );
        }
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

/// Stale inline ignores listed per scan (each file lists at most
/// [`inline::MAX_STALE_PER_FILE`]); the rest are counted in one entry.
const MAX_STALE_TOTAL: usize = 1000;

/// Bytes of the line kept on each side of a secret in its fingerprint's context.
const CONTEXT: usize = 64;

/// Sorted, disjoint, non-empty spans covering the given ones.
fn merged_spans(spans: impl Iterator<Item = (usize, usize)>) -> Vec<(usize, usize)> {
    let mut v: Vec<(usize, usize)> = spans.filter(|(s, e)| s < e).collect();
    v.sort_unstable();
    let mut out: Vec<(usize, usize)> = Vec::with_capacity(v.len());
    for (s, e) in v {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// What identifies a secret's place without the secret: up to [`CONTEXT`] bytes of its
/// line on each side, every secret in that window replaced by a NUL byte, surrounding
/// white space trimmed (re-indenting keeps the fingerprint).
fn masked_context(
    content: &[u8],
    lines: &LineIndex,
    masks: &[(usize, usize)],
    start: usize,
    end: usize,
) -> Vec<u8> {
    let (line, _) = lines.line_of(start);
    let (ls, le) = lines.line_range(content, line).unwrap_or((start, start));
    let from = start.saturating_sub(CONTEXT).max(ls);
    let to = end.saturating_add(CONTEXT).min(le).max(from);
    let mut out = Vec::with_capacity(to - from + 4);
    let mut pos = from;
    let first = masks.partition_point(|&(_, e)| e <= from);
    for &(s, e) in masks[first..].iter().take_while(|&&(s, _)| s < to) {
        if s > pos {
            out.extend_from_slice(&content[pos..s]);
        }
        out.push(0);
        pos = pos.max(e);
    }
    if pos < to {
        out.extend_from_slice(&content[pos..to]);
    }
    out.trim_ascii().to_vec()
}

/// When a generic rule and a specific rule report the same secret, keep the specific one.
fn drop_generic_duplicates(rules: &[CompiledRule], matches: Vec<RawMatch>) -> Vec<RawMatch> {
    let is_generic = |m: &RawMatch| rules[m.rule].meta.id.contains("generic");
    // Merged and sorted, so each generic match costs one binary search.
    let specific = merged_spans(
        matches
            .iter()
            .filter(|m| !is_generic(m))
            .map(|m| (m.start, m.end)),
    );
    matches
        .into_iter()
        .filter(|m| {
            if !is_generic(m) {
                return true;
            }
            let i = specific.partition_point(|&(_, e)| e <= m.start);
            specific.get(i).is_none_or(|&(s, _)| s >= m.end)
        })
        .collect()
}
