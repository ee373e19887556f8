//! `rampart rbac who-can|can-i|permissions` and the `rbac/*` rules in `rampart k8s`,
//! through the real binary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn rampart(args: &[&str], dir: &Path, stdin: Option<&str>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rampart"));
    c.args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("RAMPART_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        input.write_all(s.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", out(o), err(o)))
}

const TEAM: &str = "\
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: deployer, namespace: team}
rules:
- apiGroups: [apps]
  resources: [deployments]
  verbs: [get, create]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: ci-deployer, namespace: team}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: deployer}
subjects:
- {kind: ServiceAccount, name: ci}
";

#[test]
fn can_i_answers_with_the_chain_and_exit_code_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let yes = rampart(
        &[
            "rbac",
            "can-i",
            "ServiceAccount:team:ci",
            "create",
            "deployments",
            "-n",
            "team",
            "-",
        ],
        dir.path(),
        Some(TEAM),
    );
    assert_eq!(code(&yes), 0, "{}{}", out(&yes), err(&yes));
    assert!(
        out(&yes).contains("via RoleBinding `ci-deployer` (<stdin>:12) → Role `deployer` (<stdin>:1) → rules[0] (<stdin>:5)"),
        "{}",
        out(&yes)
    );
    // Another namespace, another verb, another account: denied, exit 1.
    for args in [
        [
            "ServiceAccount:prod:ci",
            "create",
            "deployments",
            "-n",
            "team",
        ],
        [
            "ServiceAccount:team:ci",
            "create",
            "deployments",
            "-n",
            "prod",
        ],
        [
            "ServiceAccount:team:ci",
            "delete",
            "deployments",
            "-n",
            "team",
        ],
    ] {
        let mut a = vec!["rbac", "can-i"];
        a.extend(args);
        a.extend(["-f", "json", "-"]);
        let no = rampart(&a, dir.path(), Some(TEAM));
        assert_eq!(code(&no), 1, "{args:?}: {}{}", out(&no), err(&no));
        assert_eq!(json(&no)["allowed"], Value::Bool(false));
    }
}

#[test]
fn who_can_and_permissions_on_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rbac.yaml"), TEAM).unwrap();
    let o = rampart(
        &[
            "rbac",
            "who-can",
            "create",
            "deployments.apps",
            "-n",
            "team",
            ".",
            "-f",
            "json",
        ],
        dir.path(),
        None,
    );
    assert_eq!(code(&o), 0, "{}", err(&o));
    let v = json(&o);
    let subjects = v["subjects"].as_array().unwrap();
    assert_eq!(subjects.len(), 1, "{v:#}");
    assert_eq!(subjects[0]["kind"], "ServiceAccount");
    assert_eq!(subjects[0]["namespace"], "team");
    assert_eq!(subjects[0]["chain"][1]["line"], 12);
    let o = rampart(&["rbac", "permissions", "sa:team:ci"], dir.path(), None);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(
        out(&o).contains("in namespace `team`  get,create deployments (apps)  via RoleBinding `ci-deployer` (rbac.yaml:12)"),
        "{}",
        out(&o)
    );
    // An unknown resource without its group is a usage error, not an empty answer.
    let o = rampart(
        &["rbac", "who-can", "get", "widgets", "."],
        dir.path(),
        None,
    );
    assert_eq!(code(&o), 2);
    assert!(err(&o).contains("RESOURCE.GROUP"), "{}", err(&o));
}

#[test]
fn binding_to_a_missing_role_exits_2_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!("{TEAM}---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {{name: ghost}}\nroleRef: {{kind: ClusterRole, name: not-here}}\nsubjects: [{{kind: User, name: bob}}]\n");
    std::fs::write(dir.path().join("b.yaml"), text).unwrap();
    let o = rampart(
        &[
            "rbac",
            "can-i",
            "ServiceAccount:team:ci",
            "get",
            "deployments",
            "-n",
            "team",
            ".",
        ],
        dir.path(),
        None,
    );
    assert_eq!(code(&o), 2, "{}{}", out(&o), err(&o));
    assert!(err(&o).contains("b.yaml:19"), "{}", err(&o));
    assert!(err(&o).contains("ClusterRole `not-here`"), "{}", err(&o));
    let o = rampart(
        &[
            "rbac",
            "can-i",
            "ServiceAccount:team:ci",
            "get",
            "deployments",
            "-n",
            "team",
            ".",
            "--allow-errors",
        ],
        dir.path(),
        None,
    );
    assert_eq!(code(&o), 0, "{}{}", out(&o), err(&o));
}

#[test]
fn who_can_get_secrets_in_kube_system_on_the_bootstrap_policy() {
    let Some(corpus) = rampart_testkit::corpus("k8s-rbac/bootstrap-policy") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let o = rampart(
        &[
            "rbac",
            "who-can",
            "get",
            "secrets",
            "-n",
            "kube-system",
            corpus.to_str().unwrap(),
            "-f",
            "json",
        ],
        dir.path(),
        None,
    );
    assert_eq!(code(&o), 0, "{}", err(&o));
    let got: BTreeSet<String> = json(&o)["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{} {}",
                s["kind"].as_str().unwrap(),
                s["name"].as_str().unwrap()
            )
        })
        .collect();
    // The answer derived from the objects (crates/rampart-k8s/tests/it/rbac_corpus.rs
    // explains each one).
    let want: BTreeSet<String> = [
        "Group system:masters",
        "User system:kube-controller-manager",
        "ServiceAccount generic-garbage-collector",
        "ServiceAccount namespace-controller",
        "ServiceAccount bootstrap-signer",
        "ServiceAccount token-cleaner",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(got, want);
}

#[test]
fn k8s_reports_rbac_findings_with_the_chain_and_missing_roles_as_errors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("rbac.yaml"),
        "\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: ci-view}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}
subjects:
- {kind: ServiceAccount, name: ci, namespace: build}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: ghost, namespace: build}
roleRef: {kind: Role, name: not-here}
subjects: [{kind: User, name: bob}]
",
    )
    .unwrap();
    let o = rampart(&["k8s", ".", "-f", "json", "--no-config"], dir.path(), None);
    assert_eq!(code(&o), 2, "{}", err(&o));
    let v = json(&o);
    let rbac: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"].as_str().unwrap().starts_with("rbac/"))
        .collect();
    let ids: BTreeSet<&str> = rbac
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap())
        .collect();
    // The built-in `edit` (aggregated from system:aggregate-to-edit and view), bound
    // cluster-wide: secrets, pods/exec, workloads, tokens, impersonation.
    for id in [
        "rbac/read-secrets",
        "rbac/pod-exec",
        "rbac/create-workloads",
        "rbac/token-create",
        "rbac/impersonate",
    ] {
        assert!(ids.contains(id), "{id} missing from {ids:?}");
    }
    let secrets = rbac
        .iter()
        .find(|f| f["rule_id"] == "rbac/read-secrets")
        .unwrap();
    let msg = secrets["message"].as_str().unwrap();
    assert!(msg.starts_with("ServiceAccount build/ci may read secrets cluster-wide: ClusterRoleBinding `ci-view` (rbac.yaml:4) → ClusterRole `edit`"), "{msg}");
    assert!(
        msg.contains("of ClusterRole `system:aggregate-to-edit` (aggregated;"),
        "{msg}"
    );
    assert_eq!(secrets["location"]["span"]["start_line"], 6, "{secrets:#}");
    let errors = v["errors"].as_array().unwrap();
    assert!(
        errors
            .iter()
            .any(|e| e["line"] == 11 && e["message"].as_str().unwrap().contains("Role `not-here`")),
        "{errors:#?}"
    );
}

/// An ignore entry for an `rbac/*` rule that matched nothing in a `rampart k8s` run is
/// stale (the k8s scanner reports the `rbac` area), and one that matched suppresses.
#[test]
fn rbac_ignore_entries_suppress_and_go_stale_in_k8s_runs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("rbac.yaml"),
        "\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: node-proxy}
rules:
- apiGroups: [\"\"]
  resources: [nodes/proxy]
  verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: metrics}
roleRef: {kind: ClusterRole, name: node-proxy}
subjects: [{kind: ServiceAccount, name: scraper, namespace: monitoring}]
",
    )
    .unwrap();
    std::fs::write(
        dir.path().join(".rampartignore.yaml"),
        "ignores:\n  - rule: rbac/nodes-proxy\n    reason: the scraper reads kubelet metrics through the proxy\n  - rule: rbac/read-secrets\n    reason: nothing reads secrets here any more\n",
    )
    .unwrap();
    let o = rampart(&["k8s", ".", "-f", "json", "--no-config"], dir.path(), None);
    let v = json(&o);
    let proxy: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"] == "rbac/nodes-proxy")
        .collect();
    assert_eq!(proxy.len(), 1, "{v:#}");
    assert!(proxy[0].get("suppression").is_some(), "{:#}", proxy[0]);
    let stale: Vec<String> = v["stale_ignores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(stale.len(), 1, "{stale:#?}");
    assert!(stale[0].contains("rbac/read-secrets"), "{stale:#?}");
}
