//! Hostile YAML through the real binary, bounded in time and memory: the reproducers
//! R1–R4 of the black-box fuzzing round (../shared/repro/README.md, 2026-12-07). Each
//! used to take seconds to minutes and gigabytes; each must now end with a clear error
//! naming the file (and line) within a few seconds and a few hundred MB.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)]

use rampart_testkit::bounded::Run;
use std::path::Path;

/// Run `rampart ARGS` in `dir` under the testkit's time and memory bound.
/// `RAMPART_BIN` runs another build (e.g. an older release, to see these tests fail on it).
fn bounded(dir: &Path, args: &[&str]) -> Run {
    let bin = std::env::var("RAMPART_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_rampart").into());
    rampart_testkit::bounded::run(&bin, dir, args)
}

/// R1: 40 macros, each using the previous one twice (2^39 checks if inlined).
#[test]
fn r1_macro_chain_is_a_budget_error_naming_the_macro() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("- macro: m0\n  condition: ka.verb=create\n");
    for i in 1..40 {
        text.push_str(&format!(
            "- macro: m{i}\n  condition: m{} and m{}\n",
            i - 1,
            i - 1
        ));
    }
    text.push_str(
        "- rule: r\n  desc: d\n  condition: m39\n  output: o\n  priority: WARNING\n  source: k8s_audit\n",
    );
    std::fs::write(dir.path().join("macro_chain.yaml"), text).unwrap();
    let run = bounded(dir.path(), &["monitor", "check", "-r", "macro_chain.yaml"]);
    run.assert_bounded();
    let text = run.text();
    assert_eq!(run.out.status.code(), Some(2), "{text}");
    assert!(text.contains("expands to more than"), "{text}");
    assert!(text.contains("macro 'm"), "{text}");
    assert!(text.contains("macro_chain.yaml:"), "{text}");
}

/// R1, the sound case: the same chain kept under the budget loads, and each macro is
/// compiled once (a shared subtree), not copied per use.
#[test]
fn r1_macro_chain_under_the_budget_loads() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("- macro: m0\n  condition: ka.verb=create\n");
    for i in 1..12 {
        text.push_str(&format!(
            "- macro: m{i}\n  condition: m{} and m{}\n",
            i - 1,
            i - 1
        ));
    }
    text.push_str(
        "- rule: r\n  desc: d\n  condition: m11\n  output: o\n  priority: WARNING\n  source: k8s_audit\n",
    );
    std::fs::write(dir.path().join("chain.yaml"), text).unwrap();
    let run = bounded(dir.path(), &["monitor", "check", "-r", "chain.yaml"]);
    run.assert_bounded();
    assert_eq!(run.out.status.code(), Some(0), "{}", run.text());
}

/// R2: nine levels of nine aliases in a rules file (558 bytes, 9^9 nodes expanded).
#[test]
fn r2_alias_bomb_in_rules_is_an_error_with_a_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("- list: l0\n  items: &a0 [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n");
    for i in 1..9 {
        let refs = vec![format!("*a{}", i - 1); 9].join(",");
        text.push_str(&format!("- list: l{i}\n  items: &a{i} [{refs}]\n"));
    }
    std::fs::write(dir.path().join("alias_bomb_rules.yaml"), text).unwrap();
    let run = bounded(
        dir.path(),
        &["monitor", "check", "-r", "alias_bomb_rules.yaml"],
    );
    run.assert_bounded();
    let text = run.text();
    assert_eq!(run.out.status.code(), Some(2), "{text}");
    assert!(text.contains("alias bomb"), "{text}");
    assert!(text.contains("alias_bomb_rules.yaml:"), "{text}");
}

fn pnpm_dir(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("app")).unwrap();
    std::fs::write(dir.path().join("app/pnpm-lock.yaml"), text).unwrap();
    dir
}

/// R3: a lockfile nested 100,000 deep.
#[test]
fn r3_deep_pnpm_lockfile_is_rejected_quickly() {
    let dir = pnpm_dir(&format!(
        "lockfileVersion: '9.0'\npackages: {}{}\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    ));
    let run = bounded(dir.path(), &["deps", "app", "--list"]);
    run.assert_bounded();
    let text = run.text();
    assert!(text.contains("pnpm-lock.yaml"), "{text}");
    assert!(text.contains("nesting deeper than"), "{text}");
}

/// R4: unused anchors plus an unterminated deep sequence.
#[test]
fn r4_bomb_pnpm_lockfile_is_rejected_quickly() {
    let mut text = String::from("a0: &a0 [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n");
    for i in 1..8 {
        let refs = vec![format!("*a{}", i - 1); 9].join(",");
        text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    text.push_str(&format!("dependencies:\n  x: {}\n", "[".repeat(7848)));
    let dir = pnpm_dir(&text);
    let run = bounded(dir.path(), &["deps", "app", "--list"]);
    run.assert_bounded();
    let text = run.text();
    assert!(text.contains("pnpm-lock.yaml"), "{text}");
    assert!(
        text.contains("nesting deeper than") || text.contains("alias bomb"),
        "{text}"
    );
}

/// Flow collections closed at (or left of) their key's indentation, which yaml-cpp and so
/// Falco accept, 2,000 times in one rules file (60 KB): re-indented in one pass, not one
/// whole-file re-parse per line (26 s in a debug build before).
#[test]
fn rules_with_many_lenient_flow_lists_load_in_linear_time() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for i in 0..2000 {
        text.push_str(&format!("- list: l{i}\n  items: [\n    x,\n    y\n]\n"));
    }
    text.push_str(
        "- rule: r\n  desc: d\n  condition: ka.verb in (l1999)\n  output: o\n  priority: WARNING\n  source: k8s_audit\n",
    );
    std::fs::write(dir.path().join("lenient.yaml"), text).unwrap();
    let run = bounded(dir.path(), &["monitor", "check", "-r", "lenient.yaml"]);
    run.assert_bounded();
    assert_eq!(run.out.status.code(), Some(0), "{}", run.text());
}

// ------------------------------------------ scanned YAML through the one loader (h11)
//
// Each of these readers used serde_yaml, which took over 30 s (killed) on a 100,000-deep
// flow sequence (`[[[[…`): a denial of service by scanned content.

/// 100,000 nested flow sequences, about 200 KB.
fn deep() -> String {
    format!("{}{}", "[".repeat(100_000), "]".repeat(100_000))
}

fn write(dir: &Path, name: &str, text: &str) {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(p, text).unwrap();
}

/// A YAML Secret under `rampart secrets`: the deep document is refused quickly and the
/// next document of the same file is still read (its literal values are reported).
#[test]
fn deep_yaml_secret_under_secrets_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "secret.yaml",
        &format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: deep\ndata:\n  k: {}\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: plain\nstringData:\n  password: Zq8vN3kLw2Rt\n",
            deep()
        ),
    );
    let run = bounded(dir.path(), &["secrets", ".", "-f", "json"]);
    run.assert_bounded();
    let r: serde_json::Value =
        serde_json::from_slice(&run.out.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.text()));
    let names: Vec<&str> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"] == "secret/kubernetes-secret-manifest")
        .filter_map(|f| f["location"]["object"]["name"].as_str())
        .collect();
    assert_eq!(names, ["plain"], "{}", run.text());
    // The deep one was not checked: an error with its line, and exit 2.
    let errors = r["errors"].as_array().unwrap();
    assert!(
        errors.iter().any(|e| e["path"] == "secret.yaml"
            && e["line"] == 6
            && e["message"]
                .as_str()
                .unwrap()
                .contains("nesting deeper than")),
        "{errors:?}"
    );
    assert_eq!(run.code(), Some(2), "{}", run.text());
}

/// A `-----BEGIN` line is not a document start: the Secret around it is one document
/// (it was cut in two, neither half parsed, and the Secret went unreported).
#[test]
fn begin_line_does_not_split_a_yaml_secret() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: tls\nnote: \"certificate:\n-----BEGIN NOTHING-----\n  not a key\"\nstringData:\n  password: Zq8vN3kLw2Rt\n",
    );
    let run = bounded(dir.path(), &["secrets", ".", "-f", "json"]);
    run.assert_bounded();
    let r: serde_json::Value =
        serde_json::from_slice(&run.out.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.text()));
    let names: Vec<&str> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"] == "secret/kubernetes-secret-manifest")
        .filter_map(|f| f["location"]["object"]["name"].as_str())
        .collect();
    assert_eq!(names, ["tls"], "{}", run.text());
}

/// `rampart.yaml` in the scanned tree: a usage error naming the file and line.
#[test]
fn deep_rampart_yaml_is_a_config_error_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "rampart.yaml",
        &format!("exclude:\n  - a\nbaseline: {}\n", deep()),
    );
    let run = bounded(dir.path(), &["secrets", "."]);
    run.assert_bounded();
    let text = run.text();
    assert_eq!(run.code(), Some(2), "{text}");
    assert!(text.contains("rampart.yaml:3"), "{text}");
    assert!(text.contains("nesting deeper than"), "{text}");
}

/// `.rampartignore.yaml` in the scanned tree: a usage error naming the file and line.
#[test]
fn deep_rampartignore_is_an_error_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        ".rampartignore.yaml",
        &format!("ignores:\n  - rule: x\n    reason: {}\n", deep()),
    );
    let run = bounded(dir.path(), &["secrets", "."]);
    run.assert_bounded();
    let text = run.text();
    assert_eq!(run.code(), Some(2), "{text}");
    assert!(text.contains(".rampartignore.yaml:3"), "{text}");
    assert!(text.contains("nesting deeper than"), "{text}");
}

/// `rampart iac --policy` inputs: the deep document is an error with its line, the next
/// document of the file is still given to the policies.
#[test]
fn deep_policy_input_is_an_error_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "app.yaml",
        &format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\ndata: {}\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  type: NodePort\n",
            deep()
        ),
    );
    let policies = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/policies");
    let run = bounded(
        dir.path(),
        &[
            "iac",
            ".",
            "--policy",
            policies.to_str().unwrap(),
            "-f",
            "json",
            "--fail-on",
            "none",
        ],
    );
    run.assert_bounded();
    let r: serde_json::Value =
        serde_json::from_slice(&run.out.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.text()));
    let errors = r["errors"].as_array().unwrap();
    assert!(
        errors.iter().any(|e| e["path"] == "app.yaml"
            && e["line"] == 5
            && e["message"]
                .as_str()
                .unwrap()
                .contains("nesting deeper than")),
        "{errors:?}"
    );
    // The Service after it was still checked by a policy.
    let on_web = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["location"]["object"]["name"] == "web");
    assert!(on_web, "{}", run.text());
}

/// A kustomization in the scanned tree: read within the bound, and one that cannot be
/// read is refused (not built as if it had no remote or outside resources).
#[test]
fn deep_kustomization_is_bounded_and_refused() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "kustomization.yaml",
        &format!("resources: {}\n", deep()),
    );
    let run = bounded(dir.path(), &["k8s", ".", "-f", "json", "--fail-on", "none"]);
    run.assert_bounded();
    let r: serde_json::Value =
        serde_json::from_slice(&run.out.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.text()));
    let errors = r["errors"].as_array().unwrap();
    assert!(
        errors.iter().any(|e| {
            let m = e["message"].as_str().unwrap();
            m.contains("kustomization not built") && m.contains("cannot be read as YAML")
        }),
        "{errors:?}"
    );
    // Content left unchecked fails the run (fail closed).
    assert_eq!(run.code(), Some(2), "{}", run.text());
}

/// A Secret manifest that does not parse is reported (its data values could not be
/// decoded and checked), with its line; it was skipped silently. A Helm template of a
/// Secret is not a manifest: no problem reported.
#[test]
fn unparsable_secret_manifest_is_an_error_not_skipped() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: broken\ndata:\n  password: [unclosed\n",
    );
    write(
        dir.path(),
        "chart/templates/secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  password: {{ .Values.password | b64enc }}\n",
    );
    let run = bounded(dir.path(), &["secrets", ".", "-f", "json"]);
    run.assert_bounded();
    assert_eq!(run.code(), Some(2), "{}", run.text());
    let r: serde_json::Value =
        serde_json::from_slice(&run.out.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.text()));
    let errors = r["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["path"], "secret.yaml");
    assert!(
        errors[0]["line"].as_u64().is_some_and(|l| l >= 6),
        "{errors:?}"
    );
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap()
            .contains("Secret manifest not parsed"),
        "{errors:?}"
    );
}

/// Operator input is bounded too: a `secrets --rules` file and a `db import` YAML record
/// with 100,000-deep nesting are errors naming the file (and line), quickly.
#[test]
fn deep_rules_file_and_db_import_record_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "rules.yaml",
        &format!("provider: x\nrules: {}\n", deep()),
    );
    write(dir.path(), "scan/a.txt", "nothing here\n");
    let run = bounded(dir.path(), &["secrets", "scan", "--rules", "rules.yaml"]);
    run.assert_bounded();
    let text = run.text();
    assert_eq!(run.code(), Some(2), "{text}");
    assert!(text.contains("rules.yaml"), "{text}");
    assert!(text.contains("nesting deeper than"), "{text}");

    write(
        dir.path(),
        "osv/r.yaml",
        &format!("id: X-1\naffected: {}\n", deep()),
    );
    let db = dir.path().join("db.sqlite");
    let run = bounded(
        dir.path(),
        &["db", "import", "--db", db.to_str().unwrap(), "osv"],
    );
    run.assert_bounded();
    let text = run.text();
    assert!(text.contains("r.yaml"), "{text}");
    assert!(text.contains("nesting deeper than"), "{text}");
}

/// A key written twice is read as Kubernetes reads it (the last one wins): the Secret
/// is checked. serde_yaml rejected the document and the Secret went unreported (a real
/// manifest of the k8s-manifests-large corpus, quobyte-admin-secret.yaml). Literal keys
/// are listed in document order, not sorted.
#[test]
fn secret_with_a_repeated_key_is_still_checked() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: q\ntype: \"kubernetes.io/quobyte\"\ndata:\n  user: YWRtaW4=\n  password: cXVvYnl0ZQ==\ntype: kubernetes.io/quobyte\n",
    );
    let run = bounded(
        dir.path(),
        &["secrets", ".", "-f", "json", "--fail-on", "none"],
    );
    run.assert_bounded();
    let r: serde_json::Value =
        serde_json::from_slice(&run.out.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.text()));
    let messages: Vec<&str> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"] == "secret/kubernetes-secret-manifest")
        .filter_map(|f| f["message"].as_str())
        .collect();
    assert_eq!(
        messages,
        ["Secret q has literal values in data.user, data.password"],
        "{}",
        run.text()
    );
}
