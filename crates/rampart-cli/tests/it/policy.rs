//! `rampart iac --policy`: Conftest-style Rego policies through the real binary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn run(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rampart"))
        .env("NO_COLOR", "1")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn examples() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/policies")
        .display()
        .to_string()
}

fn findings(o: &Output) -> Vec<(String, String, u64)> {
    let r: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&o.stderr)));
    let mut v: Vec<_> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
                f["location"]["span"]["start_line"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn example_policies_on_manifests() {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(
        t.path().join("app.yaml"),
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  labels: {team: shop, app.kubernetes.io/name: web}\nspec:\n  type: NodePort\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels: {team: shop, app.kubernetes.io/name: web}\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.27\n",
    )
    .unwrap();
    let o = run(
        &["iac", ".", "--policy", &examples(), "-f", "json"],
        t.path(),
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        findings(&o),
        vec![
            (
                "policy/allowed-registries".to_string(),
                "high".to_string(),
                9
            ),
            ("policy/no-nodeport".to_string(), "high".to_string(), 1),
        ]
    );
}

#[test]
fn namespaces_dockerfile_input_and_errors() {
    let t = tempfile::tempdir().unwrap();
    let pol = t.path().join("pol");
    std::fs::create_dir_all(pol.join("sub")).unwrap();
    std::fs::write(
        pol.join("sub/docker.rego"),
        "package docker.rules\n\nwarn contains msg if {\n  some i\n  input[i].Cmd == \"from\"\n  endswith(input[i].Value[0], \":latest\")\n  msg := sprintf(\"line %d: latest base\", [input[i].Line])\n}\n",
    )
    .unwrap();
    std::fs::write(t.path().join("Dockerfile"), "FROM alpine:latest\nUSER 1\n").unwrap();
    // Package `main` (the default) has no rules: nothing from policies.
    let o = run(
        &[
            "iac",
            ".",
            "--policy",
            "pol",
            "-f",
            "json",
            "--fail-on",
            "none",
        ],
        t.path(),
    );
    assert!(!findings(&o).iter().any(|f| f.0.starts_with("policy/")));
    for ns in [
        ["--namespace", "docker.rules"].as_slice(),
        ["--all-namespaces"].as_slice(),
    ] {
        let mut args = vec![
            "iac",
            ".",
            "--policy",
            "pol",
            "-f",
            "json",
            "--fail-on",
            "none",
        ];
        args.extend_from_slice(ns);
        let o = run(&args, t.path());
        let f = findings(&o);
        assert!(
            f.contains(&(
                "policy/docker.rules/warn".to_string(),
                "medium".to_string(),
                0
            )),
            "{f:?}"
        );
    }
    // A broken policy: exit 2 with file and line.
    std::fs::write(
        pol.join("bad.rego"),
        "package main\n\ndeny contains x if {\n",
    )
    .unwrap();
    let o = run(&["iac", ".", "--policy", "pol"], t.path());
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("bad.rego"), "{err}");
}

/// Without `--policy` a CRD's schema is not kept (no built-in rule reads it); with one,
/// the policy sees the whole object.
#[test]
fn policies_see_the_whole_crd() {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(
        t.path().join("crd.yaml"),
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\nspec:\n  group: example.com\n  scope: Cluster\n  names: {kind: Widget, plural: widgets}\n  versions:\n  - name: v1\n    served: true\n    storage: true\n    schema:\n      openAPIV3Schema:\n        type: object\n",
    )
    .unwrap();
    let pol = t.path().join("pol");
    std::fs::create_dir(&pol).unwrap();
    std::fs::write(
        pol.join("crd.rego"),
        "package main\n\ndeny contains msg if {\n  input.kind == \"CustomResourceDefinition\"\n  input.spec.scope == \"Cluster\"\n  msg := sprintf(\"%s is cluster-scoped\", [input.metadata.name])\n}\n",
    )
    .unwrap();
    let o = run(&["k8s", ".", "--policy", "pol", "-f", "json"], t.path());
    let f = findings(&o);
    assert!(
        f.iter()
            .any(|(id, _, line)| id == "policy/main/deny" && *line == 1),
        "{f:?} {}",
        String::from_utf8_lossy(&o.stderr)
    );
}
