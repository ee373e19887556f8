//! RBAC analysis: the Roles, ClusterRoles and bindings of a set of manifests resolved
//! as the API server holds them ([`model`]: aggregation, bootstrap roles, validation),
//! evaluated as its RBAC authorizer does ([`authz`]: `can-i`, `who-can`, a subject's
//! permissions), and the `rbac/*` risk rules ([`risk`]) that `rampart k8s` runs over
//! every binding.
//!
//! Objects the API server would reject and bindings to roles found nowhere are errors
//! (with file and line); the rest of the set is still analysed.

pub mod authz;
pub mod model;
pub mod query;
pub mod risk;

pub use authz::{Grant, Request, Target, UserInfo};
pub use model::{Binding, Policy, PolicyRule, Role, Subject};

use crate::object::Object;
use rampart_core::{Finding, RuleMeta, ScanError};

/// What the RBAC analysis of a set found.
#[derive(Debug, Default)]
pub struct Analysis {
    /// `rbac/*` findings.
    pub findings: Vec<Finding>,
    /// Objects that could not be analysed (invalid, or bound to a role found nowhere).
    pub errors: Vec<ScanError>,
}

/// Run the `rbac/*` rules over every binding of `objects`.
pub fn check(objects: &[Object]) -> Analysis {
    let policy = Policy::build(objects);
    let findings = risk::check(&policy);
    Analysis {
        findings,
        errors: policy.errors,
    }
}

/// Metadata of every `rbac/*` rule.
pub fn metas() -> Vec<RuleMeta> {
    risk::metas()
}

/// The chain of a grant, for messages: binding → role → rule, with file:line.
pub fn chain_text(policy: &Policy<'_>, grant: &Grant<'_, '_>) -> String {
    match policy.role_of(grant.binding) {
        Some(role) => risk::chain_text(grant.binding, role, grant.rule),
        None => String::new(),
    }
}

/// The chain of a grant as JSON steps: subject, binding, role, rule.
pub fn chain_json(policy: &Policy<'_>, grant: &Grant<'_, '_>) -> serde_json::Value {
    match policy.role_of(grant.binding) {
        Some(role) => risk::chain_json(grant.binding, grant.subject, role, grant.rule),
        None => serde_json::Value::Null,
    }
}

/// `cluster-wide` or ``in namespace `x` ``: where a binding grants.
pub fn scope_phrase(b: &Binding<'_>) -> String {
    risk::scope_phrase(b)
}

/// `path:line` of a field of an object.
pub fn at(obj: &Object, field: &str) -> String {
    risk::at(obj, field)
}

#[cfg(test)]
mod tests;
