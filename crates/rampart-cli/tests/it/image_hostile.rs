//! `rampart image` on hostile or unchecked images, through the real binary: each case is
//! an error in the report, so the exit code is 2 whatever the findings.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output};

fn rampart(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rampart"))
        .env("NO_COLOR", "1")
        .env_remove("RAMPART_DB")
        .env("XDG_CACHE_HOME", dir.join("cache"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn sha(b: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(b)))
}

fn gz_tar(files: &[(&str, &[u8])]) -> (Vec<u8>, Vec<u8>) {
    let mut b = tar::Builder::new(Vec::new());
    for (p, d) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(d.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, p, *d).unwrap();
    }
    let t = b.into_inner().unwrap();
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(&t).unwrap();
    (e.finish().unwrap(), t)
}

/// An OCI layout of these layers; returns the layer blob paths.
fn layout(dir: &Path, layers: &[(Vec<u8>, Vec<u8>)]) -> Vec<std::path::PathBuf> {
    std::fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
    let put = |b: &[u8]| {
        let d = sha(b);
        std::fs::write(dir.join("blobs/sha256").join(&d[7..]), b).unwrap();
        d
    };
    let descs: Vec<Value> = layers
        .iter()
        .map(|(gz, _)| serde_json::json!({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": put(gz), "size": gz.len()}))
        .collect();
    let diff_ids: Vec<String> = layers.iter().map(|(_, t)| sha(t)).collect();
    let cfg = serde_json::to_vec(&serde_json::json!({"architecture": "amd64", "os": "linux",
        "config": {"User": "1000", "Healthcheck": {"Test": ["CMD", "true"]}},
        "rootfs": {"type": "layers", "diff_ids": diff_ids}}))
    .unwrap();
    let m = serde_json::to_vec(&serde_json::json!({"schemaVersion": 2,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": put(&cfg), "size": cfg.len()},
        "layers": descs}))
    .unwrap();
    let idx = serde_json::json!({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": put(&m), "size": m.len()}]});
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&idx).unwrap()).unwrap();
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    layers
        .iter()
        .map(|(gz, _)| dir.join("blobs/sha256").join(&sha(gz)[7..]))
        .collect()
}

fn errors(o: &Output) -> Vec<String> {
    let r: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    });
    r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.to_string())
        .collect()
}

const DEBIAN: &[u8] = b"ID=debian\nVERSION_ID=\"12\"\n";
const DPKG: &[u8] = b"Package: bash\nStatus: install ok installed\nVersion: 5.2.15-2+b2\n\n";

/// A layer replaced after the manifest was written: exit 2, the error names the layer,
/// and the replaced layer's package is not in the inventory.
#[test]
fn tampered_layer_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("img");
    let l0 = gz_tar(&[("etc/os-release", DEBIAN), ("var/lib/dpkg/status", DPKG)]);
    let l1 = gz_tar(&[("srv/readme", b"hi")]);
    let blobs = layout(&dir, &[l0, l1]);
    let evil = gz_tar(&[
        ("var/lib/dpkg/.wh.status", b""),
        (
            "app/node_modules/evil/package.json",
            br#"{"name":"evil","version":"6.6.6"}"#,
        ),
    ]);
    std::fs::write(&blobs[1], &evil.0).unwrap();
    let d = dir.to_str().unwrap();
    let o = rampart(&["image", d, "--skip-vulns", "-f", "json"], tmp.path());
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let e = errors(&o);
    assert!(
        e.iter()
            .any(|e| e.contains("layer 1") && e.contains("digest mismatch")),
        "{e:?}"
    );
    let o = rampart(&["image", d, "--list-packages", "-f", "json"], tmp.path());
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    let names: Vec<&str> = r["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(
        names,
        vec!["bash"],
        "the tampered layer neither hides bash nor adds evil"
    );
}

/// A Debian image against a database holding only PyPI advisories: its packages were
/// not checked, which must not pass as clean.
#[test]
fn ecosystem_missing_from_the_db_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    let osv = tmp.path().join("osv");
    std::fs::create_dir_all(&osv).unwrap();
    std::fs::write(osv.join("GHSA-aaaa-bbbb-cccc.json"), r#"{"id": "GHSA-aaaa-bbbb-cccc", "modified": "2024-01-01T00:00:00Z",
      "summary": "x", "affected": [{"package": {"ecosystem": "PyPI", "name": "jinja2"},
        "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.10.1"}]}]}]}"#).unwrap();
    let db = tmp.path().join("vuln.db");
    let o = rampart(
        &[
            "db",
            "import",
            "--db",
            db.to_str().unwrap(),
            osv.to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let dir = tmp.path().join("img");
    layout(
        &dir,
        &[gz_tar(&[
            ("etc/os-release", DEBIAN),
            ("var/lib/dpkg/status", DPKG),
        ])],
    );
    let o = rampart(
        &[
            "image",
            dir.to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
            "--skip-secrets",
            "--fail-on",
            "none",
            "-f",
            "json",
        ],
        tmp.path(),
    );
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let e = errors(&o);
    assert!(
        e.iter()
            .any(|e| e.contains("Debian:12") && e.contains("no advisories") && e.contains("bash")),
        "{e:?}"
    );
}
