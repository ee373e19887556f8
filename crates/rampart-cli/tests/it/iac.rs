//! `rampart iac` through the real binary: Dockerfile and Terraform findings with lines,
//! `kubernetes_*` resources, bad input, SARIF output and the gate.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

fn run(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rampart"))
        .env("NO_COLOR", "1")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

/// (rule id, path, line) of every finding.
fn hits(report: &Value) -> Vec<(String, String, u64)> {
    let mut v: Vec<_> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_string(),
                f["location"]["path"].as_str().unwrap_or("").to_string(),
                f["location"]["span"]["start_line"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    v.sort();
    v
}

fn tree() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(t.path().join("app")).unwrap();
    std::fs::write(
        t.path().join("app/Dockerfile"),
        "FROM node:latest\n\
         RUN apt-get update && \\\n    apt-get install -y curl\n\
         ENV API_TOKEN=abc123def456\n\
         EXPOSE 22\n\
         CMD node server.js\n",
    )
    .unwrap();
    std::fs::create_dir_all(t.path().join("infra")).unwrap();
    std::fs::write(
        t.path().join("infra/eks.tf"),
        "resource \"aws_eks_cluster\" \"main\" {\n  name = \"main\"\n  vpc_config {\n    subnet_ids = var.subnets\n    endpoint_public_access = true\n  }\n}\n",
    )
    .unwrap();
    std::fs::write(
        t.path().join("infra/pod.tf"),
        "resource \"kubernetes_pod_v1\" \"debug\" {\n  metadata { name = \"debug\" }\n  spec {\n    host_network = true\n    container {\n      name  = \"d\"\n      image = \"busybox:1.36\"\n    }\n  }\n}\n",
    )
    .unwrap();
    std::fs::write(t.path().join("README.md"), "not scanned\n").unwrap();
    t
}

#[test]
fn dockerfile_and_terraform_findings_with_lines() {
    let t = tree();
    let o = run(&["iac", ".", "-f", "json", "--fail-on", "none"], t.path());
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let r = json(&o);
    let h = hits(&r);
    for want in [
        ("docker/latest-tag", "app/Dockerfile", 1),
        ("docker/missing-user", "app/Dockerfile", 1),
        ("docker/missing-healthcheck", "app/Dockerfile", 1),
        ("docker/apt-no-install-recommends", "app/Dockerfile", 2),
        ("docker/apt-lists-not-cleaned", "app/Dockerfile", 2),
        ("docker/secret-in-env", "app/Dockerfile", 4),
        ("docker/expose-ssh", "app/Dockerfile", 5),
        ("docker/cmd-shell-form", "app/Dockerfile", 6),
        ("terraform/eks-public-endpoint", "infra/eks.tf", 5),
        ("terraform/eks-public-cidr-open", "infra/eks.tf", 3),
        ("terraform/eks-audit-logging", "infra/eks.tf", 1),
        ("terraform/eks-secrets-encryption", "infra/eks.tf", 1),
        ("k8s/pss-host-namespaces", "infra/pod.tf", 4),
    ] {
        assert!(
            h.contains(&(want.0.to_string(), want.1.to_string(), want.2)),
            "missing {want:?} in {h:#?}"
        );
    }
    assert!(!h.iter().any(|(_, p, _)| p == "README.md"));
    assert_eq!(r["summary"]["files_scanned"], 3);
    // The secret value never appears in the report.
    assert!(!String::from_utf8_lossy(&o.stdout).contains("abc123def456"));
}

#[test]
fn gate_and_sarif() {
    let t = tree();
    let o = run(&["iac", ".", "-q", "-o", "sarif=out.sarif"], t.path());
    assert_eq!(
        o.status.code(),
        Some(1),
        "high findings trip the default gate"
    );
    let sarif: Value =
        serde_json::from_str(&std::fs::read_to_string(t.path().join("out.sarif")).unwrap())
            .unwrap();
    let rules = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    assert!(rules.iter().any(|r| r["id"] == "docker/secret-in-env"));
    let clean = tempfile::tempdir().unwrap();
    std::fs::write(
        clean.path().join("Dockerfile"),
        "FROM debian:12.5\nUSER 1000\nHEALTHCHECK CMD [\"true\"]\nCMD [\"sleep\", \"1\"]\n",
    )
    .unwrap();
    let o = run(&["iac", ".", "-f", "json"], clean.path());
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(json(&o)["findings"].as_array().unwrap().len(), 0);
}

#[test]
fn bad_files_are_reported_and_the_rest_is_scanned() {
    let t = tree();
    std::fs::write(
        t.path().join("infra/broken.tf"),
        "resource \"x\" \"y\" {\n  a = [\n",
    )
    .unwrap();
    // broken.tf was not checked: exit 2 even with the gate off; --allow-errors: 0.
    let o = run(&["iac", ".", "-f", "json", "--fail-on", "none"], t.path());
    assert_eq!(o.status.code(), Some(2));
    let allowed = run(
        &["iac", ".", "--fail-on", "none", "--allow-errors"],
        t.path(),
    );
    assert_eq!(allowed.status.code(), Some(0));
    let r = json(&o);
    let errors = r["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0]["path"], "infra/broken.tf");
    assert!(errors[0]["line"].as_u64().is_some());
    assert!(hits(&r)
        .iter()
        .any(|(id, _, _)| id == "terraform/eks-public-endpoint"));
    let o = run(&["iac", "does-not-exist"], t.path());
    assert_eq!(o.status.code(), Some(2));
}

/// `docs/rules/docker.md` and `docs/rules/terraform.md` are generated from the registry.
/// Regenerate with `RAMPART_UPDATE_DOCS=1 cargo test -p rampart-cli --test it iac`.
#[test]
fn iac_rule_docs_are_fresh() {
    for area in ["docker", "terraform"] {
        let mut metas: Vec<_> = rampart_iac::metas()
            .into_iter()
            .filter(|m| m.area == area)
            .collect();
        metas.sort_by(|a, b| a.id.cmp(&b.id));
        let want = rampart_report::markdown::rule_docs(area, &metas);
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../docs/rules/{area}.md"));
        if std::env::var("RAMPART_UPDATE_DOCS").is_ok_and(|v| v == "1") {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &want).unwrap();
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "docs/rules/{area}.md is stale: run RAMPART_UPDATE_DOCS=1 cargo test -p rampart-cli --test it iac"
        );
    }
}
