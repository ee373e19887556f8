//! The built-in rules against the labelled upstream corpora (gitleaks rule cases and
//! detect-secrets plugin cases).
//!
//! - Recall: for every upstream rule a built-in rule claims as a peer
//!   (`gitleaks:<id>`, `detect-secrets:<plugin>`), the fraction of that upstream rule's
//!   `secret` cases in which Rampart reports anything (any built-in rule) must be ≥ 90%.
//! - Noise: over all `not-secret` cases of both corpora, covered or not, at most 5% may
//!   produce a finding.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)]

use rampart_secrets::{RuleSet, ScanOptions, SecretScanner};
use rampart_testkit::corpus;
use std::collections::{BTreeMap, BTreeSet};

const MIN_RECALL: f64 = 0.90;
const MAX_NOISE: f64 = 0.05;

/// One labelled case from either corpus, normalised.
struct Case {
    /// `gitleaks:<rule_id>` or `detect-secrets:<detector_test>`.
    peer: String,
    text: String,
    secret: bool,
    path: String,
}

#[derive(serde::Deserialize)]
struct GitleaksCase {
    rule_id: String,
    text: String,
    label: String,
    #[serde(default)]
    path: Option<String>,
}

#[derive(serde::Deserialize)]
struct DetectSecretsCase {
    detector_test: String,
    text: String,
    label: String,
    #[serde(default)]
    file_extension: Option<String>,
}

fn truncate(s: &str, n: usize) -> String {
    let one_line = s.replace('\n', "\\n");
    if one_line.chars().count() <= n {
        one_line
    } else {
        format!("{}…", one_line.chars().take(n).collect::<String>())
    }
}

fn is_secret(label: &str) -> bool {
    match label {
        "secret" => true,
        "not-secret" => false,
        other => panic!("unknown label {other}"),
    }
}

/// Load both corpora; `None` when either is missing (the notice is already printed).
fn load_cases() -> Option<Vec<Case>> {
    let gl = corpus("secrets/gitleaks/rule-cases.jsonl")?;
    let ds = corpus("secrets/detect-secrets/plugin-cases.jsonl")?;
    let mut cases = Vec::new();
    for line in std::fs::read_to_string(gl).unwrap().lines() {
        if line.trim().is_empty() {
            continue;
        }
        let c: GitleaksCase = serde_json::from_str(line).unwrap();
        cases.push(Case {
            peer: format!("gitleaks:{}", c.rule_id),
            secret: is_secret(&c.label),
            path: c.path.unwrap_or_else(|| "test.txt".into()),
            text: c.text,
        });
    }
    for line in std::fs::read_to_string(ds).unwrap().lines() {
        if line.trim().is_empty() {
            continue;
        }
        let c: DetectSecretsCase = serde_json::from_str(line).unwrap();
        cases.push(Case {
            peer: format!("detect-secrets:{}", c.detector_test),
            secret: is_secret(&c.label),
            path: c
                .file_extension
                .map_or_else(|| "test.txt".into(), |e| format!("mock.{e}")),
            text: c.text,
        });
    }
    Some(cases)
}

#[test]
fn builtin_rules_against_upstream_corpora() {
    let Some(cases) = load_cases() else {
        return;
    };
    let set = RuleSet::builtin().unwrap();
    let covered: BTreeSet<String> = set
        .rules
        .iter()
        .flat_map(|r| r.meta.peers.iter().cloned())
        .filter(|p| p.starts_with("gitleaks:") || p.starts_with("detect-secrets:"))
        .collect();
    let scanner = SecretScanner::new(set, ScanOptions::default()).unwrap();

    // A text labelled `secret` for one upstream rule and `not-secret` for another (a
    // sibling token type: Cloudflare global key vs API token, Anthropic admin vs API key)
    // is a secret: Rampart reporting it is right, so it does not count as noise.
    let secret_texts: BTreeSet<&str> = cases
        .iter()
        .filter(|c| c.secret)
        .map(|c| c.text.as_str())
        .collect();
    let mut contradictory = 0usize;

    // peer -> (secret cases, found, missed texts)
    let mut recall: BTreeMap<&str, (usize, usize, Vec<String>)> = BTreeMap::new();
    let (mut negatives, mut noisy) = (0usize, Vec::new());
    let mut upstream_peers: BTreeSet<String> = BTreeSet::new();
    for c in &cases {
        upstream_peers.insert(c.peer.clone());
        let needed = !c.secret || covered.contains(&c.peer);
        if !needed {
            continue;
        }
        if !c.secret && secret_texts.contains(c.text.as_str()) {
            contradictory += 1;
            continue;
        }
        let findings = scanner.findings_in(&c.path, c.text.as_bytes(), None);
        if c.secret {
            let e = recall.entry(c.peer.as_str()).or_default();
            e.0 += 1;
            if findings.is_empty() {
                e.2.push(truncate(&c.text, 140));
            } else {
                e.1 += 1;
            }
        } else {
            negatives += 1;
            if !findings.is_empty() {
                let ids: BTreeSet<&str> = findings.iter().map(|f| f.rule_id.as_str()).collect();
                noisy.push(format!("{} {:?}: {}", c.peer, ids, truncate(&c.text, 140)));
            }
        }
    }

    // Claimed peers must exist upstream (in the corpora or in gitleaks' default config).
    if let Some(cfg) = corpus("secrets/gitleaks/gitleaks.toml") {
        let imported = rampart_secrets::gitleaks::load_file(&cfg, None).unwrap();
        for r in &imported.rules {
            for p in &r.meta.peers {
                upstream_peers.insert(p.clone());
            }
        }
        let unknown: Vec<&String> = covered
            .iter()
            .filter(|p| !upstream_peers.contains(p.as_str()))
            .collect();
        assert!(unknown.is_empty(), "peers unknown upstream: {unknown:?}");
    }
    let unmeasured: Vec<&String> = covered
        .iter()
        .filter(|p| upstream_peers.contains(p.as_str()) && !recall.contains_key(p.as_str()))
        .collect();

    let mut table: Vec<(f64, &str, usize, usize)> = recall
        .iter()
        .map(|(p, (n, f, _))| (*f as f64 / (*n).max(1) as f64, *p, *f, *n))
        .collect();
    table.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(b.1)));
    println!("recall per covered upstream rule (ascending):");
    for (r, p, f, n) in &table {
        println!("  {:>6.1}%  {f:>3}/{n:<3}  {p}", r * 100.0);
    }
    for (r, p, _, _) in &table {
        if *r < 1.0 {
            println!("missed cases of {p}:");
            for m in &recall[p].2 {
                println!("    {m}");
            }
        }
    }
    let gl_total = upstream_peers
        .iter()
        .filter(|p| p.starts_with("gitleaks:"))
        .count();
    let gl_covered = covered
        .iter()
        .filter(|p| p.starts_with("gitleaks:"))
        .count();
    let ds_covered: Vec<&String> = covered
        .iter()
        .filter(|p| p.starts_with("detect-secrets:"))
        .collect();
    println!("gitleaks rules covered: {gl_covered}/{gl_total}; detect-secrets plugins covered: {ds_covered:?}");
    println!("not-secret cases skipped because another upstream rule labels the same text secret: {contradictory}");
    let noise = noisy.len() as f64 / negatives.max(1) as f64;
    println!(
        "not-secret cases with findings: {}/{negatives} ({:.2}%)",
        noisy.len(),
        noise * 100.0
    );
    for n in &noisy {
        println!("  noisy: {n}");
    }

    println!("claimed peers without secret cases to measure: {unmeasured:?}");
    let low: Vec<String> = table
        .iter()
        .filter(|(r, ..)| *r < MIN_RECALL)
        .map(|(r, p, ..)| format!("{p} {:.1}%", r * 100.0))
        .collect();
    assert!(low.is_empty(), "recall below {MIN_RECALL}: {low:?}");
    assert!(
        noise <= MAX_NOISE,
        "noise {:.2}% > {:.0}%",
        noise * 100.0,
        MAX_NOISE * 100.0
    );
}
