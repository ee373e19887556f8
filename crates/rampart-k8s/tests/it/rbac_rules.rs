//! Every `rbac/*` rule fires on `fixtures/rbac/<slug>/fire.yaml` at the binding subject
//! marked `# rbac: fires here` (the finding's line), naming the chain subject → binding →
//! role → rule, and does not fire on `pass.yaml` (a near miss: the same shape one step
//! short of the risk). A rule without fixtures, or fixtures without a rule, fail.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use rampart_core::Location;
use rampart_k8s::load::load_str;
use rampart_k8s::rbac;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rbac")
}

fn analyse(slug: &str, file: &str) -> (String, rbac::Analysis) {
    let rel = format!("{slug}/{file}");
    let text = std::fs::read_to_string(fixtures().join(&rel)).unwrap();
    let loaded = load_str(&text, Some(&rel));
    assert!(loaded.errors.is_empty(), "{rel}: {:?}", loaded.errors);
    let a = rbac::check(&loaded.objects);
    assert!(a.errors.is_empty(), "{rel}: {:?}", a.errors);
    (text, a)
}

#[test]
fn every_rbac_rule_fires_on_its_fixture_and_not_on_the_near_miss() {
    let ids: BTreeSet<String> = rbac::metas().into_iter().map(|m| m.id).collect();
    let dirs: BTreeSet<String> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| format!("rbac/{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    assert_eq!(ids, dirs, "rules and fixture directories differ");
    let mut problems = Vec::new();
    for id in &ids {
        let slug = id.strip_prefix("rbac/").unwrap();
        let (text, fire) = analyse(slug, "fire.yaml");
        let want_line = text
            .lines()
            .position(|l| l.contains("# rbac: fires here"))
            .map(|i| i + 1)
            .unwrap();
        let hits: Vec<_> = fire.findings.iter().filter(|f| &f.rule_id == id).collect();
        match hits.as_slice() {
            [f] => {
                let Location::K8sObject {
                    span,
                    path,
                    field_path,
                    ..
                } = &f.location
                else {
                    panic!("{id}: {:?}", f.location);
                };
                if span.map(|s| s.start_line) != Some(want_line) {
                    problems.push(format!(
                        "{id}: line {:?}, want {want_line}",
                        span.map(|s| s.start_line)
                    ));
                }
                assert_eq!(path.as_deref(), Some(format!("{slug}/fire.yaml").as_str()));
                assert_eq!(field_path.as_deref(), Some("subjects[0]"), "{id}");
                // The message names subject, binding (file:line), role and rule.
                for part in [" → ", "fire.yaml:", "rules["] {
                    if !f.message.contains(part) {
                        problems.push(format!("{id}: message lacks `{part}`: {}", f.message));
                    }
                }
                let chain = f.properties["chain"].as_array().unwrap();
                assert_eq!(chain.len(), 4, "{id}");
                assert!(
                    chain[3]["line"].as_u64().is_some(),
                    "{id}: rule line in {chain:?}"
                );
            }
            other => problems.push(format!(
                "{id}: {} findings on fire.yaml, want 1: {other:#?}",
                other.len()
            )),
        }
        let (_, pass) = analyse(slug, "pass.yaml");
        if let Some(f) = pass.findings.iter().find(|f| &f.rule_id == id) {
            problems.push(format!("{id}: fired on pass.yaml: {}", f.message));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

/// A binding to a role that is nowhere is an error with the binding's line; the other
/// bindings are still analysed.
#[test]
fn missing_role_is_an_error_and_the_rest_is_analysed() {
    let text = "\
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: ghost, namespace: team}
roleRef: {kind: Role, name: not-here}
subjects: [{kind: User, name: bob}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: admins}
roleRef: {kind: ClusterRole, name: cluster-admin}
subjects: [{kind: Group, name: ops}]
";
    let loaded = load_str(text, Some("b.yaml"));
    let a = rbac::check(&loaded.objects);
    assert_eq!(a.errors.len(), 1, "{:?}", a.errors);
    assert_eq!(
        (a.errors[0].path.as_str(), a.errors[0].line),
        ("b.yaml", Some(4))
    );
    assert!(
        a.errors[0]
            .message
            .contains("Role `not-here` in namespace `team`"),
        "{}",
        a.errors[0].message
    );
    let ids: Vec<&str> = a.findings.iter().map(|f| f.rule_id.as_str()).collect();
    assert_eq!(ids, ["rbac/cluster-admin-equivalent"]);
}
