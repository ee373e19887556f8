//! Real images built by `testdata/build-images.sh` (debootstrap + umoci + skopeo),
//! scanned from an OCI layout, a docker-archive, an OCI archive and a local
//! docker-registry. Skips with a notice when the tools are missing, unless
//! `RAMPART_REQUIRE_TOOLS=1`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr,
    clippy::panic
)]

use rampart_image::{scan, ImageScan, PackageKind, ScanOptions};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn require_tools() -> bool {
    std::env::var("RAMPART_REQUIRE_TOOLS").is_ok_and(|v| v == "1")
}

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// Whether the tools are present; prints a skip notice (or panics under
/// RAMPART_REQUIRE_TOOLS=1) when not.
fn tools(list: &[&str]) -> bool {
    let missing: Vec<&&str> = list.iter().filter(|t| !have(t)).collect();
    if missing.is_empty() {
        return true;
    }
    if require_tools() {
        panic!("required tools missing: {missing:?} (RAMPART_REQUIRE_TOOLS=1)");
    }
    eprintln!("notice: skipping: tools missing: {missing:?} (apt-get install debootstrap umoci skopeo docker-registry)");
    false
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| rampart_testkit::workspace_root().join("target"))
}

/// Build (once, cached under target/) and return the images directory.
fn images() -> Option<PathBuf> {
    if !tools(&["debootstrap", "umoci", "skopeo"]) {
        return None;
    }
    let out = target_dir().join("rampart-test-images");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/build-images.sh");
    let st = Command::new("bash")
        .arg(&script)
        .arg(&out)
        .status()
        .unwrap();
    assert!(st.success(), "{} failed", script.display());
    Some(out)
}

fn opts() -> ScanOptions {
    ScanOptions {
        today: Some("2026-11-23".into()),
        ..ScanOptions::default()
    }
}

fn secrets() -> rampart_secrets::SecretScanner {
    rampart_secrets::SecretScanner::new(
        rampart_secrets::rules::RuleSet::builtin().unwrap(),
        rampart_secrets::ScanOptions::default(),
    )
    .unwrap()
}

fn names(s: &ImageScan, kind: PackageKind) -> Vec<String> {
    s.packages
        .iter()
        .filter(|p| p.kind == kind)
        .map(|p| format!("{}@{}", p.name, p.version))
        .collect()
}

/// Installed packages in the rootfs's own dpkg database, as dpkg sees it.
fn dpkg_truth(dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join("rootfs/var/lib/dpkg/status")).unwrap();
    let mut out = Vec::new();
    for stanza in text.split("\n\n") {
        let get = |k: &str| {
            stanza
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{k}: ")))
                .map(str::to_string)
        };
        if get("Status").is_some_and(|s| s.ends_with(" installed")) {
            out.push(format!(
                "{}@{}",
                get("Package").unwrap(),
                get("Version").unwrap()
            ));
        }
    }
    out.sort();
    out
}

fn check_test_image(s: &ImageScan, dir: &Path) {
    assert!(s.errors.is_empty(), "{:?}", s.errors);
    assert_eq!(s.image.layers.len(), 3);
    let os = s.image.os.as_ref().unwrap();
    assert_eq!((os.id.as_str(), os.version_id.as_str()), ("debian", "12"));
    let mut dpkg = names(s, PackageKind::Dpkg);
    dpkg.sort();
    let truth = dpkg_truth(dir);
    assert!(truth.len() >= 80, "{}", truth.len());
    assert_eq!(dpkg, truth);
    assert!(s
        .packages
        .iter()
        .filter(|p| p.kind == PackageKind::Dpkg)
        .all(|p| p.ecosystem == "Debian:12" && p.layer == 0));
    let libc = s.packages.iter().find(|p| p.name == "libc6").unwrap();
    assert_eq!(libc.source_name.as_deref(), Some("glibc"));
    assert!(
        libc.purl.starts_with("pkg:deb/debian/libc6@"),
        "{}",
        libc.purl
    );
    assert!(libc.purl.contains("distro=debian-12"), "{}", libc.purl);
    assert_eq!(
        names(s, PackageKind::Python),
        vec!["requests@2.25.0", "urllib3@1.26.4"]
    );
    assert_eq!(
        names(s, PackageKind::Npm),
        vec!["@types/node@20.11.5", "lodash@4.17.20"]
    );
    let py = s.packages.iter().find(|p| p.name == "requests").unwrap();
    assert_eq!(py.layer, 1);
    assert!(py.created_by.as_deref().unwrap().starts_with("COPY app/"));

    let secret = s
        .findings
        .iter()
        .find(|f| f.rule_id == "secret/aws-access-key")
        .expect("the deleted secret is still reported");
    assert_eq!(secret.properties["file_state"], "deleted");
    assert_eq!(secret.properties["layer"], 1);
    assert_eq!(secret.location.path(), Some("app/config/credentials.env"));
    let ids: Vec<&str> = s.findings.iter().map(|f| f.rule_id.as_str()).collect();
    for want in [
        "image/run-as-root",
        "image/secret-in-env",
        "image/ssh-port-exposed",
        "image/no-healthcheck",
        "image/world-writable-file",
    ] {
        assert!(ids.contains(&want), "{want} missing from {ids:?}");
    }
    assert!(s.findings.iter().any(|f| f.rule_id == "image/setuid-binary"
        && f.location.path() == Some("usr/local/bin/rampart-suid-helper")));
    // Debian's own setuid tools (su, passwd …) are installed so by their packages
    // (listed in var/lib/dpkg/info/*.list, in the layer that installed them): expected.
    // Debian 12 is merged-/usr: util-linux.list says /bin/su, the file is usr/bin/su.
    for shipped in [
        "usr/bin/su",
        "usr/bin/mount",
        "usr/bin/umount",
        "usr/sbin/unix_chkpwd",
    ] {
        assert!(
            !s.findings
                .iter()
                .any(|f| f.rule_id == "image/setuid-binary" && f.location.path() == Some(shipped)),
            "{shipped} is shipped so by its package"
        );
    }
}

#[test]
fn debian_image_from_layout_and_archives() {
    let Some(dir) = images() else { return };
    let sc = secrets();
    let t = Instant::now();
    let layout = scan(
        &format!("{}:v1", dir.join("layout").display()),
        &opts(),
        Some(&sc),
        None,
    )
    .unwrap();
    eprintln!("layout scan: {:?}", t.elapsed());
    check_test_image(&layout, &dir);
    for src in [
        dir.join("image.docker.tar").display().to_string(),
        format!("oci-archive:{}", dir.join("image.oci.tar").display()),
    ] {
        let s = scan(&src, &opts(), Some(&sc), None).unwrap();
        check_test_image(&s, &dir);
        let a: Vec<String> = layout
            .packages
            .iter()
            .map(|p| format!("{} {} {}", p.name, p.version, p.path))
            .collect();
        let b: Vec<String> = s
            .packages
            .iter()
            .map(|p| format!("{} {} {}", p.name, p.version, p.path))
            .collect();
        assert_eq!(a, b, "{src}");
    }
    // The SBOM seam: an inventory with the dpkg database as one "lockfile".
    assert!(rampart_image::looks_like_image(&dir.join("layout")));
    assert!(rampart_image::looks_like_image(
        &dir.join("image.docker.tar")
    ));
    assert!(!rampart_image::looks_like_image(&dir.join("rootfs")));
    let inv = rampart_image::to_inventory(&layout);
    let dpkg = inv
        .lockfiles
        .iter()
        .find(|l| l.path == "var/lib/dpkg/status")
        .unwrap();
    assert_eq!(dpkg.kind, "image-dpkg");
    assert_eq!(dpkg.packages.len(), dpkg_truth(&dir).len());
    assert!(dpkg.packages.iter().all(|p| p.ecosystem == "Debian:12"));
    assert_eq!(inv.packages().count(), layout.packages.len());
    // The `latest` tag of the layout is reported.
    let latest = scan(
        &format!("oci:{}:latest", dir.join("layout").display()),
        &opts(),
        None,
        None,
    )
    .unwrap();
    assert!(latest
        .findings
        .iter()
        .any(|f| f.rule_id == "image/latest-tag"));
}

/// Debian's docker-registry on a free loopback port, killed on drop.
struct Registry {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_registry() -> Registry {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = dir.path().join("config.yml");
    std::fs::write(
        &cfg,
        format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    let child = Command::new("docker-registry")
        .arg("serve")
        .arg(&cfg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let reg = Registry {
        child,
        port,
        _dir: dir,
    };
    let deadline = Instant::now() + Duration::from_secs(15);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "docker-registry did not start on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    reg
}

#[test]
fn debian_image_pulled_from_a_registry() {
    let Some(dir) = images() else { return };
    if !tools(&["docker-registry"]) {
        return;
    }
    let reg = start_registry();
    let dest = format!("127.0.0.1:{}/rampart/test:v1", reg.port);
    let st = Command::new("skopeo")
        .args(["copy", "-q", "--dest-tls-verify=false"])
        .arg(format!("oci:{}:v1", dir.join("layout").display()))
        .arg(format!("docker://{dest}"))
        .status()
        .unwrap();
    assert!(st.success(), "skopeo push failed");
    let mut o = opts();
    o.open.insecure = true;
    let s = scan(&dest, &o, Some(&secrets()), None).unwrap();
    check_test_image(&s, &dir);
    assert!(s
        .image
        .manifest_digest
        .as_deref()
        .unwrap()
        .starts_with("sha256:"));
    // By digest too.
    let by_digest = format!(
        "127.0.0.1:{}/rampart/test@{}",
        reg.port,
        s.image.manifest_digest.as_deref().unwrap()
    );
    let d = scan(&by_digest, &o, None, None).unwrap();
    assert_eq!(d.packages.len(), s.packages.len());
    // Without --insecure the plain-HTTP registry fails with a clear error.
    let err = scan(&dest, &opts(), None, None).unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("https://127.0.0.1:{}", reg.port)),
        "{err}"
    );
    // A missing tag is an HTTP 404, not a panic.
    let err = scan(
        &format!("127.0.0.1:{}/rampart/test:nope", reg.port),
        &o,
        None,
        None,
    )
    .unwrap_err();
    assert!(err.to_string().contains("404"), "{err}");
}
