//! Trust tests for the secret scanner, through the real `rampart` binary: fingerprints are
//! no guessing oracle, redaction reveals at most a quarter of a secret, committed ignore
//! files cannot hide tracked files, inline-ignore markers are bounded, and `--rules` adds
//! to the built-in rules.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use rampart_testkit::bounded::Run;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

const AWS_KEY: &str = "AKIAZ52HGXYRN4WBTEST";
const AWS_KEY2: &str = "AKIAQ7RJ3KD5PLMN2XYZ";

/// A rule that fires on any quoted `password = "…"`, however weak the password.
const PASSWORD_RULE: &str = r#"provider: Test
rules:
  - id: secret/test-password
    title: Test password
    severity: high
    description: any password assignment
    remediation: rotate it
    keywords: [password]
    pattern: 'password\s*=\s*"([^"]+)"'
"#;

fn rampart() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rampart"));
    c.env("NO_COLOR", "1")
        .env_remove("RAMPART_DB")
        .env_remove("GIT_INDEX_FILE")
        .env_remove("GIT_DIR");
    c
}

fn run(args: &[&str], dir: &Path) -> Output {
    rampart().args(args).current_dir(dir).output().unwrap()
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

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", stdout(o), stderr(o)))
}

fn findings(report: &Value) -> Vec<Value> {
    report["findings"].as_array().unwrap().clone()
}

fn of_rule(report: &Value, rule: &str) -> Vec<Value> {
    findings(report)
        .into_iter()
        .filter(|f| f["rule_id"] == rule)
        .collect()
}

fn write(dir: &Path, name: &str, text: &str) {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
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
    assert!(o.status.success(), "git {args:?}: {}", stderr(&o));
}

/// SHA-256 over length-prefixed parts: the documented fingerprint construction.
fn lp_hash(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    hex::encode(h.finalize())
}

/// Every hex string of 16+ characters anywhere in a JSON value.
fn hex_strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => {
            for w in s.split(|c: char| !c.is_ascii_hexdigit()) {
                if w.len() >= 16 {
                    out.push(w.to_ascii_lowercase());
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| hex_strings(x, out)),
        Value::Object(o) => o.values().for_each(|x| hex_strings(x, out)),
        _ => {}
    }
}

// ---------------------------------------------------------------- issue 13: fingerprints

/// An attacker holding a public SARIF/JSON report tries a password dictionary against
/// every hash in it, with the construction the fingerprint documentation gives (and the
/// variants an attacker would try): none may confirm the password.
#[test]
fn fingerprints_are_not_a_password_oracle() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "rules.yaml", PASSWORD_RULE);
    let line = "db_password = \"hunter2\"";
    write(
        dir.path(),
        "app/settings.py",
        &format!("# settings\n{line}\n"),
    );
    let o = run(
        &[
            "secrets",
            "app",
            "--rules",
            "rules.yaml",
            "-f",
            "json",
            "-o",
            "sarif=out.sarif",
            "--fail-on",
            "none",
        ],
        dir.path(),
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let report = json(&o);
    let found = of_rule(&report, "secret/test-password");
    assert_eq!(found.len(), 1, "{report}");
    let sarif: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("out.sarif")).unwrap()).unwrap();
    let mut published = Vec::new();
    hex_strings(&report, &mut published);
    hex_strings(&sarif, &mut published);
    assert!(
        published.iter().any(|h| h.len() == 64),
        "the fingerprint is in the reports"
    );
    let rule = b"secret/test-password".as_slice();
    let paths: [&[u8]; 2] = [b"settings.py", b"app/settings.py"];
    let dictionary = [
        "123456", "password", "letmein", "qwerty", "hunter1", "hunter2", "hunter3", "dragon",
    ];
    for cand in dictionary {
        let mut digest = Sha256::new();
        digest.update(b"rampart-secret\0");
        digest.update(cand.as_bytes());
        let digest = hex::encode(digest.finalize());
        let guessed_line = line.replace("hunter2", cand);
        for path in paths {
            let candidates = [
                lp_hash(&[rule, path, digest.as_bytes()]),
                lp_hash(&[rule, path, cand.as_bytes()]),
                lp_hash(&[rule, path, guessed_line.as_bytes()]),
                lp_hash(&[rule, path, guessed_line.as_bytes(), b"0"]),
                hex::encode(Sha256::digest(cand.as_bytes())),
                digest.clone(),
            ];
            for c in candidates {
                assert!(
                    !published.iter().any(|h| c.starts_with(h.as_str())),
                    "the published report confirms the guess `{cand}`"
                );
            }
        }
    }
    // Entropy is a function of the secret too: not published.
    for f in &found {
        assert!(f["properties"].get("entropy").is_none(), "{f}");
    }
}

/// Redaction shows at most a quarter of a secret (a 9-character password: 2 characters).
#[test]
fn redaction_reveals_at_most_a_quarter() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "rules.yaml", PASSWORD_RULE);
    let secret = "Tr0ub4dor";
    write(dir.path(), "s.py", &format!("password = \"{secret}\"\n"));
    for fmt in ["json", "table", "sarif", "junit", "markdown"] {
        let o = run(
            &[
                "secrets",
                "s.py",
                "--rules",
                "rules.yaml",
                "-f",
                fmt,
                "--fail-on",
                "none",
            ],
            dir.path(),
        );
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        let out = stdout(&o);
        for i in 0..=secret.len() - 3 {
            let gram = &secret[i..i + 3];
            assert!(
                !out.contains(gram),
                "{fmt} output shows `{gram}` of a 9-character secret:\n{out}"
            );
        }
        if fmt == "json" {
            let f = &of_rule(&json(&o), "secret/test-password")[0];
            assert_eq!(f["evidence"], "Tr…", "{f}");
        }
    }
}

/// A baseline made before 5 lines were inserted above the secret still suppresses it.
#[test]
fn baseline_survives_inserting_lines_above() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "cfg/app.py", &format!("KEY = \"{AWS_KEY}\"\n"));
    let o = run(
        &["secrets", ".", "-q", "-o", "json=../baseline.json"],
        &dir.path().join("cfg"),
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    write(
        dir.path(),
        "cfg/app.py",
        &format!("import os\n\n# one\n# two\n\nKEY = \"{AWS_KEY}\"\n"),
    );
    let o = run(
        &[
            "secrets",
            "cfg",
            "--baseline",
            "baseline.json",
            "-f",
            "json",
        ],
        dir.path(),
    );
    assert_eq!(code(&o), 0, "{}\n{}", stdout(&o), stderr(&o));
    let r = json(&o);
    assert_eq!(findings(&r).len(), 1);
    assert_eq!(findings(&r)[0]["suppression"]["kind"], "baseline");
    assert_eq!(findings(&r)[0]["location"]["span"]["start_line"], 6);
}

/// Two findings of one rule on one line, or on two lines of identical text, never share
/// a fingerprint (a baseline or an ignore entry for one must not hide the other).
#[test]
fn same_rule_same_line_text_gets_distinct_fingerprints() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "k.py",
        &format!(
            "KEYS = [\"{AWS_KEY}\", \"{AWS_KEY2}\"]\nKEY = \"{AWS_KEY}\"\nx = 1\nKEY = \"{AWS_KEY}\"\n"
        ),
    );
    let o = run(&["secrets", "k.py", "-f", "json"], dir.path());
    let r = json(&o);
    let found = of_rule(&r, "secret/aws-access-key");
    assert_eq!(found.len(), 4, "{r}");
    let mut fps: Vec<&str> = found
        .iter()
        .map(|f| f["fingerprint"].as_str().unwrap())
        .collect();
    fps.sort_unstable();
    fps.dedup();
    assert_eq!(fps.len(), 4, "fingerprints collide: {r}");
    // A baseline of the first run suppresses all four; a fifth copy is new.
    std::fs::write(dir.path().join("base.json"), &o.stdout).unwrap();
    let mut text = std::fs::read_to_string(dir.path().join("k.py")).unwrap();
    text.push_str(&format!("KEY = \"{AWS_KEY}\"\n"));
    std::fs::write(dir.path().join("k.py"), text).unwrap();
    let o = run(
        &["secrets", "k.py", "--baseline", "base.json", "-f", "json"],
        dir.path(),
    );
    assert_eq!(code(&o), 1, "the fifth copy is new");
    let active: Vec<Value> = findings(&json(&o))
        .into_iter()
        .filter(|f| f.get("suppression").is_none())
        .collect();
    assert_eq!(active.len(), 1, "{active:?}");
}

// ------------------------------------------------------ issues 12/13: git and ignore files

fn git_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q", "-b", "main"]);
    dir
}

/// A committed `.gitignore` listing a tracked directory does not hide it from the scan;
/// an untracked ignored file is skipped and named.
#[test]
fn committed_gitignore_cannot_hide_tracked_files() {
    let dir = git_repo();
    let d = dir.path();
    write(d, "config/prod.env", &format!("AWS_KEY={AWS_KEY}\n"));
    write(d, "app.py", "print('hi')\n");
    git(d, &["add", "config/prod.env", "app.py"]);
    write(d, ".gitignore", "config/\nlocal.env\n");
    write(d, ".ignore", "app.py\n");
    git(d, &["add", ".gitignore", ".ignore"]);
    git(d, &["commit", "-q", "-m", "init"]);
    write(d, "local.env", &format!("AWS_KEY={AWS_KEY2}\n"));
    let o = run(&["secrets", ".", "-f", "json"], d);
    assert_eq!(code(&o), 1, "{}\n{}", stdout(&o), stderr(&o));
    let r = json(&o);
    let paths: Vec<String> = findings(&r)
        .iter()
        .map(|f| f["location"]["path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(paths, vec!["config/prod.env"], "{r}");
    assert_eq!(r["summary"]["skipped"]["gitignored"], 1, "{r}");
    assert!(
        stderr(&o).contains("local.env"),
        "the ignored untracked file is named: {}",
        stderr(&o)
    );
    // Scanning a sub-directory of the work tree behaves the same.
    let o = run(&["secrets", "config", "-f", "json"], d);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
}

/// Outside a git work tree, `.gitignore` is not applied (as git and ripgrep do).
#[test]
fn gitignore_outside_a_work_tree_is_not_applied() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), ".gitignore", "build/\n");
    write(dir.path(), "build/out.txt", &format!("{AWS_KEY}\n"));
    let o = run(&["secrets", ".", "-f", "json"], dir.path());
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    assert_eq!(findings(&json(&o)).len(), 1);
}

/// `--exclude` and the config's `exclude` apply to `--staged` and `--git-history`.
#[test]
fn exclude_applies_to_staged_and_history() {
    let dir = git_repo();
    let d = dir.path();
    write(d, "README.md", "hi\n");
    git(d, &["add", "README.md"]);
    git(d, &["commit", "-q", "-m", "init"]);
    write(d, "vendor/lib.py", &format!("KEY = \"{AWS_KEY}\"\n"));
    write(d, "fixtures/f.py", &format!("KEY = \"{AWS_KEY2}\"\n"));
    write(d, "rampart.yaml", "exclude: [fixtures/**]\n");
    git(
        d,
        &["add", "vendor/lib.py", "fixtures/f.py", "rampart.yaml"],
    );
    let o = run(&["secrets", "--staged", ".", "-f", "json"], d);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let paths = |o: &Output| -> Vec<String> {
        findings(&json(o))
            .iter()
            .map(|f| f["location"]["path"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(paths(&o), vec!["vendor/lib.py"], "config exclude, staged");
    let o = run(
        &[
            "secrets",
            "--staged",
            ".",
            "--exclude",
            "vendor/",
            "-f",
            "json",
        ],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    git(d, &["commit", "-q", "-m", "add"]);
    let o = run(&["secrets", "--git-history", ".", "-f", "json"], d);
    assert_eq!(paths(&o), vec!["vendor/lib.py"], "config exclude, history");
    let o = run(
        &[
            "secrets",
            "--git-history",
            ".",
            "--exclude",
            "vendor/**",
            "-f",
            "json",
        ],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stdout(&o));
}

// ----------------------------------------------------- R6: inline-ignore markers on one line

/// Run `rampart ARGS` in `dir` under the testkit's time and memory bound.
fn bounded(args: &[&str], dir: &Path) -> Run {
    rampart_testkit::bounded::run(env!("CARGO_BIN_EXE_rampart"), dir, args)
}

#[test]
fn many_ignore_markers_on_one_line_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "ignore_markers_10000.txt",
        &format!("{}\n", "# rampart:ignore ".repeat(10_000)),
    );
    let run = bounded(&["secrets", "ignore_markers_10000.txt"], dir.path());
    run.assert_within(Duration::from_secs(5), rampart_testkit::bounded::MAX_RSS_MB);
    let o = run.out;
    let err = stderr(&o);
    assert_eq!(
        code(&o),
        0,
        "{}",
        err.chars().take(2000).collect::<String>()
    );
    assert!(
        o.stderr.len() + o.stdout.len() < 64 * 1024,
        "{} bytes of stderr, {} of stdout",
        o.stderr.len(),
        o.stdout.len()
    );
    assert!(
        err.contains("more"),
        "stale ignores beyond the cap are summarised: {err}"
    );
    // JSON: bounded count, each quoting a bounded excerpt.
    let run = bounded(
        &["secrets", "ignore_markers_10000.txt", "-f", "json"],
        dir.path(),
    );
    run.assert_bounded();
    let o = run.out;
    let r = json(&o);
    let stale = r["stale_ignores"].as_array().unwrap();
    assert!(
        !stale.is_empty() && stale.len() <= 101,
        "{} stale",
        stale.len()
    );
    for s in stale {
        assert!(s.to_string().len() < 1024, "{s}");
    }
}

/// Stale ignores are bounded per scan too: 60 files of 30 stale markers list 1,000 and
/// count the rest.
#[test]
fn stale_ignores_are_bounded_per_scan() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..60 {
        write(
            dir.path(),
            &format!("f{i:02}.py"),
            &"x = 1  # rampart:ignore secret/jwt\n".repeat(30),
        );
    }
    let o = run(&["secrets", ".", "-f", "json"], dir.path());
    let r = json(&o);
    let stale = r["stale_ignores"].as_array().unwrap();
    assert_eq!(stale.len(), 1001, "{}", stale.len());
    let last = stale.iter().find(|s| s["source"] == "<scan>").unwrap();
    assert!(
        last["message"].as_str().unwrap().starts_with("260 more"),
        "{last}"
    );
}

/// Directive examples in documentation and in string literals are not directives, so
/// they are never reported stale; a real one in a comment still is.
#[test]
fn ignore_examples_in_docs_and_strings_are_not_stale() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "docs/ignores.md",
        "Use a comment:\n\n```python\nKEY = \"AKIA…\"  # rampart:ignore secret/aws-access-key -- fixture\n```\n\nor `# rampart:ignore` on the line above.\n",
    );
    write(
        dir.path(),
        "src/help.py",
        "HELP = \"add '# rampart:ignore RULE' to the line\"\nOTHER = 'x // rampart:ignore'\nTPL = `<!-- rampart:ignore -->`\n",
    );
    write(
        dir.path(),
        "src/real.py",
        "x = 1  # rampart:ignore secret/jwt\n",
    );
    let o = run(&["secrets", ".", "-f", "json"], dir.path());
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let r = json(&o);
    let sources: Vec<String> = r["stale_ignores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["source"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(sources, vec!["src/real.py:1"], "{r}");
}

// --------------------------------------------------------------- issue 12: --rules adds

#[test]
fn rules_files_add_to_the_builtin_rules() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "rules.yaml", PASSWORD_RULE);
    write(
        dir.path(),
        "app.py",
        &format!("KEY = \"{AWS_KEY}\"\npassword = \"hunter2\"\n"),
    );
    let ids = |o: &Output| -> Vec<String> {
        let mut v: Vec<String> = findings(&json(o))
            .iter()
            .map(|f| f["rule_id"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    let o = run(
        &["secrets", "app.py", "--rules", "rules.yaml", "-f", "json"],
        dir.path(),
    );
    assert_eq!(
        ids(&o),
        vec!["secret/aws-access-key", "secret/test-password"],
        "{}",
        stderr(&o)
    );
    let o = run(
        &[
            "secrets",
            "app.py",
            "--rules",
            "rules.yaml",
            "--no-builtin-rules",
            "-f",
            "json",
        ],
        dir.path(),
    );
    assert_eq!(ids(&o), vec!["secret/test-password"], "{}", stderr(&o));
    // From a trusted configuration file too (`--config`; a repository's own config may
    // not bring rule files).
    write(
        dir.path(),
        "runner.yaml",
        "secrets:\n  rules: [rules.yaml]\n",
    );
    let o = run(
        &["secrets", "app.py", "--config", "runner.yaml", "-f", "json"],
        dir.path(),
    );
    assert_eq!(
        ids(&o),
        vec!["secret/aws-access-key", "secret/test-password"],
        "{}",
        stderr(&o)
    );
    // A gitleaks file extending the defaults carries its own version of the built-ins:
    // its disabledRules hold (the built-in layer is not added a second time).
    write(
        dir.path(),
        "gl.toml",
        "[extend]\nuseDefault = true\ndisabledRules = [\"aws-access-token\"]\n",
    );
    let o = run(
        &["secrets", "app.py", "--rules", "gl.toml", "-f", "json"],
        dir.path(),
    );
    assert!(ids(&o).is_empty(), "{:?} {}", ids(&o), stderr(&o));
    // --no-builtin-rules without any rule file would scan with nothing: an error.
    let o = run(&["secrets", "app.py", "--no-builtin-rules"], dir.path());
    assert_eq!(code(&o), 2, "{}", stderr(&o));
}
