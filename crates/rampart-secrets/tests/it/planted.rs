//! Recall and precision of the built-in rules on a planted-secrets repository of everyday
//! service-repo files (issue 12): `tests/planted/` (authored by `tests/planted_gen.py`,
//! fake secrets of the real shapes) with `tests/planted/expected.json` listing every true
//! secret by (file, line, kind) and every look-alike that must stay quiet.
//!
//! A finding is a true positive when its span covers the line of an expected secret in
//! the same file; anything else is a false alarm. Precision is counted over distinct
//! (file, first line) finding locations, so two rules agreeing on one secret count once.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)]

use rampart_core::Location;
use rampart_secrets::{RuleSet, ScanOptions, SecretScanner};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

const MIN_PRECISION: f64 = 0.95;
const MIN_RECALL: f64 = 0.90;

#[derive(serde::Deserialize)]
struct Expected {
    secrets: Vec<Secret>,
    quiet: Vec<Quiet>,
}

#[derive(serde::Deserialize)]
struct Secret {
    file: String,
    line: usize,
    kind: String,
}

#[derive(serde::Deserialize)]
struct Quiet {
    file: String,
    line: usize,
    note: String,
}

#[test]
fn planted_repository_precision_and_recall() {
    check(RuleSet::builtin().unwrap());
}

/// Scan the planted tree with `set`, print the figures and every miss and false alarm.
fn check(set: RuleSet) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/planted");
    let expected: Expected =
        serde_json::from_str(&std::fs::read_to_string(root.join("expected.json")).unwrap())
            .unwrap();
    assert!(expected.secrets.len() >= 60 && expected.quiet.len() >= 40);

    let mut opts = ScanOptions::default();
    // The fixture tree lives inside this repository's work tree; scan every file of it
    // whatever ignore files say (dot-files such as .env.production included).
    opts.walk.respect_gitignore = false;
    let scanner = SecretScanner::new(set, opts).unwrap();
    let out = scanner.scan_path(&root).unwrap();
    assert!(out.errors.is_empty(), "scan errors: {:?}", out.errors);

    // (file, first line) -> (last line, rule ids)
    let mut found: BTreeMap<(String, usize), (usize, BTreeSet<String>)> = BTreeMap::new();
    for f in &out.findings {
        let (path, span) = match &f.location {
            Location::File { path, span, .. } => (Some(path.clone()), *span),
            Location::K8sObject { path, span, .. } => (path.clone(), *span),
            _ => (None, None),
        };
        let (Some(path), Some(span)) = (path, span) else {
            panic!("finding without a file span: {f:?}");
        };
        let e = found
            .entry((path, span.start_line))
            .or_insert((span.end_line, BTreeSet::new()));
        e.0 = e.0.max(span.end_line);
        e.1.insert(f.rule_id.clone());
    }
    let covers = |file: &str, line: usize| {
        found
            .iter()
            .any(|((p, s), (e, _))| p == file && *s <= line && line <= *e)
    };

    let mut misses = Vec::new();
    for s in &expected.secrets {
        if !covers(&s.file, s.line) {
            misses.push(format!("{}:{} ({})", s.file, s.line, s.kind));
        }
    }
    let mut false_alarms = Vec::new();
    for ((p, s), (e, rules)) in &found {
        let hit = expected
            .secrets
            .iter()
            .any(|x| &x.file == p && *s <= x.line && x.line <= *e);
        if !hit {
            let note = expected
                .quiet
                .iter()
                .find(|q| &q.file == p && *s <= q.line && q.line <= *e)
                .map(|q| q.note.as_str())
                .unwrap_or("unlisted line");
            false_alarms.push(format!("{p}:{s} {rules:?} [{note}]"));
        }
    }
    let total = expected.secrets.len();
    let tp_secrets = total - misses.len();
    let recall = tp_secrets as f64 / total as f64;
    let locations = found.len();
    let precision = if locations == 0 {
        0.0
    } else {
        (locations - false_alarms.len()) as f64 / locations as f64
    };
    println!(
        "planted repository: {} files, {total} secrets, {} look-alikes; \
         {locations} finding locations",
        out.files_scanned,
        expected.quiet.len()
    );
    println!("recall {recall:.3} ({tp_secrets}/{total}), precision {precision:.3}");
    for m in &misses {
        println!("  MISS {m}");
    }
    for f in &false_alarms {
        println!("  FALSE ALARM {f}");
    }
    assert!(
        recall >= MIN_RECALL,
        "recall {recall:.3} < {MIN_RECALL}; misses: {misses:#?}"
    );
    assert!(
        precision >= MIN_PRECISION,
        "precision {precision:.3} < {MIN_PRECISION}; false alarms: {false_alarms:#?}"
    );
}

/// Two assignments on adjacent lines are two findings: the first match used to consume
/// the newline the second needed as its left boundary, so every other line of a
/// `.properties` / `.env` block of passwords went unreported.
#[test]
fn adjacent_assignment_lines_are_both_reported() {
    adjacent_lines(RuleSet::builtin().unwrap());
}

fn adjacent_lines(set: RuleSet) {
    let scanner = SecretScanner::new(set, ScanOptions::default()).unwrap();
    let text = "spring.datasource.password=Qh3vX9rTz2LpW8nYc5Kd\n\
                spring.mail.password=BePs36FSMRuo0YfLfHkKMT\n\
                API_TOKEN=Zr8kQ2mW5xTn9LpV3yHd7c\n";
    let (findings, _) = scanner.scan_buffer("application.properties", text.as_bytes(), false);
    let mut lines: Vec<usize> = findings
        .iter()
        .filter_map(|f| match &f.location {
            Location::File { span: Some(s), .. } => Some(s.start_line),
            _ => None,
        })
        .collect();
    lines.sort_unstable();
    lines.dedup();
    assert_eq!(lines, vec![1, 2, 3], "{findings:#?}");
}
