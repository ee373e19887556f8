//! `rampart db import|status` driven through the real binary (issue 3, part 1).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)]

use std::path::Path;
use std::process::{Command, Output};

fn rampart(cache: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rampart"));
    c.env("NO_COLOR", "1")
        .env_remove("RAMPART_DB")
        .env("XDG_CACHE_HOME", cache)
        .env("HOME", cache);
    c
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn out(o: &Output) -> String {
    format!("stdout:\n{}\nstderr:\n{}", text(&o.stdout), text(&o.stderr))
}

#[test]
fn import_then_status_default_path() {
    let Some(go) = rampart_testkit::corpus("osv/Go") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let o = rampart(tmp.path()).args(["db", "status"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    assert!(text(&o.stderr).contains("rampart db import"), "{}", out(&o));

    let o = rampart(tmp.path())
        .args(["db", "import"])
        .arg(&go)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert!(
        text(&o.stdout).contains("imported 4274 records (17 withdrawn"),
        "{}",
        out(&o)
    );
    assert!(tmp.path().join("rampart").join("vuln.db").exists());

    let o = rampart(tmp.path())
        .args(["db", "status", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let st: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(st["vulns"], 4274);
    assert_eq!(st["ecosystems"]["Go"]["vulns"], 4274);
    let o = rampart(tmp.path()).args(["db", "status"]).output().unwrap();
    assert!(text(&o.stdout).contains("Go"), "{}", out(&o));
}

#[test]
fn db_flag_and_env_and_rejections() {
    let Some(schema) = rampart_testkit::corpus("osv/osv-schema/linter-testdata") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("x.db");
    let o = rampart(tmp.path())
        .args(["db", "import", "--db"])
        .arg(&db)
        .arg(&schema)
        .output()
        .unwrap();
    // One record has no `introduced` event: reported, the rest imported, exit 2.
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    assert!(text(&o.stderr).contains("RNG:001"), "{}", out(&o));
    let o = rampart(tmp.path())
        .env("RAMPART_DB", &db)
        .args(["db", "status", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let st: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(st["vulns"].as_u64().unwrap() >= 8);
    // A missing path is an error and changes nothing.
    let o = rampart(tmp.path())
        .args(["db", "import", "--db"])
        .arg(&db)
        .arg(tmp.path().join("missing"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
}
