//! The one place where severity overrides, the ignore file, the baseline and the gate are
//! applied to a finished scan (rules never apply them themselves).

use crate::finding::{Suppression, SuppressionKind};
use crate::report::{Report, StaleIgnore};
use crate::rule::{RuleMeta, RuleSelection};
use crate::severity::{FailOn, FailOnUnknown};
use crate::suppress::baseline::Baseline;
use crate::suppress::ignore_file::IgnoreFile;

/// Post-processing settings.
#[derive(Debug, Default)]
pub struct Sink {
    /// Rule selection: severity overrides (ids or globs) and rules switched off.
    pub selection: RuleSelection,
    /// The ignore file, if any.
    pub ignore_file: Option<IgnoreFile>,
    /// The baseline, if any.
    pub baseline: Option<Baseline>,
    /// The gate.
    pub fail_on: FailOn,
    /// How the gate counts findings of unknown severity.
    pub fail_on_unknown: FailOnUnknown,
    /// Whether the scan was complete enough to call an unused ignore stale (a full
    /// directory scan; not stdin, staged or partial history scans).
    pub report_stale: bool,
}

impl Sink {
    /// Apply everything to `report` and finalize it. `lookup` resolves rule metadata.
    pub fn finish(&self, report: &mut Report, lookup: impl Fn(&str) -> Option<RuleMeta>) {
        for f in &mut report.findings {
            if let Some(sev) = self.selection.severity(&f.rule_id) {
                f.severity = sev;
            }
            if f.suppression.is_none() {
                if let Some(why) = self.selection.off(&f.rule_id) {
                    f.suppression = Some(Suppression {
                        kind: SuppressionKind::Config,
                        reason: Some(format!("rule switched off: {why}")),
                        source: None,
                    });
                }
            }
        }
        let today = chrono::Local::now().date_naive();
        let mut stale: Vec<StaleIgnore> = Vec::new();
        if let Some(ignore) = &self.ignore_file {
            let s = ignore.apply(&mut report.findings, today);
            // Expired entries are always worth saying; unused ones only after a full scan,
            // and only when one of the scanners that ran could have used them (a
            // `rampart iac` run says nothing of the secret entries).
            let scanners = report.scanners.clone();
            stale.extend(s.into_iter().filter(|s| {
                s.message.starts_with("expired")
                    || (self.report_stale
                        && crate::rule::could_match(&scanners, stale_rule(&s.rule)))
            }));
        }
        if let Some(b) = &self.baseline {
            b.apply(&mut report.findings);
        }
        // After every suppression, so that an ignore naming any merged rule applies and
        // is not reported stale.
        crate::report::merge_same_value(&mut report.findings);
        merged_inline(report);
        if !self.report_stale {
            report.stale_ignores.retain(|s| s.kind != "inline");
        }
        report.stale_ignores.extend(stale);
        report.summary.fail_on_unknown = self.fail_on_unknown;
        report.finalize(
            |id| {
                lookup(id).map(|mut m| {
                    if let Some(sev) = self.selection.severity(id) {
                        m.severity = sev;
                    }
                    m
                })
            },
            self.fail_on,
        );
    }
}

/// The rule pattern of an ignore entry from its stale-ignore label (`RULE path=… kind=…`;
/// the rule, when there is one, comes first and has no `=`).
fn stale_rule(label: &str) -> Option<&str> {
    label
        .split(' ')
        .next()
        .filter(|first| !first.is_empty() && !first.contains('='))
}

/// Inline ignores are applied by each scanner to its own findings, so one naming a rule of
/// another scanner (`rampart:ignore k8s/secret-in-manifest` on a Secret's value line) came
/// back stale; once findings are merged it applies to the merged finding that carries the
/// rule, on its line or the line below, and is no longer stale.
fn merged_inline(report: &mut Report) {
    if report.stale_ignores.iter().all(|s| s.kind != "inline") {
        return;
    }
    let mut used = vec![false; report.stale_ignores.len()];
    for f in &mut report.findings {
        if f.is_suppressed() {
            continue;
        }
        let (Some(path), Some(line), Some(ids)) = (
            f.location.path(),
            f.location.line(),
            f.properties
                .get("merged_rule_ids")
                .and_then(serde_json::Value::as_array),
        ) else {
            continue;
        };
        let ids: Vec<&str> = ids.iter().filter_map(serde_json::Value::as_str).collect();
        let here = [
            format!("{path}:{line}"),
            format!("{path}:{}", line.saturating_sub(1)),
        ];
        for (i, s) in report.stale_ignores.iter().enumerate() {
            if s.kind != "inline" || !here.contains(&s.source) {
                continue;
            }
            let names = |pattern: &str| {
                let m = crate::suppress::rule_matcher(pattern);
                pattern == "*"
                    || ids
                        .iter()
                        .any(|id| *id == pattern || m.as_ref().is_some_and(|m| m.is_match(id)))
            };
            if s.rule.split(',').any(names) {
                used[i] = true;
                if f.suppression.is_none() {
                    f.suppression = Some(Suppression {
                        kind: SuppressionKind::Inline,
                        reason: None,
                        source: Some(s.source.clone()),
                    });
                }
            }
        }
    }
    let mut i = 0;
    report.stale_ignores.retain(|_| {
        i += 1;
        !used[i - 1]
    });
}
