//! Kubernetes manifests: loading with source spans, one pod-spec extraction for every
//! workload kind, Pod Security Standards and best-practice rules.
//!
//! The rule engine takes one [`object::Object`] (plus an optional
//! [`rules::Context`]) and returns findings, with no file-system assumptions, so the
//! admission webhook runs exactly what `rampart k8s` runs.

pub mod best;
pub mod exceptions;
pub mod load;
pub mod object;
pub mod podspec;
pub mod pss;
pub mod rbac;
pub mod render;
pub mod rules;
pub mod scan;

pub use object::Object;
pub use rules::{check_object, check_set, Context};

/// Metadata of every built-in rule (PSS controls, best practices and the `rbac/*` rules
/// of [`rbac::check`]), for `rampart rules list/explain`.
pub fn metas() -> Vec<rampart_core::RuleMeta> {
    let mut m: Vec<rampart_core::RuleMeta> = rules::all().into_iter().map(|r| r.meta).collect();
    m.extend(rbac::metas());
    m
}
