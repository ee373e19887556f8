//! The CLI as a trustworthy gate, through the real binary:
//! - issue 13: a repository's `rampart.yaml` is data, not authority (it may set repository
//!   policy, never where reports go, the gate, secrets in logs, rule files, or paths out of
//!   the tree); scanned content never reaches the terminal as escape sequences;
//! - issue 12: fail closed: a run that could not check something exits 2 (after writing
//!   every report) unless `--allow-errors`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use serde_json::Value;
use std::path::Path;
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

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", stdout(o), stderr(o)))
}

/// A scanned tree: `repo/` (the root) with `files`, inside a temporary directory whose
/// other children play "outside the root".
struct Tree {
    tmp: tempfile::TempDir,
}

impl Tree {
    fn new(files: &[(&str, &str)]) -> Tree {
        let tmp = tempfile::tempdir().unwrap();
        let t = Tree { tmp };
        std::fs::create_dir(t.root()).unwrap();
        for (name, text) in files {
            t.write(name, text);
        }
        t
    }
    fn root(&self) -> std::path::PathBuf {
        self.tmp.path().join("repo")
    }
    fn outside(&self) -> &Path {
        self.tmp.path()
    }
    fn write(&self, name: &str, text: &str) {
        let p = self.root().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
}

fn secret_file() -> (&'static str, String) {
    ("app/config.py", format!("AWS_KEY = \"{AWS_KEY}\"\n"))
}

fn active_rules(r: &Value) -> Vec<String> {
    r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f.get("suppression").is_none())
        .map(|f| f["rule_id"].as_str().unwrap().to_string())
        .collect()
}

fn refused_keys(r: &Value) -> Vec<String> {
    r["summary"]["config"]["refused"]
        .as_array()
        .unwrap_or_else(|| panic!("no summary.config.refused: {r:#}"))
        .iter()
        .map(|x| x["key"].as_str().unwrap().to_string())
        .collect()
}

// ---- issue 13: rampart.yaml found in the scanned root -------------------------------

#[test]
fn repo_config_cannot_choose_where_reports_are_written() {
    let (name, text) = secret_file();
    let t = Tree::new(&[(name, &text)]);
    let target = t.outside().join("pwned.json");
    t.write(
        "rampart.yaml",
        &format!("output:\n  - json={}\n", target.display()),
    );
    let o = run(&t.root(), &["secrets", ".", "-f", "json"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        !target.exists(),
        "a repository config wrote {}",
        target.display()
    );
    let err = stderr(&o);
    assert!(
        err.contains("`output` ignored: runner-only setting"),
        "{err}"
    );
    let r = json(&o);
    assert_eq!(r["summary"]["config"]["source"], "repository");
    assert!(refused_keys(&r).contains(&"output".to_string()), "{r:#}");
}

#[test]
fn repo_config_cannot_print_secrets() {
    let (name, text) = secret_file();
    let t = Tree::new(&[(name, &text), ("rampart.yaml", "show_secrets: true\n")]);
    for format in ["table", "json", "sarif", "markdown", "junit"] {
        let o = run(&t.root(), &["secrets", ".", "-f", format]);
        assert_eq!(code(&o), 1, "{format}: {}", stderr(&o));
        assert!(
            !stdout(&o).contains(AWS_KEY) && !stderr(&o).contains(AWS_KEY),
            "{format} printed the secret in full:\n{}",
            stdout(&o)
        );
        assert!(stdout(&o).contains("AKIA"), "{format}: {}", stdout(&o));
    }
    // The runner may ask for it.
    let o = run(&t.root(), &["secrets", ".", "--show-secrets"]);
    assert!(stdout(&o).contains(AWS_KEY));
}

#[test]
fn repo_config_cannot_turn_the_gate_off() {
    let (name, text) = secret_file();
    let t = Tree::new(&[
        (name, &text),
        (
            "rampart.yaml",
            "fail_on: none\nallow_errors: true\nfail_on_stale_ignores: false\n",
        ),
    ]);
    let o = run(&t.root(), &["secrets", ".", "-f", "json"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let r = json(&o);
    assert_eq!(r["summary"]["gate_failed"], true);
    let refused = refused_keys(&r);
    for k in ["fail_on", "allow_errors", "fail_on_stale_ignores"] {
        assert!(refused.contains(&k.to_string()), "{k}: {refused:?}");
    }
    // Every format says so.
    let o = run(&t.root(), &["secrets", "."]);
    assert!(
        stdout(&o).contains("refused  fail_on: runner-only setting"),
        "{}",
        stdout(&o)
    );
    let o = run(&t.root(), &["secrets", ".", "-f", "markdown"]);
    assert!(
        stdout(&o).contains("**refused**: `fail_on`"),
        "{}",
        stdout(&o)
    );
    let o = run(&t.root(), &["secrets", ".", "-f", "sarif"]);
    let sarif: Value = serde_json::from_slice(&o.stdout).unwrap();
    let props = &sarif["runs"][0]["properties"]["rampart/config"];
    assert_eq!(props["source"], "repository", "{sarif:#}");
    assert!(props["refused"].to_string().contains("fail_on"));
}

#[test]
fn repo_config_cannot_replace_the_rules() {
    let (name, text) = secret_file();
    let t = Tree::new(&[
        (name, &text),
        ("empty-rules.yaml", "provider: nothing\nrules: []\n"),
        (
            "rampart.yaml",
            "secrets:\n  rules: [empty-rules.yaml]\n  no_builtin: true\n",
        ),
    ]);
    let o = run(&t.root(), &["secrets", ".", "-f", "json"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let r = json(&o);
    assert!(active_rules(&r).contains(&"secret/aws-access-key".to_string()));
    let refused = refused_keys(&r);
    assert!(
        refused.contains(&"secrets.rules".to_string()),
        "{refused:?}"
    );
}

#[test]
fn repo_config_excluding_everything_is_refused_and_the_tree_scanned() {
    let (name, text) = secret_file();
    for globs in [r#"["**"]"#, r#"["*"]"#, r#"["app/**", "*.yaml"]"#] {
        let t = Tree::new(&[(name, &text)]);
        t.write("rampart.yaml", &format!("exclude: {globs}\n"));
        let o = run(&t.root(), &["secrets", ".", "-f", "json"]);
        assert_eq!(code(&o), 1, "{globs}: {}", stderr(&o));
        let r = json(&o);
        assert!(
            active_rules(&r).contains(&"secret/aws-access-key".to_string()),
            "{globs}: {r:#}"
        );
        assert!(
            refused_keys(&r).iter().all(|k| k.starts_with("exclude: ")),
            "{r:#}"
        );
        assert!(stderr(&o).contains("hide every file"), "{}", stderr(&o));
        let ex = r["summary"]["config"]["excludes"].as_array().unwrap();
        assert!(ex.iter().all(|e| e["applied"] == false), "{r:#}");
    }
}

#[test]
fn repo_config_excludes_apply_but_are_counted_in_the_report() {
    let (name, text) = secret_file();
    let t = Tree::new(&[
        (name, &text),
        ("vendor/a.py", &format!("K = \"{AWS_KEY}\"\n")),
        ("vendor/b.py", "x = 1\n"),
        ("rampart.yaml", "exclude: [vendor/**]\n"),
    ]);
    let o = run(&t.root(), &["secrets", ".", "-f", "json"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let r = json(&o);
    let paths: Vec<&str> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["location"]["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, vec!["app/config.py"], "{r:#}");
    let ex = &r["summary"]["config"]["excludes"][0];
    assert_eq!(ex["pattern"], "vendor/**");
    assert_eq!(ex["files"], 2);
    assert_eq!(ex["applied"], true);
    assert!(r["summary"]["config"]["applied"]
        .as_array()
        .unwrap()
        .contains(&Value::from("exclude: vendor/**")));
    assert!(
        stderr(&o).contains("exclude `vendor/**` hides 2 file(s)"),
        "{}",
        stderr(&o)
    );
    let o = run(&t.root(), &["secrets", "."]);
    assert!(
        stdout(&o).contains("exclude  vendor/**  hid 2 file(s)"),
        "{}",
        stdout(&o)
    );
}

/// A baseline made from a scan of the tree: it would suppress the secret.
fn baseline_of(t: &Tree, at: &Path) {
    let o = run(
        &t.root(),
        &[
            "secrets",
            ".",
            "--no-config",
            "-q",
            "-o",
            &format!("json={}", at.display()),
        ],
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(at.is_file());
}

#[test]
fn repo_config_paths_outside_the_root_are_refused() {
    let (name, text) = secret_file();
    let t = Tree::new(&[(name, &text)]);
    let base = t.outside().join("x.json");
    baseline_of(&t, &base);
    // Sanity: that baseline does suppress the finding when the runner names it.
    let o = run(
        &t.root(),
        &[
            "secrets",
            ".",
            "--no-config",
            "--baseline",
            base.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));

    for spec in ["../x.json".to_string(), base.display().to_string()] {
        t.write("rampart.yaml", &format!("baseline: {spec}\n"));
        let o = run(&t.root(), &["secrets", ".", "-f", "json"]);
        assert_eq!(code(&o), 1, "{spec}: {}", stderr(&o));
        let r = json(&o);
        assert_eq!(active_rules(&r), vec!["secret/aws-access-key"], "{r:#}");
        assert!(
            refused_keys(&r).contains(&format!("baseline: {spec}")),
            "{r:#}"
        );
    }
}

#[cfg(unix)]
#[test]
fn repo_config_paths_through_a_symlink_out_of_the_root_are_refused() {
    let (name, text) = secret_file();
    let t = Tree::new(&[(name, &text)]);
    let outside_dir = t.outside().join("elsewhere");
    std::fs::create_dir(&outside_dir).unwrap();
    baseline_of(&t, &outside_dir.join("base.json"));
    std::fs::write(
        outside_dir.join("ignore.yaml"),
        "ignores:\n  - rule: \"*\"\n    reason: all\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(&outside_dir, t.root().join("link")).unwrap();
    t.write(
        "rampart.yaml",
        "baseline: link/base.json\nignore_file: link/ignore.yaml\n",
    );
    let o = run(&t.root(), &["secrets", ".", "-f", "json"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let r = json(&o);
    assert_eq!(active_rules(&r), vec!["secret/aws-access-key"], "{r:#}");
    let refused = refused_keys(&r);
    assert!(
        refused.contains(&"baseline: link/base.json".into()),
        "{refused:?}"
    );
    assert!(
        refused.contains(&"ignore_file: link/ignore.yaml".into()),
        "{refused:?}"
    );

    // rampart.yaml itself as a symlink to a file outside: an error, not a silent read.
    std::fs::remove_file(t.root().join("rampart.yaml")).unwrap();
    std::fs::write(outside_dir.join("cfg.yaml"), "fail_on: none\n").unwrap();
    std::os::unix::fs::symlink(outside_dir.join("cfg.yaml"), t.root().join("rampart.yaml"))
        .unwrap();
    let o = run(&t.root(), &["secrets", "."]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("must be a regular file"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn repo_config_policy_inside_the_root_still_applies() {
    let (name, text) = secret_file();
    let t = Tree::new(&[(name, &text)]);
    std::fs::create_dir(t.root().join("ci")).unwrap();
    baseline_of(&t, &t.root().join("ci/baseline.json"));
    t.write(
        "rampart.yaml",
        "baseline: ci/baseline.json\nseverity:\n  secret/aws-access-key: low\n",
    );
    let o = run(&t.root(), &["secrets", ".", "-f", "json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let r = json(&o);
    assert!(active_rules(&r).is_empty(), "{r:#}");
    let applied = r["summary"]["config"]["applied"].to_string();
    assert!(applied.contains("baseline: "), "{applied}");
    assert!(
        applied.contains("severity.secret/aws-access-key: low"),
        "{applied}"
    );
}

#[test]
fn explicit_config_is_trusted_with_every_key() {
    let (name, text) = secret_file();
    let t = Tree::new(&[(name, &text)]);
    let report = t.outside().join("out.json");
    let cfg = t.outside().join("runner.yaml");
    std::fs::write(
        &cfg,
        format!(
            "fail_on: none\nshow_secrets: true\noutput: [json={}]\n",
            report.display()
        ),
    )
    .unwrap();
    let o = run(
        &t.root(),
        &["secrets", ".", "--config", cfg.to_str().unwrap()],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains(AWS_KEY), "{}", stdout(&o));
    assert!(report.is_file());
    let r: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(r["summary"]["config"]["source"], "runner");
    assert!(r["summary"]["config"]["refused"]
        .as_array()
        .unwrap()
        .is_empty());

    // The same through RAMPART_CONFIG; and `--config rampart.yaml` naming the repository
    // file trusts it too (the runner chose it).
    std::fs::remove_file(&report).unwrap();
    let o = rampart(&t.root())
        .env("RAMPART_CONFIG", &cfg)
        .args(["secrets", "."])
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(report.is_file());
    t.write("rampart.yaml", "fail_on: none\n");
    let o = run(&t.root(), &["secrets", ".", "--config", "rampart.yaml"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

#[test]
fn no_config_reads_no_rampart_yaml() {
    let (name, text) = secret_file();
    let t = Tree::new(&[(name, &text), ("rampart.yaml", "exclude: [app/**]\n")]);
    let o = run(&t.root(), &["secrets", ".", "-f", "json", "--no-config"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let r = json(&o);
    assert!(r["summary"].get("config").is_none(), "{r:#}");
    assert_eq!(active_rules(&r), vec!["secret/aws-access-key"]);
    // Not even parsed: a broken file does not matter.
    t.write("rampart.yaml", "fail_on: [\n");
    let o = run(&t.root(), &["secrets", ".", "--no-config"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let o = run(&t.root(), &["secrets", "."]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    // And RAMPART_CONFIG is not read either.
    let o = rampart(&t.root())
        .env("RAMPART_CONFIG", t.outside().join("missing.yaml"))
        .args(["secrets", ".", "--no-config"])
        .output()
        .unwrap();
    assert_eq!(code(&o), 1, "{}", stderr(&o));
}

// ---- issue 13: terminal escapes from scanned content --------------------------------

#[test]
fn scanned_names_and_content_never_reach_the_terminal_raw() {
    let t = Tree::new(&[]);
    // A lockfile that fails to parse, in a directory whose name is an escape sequence,
    // and a manifest whose bad YAML holds escapes.
    let evil_dir = "x\x1b]0;pwned\x07\x1b[2J";
    t.write(
        &format!("{evil_dir}/Cargo.lock"),
        "version = 3\n[[package]]\nname = \"x\"\nversion = \n",
    );
    t.write(
        "k8s/pod\x1b[2J.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: \"\x1b]0;pwned\x07\n  x: [\n",
    );
    for args in [
        vec!["scan", "."],
        vec!["scan", ".", "-f", "markdown"],
        vec!["deps", ".", "--list"],
        vec!["k8s", "."],
    ] {
        let o = run(&t.root(), &args);
        assert!(
            !o.stderr.contains(&0x1b),
            "{args:?}: raw ESC on stderr: {:?}",
            stderr(&o)
        );
        assert!(
            !o.stdout.contains(&0x1b),
            "{args:?}: raw ESC on stdout: {:?}",
            stdout(&o)
        );
        assert!(!o.stderr.contains(&0x07), "{args:?}: raw BEL on stderr");
        assert!(stderr(&o).contains("\\u{1b}"), "{args:?}: {}", stderr(&o));
        assert_eq!(code(&o), 2, "{args:?}: {}", stderr(&o));
    }
}

// ---- issue 12: fail closed ----------------------------------------------------------

const BROKEN_CARGO: &str = "version = 3\n[[package]]\nname = \"x\"\nversion = \n";
const BROKEN_NPM: &str = "{\"lockfileVersion\": 3, \"packages\": {\n";

#[test]
fn broken_lockfiles_exit_2_after_writing_the_report() {
    let t = Tree::new(&[
        ("Cargo.lock", BROKEN_CARGO),
        ("web/package-lock.json", BROKEN_NPM),
    ]);
    let report = t.outside().join("r.json");
    let o = run(
        &t.root(),
        &["scan", ".", "-o", &format!("json={}", report.display())],
    );
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("Cargo.lock"), "{err}");
    assert!(err.contains("web/package-lock.json"), "{err}");
    assert!(err.contains("left content unchecked"), "{err}");
    assert!(
        stdout(&o).contains("gate: incomplete (2 error(s)"),
        "{}",
        stdout(&o)
    );
    let r: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let paths: Vec<&str> = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains(&"Cargo.lock"), "{paths:?}");
    assert!(paths.contains(&"web/package-lock.json"), "{paths:?}");
    assert!(r["summary"].get("errors_allowed").is_none(), "{r:#}");

    // `rampart deps` too.
    let o = run(&t.root(), &["deps", ".", "--list"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
}

#[test]
fn an_incomplete_sbom_exits_2_after_writing_it() {
    let t = Tree::new(&[
        ("Cargo.lock", BROKEN_CARGO),
        (
            "web/package-lock.json",
            r#"{"lockfileVersion": 3, "packages": {"node_modules/a": {"version": "1.0.0"}}}"#,
        ),
    ]);
    let bom = t.outside().join("bom.json");
    let o = run(
        &t.root(),
        &["sbom", ".", "--no-installed", "-o", bom.to_str().unwrap()],
    );
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("Cargo.lock"), "{}", stderr(&o));
    let doc: Value = serde_json::from_slice(&std::fs::read(&bom).unwrap()).unwrap();
    assert!(doc.to_string().contains("pkg:npm/a@1.0.0"), "{doc:#}");
    let o = run(
        &t.root(),
        &[
            "sbom",
            ".",
            "--no-installed",
            "--allow-errors",
            "-o",
            bom.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

#[test]
fn allow_errors_reports_them_and_lets_the_gate_decide() {
    let t = Tree::new(&[
        ("Cargo.lock", BROKEN_CARGO),
        ("web/package-lock.json", BROKEN_NPM),
    ]);
    let o = run(&t.root(), &["scan", ".", "--allow-errors", "-f", "json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).contains("warning: Cargo.lock"), "{}", stderr(&o));
    let r = json(&o);
    assert_eq!(r["errors"].as_array().unwrap().len(), 2);
    assert_eq!(r["summary"]["errors_allowed"], true);
    // With a finding over the gate, the gate decides: 1.
    let (name, text) = secret_file();
    t.write(name, &text);
    let o = run(&t.root(), &["scan", ".", "--allow-errors"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    // Without the flag the errors win over the gate: 2.
    let o = run(&t.root(), &["scan", "."]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    // A runner config may allow errors.
    let cfg = t.outside().join("runner.yaml");
    std::fs::write(&cfg, "allow_errors: true\nfail_on: none\n").unwrap();
    let o = run(&t.root(), &["scan", ".", "--config", cfg.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = run(&t.root(), &["deps", ".", "--list", "--allow-errors"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

#[test]
fn broken_manifest_yaml_exits_2() {
    let t = Tree::new(&[(
        "deploy/pod.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec: [\n",
    )]);
    let o = run(&t.root(), &["k8s", ".", "-f", "json"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let r = json(&o);
    assert!(
        r["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["path"].as_str().unwrap().contains("pod.yaml")),
        "{r:#}"
    );
    let o = run(&t.root(), &["k8s", ".", "--allow-errors"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

#[test]
fn a_tree_without_packages_needs_no_database() {
    let t = Tree::new(&[("README.md", "hello\n")]);
    let o = run(&t.root(), &["scan", ".", "-f", "json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(json(&o)["errors"].as_array().unwrap().is_empty());
    // With packages and no database, the vulnerabilities were not checked: 2.
    t.write(
        "web/package-lock.json",
        r#"{"lockfileVersion": 3, "packages": {"node_modules/a": {"version": "1.0.0"}}}"#,
    );
    let o = run(&t.root(), &["scan", ".", "-f", "json"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("dependency vulnerabilities not checked"));
}

#[test]
fn a_monitor_without_rules_is_an_error() {
    let t = Tree::new(&[
        ("empty.yaml", "# no rules\n"),
        (
            "other-source.yaml",
            "- rule: x\n  desc: x\n  condition: evt.type = open\n  output: x\n  priority: WARNING\n  source: syscall\n",
        ),
    ]);
    for file in ["empty.yaml", "other-source.yaml"] {
        let o = run(&t.root(), &["monitor", "check", "-r", file]);
        assert_eq!(code(&o), 2, "{file}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("no k8s_audit rule"),
            "{file}: {}",
            stderr(&o)
        );
        assert!(!stdout(&o).contains("ok:"), "{}", stdout(&o));
        let o = rampart(&t.root())
            .args(["monitor", "-r", file, "--from-file", "-"])
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert_eq!(code(&o), 2, "{file}: {}", stderr(&o));
    }
}

#[test]
fn audit_event_content_never_reaches_the_terminal_raw() {
    // The user name (and user agent) of an audit event are whatever the client sent.
    let exec = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"2","stage":"ResponseStarted","requestURI":"/api/v1/namespaces/default/pods/web/exec?command=sh&container=app","verb":"create","user":{"username":"alice\u001b]0;pwned\u0007\u001b[2J"},"userAgent":"x\u001b[2J","objectRef":{"resource":"pods","namespace":"default","name":"web","subresource":"exec"},"responseStatus":{"code":101},"stageTimestamp":"2024-05-01T10:00:01.000000Z"}"#;
    let t = Tree::new(&[("audit.log", &format!("{exec}\nnot json \x1b[2J\n"))]);
    let o = run(&t.root(), &["monitor", "--from-file", "audit.log"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stdout(&o).contains("Attach/Exec to pod (user=alice"),
        "{}",
        stdout(&o)
    );
    assert!(
        !o.stdout.contains(&0x1b),
        "raw ESC on stdout: {:?}",
        stdout(&o)
    );
    assert!(
        !o.stderr.contains(&0x1b),
        "raw ESC on stderr: {:?}",
        stderr(&o)
    );
}

#[cfg(unix)]
#[test]
fn a_default_ignore_file_symlinked_out_of_the_root_is_not_read() {
    let (name, text) = secret_file();
    let t = Tree::new(&[(name, &text)]);
    let outside = t.outside().join("ignore-all.yaml");
    std::fs::write(&outside, "ignores:\n  - rule: \"*\"\n    reason: all\n").unwrap();
    std::os::unix::fs::symlink(&outside, t.root().join(".rampartignore.yaml")).unwrap();
    let o = run(&t.root(), &["secrets", ".", "-f", "json"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let r = json(&o);
    assert_eq!(active_rules(&r), vec!["secret/aws-access-key"], "{r:#}");
    assert!(
        r["errors"].to_string().contains("outside the scanned root"),
        "{r:#}"
    );
    // A symlink that stays inside the root is fine.
    std::fs::remove_file(t.root().join(".rampartignore.yaml")).unwrap();
    t.write(
        "ci/ignore.yaml",
        "ignores:\n  - rule: \"*\"\n    reason: all\n",
    );
    std::os::unix::fs::symlink("ci/ignore.yaml", t.root().join(".rampartignore.yaml")).unwrap();
    let o = run(&t.root(), &["secrets", ".", "-f", "json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

#[test]
fn repo_config_runner_keys_inside_sections_are_refused_by_name() {
    let (name, text) = secret_file();
    let t = Tree::new(&[
        (name, &text),
        (
            "rampart.yaml",
            "k8s:\n  allow_remote: true\n  disable: [k8s/pss-sysctls]\n",
        ),
    ]);
    let o = run(&t.root(), &["secrets", ".", "-f", "json"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let r = json(&o);
    assert_eq!(refused_keys(&r), vec!["k8s.allow_remote"], "{r:#}");
    assert!(
        stderr(&o).contains("`k8s.allow_remote` ignored"),
        "{}",
        stderr(&o)
    );
    assert!(r["summary"]["config"]["applied"]
        .as_array()
        .unwrap()
        .contains(&Value::from("k8s.disable: k8s/pss-sysctls")));
}
