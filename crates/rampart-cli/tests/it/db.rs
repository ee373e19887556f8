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
    // RAMPART_TEST_BIN: run the tests against another build (to see them fail on it).
    let bin =
        std::env::var("RAMPART_TEST_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_rampart").into());
    let mut c = Command::new(bin);
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
    // One record has no `introduced` event: reported with its reason, the rest
    // imported, exit 0 (a warning); with --strict the same import exits 2.
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert!(text(&o.stderr).contains("RNG:001"), "{}", out(&o));
    assert!(text(&o.stdout).contains("1 rejected"), "{}", out(&o));
    let o = rampart(tmp.path())
        .args(["db", "import", "--strict", "--db"])
        .arg(&db)
        .arg(&schema)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    assert!(text(&o.stderr).contains("--strict"), "{}", out(&o));
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

#[test]
fn import_of_a_whole_corpus_dir_skips_non_osv_json() {
    let Some(schema_dir) = rampart_testkit::corpus("osv/osv-schema") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("x.db");
    let o = rampart(tmp.path())
        .args(["db", "import", "--db"])
        .arg(&db)
        .arg(&schema_dir)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let err = text(&o.stderr);
    assert!(
        err.contains("schema.json: SKIP a JSON Schema, not an OSV record"),
        "{}",
        out(&o)
    );
    assert!(err.contains("GitHub API"), "{}", out(&o));
    // A directory with nothing importable is an error.
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    std::fs::write(empty.join("package.json"), r#"{"name":"x"}"#).unwrap();
    let o = rampart(tmp.path())
        .args(["db", "import", "--db"])
        .arg(&db)
        .arg(&empty)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    assert!(
        text(&o.stderr).contains("no OSV record imported"),
        "{}",
        out(&o)
    );
}

/// A one-file HTTP server on 127.0.0.1: `/crates.io/all.zip` with ETag `"v1"` (304 when
/// it matches `If-None-Match`), 404 for anything else. Serves `max` connections.
fn serve_zip(body: Vec<u8>, max: usize) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in listener.incoming().take(max) {
            let Ok(mut conn) = conn else { continue };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut first = String::new();
            let _ = reader.read_line(&mut first);
            let mut inm = false;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                    break;
                }
                inm |= line
                    .to_ascii_lowercase()
                    .starts_with("if-none-match: \"v1\"");
            }
            let _ = if !first.contains(" /crates.io/all.zip ") {
                conn.write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                )
            } else if inm {
                conn.write_all(
                    b"HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\nConnection: close\r\n\r\n",
                )
            } else {
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nETag: \"v1\"\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                conn.write_all(head.as_bytes())
                    .and_then(|()| conn.write_all(&body))
            };
        }
    });
    base
}

#[test]
fn update_from_a_local_server() {
    use std::io::Write;
    let Some(rustsec) = rampart_testkit::corpus("osv/RustSec") else {
        return;
    };
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let mut files: Vec<_> = std::fs::read_dir(&rustsec)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for f in files.iter().take(300) {
        w.start_file(
            f.file_name().unwrap().to_string_lossy(),
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        w.write_all(&std::fs::read(f).unwrap()).unwrap();
    }
    let body = w.finish().unwrap().into_inner();
    let base = serve_zip(body, 4);
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("u.db");
    let run = || {
        rampart(tmp.path())
            .args([
                "db",
                "update",
                "--base-url",
                &base,
                "--ecosystem",
                "crates.io,Missing",
                "--db",
            ])
            .arg(&db)
            .output()
            .unwrap()
    };
    // First run: crates.io imported, `Missing` is a 404: reported, exit 2.
    let o = run();
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    let err = text(&o.stderr);
    assert!(err.contains("crates.io: updated:"), "{}", out(&o));
    assert!(
        err.contains("Missing: failed: HTTP 404 Not Found"),
        "{}",
        out(&o)
    );
    assert!(
        // 300 files, of which 4 withdrawn records.
        text(&o.stdout).contains("1 updated (296 records imported), 0 not modified, 1 failed"),
        "{}",
        out(&o)
    );
    // Second run: the ETag matches, nothing is downloaded.
    let o = run();
    assert!(
        text(&o.stderr).contains("crates.io: not modified, skipped"),
        "{}",
        out(&o)
    );
    let o = rampart(tmp.path())
        .args(["db", "status", "--format", "json", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    let st: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(st["vulns"], 296);
    assert_eq!(st["feeds"]["crates.io"]["etag"], "\"v1\"");
    let o = rampart(tmp.path())
        .args(["db", "status", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        text(&o.stdout).contains("update    crates.io: imported 20"),
        "{}",
        out(&o)
    );
    // A bad size is a usage error.
    let o = rampart(tmp.path())
        .args(["db", "update", "--max-size", "12X", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
}

// ------------------------------------------- a failed update never leaves a worse database

/// An OSV record for `ecosystem`/`name`, affected below 2.0.
fn osv(dir: &Path, id: &str, ecosystem: &str, name: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join(format!("{id}.json")),
        format!(
            r#"{{"id": "{id}", "modified": "2024-01-01T00:00:00Z",
               "affected": [{{"package": {{"ecosystem": "{ecosystem}", "name": "{name}"}},
                 "ranges": [{{"type": "ECOSYSTEM",
                   "events": [{{"introduced": "0"}}, {{"fixed": "2.0"}}]}}]}}]}}"#
        ),
    )
    .unwrap();
}

/// A database at `db` holding one record affecting `left-pad` < 2.0 (npm) and one
/// affecting `requests` < 2.0 (PyPI), or only the second with `npm: false`.
fn good_db(tmp: &Path, db: &Path, npm: bool) {
    let src = tmp.join(if npm { "osv-both" } else { "osv-pypi" });
    if npm {
        osv(&src, "GHSA-npm1-xxxx-xxxx", "npm", "left-pad");
    }
    osv(&src, "GHSA-pypi-xxxx-xxxx", "PyPI", "requests");
    let o = rampart(tmp)
        .args(["db", "import", "--no-schema", "--db"])
        .arg(db)
        .arg(&src)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
}

/// A repository with a package-lock.json naming left-pad 1.0.0.
fn npm_repo(tmp: &Path) -> std::path::PathBuf {
    let repo = tmp.join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    std::fs::write(
        repo.join("package-lock.json"),
        r#"{"name": "app", "version": "1.0.0", "lockfileVersion": 3, "requires": true,
            "packages": {"": {"name": "app", "version": "1.0.0", "dependencies": {"left-pad": "1.0.0"}},
                         "node_modules/left-pad": {"version": "1.0.0"}}}"#,
    )
    .unwrap();
    repo
}

fn deps(tmp: &Path, repo: &Path, db: &Path, extra: &[&str]) -> Output {
    rampart(tmp)
        .args(["deps"])
        .arg(repo)
        .args(["--format", "json", "--fail-on", "medium", "--db"])
        .arg(db)
        .args(extra)
        .output()
        .unwrap()
}

/// A port nothing listens on.
fn dead_port() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    drop(l);
    base
}

#[test]
fn failed_update_keeps_a_good_database_usable() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("v.db");
    good_db(tmp.path(), &db, true);
    let before = std::fs::read(&db).unwrap();
    let o = rampart(tmp.path())
        .args([
            "db",
            "update",
            "--base-url",
            &dead_port(),
            "--ecosystem",
            "npm",
            "--db",
        ])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    assert!(text(&o.stderr).contains("npm: failed:"), "{}", out(&o));
    assert_eq!(std::fs::read(&db).unwrap(), before, "database changed");
    let repo = npm_repo(tmp.path());
    let o = deps(tmp.path(), &repo, &db, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(
        text(&o.stdout).contains("GHSA-npm1-xxxx-xxxx"),
        "{}",
        out(&o)
    );
}

/// No database and no network: `db update` fails and leaves no file at all (it used to
/// leave an empty database, after which `rampart deps` said "No findings, gate: passed").
#[test]
fn failed_first_update_leaves_no_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cache");
    let db = dir.join("vuln.db");
    let o = rampart(tmp.path())
        .args([
            "db",
            "update",
            "--base-url",
            &dead_port(),
            "--ecosystem",
            "npm,PyPI",
            "--db",
        ])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    assert!(!db.exists(), "{}", out(&o));
    let left: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "left behind: {left:?}");
    let repo = npm_repo(tmp.path());
    let o = deps(tmp.path(), &repo, &db, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
}

/// The update's temporary archive goes beside the database, not into `$TMPDIR` under a
/// predictable name: with `--db vuln.db` (no directory) and an unusable `$TMPDIR`, the
/// update works and leaves only the database.
#[test]
fn update_temp_files_live_beside_the_database() {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    w.start_file(
        "GHSA-crat-xxxx-xxxx.json",
        zip::write::SimpleFileOptions::default(),
    )
    .unwrap();
    w.write_all(
        br#"{"id": "GHSA-crat-xxxx-xxxx", "modified": "2024-01-01T00:00:00Z",
            "affected": [{"package": {"ecosystem": "crates.io", "name": "demo"},
              "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "2.0.0"}]}]}]}"#,
    )
    .unwrap();
    let base = serve_zip(w.finish().unwrap().into_inner(), 1);
    let tmp = tempfile::tempdir().unwrap();
    let o = rampart(tmp.path())
        .current_dir(tmp.path())
        .env("TMPDIR", tmp.path().join("no-such-dir"))
        .args([
            "db",
            "update",
            "--base-url",
            &base,
            "--ecosystem",
            "crates.io",
            "--no-schema",
            "--db",
            "vuln.db",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let mut left: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["vuln.db"], "{}", out(&o));
}

#[test]
fn deps_refuses_an_empty_database() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("empty.db");
    // An empty database, as a failed update used to leave.
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL); CREATE TABLE vulns (id TEXT PRIMARY KEY, modified TEXT, published TEXT, summary TEXT, aliases TEXT NOT NULL, refs TEXT NOT NULL, severity TEXT NOT NULL, source TEXT NOT NULL, record TEXT NOT NULL); CREATE TABLE affected (vuln_id TEXT NOT NULL, ecosystem TEXT NOT NULL, eco_base TEXT NOT NULL, name TEXT NOT NULL, severity TEXT NOT NULL, ranges TEXT NOT NULL, versions TEXT NOT NULL); CREATE TABLE aliases (alias TEXT NOT NULL, vuln_id TEXT NOT NULL);")
        .unwrap();
    let repo = npm_repo(tmp.path());
    let o = deps(tmp.path(), &repo, &db, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    let err = text(&o.stderr);
    assert!(
        err.contains("the vulnerability database is empty"),
        "{}",
        out(&o)
    );
    assert!(
        err.contains(&format!(
            "rampart db update --ecosystem npm --db {}",
            db.display()
        )),
        "{}",
        out(&o)
    );
}

#[test]
fn deps_refuses_a_database_without_the_scanned_ecosystem() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("pypi.db");
    good_db(tmp.path(), &db, false);
    let repo = npm_repo(tmp.path());
    let o = deps(tmp.path(), &repo, &db, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    let err = text(&o.stderr);
    assert!(err.contains("has no data for npm"), "{}", out(&o));
    assert!(
        err.contains("rampart db update --ecosystem npm"),
        "{}",
        out(&o)
    );
}

#[test]
fn deps_refuses_a_stale_database_unless_relaxed() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("old.db");
    good_db(tmp.path(), &db, true);
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute(
            "UPDATE meta SET value = '2020-01-01T00:00:00Z' WHERE key = 'last_import'",
            [],
        )
        .unwrap();
    let repo = npm_repo(tmp.path());
    let o = deps(tmp.path(), &repo, &db, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    let err = text(&o.stderr);
    assert!(err.contains("more than the allowed 7 days"), "{}", out(&o));
    assert!(err.contains("--max-db-age"), "{}", out(&o));
    // `db status` says so too.
    let o = rampart(tmp.path())
        .args(["db", "status", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(text(&o.stdout).contains("fresh     NO:"), "{}", out(&o));
    // The runner accepts an older database: flag or environment.
    let o = deps(tmp.path(), &repo, &db, &["--max-db-age", "10000d"]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(
        text(&o.stdout).contains("GHSA-npm1-xxxx-xxxx"),
        "{}",
        out(&o)
    );
    let o = rampart(tmp.path())
        .env("RAMPART_MAX_DB_AGE", "none")
        .args(["deps"])
        .arg(&repo)
        .args(["--format", "json", "--fail-on", "medium", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
}

/// `db import` of nothing (an empty directory, a missing path) into a new database leaves
/// no file (it used to leave an empty database behind).
#[test]
fn failed_first_import_leaves_no_file() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty-src");
    std::fs::create_dir_all(&empty).unwrap();
    let db = tmp.path().join("cache/vuln.db");
    for src in [empty.clone(), tmp.path().join("missing")] {
        let o = rampart(tmp.path())
            .args(["db", "import", "--db"])
            .arg(&db)
            .arg(&src)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{}", out(&o));
        assert!(!db.exists(), "{}", out(&o));
    }
    let left: Vec<_> = std::fs::read_dir(tmp.path().join("cache"))
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "left behind: {left:?}");
}
