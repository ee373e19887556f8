//! `Db::update` against a real HTTP server on 127.0.0.1 serving `all.zip` archives built
//! at test time from `shared/corpora/osv/` (issue 3: `db update` with ETags).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rampart_vuln::update::{UpdateOptions, UpdateStatus};
use rampart_vuln::{Db, Package};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the server serves at `/{ecosystem}/all.zip`.
#[derive(Clone)]
struct Served {
    body: Vec<u8>,
    etag: String,
    /// Announce the full length but close the connection after this many bytes.
    cut_at: Option<usize>,
}

#[derive(Default)]
struct State {
    files: HashMap<String, Served>,
    /// (path, If-None-Match, status) of every request.
    log: Vec<(String, Option<String>, u16)>,
}

struct Server {
    base: String,
    state: Arc<Mutex<State>>,
}

impl Server {
    fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State::default()));
        let st = Arc::clone(&state);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let st = Arc::clone(&st);
                std::thread::spawn(move || {
                    let _ = serve(conn, &st);
                });
            }
        });
        Server { base, state }
    }

    fn put(&self, eco: &str, body: Vec<u8>, etag: &str, cut_at: Option<usize>) {
        self.state.lock().unwrap().files.insert(
            format!("/{eco}/all.zip"),
            Served {
                body,
                etag: etag.to_string(),
                cut_at,
            },
        );
    }

    fn log(&self) -> Vec<(String, Option<String>, u16)> {
        self.state.lock().unwrap().log.clone()
    }
}

fn serve(conn: TcpStream, st: &Mutex<State>) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("")
        .to_string();
    let mut inm = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.trim().eq_ignore_ascii_case("if-none-match") {
                inm = Some(v.trim().to_string());
            }
        }
    }
    let served = st.lock().unwrap().files.get(&path).cloned();
    let status = match &served {
        None => 404,
        Some(s) if inm.as_deref() == Some(s.etag.as_str()) => 304,
        Some(_) => 200,
    };
    // Logged before answering, so the client never sees an answer not yet logged.
    st.lock().unwrap().log.push((path, inm, status));
    let mut out = conn;
    match &served {
        None => {
            out.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found")?;
        }
        Some(s) if status == 304 => {
            write!(
                out,
                "HTTP/1.1 304 Not Modified\r\nETag: {}\r\nConnection: close\r\n\r\n",
                s.etag
            )?;
        }
        Some(s) => {
            write!(
                out,
                "HTTP/1.1 200 OK\r\nContent-Type: application/zip\r\nContent-Length: {}\r\nETag: {}\r\nLast-Modified: Mon, 23 Nov 2026 10:00:00 GMT\r\nConnection: close\r\n\r\n",
                s.body.len(),
                s.etag
            )?;
            let n = s.cut_at.unwrap_or(s.body.len()).min(s.body.len());
            out.write_all(&s.body[..n])?;
        }
    }
    out.flush()
}

/// An `all.zip` of the first `limit` `.json` files of a corpus directory.
fn zip_of(dir: &Path, limit: usize) -> Vec<u8> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files.truncate(limit);
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for f in files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        w.start_file(name, opts).unwrap();
        let mut bytes = Vec::new();
        std::fs::File::open(&f)
            .unwrap()
            .read_to_end(&mut bytes)
            .unwrap();
        w.write_all(&bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn opts(base: &str, ecos: &[&str]) -> UpdateOptions {
    UpdateOptions {
        base_url: base.to_string(),
        ecosystems: ecos.iter().map(|s| s.to_string()).collect(),
        connect_timeout: Duration::from_secs(5),
        read_timeout: Duration::from_secs(10),
        total_timeout: Duration::from_secs(60),
        ..UpdateOptions::default()
    }
}

fn count(db: &Db) -> u64 {
    db.status().unwrap().vulns
}

#[test]
fn update_fetches_changed_ecosystems_only_and_survives_bad_ones() {
    let (Some(rustsec), Some(pypi)) = (
        rampart_testkit::corpus("osv/RustSec"),
        rampart_testkit::corpus("osv/PyPI"),
    ) else {
        return;
    };
    let server = Server::start();
    let rust_zip = zip_of(&rustsec, usize::MAX);
    server.put("crates.io", rust_zip.clone(), "\"r1\"", None);
    server.put("PyPI", zip_of(&pypi, 200), "\"p1\"", None);
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("vuln.db");
    let mut db = Db::open(&path).unwrap();
    let ecos = ["crates.io", "PyPI", "Nope"];
    let mut seen = Vec::new();

    // 1. First update: both served ecosystems imported, the 404 reported, others go on.
    let r = db
        .update(&opts(&server.base, &ecos), &mut |e| {
            seen.push(e.ecosystem.clone())
        })
        .unwrap();
    assert_eq!(seen, ecos);
    let st: Vec<UpdateStatus> = r.ecosystems.iter().map(|e| e.status).collect();
    assert_eq!(
        st,
        [
            UpdateStatus::Updated,
            UpdateStatus::Updated,
            UpdateStatus::Failed
        ]
    );
    assert_eq!(r.ecosystems[2].http_status, Some(404));
    assert!(
        r.ecosystems[2].error.as_deref().unwrap().contains("404"),
        "{:?}",
        r.ecosystems[2]
    );
    assert_eq!(r.ecosystems[0].bytes, rust_zip.len() as u64);
    let rust_imported = r.ecosystems[0].import.as_ref().unwrap().imported;
    assert!(rust_imported > 1000, "{rust_imported}");
    assert_eq!(r.failed().count(), 1);
    let after_first = count(&db);
    assert!(after_first >= rust_imported as u64 + 150, "{after_first}");
    let feeds = db.feeds().unwrap();
    assert_eq!(feeds["crates.io"].etag.as_deref(), Some("\"r1\""));
    assert_eq!(
        feeds["PyPI"].last_modified.as_deref(),
        Some("Mon, 23 Nov 2026 10:00:00 GMT")
    );
    assert!(!feeds.contains_key("Nope"));
    // Sources name the URL, not the temporary file.
    let rec = db.get("RUSTSEC-2019-0001").unwrap();
    assert!(rec.is_some());
    assert!(std::fs::read_dir(tmp.path()).unwrap().all(|e| !e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .contains("update")));

    // 2. Nothing changed: every served ecosystem answers 304 and nothing is downloaded.
    let before = server.log().len();
    let r = db.update(&opts(&server.base, &ecos), &mut |_| {}).unwrap();
    let st: Vec<UpdateStatus> = r.ecosystems.iter().map(|e| e.status).collect();
    assert_eq!(
        st,
        [
            UpdateStatus::NotModified,
            UpdateStatus::NotModified,
            UpdateStatus::Failed
        ]
    );
    let log = server.log();
    let second: Vec<_> = log[before..].to_vec();
    assert_eq!(second.len(), 3, "{second:?}");
    assert!(second.iter().all(|(_, _, s)| *s != 200), "{second:?}");
    assert_eq!(second[0].1.as_deref(), Some("\"r1\""));
    assert_eq!(r.ecosystems.iter().map(|e| e.bytes).sum::<u64>(), 0);
    assert_eq!(count(&db), after_first);

    // 3. PyPI changes (new ETag, more records): only PyPI is fetched and re-imported.
    server.put("PyPI", zip_of(&pypi, 400), "\"p2\"", None);
    let r = db
        .update(&opts(&server.base, &["crates.io", "PyPI"]), &mut |_| {})
        .unwrap();
    assert_eq!(r.ecosystems[0].status, UpdateStatus::NotModified);
    assert_eq!(r.ecosystems[1].status, UpdateStatus::Updated);
    let after_change = count(&db);
    assert!(after_change >= after_first + 150, "{after_change}");
    assert_eq!(db.feeds().unwrap()["PyPI"].etag.as_deref(), Some("\"p2\""));

    // 4. A truncated archive (complete HTTP body, cut zip) and a dropped connection: both
    //    fail, the database keeps its data and its old ETag, and still matches.
    let full = zip_of(&pypi, 600);
    let cut = full[..full.len() / 2].to_vec();
    server.put("PyPI", cut, "\"p3\"", None);
    server.put(
        "crates.io",
        rust_zip.clone(),
        "\"r2\"",
        Some(rust_zip.len() / 3),
    );
    let r = db
        .update(&opts(&server.base, &["crates.io", "PyPI"]), &mut |_| {})
        .unwrap();
    assert_eq!(r.ecosystems[0].status, UpdateStatus::Failed, "{r:?}");
    assert_eq!(r.ecosystems[1].status, UpdateStatus::Failed, "{r:?}");
    let zip_err = r.ecosystems[1].error.as_deref().unwrap();
    assert!(zip_err.contains("zip"), "{zip_err}");
    assert!(zip_err.contains("nothing imported"), "{zip_err}");
    assert_eq!(count(&db), after_change);
    let feeds = db.feeds().unwrap();
    assert_eq!(feeds["PyPI"].etag.as_deref(), Some("\"p2\""));
    assert_eq!(feeds["crates.io"].etag.as_deref(), Some("\"r1\""));
    let reports = db
        .match_packages(&[Package::new("crates.io", "smallvec", "0.6.9")])
        .unwrap();
    assert!(!reports[0].vulns.is_empty());
    let reopened = Db::open_existing(&path).unwrap();
    assert_eq!(count(&reopened), after_change);

    // 5. Size limit: refused before import.
    server.put("PyPI", full, "\"p4\"", None);
    let mut small = opts(&server.base, &["PyPI"]);
    small.max_bytes = 1000;
    let r = db.update(&small, &mut |_| {}).unwrap();
    assert_eq!(r.ecosystems[0].status, UpdateStatus::Failed);
    assert!(
        r.ecosystems[0].error.as_deref().unwrap().contains("limit"),
        "{r:?}"
    );
    assert_eq!(count(&db), after_change);

    // 6. --force ignores the stored validators.
    server.put("crates.io", rust_zip, "\"r1\"", None);
    let mut force = opts(&server.base, &["crates.io"]);
    force.force = true;
    let r = db.update(&force, &mut |_| {}).unwrap();
    assert_eq!(r.ecosystems[0].status, UpdateStatus::Updated);
}

#[test]
fn unreachable_server_is_a_per_ecosystem_error() {
    // A port nobody listens on (bound, then closed).
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut db = Db::open_in_memory().unwrap();
    let r = db
        .update(
            &opts(&format!("http://127.0.0.1:{port}"), &["crates.io", "../x"]),
            &mut |_| {},
        )
        .unwrap();
    assert!(r
        .ecosystems
        .iter()
        .all(|e| e.status == UpdateStatus::Failed));
    assert!(r.ecosystems[1]
        .error
        .as_deref()
        .unwrap()
        .contains("not an ecosystem name"));
    assert_eq!(count(&db), 0);
}
