//! The finding: one rule firing on one thing. Shared by every front.

use crate::location::Location;
use crate::rule::RuleMeta;
use crate::severity::Severity;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One rule firing on one thing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// `<area>/<slug>`, e.g. `secret/aws-access-key`.
    pub rule_id: String,
    /// Severity after overrides.
    pub severity: Severity,
    /// The rule's one-line title.
    pub title: String,
    /// What this instance is.
    pub message: String,
    /// How to fix it.
    pub remediation: String,
    /// URLs, CVE/CWE ids, peer-tool ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
    /// Where it is.
    pub location: Location,
    /// Stable identity (SHA-256 hex): rule + identity of the thing, never line numbers
    /// and never a raw secret.
    pub fingerprint: String,
    /// The offending text, redacted unless the user asked for secrets to be shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
    /// Extra facts (entropy, decoded-from, object …).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, serde_json::Value>,
    /// Set when a suppression applies; suppressed findings never trip the gate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppression: Option<Suppression>,
}

impl Finding {
    /// Start a finding from a rule's metadata; `message` describes this instance.
    pub fn new(
        meta: &RuleMeta,
        message: impl Into<String>,
        location: Location,
        fingerprint: String,
    ) -> Finding {
        Finding {
            rule_id: meta.id.clone(),
            severity: meta.severity,
            title: meta.title.clone(),
            message: message.into(),
            remediation: meta.remediation.clone(),
            references: meta.references.clone(),
            location,
            fingerprint,
            evidence: None,
            properties: BTreeMap::new(),
            suppression: None,
        }
    }

    /// Whether a suppression applies.
    pub fn is_suppressed(&self) -> bool {
        self.suppression.is_some()
    }
}

/// Why a finding is suppressed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppression {
    /// Which mechanism.
    pub kind: SuppressionKind,
    /// The reason given, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Where the suppression is declared (`file:line`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// The suppression mechanisms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuppressionKind {
    /// `rampart:ignore <rule> -- reason` on the line or the line above.
    Inline,
    /// An entry of `.rampartignore.yaml`.
    IgnoreFile,
    /// Present in the `--baseline` report.
    Baseline,
    /// A VEX statement (`not_affected` / `fixed`) for this vulnerability and package.
    Vex,
    /// Rule selection switched the rule off: `--skip-rule`, `--only-rule`, `disable:`
    /// or `severity: none` in the configuration.
    Config,
}

impl SuppressionKind {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            SuppressionKind::Inline => "inline",
            SuppressionKind::IgnoreFile => "ignore_file",
            SuppressionKind::Baseline => "baseline",
            SuppressionKind::Vex => "vex",
            SuppressionKind::Config => "config",
        }
    }
}

/// A high-severity `secret` finding at `path:line`, for unit tests.
#[cfg(test)]
pub(crate) fn test_finding(rule: &str, path: &str, line: usize) -> Finding {
    let meta = RuleMeta {
        id: rule.into(),
        area: "secret".into(),
        title: "t".into(),
        severity: Severity::High,
        description: "d".into(),
        remediation: "r".into(),
        references: vec![],
        peers: vec![],
        tags: vec![],
    };
    Finding::new(
        &meta,
        "m",
        Location::file(path, Some(crate::location::Span::line(line))),
        format!("fp-{path}"),
    )
}
