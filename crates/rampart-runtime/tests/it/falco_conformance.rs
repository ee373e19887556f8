//! Conformance with Falco's own k8s audit regression suite
//! (`shared/corpora/falco/expectations.jsonl`, 66 tests): load the listed rules files in
//! order, feed the trace, and compare the alert count of every rule.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)]

use std::collections::BTreeMap;
use std::io::Write;

use rampart_runtime::event::decode_events;
use rampart_runtime::{Engine, EngineOptions, Ruleset};
use serde_json::Value;

#[test]
fn falco_k8s_audit_regression_suite() {
    let Some(root) = rampart_testkit::corpus("falco") else {
        return;
    };
    let text = std::fs::read_to_string(root.join("expectations.jsonl")).unwrap();
    let mut total = 0;
    let mut failures = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        total += 1;
        let t: Value = serde_json::from_str(line).unwrap();
        let name = t["test"].as_str().unwrap().to_string();
        let mut rs = Ruleset::new();
        let mut load_err = None;
        for f in t["rules_files"].as_array().unwrap() {
            if let Err(e) = rs.load_path(&root.join(f.as_str().unwrap())) {
                load_err = Some(e.to_string());
                break;
            }
        }
        if let Some(e) = load_err {
            failures.push(format!("{name}: load error: {e}"));
            continue;
        }
        let engine = match Engine::compile(&rs, EngineOptions::default()) {
            Ok(e) => e,
            Err(e) => {
                failures.push(format!("{name}: compile error: {e}"));
                continue;
            }
        };
        let trace = std::fs::read_to_string(root.join(t["trace_file"].as_str().unwrap())).unwrap();
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        let mut errors = Vec::new();
        for (i, ev) in decode_events(&trace).into_iter().enumerate() {
            match ev {
                Ok(ev) => {
                    for a in engine.process(&ev, i as u64 + 1) {
                        *counts.entry(a.rule).or_default() += 1;
                    }
                }
                Err(e) => errors.push(e.to_string()),
            }
        }
        if let Some(want) = t["other_opts"]["stderr_contains"].as_str() {
            if !errors.iter().any(|e| e.contains(want)) {
                failures.push(format!(
                    "{name}: expected an input error containing {want:?}, got {errors:?}"
                ));
            }
        }
        if t["detect"].as_bool() == Some(true) {
            for (rule, n) in t["detect_counts"].as_object().unwrap() {
                let got = counts.get(rule).copied().unwrap_or(0);
                if got != n.as_u64().unwrap() {
                    failures.push(format!(
                        "{name}: rule {rule:?}: expected {n} alerts, got {got} (all: {counts:?})"
                    ));
                }
            }
            if counts.is_empty() {
                failures.push(format!("{name}: expected detections, got none"));
            }
        } else if !counts.is_empty() {
            failures.push(format!("{name}: expected no alerts, got {counts:?}"));
        }
    }
    let passed = total - failures.len();
    let line = format!("falco conformance: {passed}/{total}");
    // Straight to stderr (not captured by the test harness), so CI logs show the count.
    let _ = writeln!(std::io::stderr(), "{line}");
    // The recorded pass count (oxc-style coverage snapshot): a drop shows up as a diff.
    let snapshot = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots/falco_conformance.txt");
    let recorded = std::fs::read_to_string(&snapshot).unwrap_or_default();
    assert!(
        failures.is_empty(),
        "falco conformance: {passed}/{total}\n{}",
        failures.join("\n")
    );
    assert_eq!(
        recorded.trim(),
        line,
        "update {} if the change is intended",
        snapshot.display()
    );
    assert_eq!(total, 66);
}
