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

/// A Kubernetes audit event: `kubectl exec` into a pod.
const EXEC: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"2","stage":"ResponseStarted","requestURI":"/api/v1/namespaces/default/pods/web/exec?command=sh&container=app","verb":"create","user":{"username":"alice"},"objectRef":{"resource":"pods","namespace":"default","name":"web","subresource":"exec"},"responseStatus":{"code":101},"stageTimestamp":"2024-05-01T10:00:01.000000Z"}"#;

#[test]
fn monitor_output_takes_format_equals_path() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("audit.log"), format!("{EXEC}\n")).unwrap();
    let o = run(
        dir,
        &[
            "monitor",
            "--from-file",
            "audit.log",
            "-o",
            "sarif=alerts.sarif",
            "-q",
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        !dir.join("sarif=alerts.sarif").exists(),
        "wrote a file named `sarif=…`"
    );
    let sarif = json_of(&std::fs::read_to_string(dir.join("alerts.sarif")).unwrap());
    assert_eq!(sarif["version"], "2.1.0");
    assert!(!sarif["runs"][0]["results"].as_array().unwrap().is_empty());

    let o = run(
        dir,
        &[
            "monitor",
            "--from-file",
            "audit.log",
            "-o",
            "falco-json=a.jsonl",
            "-q",
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let line = std::fs::read_to_string(dir.join("a.jsonl")).unwrap();
    assert!(
        json_of(line.lines().next().unwrap())["rule"].is_string(),
        "{line}"
    );

    // A plain path keeps --format's format; conflicting formats are an error.
    let o = run(
        dir,
        &[
            "monitor",
            "--from-file",
            "audit.log",
            "-f",
            "json",
            "-o",
            "sarif=x.sarif",
        ],
    );
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("--format is `json`"), "{}", stderr(&o));
    let o = run(
        dir,
        &["monitor", "--from-file", "audit.log", "-o", "pdf=x.pdf"],
    );
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("unknown format `pdf`"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn sizes_take_suffixes_on_the_command_line_and_in_config() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    // 2 KiB of text with a key at the end: skipped under 1K, scanned under 10M.
    let mut text = "x".repeat(2048);
    text.push_str(&format!("\nkey = \"{AWS_KEY}\"\n"));
    std::fs::write(root.join("big.txt"), &text).unwrap();
    // (A file over the limit is content not checked: exit 2 unless --allow-errors.)
    let o = run(
        root,
        &["secrets", ".", "--no-config", "--max-file-size", "1K"],
    );
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("over the 1024 byte limit"),
        "{}",
        stderr(&o)
    );
    let o = run(
        root,
        &["secrets", ".", "--no-config", "--max-file-size", "10M"],
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let o = run(
        root,
        &["secrets", ".", "--no-config", "--max-file-size", "10Q"],
    );
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("not a size"), "{}", stderr(&o));

    std::fs::write(tmp.path().join("runner.yaml"), "max_file_size: 1K\n").unwrap();
    let o = run(root, &["secrets", ".", "--config", "runner.yaml"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("over the 1024 byte limit"),
        "{}",
        stderr(&o)
    );

    // The servers' body limits too (parsed before anything listens).
    let o = run(root, &["monitor", "--max-body-bytes", "1M", "--help"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = run(
        root,
        &["monitor", "--from-file", "-", "--max-body-bytes", "1X"],
    );
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("not a size"), "{}", stderr(&o));
}

#[test]
fn rules_list_rejects_unknown_areas() {
    let tmp = tempfile::tempdir().unwrap();
    let o = run(tmp.path(), &["rules", "list", "--area", "dockerfile"]);
    assert_eq!(code(&o), 2, "{}", stdout(&o));
    let err = stderr(&o);
    assert!(err.contains("unknown area `dockerfile`"), "{err}");
    assert!(err.contains("docker") && err.contains("terraform"), "{err}");
    let o = run(tmp.path(), &["rules", "list", "--area", "docker"]);
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).contains("docker/missing-user"));
}

#[test]
fn rules_explain_finds_peer_ids_and_vulnerabilities() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // A peer tool's id → the Rampart rules that declare it.
    let o = run(dir, &["rules", "explain", "CKV_DOCKER_4"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stdout(&o).contains("docker/add-instead-of-copy"),
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).contains("docker/add-url"), "{}", stdout(&o));

    // A vulnerability id, from the database.
    std::fs::create_dir(dir.join("osv")).unwrap();
    std::fs::write(
        dir.join("osv/GHSA-abcd-1234-wxyz.json"),
        r#"{"id":"GHSA-abcd-1234-wxyz","modified":"2024-01-01T00:00:00Z","summary":"Prototype pollution in leftpad","aliases":["CVE-2024-0001"],"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],"affected":[{"package":{"ecosystem":"npm","name":"leftpad"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.2.0"}]}]}]}"#,
    )
    .unwrap();
    let o = run(dir, &["db", "import", "osv", "--db", "t.db"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stdout(&o).contains("imported 1 record (0 withdrawn"),
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).contains(" from 1 file in "), "{}", stdout(&o));
    for id in ["vuln/GHSA-abcd-1234-wxyz", "CVE-2024-0001"] {
        let o = run(dir, &["rules", "explain", id, "--db", "t.db"]);
        assert_eq!(code(&o), 0, "{id}: {}", stderr(&o));
        let out = stdout(&o);
        assert!(
            out.contains("vuln/GHSA-abcd-1234-wxyz  [critical]"),
            "{out}"
        );
        assert!(out.contains("leftpad (npm)"), "{out}");
    }
    let o = run(
        dir,
        &[
            "rules",
            "explain",
            "vuln/GHSA-none-none-none",
            "--db",
            "t.db",
        ],
    );
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("no vulnerability `GHSA-none-none-none`"),
        "{}",
        stderr(&o)
    );
    // A typo of a Rampart id gets a suggestion.
    let o = run(dir, &["rules", "explain", "docker/misin-user"]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("did you mean `docker/missing-user`"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn scan_takes_db_like_deps() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::create_dir(dir.join("osv")).unwrap();
    std::fs::write(
        dir.join("osv/GHSA-abcd-1234-wxyz.json"),
        r#"{"id":"GHSA-abcd-1234-wxyz","modified":"2024-01-01T00:00:00Z","summary":"Prototype pollution in leftpad","severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],"affected":[{"package":{"ecosystem":"npm","name":"leftpad"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.2.0"}]}]}]}"#,
    )
    .unwrap();
    let o = run(dir, &["db", "import", "osv", "--db", "vuln.db"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    std::fs::create_dir(dir.join("repo")).unwrap();
    std::fs::write(
        dir.join("repo/package-lock.json"),
        r#"{"name":"x","lockfileVersion":3,"packages":{"":{"name":"x"},"node_modules/leftpad":{"version":"1.0.0"}}}"#,
    )
    .unwrap();
    let db = dir.join("vuln.db");
    let o = run(
        dir,
        &[
            "scan",
            "repo",
            "--no-config",
            "-f",
            "json",
            "--db",
            db.to_str().unwrap(),
            "--max-db-age",
            "none",
        ],
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let v = json_of(&stdout(&o));
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule_id"] == "vuln/GHSA-abcd-1234-wxyz"),
        "{v}"
    );
    // Without it, the (missing) default database: not checked, exit 2.
    let o = run(dir, &["scan", "repo", "--no-config"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
}

/// `git` in `dir` with a PATH that has git and the shell but no `rampart`.
fn git(dir: &Path, args: &[&str]) -> Output {
    Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env_remove("RAMPART")
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .env("RAMPART_DB", dir.join("no-such-db.sqlite"))
        .output()
        .unwrap()
}

#[cfg(unix)]
#[test]
fn hook_works_without_rampart_on_path_and_backs_up_what_force_replaces() {
    if Command::new("git").arg("--version").output().is_err() {
        return; // no git on this machine: nothing to hook into
    }
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path();
    assert!(git(repo, &["init", "-q"]).status.success());
    let hook = repo.join(".git/hooks/pre-commit");
    let foreign = "#!/bin/sh\necho my own hook\n";
    std::fs::write(&hook, foreign).unwrap();

    let o = run(repo, &["hook", "install"]);
    assert_eq!(code(&o), 2, "a foreign hook is refused without --force");
    let o = run(repo, &["hook", "install", "--force"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let backup = repo.join(".git/hooks/pre-commit.rampart-backup");
    assert_eq!(std::fs::read_to_string(&backup).unwrap(), foreign);
    assert!(
        stdout(&o).contains("pre-commit.rampart-backup"),
        "{}",
        stdout(&o)
    );

    // `rampart` is not on the PATH git runs the hook with: the recorded binary runs.
    std::fs::write(repo.join("ok.txt"), "hello\n").unwrap();
    assert!(git(repo, &["add", "ok.txt"]).status.success());
    let c = git(repo, &["commit", "-q", "-m", "clean"]);
    assert!(
        c.status.success(),
        "clean commit refused: {}",
        String::from_utf8_lossy(&c.stderr)
    );
    std::fs::write(repo.join("leak.py"), format!("k = \"{AWS_KEY}\"\n")).unwrap();
    assert!(git(repo, &["add", "leak.py"]).status.success());
    let c = git(repo, &["commit", "-q", "-m", "leak"]);
    assert!(!c.status.success(), "the secret was committed");
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&c.stdout),
        String::from_utf8_lossy(&c.stderr)
    );
    assert!(out.contains("secret/aws-access-key"), "{out}");

    // Reinstalling over our own hook keeps the first backup and makes no new one.
    let o = run(repo, &["hook", "install", "--force"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&backup).unwrap(), foreign);
    assert!(!repo.join(".git/hooks/pre-commit.rampart-backup.1").exists());
}

/// A one-layer OCI layout whose layer holds an AWS key in `srv/app/.env`.
fn layout_with_a_secret(dir: &Path) {
    use sha2::Digest as _;
    use std::io::Write as _;
    let sha = |b: &[u8]| format!("sha256:{}", hex::encode(sha2::Sha256::digest(b)));
    let mut b = tar::Builder::new(Vec::new());
    let env = format!("AWS_ACCESS_KEY_ID={AWS_KEY}\n");
    let mut h = tar::Header::new_gnu();
    h.set_size(env.len() as u64);
    h.set_mode(0o644);
    b.append_data(&mut h, "srv/app/.env", env.as_bytes())
        .unwrap();
    let t = b.into_inner().unwrap();
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(&t).unwrap();
    let gz = e.finish().unwrap();
    std::fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
    let put = |b: &[u8]| {
        let d = sha(b);
        std::fs::write(dir.join("blobs/sha256").join(&d[7..]), b).unwrap();
        d
    };
    let cfg = serde_json::to_vec(&serde_json::json!({"architecture": "amd64", "os": "linux",
        "config": {"User": "1000", "Healthcheck": {"Test": ["CMD", "true"]}},
        "rootfs": {"type": "layers", "diff_ids": [sha(&t)]},
        "history": [{"created_by": "COPY rootfs /"}]}))
    .unwrap();
    let m = serde_json::to_vec(&serde_json::json!({"schemaVersion": 2,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": put(&cfg), "size": cfg.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": put(&gz), "size": gz.len()}]}))
    .unwrap();
    let idx = serde_json::json!({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": put(&m), "size": m.len()}]});
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&idx).unwrap()).unwrap();
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
}

#[test]
fn scan_of_an_oci_layout_keeps_the_secrets_in_its_layers() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let layout = dir.join("layout");
    layout_with_a_secret(&layout);
    let secret_paths = |o: &Output| -> Vec<String> {
        json_of(&stdout(o))["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule_id"] == "secret/aws-access-key")
            .map(|f| f["location"]["path"].as_str().unwrap_or("").to_string())
            .collect()
    };
    let image = run(dir, &["image", "layout", "--no-config", "-f", "json"]);
    assert_eq!(
        secret_paths(&image),
        vec!["srv/app/.env".to_string()],
        "{}",
        stderr(&image)
    );
    let scan = run(dir, &["scan", "layout", "--no-config", "-f", "json"]);
    assert_eq!(code(&scan), 1, "{}", stderr(&scan));
    assert_eq!(
        secret_paths(&scan),
        vec!["srv/app/.env".to_string()],
        "{}",
        stderr(&scan)
    );
}

#[test]
fn sbom_output_takes_format_equals_path() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(
        dir.join("package-lock.json"),
        r#"{"name":"x","lockfileVersion":3,"packages":{"":{"name":"x"},"node_modules/leftpad":{"version":"1.0.0"}}}"#,
    )
    .unwrap();
    let o = run(
        dir,
        &["sbom", ".", "--no-installed", "-o", "spdx=sbom.json", "-q"],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        !dir.join("spdx=sbom.json").exists(),
        "wrote a file named `spdx=…`"
    );
    let doc = json_of(&std::fs::read_to_string(dir.join("sbom.json")).unwrap());
    assert_eq!(doc["spdxVersion"], "SPDX-2.3", "{doc}");
    let o = run(dir, &["sbom", ".", "--no-installed", "-o", "c.json", "-q"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let doc = json_of(&std::fs::read_to_string(dir.join("c.json")).unwrap());
    assert_eq!(doc["bomFormat"], "CycloneDX");
    let o = run(dir, &["sbom", ".", "-f", "cyclonedx", "-o", "spdx=x.json"]);
    assert_eq!(code(&o), 2);
}

#[test]
fn a_repository_cannot_switch_every_rule_off() {
    let (_tmp, root) = noisy_tree();
    for yaml in [
        "disable: [\"*\"]\n",
        "severity:\n  \"**\": none\n",
        "severity:\n  \"*/*\": info\n",
        // Runtime and admission rules never fire in a scan: leaving them on is no escape.
        "disable: [\"secret/*\", \"docker/*\", \"k8s/*\", \"rbac/*\", \"terraform/*\", \"image/*\", \"license/*\"]\n",
    ] {
        std::fs::write(root.join("rampart.yaml"), yaml).unwrap();
        let o = run(&root, &["scan", ".", "-f", "json"]);
        assert_eq!(code(&o), 1, "{yaml}: the gate must still run\n{}", stderr(&o));
        let v = json_of(&stdout(&o));
        let refused = v["summary"]["config"]["refused"].as_array().unwrap();
        assert!(!refused.is_empty(), "{yaml}: {v}");
        assert!(stderr(&o).contains("every rule"), "{yaml}: {}", stderr(&o));
    }
    // The runner may (its own --config), and one area off stays the repository's choice.
    std::fs::write(root.join("runner.yaml"), "disable: [\"*\"]\n").unwrap();
    let o = run(&root, &["scan", ".", "--config", "runner.yaml"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    std::fs::write(root.join("rampart.yaml"), "disable: [\"docker/*\"]\n").unwrap();
    let o = run(&root, &["scan", ".", "-f", "json"]);
    assert_eq!(json_of(&stdout(&o))["summary"]["suppressed"]["config"], 6);
}
