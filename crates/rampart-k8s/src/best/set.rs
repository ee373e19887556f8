//! Rules over the whole scanned set: NetworkPolicy coverage per namespace and
//! PodDisruptionBudgets for replicated workloads.

use super::{report_object, Def};
use crate::object::Object;
use crate::podspec::{pod_spec, PodSpec};
use crate::rules::Context;
use rampart_core::{Finding, RuleMeta, Severity};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};

/// Ids of the set-level rules (they run in [`check_set`], not per object).
pub const SET_RULE_IDS: &[&str] = &[
    "k8s/namespace-without-network-policy",
    "k8s/missing-pod-disruption-budget",
];

fn netpol_def() -> Def {
    Def {
        slug: "namespace-without-network-policy",
        severity: Severity::Medium,
        title: "Namespace has no NetworkPolicy",
        description: "No NetworkPolicy in the scanned set is in this workload's namespace, so its pods accept traffic from, and send it to, every pod of the cluster: one compromised pod can reach all the others (lateral movement). Evaluated across every object of the scan; a namespace whose policies live elsewhere should be scanned together with them, or excepted.",
        remediation: "Add a default-deny NetworkPolicy (`podSelector: {}`, `policyTypes: [Ingress, Egress]`) to the namespace, then allow the flows each workload needs.",
        references: &["https://kubernetes.io/docs/concepts/services-networking/network-policies/", "CIS Kubernetes 5.3.2"],
        peers: &["kube-linter:non-isolated-pod", "polaris:missingNetworkPolicy", "CKV2_K8S_6"],
        tags: &["isolation"],
    }
}

fn pdb_def() -> Def {
    Def {
        slug: "missing-pod-disruption-budget",
        severity: Severity::Low,
        title: "Replicated workload has no PodDisruptionBudget",
        description: "A Deployment, StatefulSet or ReplicaSet with two or more replicas that no PodDisruptionBudget in the scanned set selects can lose every replica at once during a node drain or cluster upgrade.",
        remediation: "Add a `policy/v1` PodDisruptionBudget selecting the workload's pods with `maxUnavailable: 1` (or a `minAvailable` below the replica count).",
        references: &["https://kubernetes.io/docs/tasks/run-application/configure-pdb/"],
        peers: &["polaris:missingPodDisruptionBudget"],
        tags: &["reliability"],
    }
}

/// Metadata of the set-level rules.
pub fn set_metas() -> Vec<RuleMeta> {
    vec![netpol_def().meta(), pdb_def().meta()]
}

fn ns(o: &Object) -> &str {
    o.namespace().unwrap_or("default")
}

/// Whether `selector` (a LabelSelector) selects `labels`. `matchExpressions` are
/// evaluated for `In`, `NotIn`, `Exists`, `DoesNotExist`.
pub(crate) fn selects(selector: Option<&Value>, labels: Option<&Map<String, Value>>) -> bool {
    let Some(sel) = selector.and_then(Value::as_object) else {
        return false;
    };
    let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
    if let Some(ml) = sel.get("matchLabels").and_then(Value::as_object) {
        if !ml
            .iter()
            .all(|(k, v)| v.as_str().is_some_and(|v| get(k) == Some(v)))
        {
            return false;
        }
    }
    if let Some(me) = sel.get("matchExpressions").and_then(Value::as_array) {
        for e in me {
            let key = e.get("key").and_then(Value::as_str).unwrap_or("");
            let values = super::str_list(e.get("values"));
            let ok = match e.get("operator").and_then(Value::as_str).unwrap_or("") {
                "In" => get(key).is_some_and(|v| values.contains(&v)),
                "NotIn" => !get(key).is_some_and(|v| values.contains(&v)),
                "Exists" => get(key).is_some(),
                "DoesNotExist" => get(key).is_none(),
                _ => true,
            };
            if !ok {
                return false;
            }
        }
    }
    true
}

pub(super) fn check_set(objects: &[Object], ctx: &Context) -> Vec<Finding> {
    let kinds: Vec<&str> = objects.iter().map(Object::kind).collect();
    let pods: Vec<_> = objects.iter().map(|o| pod_spec(&o.value)).collect();
    check_prepared(objects, &kinds, &pods, ctx)
}

/// [`check_set`] given each object's kind and pod spec.
pub(super) fn check_prepared(
    objects: &[Object],
    kinds: &[&str],
    pods: &[Option<PodSpec<'_>>],
    _ctx: &Context,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let netpol = netpol_def().meta();
    let pdb = pdb_def().meta();
    let of_kind = |k: &'static str| {
        objects
            .iter()
            .zip(kinds)
            .filter(move |(_, kind)| **kind == k)
            .map(|(o, _)| o)
    };
    let np_namespaces: HashSet<&str> = of_kind("NetworkPolicy").map(ns).collect();
    // The selector of every PodDisruptionBudget, by namespace.
    let mut pdb_selectors: HashMap<&str, Vec<Option<&Value>>> = HashMap::new();
    for p in of_kind("PodDisruptionBudget") {
        pdb_selectors
            .entry(ns(p))
            .or_default()
            .push(p.value.get("spec").and_then(|s| s.get("selector")));
    }
    for ((o, &kind), pod) in objects.iter().zip(kinds).zip(pods) {
        if kind == "Namespace" {
            let name = o.name();
            if !name.is_empty() && !np_namespaces.contains(name) && !name.starts_with("kube-") {
                report_object(
                    &netpol,
                    o,
                    "",
                    format!("namespace `{name}` has no NetworkPolicy in the scanned set"),
                    &mut out,
                );
            }
            continue;
        }
        let Some(ps) = pod else {
            continue;
        };
        let o_ns = ns(o);
        if !np_namespaces.contains(o_ns) {
            report_object(
                &netpol,
                o,
                "metadata",
                format!("namespace `{o_ns}` has no NetworkPolicy in the scanned set"),
                &mut out,
            );
        }
        if matches!(kind, "Deployment" | "StatefulSet" | "ReplicaSet")
            && super::pod::replicas(o) >= 2
        {
            let labels = ps
                .metadata
                .and_then(|m| m.get("labels"))
                .and_then(Value::as_object);
            let covered = pdb_selectors
                .get(o_ns)
                .is_some_and(|sels| sels.iter().any(|sel| selects(*sel, labels)));
            if !covered {
                report_object(
                    &pdb,
                    o,
                    "spec.replicas",
                    format!(
                        "{} replicas and no PodDisruptionBudget selects the pods",
                        super::pod::replicas(o)
                    ),
                    &mut out,
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn label_selectors() {
        let l = json!({"app": "a", "tier": "web"});
        let labels = l.as_object();
        assert!(selects(Some(&json!({"matchLabels": {"app": "a"}})), labels));
        assert!(!selects(
            Some(&json!({"matchLabels": {"app": "b"}})),
            labels
        ));
        assert!(selects(
            Some(
                &json!({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["web"]}]})
            ),
            labels
        ));
        assert!(!selects(
            Some(&json!({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]})),
            labels
        ));
        assert!(selects(Some(&json!({})), labels));
        assert!(!selects(None, labels));
    }
}
