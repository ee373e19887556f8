//! Today's upstream rules (`shared/corpora/falco/rules/current/`) all load: the k8s audit
//! and GKE files compile; the syscall files parse and their rules are skipped.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)]

use rampart_runtime::{Engine, EngineOptions, Ruleset};

#[test]
fn k8s_audit_and_gke_rules_compile() {
    let Some(dir) = rampart_testkit::corpus("falco/rules/current") else {
        return;
    };
    let mut rs = Ruleset::new();
    rs.load_path(&dir.join("k8s_audit_rules.yaml")).unwrap();
    let before = rs.rule("Disallowed K8s User").unwrap().exceptions.len();
    rs.load_path(&dir.join("k8s_audit_rules_gke.yaml")).unwrap();
    assert_eq!(
        rs.rule("Disallowed K8s User").unwrap().exceptions.len(),
        before + 1
    );
    let engine = Engine::compile(&rs, EngineOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let n = engine.rules().len();
    println!(
        "current k8s audit rules: {n} compiled, {} enabled",
        engine.enabled_rules().count()
    );
    assert!(n >= 40, "{n}");
    assert!(engine.skipped().is_empty());
    assert!(rs
        .required_plugin_versions
        .iter()
        .any(|p| p.name == "k8saudit"));
}

#[test]
fn syscall_rules_parse_and_are_skipped() {
    let Some(dir) = rampart_testkit::corpus("falco/rules/current") else {
        return;
    };
    let mut rs = Ruleset::new();
    for f in [
        "falco_rules.yaml",
        "falco-incubating_rules.yaml",
        "falco-sandbox_rules.yaml",
    ] {
        rs.load_path(&dir.join(f)).unwrap_or_else(|e| panic!("{e}"));
    }
    let engine = Engine::compile(&rs, EngineOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    assert!(engine.rules().is_empty());
    let skipped = engine.skipped().get("syscall").copied().unwrap_or(0);
    assert_eq!(skipped, rs.rules.len());
    let summary = engine.skipped_summary().unwrap();
    println!("{summary}");
    assert!(!summary.contains('\n') && summary.contains("syscall"));
}

#[test]
fn all_current_rules_together() {
    let Some(dir) = rampart_testkit::corpus("falco/rules/current") else {
        return;
    };
    let mut rs = Ruleset::new();
    for f in [
        "falco_rules.yaml",
        "falco-incubating_rules.yaml",
        "falco-sandbox_rules.yaml",
        "k8s_audit_rules.yaml",
        "k8s_audit_rules_gke.yaml",
    ] {
        rs.load_path(&dir.join(f)).unwrap_or_else(|e| panic!("{e}"));
    }
    let engine = Engine::compile(&rs, EngineOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    assert!(!engine.rules().is_empty() && !engine.skipped().is_empty());
}

#[test]
fn pinned_rules_compile() {
    let Some(dir) = rampart_testkit::corpus("falco/rules/pinned-2023") else {
        return;
    };
    let engine = Engine::from_paths(
        &[
            dir.join("falco_rules.yaml"),
            dir.join("k8s_audit_rules.yaml"),
        ],
        EngineOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(engine.rules().len() >= 30);
}

#[test]
fn the_whole_current_directory_loads() {
    let Some(dir) = rampart_testkit::corpus("falco/rules/current") else {
        return;
    };
    let mut rs = Ruleset::new();
    rs.load_path(&dir).unwrap_or_else(|e| panic!("{e}"));
    // The audit Policy kept beside the rules is skipped with a warning.
    assert!(rs
        .warnings
        .iter()
        .any(|w| w.origin.file.ends_with("k8saudit-audit-policy.yaml")));
    assert_eq!(rs.files.len(), 5);
    let engine = Engine::compile(&rs, EngineOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    assert!(!engine.rules().is_empty());
}
