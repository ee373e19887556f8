//! `rampart key|sign|verify|attest` through the real binary: key files, cosign's blob
//! signature format (checked with OpenSSL and sigstore-rs' cosign vectors), DSSE/in-toto
//! attestations checked both ways with Python's in-toto 3.1.0 and securesystemslib 1.6.0,
//! and every failure mode's message and exit code (1: does not verify, 2: unusable input).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn rampart(dir: &Path, args: &[&str], password: Option<&str>) -> Out {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rampart"));
    c.args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .env_remove("RAMPART_KEY_PASSWORD");
    if let Some(p) = password {
        c.env("RAMPART_KEY_PASSWORD", p);
    }
    let o = c.output().unwrap();
    let out = Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    };
    // Never any private key material on either stream: no PEM armour of a private key,
    // no line of any private key file in the directory (except lines that are public
    // material: a SEC1 key file ends with its public point, as the .pub holds it).
    let public: String = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".pub"))
        .map(|e| {
            std::fs::read_to_string(e.path())
                .unwrap_or_default()
                .replace('\n', "")
        })
        .collect();
    let key_lines: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.ends_with(".key") || n.ends_with(".pem")
        })
        .flat_map(|e| {
            std::fs::read_to_string(e.path())
                .unwrap_or_default()
                .lines()
                .filter(|l| l.len() >= 16 && !l.starts_with("-----") && !public.contains(*l))
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    for s in [&out.stdout, &out.stderr] {
        assert!(!s.contains("PRIVATE KEY-----"), "private key printed: {s}");
        for l in &key_lines {
            assert!(!s.contains(l.as_str()), "private key material printed: {s}");
        }
    }
    out
}

fn ok(o: &Out) {
    assert_eq!(o.code, 0, "stdout: {}\nstderr: {}", o.stdout, o.stderr);
}

fn failed(o: &Out, code: i32, needle: &str) {
    assert_eq!(o.code, code, "stdout: {}\nstderr: {}", o.stdout, o.stderr);
    assert!(
        o.stderr.contains(needle),
        "expected `{needle}` in stderr: {}",
        o.stderr
    );
}

fn write(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap();
    p
}

fn keypair(dir: &Path, name: &str, key_type: &str) {
    ok(&rampart(
        dir,
        &["key", "generate", "--type", key_type, "--out", name],
        Some("pw"),
    ));
}

#[test]
fn key_generate_encrypted_pkcs8_0600_public_and_no_overwrite() {
    let d = tempfile::tempdir().unwrap();
    for t in ["ecdsa-p256", "ed25519"] {
        keypair(d.path(), t, t);
        let key = std::fs::read_to_string(d.path().join(format!("{t}.key"))).unwrap();
        assert!(
            key.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"),
            "{key}"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(d.path().join(format!("{t}.key")))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{t}.key mode {mode:o}");
        }
        let public = rampart(
            d.path(),
            &["key", "public", &format!("{t}.key")],
            Some("pw"),
        );
        ok(&public);
        assert_eq!(
            public.stdout,
            std::fs::read_to_string(d.path().join(format!("{t}.pub"))).unwrap()
        );
    }
    // No overwrite without --force; no passphrase, no key.
    failed(
        &rampart(
            d.path(),
            &["key", "generate", "--out", "ed25519"],
            Some("pw"),
        ),
        2,
        "exists",
    );
    failed(
        &rampart(d.path(), &["key", "generate", "--out", "new"], None),
        2,
        "no passphrase",
    );
    failed(
        &rampart(d.path(), &["key", "generate", "--out", "new"], Some("")),
        2,
        "--no-password",
    );
    assert!(!d.path().join("new.key").exists());
    // --no-password: an empty passphrase, read back without RAMPART_KEY_PASSWORD.
    ok(&rampart(
        d.path(),
        &["key", "generate", "--out", "open", "--no-password"],
        None,
    ));
    ok(&rampart(d.path(), &["key", "public", "open.key"], None));
    // An encrypted key without its passphrase, or with a wrong one.
    failed(
        &rampart(d.path(), &["key", "public", "ed25519.key"], None),
        2,
        "set RAMPART_KEY_PASSWORD",
    );
    failed(
        &rampart(d.path(), &["key", "public", "ed25519.key"], Some("nope")),
        2,
        "wrong passphrase",
    );
}

#[test]
fn sign_and_verify_blob_both_key_types_and_every_failure() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    write(dir, "blob", b"release artefact\n");
    write(dir, "tampered", b"release artefact.\n");
    for t in ["ecdsa-p256", "ed25519"] {
        keypair(dir, t, t);
        keypair(dir, &format!("{t}-other"), t);
        let sig = format!("{t}.sig");
        ok(&rampart(
            dir,
            &[
                "sign",
                "blob",
                "blob",
                "--key",
                &format!("{t}.key"),
                "-o",
                &sig,
            ],
            Some("pw"),
        ));
        let pubkey = format!("{t}.pub");
        let v = rampart(
            dir,
            &[
                "verify",
                "blob",
                "blob",
                "--signature",
                &sig,
                "--key",
                &pubkey,
            ],
            None,
        );
        ok(&v);
        assert!(v.stdout.starts_with("Verified OK"), "{}", v.stdout);
        // Signature to stdout is the same format.
        let s = rampart(
            dir,
            &["sign", "blob", "blob", "--key", &format!("{t}.key")],
            Some("pw"),
        );
        ok(&s);
        write(dir, "stdout.sig", s.stdout.as_bytes());
        ok(&rampart(
            dir,
            &[
                "verify",
                "blob",
                "blob",
                "--signature",
                "stdout.sig",
                "--key",
                &pubkey,
            ],
            None,
        ));
        // Tampered blob, other key: exit 1, the failed check named.
        failed(
            &rampart(
                dir,
                &[
                    "verify",
                    "blob",
                    "tampered",
                    "--signature",
                    &sig,
                    "--key",
                    &pubkey,
                ],
                None,
            ),
            1,
            "signature does not match",
        );
        failed(
            &rampart(
                dir,
                &[
                    "verify",
                    "blob",
                    "blob",
                    "--signature",
                    &sig,
                    "--key",
                    &format!("{t}-other.pub"),
                ],
                None,
            ),
            1,
            "signature does not match",
        );
    }
    // A signature of one key type checked with the other: unusable, not a pass.
    failed(
        &rampart(
            dir,
            &[
                "verify",
                "blob",
                "blob",
                "--signature",
                "ecdsa-p256.sig",
                "--key",
                "ed25519.pub",
            ],
            None,
        ),
        2,
        "64 bytes",
    );
    // Malformed signature, malformed PEM, a private key where a public one is due.
    write(dir, "bad.sig", b"not base64 at all!");
    failed(
        &rampart(
            dir,
            &[
                "verify",
                "blob",
                "blob",
                "--signature",
                "bad.sig",
                "--key",
                "ed25519.pub",
            ],
            None,
        ),
        2,
        "bad.sig: malformed signature",
    );
    write(dir, "empty.sig", b"\n");
    failed(
        &rampart(
            dir,
            &[
                "verify",
                "blob",
                "blob",
                "--signature",
                "empty.sig",
                "--key",
                "ed25519.pub",
            ],
            None,
        ),
        2,
        "empty",
    );
    write(
        dir,
        "broken.pub",
        b"-----BEGIN PUBLIC KEY-----\nMFkw!!!\n-----END PUBLIC KEY-----\n",
    );
    failed(
        &rampart(
            dir,
            &[
                "verify",
                "blob",
                "blob",
                "--signature",
                "ed25519.sig",
                "--key",
                "broken.pub",
            ],
            None,
        ),
        2,
        "broken.pub: malformed PEM",
    );
    write(dir, "nopem.key", b"just text\n");
    failed(
        &rampart(dir, &["sign", "blob", "blob", "--key", "nopem.key"], None),
        2,
        "nopem.key: malformed PEM: no PEM block",
    );
    failed(
        &rampart(
            dir,
            &[
                "verify",
                "blob",
                "blob",
                "--signature",
                "ed25519.sig",
                "--key",
                "ed25519.key",
            ],
            None,
        ),
        2,
        "give the public key",
    );
}

fn openssl() -> Option<PathBuf> {
    rampart_testkit::tool("RAMPART_OPENSSL", "openssl", "apt-get install openssl")
}

fn run_ok(cmd: &mut Command) -> String {
    let o = cmd.output().unwrap();
    assert!(
        o.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// cosign's blob signature is plain ECDSA P-256/SHA-256 DER in base64 (Ed25519: over the
/// blob), so OpenSSL checks Rampart's and makes ones Rampart must accept; OpenSSL's key
/// files (PKCS#8 from genpkey, SEC1 with EC PARAMETERS from ecparam) sign in Rampart.
#[test]
fn blob_signatures_interoperate_with_openssl_both_ways() {
    let Some(openssl) = openssl() else { return };
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    write(dir, "blob", b"artefact bytes");
    let ossl = |args: &[&str]| run_ok(Command::new(&openssl).args(args).current_dir(dir));
    let b64d = |name: &str, out: &str| {
        ossl(&["base64", "-d", "-A", "-in", name, "-out", out]);
    };
    let b64e = |name: &str, out: &str| {
        ossl(&["base64", "-A", "-in", name, "-out", out]);
    };

    // Rampart signs, OpenSSL verifies (ECDSA over SHA-256; Ed25519 over the raw blob).
    keypair(dir, "r-ec", "ecdsa-p256");
    ok(&rampart(
        dir,
        &[
            "sign", "blob", "blob", "--key", "r-ec.key", "-o", "r-ec.sig",
        ],
        Some("pw"),
    ));
    b64d("r-ec.sig", "r-ec.der");
    let v = ossl(&[
        "dgst",
        "-sha256",
        "-verify",
        "r-ec.pub",
        "-signature",
        "r-ec.der",
        "blob",
    ]);
    assert!(v.contains("Verified OK"), "{v}");
    keypair(dir, "r-ed", "ed25519");
    ok(&rampart(
        dir,
        &[
            "sign", "blob", "blob", "--key", "r-ed.key", "-o", "r-ed.sig",
        ],
        Some("pw"),
    ));
    b64d("r-ed.sig", "r-ed.raw");
    let v = ossl(&[
        "pkeyutl", "-verify", "-pubin", "-inkey", "r-ed.pub", "-rawin", "-in", "blob", "-sigfile",
        "r-ed.raw",
    ]);
    assert!(v.contains("Signature Verified Successfully"), "{v}");
    // Rampart's encrypted key file opens in OpenSSL with the passphrase.
    ossl(&["pkey", "-in", "r-ec.key", "-passin", "pass:pw", "-noout"]);

    // OpenSSL signs, Rampart verifies; OpenSSL's key files sign in Rampart.
    ossl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        "o-ec.pem",
    ]);
    ossl(&["pkey", "-in", "o-ec.pem", "-pubout", "-out", "o-ec.pub"]);
    ossl(&[
        "dgst", "-sha256", "-sign", "o-ec.pem", "-out", "o-ec.der", "blob",
    ]);
    b64e("o-ec.der", "o-ec.sig");
    ok(&rampart(
        dir,
        &[
            "verify",
            "blob",
            "blob",
            "--signature",
            "o-ec.sig",
            "--key",
            "o-ec.pub",
        ],
        None,
    ));
    ossl(&["genpkey", "-algorithm", "ed25519", "-out", "o-ed.pem"]);
    ossl(&["pkey", "-in", "o-ed.pem", "-pubout", "-out", "o-ed.pub"]);
    ossl(&[
        "pkeyutl", "-sign", "-inkey", "o-ed.pem", "-rawin", "-in", "blob", "-out", "o-ed.raw",
    ]);
    b64e("o-ed.raw", "o-ed.sig");
    ok(&rampart(
        dir,
        &[
            "verify",
            "blob",
            "blob",
            "--signature",
            "o-ed.sig",
            "--key",
            "o-ed.pub",
        ],
        None,
    ));
    ok(&rampart(
        dir,
        &["sign", "blob", "blob", "--key", "o-ec.pem", "-o", "x.sig"],
        None,
    ));
    ok(&rampart(
        dir,
        &[
            "verify",
            "blob",
            "blob",
            "--signature",
            "x.sig",
            "--key",
            "o-ec.pub",
        ],
        None,
    ));
    // SEC1 `EC PRIVATE KEY` after an `EC PARAMETERS` block (openssl ecparam -genkey).
    ossl(&[
        "ecparam",
        "-name",
        "prime256v1",
        "-genkey",
        "-out",
        "o-sec1.pem",
    ]);
    ossl(&["ec", "-in", "o-sec1.pem", "-pubout", "-out", "o-sec1.pub"]);
    let p = rampart(dir, &["key", "public", "o-sec1.pem"], None);
    ok(&p);
    assert_eq!(
        p.stdout,
        std::fs::read_to_string(dir.join("o-sec1.pub")).unwrap()
    );
    // Key types Rampart does not sign with are named, exit 2.
    ossl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-384",
        "-out",
        "p384.pem",
    ]);
    failed(
        &rampart(dir, &["sign", "blob", "blob", "--key", "p384.pem"], None),
        2,
        "unsupported key type: ECDSA P-384",
    );
    ossl(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:1024",
        "-out",
        "rsa.pem",
    ]);
    ossl(&["pkey", "-in", "rsa.pem", "-pubout", "-out", "rsa.pub"]);
    failed(
        &rampart(dir, &["sign", "blob", "blob", "--key", "rsa.pem"], None),
        2,
        "unsupported key type: RSA",
    );
    failed(
        &rampart(
            dir,
            &[
                "verify",
                "blob",
                "blob",
                "--signature",
                "o-ec.sig",
                "--key",
                "rsa.pub",
            ],
            None,
        ),
        2,
        "unsupported key type: RSA",
    );
}

/// Real cosign material: the key-signed simple-signing vector from sigstore-rs (a cosign
/// signature: base64 DER ECDSA over SHA-256) and encrypted keys made by cosign and
/// sigstore-rs (`crates/rampart-supply/testdata/cosign-keys/SOURCE.md`).
#[test]
fn cosign_made_signatures_and_keys() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    if let Some(root) = rampart_testkit::corpus("supply-chain/sigstore-rs/simple-signing-key") {
        let r = root.to_str().unwrap();
        let v = rampart(
            dir,
            &[
                "verify",
                "blob",
                &format!("{r}/payload.json"),
                "--signature",
                &format!("{r}/signature.b64"),
                "--key",
                &format!("{r}/key.pub"),
            ],
            None,
        );
        ok(&v);
        failed(
            &rampart(
                dir,
                &[
                    "verify",
                    "blob",
                    &format!("{r}/payload.json"),
                    "--signature",
                    &format!("{r}/signature.b64"),
                    "--key",
                    &format!("{r}/wrong-key.pub"),
                ],
                None,
            ),
            1,
            "verification failed",
        );
    }
    let keys = Path::new(env!("CARGO_MANIFEST_DIR")).join("../rampart-supply/testdata/cosign-keys");
    let k = |n: &str| keys.join(n).to_str().unwrap().to_string();
    write(dir, "blob", b"signed with a cosign key");
    // cosign generate-key-pair with an empty password: no RAMPART_KEY_PASSWORD needed.
    let empty = k("cosign_generated_encrypted_empty_private.key");
    let p = rampart(dir, &["key", "public", &empty], None);
    ok(&p);
    write(dir, "cosign.pub", p.stdout.as_bytes());
    ok(&rampart(
        dir,
        &["sign", "blob", "blob", "--key", &empty, "-o", "c.sig"],
        None,
    ));
    ok(&rampart(
        dir,
        &[
            "verify",
            "blob",
            "blob",
            "--signature",
            "c.sig",
            "--key",
            "cosign.pub",
        ],
        None,
    ));
    // Legacy `ENCRYPTED COSIGN PRIVATE KEY` and an Ed25519 one, passphrase 123.
    for name in [
        "ecdsa_encrypted_private.key",
        "ed25519_encrypted_private.key",
    ] {
        let key = k(name);
        ok(&rampart(dir, &["key", "public", &key], Some("123")));
        failed(
            &rampart(dir, &["key", "public", &key], Some("1234")),
            2,
            "wrong passphrase",
        );
        failed(
            &rampart(dir, &["key", "public", &key], None),
            2,
            "the cosign key is encrypted: set RAMPART_KEY_PASSWORD",
        );
    }
}

#[test]
fn attest_blob_and_verify_attestation_with_each_failure_named() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    write(dir, "app.tar", b"the artefact");
    write(dir, "other.tar", b"another artefact");
    write(
        dir,
        "pred.json",
        br#"{"buildType": "https://example.com/ci", "builder": {"id": "ci"}}"#,
    );
    keypair(dir, "k", "ecdsa-p256");
    keypair(dir, "other", "ed25519");
    ok(&rampart(
        dir,
        &[
            "attest",
            "blob",
            "app.tar",
            "--predicate",
            "pred.json",
            "--type",
            "slsaprovenance1",
            "--key",
            "k.key",
            "-o",
            "app.intoto.json",
        ],
        Some("pw"),
    ));
    let env: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("app.intoto.json")).unwrap()).unwrap();
    assert_eq!(env["payloadType"], "application/vnd.in-toto+json");
    let verify = |extra: &[&str]| {
        let mut a = vec!["verify", "attestation", "app.intoto.json"];
        a.extend_from_slice(extra);
        rampart(dir, &a, None)
    };
    let v = verify(&[
        "--key",
        "k.pub",
        "--type",
        "slsaprovenance1",
        "--blob",
        "app.tar",
    ]);
    ok(&v);
    assert!(
        v.stdout.contains("subject: app.tar (sha256:"),
        "{}",
        v.stdout
    );
    let digest = v
        .stdout
        .split("(sha256:")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .unwrap()
        .to_string();
    ok(&verify(&[
        "--key",
        "k.pub",
        "--type",
        "https://slsa.dev/provenance/v1",
        "--digest",
        &format!("sha256:{digest}"),
    ]));
    // Several keys: one verifying signature suffices.
    ok(&verify(&[
        "--key",
        "other.pub",
        "--key",
        "k.pub",
        "--type",
        "slsaprovenance1",
        "--blob",
        "app.tar",
    ]));
    let st = rampart(
        dir,
        &[
            "verify",
            "attestation",
            "app.intoto.json",
            "--key",
            "k.pub",
            "--type",
            "slsaprovenance1",
            "--blob",
            "app.tar",
            "--print-statement",
        ],
        None,
    );
    ok(&st);
    let statement: serde_json::Value = serde_json::from_str(&st.stdout).unwrap();
    assert_eq!(statement["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(statement["predicate"]["builder"]["id"], "ci");

    // Each check fails on its own, exit 1, named.
    failed(
        &verify(&[
            "--key",
            "other.pub",
            "--type",
            "slsaprovenance1",
            "--blob",
            "app.tar",
        ]),
        1,
        "none of the envelope's 1 signature verifies",
    );
    failed(
        &verify(&["--key", "k.pub", "--type", "spdx", "--blob", "app.tar"]),
        1,
        "predicate type `https://slsa.dev/provenance/v1` is not `https://spdx.dev/Document`",
    );
    failed(
        &verify(&[
            "--key",
            "k.pub",
            "--type",
            "slsaprovenance1",
            "--blob",
            "other.tar",
        ]),
        1,
        "no subject matches the artifact",
    );
    // Tampered payload (the builder changed), and a relabelled payload type: the
    // signature covers both.
    let mut tampered = env.clone();
    {
        let parsed =
            rampart_supply::dsse::Envelope::from_json(env.to_string().as_bytes(), 1 << 20).unwrap();
        let mut payload: serde_json::Value =
            serde_json::from_slice(&parsed.payload_unverified().unwrap()).unwrap();
        payload["predicate"]["builder"]["id"] = "attacker".into();
        // Standard base64, as the envelope's.
        tampered["payload"] =
            rampart_supply::blob::encode_signature(&serde_json::to_vec(&payload).unwrap()).into();
    }
    write(dir, "tampered.json", tampered.to_string().as_bytes());
    let mut relabelled = env.clone();
    relabelled["payloadType"] = "application/json".into();
    write(dir, "relabelled.json", relabelled.to_string().as_bytes());
    for f in ["tampered.json", "relabelled.json"] {
        failed(
            &rampart(
                dir,
                &[
                    "verify",
                    "attestation",
                    f,
                    "--key",
                    "k.pub",
                    "--type",
                    "slsaprovenance1",
                    "--blob",
                    "app.tar",
                ],
                None,
            ),
            1,
            "signature verification failed",
        );
    }
    // A correctly signed envelope whose payload type is not in-toto.
    let key =
        match rampart_supply::keys::parse_private_key(&std::fs::read(dir.join("k.key")).unwrap())
            .unwrap()
        {
            rampart_supply::keys::PrivateKeyFile::Encrypted(e) => e.decrypt(b"pw").unwrap(),
            rampart_supply::keys::PrivateKeyFile::Plain(k) => k,
        };
    let payload = rampart_supply::dsse::Envelope::from_json(
        &std::fs::read(dir.join("app.intoto.json")).unwrap(),
        1 << 20,
    )
    .unwrap()
    .payload_unverified()
    .unwrap();
    let other_type = rampart_supply::dsse::sign("application/json", &payload, &key);
    write(
        dir,
        "other-type.json",
        other_type.to_json().unwrap().as_bytes(),
    );
    failed(
        &rampart(
            dir,
            &[
                "verify",
                "attestation",
                "other-type.json",
                "--key",
                "k.pub",
                "--type",
                "slsaprovenance1",
                "--blob",
                "app.tar",
            ],
            None,
        ),
        1,
        "payload type `application/json` is not `application/vnd.in-toto+json`",
    );
    // Unusable input: exit 2.
    failed(
        &verify(&["--key", "k.pub", "--type", "slsaprovenance1"]),
        2,
        "give --blob FILE or --digest",
    );
    failed(
        &verify(&[
            "--key",
            "k.pub",
            "--type",
            "notreallyslsaprovenance",
            "--blob",
            "app.tar",
        ]),
        2,
        "unknown predicate type `notreallyslsaprovenance`",
    );
    write(
        dir,
        "broken.json",
        b"{\n  \"payloadType\": \"x\",\n  \"payload\": 7\n}\n",
    );
    failed(
        &rampart(
            dir,
            &[
                "verify",
                "attestation",
                "broken.json",
                "--key",
                "k.pub",
                "--type",
                "custom",
                "--no-subject-check",
            ],
            None,
        ),
        2,
        "broken.json: malformed DSSE envelope",
    );
    write(dir, "bad-pred.json", b"{\n  \"a\": \n}\n");
    failed(
        &rampart(
            dir,
            &[
                "attest",
                "blob",
                "app.tar",
                "--predicate",
                "bad-pred.json",
                "--type",
                "custom",
                "--key",
                "k.key",
            ],
            Some("pw"),
        ),
        2,
        "bad-pred.json:3:1: the predicate is not JSON",
    );
}

/// A python with in-toto and securesystemslib (`RAMPART_INTOTO_PY`), or a skip.
fn intoto_python() -> Option<PathBuf> {
    let install = "pip install in-toto==3.1.0 securesystemslib==1.6.0";
    let py = rampart_testkit::tool("RAMPART_INTOTO_PY", "python3", install)?;
    let ok = Command::new(&py)
        .args(["-c", "import in_toto, securesystemslib"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        if rampart_testkit::tools_required() {
            panic!(
                "{} cannot import in_toto/securesystemslib ({install}) (RAMPART_REQUIRE_TOOLS=1)",
                py.display()
            );
        }
        eprintln!(
            "notice: skipping: {} cannot import in_toto ({install}; set RAMPART_INTOTO_PY)",
            py.display()
        );
        return None;
    }
    Some(py)
}

/// Both ways with Python's in-toto 3.1.0 / securesystemslib 1.6.0: their DSSE code
/// verifies Rampart's envelopes (and rejects a tampered one), Rampart verifies theirs (and
/// rejects a tampered one); keys cross too (cryptography opens Rampart's encrypted
/// PKCS#8, Rampart opens cryptography's).
#[test]
fn dsse_interop_with_python_in_toto_both_ways() {
    let Some(py) = intoto_python() else { return };
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../rampart-supply/testdata/python/dsse_interop.py");
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    write(dir, "app.tar", b"the artefact");
    write(dir, "pred.json", br#"{"builder": {"id": "rampart"}}"#);
    let slsa = "https://slsa.dev/provenance/v1";
    let python = |args: &[&str]| {
        let o = Command::new(&py)
            .arg(&script)
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        (
            o.status.code().unwrap_or(-1),
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
        )
    };
    for (t, py_kind) in [("ecdsa-p256", "ecdsa"), ("ed25519", "ed25519")] {
        // Rampart → Python.
        keypair(dir, t, t);
        let env = format!("{t}.intoto.json");
        ok(&rampart(
            dir,
            &[
                "attest",
                "blob",
                "app.tar",
                "--predicate",
                "pred.json",
                "--type",
                slsa,
                "--key",
                &format!("{t}.key"),
                "-o",
                &env,
            ],
            Some("pw"),
        ));
        let (code, out) = python(&["verify", &env, &format!("{t}.pub"), "app.tar", slsa]);
        assert_eq!(code, 0, "{t}: in-toto rejected Rampart's envelope: {out}");
        let mut tampered: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join(&env)).unwrap()).unwrap();
        tampered["payloadType"] = "application/json".into();
        write(dir, "tampered.json", tampered.to_string().as_bytes());
        let (code, out) = python(&[
            "verify",
            "tampered.json",
            &format!("{t}.pub"),
            "app.tar",
            slsa,
        ]);
        assert_eq!(code, 1, "{t}: in-toto accepted a tampered envelope: {out}");
        let (code, out) = python(&["loadkey", &format!("{t}.key"), "pw", &format!("{t}.pub")]);
        assert_eq!(
            code, 0,
            "{t}: cryptography could not open Rampart's key: {out}"
        );

        // Python → Rampart.
        let (code, out) = python(&["sign", py_kind, ".", "app.tar", slsa]);
        assert_eq!(code, 0, "{out}");
        let v = rampart(
            dir,
            &[
                "verify",
                "attestation",
                "py.intoto.json",
                "--key",
                "py.pub",
                "--type",
                slsa,
                "--blob",
                "app.tar",
            ],
            None,
        );
        ok(&v);
        assert!(
            v.stdout.contains("signed by: python-signer"),
            "{}",
            v.stdout
        );
        let mut tampered: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("py.intoto.json")).unwrap()).unwrap();
        let sig = tampered["signatures"][0]["sig"]
            .as_str()
            .unwrap()
            .to_string();
        // Flip one signature byte (keep it base64 of the same length).
        let flipped = if sig.starts_with('A') { "B" } else { "A" }.to_string() + &sig[1..];
        tampered["signatures"][0]["sig"] = flipped.into();
        write(dir, "py-tampered.json", tampered.to_string().as_bytes());
        let r = rampart(
            dir,
            &[
                "verify",
                "attestation",
                "py-tampered.json",
                "--key",
                "py.pub",
                "--type",
                slsa,
                "--blob",
                "app.tar",
            ],
            None,
        );
        assert_ne!(r.code, 0, "tampered Python envelope accepted");
        // Python's encrypted PKCS#8 key (cryptography's BestAvailableEncryption) signs in
        // Rampart, and Python verifies that.
        ok(&rampart(
            dir,
            &[
                "attest",
                "blob",
                "app.tar",
                "--predicate",
                "pred.json",
                "--type",
                slsa,
                "--key",
                "py.key",
                "-o",
                "by-py-key.json",
            ],
            Some("py-pass"),
        ));
        let (code, out) = python(&["verify", "by-py-key.json", "py.pub", "app.tar", slsa]);
        assert_eq!(code, 0, "{t}: {out}");
    }
}

/// Hostile inputs: each is refused with a clear message, exit 2, in bounded time and
/// memory (rampart_testkit::bounded: a kill timer and a 4 GB address-space limit).
#[test]
fn hostile_keys_envelopes_and_predicates_are_refused_in_bounded_time_and_memory() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let bin = env!("CARGO_BIN_EXE_rampart");
    let bounded = |args: &[&str], needle: &str| {
        let r =
            rampart_testkit::bounded::run_env(bin, dir, args, &[("RAMPART_KEY_PASSWORD", "pw")]);
        assert_eq!(r.code(), Some(2), "{args:?}: {}", r.text());
        assert!(
            r.stderr().contains(needle),
            "{args:?}: expected `{needle}`: {}",
            r.text()
        );
        r.assert_within(std::time::Duration::from_secs(10), 512);
    };
    write(dir, "blob", b"x");
    keypair(dir, "k", "ecdsa-p256");
    // A cosign key asking scrypt for N=2^30 (128 GiB): refused before scrypt runs.
    let json = br#"{"kdf":{"name":"scrypt","params":{"N":1073741824,"r":8,"p":1},"salt":"AAAA"},"cipher":{"name":"nacl/secretbox","nonce":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},"ciphertext":"AAAA"}"#;
    let body = rampart_supply::blob::encode_signature(json);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    write(
        dir,
        "hostile.key",
        format!(
            "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n{}\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n",
            lines.join("\n")
        )
        .as_bytes(),
    );
    bounded(
        &["sign", "blob", "blob", "--key", "hostile.key"],
        "key-derivation parameters out of bounds",
    );
    // Oversized key, signature and envelope files are not read past their limits.
    write(dir, "huge.key", &vec![b'A'; 10 << 20]);
    bounded(
        &["sign", "blob", "blob", "--key", "huge.key"],
        "larger than",
    );
    write(dir, "huge.sig", &vec![b'A'; 10 << 20]);
    bounded(
        &[
            "verify",
            "blob",
            "blob",
            "--signature",
            "huge.sig",
            "--key",
            "k.pub",
        ],
        "larger than",
    );
    let mut big = b"{\"payloadType\":\"x\",\"payload\":\"".to_vec();
    big.resize(40 << 20, b'A');
    write(dir, "huge.json", &big);
    bounded(
        &[
            "verify",
            "attestation",
            "huge.json",
            "--key",
            "k.pub",
            "--type",
            "custom",
            "--no-subject-check",
        ],
        "larger than",
    );
    // Ed25519 signs the whole blob in memory: a (sparse) 1 GiB file is refused by its
    // size, before it is read.
    keypair(dir, "ed", "ed25519");
    std::fs::File::create(dir.join("big.bin"))
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    let r = rampart_testkit::bounded::run_env(
        bin,
        dir,
        &["sign", "blob", "big.bin", "--key", "ed.key"],
        &[("RAMPART_KEY_PASSWORD", "pw")],
    );
    assert_eq!(r.code(), Some(2), "{}", r.text());
    assert!(
        r.stderr().contains("too large: 1073741824 bytes"),
        "{}",
        r.text()
    );
    r.assert_within(std::time::Duration::from_secs(5), 128);
    // 1,000 signatures: refused before any is tried.
    let sigs = vec![serde_json::json!({"keyid": "", "sig": "AAAA"}); 1000];
    let env = serde_json::json!({"payloadType": "x", "payload": "", "signatures": sigs});
    write(dir, "many.json", env.to_string().as_bytes());
    bounded(
        &[
            "verify",
            "attestation",
            "many.json",
            "--key",
            "k.pub",
            "--type",
            "custom",
            "--no-subject-check",
        ],
        "1000 signatures (at most 64)",
    );
    // A predicate nested 100,000 deep: a JSON error, not a stack overflow.
    let mut deep = "[".repeat(100_000);
    deep.push_str(&"]".repeat(100_000));
    write(dir, "deep.json", deep.as_bytes());
    bounded(
        &[
            "attest",
            "blob",
            "blob",
            "--predicate",
            "deep.json",
            "--type",
            "custom",
            "--key",
            "k.key",
        ],
        "the predicate is not JSON",
    );
}

/// On a terminal the passphrase is prompted for (twice for a new key), not echoed, and
/// the key then opens with it (util-linux `script` gives the binary a pseudo-terminal).
#[test]
fn passphrase_prompt_on_a_terminal() {
    let Some(script) =
        rampart_testkit::tool("RAMPART_SCRIPT", "script", "apt-get install bsdutils")
    else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_rampart");
    let on_tty = |cmd: String, lines: &[&str]| {
        let mut child = Command::new(&script)
            .args(["-qec", &cmd, "/dev/null"])
            .current_dir(d.path())
            .env_remove("RAMPART_KEY_PASSWORD")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        {
            use std::io::Write as _;
            let mut stdin = child.stdin.take().unwrap();
            for l in lines {
                std::thread::sleep(std::time::Duration::from_millis(700));
                stdin.write_all(format!("{l}\n").as_bytes()).unwrap();
            }
            std::thread::sleep(std::time::Duration::from_millis(700));
        }
        let o = child.wait_with_output().unwrap();
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned(),
        )
    };
    let (code, out) = on_tty(
        format!("{bin} key generate --out tty"),
        &["s3cret", "s3cret"],
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Passphrase for the new key"), "{out}");
    assert!(!out.contains("s3cret"), "passphrase echoed: {out}");
    let public = rampart(d.path(), &["key", "public", "tty.key"], Some("s3cret"));
    ok(&public);
    let (code, out) = on_tty(format!("{bin} key generate --out tty2"), &["one", "two"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("the passphrases differ"), "{out}");
    let (code, out) = on_tty(format!("{bin} key public tty.key"), &["s3cret"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(public.stdout.lines().nth(1).unwrap()), "{out}");
}
