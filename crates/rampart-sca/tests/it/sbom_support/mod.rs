//! Shared helpers for the SBOM tests: a hand-built inventory covering every ecosystem,
//! schema validators with local `$ref` resolution, and peer-tool discovery.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr,
    dead_code
)]

use rampart_sca::inventory::{Hash, Inventory, Lockfile, Package, SourceRef};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn pkg(eco: &str, name: &str, version: &str, path: &str, line: usize) -> Package {
    let mut p = Package::new(eco, name, version);
    p.source = Some(SourceRef {
        path: path.into(),
        line: Some(line),
    });
    p
}

/// A project with a Cargo.lock, a package-lock.json, a poetry.lock and image-style OS
/// packages; licences in every form (id, expression, WITH, free text, none), hashes and
/// a dependency graph.
pub fn inventory() -> Inventory {
    let mut serde = pkg("crates.io", "serde", "1.0.200", "Cargo.lock", 10);
    serde.direct = Some(true);
    serde.licenses = vec!["MIT OR Apache-2.0".into()];
    serde.dependencies = vec!["serde_derive@1.0.200".into()];
    serde.hashes = vec![Hash {
        alg: "SHA-256".into(),
        value: "ddc6f9cc94d67c0e21aaf7eda3a010fd3af78ebf6e096aa6e2e13c79749cce4f".into(),
    }];
    let mut derive = pkg("crates.io", "serde_derive", "1.0.200", "Cargo.lock", 20);
    derive.direct = Some(false);
    derive.licenses = vec!["MIT/Apache-2.0".into()];
    let mut babel = pkg("npm", "@babel/core", "7.24.0", "web/package-lock.json", 30);
    babel.direct = Some(true);
    babel.dev = true;
    babel.licenses = vec!["MIT".into()];
    babel.dependencies = vec!["lodash@4.17.21".into()];
    babel.resolved = Some("https://registry.npmjs.org/@babel/core/-/core-7.24.0.tgz".into());
    babel.hashes = vec![Hash {
        alg: "SHA-512".into(),
        value: "a".repeat(128),
    }];
    let mut lodash = pkg("npm", "lodash", "4.17.21", "web/package-lock.json", 40);
    lodash.direct = Some(false);
    lodash.licenses = vec!["SEE LICENSE IN LICENSE.md".into()];
    let mut django = pkg("PyPI", "Django", "4.2.1", "poetry.lock", 5);
    django.licenses = vec!["BSD License".into()];
    let mut gpl = pkg("PyPI", "some_gpl.lib", "1.0", "poetry.lock", 9);
    gpl.licenses = vec!["GPL-2.0-only WITH Classpath-exception-2.0".into()];
    let mut lib = pkg(
        "Maven",
        "org.apache.logging.log4j:log4j-core",
        "2.14.1",
        "pom.xml",
        12,
    );
    lib.licenses = vec!["Apache-2.0".into(), "LicenseRef-Acme".into()];
    let go = pkg("Go", "github.com/gorilla/mux", "v1.8.1", "go.mod", 3);
    let gem = pkg("RubyGems", "rails", "7.1.0", "Gemfile.lock", 4);
    let comp = pkg(
        "Packagist",
        "symfony/http-kernel",
        "6.4.0",
        "composer.lock",
        8,
    );
    let nuget = pkg(
        "NuGet",
        "Newtonsoft.Json",
        "13.0.1",
        "packages.lock.json",
        6,
    );
    let hex = pkg("Hex", "phoenix", "1.7.0", "mix.lock", 2);
    let dart = pkg("Pub", "http", "1.2.0", "pubspec.lock", 7);
    let mut deb = pkg(
        "Debian:12",
        "libc6",
        "2.36-9+deb12u4",
        "var/lib/dpkg/status",
        100,
    );
    deb.licenses = vec!["LGPL-2.1-or-later AND GPL-2.0-or-later".into()];
    let apk = pkg(
        "Alpine:v3.19",
        "musl",
        "1.2.4-r2",
        "lib/apk/db/installed",
        1,
    );
    let lf = |path: &str, kind: &str, packages: Vec<Package>| Lockfile {
        path: path.into(),
        kind: kind.into(),
        packages,
    };
    Inventory {
        lockfiles: vec![
            lf(
                "Cargo.lock",
                "cargo-lock",
                vec![serde.clone(), derive.clone()],
            ),
            lf("web/package-lock.json", "npm-lock-v3", vec![babel, lodash]),
            lf("poetry.lock", "poetry", vec![django, gpl]),
            lf("pom.xml", "maven", vec![lib]),
            lf("go.mod", "gomod", vec![go]),
            lf("Gemfile.lock", "gemfile", vec![gem]),
            lf("composer.lock", "composer", vec![comp]),
            lf("packages.lock.json", "nuget", vec![nuget]),
            lf("mix.lock", "mix", vec![hex]),
            lf("pubspec.lock", "pub", vec![dart]),
            lf("var/lib/dpkg/status", "dpkg", vec![deb]),
            lf("lib/apk/db/installed", "apk", vec![apk]),
            // The same crates found again in a second lockfile: one component each.
            lf("tools/Cargo.lock", "cargo-lock", vec![serde, derive]),
        ],
        errors: vec![],
    }
}

/// Schemas directory of the shared folder (`None` + notice when absent).
pub fn shared_schemas() -> Option<PathBuf> {
    rampart_testkit::shared("schemas/bom-1.6.SNAPSHOT.schema.json")
        .map(|p| p.parent().unwrap().to_path_buf())
}

fn load(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// The CycloneDX 1.6 validator, with its two `$ref`ed schemas served locally.
pub fn cyclonedx_validator(dir: &Path) -> jsonschema::Validator {
    let bom = load(&dir.join("bom-1.6.SNAPSHOT.schema.json"));
    let spdx = load(&dir.join("spdx.SNAPSHOT.schema.json"));
    let jsf = load(&dir.join("jsf-0.82.SNAPSHOT.schema.json"));
    jsonschema::options()
        .with_resource(
            "http://cyclonedx.org/schema/spdx.SNAPSHOT.schema.json",
            jsonschema::Resource::from_contents(spdx).unwrap(),
        )
        .with_resource(
            "http://cyclonedx.org/schema/jsf-0.82.SNAPSHOT.schema.json",
            jsonschema::Resource::from_contents(jsf).unwrap(),
        )
        .should_validate_formats(true)
        .build(&bom)
        .unwrap()
}

/// Every validation error, as text.
pub fn errors(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect()
}

fn require_tools() -> bool {
    std::env::var("RAMPART_REQUIRE_TOOLS").is_ok_and(|v| v == "1")
}

fn home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default()
}

fn skip(what: &str) -> Option<PathBuf> {
    if require_tools() {
        panic!("{what} not found (RAMPART_REQUIRE_TOOLS=1)");
    }
    eprintln!("notice: skipping: {what} not found");
    None
}

/// A Python interpreter that can `import cyclonedx` (cyclonedx-python-lib):
/// `RAMPART_CYCLONEDX_PY`, `~/peers/venv-cyclonedx/bin/python`, or `python3` on PATH.
pub fn cyclonedx_python() -> Option<PathBuf> {
    let mut cands: Vec<PathBuf> = Vec::new();
    if let Some(p) = std::env::var_os("RAMPART_CYCLONEDX_PY") {
        cands.push(p.into());
    }
    cands.push(home().join("peers/venv-cyclonedx/bin/python"));
    cands.push("python3".into());
    for c in cands {
        let ok = Command::new(&c)
            .args(["-c", "import cyclonedx.validation.json"])
            .output()
            .is_ok_and(|o| o.status.success());
        if ok {
            return Some(c);
        }
    }
    skip("cyclonedx-python-lib (set RAMPART_CYCLONEDX_PY to a python that imports it)")
}

/// `pyspdxtools`: `RAMPART_SPDX_TOOLS`, `~/peers/venv-spdx-tools/bin/pyspdxtools`, or on PATH.
pub fn pyspdxtools() -> Option<PathBuf> {
    let mut cands: Vec<PathBuf> = Vec::new();
    if let Some(p) = std::env::var_os("RAMPART_SPDX_TOOLS") {
        cands.push(p.into());
    }
    cands.push(home().join("peers/venv-spdx-tools/bin/pyspdxtools"));
    cands.push("pyspdxtools".into());
    for c in cands {
        let ok = Command::new(&c)
            .arg("--help")
            .output()
            .is_ok_and(|o| o.status.success());
        if ok {
            return Some(c);
        }
    }
    skip("pyspdxtools (spdx-tools; set RAMPART_SPDX_TOOLS)")
}
