//! The one registry client against Debian's real `docker-registry` (distribution 2.8):
//! push and pull round trip (blobs, manifests, an index resolved by platform), bearer
//! token auth (the registry verifies JWTs from an in-test token server), credentials from
//! an identity token and from a Docker credential helper, blobs and manifests whose
//! stored content no longer matches their digest, and, in the webhook's egress policy, a
//! redirect to a private address. Skips with a notice without `docker-registry`, unless
//! `RAMPART_REQUIRE_TOOLS=1`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use base64::Engine as _;
use rampart_core::ImageRef;
use rampart_net::egress::EgressPolicy;
use rampart_net::http::HttpClient;
use rampart_net::registry::{
    oci, BlockingRegistry, CredentialSource, Credentials, PlainHttp, Platform, RegistryClient,
    RegistryError, RegistryOptions,
};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SERVICE: &str = "rampart-test";
const ISSUER: &str = "rampart-test-issuer";

/// A `docker-registry serve` child, killed on drop.
struct Served {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
    fn image(&self, rest: &str) -> ImageRef {
        ImageRef::parse(&format!("{}/{rest}", self.host())).unwrap()
    }
    /// The file the registry keeps a blob's bytes in.
    fn blob_file(&self, digest: &str) -> PathBuf {
        let hex = digest.trim_start_matches("sha256:");
        self.dir
            .path()
            .join("data/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Start docker-registry on a free port; with `token` = (realm, CA bundle PEM), it
/// requires bearer tokens from that realm.
fn registry(token: Option<(&str, &str)>) -> Option<Served> {
    rampart_testkit::tool(
        "RAMPART_DOCKER_REGISTRY",
        "docker-registry",
        "apt-get install docker-registry",
    )?;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut cfg = format!(
        "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
        dir.path().join("data").display()
    );
    if let Some((realm, pem)) = token {
        let bundle = dir.path().join("token.pem");
        std::fs::write(&bundle, pem).unwrap();
        cfg.push_str(&format!(
            "auth:\n  token:\n    realm: {realm}\n    service: {SERVICE}\n    issuer: {ISSUER}\n    rootcertbundle: {}\n",
            bundle.display()
        ));
    }
    std::fs::write(dir.path().join("config.yml"), cfg).unwrap();
    let child = Command::new("docker-registry")
        .arg("serve")
        .arg(dir.path().join("config.yml"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let served = Served { child, port, dir };
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "docker-registry did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(served)
}

/// An axum app on its own thread and runtime (the blocking client must not run inside
/// one).
fn serve(app: axum::Router) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(l.local_addr().unwrap()).unwrap();
            axum::serve(l, app).await.unwrap();
        });
    });
    rx.recv().unwrap()
}

fn b64url(b: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// A token server: ES256 JWTs, with the signing certificate in `x5c`, for requests that
/// authenticate as alice (basic `alice:wonder`, or the refresh token `rt-secret`).
struct TokenServer {
    realm: String,
    ca_pem: String,
    /// (method, query or form, authorization) of every request.
    log: Arc<Mutex<Vec<(String, String, String)>>>,
}

fn token_server() -> TokenServer {
    use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    let kp = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["token-signer".into()])
        .unwrap()
        .self_signed(&kp)
        .unwrap();
    let rng = ring::rand::SystemRandom::new();
    let signer = Arc::new(
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &kp.serialize_der(), &rng)
            .unwrap(),
    );
    let x5c = base64::engine::general_purpose::STANDARD.encode(cert.der());
    let log: Arc<Mutex<Vec<(String, String, String)>>> = Arc::default();
    let l2 = log.clone();
    let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
        let (signer, x5c, log) = (signer.clone(), x5c.clone(), l2.clone());
        async move {
            use http_body_util::BodyExt as _;
            let method = req.method().to_string();
            let authz = req
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            let query = req.uri().query().unwrap_or("").to_string();
            let body = req.into_body().collect().await.unwrap().to_bytes();
            let form = if method == "POST" {
                String::from_utf8_lossy(&body).to_string()
            } else {
                query
            };
            log.lock()
                .unwrap()
                .push((method.clone(), form.clone(), authz.clone()));
            let pairs: Vec<(String, String)> = form_urlencoded::parse(form.as_bytes())
                .into_owned()
                .collect();
            let get = |k: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| key == k)
                    .map(|(_, v)| v.clone())
            };
            let basic_ok = authz
                == format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode("alice:wonder")
                );
            let refresh_ok = get("grant_type").as_deref() == Some("refresh_token")
                && get("refresh_token").as_deref() == Some("rt-secret");
            if !basic_ok && !refresh_ok {
                return (axum::http::StatusCode::UNAUTHORIZED, "{}".to_string());
            }
            // The first scope is granted (the client asks for its own first).
            let scope = get("scope").unwrap_or_default();
            let mut parts = scope.splitn(3, ':');
            let (_, name, actions) = (parts.next(), parts.next(), parts.next());
            let access = match (name, actions) {
                (Some(n), Some(a)) => serde_json::json!([{"type": "repository", "name": n,
                    "actions": a.split(',').collect::<Vec<_>>()}]),
                _ => serde_json::json!([]),
            };
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            let header = serde_json::json!({"alg": "ES256", "typ": "JWT", "x5c": [x5c]});
            let claims = serde_json::json!({"iss": ISSUER, "sub": "alice", "aud": SERVICE,
                "exp": now + 300, "nbf": now - 10, "iat": now,
                "jti": format!("{now}-{}", pairs.len()), "access": access});
            let signing_input = format!(
                "{}.{}",
                b64url(header.to_string().as_bytes()),
                b64url(claims.to_string().as_bytes())
            );
            let sig = signer
                .sign(&ring::rand::SystemRandom::new(), signing_input.as_bytes())
                .unwrap();
            let jwt = format!("{signing_input}.{}", b64url(sig.as_ref()));
            (
                axum::http::StatusCode::OK,
                serde_json::json!({"token": jwt, "expires_in": 300}).to_string(),
            )
        }
    });
    let addr = serve(app);
    TokenServer {
        realm: format!("http://{addr}/token"),
        ca_pem: cert.pem(),
        log,
    }
}

/// The client as `rampart image --insecure` builds it (plain HTTP, any destination).
fn client(credentials: CredentialSource) -> BlockingRegistry {
    let http = HttpClient::new(
        Err(rampart_net::NetError::Tls("plain HTTP only".into())),
        EgressPolicy::unrestricted(),
    );
    BlockingRegistry::new(RegistryClient::new(
        http,
        RegistryOptions {
            plain_http: PlainHttp::All,
            credentials,
            ..RegistryOptions::default()
        },
    ))
    .unwrap()
}

/// A one-layer image for `arch`, pushed under `tag`: (manifest digest, layer bytes).
fn push_image(c: &BlockingRegistry, r: &ImageRef, arch: &str, tag: &str) -> (String, Vec<u8>) {
    let layer = format!("layer of {arch} {}", "x".repeat(4000)).into_bytes();
    let config = serde_json::to_vec(&serde_json::json!({"architecture": arch, "os": "linux",
        "config": {"User": "65532"}, "rootfs": {"type": "layers", "diff_ids": [oci::sha256(&layer)]}}))
    .unwrap();
    let ld = c.push_blob(r, &layer).unwrap();
    let cd = c.push_blob(r, &config).unwrap();
    assert_eq!(
        (ld.clone(), cd.clone()),
        (oci::sha256(&layer), oci::sha256(&config))
    );
    let m = serde_json::to_vec(&serde_json::json!({"schemaVersion": 2,
        "mediaType": oci::MT_OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": ld, "size": layer.len()}]}))
    .unwrap();
    let md = c.push_manifest(r, tag, oci::MT_OCI_MANIFEST, &m).unwrap();
    assert_eq!(md, oci::sha256(&m));
    (md, layer)
}

#[test]
fn push_then_pull_round_trip_with_an_index() {
    let Some(reg) = registry(None) else { return };
    let c = client(CredentialSource::Anonymous);
    let r = reg.image("team/app:1.0");
    let (amd, layer) = push_image(&c, &r, "amd64", "1.0");
    let (arm, _) = push_image(&c, &r, "arm64", "arm");
    let idx = serde_json::to_vec(&serde_json::json!({"schemaVersion": 2, "mediaType": oci::MT_OCI_INDEX,
        "manifests": [
            {"mediaType": oci::MT_OCI_MANIFEST, "digest": arm, "size": 1, "platform": {"os": "linux", "architecture": "arm64"}},
            {"mediaType": oci::MT_OCI_MANIFEST, "digest": amd, "size": 1, "platform": {"os": "linux", "architecture": "amd64"}}]}))
    .unwrap();
    let idx_digest = c
        .push_manifest(&r, "multi", oci::MT_OCI_INDEX, &idx)
        .unwrap();

    // By tag: the manifest pushed, verified against the registry's digest.
    let got = c.resolve_image(&r, &Platform::linux_amd64()).unwrap();
    assert_eq!(
        (got.digest.clone(), got.index_digest.clone()),
        (amd.clone(), None)
    );
    let mut out = Vec::new();
    let n = c
        .download_blob(&r, &got.manifest.layers[0].digest, 1 << 20, &mut out)
        .unwrap();
    assert_eq!((n as usize, out), (layer.len(), layer.clone()));
    let cfg = c
        .get_blob(&r, &got.manifest.config.digest, 1 << 20)
        .unwrap();
    assert!(String::from_utf8_lossy(&cfg).contains("65532"));
    // Streamed blobs go back to the keep-alive pool once read: one connection so far.
    for _ in 0..5 {
        let mut out = Vec::new();
        c.download_blob(&r, &got.manifest.layers[0].digest, 1 << 20, &mut out)
            .unwrap();
    }
    assert_eq!(c.client().http().connections_opened(), 1);

    // An index: the platform's manifest.
    let multi = reg.image("team/app:multi");
    let arm64 = Platform {
        architecture: "arm64".into(),
        ..Platform::linux_amd64()
    };
    let got = c.resolve_image(&multi, &arm64).unwrap();
    assert_eq!(
        (got.digest, got.index_digest),
        (arm, Some(idx_digest.clone()))
    );
    let s390x = Platform {
        architecture: "s390x".into(),
        ..Platform::linux_amd64()
    };
    let err = c.resolve_image(&multi, &s390x).unwrap_err();
    assert!(matches!(err, RegistryError::Platform { .. }), "{err}");
    // By digest, and the tag's digest by HEAD.
    let pinned = reg.image(&format!("team/app@{amd}"));
    assert_eq!(
        c.resolve_image(&pinned, &Platform::linux_amd64())
            .unwrap()
            .digest,
        amd
    );
    assert_eq!(c.resolve_digest(&multi).unwrap(), idx_digest);
    assert_eq!(c.head_blob(&r, &oci::sha256(b"absent")).unwrap(), None);
    assert_eq!(
        c.head_blob(&r, &oci::sha256(&layer)).unwrap(),
        Some(layer.len() as u64)
    );
    // A document over the cap is refused, not read.
    let small = BlockingRegistry::new(RegistryClient::new(
        HttpClient::new(
            Err(rampart_net::NetError::Tls("no".into())),
            EgressPolicy::unrestricted(),
        ),
        RegistryOptions {
            plain_http: PlainHttp::All,
            max_document: 100,
            ..RegistryOptions::default()
        },
    ))
    .unwrap();
    let err = small.resolve_image(&multi, &arm64).unwrap_err();
    assert!(matches!(err, RegistryError::TooLarge { .. }), "{err}");
}

#[test]
fn bearer_tokens_from_the_realm_the_registry_names() {
    let tokens = token_server();
    let Some(reg) = registry(Some((&tokens.realm, &tokens.ca_pem))) else {
        return;
    };
    let r = reg.image("team/app:1.0");
    // Anonymous: the realm refuses, the registry too.
    let anon = client(CredentialSource::Anonymous);
    let err = anon.push_blob(&r, b"x").unwrap_err().to_string();
    assert!(err.contains("token request failed: HTTP 401"), "{err}");

    let c = client(CredentialSource::Fixed(Credentials::basic(
        "alice", "wonder",
    )));
    let (md, layer) = push_image(&c, &r, "amd64", "1.0");
    let pushes = tokens.log.lock().unwrap().len();
    let got = c.resolve_image(&r, &Platform::linux_amd64()).unwrap();
    assert_eq!(got.digest, md);
    let mut out = Vec::new();
    c.download_blob(&r, &got.manifest.layers[0].digest, 1 << 20, &mut out)
        .unwrap();
    assert_eq!(out, layer);
    let log = tokens.log.lock().unwrap().clone();
    // One token per scope, cached until it expires: one for the pushes, one for pulls.
    assert_eq!(log.len() - pushes, 1, "{log:?}");
    assert!(
        log[1]
            .1
            .contains("scope=repository%3Ateam%2Fapp%3Apull%2Cpush"),
        "{log:?}"
    );
    assert!(
        log.last()
            .unwrap()
            .1
            .contains("repository%3Ateam%2Fapp%3Apull"),
        "{log:?}"
    );
    assert!(log
        .iter()
        .all(|(m, q, _)| m == "GET" && q.contains("service=rampart-test")));

    // Wrong password: refused, and no error shows it.
    let bad = client(CredentialSource::Fixed(Credentials::basic(
        "alice",
        "s3cr3t-pw",
    )));
    let err = bad
        .resolve_image(&r, &Platform::linux_amd64())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("HTTP 401") && !err.contains("s3cr3t-pw"),
        "{err}"
    );

    // An identity token is exchanged with a POST (OAuth2 refresh_token grant).
    let c = client(CredentialSource::Fixed(Credentials::IdentityToken(
        "rt-secret".into(),
    )));
    assert_eq!(
        c.resolve_image(&r, &Platform::linux_amd64())
            .unwrap()
            .digest,
        md
    );
    let last = tokens.log.lock().unwrap().last().cloned().unwrap();
    assert_eq!(last.0, "POST");
    assert!(last.1.contains("grant_type=refresh_token"), "{last:?}");
}

/// The credential-helper half of `credentials_from_a_docker_credential_helper`: runs in
/// a child process whose `PATH` and `DOCKER_CONFIG` the parent sets.
#[test]
#[ignore = "run by credentials_from_a_docker_credential_helper"]
fn credential_helper_child() {
    let Ok(host) = std::env::var("RAMPART_TEST_REGISTRY") else {
        return;
    };
    let c = client(CredentialSource::DockerConfig(None));
    let r = ImageRef::parse(&format!("{host}/team/app:1.0")).unwrap();
    let (md, _) = push_image(&c, &r, "amd64", "1.0");
    assert_eq!(
        c.resolve_image(&r, &Platform::linux_amd64())
            .unwrap()
            .digest,
        md
    );
    // A helper that never answers is killed after the helper timeout.
    let hang = std::env::var("RAMPART_TEST_HANG_CONFIG").unwrap();
    let http = HttpClient::new(
        Err(rampart_net::NetError::Tls("plain HTTP only".into())),
        EgressPolicy::unrestricted(),
    );
    let c = BlockingRegistry::new(RegistryClient::new(
        http,
        RegistryOptions {
            plain_http: PlainHttp::All,
            credentials: CredentialSource::DockerConfig(Some(hang.into())),
            helper_timeout: Duration::from_millis(500),
            ..RegistryOptions::default()
        },
    ))
    .unwrap();
    let started = Instant::now();
    let err = c
        .resolve_image(&r, &Platform::linux_amd64())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("docker-credential-hang: no answer within 500 ms"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn credentials_from_a_docker_credential_helper() {
    let tokens = token_server();
    let Some(reg) = registry(Some((&tokens.realm, &tokens.ca_pem))) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let asked = tmp.path().join("asked");
    let helper = bin.join("docker-credential-test");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\n[ \"$1\" = get ] || exit 3\nread server\necho \"$server\" > {}\nprintf '{{\"ServerURL\":\"%s\",\"Username\":\"alice\",\"Secret\":\"wonder\"}}' \"$server\"\n",
            asked.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let cfg = tmp.path().join("docker");
    std::fs::create_dir(&cfg).unwrap();
    std::fs::write(
        cfg.join("config.json"),
        r#"{"auths": {}, "credsStore": "test"}"#,
    )
    .unwrap();
    let hang = bin.join("docker-credential-hang");
    std::fs::write(&hang, "#!/bin/sh\nexec sleep 30\n").unwrap();
    std::fs::set_permissions(&hang, std::fs::Permissions::from_mode(0o755)).unwrap();
    let hang_cfg = tmp.path().join("hang.json");
    std::fs::write(
        &hang_cfg,
        r#"{"credHelpers": {"127.0.0.1": "x"}, "credsStore": "hang"}"#,
    )
    .unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "registry::credential_helper_child",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env("PATH", path)
        .env("DOCKER_CONFIG", &cfg)
        .env("RAMPART_TEST_REGISTRY", reg.host())
        .env("RAMPART_TEST_HANG_CONFIG", &hang_cfg)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success() && text.contains("1 passed"), "{text}");
    assert_eq!(std::fs::read_to_string(&asked).unwrap().trim(), reg.host());
    let log = tokens.log.lock().unwrap().clone();
    assert!(
        log.iter().all(|(_, _, a)| a.starts_with("Basic ")),
        "{log:?}"
    );
    assert!(!log.is_empty());
}

fn corrupt(path: &Path) {
    let mut b = std::fs::read(path).unwrap();
    b[0] ^= 0x20;
    std::fs::write(path, b).unwrap();
}

#[test]
fn content_that_does_not_match_its_digest_is_refused() {
    let Some(reg) = registry(None) else { return };
    let c = client(CredentialSource::Anonymous);
    let r = reg.image("team/app:1.0");
    let (md, _) = push_image(&c, &r, "amd64", "1.0");
    let got = c.resolve_image(&r, &Platform::linux_amd64()).unwrap();
    // The registry serves what is on its disk without checking it.
    corrupt(&reg.blob_file(&got.manifest.layers[0].digest));
    corrupt(&reg.blob_file(&got.manifest.config.digest));
    let mut out = Vec::new();
    let err = c
        .download_blob(&r, &got.manifest.layers[0].digest, 1 << 20, &mut out)
        .unwrap_err();
    assert!(matches!(err, RegistryError::DigestMismatch { .. }), "{err}");
    let err = c
        .get_blob(&r, &got.manifest.config.digest, 1 << 20)
        .unwrap_err();
    assert!(matches!(err, RegistryError::DigestMismatch { .. }), "{err}");
    // A manifest, by digest and by tag (still valid JSON, so the registry serves it).
    let mf = reg.blob_file(&md);
    let text = std::fs::read_to_string(&mf).unwrap();
    std::fs::write(
        &mf,
        text.replacen("\"schemaVersion\":2", "\"schemaVersion\": 2", 1),
    )
    .unwrap();
    assert_ne!(std::fs::read_to_string(&mf).unwrap(), text);
    let err = c.get_manifest(&r, &md).unwrap_err();
    assert!(matches!(err, RegistryError::DigestMismatch { .. }), "{err}");
    let err = c.resolve_image(&r, &Platform::linux_amd64()).unwrap_err();
    assert!(matches!(err, RegistryError::DigestMismatch { .. }), "{err}");
}

/// In the webhook's egress policy (public addresses plus the allow-listed registry), a
/// registry that redirects a blob to a private address is not followed there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_mode_refuses_a_redirect_to_a_private_address() {
    let Some(reg) = registry(None) else { return };
    let r = reg.image("team/app:1.0");
    let (_, layer) = std::thread::spawn({
        let r = r.clone();
        move || push_image(&client(CredentialSource::Anonymous), &r, "amd64", "1.0")
    })
    .join()
    .unwrap();
    // A front for the real registry that sends blob downloads elsewhere.
    let upstream = reg.port;
    let layer_digest = oci::sha256(&layer);
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let s2 = seen.clone();
    let front = {
        serve(
            axum::Router::new().fallback(move |req: axum::extract::Request| {
                let (seen, layer_digest) = (s2.clone(), layer_digest.clone());
                async move {
                    let path = req.uri().to_string();
                    seen.lock().unwrap().push(path.clone());
                    if path.contains("/blobs/") {
                        let to = if path.contains(&layer_digest) {
                            "169.254.169.254:80".to_string()
                        } else {
                            format!("localhost:{upstream}")
                        };
                        return axum::response::Response::builder()
                            .status(307)
                            .header("location", format!("http://{to}{path}"))
                            .body(axum::body::Body::empty())
                            .unwrap();
                    }
                    let r = reqwest_like(upstream, &path).await;
                    axum::response::Response::builder()
                        .status(r.0)
                        .header("content-type", r.1)
                        .body(axum::body::Body::from(r.2))
                        .unwrap()
                }
            }),
        )
    };
    let front_host = front.to_string();
    let mut http = HttpClient::new(
        Err(rampart_net::NetError::Tls("plain HTTP only".into())),
        EgressPolicy::with_allowed(&[front_host.as_str()]).unwrap(),
    );
    http.timeout = Duration::from_secs(3);
    let c = RegistryClient::new(
        http,
        RegistryOptions {
            // Plain HTTP allowed everywhere involved: only the egress policy can stop these.
            plain_http: PlainHttp::Hosts(vec![
                front_host.clone(),
                format!("localhost:{upstream}"),
                "169.254.169.254".into(),
            ]),
            ..RegistryOptions::default()
        },
    );
    let via = ImageRef::parse(&format!("{front_host}/team/app:1.0")).unwrap();
    let got = c
        .resolve_image(&via, &Platform::linux_amd64())
        .await
        .unwrap();
    let started = Instant::now();
    let mut out = Vec::new();
    let err = c
        .download_blob(&via, &got.manifest.layers[0].digest, 1 << 20, &mut out)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("egress policy"), "{err}");
    assert!(out.is_empty() && layer.len() > 100);
    // The config is redirected to the registry by another name (loopback, not
    // allow-listed): refused too, without connecting.
    let err = c
        .get_blob(&via, &got.manifest.config.digest, 1 << 20)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("egress policy"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen.iter().filter(|p| p.contains("/blobs/")).count(),
        2,
        "{seen:?}"
    );
}

/// GET `path` from 127.0.0.1:`port` with rampart-net's client: (status, content type, body).
async fn reqwest_like(port: u16, path: &str) -> (u16, String, Vec<u8>) {
    let http = HttpClient::new(
        Err(rampart_net::NetError::Tls("plain".into())),
        EgressPolicy::unrestricted(),
    );
    let url = rampart_net::http::Url::parse(&format!("http://127.0.0.1:{port}{path}")).unwrap();
    let accept = (
        rampart_net::http::header::ACCEPT,
        rampart_net::http::header::HeaderValue::from_static(oci::MANIFEST_ACCEPT),
    );
    let r = http
        .fetch(hyper::Method::GET, &url, &[accept], Default::default())
        .await
        .unwrap();
    let ct = r
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_string();
    (r.status, ct, r.body.to_vec())
}

/// A registry that answers `429`/`503` is retried a bounded number of times with a
/// bounded wait (`Retry-After` capped), then given up on; a blob over the caller's limit
/// is cut off.
#[test]
fn busy_registries_are_retried_a_bounded_number_of_times() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let hits = Arc::new(AtomicUsize::new(0));
    let h2 = hits.clone();
    let blob = vec![7u8; 100_000];
    let bd = oci::sha256(&blob);
    let addr = serve(
        axum::Router::new().fallback(move |req: axum::extract::Request| {
            let (hits, blob) = (h2.clone(), blob.clone());
            async move {
                let n = hits.fetch_add(1, Ordering::SeqCst);
                let path = req.uri().path().to_string();
                let busy = axum::response::Response::builder()
                    .status(if n % 2 == 0 { 503 } else { 429 })
                    .header("retry-after", "3600")
                    .body(axum::body::Body::empty())
                    .unwrap();
                if path.contains("/always-busy/") || (path.contains("/blobs/") && n == 0) {
                    return busy;
                }
                axum::response::Response::builder()
                    .status(200)
                    .body(axum::body::Body::from(blob))
                    .unwrap()
            }
        }),
    );
    let http = HttpClient::new(
        Err(rampart_net::NetError::Tls("plain HTTP only".into())),
        EgressPolicy::unrestricted(),
    );
    let c = BlockingRegistry::new(RegistryClient::new(
        http,
        RegistryOptions {
            plain_http: PlainHttp::All,
            retries: 2,
            max_backoff: Duration::from_millis(100),
            ..RegistryOptions::default()
        },
    ))
    .unwrap();
    // Busy once, then served: the blob arrives, verified.
    let r = ImageRef::parse(&format!("{addr}/team/app:1")).unwrap();
    let mut out = Vec::new();
    assert_eq!(
        c.download_blob(&r, &bd, 1 << 20, &mut out).unwrap(),
        100_000
    );
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    // Over the caller's limit: cut off.
    let err = c.download_blob(&r, &bd, 1000, &mut Vec::new()).unwrap_err();
    assert!(matches!(err, RegistryError::TooLarge { .. }), "{err}");
    // Always busy: 1 + 2 retries, each wait capped (Retry-After: 3600 is not honoured
    // past max_backoff), then the status is the error.
    hits.store(0, Ordering::SeqCst);
    let busy = ImageRef::parse(&format!("{addr}/always-busy/app:1")).unwrap();
    let started = Instant::now();
    let err = c.get_blob(&busy, &bd, 1 << 20).unwrap_err().to_string();
    assert!(err.contains("HTTP 503"), "{err}");
    assert_eq!(hits.load(Ordering::SeqCst), 3);
    assert!(started.elapsed() < Duration::from_secs(2));
}
