//! Rampart's admission webhook: the same Kubernetes rules `rampart k8s` runs, applied
//! by the API server to every object it is about to admit.
//!
//! - [`review`]: AdmissionReview `admission.k8s.io/v1` in and out.
//! - [`engine`]: the decision (namespace modes like Pod Security Admission, exemptions,
//!   metadata-only UPDATEs of objects that already violate, image policy, policy sets).
//! - [`mutate`]: opt-in mutations as RFC 6902 JSON Patch.
//! - [`images`]: image policy and the [`images::SignatureVerifier`] hook.
//! - [`registry`]: tag → digest and image user lookups over the OCI distribution API.
//! - [`server`]: the HTTPS server (`/validate`, `/mutate`, `/healthz`, `/readyz`,
//!   `/metrics`), with certificate reloading, body limits, deadlines, panic isolation
//!   and graceful shutdown.
//! - [`namespaces`]: namespace labels, from a watch cache of the API server's Namespaces
//!   (`rampart-cluster`, the one Kubernetes client) or a fixed map.
//! - [`reports`]: the audit sink and the PolicyReport model: one report per resource,
//!   updated in place, coalesced and bounded, applied and garbage-collected through
//!   `rampart-cluster`.
//! - [`certs`]: a CA and serving certificate for the webhook.
//!
//! ```
//! use rampart_admission::{engine::Engine, review, settings::Settings};
//! let body = serde_json::json!({
//!     "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
//!     "request": {"uid": "1", "kind": {"group": "", "version": "v1", "kind": "Pod"},
//!         "namespace": "default", "operation": "CREATE",
//!         "object": {"kind": "Pod", "metadata": {"name": "p"},
//!             "spec": {"hostPID": true, "containers": [{"name": "a", "image": "x"}]}}}
//! });
//! let req = review::parse(body.to_string().as_bytes()).unwrap();
//! let out = Engine::new(Settings::default()).validate(&req);
//! assert!(!out.response.allowed); // baseline is enforced by default
//! assert!(out.response.message.contains("k8s/pss-host-namespaces"));
//! ```

pub mod certs;
pub mod engine;
pub mod images;
pub mod metrics;
pub mod mutate;
pub mod namespaces;
pub mod registry;
pub mod reports;
pub mod review;
pub mod server;
pub mod settings;

use rampart_core::{RuleMeta, Severity};
use serde::Serialize;
use std::fmt;

/// One violated rule at one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// Rule id (`k8s/pss-privileged`, `admission/image-digest`, a policy rule id).
    pub rule_id: String,
    /// Field path (`spec.containers[0].securityContext.privileged`), may be empty.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "{}: {}", self.rule_id, self.message)
        } else {
            write!(f, "{} at {}: {}", self.rule_id, self.field, self.message)
        }
    }
}

fn meta(
    id: &str,
    severity: Severity,
    title: &str,
    description: &str,
    remediation: &str,
) -> RuleMeta {
    RuleMeta {
        id: id.into(),
        area: "admission".into(),
        title: title.into(),
        severity,
        description: description.into(),
        remediation: remediation.into(),
        references: vec!["https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/".into()],
        peers: Vec::new(),
        tags: vec!["admission".into(), "image".into()],
    }
}

/// Metadata of the rules this crate adds (image policy); the pod rules are
/// `rampart_k8s`'s.
pub fn metas() -> Vec<RuleMeta> {
    vec![
        meta(images::RULE_REGISTRY, Severity::High, "Image from a registry that is not allowed",
            "The admission webhook only admits images whose `registry/repository` matches one of `admission.images.allowed_registries`.",
            "Push the image to an allowed registry, or add the registry to allowed_registries."),
        meta(images::RULE_DIGEST, Severity::Medium, "Image not pinned by digest",
            "With `admission.images.require_digest`, every image must be referenced as `name@sha256:…` so that what runs is exactly what was scanned and signed.",
            "Reference the image by digest (or enable resolve_digests so /mutate pins it)."),
        meta(images::RULE_LATEST, Severity::Medium, "Image uses the latest tag",
            "With `admission.images.deny_latest`, `:latest` and untagged references are refused: they change under the same name.",
            "Use a version tag or a digest."),
        meta(images::RULE_SIGNATURE, Severity::High, "Image signature not verified",
            "The configured signature verifier found no trusted signature for the image.",
            "Sign the image with a trusted key (rampart sign) or exempt it."),
        meta(images::RULE_INVALID, Severity::Medium, "Invalid image reference",
            "The container's image is empty or not a valid reference, so the image policy cannot be checked.",
            "Set a valid image reference."),
    ]
}

#[cfg(test)]
mod tests {
    #[test]
    fn metas_are_valid() {
        for m in super::metas() {
            assert!(m.problems().is_empty(), "{}: {:?}", m.id, m.problems());
        }
    }
}
