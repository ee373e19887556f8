//! The SARIF output validated against the official SARIF 2.1.0 schema
//! (`shared/schemas/sarif-2.1.0.json`), with `format` keywords checked too.
//!
//! The schema is found through `RAMPART_SHARED` (the `shared/` folder) or, by default,
//! `../../../shared` from this crate. When it is missing the tests pass with a notice,
//! unless `RAMPART_REQUIRE_CORPORA=1`, which makes a missing schema a failure.

// Test helpers outside `#[test]` functions: panicking is how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use crate::common;

use rampart_core::{Location, Report};
use serde_json::Value;
use std::path::PathBuf;

fn schema_path() -> PathBuf {
    let shared = std::env::var_os("RAMPART_SHARED").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
        PathBuf::from,
    );
    shared.join("schemas/sarif-2.1.0.json")
}

/// The compiled validator, or `None` (after a notice) when the schema is absent and not
/// required.
fn validator() -> Option<jsonschema::Validator> {
    let path = schema_path();
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            assert!(
                std::env::var("RAMPART_REQUIRE_CORPORA").as_deref() != Ok("1"),
                "RAMPART_REQUIRE_CORPORA=1 but the SARIF schema {} cannot be read: {e}",
                path.display()
            );
            eprintln!(
                "notice: skipping SARIF schema validation, {} not found ({e})",
                path.display()
            );
            return None;
        }
    };
    let schema: Value = serde_json::from_str(&text).unwrap();
    Some(
        jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .unwrap_or_else(|e| panic!("the SARIF schema does not compile: {e}")),
    )
}

/// Every schema violation, one per line, with its instance path.
fn violations(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|e| format!("{}: {e}", e.instance_path))
        .collect()
}

fn assert_valid(validator: &jsonschema::Validator, report: &Report, what: &str) {
    let text = rampart_report::sarif::render(report).unwrap();
    let instance: Value = serde_json::from_str(&text).unwrap();
    let errors = violations(validator, &instance);
    assert!(
        errors.is_empty(),
        "SARIF for {what} violates the schema ({} errors):\n{}",
        errors.len(),
        errors.join("\n")
    );
}

#[test]
fn fixture_sarif_is_valid() {
    let Some(v) = validator() else { return };
    assert_valid(&v, &common::report(), "the fixture");
}

#[test]
fn sarif_without_rule_metadata_or_root_is_valid() {
    let Some(v) = validator() else { return };
    let mut report = common::report();
    report.rules.clear();
    report.target = "git-history:.".to_string();
    assert_valid(&v, &report, "a report without rule metadata");
}

#[test]
fn sarif_of_other_location_kinds_is_valid() {
    let Some(v) = validator() else { return };
    let mut report = common::report();
    let template = report.findings[0].clone();
    for location in [
        Location::Image {
            image: "registry.example.test/app:1.2".to_string(),
            layer_digest: Some("sha256:0123456789abcdef0123456789abcdef".to_string()),
            path: Some("/etc/app/config key.json".to_string()),
        },
        Location::Image {
            image: "app:latest".to_string(),
            layer_digest: None,
            path: None,
        },
        Location::Package {
            ecosystem: "npm".to_string(),
            name: "left-pad".to_string(),
            version: "1.0.0".to_string(),
            found_in: None,
            span: None,
        },
        Location::file("C:\\Users\\dev\\win file.txt", None),
        Location::file("/abs/path:with colon", None),
    ] {
        let mut f = template.clone();
        f.location = location;
        report.findings.push(f);
    }
    assert_valid(&v, &report, "images, packages and absolute paths");
}

#[test]
fn empty_sarif_is_valid() {
    let Some(v) = validator() else { return };
    let mut report = Report::new(".", vec![]);
    report.finalize(|_| None, Default::default());
    assert_valid(&v, &report, "an empty report");
}

/// The check above must be able to fail: a document without `version`, and one with a
/// bad level, are both rejected.
#[test]
fn validator_rejects_invalid_sarif() {
    let Some(v) = validator() else { return };
    let text = rampart_report::sarif::render(&common::report()).unwrap();
    let good: Value = serde_json::from_str(&text).unwrap();
    assert!(violations(&v, &good).is_empty());

    let mut no_version = good.clone();
    no_version.as_object_mut().unwrap().remove("version");
    let errors = violations(&v, &no_version);
    assert!(
        !errors.is_empty(),
        "a SARIF log without `version` passed validation"
    );
    assert!(errors.iter().any(|e| e.contains("version")), "{errors:?}");

    let mut bad_level = good.clone();
    bad_level["runs"][0]["results"][0]["level"] = Value::from("fatal");
    assert!(
        !violations(&v, &bad_level).is_empty(),
        "level `fatal` passed validation"
    );

    let mut bad_uri = good;
    bad_uri["runs"][0]["tool"]["driver"]["informationUri"] = Value::from("not a uri");
    assert!(
        !violations(&v, &bad_uri).is_empty(),
        "a malformed informationUri passed validation"
    );
}
