//! Integration tests driving the real `rampart` binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const AWS_KEY: &str = "AKIAZ52HGXYRN4WBTEST";
const AWS_KEY2: &str = "AKIAQ7RJ3KD5PLMN2XYZ";

fn rampart() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rampart"));
    c.env("NO_COLOR", "1").env_remove("RAMPART_DB");
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

fn rule_ids(report: &Value, active_only: bool) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| !active_only || f.get("suppression").is_none())
        .map(|f| f["rule_id"].as_str().unwrap().to_string())
        .collect()
}

fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap()
        .to_path_buf()
}

#[test]
fn exit_codes_follow_the_gate() {
    let dir = tree(&[("config.py", &format!("KEY = \"{AWS_KEY}\"\n"))]);
    let o = run(&["secrets", "."], dir.path());
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    let o = run(&["secrets", ".", "--fail-on", "critical"], dir.path());
    assert_eq!(code(&o), 0, "aws-access-key is high, below critical");
    let o = run(&["secrets", ".", "--fail-on", "none"], dir.path());
    assert_eq!(code(&o), 0);
    let clean = tree(&[("a.txt", "nothing to see\n")]);
    assert_eq!(code(&run(&["scan", "."], clean.path())), 0);
    let o = run(&["secrets", ".", "--fail-on", "bogus"], dir.path());
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("unknown severity"), "{}", stderr(&o));
    assert_eq!(code(&run(&["secrets", "/nonexistent/dir"], dir.path())), 2);
    assert_eq!(code(&run(&["frobnicate"], dir.path())), 2);
}

#[test]
fn secrets_are_redacted_unless_asked() {
    let dir = tree(&[("config.py", &format!("KEY = \"{AWS_KEY}\"\n"))]);
    for fmt in ["table", "json", "sarif", "junit", "markdown"] {
        let o = run(
            &["secrets", ".", "--format", fmt, "--fail-on", "none"],
            dir.path(),
        );
        let out = stdout(&o);
        assert!(
            !out.contains(AWS_KEY),
            "{fmt} output leaks the secret:\n{out}"
        );
        assert!(
            out.contains("AKIA…"),
            "{fmt} output lacks the redacted form:\n{out}"
        );
    }
    let o = run(
        &["secrets", ".", "--format", "json", "--show-secrets"],
        dir.path(),
    );
    assert!(stdout(&o).contains(AWS_KEY));
    let r = json(&o);
    let fp = r["findings"][0]["fingerprint"].as_str().unwrap();
    assert_eq!(fp.len(), 64);
    assert!(!fp.contains("AKIA"));
}

#[test]
fn json_report_shape_and_location() {
    let dir = tree(&[("sub/config.py", &format!("# config\nKEY = \"{AWS_KEY}\"\n"))]);
    let r = json(&run(&["secrets", ".", "--format", "json"], dir.path()));
    assert_eq!(r["schema"], "rampart.report/v1");
    let f = &r["findings"][0];
    assert_eq!(f["rule_id"], "secret/aws-access-key");
    assert_eq!(f["severity"], "high");
    assert_eq!(f["location"]["type"], "file");
    assert_eq!(f["location"]["path"], "sub/config.py");
    assert_eq!(f["location"]["span"]["start_line"], 2);
    assert_eq!(f["location"]["span"]["start_column"], 8);
    assert!(!f["remediation"].as_str().unwrap().is_empty());
    assert_eq!(r["rules"][0]["id"], "secret/aws-access-key");
    assert_eq!(r["summary"]["files_scanned"], 1);
    assert_eq!(r["summary"]["gate_failed"], true);
}

#[test]
fn several_outputs_in_one_run_and_sarif_validates() {
    let dir = tree(&[("config.py", &format!("KEY = \"{AWS_KEY}\"\n"))]);
    let out = tempfile::tempdir().unwrap();
    let sarif = out.path().join("r.sarif");
    let junit = out.path().join("r.xml");
    let md = out.path().join("report.md");
    let o = run(
        &[
            "scan",
            ".",
            "--quiet",
            "--output",
            &format!("sarif={}", sarif.display()),
            "--output",
            &junit.display().to_string(),
            "-o",
            &format!("markdown={}", md.display()),
        ],
        dir.path(),
    );
    assert_eq!(code(&o), 1);
    assert!(
        stdout(&o).is_empty(),
        "--quiet prints nothing: {}",
        stdout(&o)
    );
    let log: Value = serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    assert_eq!(log["version"], "2.1.0");
    let result = &log["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "secret/aws-access-key");
    assert_eq!(
        result["locations"][0]["physicalLocation"]["region"]["startLine"],
        1
    );
    assert!(!result["partialFingerprints"]
        .as_object()
        .unwrap()
        .is_empty());
    assert!(!log["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .is_empty());
    if let Some(schema_path) = rampart_testkit::shared("schemas/sarif-2.1.0.json") {
        let schema: Value =
            serde_json::from_str(&std::fs::read_to_string(schema_path).unwrap()).unwrap();
        let v = jsonschema::validator_for(&schema).unwrap();
        let errors: Vec<String> = v.iter_errors(&log).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "SARIF schema errors: {errors:#?}");
    }
    assert!(std::fs::read_to_string(&junit)
        .unwrap()
        .contains("<testsuite"));
    assert!(std::fs::read_to_string(&md)
        .unwrap()
        .contains("secret/aws-access-key"));
}

#[test]
fn inline_ignores_suppress_and_stale_ones_are_reported() {
    let dir = tree(&[
        (
            "a.py",
            &format!("KEY = \"{AWS_KEY}\"  # rampart:ignore secret/aws-access-key -- fixture\n"),
        ),
        (
            "b.py",
            &format!("# rampart:ignore secret/aws-access-key -- fixture\nKEY = \"{AWS_KEY2}\"\n"),
        ),
        (
            "c.py",
            "# rampart:ignore secret/github-pat -- nothing here\nx = 1\n",
        ),
    ]);
    let o = run(&["secrets", ".", "--format", "json"], dir.path());
    assert_eq!(code(&o), 0, "both findings are suppressed: {}", stdout(&o));
    let r = json(&o);
    assert_eq!(rule_ids(&r, false).len(), 2);
    assert!(rule_ids(&r, true).is_empty());
    assert_eq!(r["findings"][0]["suppression"]["kind"], "inline");
    assert_eq!(r["findings"][0]["suppression"]["reason"], "fixture");
    let stale = r["stale_ignores"].as_array().unwrap();
    assert_eq!(stale.len(), 1, "{stale:?}");
    assert_eq!(stale[0]["source"], "c.py:1");
    let o = run(&["secrets", ".", "--fail-on-stale-ignores"], dir.path());
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("stale ignore c.py:1"), "{}", stderr(&o));
}

#[test]
fn ignore_file_with_expiry_and_stale_entries() {
    let dir = tree(&[
        ("tests/fixture.py", &format!("KEY = \"{AWS_KEY}\"\n")),
        ("src/app.py", &format!("KEY = \"{AWS_KEY2}\"\n")),
        (
            ".rampartignore.yaml",
            "ignores:\n  - rule: secret/aws-*\n    path: tests/**\n    reason: fixtures\n  - rule: secret/slack-*\n    reason: never matches\n  - path: src/**\n    reason: expired\n    expires: 2001-01-01\n",
        ),
    ]);
    let o = run(&["secrets", ".", "--format", "json"], dir.path());
    assert_eq!(code(&o), 1, "src/app.py is still active (expired entry)");
    let r = json(&o);
    let active: Vec<&Value> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f.get("suppression").is_none())
        .collect();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0]["location"]["path"], "src/app.py");
    let stale: Vec<String> = r["stale_ignores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{} {}",
                s["source"].as_str().unwrap(),
                s["message"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(stale.len(), 2, "{stale:?}");
    assert!(stale[0].contains(".rampartignore.yaml:5"), "{stale:?}");
    assert!(stale[1].contains("expired on 2001-01-01"), "{stale:?}");
    // A broken ignore file is a usage error with its line.
    std::fs::write(
        dir.path().join(".rampartignore.yaml"),
        "ignores:\n  - reason: x\n",
    )
    .unwrap();
    let o = run(&["secrets", "."], dir.path());
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains(".rampartignore.yaml:2"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn baseline_counts_only_new_findings_and_survives_line_moves() {
    let dir = tree(&[("config.py", &format!("KEY = \"{AWS_KEY}\"\n"))]);
    let base = dir.path().join("baseline.json");
    let o = run(
        &[
            "secrets",
            "config.py",
            "-o",
            &format!("json={}", base.display()),
            "-q",
        ],
        dir.path(),
    );
    assert_eq!(code(&o), 1);
    // Move the secret down and add a new one.
    std::fs::write(
        dir.path().join("config.py"),
        format!("# moved\n\n\nKEY = \"{AWS_KEY}\"\n"),
    )
    .unwrap();
    let o = run(
        &[
            "secrets",
            "config.py",
            "--baseline",
            "baseline.json",
            "--format",
            "json",
        ],
        dir.path(),
    );
    assert_eq!(
        code(&o),
        0,
        "the moved secret is in the baseline: {}",
        stdout(&o)
    );
    assert_eq!(json(&o)["findings"][0]["suppression"]["kind"], "baseline");
    std::fs::write(
        dir.path().join("config.py"),
        format!("KEY = \"{AWS_KEY}\"\nKEY2 = \"{AWS_KEY2}\"\n"),
    )
    .unwrap();
    let o = run(
        &[
            "secrets",
            "config.py",
            "--baseline",
            "baseline.json",
            "--format",
            "json",
        ],
        dir.path(),
    );
    assert_eq!(code(&o), 1, "a new secret fails the gate");
    assert_eq!(rule_ids(&json(&o), true).len(), 1);
    let o = run(&["secrets", ".", "--baseline", "missing.json"], dir.path());
    assert_eq!(code(&o), 2);
}

#[test]
fn config_file_is_found_and_flags_win() {
    let dir = tree(&[
        ("config.py", &format!("KEY = \"{AWS_KEY}\"\n")),
        (
            "rampart.yaml",
            "fail_on: none\nseverity:\n  secret/aws-access-key: low\n",
        ),
    ]);
    let o = run(&["secrets", ".", "--format", "json"], dir.path());
    assert_eq!(code(&o), 0, "config sets fail_on: none");
    assert_eq!(json(&o)["findings"][0]["severity"], "low");
    let o = run(&["secrets", ".", "--fail-on", "low"], dir.path());
    assert_eq!(code(&o), 1, "the flag wins over the config");
    std::fs::write(
        dir.path().join("rampart.yaml"),
        "fail_on: none\nfailon: high\n",
    )
    .unwrap();
    let o = run(&["secrets", "."], dir.path());
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("rampart.yaml:2"), "{}", stderr(&o));
    let o = run(&["secrets", ".", "--config", "nope.yaml"], dir.path());
    assert_eq!(code(&o), 2);
}

#[test]
fn config_disables_rules_and_excludes_paths() {
    let dir = tree(&[
        ("vendor/lib.py", &format!("KEY = \"{AWS_KEY}\"\n")),
        ("app.py", &format!("KEY = \"{AWS_KEY2}\"\n")),
        ("rampart.yaml", "exclude: [vendor/**]\n"),
    ]);
    let r = json(&run(&["secrets", ".", "--format", "json"], dir.path()));
    assert_eq!(rule_ids(&r, true).len(), 1);
    std::fs::write(
        dir.path().join("rampart.yaml"),
        "secrets:\n  disable: [secret/aws-*]\n",
    )
    .unwrap();
    let o = run(&["secrets", ".", "--format", "json"], dir.path());
    assert_eq!(code(&o), 0);
    assert!(rule_ids(&json(&o), false).is_empty());
}

#[test]
fn gitignore_is_respected_unless_no_ignore() {
    // In a git work tree (outside one `.gitignore` means nothing: see trust_secrets.rs).
    let dir = tree(&[
        (".gitignore", "build/\n"),
        ("build/out.txt", &format!("{AWS_KEY}\n")),
    ]);
    let git = Command::new("git")
        .args(["init", "-q"])
        .current_dir(dir.path())
        .env_remove("GIT_DIR")
        .status()
        .unwrap();
    assert!(git.success());
    assert_eq!(code(&run(&["secrets", "."], dir.path())), 0);
    assert_eq!(code(&run(&["secrets", ".", "--no-ignore"], dir.path())), 1);
}

#[test]
fn stdin_mode() {
    let mut child = rampart()
        .args(["secrets", "-", "--format", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("export AWS_ACCESS_KEY_ID={AWS_KEY}\n").as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(code(&o), 1);
    let r = json(&o);
    assert_eq!(r["findings"][0]["location"]["path"], "<stdin>");
}

/// `rampart secrets -` reads a Kubernetes Secret piped in (`kubectl get secret -o yaml |
/// rampart secrets -`): its base64 `data` is decoded and checked, as for a file, and a
/// Secret that does not parse is an error (exit 2), not a silent pass.
#[test]
fn kubernetes_secret_manifest_on_stdin_is_decoded() {
    use base64::Engine as _;
    let stdin_scan = |text: &str| {
        let mut child = rampart()
            .args(["secrets", "-", "--format", "json"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let manifest = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n  namespace: prod\ndata:\n  aws: {}\n",
        base64::engine::general_purpose::STANDARD.encode(AWS_KEY)
    );
    let o = stdin_scan(&manifest);
    assert_eq!(code(&o), 1, "{}", String::from_utf8_lossy(&o.stderr));
    let r = json(&o);
    let findings = r["findings"].as_array().unwrap();
    let aws = findings
        .iter()
        .find(|f| f["rule_id"] == "secret/aws-access-key")
        .unwrap_or_else(|| panic!("decoded AWS key not found: {findings:#?}"));
    assert_eq!(aws["location"]["object"]["name"], "creds");
    assert_eq!(aws["location"]["field_path"], "data.aws");
    let broken =
        stdin_scan("apiVersion: v1\nkind: Secret\nmetadata:\n  name: x\ndata:\n  k: [unclosed\n");
    assert_eq!(
        code(&broken),
        2,
        "{}",
        String::from_utf8_lossy(&broken.stdout)
    );
}

#[test]
fn kubernetes_secret_manifests_are_decoded_and_named() {
    use std::fmt::Write as _;
    let b64 = |s: &str| {
        // Minimal base64 encoder for the test.
        const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let b = s.as_bytes();
        let mut out = String::new();
        for c in b.chunks(3) {
            let n = (u32::from(c[0]) << 16)
                | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
                | u32::from(*c.get(2).unwrap_or(&0));
            for i in 0..4 {
                if i <= c.len() {
                    let _ = write!(out, "{}", T[((n >> (18 - 6 * i)) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    };
    let manifest = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  a: b\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n  namespace: prod\ndata:\n  user: {}\n  aws: {}\n",
        b64("admin"),
        b64(AWS_KEY)
    );
    let dir = tree(&[("deploy/secret.yaml", &manifest)]);
    let r = json(&run(&["secrets", ".", "--format", "json"], dir.path()));
    let findings = r["findings"].as_array().unwrap();
    let aws = findings
        .iter()
        .find(|f| f["rule_id"] == "secret/aws-access-key")
        .unwrap_or_else(|| panic!("decoded AWS key not found: {findings:#?}"));
    assert_eq!(aws["location"]["type"], "k8s_object");
    assert_eq!(aws["location"]["object"]["kind"], "Secret");
    assert_eq!(aws["location"]["object"]["namespace"], "prod");
    assert_eq!(aws["location"]["object"]["name"], "creds");
    assert_eq!(aws["location"]["field_path"], "data.aws");
    assert_eq!(aws["location"]["span"]["start_line"], 15);
    assert!(findings
        .iter()
        .any(|f| f["rule_id"] == "secret/kubernetes-secret-manifest"));
    // A Secret with only placeholders is quiet.
    let quiet = tree(&[(
        "s.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: x\nstringData:\n  password: ${DB_PASSWORD}\n",
    )]);
    let r = json(&run(&["secrets", ".", "--format", "json"], quiet.path()));
    assert!(rule_ids(&r, false).is_empty(), "{r:#}");
}

#[test]
fn bad_input_is_reported_and_the_scan_goes_on() {
    let dir = tree(&[("ok.py", &format!("KEY = \"{AWS_KEY}\"\n"))]);
    let root = dir.path();
    std::fs::write(root.join("blob.bin"), b"\x7fELF\x00\x00\x01binary").unwrap();
    std::fs::write(
        root.join("latin1.txt"),
        b"caf\xe9 \xff\xfe AKIAQ7RJ3KD5PLMN2XYZ\n",
    )
    .unwrap();
    let long = format!("{}{AWS_KEY2} {}", "a ".repeat(50_000), "b".repeat(100_000));
    std::fs::write(root.join("long.txt"), long).unwrap();
    // A 1 GiB sparse file: skipped by the size limit, not read.
    let big = std::fs::File::create(root.join("huge.log")).unwrap();
    big.set_len(1 << 30).unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(root, root.join("loop")).unwrap();
        std::os::unix::fs::symlink("/nonexistent/target", root.join("dangling")).unwrap();
    }
    // The 1 GiB file was not checked: an error, so exit 2 (fail closed); the rest of the
    // tree is still scanned and reported.
    let o = run(&["secrets", ".", "--format", "json"], root);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let allowed = run(&["secrets", ".", "--allow-errors"], root);
    assert_eq!(code(&allowed), 1, "{}", stderr(&allowed));
    let r = json(&o);
    let paths: Vec<&str> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["location"]["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains(&"ok.py"), "{paths:?}");
    assert!(paths.contains(&"latin1.txt"), "{paths:?}");
    assert!(paths.contains(&"long.txt"), "{paths:?}");
    let skipped = &r["summary"]["skipped"];
    assert_eq!(skipped["binary"], 1, "{skipped}");
    assert_eq!(skipped["too_large"], 1, "{skipped}");
    #[cfg(unix)]
    assert_eq!(skipped["symlink"], 2, "{skipped}");
    assert!(stderr(&o).contains("huge.log"), "{}", stderr(&o));
}

#[test]
fn rules_list_explain_check() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(
        &["rules", "list", "--area", "secret", "--format", "json"],
        dir.path(),
    );
    assert_eq!(code(&o), 0);
    let list = json(&o);
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"secret/aws-access-key"));
    assert!(ids.contains(&"secret/kubernetes-secret-manifest"));
    for r in list.as_array().unwrap() {
        for field in ["title", "description", "remediation", "severity"] {
            assert!(
                !r[field].as_str().unwrap_or_default().is_empty(),
                "{} has no {field}",
                r["id"]
            );
        }
    }
    let o = run(&["rules", "explain", "secret/aws-access-key"], dir.path());
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).contains("Remediation"));
    assert!(stdout(&o).contains("Keywords: akia"));
    assert_eq!(
        code(&run(&["rules", "explain", "secret/nope"], dir.path())),
        2
    );
    let o = run(&["rules", "check"], dir.path());
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    // A rule file whose example does not fire fails the check.
    std::fs::write(
        dir.path().join("bad.yaml"),
        "provider: Test\nrules:\n  - id: secret/test-x\n    title: t\n    severity: low\n    description: d\n    remediation: r\n    keywords: [zzx_]\n    pattern: 'zzx_[0-9]{8}'\n    examples: ['zzx_12ab']\n    negative_examples: ['nothing']\n",
    )
    .unwrap();
    let o = run(&["rules", "check", "--rules", "bad.yaml"], dir.path());
    assert_eq!(code(&o), 1);
    assert!(
        stdout(&o).contains("missing: secret/test-x"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn example_repository_findings() {
    let example = workspace_root().join("examples/demo-app");
    // Without a vulnerability database the demo's packages are not checked: exit 2.
    let o = run(
        &["scan", example.to_str().unwrap(), "--format", "json"],
        &workspace_root(),
    );
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("dependency vulnerabilities not checked"));
    // With the bundled OSV records (as examples/demo.sh does), everything is checked.
    let db = tempfile::tempdir().unwrap();
    let db_path = db.path().join("vuln.db");
    let with_db = |args: &[&str]| {
        rampart()
            .env("RAMPART_DB", &db_path)
            .args(args)
            .current_dir(workspace_root())
            .output()
            .unwrap()
    };
    let imported = with_db(&["db", "import", "examples/osv"]);
    assert_eq!(code(&imported), 0, "{}", stderr(&imported));
    let o = with_db(&["scan", example.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code(&o), 1, "the demo has planted secrets: {}", stderr(&o));
    assert!(
        json(&o)["errors"].as_array().unwrap().is_empty(),
        "{}",
        stderr(&o)
    );
    let r = json(&o);
    let ids = rule_ids(&r, true);
    for want in ["secret/aws-access-key", "secret/kubernetes-secret-manifest"] {
        assert!(ids.iter().any(|i| i == want), "missing {want} in {ids:?}");
    }
    // The inline-suppressed fixture is suppressed, not active.
    let suppressed: Vec<&Value> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["suppression"]["kind"] == "inline")
        .collect();
    assert_eq!(suppressed.len(), 1);
    let by_file: Vec<&Value> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["suppression"]["kind"] == "ignore_file")
        .collect();
    assert_eq!(
        by_file.len(),
        1,
        "the Stripe test key is ignored by the ignore file"
    );
    assert!(
        r["stale_ignores"].as_array().unwrap().is_empty(),
        "{:#}",
        r["stale_ignores"]
    );
    // Placeholders in .env stay quiet.
    let text = stdout(&o);
    assert!(!text.contains("AKIAIOSFODNN7EXAMPLE"));
}
