//! Shared helpers of the best-practice rule tests: a minimal manifest reader for test
//! data (multi-document YAML or JSON, `List` kinds expanded) and rule runners.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use rampart_core::Finding;
use rampart_k8s::rules::{Context, Rule};
use rampart_k8s::Object;
use std::path::Path;

/// Every object of a manifest file (Rampart's loader; `List` kinds expanded); documents
/// that do not parse are skipped.
pub fn read_objects(path: &Path, rel: &str) -> Vec<Object> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    rampart_k8s::load::load_str(&text, Some(rel)).objects
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
