//! Reading SBOMs made by real peers: syft 1.18 and Trivy 0.67+ (CycloneDX 1.6 / 1.7 and
//! SPDX 2.3 JSON), generated once from `fixtures/sbom/src/` (see `fixtures/sbom/README.md`)
//! and compared with Rampart's own lockfile scan of the same directory.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use rampart_core::walk::WalkOptions;
use rampart_sca::inventory::Inventory;
use rampart_sca::sbom::{read, read_str, Error};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

type Key = (String, String, String);

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sbom")
}

fn keys(inv: &Inventory) -> BTreeSet<Key> {
    inv.packages()
        .map(|p| (p.ecosystem.clone(), p.name.clone(), p.version.clone()))
        .collect()
}

fn k(e: &str, n: &str, v: &str) -> Key {
    (e.into(), n.into(), v.into())
}

/// Packages both peers and Rampart's lockfile parsers must agree on.
fn expected() -> BTreeSet<Key> {
    [
        k("crates.io", "chrono", "0.4.19"),
        k("crates.io", "libc", "0.2.126"),
        k("crates.io", "winapi", "0.3.9"),
        k("npm", "express", "4.17.1"),
        k("npm", "qs", "6.7.0"),
        k("PyPI", "requests", "2.26.0"),
        k("PyPI", "urllib3", "1.26.7"),
        k("PyPI", "certifi", "2021.10.8"),
        k("Go", "github.com/gin-gonic/gin", "v1.9.1"),
        k("Go", "gopkg.in/yaml.v3", "v3.0.2"),
        k(
            "Go",
            "golang.org/x/sys",
            "v0.0.0-20210330210617-4fbd30eecc44",
        ),
    ]
    .into()
}

#[test]
fn peers_sboms_read_back() {
    let own = rampart_sca::scan::scan_dir(&dir().join("src"), &WalkOptions::default()).unwrap();
    let own = keys(&own);
    for f in [
        "syft.cdx.json",
        "syft.spdx.json",
        "trivy.cdx.json",
        "trivy.spdx.json",
    ] {
        let inv = read(&dir().join(f)).unwrap();
        let got = keys(&inv);
        let missing: Vec<_> = expected().difference(&got).cloned().collect();
        assert!(missing.is_empty(), "{f}: missing {missing:?}");
        // Everything a peer lists that Rampart's lockfile scan does not is the project
        // itself (root crate / npm package / Go main module), never a dependency.
        let extra: Vec<_> = got.difference(&own).cloned().collect();
        for (e, n, v) in &extra {
            assert!(
                ["app", "web", "github.com/acme/service"].contains(&n.as_str())
                    || n.contains("internal"),
                "{f}: unexpected extra package {e}/{n}@{v}"
            );
        }
        // Every package points back at the SBOM, with the line of its purl (syft writes
        // one line).
        for p in inv.packages() {
            let s = p.source.as_ref().unwrap();
            assert!(s.path.ends_with(f), "{f}: {}", s.path);
            assert!(s.line.is_some(), "{f}: {} has no line", p.name);
        }
        eprintln!(
            "{f}: {} packages, {} extra vs lockfile scan",
            got.len(),
            extra.len()
        );
    }
}

#[test]
fn dependency_graph_from_cyclonedx_and_spdx() {
    for f in ["syft.cdx.json", "trivy.cdx.json", "trivy.spdx.json"] {
        let inv = read(&dir().join(f)).unwrap();
        let chrono = inv.packages().find(|p| p.name == "chrono").unwrap();
        for d in ["num-integer@0.1.45", "num-traits@0.2.15", "time@0.1.43"] {
            assert!(
                chrono.dependencies.iter().any(|x| x == d),
                "{f}: chrono → {d}: {:?}",
                chrono.dependencies
            );
        }
    }
    // Trivy marks the lockfiles' direct dependencies via its application components.
    let inv = read(&dir().join("trivy.cdx.json")).unwrap();
    let express = inv.packages().find(|p| p.name == "express").unwrap();
    assert_eq!(express.direct, Some(true));
    let qs = inv.packages().find(|p| p.name == "qs").unwrap();
    assert_eq!(qs.direct, Some(false));
}

#[test]
fn rejects_what_is_not_an_sbom() {
    let p = Path::new("x.json");
    match read_str("{\"a\":\n  [1,]}", p) {
        Err(Error::Json { line, .. }) => assert_eq!(line, 2),
        other => panic!("{other:?}"),
    }
    let e = read_str("{\"hello\": 1}", p).unwrap_err().to_string();
    assert!(e.contains("neither a CycloneDX"), "{e}");
    let e = read_str("{\"spdxVersion\": \"SPDX-3.0\"}", p)
        .unwrap_err()
        .to_string();
    assert!(e.contains("SPDX-3.0"), "{e}");
    assert!(matches!(
        read(Path::new("/nonexistent.json")),
        Err(Error::Io { .. })
    ));
    // Components without purls and with unknown purl types do not break the read.
    let inv = read_str(
        r#"{"bomFormat":"CycloneDX","specVersion":"1.4","components":[
            {"type":"file","name":"x"},
            {"type":"library","name":"y","purl":"pkg:bitbucket/a/b@1"},
            {"type":"library","name":"z","purl":"not a purl"},
            {"type":"library","name":"lodash","purl":"pkg:npm/lodash@4.17.21","licenses":[{"license":{"id":"MIT"}}]}
        ],"dependencies":[{"ref":"missing","dependsOn":["also-missing"]}]}"#,
        p,
    )
    .unwrap();
    let got = keys(&inv);
    assert!(got.contains(&k("npm", "lodash", "4.17.21")));
    assert!(got.contains(&k("bitbucket", "a/b", "1")));
    assert_eq!(got.len(), 2);
    assert_eq!(
        inv.packages()
            .find(|p| p.name == "lodash")
            .unwrap()
            .licenses,
        vec!["MIT"]
    );
}

#[test]
fn truncated_and_mangled_sboms_are_errors_not_panics() {
    for f in [
        "syft.cdx.json",
        "syft.spdx.json",
        "trivy.cdx.json",
        "trivy.spdx.json",
    ] {
        let full = std::fs::read_to_string(dir().join(f)).unwrap();
        let text = full.trim_end();
        let n = text.len();
        for cut in (0..n).step_by(n / 97 + 1) {
            let Some(t) = text.get(..cut) else { continue };
            assert!(read_str(t, Path::new(f)).is_err(), "{f} cut at {cut}");
        }
        // Wrong types everywhere still read (what can be read) without panicking.
        let mangled = full
            .replace("\"dependsOn\":[", "\"dependsOn\":[1,{},")
            .replace("\"licenses\":[", "\"licenses\":[7,");
        let _ = read_str(&mangled, Path::new(f));
    }
}

#[test]
fn go_module_case_is_kept_from_the_component_name() {
    let inv = read_str(
        r#"{"bomFormat":"CycloneDX","specVersion":"1.6","components":[
            {"type":"library","name":"github.com/Azure/go-autorest","version":"v14.2.0",
             "purl":"pkg:golang/github.com/azure/go-autorest@v14.2.0"}]}"#,
        Path::new("x.json"),
    )
    .unwrap();
    assert_eq!(
        inv.packages().next().unwrap().name,
        "github.com/Azure/go-autorest"
    );
}
