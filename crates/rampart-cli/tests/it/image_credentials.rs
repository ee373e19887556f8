//! `rampart image` pulling from Debian's `docker-registry` with HTTP basic auth
//! (htpasswd), the credentials coming from the runner's Docker config
//! (`$DOCKER_CONFIG/config.json`) through a credential helper (`credsStore`, then
//! `credHelpers`) found on `PATH`. Before the one registry client, helpers were never run
//! and the pull failed for lack of credentials. Needs docker-registry and skopeo; skips
//! with a notice without them, unless `RAMPART_REQUIRE_TOOLS=1`.
//!
//! `RAMPART_TEST_BIN` runs the tests against another `rampart` binary (an older build).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use sha2::{Digest, Sha256};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// `alice:wonder`, bcrypt cost 4 (docker-registry checks every request).
const HTPASSWD: &str = "alice:$2b$04$kWCbUwhrboiEH.9R8Awxs.Fz.PeQcLYPff38gAerdhGNZUxg1ydu6\n";

fn sha(b: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(b)))
}

/// A one-layer Debian-like OCI layout (tag `1.0`) with one dpkg package, `bash`.
fn layout(dir: &Path) {
    let mut b = tar::Builder::new(Vec::new());
    let files: &[(&str, &[u8])] = &[
        ("etc/os-release", b"ID=debian\nVERSION_ID=\"12\"\n"),
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
        "config": {"User": "1000"}, "rootfs": {"type": "layers", "diff_ids": [sha(&t)]}}))
    .unwrap();
    let m = serde_json::to_vec(&serde_json::json!({"schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": put(&cfg), "size": cfg.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": put(&gz), "size": gz.len()}]}))
    .unwrap();
    let idx = serde_json::json!({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": put(&m), "size": m.len(), "annotations": {"org.opencontainers.image.ref.name": "1.0"}}]});
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&idx).unwrap()).unwrap();
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
}

struct Registry(Child);

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// docker-registry with htpasswd auth on a free port, `team/app:1.0` pushed: its host.
fn registry(d: &Path) -> Option<(Registry, String)> {
    for t in ["docker-registry", "skopeo"] {
        rampart_testkit::tool(
            "RAMPART_NO_SUCH_ENV",
            t,
            "apt-get install docker-registry skopeo",
        )?;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::fs::write(d.join("htpasswd"), HTPASSWD).unwrap();
    std::fs::write(
        d.join("config.yml"),
        format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\nauth:\n  htpasswd:\n    realm: test\n    path: {}\n",
            d.join("data").display(),
            d.join("htpasswd").display()
        ),
    )
    .unwrap();
    let reg = Registry(
        Command::new("docker-registry")
            .arg("serve")
            .arg(d.join("config.yml"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "docker-registry did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    layout(&d.join("layout"));
    let host = format!("127.0.0.1:{port}");
    let st = Command::new("skopeo")
        .args([
            "copy",
            "-q",
            "--dest-tls-verify=false",
            "--dest-creds",
            "alice:wonder",
        ])
        .arg(format!("oci:{}:1.0", d.join("layout").display()))
        .arg(format!("docker://{host}/team/app:1.0"))
        .status()
        .unwrap();
    assert!(st.success(), "skopeo push failed");
    Some((reg, host))
}

/// A `docker-credential-<name>` script in `bin` answering `user`/`secret`, recording
/// the server it was asked about in `bin/<name>.asked`.
fn helper(bin: &Path, name: &str, user: &str, secret: &str) {
    use std::os::unix::fs::PermissionsExt as _;
    let p = bin.join(format!("docker-credential-{name}"));
    std::fs::write(
        &p,
        format!(
            "#!/bin/sh\n[ \"$1\" = get ] || exit 3\nread server\necho \"$server\" > {}\nprintf '{{\"ServerURL\":\"%s\",\"Username\":\"{user}\",\"Secret\":\"{secret}\"}}' \"$server\"\n",
            bin.join(format!("{name}.asked")).display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn rampart_image(d: &Path, host: &str, docker_config: &str) -> Output {
    let bin = std::env::var_os("RAMPART_TEST_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_rampart")));
    let cfg = d.join("docker");
    std::fs::create_dir_all(&cfg).unwrap();
    std::fs::write(cfg.join("config.json"), docker_config).unwrap();
    let path = format!(
        "{}:{}",
        d.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new(bin)
        .args(["image", &format!("{host}/team/app:1.0"), "--insecure"])
        .args(["--list-packages", "--format", "json"])
        .env("NO_COLOR", "1")
        .env_remove("RAMPART_DB")
        .env("DOCKER_CONFIG", &cfg)
        .env("PATH", path)
        .env("TMPDIR", d)
        .output()
        .unwrap()
}

#[test]
fn credentials_come_from_the_docker_credential_helper() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let Some((_reg, host)) = registry(d) else {
        return;
    };
    let bin = d.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    helper(&bin, "store", "alice", "wonder");
    helper(&bin, "wrong", "alice", "not-the-password-42");

    // credsStore: the helper is asked about this registry, and the pull succeeds.
    let out = rampart_image(d, &host, r#"{"auths": {}, "credsStore": "store"}"#);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains("\"bash\""), "{stdout}");
    assert_eq!(
        std::fs::read_to_string(bin.join("store.asked"))
            .unwrap()
            .trim(),
        host
    );
    assert!(!stdout.contains("wonder") && !stderr.contains("wonder"));

    // credHelpers names the helper for this registry (before credsStore): its wrong
    // password is rejected, and never printed.
    let cfg = format!(r#"{{"credHelpers": {{"{host}": "wrong"}}, "credsStore": "store"}}"#);
    let out = rampart_image(d, &host, &cfg);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("401"), "{stderr}");
    assert!(!stderr.contains("not-the-password-42"), "{stderr}");
    assert!(bin.join("wrong.asked").is_file());
}
