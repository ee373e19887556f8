//! CycloneDX / SPDX writers: schema validation (with a negative control), snapshots with a
//! fixed timestamp, round trips through the reader, and interop with independent tools
//! (cyclonedx-python-lib, spdx-tools).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use crate::sbom_support;

use rampart_sca::sbom::{cyclonedx, read_str, spdx, SbomMeta};
use sbom_support::*;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

fn meta() -> SbomMeta {
    SbomMeta::fixed("demo-app", Some("1.2.3"), 1_700_000_000)
}

#[test]
fn cyclonedx_is_valid_against_the_official_schema() {
    let Some(dir) = shared_schemas() else { return };
    let v = cyclonedx_validator(&dir);
    let bom = cyclonedx(&inventory(), &meta());
    assert_eq!(errors(&v, &bom), Vec::<String>::new());
    // An empty inventory and a meta without version are valid too.
    let empty = cyclonedx(&Default::default(), &SbomMeta::now("x", None));
    assert_eq!(errors(&v, &empty), Vec::<String>::new());
}

#[test]
fn cyclonedx_validator_rejects_broken_documents() {
    let Some(dir) = shared_schemas() else { return };
    let v = cyclonedx_validator(&dir);
    let good = cyclonedx(&inventory(), &meta());
    type Breakage = (&'static str, Box<dyn Fn(&mut Value)>);
    let breakages: Vec<Breakage> = vec![
        (
            "unknown licence id",
            Box::new(|b: &mut Value| {
                b["components"][0]["licenses"] = json!([{"license": {"id": "Not-A-Licence"}}]);
            }),
        ),
        (
            "bad hash length",
            Box::new(|b: &mut Value| {
                b["components"][0]["hashes"] = json!([{"alg": "SHA-256", "content": "abc"}]);
            }),
        ),
        (
            "missing bomFormat",
            Box::new(|b: &mut Value| {
                b.as_object_mut().unwrap().remove("bomFormat");
            }),
        ),
        (
            "bad serial",
            Box::new(|b: &mut Value| {
                b["serialNumber"] = json!("not-a-urn");
            }),
        ),
        (
            "unknown component type",
            Box::new(|b: &mut Value| {
                b["components"][0]["type"] = json!("gizmo");
            }),
        ),
    ];
    for (what, f) in breakages {
        let mut b = good.clone();
        f(&mut b);
        assert!(!errors(&v, &b).is_empty(), "validator accepted: {what}");
    }
}

#[test]
fn cyclonedx_content() {
    let bom = cyclonedx(&inventory(), &meta());
    let comps = bom["components"].as_array().unwrap();
    let purls: Vec<&str> = comps.iter().filter_map(|c| c["purl"].as_str()).collect();
    for want in [
        "pkg:cargo/serde@1.0.200",
        "pkg:npm/%40babel/core@7.24.0",
        "pkg:pypi/django@4.2.1",
        "pkg:pypi/some-gpl-lib@1.0",
        "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1",
        "pkg:golang/github.com/gorilla/mux@v1.8.1",
        "pkg:gem/rails@7.1.0",
        "pkg:composer/symfony/http-kernel@6.4.0",
        "pkg:nuget/Newtonsoft.Json@13.0.1",
        "pkg:hex/phoenix@1.7.0",
        "pkg:pub/http@1.2.0",
        "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?distro=debian-12",
        "pkg:apk/alpine/musl@1.2.4-r2?distro=alpine-3.19",
    ] {
        assert!(purls.contains(&want), "{want} missing from {purls:?}");
    }
    // serde_derive appears in two lockfiles but is one component.
    assert_eq!(
        purls.iter().filter(|p| p.contains("serde_derive")).count(),
        1
    );
    let by = |purl: &str| comps.iter().find(|c| c["purl"] == purl).unwrap();
    assert_eq!(
        by("pkg:cargo/serde@1.0.200")["licenses"],
        json!([{"expression": "MIT OR Apache-2.0"}])
    );
    assert_eq!(
        by("pkg:npm/%40babel/core@7.24.0")["licenses"],
        json!([{"license": {"id": "MIT"}}])
    );
    assert_eq!(by("pkg:npm/%40babel/core@7.24.0")["group"], "@babel");
    assert_eq!(by("pkg:npm/%40babel/core@7.24.0")["scope"], "excluded");
    assert_eq!(
        by("pkg:npm/lodash@4.17.21")["licenses"],
        json!([{"license": {"name": "SEE LICENSE IN LICENSE.md"}}])
    );
    assert_eq!(
        by("pkg:pypi/django@4.2.1")["licenses"],
        json!([{"license": {"id": "BSD-3-Clause"}}])
    );
    assert_eq!(
        by("pkg:pypi/some-gpl-lib@1.0")["licenses"],
        json!([{"expression": "GPL-2.0-only WITH Classpath-exception-2.0"}])
    );
    assert_eq!(by("pkg:cargo/serde@1.0.200")["hashes"][0]["alg"], "SHA-256");
    let deps = bom["dependencies"].as_array().unwrap();
    let dep = |r: &str| -> BTreeSet<String> {
        deps.iter().find(|d| d["ref"] == r).unwrap()["dependsOn"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap().to_string())
            .collect()
    };
    let root = dep("rampart:root");
    assert!(root.contains("pkg:cargo/serde@1.0.200"));
    assert!(root.contains("pkg:npm/%40babel/core@7.24.0"));
    assert!(!root.contains("pkg:cargo/serde_derive@1.0.200"));
    // No direct flags in poetry.lock: its packages are roots.
    assert!(root.contains("pkg:pypi/django@4.2.1"));
    assert_eq!(
        dep("pkg:cargo/serde@1.0.200"),
        ["pkg:cargo/serde_derive@1.0.200".to_string()].into()
    );
    assert_eq!(
        dep("pkg:npm/%40babel/core@7.24.0"),
        ["pkg:npm/lodash@4.17.21".to_string()].into()
    );
    // Every ref in the graph is a component (or the root).
    let refs: BTreeSet<&str> = comps
        .iter()
        .map(|c| c["bom-ref"].as_str().unwrap())
        .collect();
    for d in deps {
        for t in d["dependsOn"].as_array().unwrap() {
            assert!(refs.contains(t.as_str().unwrap()), "{t}");
        }
    }
}

#[test]
fn reproducible_with_fixed_time_random_without() {
    let a = serde_json::to_string(&cyclonedx(&inventory(), &meta())).unwrap();
    let b = serde_json::to_string(&cyclonedx(&inventory(), &meta())).unwrap();
    assert_eq!(a, b);
    let c = cyclonedx(&inventory(), &SbomMeta::now("demo-app", Some("1.2.3")));
    let d = cyclonedx(&inventory(), &SbomMeta::now("demo-app", Some("1.2.3")));
    assert_ne!(c["serialNumber"], d["serialNumber"]);
    let s = c["serialNumber"].as_str().unwrap();
    assert!(
        uuid::Uuid::parse_str(s.trim_start_matches("urn:uuid:")).is_ok(),
        "{s}"
    );
    let sp = spdx(&inventory(), &meta());
    assert_eq!(sp["creationInfo"]["created"], "2023-11-14T22:13:20Z");
    assert_eq!(sp, spdx(&inventory(), &meta()));
}

#[test]
fn snapshots() {
    let mut s = insta::Settings::clone_current();
    // The tool version changes with every release; the serial number is content-derived.
    s.add_filter(r"rampart-\d+\.\d+\.\d+[^\x22]*", "rampart-[VERSION]");
    s.add_filter(
        r#""name": "rampart",\s*"type": "application",\s*"version": "[^"]*""#,
        r#""name": "rampart", "type": "application", "version": "[VERSION]""#,
    );
    s.bind(|| {
        insta::assert_json_snapshot!("cyclonedx", cyclonedx(&inventory(), &meta()));
        insta::assert_json_snapshot!("spdx", spdx(&inventory(), &meta()));
    });
}

#[test]
fn spdx_content() {
    let doc = spdx(&inventory(), &meta());
    let pkgs = doc["packages"].as_array().unwrap();
    // Root + 15 unique packages.
    assert_eq!(pkgs.len(), 16);
    let ids: BTreeSet<&str> = pkgs.iter().map(|p| p["SPDXID"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), pkgs.len(), "SPDXIDs unique");
    for id in &ids {
        assert!(
            id.starts_with("SPDXRef-")
                && id[8..]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'),
            "{id}"
        );
    }
    let rels = doc["relationships"].as_array().unwrap();
    assert!(rels
        .iter()
        .any(|r| r["relationshipType"] == "DESCRIBES" && r["spdxElementId"] == "SPDXRef-DOCUMENT"));
    for r in rels {
        let a = r["spdxElementId"].as_str().unwrap();
        let b = r["relatedSpdxElement"].as_str().unwrap();
        assert!(a == "SPDXRef-DOCUMENT" || ids.contains(a), "{a}");
        assert!(ids.contains(b), "{b}");
    }
    // Free text becomes a LicenseRef with its text; LicenseRefs from input are declared.
    let extracted = doc["hasExtractedLicensingInfos"].as_array().unwrap();
    let lodash = pkgs.iter().find(|p| p["name"] == "lodash").unwrap();
    let lref = lodash["licenseDeclared"].as_str().unwrap();
    assert!(lref.starts_with("LicenseRef-rampart-"), "{lref}");
    assert!(extracted
        .iter()
        .any(|e| e["licenseId"] == lref && e["extractedText"] == "SEE LICENSE IN LICENSE.md"));
    assert!(extracted
        .iter()
        .any(|e| e["licenseId"] == "LicenseRef-Acme"));
    let log4j = pkgs
        .iter()
        .find(|p| p["name"] == "org.apache.logging.log4j:log4j-core")
        .unwrap();
    assert_eq!(log4j["licenseDeclared"], "Apache-2.0 AND LicenseRef-Acme");
    let ns = doc["documentNamespace"].as_str().unwrap();
    assert!(ns.starts_with("https://") && !ns.contains('#'));
}

fn keyset(inv: &rampart_sca::inventory::Inventory) -> BTreeSet<(String, String, String)> {
    inv.packages()
        .map(|p| (p.ecosystem.clone(), p.name.clone(), p.version.clone()))
        .collect()
}

#[test]
fn round_trip_through_the_reader() {
    let inv = inventory();
    let mut want = keyset(&inv);
    // PyPI names come back PEP 503-normalised, as purls spell them.
    want.remove(&("PyPI".into(), "Django".into(), "4.2.1".into()));
    want.insert(("PyPI".into(), "django".into(), "4.2.1".into()));
    want.remove(&("PyPI".into(), "some_gpl.lib".into(), "1.0".into()));
    want.insert(("PyPI".into(), "some-gpl-lib".into(), "1.0".into()));
    for (kind, doc) in [
        ("cyclonedx", cyclonedx(&inv, &meta())),
        ("spdx", spdx(&inv, &meta())),
    ] {
        let text = serde_json::to_string_pretty(&doc).unwrap();
        let back = read_str(&text, Path::new("sbom.json")).unwrap();
        assert_eq!(back.lockfiles[0].kind, kind);
        assert_eq!(keyset(&back), want, "{kind}");
        let serde = back.packages().find(|p| p.name == "serde").unwrap();
        assert_eq!(serde.direct, Some(true), "{kind}");
        assert_eq!(serde.dependencies, vec!["serde_derive@1.0.200"], "{kind}");
        assert_eq!(serde.licenses, vec!["MIT OR Apache-2.0"], "{kind}");
        assert_eq!(serde.hashes[0].alg, "SHA-256", "{kind}");
        assert!(serde.source.as_ref().unwrap().line.unwrap() > 1, "{kind}");
        let derive = back.packages().find(|p| p.name == "serde_derive").unwrap();
        assert_eq!(derive.direct, Some(false), "{kind}");
    }
}

fn write_tmp(doc: &Value, name: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join(name);
    std::fs::write(&p, serde_json::to_string_pretty(doc).unwrap()).unwrap();
    (d, p)
}

const CDX_CHECK: &str = r#"
import json, sys
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from cyclonedx.model.bom import Bom
text = open(sys.argv[1]).read()
err = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
if err is not None:
    print("INVALID", err)
    sys.exit(1)
bom = Bom.from_json(json.loads(text))
print("components", len(bom.components), "dependencies", len(bom.dependencies))
"#;

#[test]
fn interop_cyclonedx_python_lib() {
    let Some(py) = cyclonedx_python() else { return };
    let (_d, good) = write_tmp(&cyclonedx(&inventory(), &meta()), "bom.json");
    let out = Command::new(&py)
        .args(["-c", CDX_CHECK])
        .arg(&good)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("components 15"), "{stdout}");
    // Negative control: the same tool rejects a broken document.
    let mut bad = cyclonedx(&inventory(), &meta());
    bad["components"][0]["licenses"] = json!([{"license": {"id": "Not-A-Licence"}}]);
    let (_d2, badp) = write_tmp(&bad, "bad.json");
    let out = Command::new(&py)
        .args(["-c", CDX_CHECK])
        .arg(&badp)
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "cyclonedx-python-lib accepted a broken BOM"
    );
}

#[test]
fn interop_spdx_tools() {
    let Some(tool) = pyspdxtools() else { return };
    let (_d, good) = write_tmp(&spdx(&inventory(), &meta()), "doc.spdx.json");
    let out = Command::new(&tool).arg("-i").arg(&good).output().unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{all}");
    assert!(!all.to_lowercase().contains("invalid"), "{all}");
    // Negative control: a relationship to an undefined element is rejected.
    let mut bad = spdx(&inventory(), &meta());
    bad["relationships"].as_array_mut().unwrap().push(json!({
        "spdxElementId": "SPDXRef-RootPackage",
        "relationshipType": "DEPENDS_ON",
        "relatedSpdxElement": "SPDXRef-Nowhere",
    }));
    let (_d2, badp) = write_tmp(&bad, "bad.spdx.json");
    let out = Command::new(&tool).arg("-i").arg(&badp).output().unwrap();
    assert!(
        !out.status.success(),
        "pyspdxtools accepted a broken document"
    );
}

/// The official SPDX 2.3 JSON schema (spdx/spdx-spec `schemas/spdx-schema.json`), from
/// `RAMPART_SPDX_SCHEMA` or `<shared>/schemas/spdx-schema-2.3.json`. Not vendored here;
/// skipped with a notice when absent (pyspdxtools validates in `interop_spdx_tools`).
fn spdx_schema() -> Option<Value> {
    let p = std::env::var_os("RAMPART_SPDX_SCHEMA")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| rampart_testkit::shared_dir().join("schemas/spdx-schema-2.3.json"));
    match std::fs::read_to_string(&p) {
        Ok(t) => Some(serde_json::from_str(&t).unwrap()),
        Err(_) => {
            eprintln!(
                "notice: skipping: SPDX 2.3 JSON schema not found at {} (set RAMPART_SPDX_SCHEMA)",
                p.display()
            );
            None
        }
    }
}

#[test]
fn spdx_is_valid_against_the_official_schema() {
    let Some(schema) = spdx_schema() else { return };
    let v = jsonschema::validator_for(&schema).unwrap();
    let doc = spdx(&inventory(), &meta());
    assert_eq!(errors(&v, &doc), Vec::<String>::new());
    let mut bad = doc.clone();
    bad["packages"][1]["SPDXID"] = json!("Package serde");
    assert!(!errors(&v, &bad).is_empty(), "bad SPDXID accepted");
    let mut bad = doc;
    bad["packages"][1]["primaryPackagePurpose"] = json!("GIZMO");
    assert!(!errors(&v, &bad).is_empty(), "bad purpose accepted");
}
