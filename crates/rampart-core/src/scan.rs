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
