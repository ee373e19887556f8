//! `rampart sbom` through the real binary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

fn project() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../rampart-sca/tests/fixtures/installed/project")
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(args)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .env("CARGO_HOME", "/nonexistent")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn cyclonedx_with_installed_licences() {
    let p = project();
    let (code, out, err) = run(&["sbom", p.to_str().unwrap(), "--name", "demo"]);
    assert_eq!(code, 0, "{err}");
    let bom: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(bom["specVersion"], "1.6");
    assert_eq!(bom["metadata"]["component"]["name"], "demo");
    assert_eq!(bom["metadata"]["timestamp"], "2023-11-14T22:13:20Z");
    let comps = bom["components"].as_array().unwrap();
    let lic = |purl: &str| {
        comps
            .iter()
            .find(|c| c["purl"] == purl)
            .unwrap_or_else(|| panic!("{purl} missing: {out}"))["licenses"]
            .clone()
    };
    // Licences come from node_modules/**/package.json and *.dist-info/METADATA.
    assert_eq!(lic("pkg:npm/left-pad@1.3.0")[0]["license"]["id"], "WTFPL");
    assert_eq!(
        lic("pkg:npm/%40acme/widget@2.0.0")[0]["expression"],
        "MIT OR Apache-2.0"
    );
    assert_eq!(
        lic("pkg:pypi/requests@2.31.0")[0]["license"]["id"],
        "Apache-2.0"
    );
    // An installed package no lockfile lists (egg-info) is included too.
    assert_eq!(
        lic("pkg:pypi/custom-lib@0.1")[0]["license"]["name"],
        "Proprietary, all rights reserved by ACME"
    );
    // Reproducible under SOURCE_DATE_EPOCH.
    let (_, again, _) = run(&["sbom", p.to_str().unwrap(), "--name", "demo"]);
    assert_eq!(out, again);
}

#[test]
fn spdx_to_file_and_no_installed() {
    let p = project();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out.spdx.json");
    let (code, out, err) = run(&[
        "sbom",
        p.to_str().unwrap(),
        "--format",
        "spdx",
        "--no-installed",
        "-o",
        file.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.is_empty());
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(doc["spdxVersion"], "SPDX-2.3");
    let pkgs = doc["packages"].as_array().unwrap();
    let left = pkgs.iter().find(|p| p["name"] == "left-pad").unwrap();
    // Without installed metadata the lockfile carries no licence.
    assert_eq!(left["licenseDeclared"], "NOASSERTION");
    assert!(!pkgs.iter().any(|p| p["name"] == "Custom_Lib"));
    assert!(doc["relationships"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["relationshipType"] == "DEPENDS_ON"));
}

#[test]
fn bad_format_and_missing_path_are_errors() {
    let p = project();
    let (code, _, err) = run(&["sbom", p.to_str().unwrap(), "--format", "xml"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("cyclonedx"), "{err}");
    let (code, _, err) = run(&["sbom", "/nonexistent/dir"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no such file"), "{err}");
}

#[test]
fn exclude_leaves_out_installed_packages_under_it() {
    // `.venv` holds the only copy of custom-lib (egg-info, no lockfile lists it). The
    // SBOM used to list it under `--exclude .venv`, while `rampart deps` (licences) left it
    // out: the two commands now share one inventory pipeline.
    let p = project();
    let purls = |extra: &[&str]| -> Vec<String> {
        let mut args = vec!["sbom", p.to_str().unwrap(), "-q"];
        args.extend_from_slice(extra);
        let (code, out, err) = run(&args);
        assert_eq!(code, 0, "{err}");
        let bom: Value = serde_json::from_str(&out).unwrap();
        bom["components"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["purl"].as_str().unwrap().to_string())
            .collect()
    };
    let all = purls(&[]);
    assert!(
        all.contains(&"pkg:pypi/custom-lib@0.1".to_string()),
        "{all:?}"
    );
    let excluded = purls(&["--exclude", ".venv"]);
    assert!(
        !excluded.contains(&"pkg:pypi/custom-lib@0.1".to_string()),
        "{excluded:?}"
    );
    // Packages the lockfiles list stay.
    assert!(excluded.contains(&"pkg:pypi/requests@2.31.0".to_string()));
    assert!(excluded.contains(&"pkg:npm/left-pad@1.3.0".to_string()));
}
