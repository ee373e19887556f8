//! `rampart image` pulling from Debian's docker-registry over HTTPS with a certificate
//! from a private CA (a corporate registry): trusted with `--ca-file`, refused without
//! it. Needs openssl, docker-registry, skopeo and the test images of
//! `testdata/build-images.sh`; skips with a notice without them, unless
//! `RAMPART_REQUIRE_TOOLS=1`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn rampart() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rampart"));
    c.env_remove("RAMPART_DB").env("NO_COLOR", "1");
    c
}

fn layout() -> Option<PathBuf> {
    let l = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/rampart-test-images/layout");
    if l.join("index.json").is_file() {
        return Some(l);
    }
    assert!(
        !rampart_testkit::tools_required(),
        "test images missing: run testdata/build-images.sh"
    );
    eprintln!("notice: skipping: test images missing (testdata/build-images.sh)");
    None
}

fn openssl(dir: &Path, args: &[&str]) {
    let st = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success(), "openssl {args:?}");
}

/// A CA (`ca.pem`), and a server certificate for 127.0.0.1 it signs (`srv.pem`,
/// `srv.key`), in `d`.
fn pki(d: &Path) {
    openssl(
        d,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=Rampart Test CA",
        ],
    );
    openssl(
        d,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "srv.key",
            "-out",
            "srv.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    );
    std::fs::write(
        d.join("ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    openssl(
        d,
        &[
            "x509",
            "-req",
            "-in",
            "srv.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "srv.pem",
            "-days",
            "2",
            "-extfile",
            "ext",
        ],
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "server did not start on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

struct Registry(Child);

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Issue 14: pulls trusted only the CA roots compiled into the HTTP library (ureq's
/// webpki-roots): a registry behind a corporate CA could not be pulled from at all.
#[test]
fn a_registry_behind_a_private_ca_is_trusted_with_ca_file_only() {
    let tools = ["openssl", "docker-registry", "skopeo"];
    if tools.iter().any(|t| {
        rampart_testkit::tool(
            "RAMPART_NO_SUCH_ENV",
            t,
            "apt-get install openssl docker-registry skopeo",
        )
        .is_none()
    }) {
        return;
    }
    let Some(layout) = layout() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    pki(d);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::fs::write(
        d.join("config.yml"),
        format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n  tls:\n    certificate: {}\n    key: {}\n",
            d.join("data").display(),
            d.join("srv.pem").display(),
            d.join("srv.key").display()
        ),
    )
    .unwrap();
    let _reg = Registry(
        Command::new("docker-registry")
            .arg("serve")
            .arg(d.join("config.yml"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for(port);
    let image = format!("127.0.0.1:{port}/rampart/test:v1");
    let st = Command::new("skopeo")
        .args(["copy", "-q", "--dest-tls-verify=false"])
        .arg(format!("oci:{}:v1", layout.display()))
        .arg(format!("docker://{image}"))
        .status()
        .unwrap();
    assert!(st.success(), "skopeo push failed");

    let run = |extra: &[&str]| {
        let out = rampart()
            .args(["image", &image, "--list-packages", "--format", "json"])
            .args(extra)
            .env("TMPDIR", d)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let ca = d.join("ca.pem").display().to_string();
    let (code, stdout, stderr) = run(&["--ca-file", &ca]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("\"base-files\""), "{stdout}");

    // Not trusted by the system's roots.
    let (code, _, stderr) = run(&[]);
    assert_ne!(code, Some(0));
    assert!(stderr.to_lowercase().contains("certificate"), "{stderr}");

    // A CA file that cannot be used is an error naming it, never a fallback.
    let missing = d.join("missing.pem").display().to_string();
    let (code, _, stderr) = run(&["--ca-file", &missing]);
    assert_ne!(code, Some(0));
    assert!(stderr.contains("missing.pem"), "{stderr}");
}

/// The pull follows redirects itself now (the one HTTP client never does): an https
/// registry redirecting to plain http must not get its next request (and whatever it
/// carries) sent in clear. The https side is `openssl s_server -HTTP` answering a
/// canned 307.
#[test]
fn a_redirect_from_https_to_plain_http_is_refused() {
    if rampart_testkit::tool("RAMPART_NO_SUCH_ENV", "openssl", "apt-get install openssl").is_none()
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    pki(d);
    // The plain-http side counts the connections it gets.
    let plain = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let plain_port = plain.local_addr().unwrap().port();
    plain.set_nonblocking(true).unwrap();
    let www = d.join("www");
    std::fs::create_dir_all(www.join("v2/team/app/manifests")).unwrap();
    std::fs::write(
        www.join("v2/team/app/manifests/1.0"),
        format!("HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:{plain_port}/v2/team/app/manifests/1.0\r\nContent-Length: 0\r\n\r\n"),
    )
    .unwrap();
    let port = free_port();
    let _server = Registry(
        Command::new("openssl")
            .current_dir(&www)
            .args(["s_server", "-quiet", "-HTTP", "-accept"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("-cert")
            .arg(d.join("srv.pem"))
            .arg("-key")
            .arg(d.join("srv.key"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for(port);
    let out = rampart()
        .args([
            "image",
            &format!("127.0.0.1:{port}/team/app:1.0"),
            "--list-packages",
        ])
        .arg("--ca-file")
        .arg(d.join("ca.pem"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("redirect from https to plain http refused"),
        "{stderr}"
    );
    assert!(
        plain.accept().is_err(),
        "the plain-http server was contacted"
    );
}
