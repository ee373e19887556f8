//! Best-practice rules beyond the Pod Security Standards (kube-linter, Checkov
//! `CKV_K8S_*`, Kubesec, Polaris equivalents), per object and across the scanned set.

use crate::object::Object;
use crate::rules::{Context, Rule};
use rampart_core::Finding;

/// Per-object best-practice rules.
pub fn rules() -> Vec<Rule> {
    Vec::new()
}

/// Rules that need the whole scanned set (namespaces without a NetworkPolicy, replicated
/// workloads without a PodDisruptionBudget, …).
pub fn check_set(_objects: &[Object], _ctx: &Context) -> Vec<Finding> {
    Vec::new()
}
