//! The JUnit output parsed back with quick-xml: well-formed, and its counts agree with
//! the test cases it contains.

// Test helpers outside `#[test]` functions: panicking is how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use crate::common;

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use rampart_core::Report;
use std::collections::BTreeMap;

#[derive(Debug, Default)]
struct Parsed {
    /// Attributes of `<testsuites>` and `<testsuite>`.
    suites: Vec<BTreeMap<String, String>>,
    testcases: usize,
    failures: usize,
    skipped: usize,
    errors: usize,
    names: Vec<String>,
    failure_types: Vec<String>,
    skipped_messages: Vec<String>,
}

fn attrs(e: &BytesStart<'_>) -> BTreeMap<String, String> {
    e.attributes()
        .map(|a| {
            let a = a.unwrap();
            (
                String::from_utf8(a.key.as_ref().to_vec()).unwrap(),
                a.unescape_value().unwrap().into_owned(),
            )
        })
        .collect()
}

fn parse(xml: &str) -> Parsed {
    let mut reader = Reader::from_str(xml);
    let mut p = Parsed::default();
    let mut depth = 0i32;
    loop {
        let ev = reader.read_event().unwrap();
        let (e, empty) = match &ev {
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::End(_) => {
                depth -= 1;
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        if !empty {
            depth += 1;
        }
        let a = attrs(e);
        match e.name().as_ref() {
            b"testsuites" | b"testsuite" => p.suites.push(a),
            b"testcase" => {
                p.testcases += 1;
                p.names.push(a["name"].clone());
            }
            b"failure" => {
                p.failures += 1;
                p.failure_types.push(a["type"].clone());
            }
            b"skipped" => {
                p.skipped += 1;
                p.skipped_messages.push(a["message"].clone());
            }
            b"error" => p.errors += 1,
            _ => {}
        }
    }
    assert_eq!(depth, 0, "unbalanced XML");
    p
}

fn check_counts(p: &Parsed) {
    assert_eq!(
        p.suites.len(),
        2,
        "expected <testsuites> and one <testsuite>"
    );
    for s in &p.suites {
        assert_eq!(s["tests"], p.testcases.to_string(), "{s:?}");
        assert_eq!(s["failures"], p.failures.to_string(), "{s:?}");
        assert_eq!(s["skipped"], p.skipped.to_string(), "{s:?}");
        assert_eq!(s["errors"], p.errors.to_string(), "{s:?}");
        assert_eq!(s["name"], "rampart");
    }
}

#[test]
fn fixture_counts() {
    let report = common::report();
    let p = parse(&rampart_report::junit::render(&report).unwrap());
    check_counts(&p);
    let active = report.active().count();
    assert_eq!(p.failures, active);
    assert_eq!(p.skipped, report.findings.len() - active);
    assert_eq!(p.errors, report.errors.len());
    assert_eq!(p.testcases, report.findings.len() + report.errors.len());
    assert!(!p.names.iter().any(|n| n == "rampart scan"));
    let mut types = p.failure_types.clone();
    types.sort();
    types.dedup();
    assert_eq!(types, ["critical", "high", "info", "low", "medium"]);
    assert_eq!(
        p.skipped_messages,
        ["suppressed (inline): fake key used by tests"]
    );
    // Escaped on the way out, unescaped on the way in.
    assert!(
        p.names.iter().any(|n| n == "docs/notes & more.md"),
        "{:?}",
        p.names
    );
}

#[test]
fn clean_report_has_one_passing_case() {
    let mut report = Report::new(".", vec!["secrets".to_string()]);
    report.finalize(|_| None, Default::default());
    let p = parse(&rampart_report::junit::render(&report).unwrap());
    check_counts(&p);
    assert_eq!((p.testcases, p.failures, p.skipped, p.errors), (1, 0, 0, 0));
    assert_eq!(p.names, ["rampart scan"]);
}

#[test]
fn only_suppressed_findings_still_pass() {
    let mut report = common::report();
    report.findings.retain(|f| f.is_suppressed());
    report.errors.clear();
    let p = parse(&rampart_report::junit::render(&report).unwrap());
    check_counts(&p);
    assert_eq!((p.testcases, p.failures, p.skipped), (2, 0, 1));
    assert!(p.names.iter().any(|n| n == "rampart scan"));
}

#[test]
fn hostile_text_stays_well_formed() {
    let mut report = common::report();
    let f = &mut report.findings[0];
    f.message = "]]> <x a=\"b\"> & \u{0}\u{1b}[31m \u{FFFF} end".to_string();
    f.evidence = Some("</failure></testcase>".to_string());
    let xml = rampart_report::junit::render(&report).unwrap();
    check_counts(&parse(&xml));
    assert!(!xml.contains('\u{0}') && !xml.contains('\u{1b}'));
}
