//! Images built in the test: whiteouts, hostile tars, digest mismatches, compression.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use rampart_image::{scan, ScanOptions};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;

fn sha(b: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(b)))
}

enum E<'a> {
    File(&'a str, &'a [u8], u32),
    Dir(&'a str),
    Link(&'a str, &'a str),
    Dev(&'a str),
    /// Raw name written into the header bytes (bypasses the tar crate's checks).
    RawName(&'a str, &'a [u8]),
}

fn tar_bytes(entries: &[E]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        let mut h = tar::Header::new_gnu();
        match e {
            E::File(p, data, mode) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(data.len() as u64);
                h.set_mode(*mode);
                b.append_data(&mut h, p, *data).unwrap();
            }
            E::Dir(p) => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_size(0);
                h.set_mode(0o755);
                b.append_data(&mut h, p, std::io::empty()).unwrap();
            }
            E::Link(p, target) => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_size(0);
                h.set_mode(0o777);
                b.append_link(&mut h, p, target).unwrap();
            }
            E::Dev(p) => {
                h.set_entry_type(tar::EntryType::Char);
                h.set_size(0);
                h.set_mode(0o666);
                h.set_device_major(1).unwrap();
                h.set_device_minor(3).unwrap();
                b.append_data(&mut h, p, std::io::empty()).unwrap();
            }
            E::RawName(name, data) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(data.len() as u64);
                h.set_mode(0o644);
                let raw = h.as_old_mut();
                raw.name[..name.len()].copy_from_slice(name.as_bytes());
                h.set_cksum();
                b.append(&h, *data).unwrap();
            }
        }
    }
    b.into_inner().unwrap()
}

fn gzip(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

/// Write an OCI layout with these (already compressed or plain) layer blobs.
fn layout(dir: &Path, layers: &[(Vec<u8>, Vec<u8>)], config_extra: serde_json::Value) {
    std::fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
    let put = |b: &[u8]| {
        let d = sha(b);
        std::fs::write(dir.join("blobs/sha256").join(&d[7..]), b).unwrap();
        d
    };
    let mut descs = Vec::new();
    let mut diff_ids = Vec::new();
    let mut history = Vec::new();
    for (i, (blob, tar)) in layers.iter().enumerate() {
        descs.push(serde_json::json!({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": put(blob), "size": blob.len()}));
        diff_ids.push(sha(tar));
        history.push(serde_json::json!({"created_by": format!("RUN step {i}")}));
    }
    let mut config = serde_json::json!({"architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": diff_ids}, "history": history,
        "config": {"User": "app"}});
    if let (Some(c), Some(extra)) = (config.as_object_mut(), config_extra.as_object()) {
        for (k, v) in extra {
            c.insert(k.clone(), v.clone());
        }
    }
    let cb = serde_json::to_vec(&config).unwrap();
    let manifest = serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": put(&cb), "size": cb.len()},
        "layers": descs});
    let mb = serde_json::to_vec(&manifest).unwrap();
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": put(&mb), "size": mb.len(), "annotations": {"org.opencontainers.image.ref.name": "v1"}}]});
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
}

fn gz_layer(entries: &[E]) -> (Vec<u8>, Vec<u8>) {
    let t = tar_bytes(entries);
    (gzip(&t), t)
}

const OS_RELEASE: &[u8] = b"ID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME=\"Alpine Linux v3.19\"\n";
const APK: &[u8] = b"P:musl\nV:1.2.4_git20230717-r4\nA:x86_64\no:musl\nL:MIT\n\nP:busybox\nV:1.36.1-r15\no:busybox\n\n";
const KEY: &[u8] = b"aws_access_key_id = AKIAQ7RJ3KD5PLMN2XYZ\n";

#[test]
fn whiteouts_opaque_dirs_and_deleted_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let l0 = gz_layer(&[
        E::File("etc/os-release", OS_RELEASE, 0o644),
        E::File("lib/apk/db/installed", APK, 0o644),
        E::File(
            "app/node_modules/left-pad/package.json",
            br#"{"name":"left-pad","version":"1.3.0"}"#,
            0o644,
        ),
        E::File(
            "app/node_modules/gone/package.json",
            br#"{"name":"gone","version":"1.0.0"}"#,
            0o644,
        ),
        E::Dir("opt/cache"),
        E::File("opt/cache/a.txt", b"a", 0o644),
        E::File("opt/cache/b.txt", b"b", 0o644),
        E::File("root/.aws/credentials", KEY, 0o600),
    ]);
    let l1 = gz_layer(&[
        E::File("app/node_modules/.wh.gone", b"", 0o644),
        E::File("opt/cache/.wh..wh..opq", b"", 0o644),
        E::File("opt/cache/c.txt", b"c", 0o644),
        E::File("root/.aws/.wh.credentials", b"", 0o644),
    ]);
    layout(dir.path(), &[l0, l1], serde_json::json!({}));
    let opts = ScanOptions {
        today: Some("2026-11-23".into()),
        ..ScanOptions::default()
    };
    let scanner = secrets();
    let s = scan(dir.path().to_str().unwrap(), &opts, Some(&scanner), None).unwrap();
    assert!(s.errors.is_empty(), "{:?}", s.errors);
    let names: Vec<(&str, &str)> = s
        .packages
        .iter()
        .map(|p| (p.name.as_str(), p.ecosystem.as_str()))
        .collect();
    assert_eq!(
        names,
        vec![
            ("busybox", "Alpine:v3.19"),
            ("musl", "Alpine:v3.19"),
            ("left-pad", "npm")
        ],
        "the whited-out package is gone"
    );
    assert_eq!(
        s.packages[0].purl,
        "pkg:apk/alpine/busybox@1.36.1-r15?distro=alpine-3.19.1"
    );
    assert_eq!(
        s.stats.files, 5,
        "opaque dir keeps only c.txt: {:?}",
        s.stats
    );
    let secret = s
        .findings
        .iter()
        .find(|f| f.rule_id == "secret/aws-access-key")
        .expect("deleted secret reported");
    assert_eq!(secret.properties["file_state"], "deleted");
    assert_eq!(secret.properties["layer"], 0);
    assert_eq!(secret.properties["created_by"], "RUN step 0");
    assert!(
        secret.message.contains("deleted by a later layer"),
        "{}",
        secret.message
    );
    // Alpine 3.19 ended 2025-11-01.
    assert!(s.findings.iter().any(|f| f.rule_id == "image/eol-distro"));
    // USER app: not root.
    assert!(!s.findings.iter().any(|f| f.rule_id == "image/run-as-root"));
}

fn secrets() -> rampart_secrets::SecretScanner {
    rampart_secrets::SecretScanner::new(
        rampart_secrets::rules::RuleSet::builtin().unwrap(),
        rampart_secrets::ScanOptions::default(),
    )
    .unwrap()
}

#[test]
fn hostile_entries_are_skipped_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let l0 = gz_layer(&[
        E::RawName("../../etc/evil", b"pwned"),
        E::Link("app/escape", "../../../../etc/shadow"),
        E::Link("etc/alternatives/pager", "/usr/bin/less"),
        E::Dev("dev/null"),
        E::File("usr/bin/find", b"#!/bin/sh\n", 0o4755),
        E::File("srv/data", b"x", 0o666),
        E::File("tmp/scratch", b"x", 0o666),
    ]);
    layout(
        dir.path(),
        &[l0],
        serde_json::json!({"config": {"User": "root", "ExposedPorts": {"22/tcp": {}}, "Env": ["API_TOKEN=abcdef123456", "TOKEN_FILE=/run/x"]}, "history": [{"created_by": "/bin/sh -c #(nop) ADD https://example.invalid/tool.tgz /opt/"}]}),
    );
    let s = scan(
        &format!("oci:{}:v1", dir.path().display()),
        &ScanOptions::default(),
        None,
        None,
    )
    .unwrap();
    let ids: Vec<&str> = s.findings.iter().map(|f| f.rule_id.as_str()).collect();
    let count = |id: &str| ids.iter().filter(|x| **x == id).count();
    assert_eq!(count("image/suspicious-layer-entry"), 3, "{ids:?}");
    assert!(s
        .findings
        .iter()
        .any(|f| f.message.contains("../../etc/evil")));
    assert_eq!(count("image/setuid-binary"), 1);
    let suid = s
        .findings
        .iter()
        .find(|f| f.rule_id == "image/setuid-binary")
        .unwrap();
    assert_eq!(
        suid.severity,
        rampart_core::Severity::High,
        "find is GTFOBins"
    );
    assert_eq!(count("image/world-writable-file"), 1, "tmp/ is exempt");
    assert_eq!(count("image/run-as-root"), 1);
    assert_eq!(count("image/ssh-port-exposed"), 1);
    assert_eq!(count("image/secret-in-env"), 1, "TOKEN_FILE is a path");
    assert_eq!(count("image/add-from-url"), 1);
    assert_eq!(count("image/no-healthcheck"), 1);
    assert_eq!(count("image/latest-tag"), 0);
}

#[test]
fn decompression_bomb_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let zeros = vec![0u8; 8 * 1024 * 1024];
    let l0 = gz_layer(&[
        E::File("big/zeros", &zeros, 0o644),
        E::File("after", b"x", 0o644),
    ]);
    layout(dir.path(), &[l0], serde_json::json!({}));
    let mut opts = ScanOptions::default();
    opts.limits.ratio_floor = 1024 * 1024;
    opts.limits.max_ratio = 50;
    let s = scan(dir.path().to_str().unwrap(), &opts, None, None).unwrap();
    assert!(
        s.findings
            .iter()
            .any(|f| f.rule_id == "image/layer-limit-exceeded"),
        "{:?}",
        s.findings
    );
    assert!(
        s.errors
            .iter()
            .any(|e| e.message.contains("decompression bomb")),
        "{:?}",
        s.errors
    );
    assert!(
        s.stats.bytes < 4 * 1024 * 1024,
        "stopped early: {}",
        s.stats.bytes
    );

    let mut opts = ScanOptions::default();
    opts.limits.max_layer_bytes = 1024 * 1024;
    let s = scan(dir.path().to_str().unwrap(), &opts, None, None).unwrap();
    assert!(
        s.errors
            .iter()
            .any(|e| e.message.contains("decompressed size")),
        "{:?}",
        s.errors
    );
}

#[test]
fn tampered_layer_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let l0 = gz_layer(&[E::File("etc/os-release", OS_RELEASE, 0o644)]);
    let blob_name = sha(&l0.0)[7..].to_string();
    layout(dir.path(), &[l0], serde_json::json!({}));
    // Replace the blob's bytes with another valid gzip tar.
    let other = gz_layer(&[E::File("etc/os-release", b"ID=debian\n", 0o644)]);
    std::fs::write(dir.path().join("blobs/sha256").join(&blob_name), &other.0).unwrap();
    let s = scan(
        dir.path().to_str().unwrap(),
        &ScanOptions::default(),
        None,
        None,
    )
    .unwrap();
    assert!(
        s.errors
            .iter()
            .any(|e| e.message.contains("digest mismatch")),
        "{:?}",
        s.errors
    );

    // A tampered config is fatal.
    let dir2 = tempfile::tempdir().unwrap();
    layout(
        dir2.path(),
        &[gz_layer(&[E::Dir("x")])],
        serde_json::json!({}),
    );
    let idx: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir2.path().join("index.json")).unwrap()).unwrap();
    let m = idx["manifests"][0]["digest"].as_str().unwrap();
    std::fs::write(dir2.path().join("blobs/sha256").join(&m[7..]), b"{}").unwrap();
    let err = scan(
        dir2.path().to_str().unwrap(),
        &ScanOptions::default(),
        None,
        None,
    )
    .unwrap_err();
    assert!(err.to_string().contains("digest mismatch"), "{err}");
}

#[test]
fn zstd_and_uncompressed_layers() {
    let dir = tempfile::tempdir().unwrap();
    let t0 = tar_bytes(&[E::File("etc/os-release", OS_RELEASE, 0o644)]);
    let z = ruzstd::encoding::compress_to_vec(&t0[..], ruzstd::encoding::CompressionLevel::Fastest);
    let t1 = tar_bytes(&[E::File("lib/apk/db/installed", APK, 0o644)]);
    layout(
        dir.path(),
        &[(z, t0), (t1.clone(), t1)],
        serde_json::json!({}),
    );
    let s = scan(
        dir.path().to_str().unwrap(),
        &ScanOptions::default(),
        None,
        None,
    )
    .unwrap();
    assert!(s.errors.is_empty(), "{:?}", s.errors);
    assert_eq!(s.image.layers[0].compression, "zstd");
    assert_eq!(s.image.layers[1].compression, "none");
    assert_eq!(s.packages.len(), 2);
    assert_eq!(s.image.os.as_ref().unwrap().id, "alpine");
}

#[test]
fn garbage_inputs_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("not-an-image.tar");
    std::fs::write(&f, b"hello").unwrap();
    assert!(scan(f.to_str().unwrap(), &ScanOptions::default(), None, None).is_err());
    std::fs::write(dir.path().join("index.json"), b"{not json").unwrap();
    std::fs::create_dir(dir.path().join("blobs")).unwrap();
    let err = scan(
        dir.path().to_str().unwrap(),
        &ScanOptions::default(),
        None,
        None,
    )
    .unwrap_err();
    assert!(err.to_string().contains("index.json"), "{err}");
    // A layer that is not a tar at all: reported, the scan continues.
    let d2 = tempfile::tempdir().unwrap();
    layout(
        d2.path(),
        &[(b"\x1f\x8bjunk".to_vec(), b"x".to_vec())],
        serde_json::json!({}),
    );
    let s = scan(
        d2.path().to_str().unwrap(),
        &ScanOptions::default(),
        None,
        None,
    )
    .unwrap();
    assert!(!s.errors.is_empty());
}

// ---- Hostile images (issue 13) and ecosystem coverage (issue 12) ----

fn zip_bytes(files: &[(&str, &[u8], bool)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (n, b, stored) in files {
        let o = zip::write::SimpleFileOptions::default().compression_method(if *stored {
            zip::CompressionMethod::Stored
        } else {
            zip::CompressionMethod::Deflated
        });
        w.start_file(*n, o).unwrap();
        w.write_all(b).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn scan_dir(dir: &Path, opts: &ScanOptions) -> rampart_image::ImageScan {
    scan(dir.to_str().unwrap(), opts, None, None).unwrap()
}

fn has_error(s: &rampart_image::ImageScan, parts: &[&str]) -> bool {
    s.errors
        .iter()
        .any(|e| parts.iter().all(|p| e.to_string().contains(p)))
}

/// Item 1: a Spring-Boot-style JAR whose 64 nested JARs each inflate to 8 MiB (a 512 MiB
/// zip bomb from a file of a few hundred KiB). Reading it must stop at the per-archive
/// budget with an error naming the archive, not buffer every nested JAR at once.
#[test]
fn nested_jar_bomb_is_a_budget_error() {
    let zeros = vec![0u8; 8 * 1024 * 1024];
    let inner = zip_bytes(&[
        (
            "META-INF/maven/org.example/lib/pom.properties",
            b"groupId=org.example\nartifactId=lib\nversion=1.0\n",
            false,
        ),
        ("blob.bin", &zeros, true),
    ]);
    let names: Vec<String> = (0..64)
        .map(|i| format!("BOOT-INF/lib/lib{i}.jar"))
        .collect();
    let files: Vec<(&str, &[u8], bool)> = names
        .iter()
        .map(|n| (n.as_str(), inner.as_slice(), false))
        .collect();
    let outer = zip_bytes(&files);
    assert!(outer.len() < 4 * 1024 * 1024, "{}", outer.len());
    let dir = tempfile::tempdir().unwrap();
    layout(
        dir.path(),
        &[gz_layer(&[
            E::File("lib/apk/db/installed", APK, 0o644),
            E::File("app/bomb.jar", &outer, 0o644),
        ])],
        serde_json::json!({}),
    );
    let s = scan_dir(dir.path(), &ScanOptions::default());
    assert!(
        has_error(&s, &["app/bomb.jar", "budget"]),
        "the bomb must be a reported error: {:?}",
        s.errors
    );
    assert!(
        !has_error(&s, &["not verified"]),
        "a bomb is not a digest problem: {:?}",
        s.errors
    );
    assert!(
        s.packages.iter().any(|p| p.name == "musl"),
        "the layer's other packages are still read"
    );
}

/// Item 1: captured files (package metadata) had no total: 320 MiB of `package.json`
/// from one small layer were all held in memory, silently.
#[test]
fn captured_bytes_per_layer_are_budgeted() {
    let big = vec![b' '; 64 * 1024 * 1024];
    let paths: Vec<String> = (0..5)
        .map(|i| format!("app/node_modules/p{i}/package.json"))
        .collect();
    let entries: Vec<E> = paths
        .iter()
        .map(|p| E::File(p.as_str(), big.as_slice(), 0o644))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    layout(dir.path(), &[gz_layer(&entries)], serde_json::json!({}));
    let s = scan_dir(dir.path(), &ScanOptions::default());
    assert!(
        has_error(&s, &["layer 0", "budget", "node_modules/p"]),
        "{:?}",
        s.errors
    );
}

/// Item 2: the image's own rpmdb.sqlite with `Packages` as a VIEW over an endless
/// recursive CTE. Querying it with SQLite's defaults never returns.
#[test]
fn rpmdb_view_with_recursive_cte_is_refused_quickly() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("rpmdb.sqlite");
    let c = rusqlite::Connection::open(&db).unwrap();
    c.execute_batch(
        "CREATE VIEW Packages AS WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n)
         SELECT x AS hnum, zeroblob(16) AS blob FROM n;",
    )
    .unwrap();
    drop(c);
    let bytes = std::fs::read(&db).unwrap();
    let dir = tempfile::tempdir().unwrap();
    layout(
        dir.path(),
        &[gz_layer(&[
            E::File("etc/os-release", b"ID=rhel\nVERSION_ID=9.4\n", 0o644),
            E::File("var/lib/rpm/rpmdb.sqlite", &bytes, 0o644),
        ])],
        serde_json::json!({}),
    );
    let path = dir.path().to_path_buf();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(scan_dir(&path, &ScanOptions::default()));
    });
    let s = rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("scanning a hostile rpmdb.sqlite must finish (it hung)");
    assert!(
        has_error(&s, &["rpmdb.sqlite", "Packages", "not a table"]),
        "{:?}",
        s.errors
    );
    assert!(s.packages.is_empty());
}

/// Item 4: a layer whose bytes do not match the manifest's digest must not contribute
/// packages, whiteouts or files: the replaced blob hides the apk database with a
/// whiteout and adds a package of its own.
#[test]
fn tampered_layer_contributes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let l0 = gz_layer(&[
        E::File("etc/os-release", OS_RELEASE, 0o644),
        E::File("lib/apk/db/installed", APK, 0o644),
    ]);
    let l1 = gz_layer(&[E::File("app/readme", b"hello", 0o644)]);
    let blob_name = sha(&l1.0)[7..].to_string();
    layout(dir.path(), &[l0, l1], serde_json::json!({}));
    let evil = gz_layer(&[
        E::File("lib/apk/db/.wh.installed", b"", 0o644),
        E::File(
            "app/node_modules/evil/package.json",
            br#"{"name":"evil","version":"6.6.6"}"#,
            0o644,
        ),
    ]);
    std::fs::write(dir.path().join("blobs/sha256").join(&blob_name), &evil.0).unwrap();
    let s = scan_dir(dir.path(), &ScanOptions::default());
    assert!(
        has_error(&s, &["layer 1", "digest mismatch"]),
        "{:?}",
        s.errors
    );
    let names: Vec<&str> = s.packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        vec!["busybox", "musl"],
        "the tampered layer neither adds packages nor whites out the apk database"
    );
    assert_eq!(s.image.layers.len(), 2, "the layer is still listed");
    assert!(s.image.layers[0].verified && !s.image.layers[1].verified);
    assert!(
        !s.packages.iter().any(|p| p.layer == 1),
        "nothing comes from layer 1"
    );
}

/// Item 4: an OCI layout whose config names a diff_id the layer's uncompressed bytes
/// do not have (the image id commits to other content).
#[test]
fn diff_id_mismatch_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let l0 = gz_layer(&[E::File("lib/apk/db/installed", APK, 0o644)]);
    let wrong = tar_bytes(&[E::File("x", b"y", 0o644)]);
    layout(dir.path(), &[(l0.0, wrong)], serde_json::json!({}));
    let s = scan_dir(dir.path(), &ScanOptions::default());
    assert!(
        has_error(&s, &["layer 0", "digest mismatch"]),
        "{:?}",
        s.errors
    );
    assert!(s.packages.is_empty());
}

fn db_with_alpine_advisory() -> rampart_vuln::Db {
    let osv = tempfile::tempdir().unwrap();
    std::fs::write(
        osv.path().join("ALPINE-TEST-1.json"),
        r#"{"id":"ALPINE-TEST-1","modified":"2024-01-01T00:00:00Z","summary":"musl test",
           "affected":[{"package":{"ecosystem":"Alpine:v3.19","name":"musl"},
           "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.2.5-r0"}]}]}]}"#,
    )
    .unwrap();
    let mut db = rampart_vuln::Db::open_in_memory().unwrap();
    let opts = rampart_vuln::ImportOptions {
        validate_schema: false,
        strict: false,
    };
    let r = db.import(&[osv.path().to_path_buf()], &opts).unwrap();
    assert_eq!(r.imported, 1, "{r:?}");
    db
}

/// Item 5: a Debian image against a database with no Debian (or npm) advisories: the
/// packages were not checked, and the report must say so as an error.
#[test]
fn ecosystems_without_advisories_are_errors() {
    let db = db_with_alpine_advisory();
    let dir = tempfile::tempdir().unwrap();
    layout(
        dir.path(),
        &[gz_layer(&[
            E::File(
                "etc/os-release",
                b"ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n",
                0o644,
            ),
            E::File(
                "var/lib/dpkg/status",
                b"Package: bash\nStatus: install ok installed\nVersion: 5.2.15-2+b2\n\n",
                0o644,
            ),
            E::File(
                "app/node_modules/left-pad/package.json",
                br#"{"name":"left-pad","version":"1.3.0"}"#,
                0o644,
            ),
        ])],
        serde_json::json!({}),
    );
    let s = scan(
        dir.path().to_str().unwrap(),
        &ScanOptions::default(),
        None,
        Some(&db),
    )
    .unwrap();
    assert!(
        has_error(&s, &["Debian:12", "no advisories"]),
        "{:?}",
        s.errors
    );
    assert!(has_error(&s, &["npm", "no advisories"]), "{:?}", s.errors);

    // The ecosystem the database does cover is checked, and silent.
    let d2 = tempfile::tempdir().unwrap();
    layout(
        d2.path(),
        &[gz_layer(&[
            E::File("etc/os-release", OS_RELEASE, 0o644),
            E::File("lib/apk/db/installed", APK, 0o644),
        ])],
        serde_json::json!({}),
    );
    let s = scan(
        d2.path().to_str().unwrap(),
        &ScanOptions::default(),
        None,
        Some(&db),
    )
    .unwrap();
    assert!(s.errors.is_empty(), "{:?}", s.errors);
    assert!(
        s.findings
            .iter()
            .any(|f| f.rule_id.contains("ALPINE-TEST-1")),
        "{:?}",
        s.findings.iter().map(|f| &f.rule_id).collect::<Vec<_>>()
    );
}

fn findings_at<'a>(s: &'a rampart_image::ImageScan, rule: &str) -> Vec<&'a str> {
    let mut v: Vec<&str> = s
        .findings
        .iter()
        .filter(|f| f.rule_id == rule)
        .filter_map(|f| match &f.location {
            rampart_core::Location::Image { path, .. } => path.as_deref(),
            _ => None,
        })
        .collect();
    v.sort_unstable();
    v
}

/// Item 6 (dpkg): setuid files and devices a package installed are expected; a setuid
/// bit added by a later layer, or on a file no package owns, is a finding.
#[test]
fn package_owned_setuid_and_devices_are_not_findings_dpkg() {
    let dir = tempfile::tempdir().unwrap();
    let elf = b"\x7fELF\x02\x01\x01\x00not really";
    let l0 = gz_layer(&[
        E::File("etc/os-release", b"ID=debian\nVERSION_ID=\"12\"\n", 0o644),
        E::File(
            "var/lib/dpkg/status",
            b"Package: login\nStatus: install ok installed\nVersion: 1:4.13+dfsg1-1\n\nPackage: passwd\nStatus: install ok installed\nVersion: 1:4.13+dfsg1-1\n\nPackage: makedev\nStatus: install ok installed\nVersion: 2.3.1-97\n\n",
            0o644,
        ),
        E::File("var/lib/dpkg/info/login.list", b"/.\n/usr\n/usr/bin\n/usr/bin/su\n", 0o644),
        E::File("var/lib/dpkg/info/passwd.list", b"/.\n/usr/bin/passwd\n/usr/bin/chfn\n", 0o644),
        E::File("var/lib/dpkg/info/makedev.list", b"/dev/null\n", 0o644),
        E::File("usr/bin/su", elf, 0o4755),
        E::File("usr/bin/passwd", elf, 0o755),
        E::File("usr/bin/chfn", elf, 0o4755),
        E::File("usr/local/bin/backdoor", elf, 0o4755),
        E::Dev("dev/null"),
        E::Dev("dev/sneaky"),
    ]);
    // A later layer sets the bit on a package's file (`chmod u+s`).
    let l1 = gz_layer(&[E::File("usr/bin/passwd", elf, 0o4755)]);
    layout(dir.path(), &[l0, l1], serde_json::json!({}));
    let s = scan_dir(dir.path(), &ScanOptions::default());
    assert_eq!(
        findings_at(&s, "image/setuid-binary"),
        vec!["usr/bin/passwd", "usr/local/bin/backdoor"],
        "su and chfn are installed setuid by their packages"
    );
    assert_eq!(
        findings_at(&s, "image/suspicious-layer-entry"),
        vec!["dev/sneaky"]
    );
}

/// Item 6 (apk): modes are in the installed database (`a:uid:gid:mode`).
#[test]
fn package_owned_setuid_is_not_a_finding_apk() {
    let dir = tempfile::tempdir().unwrap();
    let apk = b"P:busybox\nV:1.36.1-r15\no:busybox\nF:bin\nR:busybox\na:0:0:755\nR:bbsuid\na:0:0:4111\n\n";
    let elf = b"\x7fELF\x02\x01\x01\x00not really";
    let l0 = gz_layer(&[
        E::File("etc/os-release", OS_RELEASE, 0o644),
        E::File("lib/apk/db/installed", apk, 0o644),
        E::File("bin/bbsuid", elf, 0o4111),
        E::File("bin/busybox", elf, 0o4755),
    ]);
    layout(dir.path(), &[l0], serde_json::json!({}));
    let s = scan_dir(dir.path(), &ScanOptions::default());
    assert_eq!(
        findings_at(&s, "image/setuid-binary"),
        vec!["bin/busybox"],
        "bbsuid is 4111 in the apk database; busybox is 755 there"
    );
}

/// Item 2: a `Packages` table whose `blob` is a generated column (`zeroblob(900 MB)` per
/// row): plain data only, so it is refused before any row is read.
#[test]
fn rpmdb_generated_blob_column_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("rpmdb.sqlite");
    let c = rusqlite::Connection::open(&db).unwrap();
    c.execute_batch(
        "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY,
             blob BLOB GENERATED ALWAYS AS (zeroblob(900000000)) VIRTUAL);
         INSERT INTO Packages (hnum) VALUES (1), (2), (3);",
    )
    .unwrap();
    drop(c);
    let bytes = std::fs::read(&db).unwrap();
    let dir = tempfile::tempdir().unwrap();
    layout(
        dir.path(),
        &[gz_layer(&[E::File(
            "var/lib/rpm/rpmdb.sqlite",
            &bytes,
            0o644,
        )])],
        serde_json::json!({}),
    );
    let s = scan_dir(dir.path(), &ScanOptions::default());
    assert!(
        has_error(&s, &["rpmdb.sqlite", "generated"]),
        "{:?}",
        s.errors
    );
}

/// Item 1: the image-wide budgets hold across layers read in parallel.
#[test]
fn image_wide_budgets_are_errors() {
    let meta = vec![b' '; 600 * 1024];
    let dir = tempfile::tempdir().unwrap();
    let layers: Vec<(Vec<u8>, Vec<u8>)> = (0..3)
        .map(|i| {
            let p = format!("app/node_modules/p{i}/package.json");
            gz_layer(&[E::File(p.as_str(), meta.as_slice(), 0o644)])
        })
        .collect();
    layout(dir.path(), &layers, serde_json::json!({}));
    let mut opts = ScanOptions::default();
    opts.limits.max_image_captured_bytes = 1024 * 1024;
    let s = scan_dir(dir.path(), &opts);
    assert!(
        has_error(
            &s,
            &[
                "capture budget",
                "in the image over the 1048576 byte budget"
            ]
        ),
        "{:?}",
        s.errors
    );
    let mut opts = ScanOptions::default();
    opts.limits.max_layer_captured_files = 1;
    let two = gz_layer(&[
        E::File("app/node_modules/a/package.json", b"{}", 0o644),
        E::File("app/node_modules/b/package.json", b"{}", 0o644),
    ]);
    let d2 = tempfile::tempdir().unwrap();
    layout(d2.path(), &[two], serde_json::json!({}));
    let s = scan_dir(d2.path(), &opts);
    assert!(
        has_error(
            &s,
            &[
                "layer 0",
                "node_modules/b/package.json",
                "more than 1 package files"
            ]
        ),
        "{:?}",
        s.errors
    );
    let mut opts = ScanOptions::default();
    opts.limits.max_image_entries = 2;
    let s = scan_dir(dir.path(), &opts);
    assert!(
        has_error(&s, &["more than 2 entries together"]),
        "{:?}",
        s.errors
    );
    assert!(
        s.findings
            .iter()
            .any(|f| f.rule_id == "image/layer-limit-exceeded"),
        "{:?}",
        s.findings
    );
}

/// An RPM header blob (as stored in `rpmdb.sqlite`) with a file list.
fn rpm_header(name: &str, files: &[(&str, &str, u16)]) -> Vec<u8> {
    let mut data: Vec<u8> = Vec::new();
    let mut index: Vec<[i32; 4]> = Vec::new();
    for (tag, v) in [(1000, name), (1001, "1.0"), (1002, "1.el9")] {
        index.push([tag, 6, data.len() as i32, 1]);
        data.extend_from_slice(v.as_bytes());
        data.push(0);
    }
    let mut dirs: Vec<&str> = Vec::new();
    for (d, _, _) in files {
        if !dirs.contains(d) {
            dirs.push(d);
        }
    }
    index.push([1117, 8, data.len() as i32, files.len() as i32]);
    for (_, b, _) in files {
        data.extend_from_slice(b.as_bytes());
        data.push(0);
    }
    index.push([1118, 8, data.len() as i32, dirs.len() as i32]);
    for d in &dirs {
        data.extend_from_slice(d.as_bytes());
        data.push(0);
    }
    while !data.len().is_multiple_of(4) {
        data.push(0);
    }
    index.push([1116, 4, data.len() as i32, files.len() as i32]);
    for (d, _, _) in files {
        let i = dirs.iter().position(|x| x == d).unwrap() as i32;
        data.extend_from_slice(&i.to_be_bytes());
    }
    index.push([1030, 3, data.len() as i32, files.len() as i32]);
    for (_, _, m) in files {
        data.extend_from_slice(&m.to_be_bytes());
    }
    let mut blob = Vec::new();
    blob.extend_from_slice(&(index.len() as i32).to_be_bytes());
    blob.extend_from_slice(&(data.len() as i32).to_be_bytes());
    for e in &index {
        for v in e {
            blob.extend_from_slice(&v.to_be_bytes());
        }
    }
    blob.extend_from_slice(&data);
    blob
}

/// Item 6 (rpm): file modes are in the package headers (`FILEMODES`).
#[test]
fn package_owned_setuid_is_not_a_finding_rpm() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("rpmdb.sqlite");
    let c = rusqlite::Connection::open(&db).unwrap();
    c.execute_batch(
        "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL);",
    )
    .unwrap();
    let h = rpm_header(
        "util-linux",
        &[
            ("/usr/bin/", "su", 0o104755),
            ("/usr/bin/", "mount", 0o100755),
        ],
    );
    c.execute("INSERT INTO Packages (blob) VALUES (?1)", [&h])
        .unwrap();
    drop(c);
    let bytes = std::fs::read(&db).unwrap();
    let elf = b"\x7fELF\x02\x01\x01\x00not really";
    let dir = tempfile::tempdir().unwrap();
    layout(
        dir.path(),
        &[gz_layer(&[
            E::File("etc/os-release", b"ID=rhel\nVERSION_ID=9.4\n", 0o644),
            E::File("var/lib/rpm/rpmdb.sqlite", &bytes, 0o644),
            E::File("usr/bin/su", elf, 0o4755),
            E::File("usr/bin/mount", elf, 0o4755),
        ])],
        serde_json::json!({}),
    );
    let s = scan_dir(dir.path(), &ScanOptions::default());
    assert!(s.errors.is_empty(), "{:?}", s.errors);
    assert_eq!(s.packages.len(), 1);
    assert_eq!(
        findings_at(&s, "image/setuid-binary"),
        vec!["usr/bin/mount"],
        "su is 4755 in util-linux's header; mount is 755 there"
    );
}

/// A package database or Java archive too large to analyse was counted as "skipped" and
/// nothing else: its packages silently went unchecked. Now it is an error naming it.
#[test]
fn package_files_over_the_analysis_limit_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let jar = zip_bytes(&[("META-INF/MANIFEST.MF", &[b'x'; 4096], true)]);
    let big_status = "Package: bash\nStatus: install ok installed\nVersion: 5\n\n".repeat(100);
    layout(
        dir.path(),
        &[gz_layer(&[
            E::File("app/big.jar", &jar, 0o644),
            E::File("var/lib/dpkg/status", big_status.as_bytes(), 0o644),
        ])],
        serde_json::json!({}),
    );
    let mut opts = ScanOptions::default();
    opts.limits.max_analysis_file = 1024;
    opts.limits.max_secret_file = 1024;
    let s = scan_dir(dir.path(), &opts);
    assert!(
        has_error(&s, &["app/big.jar", "not read"]),
        "{:?}",
        s.errors
    );
    let d2 = tempfile::tempdir().unwrap();
    let huge = "Package: bash\nStatus: install ok installed\nVersion: 5\n\n".repeat(1_300_000);
    layout(
        d2.path(),
        &[gz_layer(&[E::File(
            "var/lib/dpkg/status",
            huge.as_bytes(),
            0o644,
        )])],
        serde_json::json!({}),
    );
    let s = scan_dir(d2.path(), &ScanOptions::default());
    assert!(
        has_error(&s, &["var/lib/dpkg/status", "not read"]),
        "{:?}",
        s.errors
    );
}

/// A Kubernetes Secret manifest in a layer that the one YAML loader cannot parse: its
/// `data` values were not checked for secrets, so the image scan must say so (the layer
/// reader used to drop the secret scanner's problems and report nothing).
#[test]
fn unparseable_secret_manifest_in_a_layer_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let l0 = gz_layer(&[
        E::File("etc/os-release", OS_RELEASE, 0o644),
        E::File("lib/apk/db/installed", APK, 0o644),
        E::File(
            "etc/app/secret.yaml",
            b"apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata:\n  password: [unclosed\n",
            0o644,
        ),
    ]);
    layout(dir.path(), &[l0], serde_json::json!({}));
    let opts = ScanOptions {
        today: Some("2026-11-23".into()),
        ..ScanOptions::default()
    };
    let scanner = secrets();
    let s = scan(dir.path().to_str().unwrap(), &opts, Some(&scanner), None).unwrap();
    assert!(
        has_error(&s, &["etc/app/secret.yaml"]),
        "the unchecked Secret is named in the errors: {:?}",
        s.errors
    );
}
