//! Licence policy over a real-looking project: lockfile packages get their licences from
//! installed metadata (node_modules, dist-info, egg-info), then the policy turns the bad
//! ones into findings.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use rampart_core::config::Config;
use rampart_core::walk::WalkOptions;
use rampart_sca::installed::{merge, scan_installed, Limits};
use rampart_sca::license::{license_findings, metas};
use std::path::{Path, PathBuf};

fn project() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/installed/project")
}

fn findings(yaml: &str) -> Vec<(String, String)> {
    let mut inv = rampart_sca::scan::scan_dir(&project(), &WalkOptions::default()).unwrap();
    let filled = merge(&mut inv, scan_installed(&project(), Limits::default()));
    assert_eq!(filled, 4, "left-pad, @acme/widget, gpl-thing, requests");
    let cfg = Config::parse(yaml, Path::new("rampart.yaml")).unwrap();
    let mut out: Vec<(String, String)> = license_findings(&inv, &cfg.license)
        .into_iter()
        .map(|f| (f.rule_id, f.location.display()))
        .collect();
    out.sort();
    out
}

#[test]
fn default_policy() {
    assert_eq!(
        findings(""),
        vec![
            (
                "license/denied".into(),
                "npm/gpl-thing@0.1.0 (package-lock.json:28)".into()
            ),
            (
                "license/unknown".into(),
                "PyPI/Custom_Lib@0.1 (.venv/lib/python3.11/site-packages/Custom_Lib-0.1.egg-info/PKG-INFO)".into()
            ),
        ]
    );
}

#[test]
fn allow_list_and_exceptions() {
    let got = findings(
        "license:\n  allow: [MIT, Apache-2.0]\n  unknown: off\n  exceptions:\n    - package: npm/gpl-thing\n      licenses: [GPL-3.0-or-later]\n      reason: internal tool only\n",
    );
    // WTFPL is not in the allow list; @acme/widget is `MIT OR Apache-2.0`: allowed.
    assert_eq!(
        got,
        vec![(
            "license/denied".into(),
            "npm/left-pad@1.3.0 (package-lock.json:16)".into()
        )]
    );
}

#[test]
fn rule_metadata_is_complete() {
    let m = metas();
    assert_eq!(m.len(), 3);
    for r in m {
        assert!(r.problems().is_empty(), "{:?}", r.problems());
    }
}
