//! Rule metadata shared by the Dockerfile and Terraform rules.

use rampart_core::{RuleMeta, Severity};

/// The static part of a rule's metadata.
#[derive(Debug, Clone, Copy)]
pub struct MetaSpec {
    /// `<area>/<slug>`.
    pub id: &'static str,
    /// Default severity.
    pub severity: Severity,
    /// One-line title.
    pub title: &'static str,
    /// What and why.
    pub description: &'static str,
    /// How to fix.
    pub remediation: &'static str,
    /// Peer ids (`DL3002`, `CKV_AWS_39`) and URLs.
    pub references: &'static [&'static str],
}

/// Build the [`RuleMeta`]; references that look like peer-tool ids also go to `peers`.
pub fn meta(s: &MetaSpec, area: &str) -> RuleMeta {
    let peers = s
        .references
        .iter()
        .filter(|r| !r.contains("://") && !r.starts_with("CWE-"))
        .map(|r| r.to_string())
        .collect();
    RuleMeta {
        id: s.id.to_string(),
        area: area.to_string(),
        title: s.title.to_string(),
        severity: s.severity,
        description: s.description.to_string(),
        remediation: s.remediation.to_string(),
        references: s.references.iter().map(|r| r.to_string()).collect(),
        peers,
        tags: vec![area.to_string()],
    }
}
