//! What one area scanner contributes to a combined scan (`rampart scan`).
//!
//! Each area crate exposes an entry point that returns a [`ScanPart`]; the CLI merges the
//! parts into one [`crate::Report`].

use crate::{Finding, RuleMeta, ScanError};

/// One scanner's findings, errors and rule metadata, merged into the combined report.
#[derive(Debug, Default)]
pub struct ScanPart {
    /// Scanner name as it appears in the report (`secrets`, `deps`, `k8s`, …).
    pub scanner: &'static str,
    /// Findings (before suppression).
    pub findings: Vec<Finding>,
    /// Files or inputs that could not be scanned.
    pub errors: Vec<ScanError>,
    /// Metadata of every rule that may appear in `findings`.
    pub metas: Vec<RuleMeta>,
}

/// Custom policies an area scanner evaluates on each input it builds (a Kubernetes
/// object, a Dockerfile's or a YAML file's data). `rampart_policy::PolicySet` implements
/// it; the trait keeps the area crates free of the policy engine, and the caller decides
/// which policies run (never the scanned content).
pub trait Policies: Sync {
    /// The findings of every rule on one input at `location`; an error when evaluation
    /// failed (the input was not checked).
    fn evaluate(
        &self,
        input: &serde_json::Value,
        location: &crate::Location,
    ) -> Result<Vec<Finding>, String>;
    /// Metadata of the rules the policies declare.
    fn metas(&self) -> Vec<RuleMeta>;
    /// Metadata for a finding of a rule that declares none.
    fn meta_of(&self, finding: &Finding) -> RuleMeta;
}

/// Whether `id` is switched off by `disable` (an id, or a prefix ending in `*`).
pub fn disabled(id: &str, disable: &[String]) -> bool {
    disable.iter().any(|d| {
        d == id
            || d.strip_suffix('*')
                .is_some_and(|prefix| id.starts_with(prefix))
    })
}
