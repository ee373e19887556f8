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
