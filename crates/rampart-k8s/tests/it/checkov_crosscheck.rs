//! Checkov cross-check: for every best-practice and Pod Security Standards rule that
//! names a Checkov `CKV_K8S_*` id, run the rule on that check's own example manifests (corpus `k8s-checkov`) and
//! compare per-resource PASSED/FAILED with Checkov's expected counts (and resource
//! lists where the upstream test gives them). Deliberate differences are listed in
//! [`DIFFERENCES`] with the counts Rampart gives, so a change either way fails.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use crate::best_common;

use best_common::{read_objects, run};
use rampart_k8s::best;
use rampart_k8s::podspec::pod_spec;
use rampart_k8s::pss;
use rampart_k8s::Object;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// `(test file or test file::test, check id, Rampart (passed, failed), reason)`.
const DIFFERENCES: &[(&str, &str, (usize, usize), &str)] = &[
    (
        "test_ImageDigest.py",
        "CKV_K8S_43",
        (0, 5),
        "the PASSED examples pin `@sha256:123456`, which is not a digest (sha256 is 64 hex): the reference grammar (rampart_core::ImageRef) refuses it, so the image is not pinned",
    ),
    (
        "test_ImageTagFixed.py",
        "CKV_K8S_14",
        (2, 4),
        "as CKV_K8S_43: `repo:1.0@sha256:123456` and `repo@sha256:123456` are not valid references, reported rather than read as tagged",
    ),
    (
        "test_SuppressedAnnotations.py",
        "CKV_K8S_11",
        (1, 9),
        "tests Checkov's own `checkov.io/skip*` annotations; Rampart's per-workload exceptions use `rampart.dev/ignore`",
    ),
    (
        "test_DefaultNamespace.py::test_summary_with_env_var",
        "CKV_K8S_21",
        (9, 2),
        "`test_summary_with_env_var` runs Checkov with an environment variable that turns the check off; `test_summary` (9/2) agrees",
    ),
    (
        "test_CPULimits.py",
        "CKV_K8S_11",
        (1, 2),
        "pod-requests-limits-UNKNOWN2.yaml (requests malformed as a list, limits valid) is PASSED for Checkov's limit checks; files labelled UNKNOWN are not counted here",
    ),
    (
        "test_MemoryLimits.py",
        "CKV_K8S_13",
        (1, 2),
        "as CKV_K8S_11: the UNKNOWN2 file with valid limits is not counted",
    ),
    (
        "test_DangerousGitSync.py",
        "CKV_K8S_159",
        (1, 1),
        "Deployment2-FAILED.yaml has `initContainers` but no `containers`, which the API rejects; Rampart's one pod-spec extraction requires `containers`",
    ),
    (
        "test_PodSecurityContext.py",
        "CKV_K8S_29",
        (2, 2),
        "pod-container-FAILED_malformed_spec.yaml has `spec` as a list: a schema error the loader reports, not a rule verdict",
    ),
    (
        "test_TillerService.py",
        "CKV_K8S_44",
        (1, 2),
        "Checkov gives a Service unrelated to Tiller no verdict (UNKNOWN); Rampart counts it as passing",
    ),
    (
        "test_MinimizeCapabilities.py",
        "CKV_K8S_37",
        (1, 4),
        "k8s/pss-capabilities-restricted follows PSA: pod-drop-all-capabilities-PASSED2.yaml drops `all` in lower case, and PSA's capabilities_restricted accepts only the exact string `ALL` in capabilities.drop (Checkov compares case-insensitively)",
    ),
    (
        "test_RootContainers.py",
        "CKV_K8S_23",
        (2, 9),
        "k8s/pss-run-as-non-root follows PSA: in rootContainersPASSED.yaml pod3 sets the pod's runAsNonRoot: false (PSA forbids an explicit false at pod level even when every container sets true), pod4 and pod5 set only runAsUser: 1000 (Checkov accepts a non-zero UID, PSA requires runAsNonRoot: true); rootContainersFAILED-malformed-spec.yaml has `spec` as a list, a schema error with no pod spec to evaluate",
    ),
    (
        "test_Seccomp.py",
        "CKV_K8S_31",
        (8, 8),
        "k8s/pss-seccomp-profile-restricted follows PSA at latest: the four PASSED examples that only set the `seccomp.security.alpha.kubernetes.io/pod` annotation (runtime/default or docker/default) fail, because PSA's restricted check (from v1.19) reads securityContext.seccompProfile.type only; the kubelet ignores the annotation since v1.27",
    ),
];

/// Kinds Checkov evaluates for a check (workloads with a pod spec unless listed).
fn scope(id: &str) -> Option<&'static [&'static str]> {
    Some(match id {
        "CKV_K8S_21" => &[
            "Pod",
            "Deployment",
            "DaemonSet",
            "StatefulSet",
            "ReplicaSet",
            "ReplicationController",
            "Job",
            "CronJob",
            "Service",
            "Secret",
            "ServiceAccount",
            "Role",
            "RoleBinding",
            "ConfigMap",
            "Ingress",
        ],
        "CKV_K8S_41" => &["ServiceAccount"],
        "CKV_K8S_42" => &["RoleBinding", "ClusterRoleBinding"],
        "CKV_K8S_44" => &["Service"],
        "CKV_K8S_49" | "CKV_K8S_155" | "CKV_K8S_156" | "CKV_K8S_157" | "CKV_K8S_158" => {
            &["Role", "ClusterRole"]
        }
        "CKV_K8S_152" | "CKV_K8S_153" | "CKV_K8S_154" => &["Ingress"],
        "CKV_K8S_27" | "CKV_K8S_38" => &[
            "Pod",
            "Deployment",
            "DaemonSet",
            "StatefulSet",
            "ReplicaSet",
            "ReplicationController",
            "Job",
            "CronJob",
        ],
        _ => return None,
    })
}

const WORKLOADS: &[&str] = &[
    "Pod",
    "PodTemplate",
    "Deployment",
    "DeploymentConfig",
    "DaemonSet",
    "Job",
    "ReplicaSet",
    "ReplicationController",
    "StatefulSet",
    "CronJob",
];

fn in_scope(id: &str, o: &Object) -> bool {
    match scope(id) {
        Some(kinds) => kinds.contains(&o.kind()),
        None => WORKLOADS.contains(&o.kind()) && pod_spec(&o.value).is_some(),
    }
}

/// Checkov's resource id: `Kind.namespace.name`.
fn resource_id(o: &Object) -> String {
    format!(
        "{}.{}.{}",
        o.kind(),
        o.namespace().unwrap_or("default"),
        o.name()
    )
}

fn checkov_ids(peers: &[String]) -> Vec<String> {
    peers
        .iter()
        .filter(|p| p.starts_with("CKV_K8S_"))
        .cloned()
        .collect()
}

#[test]
fn checkov_examples_agree() {
    let Some(root) = rampart_testkit::corpus("k8s-checkov") else {
        return;
    };
    let text = std::fs::read_to_string(root.join("expectations.jsonl")).unwrap();
    let expectations: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();

    // Checkov id → the best-practice and PSS rules that claim it (PSS rules run at
    // the default context: restricted, latest, so every control is active).
    let all_rules: Vec<rampart_k8s::rules::Rule> =
        best::rules().into_iter().chain(pss::rules()).collect();
    let mut by_id: BTreeMap<String, Vec<rampart_k8s::rules::Rule>> = BTreeMap::new();
    for r in &all_rules {
        for id in checkov_ids(&r.meta.peers) {
            by_id.entry(id).or_default().push(rampart_k8s::rules::Rule {
                meta: r.meta.clone(),
                check: r.check,
            });
        }
    }
    assert!(
        by_id.len() >= 40,
        "only {} Checkov ids claimed",
        by_id.len()
    );

    let mut compared = 0;
    let mut agreed = 0;
    let mut resources = 0;
    let mut failures = Vec::new();
    let mut covered = BTreeSet::new();
    for e in &expectations {
        let Some(id) = e["checks"][0]["id"].as_str() else {
            continue;
        };
        let Some(rules) = by_id.get(id) else {
            continue;
        };
        covered.insert(id.to_string());
        let test_file = e["test_file"].as_str().unwrap_or("");
        let mut objects = Vec::new();
        for dir in e["example_dirs"].as_array().into_iter().flatten() {
            let dir = dir.as_str().unwrap();
            let mut files: Vec<_> = walk(&root.join(dir));
            files.sort();
            for f in files {
                // Files the upstream author labelled UNKNOWN get no verdict from
                // Checkov (wrong types, invalid images): not counted.
                if f.file_name()
                    .is_some_and(|n| n.to_string_lossy().contains("UNKNOWN"))
                {
                    continue;
                }
                let rel = f
                    .strip_prefix(&root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                objects.extend(read_objects(&f, &rel));
            }
        }
        // Checkov counts each occurrence (the same id in two files is two resources).
        let mut passed = Vec::new();
        let mut failed = Vec::new();
        for o in objects.iter().filter(|o| in_scope(id, o)) {
            let rid = resource_id(o);
            if run(rules, o).is_empty() {
                passed.push(rid);
            } else {
                failed.push(rid);
            }
        }
        let (np, nf) = (passed.len(), failed.len());
        resources += np + nf;
        let summary = &e["expected_summary"];
        let want = (
            summary["passed"].as_u64().map(|n| n as usize),
            summary["failed"].as_u64().map(|n| n as usize),
        );
        let mut ok = want.0.is_none_or(|p| p == np) && want.1.is_none_or(|f| f == nf);
        for (key, set) in [
            ("passing_resources", &passed),
            ("failing_resources", &failed),
        ] {
            if let Some(list) = e[key].as_array() {
                for r in list.iter().filter_map(Value::as_str) {
                    if !set.iter().any(|x| x == r) {
                        ok = false;
                    }
                }
            }
        }
        compared += 1;
        let full = format!("{test_file}::{}", e["test"].as_str().unwrap_or(""));
        let diff = DIFFERENCES
            .iter()
            .find(|(t, i, _, _)| (*t == test_file || *t == full) && *i == id);
        match (ok, diff) {
            (true, None) => agreed += 1,
            (true, Some(_)) => failures.push(format!(
                "{test_file} {id}: now agrees with Checkov; remove it from DIFFERENCES"
            )),
            (false, Some((_, _, counts, _))) if *counts == (np, nf) => {}
            (false, _) => failures.push(format!(
                "{test_file} {id}: Checkov passed/failed {:?}/{:?}, Rampart {np}/{nf} (failed: {failed:?})",
                want.0, want.1
            )),
        }
    }
    let no_examples: Vec<_> = by_id.keys().filter(|k| !covered.contains(*k)).collect();
    eprintln!(
        "checkov cross-check: {} Checkov ids claimed by {} rules; {compared} upstream tests compared over {resources} resources: {agreed} agree, {} deliberate differences; ids without upstream examples: {no_examples:?}",
        by_id.len(),
        all_rules.len(),
        DIFFERENCES.len(),
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(compared >= 40, "only {compared} upstream tests compared");
    // Every Checkov id a Pod Security Standards rule claims is compared on Checkov's
    // examples (issue 12: `rules explain CKV_K8S_16` names k8s/pss-privileged).
    let pss_ids: BTreeSet<String> = pss::metas()
        .iter()
        .flat_map(|m| checkov_ids(&m.peers))
        .collect();
    let unchecked: Vec<_> = pss_ids.difference(&covered).collect();
    assert!(
        pss_ids.len() >= 10 && unchecked.is_empty(),
        "PSS Checkov peers {pss_ids:?}; without upstream examples: {unchecked:?}"
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
