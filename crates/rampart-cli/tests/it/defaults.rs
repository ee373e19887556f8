//! Issue 12 through the real binary: `db update` fetches by default what the scanners
//! need (language ecosystems and the distributions `rampart image` recognises), the
//! freshness error names the archive that holds a distro release, and `monitor -r DIR`
//! loads what Falco loads from a directory and names what it skipped.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)]

use sha2::{Digest, Sha256};
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

fn rampart(cache: &Path) -> Command {
    // RAMPART_TEST_BIN: run the tests against another build (to see them fail on it).
    let bin =
        std::env::var("RAMPART_TEST_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_rampart").into());
    let mut c = Command::new(bin);
    c.env("NO_COLOR", "1")
        .env_remove("RAMPART_DB")
        .env_remove("RAMPART_MAX_DB_AGE")
        .env("XDG_CACHE_HOME", cache)
        .env("HOME", cache)
        .env("HOSTNAME", "test-host");
    c
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn out(o: &Output) -> String {
    format!("stdout:\n{}\nstderr:\n{}", text(&o.stdout), text(&o.stderr))
}

// ------------------------------------------------------------------ db update defaults

/// An HTTP server on 127.0.0.1 that records every request path and answers 404 (one
/// request per connection). Returns the base URL and the recorded paths.
fn recording_server() -> (String, Arc<Mutex<Vec<String>>>) {
    use std::io::{BufRead, BufReader};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let rec = seen.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().take(200) {
            let Ok(mut conn) = conn else { continue };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut first = String::new();
            let _ = reader.read_line(&mut first);
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                    break;
                }
            }
            if let Some(path) = first.split_whitespace().nth(1) {
                rec.lock().unwrap().push(path.to_string());
            }
            let _ = conn.write_all(
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    (base, seen)
}

fn update(tmp: &Path, base: &str, extra: &[&str]) -> Output {
    rampart(tmp)
        .args([
            "db",
            "update",
            "--timeout",
            "20",
            "--base-url",
            base,
            "--db",
        ])
        .arg(tmp.join("u.db"))
        .args(extra)
        .output()
        .unwrap()
}

fn requested(seen: &Arc<Mutex<Vec<String>>>) -> Vec<String> {
    let mut v = seen.lock().unwrap().clone();
    v.sort();
    v
}

const LANGS: &[&str] = &[
    "/crates.io/all.zip",
    "/Go/all.zip",
    "/Hex/all.zip",
    "/Maven/all.zip",
    "/npm/all.zip",
    "/NuGet/all.zip",
    "/Packagist/all.zip",
    "/Pub/all.zip",
    "/PyPI/all.zip",
    "/RubyGems/all.zip",
];

/// The archives of the distributions `rampart image` names (`OsInfo::ecosystem` and
/// `fallback_ecosystem`) that osv.dev publishes.
const DISTROS: &[&str] = &[
    "/AlmaLinux/all.zip",
    "/Alpine/all.zip",
    "/Azure%20Linux/all.zip",
    "/Chainguard/all.zip",
    "/Debian/all.zip",
    "/Photon%20OS/all.zip",
    "/Red%20Hat/all.zip",
    "/Rocky%20Linux/all.zip",
    "/SUSE/all.zip",
    "/Ubuntu/all.zip",
    "/Wolfi/all.zip",
    "/openSUSE/all.zip",
];

#[test]
fn default_update_requests_languages_and_distributions() {
    let tmp = tempfile::tempdir().unwrap();
    let (base, seen) = recording_server();
    let o = update(tmp.path(), &base, &[]);
    // Every archive is a 404 here: reported, exit 2.
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    let mut want: Vec<String> = LANGS.iter().chain(DISTROS).map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(requested(&seen), want, "{}", out(&o));
    assert!(
        text(&o.stderr).contains("Debian: failed: HTTP 404"),
        "{}",
        out(&o)
    );
}

#[test]
fn ecosystem_and_languages_only_narrow_the_update() {
    let tmp = tempfile::tempdir().unwrap();
    let (base, seen) = recording_server();
    let o = update(tmp.path(), &base, &["--ecosystem", "npm"]);
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    assert_eq!(requested(&seen), ["/npm/all.zip"], "{}", out(&o));

    let (base, seen) = recording_server();
    let o = update(tmp.path(), &base, &["--languages-only"]);
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    let mut want: Vec<String> = LANGS.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(requested(&seen), want, "{}", out(&o));

    // Both at once is a usage error, not a silent choice.
    let o = update(
        tmp.path(),
        &base,
        &["--languages-only", "--ecosystem", "npm"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    assert!(
        text(&o.stderr).contains("cannot be used with"),
        "{}",
        out(&o)
    );
}

// ------------------------------------------- the freshness error names the distro archive

fn sha(b: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(b)))
}

/// A one-layer Debian 12 OCI layout with one dpkg package.
fn debian_layout(dir: &Path) {
    let mut b = tar::Builder::new(Vec::new());
    let files: &[(&str, &[u8])] = &[
        (
            "etc/os-release",
            b"ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n",
        ),
        (
            "var/lib/dpkg/status",
            b"Package: bash\nStatus: install ok installed\nVersion: 5.2.15-2+b2\n",
        ),
    ];
    for (p, d) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(d.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, p, *d).unwrap();
    }
    let t = b.into_inner().unwrap();
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(&t).unwrap();
    let gz = e.finish().unwrap();
    std::fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
    let put = |b: &[u8]| {
        let d = sha(b);
        std::fs::write(dir.join("blobs/sha256").join(&d[7..]), b).unwrap();
        d
    };
    let cfg = serde_json::to_vec(&serde_json::json!({"architecture": "amd64", "os": "linux",
        "config": {"User": "1000"},
        "rootfs": {"type": "layers", "diff_ids": [sha(&t)]}}))
    .unwrap();
    let m = serde_json::to_vec(&serde_json::json!({"schemaVersion": 2,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": put(&cfg), "size": cfg.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": put(&gz), "size": gz.len()}]}))
    .unwrap();
    let idx = serde_json::json!({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": put(&m), "size": m.len()}]});
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&idx).unwrap()).unwrap();
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
}

#[test]
fn missing_distro_error_names_the_archive_to_update() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("layout");
    debian_layout(&layout);
    // A database with PyPI data only.
    let osv = tmp.path().join("osv");
    std::fs::create_dir_all(&osv).unwrap();
    std::fs::write(
        osv.join("GHSA-aaaa-bbbb-cccc.json"),
        r#"{"id": "GHSA-aaaa-bbbb-cccc", "modified": "2024-01-01T00:00:00Z",
      "affected": [{"package": {"ecosystem": "PyPI", "name": "jinja2"},
        "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.10.1"}]}]}]}"#,
    )
    .unwrap();
    let db = tmp.path().join("v.db");
    let o = rampart(tmp.path())
        .args(["db", "import", "--no-schema", "--db"])
        .arg(&db)
        .arg(&osv)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let o = rampart(tmp.path())
        .arg("image")
        .arg(&layout)
        .args(["--skip-secrets", "-f", "json", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    let all = out(&o);
    assert!(all.contains("has no data for Debian:12"), "{all}");
    // The command must fetch `Debian/all.zip` (which holds Debian:12), not `Debian:12`.
    assert!(
        all.contains("rampart db update --ecosystem Debian`"),
        "{all}"
    );
    assert!(!all.contains("--ecosystem Debian:12"), "{all}");
}

// ------------------------------------------------------------ monitor -r DIR like Falco

fn falco_rules() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/falco/rules")
}

fn check(tmp: &Path, args: &[&str], paths: &[&Path]) -> Output {
    let mut c = rampart(tmp);
    c.args(["monitor", "check"]).args(args);
    for p in paths {
        c.arg("-r").arg(p);
    }
    c.output().unwrap()
}

#[test]
fn nested_rules_tree_is_not_walked_and_says_what_it_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    let rules = falco_rules();
    // Falco reads the files directly in a directory; `rules/` holds only directories.
    let o = check(tmp.path(), &[], &[&rules]);
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    let err = text(&o.stderr);
    assert!(
        err.contains("no *.yaml/*.yml rules file directly in this directory")
            && err.contains("current")
            && err.contains("pinned-2023"),
        "{}",
        out(&o)
    );
    // Even beside the built-in rules, a directory that adds nothing is an error.
    let o = check(tmp.path(), &["--builtin"], &[&rules]);
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));

    // A directory of rules files loads them all; the audit Policy beside them is named.
    let o = check(tmp.path(), &[], &[&rules.join("current")]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert!(
        text(&o.stdout).contains("48 k8s_audit rule(s) compiled"),
        "{}",
        out(&o)
    );
    assert!(
        text(&o.stderr).contains("k8saudit-audit-policy.yaml"),
        "{}",
        out(&o)
    );
}

#[test]
fn rules_dir_skips_are_named_and_an_empty_dir_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("rules.d");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::copy(
        falco_rules().join("current/k8s_audit_rules.yaml"),
        dir.join("10-k8s.yaml"),
    )
    .unwrap();
    // Loaded after 10-k8s.yaml (name order): disables a rule defined there.
    std::fs::write(
        dir.join("20-local.yml"),
        "- rule: Create Privileged Pod\n  enabled: false\n  override:\n    enabled: replace\n",
    )
    .unwrap();
    std::fs::write(dir.join("README.md"), "local rules\n").unwrap();
    std::fs::write(dir.join(".hidden.yaml"), "- list: x\n  items: []\n").unwrap();
    std::fs::write(dir.join("sub/more.yaml"), "- list: y\n  items: []\n").unwrap();
    let o = check(tmp.path(), &[], &[&dir]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let err = text(&o.stderr);
    for name in ["README.md", ".hidden.yaml", "sub"] {
        assert!(
            err.lines()
                .any(|l| l.contains(name) && l.contains("skipped")),
            "{name} not named: {}",
            out(&o)
        );
    }
    assert!(
        text(&o.stdout).contains("48 k8s_audit rule(s) compiled, 42 active"),
        "{}",
        out(&o)
    );

    // Only a README: an error naming it, with or without the built-in rules.
    let only = tmp.path().join("only-readme");
    std::fs::create_dir_all(&only).unwrap();
    std::fs::write(only.join("README.md"), "nothing here\n").unwrap();
    for args in [&[][..], &["--builtin"][..]] {
        let o = check(tmp.path(), args, &[&only]);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", out(&o));
        assert!(
            text(&o.stderr).contains("README.md"),
            "{args:?}: {}",
            out(&o)
        );
    }
    // An empty directory and an empty file add nothing: errors too.
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let o = check(tmp.path(), &["--builtin"], &[&empty]);
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    let blank = tmp.path().join("blank.yaml");
    std::fs::write(&blank, "# nothing yet\n").unwrap();
    let o = check(tmp.path(), &["--builtin"], &[&blank]);
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    assert!(
        text(&o.stderr).contains("blank.yaml: no k8s_audit rule (no rule, macro or list at all)"),
        "{}",
        out(&o)
    );
}
