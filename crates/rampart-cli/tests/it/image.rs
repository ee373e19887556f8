//! `rampart image` through the real binary: a small OCI layout built in the test (always
//! runs), and the real Debian test image when the image tools are installed.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr,
    clippy::panic
)]

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn rampart() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rampart"));
    c.env("NO_COLOR", "1").env_remove("RAMPART_DB");
    c
}

fn run(args: &[&str], dir: &Path) -> Output {
    rampart().args(args).current_dir(dir).output().unwrap()
}

fn sha(b: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(b)))
}

/// A one-layer Debian-like OCI layout: os-release, a dpkg status with one package whose
/// source package differs, a Python package and a secret.
fn small_layout(dir: &Path) {
    let mut b = tar::Builder::new(Vec::new());
    let files: &[(&str, &[u8], u32)] = &[
        ("etc/os-release", b"ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n", 0o644),
        ("var/lib/dpkg/status", b"Package: libssl3\nStatus: install ok installed\nArchitecture: amd64\nSource: openssl\nVersion: 3.0.11-1~deb12u1\n\nPackage: bash\nStatus: install ok installed\nVersion: 5.2.15-2+b2\nSource: bash (5.2.15-2)\n", 0o644),
        ("usr/lib/python3/dist-packages/Jinja2-2.10.dist-info/METADATA", b"Metadata-Version: 2.1\nName: Jinja2\nVersion: 2.10\n\n", 0o644),
        ("srv/app/.env", b"AWS_ACCESS_KEY_ID=AKIAQ7RJ3KD5PLMN2XYZ\n", 0o644),
    ];
    for (p, d, mode) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(d.len() as u64);
        h.set_mode(*mode);
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
        "config": {"User": "1000", "Healthcheck": {"Test": ["CMD", "true"]}},
        "rootfs": {"type": "layers", "diff_ids": [sha(&t)]},
        "history": [{"created_by": "COPY rootfs /"}]}))
    .unwrap();
    let m = serde_json::to_vec(&serde_json::json!({"schemaVersion": 2,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": put(&cfg), "size": cfg.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": put(&gz), "size": gz.len()}]}))
    .unwrap();
    let idx = serde_json::json!({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": put(&m), "size": m.len(), "annotations": {"org.opencontainers.image.ref.name": "1.0"}}]});
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&idx).unwrap()).unwrap();
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
}

/// An OSV database with a Debian advisory keyed by the source package (openssl) and a
/// PyPI advisory for Jinja2.
fn vuln_db(dir: &Path) -> PathBuf {
    let osv = dir.join("osv");
    std::fs::create_dir_all(&osv).unwrap();
    std::fs::write(osv.join("DSA-0001-1.json"), r#"{"id": "DSA-0001-1", "modified": "2024-01-01T00:00:00Z",
      "summary": "openssl security update", "aliases": ["CVE-2024-0001"],
      "affected": [{"package": {"ecosystem": "Debian:12", "name": "openssl"},
        "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.11-1~deb12u2"}]}]}]}"#).unwrap();
    std::fs::write(
        osv.join("DSA-0002-1.json"),
        r#"{"id": "DSA-0002-1", "modified": "2024-01-01T00:00:00Z",
      "summary": "bash fixed long ago",
      "affected": [{"package": {"ecosystem": "Debian:12", "name": "bash"},
        "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "5.0-1"}]}]}]}"#,
    )
    .unwrap();
    std::fs::write(osv.join("GHSA-aaaa-bbbb-cccc.json"), r#"{"id": "GHSA-aaaa-bbbb-cccc", "modified": "2024-01-01T00:00:00Z",
      "summary": "Jinja2 sandbox escape",
      "affected": [{"package": {"ecosystem": "PyPI", "name": "jinja2"},
        "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.10.1"}]}]}]}"#).unwrap();
    let db = dir.join("vuln.db");
    let o = run(
        &[
            "db",
            "import",
            "--db",
            db.to_str().unwrap(),
            osv.to_str().unwrap(),
        ],
        dir,
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    db
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

#[test]
fn image_report_with_vulns_secrets_and_gate() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("layout");
    small_layout(&layout);
    let db = vuln_db(tmp.path());
    let o = run(
        &[
            "image",
            layout.to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
            "-f",
            "json",
        ],
        tmp.path(),
    );
    let r = json(&o);
    assert_eq!(
        o.status.code(),
        Some(1),
        "high findings fail the default gate"
    );
    let ids: Vec<&str> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"vuln/DSA-0001-1"),
        "matched by source package: {ids:?}"
    );
    assert!(
        !ids.contains(&"vuln/DSA-0002-1"),
        "bash 5.2 is fixed: {ids:?}"
    );
    assert!(ids.contains(&"vuln/GHSA-aaaa-bbbb-cccc"), "{ids:?}");
    assert!(ids.contains(&"secret/aws-access-key"), "{ids:?}");
    assert!(
        !ids.contains(&"image/run-as-root") && !ids.contains(&"image/no-healthcheck"),
        "{ids:?}"
    );
    let dsa = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == "vuln/DSA-0001-1")
        .unwrap();
    assert_eq!(dsa["location"]["name"], "openssl");
    assert_eq!(dsa["location"]["found_in"], "var/lib/dpkg/status");
    assert_eq!(
        dsa["properties"]["binary_packages"][0],
        "libssl3 3.0.11-1~deb12u1"
    );
    assert!(dsa["properties"]["layer_digest"]
        .as_str()
        .unwrap()
        .starts_with("sha256:"));
    assert_eq!(dsa["properties"]["created_by"], "COPY rootfs /");
    let secret = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == "secret/aws-access-key")
        .unwrap();
    assert_eq!(secret["location"]["type"], "image");
    assert_eq!(secret["location"]["path"], "srv/app/.env");

    // --skip-secrets / --skip-vulns, --fail-on none.
    let o = run(
        &[
            "image",
            &format!("oci:{}:1.0", layout.display()),
            "--skip-secrets",
            "--skip-vulns",
            "--fail-on",
            "none",
            "-f",
            "json",
        ],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(0));
    let r = json(&o);
    assert!(r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| !f["rule_id"].as_str().unwrap().starts_with("secret/")
            && !f["rule_id"].as_str().unwrap().starts_with("vuln/")));

    // SARIF output file.
    let sarif = tmp.path().join("out.sarif");
    let o = run(
        &[
            "image",
            layout.to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
            "-q",
            "-o",
            sarif.to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(1));
    let s: Value = serde_json::from_slice(&std::fs::read(&sarif).unwrap()).unwrap();
    assert_eq!(s["version"], "2.1.0");
}

#[test]
fn list_packages_table_and_json() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("layout");
    small_layout(&layout);
    let o = run(
        &["image", layout.to_str().unwrap(), "--list-packages"],
        tmp.path(),
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("libssl3") && text.contains("Debian:12") && text.contains("Jinja2"),
        "{text}"
    );
    assert!(text.trim_end().ends_with("3 packages"), "{text}");
    let o = run(
        &[
            "image",
            layout.to_str().unwrap(),
            "--list-packages",
            "-f",
            "json",
        ],
        tmp.path(),
    );
    let r = json(&o);
    assert_eq!(r["image"]["os"]["id"], "debian");
    assert_eq!(r["packages"].as_array().unwrap().len(), 3);
    let ssl = r["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "libssl3")
        .unwrap();
    assert_eq!(ssl["source_name"], "openssl");
    assert_eq!(
        ssl["purl"],
        "pkg:deb/debian/libssl3@3.0.11-1~deb12u1?arch=amd64&distro=debian-12&upstream=openssl"
    );
}

#[test]
fn bad_inputs_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let o = run(&["image", "/no/such/image"], tmp.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no such file"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    std::fs::write(tmp.path().join("x.tar"), b"junk").unwrap();
    let o = run(&["image", "x.tar"], tmp.path());
    assert_eq!(o.status.code(), Some(2));
    let o = run(&["image", "x", "--platform", "linux"], tmp.path());
    assert_eq!(o.status.code(), Some(2));
    let o = run(&["image", "oci:/tmp", "--db", "/no/such.db"], tmp.path());
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn real_debian_image_via_cli() {
    let dir = rampart_testkit::workspace_root().join("target/rampart-test-images");
    let tools = ["debootstrap", "umoci", "skopeo"].iter().all(|t| {
        Command::new(t)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok()
    });
    if !tools {
        if std::env::var("RAMPART_REQUIRE_TOOLS").is_ok_and(|v| v == "1") {
            panic!("debootstrap/umoci/skopeo missing (RAMPART_REQUIRE_TOOLS=1)");
        }
        eprintln!("notice: skipping: debootstrap/umoci/skopeo missing");
        return;
    }
    let script =
        rampart_testkit::workspace_root().join("crates/rampart-image/testdata/build-images.sh");
    assert!(Command::new("bash")
        .arg(script)
        .arg(&dir)
        .status()
        .unwrap()
        .success());
    let o = run(
        &[
            "image",
            &dir.join("image.docker.tar").display().to_string(),
            "--fail-on",
            "critical",
            "-f",
            "json",
        ],
        &dir,
    );
    let r = json(&o);
    assert_eq!(
        o.status.code(),
        Some(1),
        "the deleted AWS secret key is critical"
    );
    let f = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == "secret/aws-secret-access-key")
        .unwrap();
    assert_eq!(f["properties"]["file_state"], "deleted");
    let o = run(
        &[
            "image",
            &dir.join("layout").display().to_string(),
            "--list-packages",
            "-f",
            "json",
        ],
        &dir,
    );
    let r = json(&o);
    assert!(r["packages"].as_array().unwrap().len() >= 90);
}

/// `rampart sbom IMAGE`: an OCI layout (recognised by itself, or forced with `oci:` and a
/// tag) gives an SBOM of the image's packages with a `container` root component.
#[test]
fn sbom_of_an_image() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("layout");
    small_layout(&layout);
    for arg in [
        layout.display().to_string(),
        format!("oci:{}:1.0", layout.display()),
        format!("{}:1.0", layout.display()),
    ] {
        let o = run(&["sbom", &arg, "-f", "cyclonedx", "-q"], tmp.path());
        assert_eq!(
            o.status.code(),
            Some(0),
            "{arg}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let v = json(&o);
        assert_eq!(v["metadata"]["component"]["type"], "container", "{arg}");
        let purls: Vec<&str> = v["components"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["purl"].as_str())
            .collect();
        for want in [
            "pkg:deb/debian/libssl3@3.0.11-1~deb12u1",
            "pkg:deb/debian/bash@5.2.15-2%2Bb2",
            "pkg:pypi/jinja2@2.10",
        ] {
            assert!(
                purls.iter().any(|p| p.starts_with(want)),
                "{arg}: {want} not in {purls:?}"
            );
        }
        assert_eq!(purls.len(), 3, "{purls:?}");
    }
    let o = run(&["sbom", "no-such-dir", "-f", "spdx"], tmp.path());
    assert_eq!(o.status.code(), Some(2));
}

/// A database without data for one ecosystem of the image's packages (here PyPI, for
/// Jinja2) does not give a clean result: an error names the ecosystem and the
/// `rampart db update` command, and the run exits 2.
#[test]
fn image_with_an_ecosystem_missing_from_the_database_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("layout");
    small_layout(&layout);
    let db = vuln_db(tmp.path());
    // Drop the PyPI record: the database now knows Debian only.
    std::fs::remove_file(tmp.path().join("osv/GHSA-aaaa-bbbb-cccc.json")).unwrap();
    std::fs::remove_file(&db).unwrap();
    let o = run(
        &[
            "db",
            "import",
            "--db",
            db.to_str().unwrap(),
            tmp.path().join("osv").to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(0));
    let o = run(
        &[
            "image",
            layout.to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
            "--skip-secrets",
            "-f",
            "json",
        ],
        tmp.path(),
    );
    let r = json(&o);
    let errors = r["errors"].to_string();
    assert!(
        errors.contains("has no data for PyPI")
            && errors.contains("rampart db update --ecosystem PyPI"),
        "{errors}"
    );
    assert_eq!(o.status.code(), Some(2), "{r:#}");
}
