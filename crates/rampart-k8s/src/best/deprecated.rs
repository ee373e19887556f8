//! API versions removed from Kubernetes, with the release that removed them and the
//! replacement (from the Kubernetes deprecated API migration guide).

use super::{fast, report, Def};
use crate::rules::{Entry, Rule, Subject};
use rampart_core::{Finding, Severity};

/// A removed `apiVersion` + `kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deprecation {
    /// The removed `apiVersion`.
    pub api_version: &'static str,
    /// The kind (`*` for every kind of that group version).
    pub kind: &'static str,
    /// The Kubernetes release that stopped serving it.
    pub removed_in: &'static str,
    /// What to use instead (`none` when the API was dropped).
    pub replacement: &'static str,
}

const fn d(
    api_version: &'static str,
    kind: &'static str,
    removed_in: &'static str,
    replacement: &'static str,
) -> Deprecation {
    Deprecation {
        api_version,
        kind,
        removed_in,
        replacement,
    }
}

/// <https://kubernetes.io/docs/reference/using-api/deprecation-guide/>
pub const REMOVED: &[Deprecation] = &[
    // v1.16
    d("extensions/v1beta1", "Deployment", "v1.16", "apps/v1"),
    d("extensions/v1beta1", "DaemonSet", "v1.16", "apps/v1"),
    d("extensions/v1beta1", "ReplicaSet", "v1.16", "apps/v1"),
    d(
        "extensions/v1beta1",
        "NetworkPolicy",
        "v1.16",
        "networking.k8s.io/v1",
    ),
    d(
        "extensions/v1beta1",
        "PodSecurityPolicy",
        "v1.16",
        "policy/v1beta1 (itself removed in v1.25: use Pod Security Admission)",
    ),
    d("apps/v1beta1", "*", "v1.16", "apps/v1"),
    d("apps/v1beta2", "*", "v1.16", "apps/v1"),
    // v1.21
    d("batch/v2alpha1", "CronJob", "v1.21", "batch/v1"),
    // v1.22
    d(
        "extensions/v1beta1",
        "Ingress",
        "v1.22",
        "networking.k8s.io/v1",
    ),
    d(
        "networking.k8s.io/v1beta1",
        "Ingress",
        "v1.22",
        "networking.k8s.io/v1",
    ),
    d(
        "networking.k8s.io/v1beta1",
        "IngressClass",
        "v1.22",
        "networking.k8s.io/v1",
    ),
    d(
        "admissionregistration.k8s.io/v1beta1",
        "*",
        "v1.22",
        "admissionregistration.k8s.io/v1",
    ),
    d(
        "apiextensions.k8s.io/v1beta1",
        "CustomResourceDefinition",
        "v1.22",
        "apiextensions.k8s.io/v1",
    ),
    d(
        "apiregistration.k8s.io/v1beta1",
        "APIService",
        "v1.22",
        "apiregistration.k8s.io/v1",
    ),
    d(
        "authentication.k8s.io/v1beta1",
        "TokenReview",
        "v1.22",
        "authentication.k8s.io/v1",
    ),
    d(
        "authorization.k8s.io/v1beta1",
        "*",
        "v1.22",
        "authorization.k8s.io/v1",
    ),
    d(
        "certificates.k8s.io/v1beta1",
        "CertificateSigningRequest",
        "v1.22",
        "certificates.k8s.io/v1",
    ),
    d(
        "coordination.k8s.io/v1beta1",
        "Lease",
        "v1.22",
        "coordination.k8s.io/v1",
    ),
    d(
        "rbac.authorization.k8s.io/v1beta1",
        "*",
        "v1.22",
        "rbac.authorization.k8s.io/v1",
    ),
    d(
        "rbac.authorization.k8s.io/v1alpha1",
        "*",
        "v1.22",
        "rbac.authorization.k8s.io/v1",
    ),
    d(
        "scheduling.k8s.io/v1beta1",
        "PriorityClass",
        "v1.22",
        "scheduling.k8s.io/v1",
    ),
    d(
        "scheduling.k8s.io/v1alpha1",
        "PriorityClass",
        "v1.22",
        "scheduling.k8s.io/v1",
    ),
    d(
        "storage.k8s.io/v1beta1",
        "CSIDriver",
        "v1.22",
        "storage.k8s.io/v1",
    ),
    d(
        "storage.k8s.io/v1beta1",
        "CSINode",
        "v1.22",
        "storage.k8s.io/v1",
    ),
    d(
        "storage.k8s.io/v1beta1",
        "StorageClass",
        "v1.22",
        "storage.k8s.io/v1",
    ),
    d(
        "storage.k8s.io/v1beta1",
        "VolumeAttachment",
        "v1.22",
        "storage.k8s.io/v1",
    ),
    // v1.25
    d("batch/v1beta1", "CronJob", "v1.25", "batch/v1"),
    d(
        "discovery.k8s.io/v1beta1",
        "EndpointSlice",
        "v1.25",
        "discovery.k8s.io/v1",
    ),
    d(
        "events.k8s.io/v1beta1",
        "Event",
        "v1.25",
        "events.k8s.io/v1",
    ),
    d(
        "autoscaling/v2beta1",
        "HorizontalPodAutoscaler",
        "v1.25",
        "autoscaling/v2",
    ),
    d(
        "policy/v1beta1",
        "PodDisruptionBudget",
        "v1.25",
        "policy/v1",
    ),
    d(
        "policy/v1beta1",
        "PodSecurityPolicy",
        "v1.25",
        "none: use Pod Security Admission (namespace labels) or a policy engine",
    ),
    d(
        "node.k8s.io/v1beta1",
        "RuntimeClass",
        "v1.25",
        "node.k8s.io/v1",
    ),
    // v1.26
    d(
        "flowcontrol.apiserver.k8s.io/v1beta1",
        "*",
        "v1.26",
        "flowcontrol.apiserver.k8s.io/v1",
    ),
    d(
        "autoscaling/v2beta2",
        "HorizontalPodAutoscaler",
        "v1.26",
        "autoscaling/v2",
    ),
    // v1.27
    d(
        "storage.k8s.io/v1beta1",
        "CSIStorageCapacity",
        "v1.27",
        "storage.k8s.io/v1",
    ),
    // v1.29
    d(
        "flowcontrol.apiserver.k8s.io/v1beta2",
        "*",
        "v1.29",
        "flowcontrol.apiserver.k8s.io/v1",
    ),
    // v1.32
    d(
        "flowcontrol.apiserver.k8s.io/v1beta3",
        "*",
        "v1.32",
        "flowcontrol.apiserver.k8s.io/v1",
    ),
];

/// The removal entry for an `apiVersion`/`kind`, if it was removed.
pub fn deprecation(api_version: &str, kind: &str) -> Option<&'static Deprecation> {
    REMOVED
        .iter()
        .find(|d| d.api_version == api_version && (d.kind == kind || d.kind == "*"))
}

pub(super) fn rules() -> Vec<Entry> {
    vec![Def {
        slug: "removed-api-version",
        severity: Severity::Medium,
        title: "apiVersion removed from Kubernetes",
        description: "The object uses an `apiVersion` that current Kubernetes no longer serves (`extensions/v1beta1`, `apps/v1beta1/2`, `policy/v1beta1` PodSecurityPolicy, `batch/v1beta1` CronJob, `autoscaling/v2beta1/2`, `networking.k8s.io/v1beta1` Ingress …): applying it fails on a cluster at or past the removal release, and it is often a sign of an unmaintained manifest. The message names the release that removed it and the replacement.",
        remediation: "Migrate to the replacement API version (`kubectl convert` or `pluto` help); PodSecurityPolicy has no replacement object: use Pod Security Admission.",
        references: &["https://kubernetes.io/docs/reference/using-api/deprecation-guide/"],
        peers: &["kube-linter:no-extensions-v1beta", "polaris:deprecatedApiVersion"],
        tags: &["correctness"],
    }
    .rule(fast!(removed_api))]
}

fn removed_api(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    if let Some(d) = deprecation(obj.api_version(), obj.kind()) {
        report(
            &rule.meta,
            obj,
            "apiVersion",
            format!(
                "{} {} was removed in Kubernetes {}; use {}",
                d.api_version,
                obj.kind(),
                d.removed_in,
                d.replacement
            ),
            out,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removal_versions() {
        assert_eq!(
            deprecation("extensions/v1beta1", "Ingress").map(|d| d.removed_in),
            Some("v1.22")
        );
        assert_eq!(
            deprecation("extensions/v1beta1", "Deployment").map(|d| d.removed_in),
            Some("v1.16")
        );
        assert_eq!(
            deprecation("policy/v1beta1", "PodSecurityPolicy").map(|d| d.removed_in),
            Some("v1.25")
        );
        assert_eq!(
            deprecation("autoscaling/v2beta2", "HorizontalPodAutoscaler").map(|d| d.removed_in),
            Some("v1.26")
        );
        assert!(deprecation("apps/v1", "Deployment").is_none());
        assert!(deprecation("autoscaling/v1", "HorizontalPodAutoscaler").is_none());
    }
}
