//! Shared helpers of the best-practice rule tests: a minimal manifest reader for test
//! data (multi-document YAML or JSON, `List` kinds expanded) and rule runners.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use rampart_core::Finding;
use rampart_k8s::rules::{Context, Rule};
use rampart_k8s::Object;
use serde::Deserialize;
use std::path::Path;

/// Every object of a manifest file; documents that do not parse are skipped.
pub fn read_objects(path: &Path, rel: &str) -> Vec<Object> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    let mut values = Vec::new();
    if rel.ends_with(".json") {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
            values.push(v);
        }
    } else {
        for doc in serde_yaml::Deserializer::from_str(&text) {
            match serde_yaml::Value::deserialize(doc) {
                Ok(y) => {
                    if let Ok(v) = serde_json::to_value(&y) {
                        values.push(v);
                    }
                }
                Err(_) => break,
            }
        }
    }
    let mut out = Vec::new();
    for (i, v) in values.into_iter().enumerate() {
        expand(v, rel, i, &mut out);
    }
    out
}

fn expand(v: serde_json::Value, rel: &str, doc: usize, out: &mut Vec<Object>) {
    if !v.is_object() {
        return;
    }
    let kind = v.get("kind").and_then(|k| k.as_str()).unwrap_or("");
    if kind.ends_with("List") {
        if let Some(items) = v.get("items").and_then(|i| i.as_array()) {
            for it in items.clone() {
                expand(it, rel, doc, out);
            }
        }
        return;
    }
    let mut o = Object::from_value(v);
    o.path = Some(rel.to_string());
    o.doc_index = doc;
    out.push(o);
}

/// Run `rules` on `obj`.
pub fn run(rules: &[Rule], obj: &Object) -> Vec<Finding> {
    let ctx = Context::default();
    let mut out = Vec::new();
    for r in rules {
        (r.check)(r, obj, &ctx, &mut out);
    }
    out
}
