//! One walk of the tree feeds every scanner, and a committed `.gitignore` cannot hide
//! tracked files from any of them (the repository chooses nothing about the gate).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn rampart(args: &[&str], dir: &Path) -> (i32, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(args)
        .current_dir(dir)
        .env_remove("RAMPART_CONFIG")
        .env("RAMPART_DB", dir.join("no-such.db"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    (
        out.status.code().unwrap_or(-1),
        serde_json::from_str(&stdout).unwrap_or(Value::Null),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

fn git(dir: &Path, args: &[&str]) {
    let o = Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "core.hooksPath=/dev/null",
        ])
        .args(args)
        .current_dir(dir)
        .env_remove("GIT_INDEX_FILE")
        .env_remove("GIT_DIR")
        .output()
        .expect("git");
    assert!(o.status.success(), "git {args:?}: {o:?}");
}

const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: evil\n  namespace: prod\nspec:\n  containers:\n  - name: c\n    image: nginx:1.25\n    securityContext:\n      privileged: true\n";
const DOCKERFILE: &str = "FROM ubuntu:latest\nUSER root\nRUN apt-get install -y curl\n";
const TF: &str = "resource \"google_container_cluster\" \"c\" {\n  name = \"c\"\n}\n";
const REQUIREMENTS: &str = "django==3.2.1\n";

/// A repository whose committed `.gitignore` says `*`: every file is tracked (added with
/// `-f`), so git itself would show and ship them; an untracked `scratch.yaml` is ignored.
fn hiding_repo() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    std::fs::create_dir_all(root.join("deploy")).unwrap();
    std::fs::write(root.join(".gitignore"), "*\n").unwrap();
    std::fs::write(root.join("deploy/pod.yaml"), POD).unwrap();
    std::fs::write(root.join("Dockerfile"), DOCKERFILE).unwrap();
    std::fs::write(root.join("main.tf"), TF).unwrap();
    std::fs::write(root.join("requirements.txt"), REQUIREMENTS).unwrap();
    git(root, &["init", "-q"]);
    git(root, &["add", "-f", "."]);
    git(root, &["commit", "-q", "-m", "hide everything"]);
    // Untracked and ignored: skipped, as git would.
    std::fs::write(root.join("scratch.yaml"), POD.replace("evil", "scratch")).unwrap();
    d
}

fn rule_ids(r: &Value) -> Vec<String> {
    r["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f["rule_id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn paths_of(r: &Value, prefix: &str) -> Vec<String> {
    let mut v: Vec<String> = r["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|f| {
                    f["rule_id"]
                        .as_str()
                        .is_some_and(|id| id.starts_with(prefix))
                })
                .filter_map(|f| {
                    f["location"]["path"]
                        .as_str()
                        .or(f["location"]["file"]["path"].as_str())
                        .map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v.dedup();
    v
}

#[test]
fn committed_gitignore_does_not_hide_tracked_manifests_from_k8s() {
    let d = hiding_repo();
    let (code, r, err) = rampart(&["k8s", ".", "-f", "json"], d.path());
    let ids = rule_ids(&r);
    assert!(
        ids.iter().any(|i| i == "k8s/pss-privileged"),
        "exit {code}, {ids:?}, {err}"
    );
    assert_eq!(code, 1, "{err}");
    // The untracked, ignored file is not scanned.
    let text = r.to_string();
    assert!(!text.contains("scratch"), "{text}");
}

#[test]
fn committed_gitignore_does_not_hide_tracked_dockerfile_and_terraform_from_iac() {
    let d = hiding_repo();
    let (code, r, err) = rampart(&["iac", ".", "-f", "json"], d.path());
    let ids = rule_ids(&r);
    assert!(
        ids.iter().any(|i| i.starts_with("docker/")),
        "exit {code}, {ids:?}, {err}"
    );
    assert!(
        ids.iter().any(|i| i.starts_with("terraform/")),
        "exit {code}, {ids:?}, {err}"
    );
    assert_eq!(r["summary"]["files_scanned"], 2, "{r}");
}

#[test]
fn committed_gitignore_does_not_hide_tracked_lockfiles_from_deps() {
    let d = hiding_repo();
    let out = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["deps", ".", "--list", "--format", "json"])
        .current_dir(d.path())
        .env_remove("RAMPART_CONFIG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("requirements.txt") && stdout.contains("django"),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn committed_gitignore_does_not_hide_tracked_files_from_scan() {
    let d = hiding_repo();
    let (code, r, err) = rampart(&["scan", ".", "-f", "json"], d.path());
    assert_eq!(paths_of(&r, "k8s/"), vec!["deploy/pod.yaml"], "{err}");
    assert_eq!(paths_of(&r, "docker/"), vec!["Dockerfile"], "{err}");
    assert_eq!(paths_of(&r, "terraform/"), vec!["main.tf"], "{err}");
    // requirements.txt was found: its packages could not be matched without a
    // database, which is an error (fail closed), so the run exits 2.
    let errors = r["errors"].to_string();
    assert!(
        errors.contains("dependency vulnerabilities not checked"),
        "{errors}"
    );
    assert_eq!(code, 2, "{err}");
    assert!(!r.to_string().contains("scratch"));
}
