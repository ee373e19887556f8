//! Issue 12, "one thing, one finding", through the real binary: findings of several rules
//! and scanners about the same value at the same place are merged into one, which keeps
//! every rule id in `properties.merged_rule_ids`, and ignores by any of them apply.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use serde_json::Value;
use std::path::Path;
use std::process::Output;

fn run(dir: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_rampart"))
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("RAMPART_CONFIG")
        .env("RAMPART_DB", dir.join("no-such-db.sqlite"))
        .args(args)
        .output()
        .unwrap()
}

fn scan_json(dir: &Path) -> Value {
    let o = run(dir, &["scan", ".", "--format", "json", "--fail-on", "none"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

/// Findings of `file` whose rule is about a secret value (the secret scanner's and the
/// k8s `secret-in-manifest` rule), as the report lists them.
fn secret_findings<'a>(report: &'a Value, file: &str) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["location"]["path"] == file)
        .filter(|f| {
            let id = f["rule_id"].as_str().unwrap();
            id.starts_with("secret/") || id == "k8s/secret-in-manifest"
        })
        .collect()
}

fn merged_ids(f: &Value) -> Vec<String> {
    let mut ids: Vec<String> = f["properties"]["merged_rule_ids"]
        .as_array()
        .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
        .unwrap_or_default();
    ids.sort();
    ids
}

const SECRET: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: app\n\
                      stringData:\n  password: \"S3cr3t-V4lue-9xq\"\n";

fn secret_tree() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("secret.yaml"), SECRET).unwrap();
    tmp
}

#[test]
fn a_literal_in_a_secret_manifest_is_one_finding_with_every_rule_id() {
    let tmp = secret_tree();
    let report = scan_json(tmp.path());
    let found = secret_findings(&report, "secret.yaml");
    assert_eq!(found.len(), 1, "{found:#?}");
    let f = found[0];
    assert_eq!(
        merged_ids(f),
        [
            "k8s/secret-in-manifest",
            "secret/generic-password",
            "secret/kubernetes-secret-manifest"
        ]
    );
    // The most specific rule is kept: the Secret-manifest rule, over the generic one.
    assert_eq!(f["rule_id"], "secret/kubernetes-secret-manifest");
    assert_eq!(f["location"]["span"]["start_line"], 7);
    // The value itself is never published, merged or not.
    assert!(!report.to_string().contains("S3cr3t-V4lue-9xq"));
    // The gate counts it once.
    assert_eq!(report["summary"]["by_severity"]["medium"], 1, "{report:#}");

    // SARIF keeps the primary rule id and lists the others in the result's properties.
    let o = run(
        tmp.path(),
        &["scan", ".", "--format", "sarif", "--fail-on", "none"],
    );
    let sarif: Value = serde_json::from_slice(&o.stdout).unwrap();
    let results: Vec<&Value> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| merged_ids(r).len() > 1 || r["ruleId"] != "k8s/default-namespace")
        .collect();
    assert_eq!(results.len(), 1, "{results:#?}");
    assert_eq!(results[0]["ruleId"], "secret/kubernetes-secret-manifest");
    assert_eq!(merged_ids(results[0]).len(), 3);
}

#[test]
fn an_ignore_naming_any_merged_rule_suppresses_the_merged_finding() {
    for rule in ["secret/generic-password", "k8s/secret-in-manifest"] {
        let tmp = secret_tree();
        std::fs::write(
            tmp.path().join(".rampartignore.yaml"),
            format!("ignores:\n  - rule: {rule}\n    reason: test value\n"),
        )
        .unwrap();
        let report = scan_json(tmp.path());
        let found = secret_findings(&report, "secret.yaml");
        assert_eq!(found.len(), 1, "{rule}: {found:#?}");
        assert_eq!(found[0]["suppression"]["kind"], "ignore_file", "{rule}");
        assert_eq!(report["summary"]["suppressed"]["ignore_file"], 1, "{rule}");
        assert!(report["summary"]["by_severity"].get("medium").is_none());
        assert_eq!(report["stale_ignores"], Value::Array(vec![]), "{rule}");
    }
    // `disable:` of a merged-in rule by the runner's configuration, too.
    let tmp = secret_tree();
    let cfg = tmp.path().join("runner.yaml");
    std::fs::write(&cfg, "disable:\n  - secret/generic-password\n").unwrap();
    let o = run(
        tmp.path(),
        &[
            "scan",
            ".",
            "--format",
            "json",
            "--fail-on",
            "none",
            "--config",
            cfg.to_str().unwrap(),
        ],
    );
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    let found = secret_findings(&report, "secret.yaml");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["suppression"]["kind"], "config");
}

#[test]
fn two_different_secrets_on_one_line_stay_two_findings() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("s.yaml"),
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: app\n\
         stringData: {password: \"S3cr3t-V4lue-9xq\", api_key: \"Zq8mW2pLx7Kd4vRt9Bn3\"}\n",
    )
    .unwrap();
    let report = scan_json(tmp.path());
    let found = secret_findings(&report, "s.yaml");
    let on_line: Vec<&&Value> = found
        .iter()
        .filter(|f| f["location"]["span"]["start_line"] == 6 && f["evidence"].is_string())
        .collect();
    assert_eq!(on_line.len(), 2, "{found:#?}");
    assert_ne!(on_line[0]["evidence"], on_line[1]["evidence"]);
    for f in &found {
        let ids = merged_ids(f);
        assert!(
            !(ids.contains(&"secret/generic-password".to_string())
                && ids.contains(&"secret/generic-api-key".to_string())),
            "two secrets merged: {f:#}"
        );
    }
}

#[test]
fn a_privileged_container_and_a_secret_on_other_lines_are_not_merged() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("p.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: app\nspec:\n  containers:\n  \
         - name: c\n    image: nginx:1.25\n    command: [\"run\", \"--password=S3cr3t-V4lue-9xq\"]\n    \
         securityContext:\n      privileged: true\n",
    )
    .unwrap();
    let report = scan_json(tmp.path());
    let all = report["findings"].as_array().unwrap();
    let privileged: Vec<&Value> = all
        .iter()
        .filter(|f| f["rule_id"] == "k8s/pss-privileged")
        .collect();
    assert_eq!(privileged.len(), 1, "{all:#?}");
    assert!(privileged[0]["properties"].get("merged_rule_ids").is_none());
    let secrets = secret_findings(&report, "p.yaml");
    assert!(!secrets.is_empty(), "{all:#?}");
    for f in all {
        let ids = merged_ids(f);
        assert!(
            ids.iter().all(|id| id.starts_with("secret/")
                || id.ends_with("secret-in-manifest")
                || id.ends_with("env-secret-literal")),
            "unrelated rules merged: {f:#}"
        );
    }
}

#[test]
fn an_inline_ignore_naming_any_merged_rule_on_the_merged_line_suppresses_it() {
    for rule in [
        "secret/generic-password",
        "k8s/secret-in-manifest",
        "k8s/secret-*",
    ] {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(
            tmp.path().join("secret.yaml"),
            SECRET.replace(
                "9xq\"\n",
                &format!("9xq\" # rampart:ignore {rule} -- test value\n"),
            ),
        )
        .unwrap();
        let report = scan_json(tmp.path());
        let found = secret_findings(&report, "secret.yaml");
        assert_eq!(found.len(), 1, "{rule}: {found:#?}");
        assert_eq!(
            found[0]["suppression"]["kind"], "inline",
            "{rule}: {report:#}"
        );
        assert_eq!(found[0]["suppression"]["source"], "secret.yaml:7");
        assert_eq!(report["stale_ignores"], Value::Array(vec![]), "{rule}");
    }
}

#[test]
fn a_baseline_of_a_merged_report_suppresses_the_merged_finding() {
    let tmp = secret_tree();
    let base = scan_json(tmp.path());
    let path = tmp.path().join("base.json");
    std::fs::write(&path, base.to_string()).unwrap();
    let o = run(
        tmp.path(),
        &[
            "scan",
            ".",
            "--format",
            "json",
            "--fail-on",
            "medium",
            "--baseline",
            path.to_str().unwrap(),
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    let found = secret_findings(&report, "secret.yaml");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["suppression"]["kind"], "baseline");
    assert_eq!(merged_ids(found[0]).len(), 3);
}

#[test]
fn a_named_secret_in_a_pod_env_literal_is_one_finding_of_the_named_rule() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("p.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: app\nspec:\n  containers:\n  \
         - name: c\n    image: nginx:1.25\n    env:\n    - name: AWS_KEY\n      \
         value: \"AKIAZ52HGXYRN4WBTEST\"\n",
    )
    .unwrap();
    let report = scan_json(tmp.path());
    let all = report["findings"].as_array().unwrap();
    let on_value: Vec<&Value> = all
        .iter()
        .filter(|f| {
            f["rule_id"] == "secret/aws-access-key" || f["rule_id"] == "k8s/env-secret-literal"
        })
        .collect();
    assert_eq!(on_value.len(), 1, "{all:#?}");
    assert_eq!(on_value[0]["rule_id"], "secret/aws-access-key");
    assert_eq!(
        merged_ids(on_value[0]),
        ["k8s/env-secret-literal", "secret/aws-access-key"]
    );
}
