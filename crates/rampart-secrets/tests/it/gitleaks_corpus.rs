//! The upstream gitleaks default config, imported, against the labelled rule cases
//! extracted from upstream's own true/false-positive lists (`rule-cases.jsonl`).
//!
//! Semantics as upstream's `Validate`: a `secret` text must produce at least one finding
//! and a `not-secret` text none, when scanned with that single rule (its keywords,
//! entropy and allowlists) plus the global allowlists.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)]

use rampart_secrets::gitleaks::{imported_id, load_file};
use rampart_secrets::{Engine, RuleSet};
use rampart_testkit::corpus;
use std::collections::HashMap;

/// Rule cases whose outcome differs from upstream for a reason we understand. The
/// assertion is on the rates; this list only labels the exceptions in the output.
const KNOWN_EXCEPTIONS: &[(&str, &str)] = &[];

#[derive(serde::Deserialize)]
struct Case {
    rule_id: String,
    text: String,
    label: String,
    #[serde(default)]
    path: Option<String>,
    in_default_config: bool,
}

fn truncate(s: &str, n: usize) -> String {
    let one_line = s.replace('\n', "\\n");
    if one_line.chars().count() <= n {
        one_line
    } else {
        format!("{}…", one_line.chars().take(n).collect::<String>())
    }
}

#[test]
fn default_config_loads() {
    let Some(path) = corpus("secrets/gitleaks/gitleaks.toml") else {
        return;
    };
    let set = load_file(&path, None).unwrap();
    assert_eq!(set.rules.len(), 222);
    assert_eq!(set.global_allowlists.len(), 1);
    let aws = set
        .rules
        .iter()
        .find(|r| r.meta.id == "secret/gitleaks.aws-access-token")
        .unwrap();
    assert_eq!(
        aws.meta.peers,
        vec!["gitleaks:aws-access-token".to_string()]
    );
    assert!(aws.meta.description.contains("gitleaks.toml"));
    let generic = set
        .rules
        .iter()
        .find(|r| r.meta.id == "secret/gitleaks.generic-api-key")
        .unwrap();
    assert_eq!(generic.meta.severity, rampart_core::Severity::Medium);
    assert!(!generic.allowlists.is_empty());
    // Imported rules keep gitleaks semantics only.
    assert!(set
        .rules
        .iter()
        .all(|r| !r.placeholders && !r.require_digit));
    // And they run in an engine next to the built-in rules.
    let mut all = RuleSet::builtin().unwrap();
    all.merge(set).unwrap();
    Engine::new(all).unwrap();
}

#[test]
fn rule_cases() {
    let Some(cfg) = corpus("secrets/gitleaks/gitleaks.toml") else {
        return;
    };
    let Some(cases) = corpus("secrets/gitleaks/rule-cases.jsonl") else {
        return;
    };
    let set = load_file(&cfg, None).unwrap();
    let mut engines: HashMap<String, Engine> = HashMap::new();
    for rule in &set.rules {
        let one = RuleSet {
            rules: vec![rule.clone()],
            global_allowlists: set.global_allowlists.clone(),
        };
        engines.insert(rule.meta.id.clone(), Engine::new(one).unwrap());
    }
    let text = std::fs::read_to_string(cases).unwrap();
    let (mut secret, mut found, mut negative, mut quiet) = (0usize, 0usize, 0usize, 0usize);
    let mut exceptions: Vec<String> = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let case: Case = serde_json::from_str(line).unwrap();
        if !case.in_default_config {
            continue;
        }
        let id = imported_id(&case.rule_id);
        let engine = engines
            .get(&id)
            .unwrap_or_else(|| panic!("rule {} of the cases is not in the config", case.rule_id));
        let path = case.path.as_deref().unwrap_or("test.txt");
        let hits = engine.scan(path, case.text.as_bytes(), None).len();
        let ok = match case.label.as_str() {
            "secret" => {
                secret += 1;
                found += usize::from(hits > 0);
                hits > 0
            }
            "not-secret" => {
                negative += 1;
                quiet += usize::from(hits == 0);
                hits == 0
            }
            other => panic!("unknown label {other}"),
        };
        if !ok {
            let reason = KNOWN_EXCEPTIONS
                .iter()
                .find(|(r, _)| *r == case.rule_id)
                .map_or("unexplained", |(_, why)| why);
            let what = if case.label == "secret" {
                "missed"
            } else {
                "false positive"
            };
            exceptions.push(format!(
                "{} [{what}, {} hits]: {} — {reason}",
                case.rule_id,
                hits,
                truncate(&case.text, 120)
            ));
        }
    }
    let found_rate = found as f64 * 100.0 / secret.max(1) as f64;
    let quiet_rate = quiet as f64 * 100.0 / negative.max(1) as f64;
    println!("gitleaks rule cases: secret {found}/{secret} found ({found_rate:.2}%), not-secret {quiet}/{negative} quiet ({quiet_rate:.2}%)");
    println!("{} exceptions:", exceptions.len());
    for e in &exceptions {
        println!("  {e}");
    }
    assert!(secret > 5000 && negative > 300, "corpus looks truncated");
    assert!(found_rate >= 99.0, "found rate {found_rate:.2}% < 99%");
    assert!(quiet_rate >= 99.0, "quiet rate {quiet_rate:.2}% < 99%");
}
