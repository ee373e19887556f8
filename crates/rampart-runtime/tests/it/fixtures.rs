//! Every rule of the built-in rules (Falco's current `k8s_audit_rules.yaml`) has a fixture
//! in `fixtures/k8s_audit/<slug>.yaml`: an event that fires it and a near miss that does
//! not. A rule without a fixture (or a fixture without a rule) fails the test.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)]

use std::collections::BTreeSet;
use std::path::Path;

use rampart_runtime::alert::slug;
use rampart_runtime::{AuditEvent, Engine, EngineOptions, Ruleset};
use serde_json::{json, Value};

fn base_event() -> Value {
    json!({
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "RequestResponse",
        "auditID": "00000000-0000-0000-0000-000000000001",
        "stage": "ResponseComplete",
        "requestURI": "/api/v1/namespaces/default/pods",
        "verb": "get",
        "user": {"username": "alice", "groups": ["system:authenticated"]},
        "sourceIPs": ["10.0.0.7"],
        "userAgent": "kubectl/v1.30.0 (linux/amd64) kubernetes/abcdef",
        "objectRef": {"resource": "pods", "namespace": "default", "apiVersion": "v1"},
        "responseStatus": {"metadata": {}, "code": 200},
        "requestReceivedTimestamp": "2024-05-01T10:00:00.000000Z",
        "stageTimestamp": "2024-05-01T10:00:00.100000Z",
        "annotations": {"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": ""}
    })
}

/// Merge `patch` into `base`: objects recursively, anything else replaced, null removes.
pub fn merge(base: &mut Value, patch: &Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    b.remove(k);
                } else {
                    merge(b.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (b, p) => *b = p.clone(),
    }
}

fn fires(engine: &Engine, ev: &Value, rule: &str) -> bool {
    let ev = AuditEvent::from_value(ev.clone()).unwrap();
    engine.process(&ev, 1).iter().any(|a| a.rule == rule)
}

#[test]
fn every_builtin_rule_has_a_firing_and_a_quiet_fixture() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/k8s_audit");
    let mut builtin = Ruleset::new();
    builtin.load_builtin().unwrap();
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for rule in &builtin.rules {
        let file = dir.join(format!("{}.yaml", slug(&rule.name)));
        seen.insert(file.clone());
        let Ok(text) = std::fs::read_to_string(&file) else {
            problems.push(format!("{}: Missing fixture {}", rule.name, file.display()));
            continue;
        };
        let fx: Value = rampart_yaml::from_str(&text).unwrap();
        assert_eq!(fx["rule"], rule.name.as_str(), "{}", file.display());
        let mut rs = builtin.clone();
        if let Some(extra) = fx["rules"].as_str() {
            rs.load_str(&file.display().to_string(), extra).unwrap();
        }
        let engine = Engine::compile(&rs, EngineOptions::default()).unwrap();
        for (key, want) in [("fires", true), ("quiet", false)] {
            let Some(patch) = fx.get(key) else {
                problems.push(format!("{}: fixture has no `{key}` event", rule.name));
                continue;
            };
            let mut ev = base_event();
            merge(&mut ev, patch);
            if fires(&engine, &ev, &rule.name) != want {
                let what = if want {
                    "Missing: `fires` event did not fire"
                } else {
                    "Noisy: `quiet` event fired"
                };
                problems.push(format!("{}: {what}", rule.name));
            }
        }
    }
    for entry in std::fs::read_dir(&dir).unwrap() {
        let p = entry.unwrap().path();
        if !seen.contains(&p) {
            problems.push(format!("{}: fixture for no built-in rule", p.display()));
        }
    }
    println!(
        "runtime rule fixtures: {} rules checked",
        builtin.rules.len()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn builtin_rules_match_the_corpus_copy() {
    let Some(p) = rampart_testkit::corpus("falco/rules/current/k8s_audit_rules.yaml") else {
        return;
    };
    let upstream = std::fs::read_to_string(p).unwrap();
    assert!(
        rampart_runtime::DEFAULT_RULES.ends_with(&upstream),
        "vendored rules differ from the corpus copy"
    );
}

#[test]
fn builtin_rule_metadata_is_complete_and_unique() {
    let metas = rampart_runtime::builtin_rule_metas().unwrap();
    assert_eq!(metas.len(), 48);
    let mut registry = rampart_core::Registry::new();
    registry.extend(metas.clone()).unwrap();
    for m in &metas {
        assert!(m.problems().is_empty(), "{}: {:?}", m.id, m.problems());
        assert!(m.id.starts_with("runtime/"));
    }
}
