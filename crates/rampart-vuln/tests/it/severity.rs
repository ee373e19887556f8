//! Severity at match time against real corpus records: a database written by an older
//! Rampart (every unrated record stored as `medium` / source `default`) reads back as
//! unknown, informational advisories get their kind back from the stored record, and
//! the alias/related lookup works on such a database too.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use rampart_core::Severity;
use rampart_vuln::severity::SeveritySource;
use rampart_vuln::{Db, ImportOptions, Package};
use std::path::PathBuf;

fn osv(rel: &str) -> Option<PathBuf> {
    rampart_testkit::corpus(&format!("osv/{rel}"))
}

/// Import `records`, then rewrite every unrated row as the previous version stored it.
fn legacy_db(records: &[&str]) -> Option<(tempfile::TempDir, PathBuf)> {
    let dir = tempfile::tempdir().unwrap();
    let recs = dir.path().join("records");
    std::fs::create_dir_all(&recs).unwrap();
    for r in records {
        let src = osv(r)?;
        std::fs::copy(&src, recs.join(src.file_name().unwrap())).unwrap();
    }
    let path = dir.path().join("vuln.db");
    let mut db = Db::open(&path).unwrap();
    db.import(&[recs], &ImportOptions::default()).unwrap();
    drop(db);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let old = r#"{"severity":"medium","source":{"kind":"default"}}"#;
    for table in ["vulns", "affected"] {
        let n = conn
            .execute(
                &format!(
                    "UPDATE {table} SET severity = ?1
                     WHERE severity LIKE '%\"kind\":\"unknown\"%'
                        OR severity LIKE '%\"kind\":\"informational\"%'"
                ),
                [old],
            )
            .unwrap();
        assert!(n > 0, "{table}: nothing rewritten");
    }
    Some((dir, path))
}

#[test]
fn a_database_from_the_previous_version_never_yields_a_silent_medium() {
    let Some((_dir, path)) = legacy_db(&[
        "mixed-osv-scanner-samples/PyPI/PYSEC-2021-98.json",
        "RustSec/RUSTSEC-2018-0017.json",
        "Go/GO-2024-2687.json",
        "osv-schema/redhat-osv/RHSA-2024_4546.json",
    ]) else {
        return;
    };
    let db = Db::open_existing(&path).unwrap();
    let rep = db
        .match_packages(&[
            Package::new("PyPI", "django", "3.2.1"),
            Package::new("crates.io", "tempdir", "0.3.7"),
            Package::new("Go", "golang.org/x/net", "v0.17.0"),
        ])
        .unwrap();
    let django = &rep[0].vulns[0].severity;
    assert_eq!(
        (django.severity, &django.source),
        (Severity::Unknown, &SeveritySource::Unknown)
    );
    let tempdir = &rep[1].vulns[0].severity;
    assert_eq!(tempdir.severity, Severity::Low, "{tempdir:?}");
    assert_eq!(tempdir.informational.as_deref(), Some("unmaintained"));
    let net = &rep[2].vulns[0].severity;
    assert_eq!(
        (net.severity, net.via.as_deref(), net.score),
        (Severity::High, Some("RHSA-2024:4546"), Some(7.5))
    );
}
