//! The example policies in `examples/policies/`: their Rego unit tests pass under
//! regorus, and they report what they promise on sample objects.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use rampart_core::{Location, Severity};
use serde_json::json;
use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/policies")
}

#[test]
fn example_rego_unit_tests_pass() {
    let set = rampart_policy::load(&[dir()], &[]).unwrap();
    let results = set.run_tests();
    let failed: Vec<_> = results.iter().filter(|t| !t.passed).collect();
    assert!(failed.is_empty(), "failed Rego tests: {failed:#?}");
    // 4 + 3 + 3 test_ rules in the three *_test.rego files.
    assert_eq!(results.len(), 10, "{results:#?}");
}

#[test]
fn example_policies_report_findings() {
    let set = rampart_policy::load(&[dir()], &[]).unwrap();
    let rules: Vec<String> = set.entries().iter().map(|e| e.rule.clone()).collect();
    assert_eq!(
        rules,
        vec!["deny", "deny_nodeport", "violation", "warn_loadbalancer"]
    );
    let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "labels": {"team": "t", "app.kubernetes.io/name": "web"}}, "spec": {"type": "NodePort"}});
    let f = set
        .evaluate(&svc, &Location::file("svc.yaml", None))
        .unwrap();
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].rule_id, "policy/no-nodeport");
    assert_eq!(f[0].severity, Severity::High);
    let pod = json!({"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "a", "image": "docker.io/library/nginx"}]}});
    let mut ids: Vec<String> = set
        .evaluate(&pod, &Location::file("pod.yaml", None))
        .unwrap()
        .into_iter()
        .map(|f| format!("{} {}", f.rule_id, f.severity.as_str()))
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        vec![
            "policy/allowed-registries high",
            "policy/required-labels medium",
            "policy/required-labels medium"
        ]
    );
}

#[test]
fn a_failing_rego_test_is_reported() {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(
        t.path().join("p.rego"),
        "package main\nimport rego.v1\ndeny contains \"x\" if input.x\ntest_wrong if { count(deny) == 0 with input as {\"x\": true} }\n",
    )
    .unwrap();
    let r = rampart_policy::load(&[t.path().to_path_buf()], &[])
        .unwrap()
        .run_tests();
    assert_eq!(r.len(), 1);
    assert!(!r[0].passed);
}

#[test]
fn bad_policy_error_names_file_and_line() {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(
        t.path().join("ok.rego"),
        "package main\ndeny contains \"a\" if false\n",
    )
    .unwrap();
    std::fs::write(
        t.path().join("broken.rego"),
        "package main\n\ndeny contains msg if {\n  msg := \n}\n",
    )
    .unwrap();
    let e = rampart_policy::load(&[t.path().to_path_buf()], &[])
        .unwrap_err()
        .to_string();
    assert!(e.contains("broken.rego"), "{e}");
    assert!(e.contains(":5:") || e.contains(":4:"), "{e}");
    // An unknown function is a load-time error too.
    std::fs::write(
        t.path().join("broken.rego"),
        "package main\ndeny contains msg if { msg := no_such_fn(1) }\n",
    )
    .unwrap();
    let e = rampart_policy::load(&[t.path().to_path_buf()], &[])
        .unwrap_err()
        .to_string();
    assert!(e.contains("broken.rego"), "{e}");
    assert!(rampart_policy::load(&[t.path().join("missing")], &[]).is_err());
}
