//! Issue 12, "tune the noise" and CLI consistency, through the real binary: the
//! `--min-severity` display filter, rule selection, the Markdown size limit, stale-ignore
//! scoping, `-o` everywhere, size suffixes, `rules` lookups and `hook install`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A fake AWS key the built-in rules report (high severity).
const AWS_KEY: &str = "AKIAZ52HGXYRN4WBTEST";

fn rampart(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rampart"));
    c.current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("RAMPART_CONFIG")
        // A database that does not exist, so runs never depend on the machine's cache.
        .env("RAMPART_DB", dir.join("no-such-db.sqlite"));
    c
}

fn run(dir: &Path, args: &[&str]) -> Output {
    rampart(dir).args(args).output().unwrap()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// A tree with one high secret and six Dockerfile findings (2 medium, 3 low, 1 info).
fn noisy_tree() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(
        root.join("Dockerfile"),
        "FROM ubuntu\nRUN apt-get install curl\n",
    )
    .unwrap();
    std::fs::write(root.join("a.py"), format!("key = \"{AWS_KEY}\"\n")).unwrap();
    (tmp, root)
}

fn rule_ids(results: &[Value], key: &str) -> Vec<String> {
    results
        .iter()
        .map(|r| r[key].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn min_severity_filters_every_display_but_not_the_gate_or_json() {
    let (tmp, root) = noisy_tree();
    let out = tmp.path();
    let o = run(
        &root,
        &[
            "scan",
            ".",
            "--no-config",
            "--min-severity",
            "medium",
            "--fail-on",
            "low",
            "-o",
            &format!("json={}", out.join("r.json").display()),
            "-o",
            &format!("sarif={}", out.join("r.sarif").display()),
            "-o",
            &format!("junit={}", out.join("r.xml").display()),
            "-o",
            &format!("markdown={}", out.join("r.md").display()),
        ],
    );
    // The gate still sees the low findings.
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
    let table = stdout(&o);
    assert!(table.contains("docker/missing-user"), "{table}");
    assert!(!table.contains("docker/missing-healthcheck"), "{table}");
    assert!(!table.contains("docker/apt-unpinned"), "{table}");
    assert!(
        table.contains("hidden:         4 below medium (3 low, 1 info"),
        "{table}"
    );
    // Counts by severity are the gate's: unchanged.
    assert!(table.contains("findings:       7 ("), "{table}");

    let json = json_of(&std::fs::read_to_string(out.join("r.json")).unwrap());
    assert_eq!(json["findings"].as_array().unwrap().len(), 7);
    assert_eq!(json["summary"]["display_filter"]["min_severity"], "medium");
    assert_eq!(json["summary"]["display_filter"]["hidden"]["low"], 3);
    assert_eq!(json["summary"]["display_filter"]["hidden"]["info"], 1);

    let sarif = json_of(&std::fs::read_to_string(out.join("r.sarif")).unwrap());
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let ids = rule_ids(results, "ruleId");
    assert_eq!(ids.len(), 3, "{ids:?}");
    assert!(!ids.iter().any(|i| i == "docker/missing-healthcheck"));
    assert_eq!(
        sarif["runs"][0]["properties"]["rampart/displayFilter"]["hidden"]["low"],
        3
    );

    let junit = std::fs::read_to_string(out.join("r.xml")).unwrap();
    assert!(junit.contains("docker/missing-user"), "{junit}");
    assert!(!junit.contains("docker/apt-unpinned"), "{junit}");
    assert!(junit.contains("4 below medium"), "{junit}");

    let md = std::fs::read_to_string(out.join("r.md")).unwrap();
    assert!(md.contains("docker/missing-user"), "{md}");
    assert!(!md.contains("docker/apt-missing-yes"), "{md}");
    assert!(md.contains("Not shown: 4 below medium"), "{md}");
}

#[test]
fn min_severity_rejects_unknown_names() {
    let (_tmp, root) = noisy_tree();
    let o = run(
        &root,
        &["scan", ".", "--no-config", "--min-severity", "loud"],
    );
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("--min-severity"), "{}", stderr(&o));
}

#[test]
fn summaries_say_one_file_not_one_files() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("a.txt"), "hello\n").unwrap();
    let o = run(tmp.path(), &["secrets", "a.txt", "--no-config"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stdout(&o).contains("scanned:        1 file, 6 B"),
        "{}",
        stdout(&o)
    );
    let o = run(
        tmp.path(),
        &["secrets", "a.txt", "--no-config", "-f", "markdown"],
    );
    assert!(
        stdout(&o).contains("Scanned 1 file (6 bytes)"),
        "{}",
        stdout(&o)
    );
}

/// A tree with `n` files holding one high secret each, plus the noisy Dockerfile.
fn many_secrets(n: usize) -> (tempfile::TempDir, PathBuf) {
    let (tmp, root) = noisy_tree();
    for i in 0..n {
        std::fs::write(
            root.join(format!("config-file-with-a-rather-long-name-{i:05}.env")),
            format!("AWS_ACCESS_KEY_ID={AWS_KEY}\n"),
        )
        .unwrap();
    }
    (tmp, root)
}

#[test]
fn markdown_stays_under_githubs_comment_limit() {
    let (_tmp, root) = many_secrets(1200);
    let o = run(&root, &["scan", ".", "--no-config", "-f", "markdown"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let md = stdout(&o);
    assert!(
        md.chars().count() <= 65_536,
        "{} characters",
        md.chars().count()
    );
    // Top findings first (the secrets are high, the Dockerfile's lower), then counts.
    assert!(md.contains("secret/aws-access-key"), "{md}");
    assert!(
        !md.contains("docker/apt-unpinned"),
        "low findings should be cut first"
    );
    assert!(md.contains("### Not shown"), "{}", &md[md.len() - 2000..]);
    assert!(md.contains("--markdown-max-chars"), "{md}");
    assert!(md.contains("1 info"), "{}", &md[md.len() - 2000..]);
    // The summary still counts every finding.
    assert!(md.contains("| **Total** | **1207** |"), "{}", &md[..2000]);

    let o = run(
        &root,
        &[
            "scan",
            ".",
            "--no-config",
            "-f",
            "markdown",
            "--markdown-max-chars",
            "5000",
        ],
    );
    let md = stdout(&o);
    assert!(md.len() <= 5000, "{} bytes", md.len());
    assert!(md.contains("### Not shown"), "{md}");

    let o = run(
        &root,
        &[
            "scan",
            ".",
            "--no-config",
            "-f",
            "markdown",
            "--markdown-max-chars",
            "0",
        ],
    );
    let md = stdout(&o);
    assert!(md.len() > 65_536, "0 means no limit");
    assert!(md.contains("docker/apt-unpinned"));
    assert!(!md.contains("### Not shown"));
}

#[test]
fn stale_ignores_only_for_scanners_that_ran() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::write(
        root.join(".rampartignore.yaml"),
        "ignores:\n  - rule: secret/aws-access-key\n    reason: test key\n  \
         - rule: vuln/GHSA-xxxx-yyyy-zzzz\n    reason: not reachable\n  \
         - path: \"fixtures/**\"\n    reason: fixtures\n  \
         - rule: docker/missing-healthcheck\n    reason: sidecar image\n",
    )
    .unwrap();
    std::fs::write(
        root.join("Dockerfile"),
        "FROM ubuntu:22.04\nUSER app\nHEALTHCHECK CMD true\n",
    )
    .unwrap();
    let o = run(
        root,
        &[
            "iac",
            ".",
            "--no-config",
            "-f",
            "json",
            "--fail-on-stale-ignores",
        ],
    );
    let v = json_of(&stdout(&o));
    let stale: Vec<String> = v["stale_ignores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["rule"].as_str().unwrap().to_string())
        .collect();
    // The Dockerfile rule is iac's and matched nothing: stale. The secret and vuln
    // entries belong to scanners that did not run; the path-only entry could be any
    // scanner's.
    assert_eq!(
        stale,
        vec!["docker/missing-healthcheck".to_string()],
        "{stale:?}"
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        !stderr(&o).contains("secret/aws-access-key"),
        "{}",
        stderr(&o)
    );

    // `rampart scan` runs every scanner: all four are stale there.
    let o = run(root, &["scan", ".", "--no-config", "-f", "json"]);
    let v = json_of(&stdout(&o));
    assert_eq!(v["stale_ignores"].as_array().unwrap().len(), 4, "{v}");
}

fn summary_json(o: &Output) -> Value {
    json_of(&stdout(o))["summary"].clone()
}

#[test]
fn skip_and_only_rule_globs_on_the_command_line() {
    let (_tmp, root) = noisy_tree();
    let o = run(
        &root,
        &[
            "scan",
            ".",
            "--no-config",
            "-f",
            "json",
            "--skip-rule",
            "docker/apt-*",
        ],
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let s = summary_json(&o);
    assert_eq!(s["suppressed"]["config"], 3, "{s}");
    assert_eq!(s["by_severity"]["low"], 1, "{s}");
    let v = json_of(&stdout(&o));
    let off = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == "docker/apt-unpinned")
        .unwrap();
    assert_eq!(off["suppression"]["kind"], "config");
    assert!(
        off["suppression"]["reason"]
            .as_str()
            .unwrap()
            .contains("--skip-rule docker/apt-*"),
        "{off}"
    );

    // Only the Dockerfile rules: the secret no longer fails the gate.
    let o = run(
        &root,
        &[
            "scan",
            ".",
            "--no-config",
            "-f",
            "json",
            "--only-rule",
            "docker/*",
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let s = summary_json(&o);
    assert_eq!(s["suppressed"]["config"], 1, "{s}");
    assert!(s["by_severity"].get("high").is_none(), "{s}");

    // A typo is an error with a suggestion, before anything is scanned.
    let o = run(
        &root,
        &[
            "scan",
            ".",
            "--no-config",
            "--skip-rule",
            "docker/misin-user",
        ],
    );
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("matches no rule (did you mean `docker/missing-user`?)"),
        "{}",
        stderr(&o)
    );
    assert!(stdout(&o).is_empty());
}

#[test]
fn repository_config_disables_per_area_and_with_severity_none_visibly() {
    let (_tmp, root) = noisy_tree();
    std::fs::write(
        root.join("rampart.yaml"),
        "docker:\n  disable: [\"docker/apt-*\"]\n\
         severity:\n  \"docker/missing-*\": none\n  \"docker/untagged-base\": critical\n",
    )
    .unwrap();
    let o = run(&root, &["scan", ".", "-f", "json"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let v = json_of(&stdout(&o));
    let s = &v["summary"];
    // apt-* (3) and missing-* (2) are off, shown as suppressions of kind config.
    assert_eq!(s["suppressed"]["config"], 5, "{s}");
    assert_eq!(s["by_severity"]["critical"], 1, "{s}");
    let applied: Vec<&str> = s["config"]["applied"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(
        applied.contains(&"docker.disable: docker/apt-*"),
        "{applied:?}"
    );
    assert!(
        applied.contains(&"severity.docker/missing-*: none"),
        "{applied:?}"
    );

    // The table says so too.
    let o = run(&root, &["scan", "."]);
    assert!(
        stdout(&o).contains("suppressed:     5 (config 5)"),
        "{}",
        stdout(&o)
    );

    // A repository `disable:` naming no rule is a configuration error.
    std::fs::write(
        root.join("rampart.yaml"),
        "terraform:\n  disable: [terraform/s3-pubic]\n",
    )
    .unwrap();
    let o = run(&root, &["scan", "."]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("`terraform/s3-pubic` matches no rule"),
        "{}",
        stderr(&o)
    );
    // A rule of another area under an area's `disable:` too.
    std::fs::write(
        root.join("rampart.yaml"),
        "image:\n  disable: [docker/missing-user]\n",
    )
    .unwrap();
    let o = run(&root, &["scan", "."]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("not a `image/…` rule"),
        "{}",
        stderr(&o)
    );
}
