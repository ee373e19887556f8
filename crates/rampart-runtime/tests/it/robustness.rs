//! Bad input never panics: arbitrary text as conditions, rules files, output formats and
//! audit input; arbitrary JSON-shaped events through every built-in rule.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use rampart_runtime::event::decode_events;
use rampart_runtime::output::Format;
use rampart_runtime::{condition, Engine, EngineOptions, Ruleset};
use serde_json::{json, Value};

fn engine() -> &'static Engine {
    static ENGINE: std::sync::OnceLock<Engine> = std::sync::OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut rs = Ruleset::new();
        rs.load_builtin().unwrap();
        Engine::compile(&rs, EngineOptions::default()).unwrap()
    })
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "[a-z/*:._-]{0,12}".prop_map(Value::String),
        Just(json!("create")),
        Just(json!("pods")),
        Just(json!(true)),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("spec".to_string()),
                    Just("containers".to_string()),
                    Just("securityContext".to_string()),
                    Just("privileged".to_string()),
                    Just("image".to_string()),
                    Just("volumes".to_string()),
                    Just("hostPath".to_string()),
                    Just("path".to_string()),
                    Just("rules".to_string()),
                    Just("verbs".to_string()),
                    Just("subjects".to_string()),
                    "[a-z]{1,6}",
                ],
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn condition_parser_never_panics(s in "\\PC{0,80}") {
        let _ = condition::parse(&s);
    }

    #[test]
    fn condition_like_text_never_panics(s in "[a-z. ()=!<>,\"'\\[\\]/*]{0,60}") {
        let _ = condition::parse(&s);
        let _ = Format::parse(&format!("x %{s}"));
    }

    #[test]
    fn rules_loader_never_panics(s in "[-a-z: \\n\\[\\]{}\"',>|]{0,120}") {
        let mut rs = Ruleset::new();
        if rs.load_str("x.yaml", &s).is_ok() {
            let _ = Engine::compile(&rs, EngineOptions::default());
        }
    }

    #[test]
    fn audit_input_never_panics(s in "\\PC{0,200}") {
        let _ = decode_events(&s);
    }

    #[test]
    fn odd_events_through_every_rule(
        verb in prop_oneof![Just("create"), Just("get"), Just("delete"), Just("patch")],
        resource in prop_oneof![Just("pods"), Just("clusterroles"), Just("configmaps"), Just("secrets")],
        sub in prop_oneof![Just(Value::Null), Just(json!("exec")), Just(json!(7))],
        req in value(),
        resp in value(),
        user in value(),
    ) {
        let engine = engine();
        let ev = json!({
            "auditID": "x", "stage": "ResponseComplete", "verb": verb, "user": user,
            "objectRef": {"resource": resource, "subresource": sub, "namespace": "kube-system"},
            "responseStatus": {"code": 201}, "requestObject": req, "responseObject": resp,
            "requestURI": "/api/v1/x?command=%zz&a=%41",
        });
        for e in decode_events(&ev.to_string()).into_iter().flatten() {
            for a in engine.process(&e, 1) {
                let _ = a.to_json();
                let _ = a.to_finding();
            }
        }
    }
}
