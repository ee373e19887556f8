//! `rampart key`, `rampart sign blob`, `rampart verify blob|attestation`,
//! `rampart attest blob`: wiring over `rampart-supply`.
//!
//! Exit codes: 0 verified / written; 1 a signature or claim that does not verify; 2
//! unusable input (malformed key, signature or envelope, unknown key type, wrong or missing
//! passphrase, I/O). Private key material is never printed.

use crate::exit;
use anyhow::{anyhow, bail, Context as _, Result};
use clap::{Args, Subcommand};
use rampart_supply::keys::{KeyType, PrivateKey, PrivateKeyFile, PublicKey};
use rampart_supply::{blob, dsse, intoto, ErrorKind};
use std::fs::File;
use std::io::{IsTerminal as _, Read as _, Write as _};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// Where the passphrase of an encrypted key comes from when there is no terminal.
const PASSWORD_ENV: &str = "RAMPART_KEY_PASSWORD";
/// The largest predicate file read.
const MAX_PREDICATE_BYTES: u64 = 32 * 1024 * 1024;

/// `rampart key …`.
#[derive(Debug, Subcommand)]
pub enum KeyCmd {
    /// Generate a key pair: NAME.key (PKCS#8 PEM encrypted with a passphrase from
    /// RAMPART_KEY_PASSWORD or a prompt; mode 0600) and NAME.pub (SPKI PEM).
    Generate(KeyGenerate),
    /// Print the public key (SPKI PEM) of a private key file: Rampart's, cosign's
    /// (`ENCRYPTED SIGSTORE PRIVATE KEY`) or any PKCS#8/SEC1 PEM key.
    Public {
        /// The private key file.
        key: PathBuf,
    },
}

/// `rampart key generate`.
#[derive(Debug, Args)]
pub struct KeyGenerate {
    /// Key algorithm.
    #[arg(long = "type", value_name = "TYPE", default_value = "ecdsa-p256",
          value_parser = ["ecdsa-p256", "ed25519"])]
    pub key_type: String,
    /// Base name of the files: NAME.key and NAME.pub.
    #[arg(long, value_name = "NAME", default_value = "rampart")]
    pub out: PathBuf,
    /// Encrypt the key with an empty passphrase (no protection at rest).
    #[arg(long)]
    pub no_password: bool,
    /// Overwrite existing NAME.key / NAME.pub.
    #[arg(long)]
    pub force: bool,
}

/// `rampart sign …`.
#[derive(Debug, Subcommand)]
pub enum SignCmd {
    /// Sign a file in cosign's blob format (base64 of an ECDSA P-256/SHA-256 DER
    /// signature; Ed25519 over the file): `cosign verify-blob --key` accepts it.
    Blob(SignBlob),
}

/// `rampart sign blob`.
#[derive(Debug, Args)]
pub struct SignBlob {
    /// The file to sign.
    pub file: PathBuf,
    /// The private key file.
    #[arg(long, value_name = "KEY")]
    pub key: PathBuf,
    /// Write the signature here (default: standard output).
    #[arg(long, short = 'o', value_name = "FILE.sig")]
    pub output: Option<PathBuf>,
}

/// `rampart attest …`.
#[derive(Debug, Subcommand)]
pub enum AttestCmd {
    /// Sign an in-toto Statement v1 about a file (subject: its name and SHA-256) in a
    /// DSSE envelope.
    Blob(AttestBlob),
}

/// `rampart attest blob`.
#[derive(Debug, Args)]
pub struct AttestBlob {
    /// The file the statement is about.
    pub file: PathBuf,
    /// The predicate: a JSON file.
    #[arg(long, value_name = "FILE")]
    pub predicate: PathBuf,
    /// Predicate type: a URI, or slsaprovenance, slsaprovenance1, spdx, cyclonedx, vuln,
    /// openvex, link, custom (cosign's names).
    #[arg(long = "type", value_name = "TYPE")]
    pub predicate_type: String,
    /// The private key file.
    #[arg(long, value_name = "KEY")]
    pub key: PathBuf,
    /// Write the envelope here (default: standard output).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `rampart verify …`.
#[derive(Debug, Subcommand)]
pub enum VerifyCmd {
    /// Verify a blob signature (cosign's format).
    Blob(VerifyBlob),
    /// Verify an in-toto attestation (DSSE envelope): signature, payload type, predicate
    /// type and the subject's digest.
    Attestation(VerifyAttestation),
}

/// `rampart verify blob`.
#[derive(Debug, Args)]
pub struct VerifyBlob {
    /// The signed file.
    pub file: PathBuf,
    /// The signature file (base64).
    #[arg(long, value_name = "FILE.sig")]
    pub signature: PathBuf,
    /// The public key (PEM `PUBLIC KEY`).
    #[arg(long, value_name = "KEY.pub")]
    pub key: PathBuf,
}

/// `rampart verify attestation`.
#[derive(Debug, Args)]
pub struct VerifyAttestation {
    /// The DSSE envelope (JSON).
    pub envelope: PathBuf,
    /// The public key (PEM `PUBLIC KEY`). Repeatable: one verifying signature suffices.
    #[arg(long, value_name = "KEY.pub", required = true)]
    pub key: Vec<PathBuf>,
    /// The predicate type the statement must have (URI or cosign name).
    #[arg(long = "type", value_name = "TYPE")]
    pub predicate_type: String,
    /// The file the statement must be about (its SHA-256/SHA-512 must be a subject's).
    #[arg(long, value_name = "FILE", conflicts_with = "digest")]
    pub blob: Option<PathBuf>,
    /// The digest the statement must be about, `sha256:HEX` or `sha512:HEX`.
    #[arg(long, value_name = "ALG:HEX")]
    pub digest: Option<String>,
    /// Do not check the subject (only signature, payload and predicate type); without
    /// --blob or --digest this flag is required.
    #[arg(long, conflicts_with_all = ["blob", "digest"])]
    pub no_subject_check: bool,
    /// Also print the verified statement (JSON) on standard output.
    #[arg(long)]
    pub print_statement: bool,
}

/// `rampart key`.
pub fn run_key(cmd: KeyCmd) -> Result<u8> {
    match cmd {
        KeyCmd::Generate(g) => generate(g),
        KeyCmd::Public { key } => {
            let k = load_private_key(&key)?;
            crate::stdout(&k.public_key().to_pem()?)?;
            Ok(exit::CLEAN)
        }
    }
}

/// `rampart sign`.
pub fn run_sign(cmd: SignCmd) -> Result<u8> {
    let SignCmd::Blob(s) = cmd;
    let key = load_private_key(&s.key)?;
    open(&s.file)?;
    let sig = blob::sign_file(&key, &s.file, &blob::Limits::default())
        .with_context(|| format!("signing {}", s.file.display()))?;
    let text = blob::encode_signature(&sig);
    match &s.output {
        Some(p) => {
            write_file(p, text.as_bytes(), false)?;
            crate::say!("wrote {} ({} signature)", p.display(), key.key_type());
        }
        None => crate::stdout(&text)?,
    }
    Ok(exit::CLEAN)
}

/// `rampart attest`.
pub fn run_attest(cmd: AttestCmd) -> Result<u8> {
    let AttestCmd::Blob(a) = cmd;
    let predicate_type = intoto::resolve_predicate_type(&a.predicate_type)?;
    let raw = read_bounded(&a.predicate, MAX_PREDICATE_BYTES, "predicate")?;
    let predicate: serde_json::Value = serde_json::from_slice(&raw).map_err(|e| {
        anyhow!(
            "{}:{}:{}: the predicate is not JSON: {e}",
            a.predicate.display(),
            e.line(),
            e.column()
        )
    })?;
    let key = load_private_key(&a.key)?;
    let digests = intoto::ArtifactDigests::of_reader_for(&mut open(&a.file)?, &["sha256"])?;
    let sha256 = digests
        .0
        .iter()
        .find(|(alg, _)| alg == "sha256")
        .map(|(_, h)| h.clone())
        .ok_or_else(|| anyhow!("no sha256 digest computed"))?;
    let name = a
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let statement = intoto::Statement::new(
        intoto::Subject {
            name,
            digest: [("sha256".to_string(), sha256)].into_iter().collect(),
        },
        predicate_type,
        predicate,
    );
    let env = intoto::attest(&statement, &key)?;
    let json = env.to_json()?;
    match &a.output {
        Some(p) => {
            write_file(p, format!("{json}\n").as_bytes(), false)?;
            crate::say!(
                "wrote {} (in-toto statement, predicate {})",
                p.display(),
                statement.predicate_type
            );
        }
        None => crate::stdout(&json)?,
    }
    Ok(exit::CLEAN)
}

/// `rampart verify`.
pub fn run_verify(cmd: VerifyCmd) -> Result<u8> {
    match cmd {
        VerifyCmd::Blob(v) => verify_blob(v),
        VerifyCmd::Attestation(v) => verify_attestation(v),
    }
}

fn verify_blob(v: VerifyBlob) -> Result<u8> {
    let key = load_public_key(&v.key)?;
    let sig_text = read_bounded(
        &v.signature,
        blob::MAX_SIGNATURE_FILE_BYTES as u64,
        "signature",
    )?;
    let sig =
        blob::decode_signature(&sig_text).map_err(|e| anyhow!("{}: {e}", v.signature.display()))?;
    open(&v.file)?;
    match blob::verify_file(&key, &v.file, &sig, &blob::Limits::default()) {
        Ok(()) => {
            crate::stdout(&format!(
                "Verified OK: {} ({} key {})",
                v.file.display(),
                key.key_type(),
                short_keyid(&key)
            ))?;
            Ok(exit::CLEAN)
        }
        Err(e) => fail(e, &v.file),
    }
}

fn verify_attestation(v: VerifyAttestation) -> Result<u8> {
    if v.blob.is_none() && v.digest.is_none() && !v.no_subject_check {
        bail!("give --blob FILE or --digest ALG:HEX (the artifact the attestation must be about), or --no-subject-check to skip that check");
    }
    let keys = v
        .key
        .iter()
        .map(|k| load_public_key(k))
        .collect::<Result<Vec<_>>>()?;
    let predicate_type = intoto::resolve_predicate_type(&v.predicate_type)?;
    let artifact = match (&v.blob, &v.digest) {
        (Some(b), _) => {
            // Readable now (a clear error before any work); hashed after the signature.
            open(b)?;
            Some(intoto::Artifact::File(b.clone()))
        }
        (None, Some(d)) => Some(intoto::Artifact::Digests(intoto::ArtifactDigests::parse(
            d,
        )?)),
        (None, None) => None,
    };
    let raw = read_bounded(
        &v.envelope,
        dsse::MAX_ENVELOPE_BYTES as u64,
        "DSSE envelope",
    )?;
    let env = dsse::Envelope::from_json(&raw, dsse::MAX_ENVELOPE_BYTES).map_err(|e| {
        // serde_json's message ends with "at line L column C": name the file.
        anyhow!("{}: {e}", v.envelope.display())
    })?;
    let claims = intoto::Claims {
        predicate_type: Some(predicate_type),
        artifact,
    };
    match intoto::verify(&env, &keys, &claims) {
        Ok(ok) => {
            let mut out = format!(
                "Verified OK: {}\n  signed by: {}\n  statement: {}\n  predicate type: {}",
                v.envelope.display(),
                ok.keyids
                    .iter()
                    .map(|k| if k.is_empty() {
                        "(no keyid)".to_string()
                    } else {
                        k.clone()
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
                ok.statement.type_,
                ok.statement.predicate_type
            );
            match &ok.matched_subject {
                Some(s) => out.push_str(&format!(
                    "\n  subject: {} ({})",
                    s.name,
                    s.digest
                        .iter()
                        .map(|(a, h)| format!("{a}:{h}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
                None => out.push_str("\n  subject: NOT CHECKED (--no-subject-check)"),
            }
            if v.print_statement {
                crate::say!("{out}");
                crate::stdout(&serde_json::to_string_pretty(&ok.statement)?)?;
            } else {
                crate::stdout(&out)?;
            }
            Ok(exit::CLEAN)
        }
        Err(e) => fail(e, &v.envelope),
    }
}

/// A verification failure exits 1 with the failed check; anything else is an error (2).
fn fail(e: rampart_supply::Error, what: &Path) -> Result<u8> {
    if e.kind() == ErrorKind::Verification {
        crate::say!("verification failed: {}: {e}", what.display());
        Ok(exit::GATE_FAILED)
    } else {
        Err(anyhow!("{}: {e}", what.display()))
    }
}

fn short_keyid(k: &PublicKey) -> String {
    let id = k.keyid();
    id.get(..16).unwrap_or(&id).to_string()
}

fn generate(g: KeyGenerate) -> Result<u8> {
    let key_type: KeyType = g.key_type.parse()?;
    let key_path = with_suffix(&g.out, "key");
    let pub_path = with_suffix(&g.out, "pub");
    if !g.force {
        for p in [&key_path, &pub_path] {
            if p.exists() {
                bail!(
                    "{} exists (use --force to overwrite, or --out NAME)",
                    p.display()
                );
            }
        }
    }
    let passphrase = if g.no_password {
        Zeroizing::new(String::new())
    } else if let Ok(p) = std::env::var(PASSWORD_ENV) {
        if p.is_empty() {
            bail!("{PASSWORD_ENV} is empty: use --no-password for a key without a passphrase");
        }
        Zeroizing::new(p)
    } else if std::io::stdin().is_terminal() {
        let a = Zeroizing::new(rpassword::prompt_password("Passphrase for the new key: ")?);
        let b = Zeroizing::new(rpassword::prompt_password("Passphrase again: ")?);
        if *a != *b {
            bail!("the passphrases differ");
        }
        if a.is_empty() {
            bail!("empty passphrase: use --no-password for a key without a passphrase");
        }
        a
    } else {
        bail!("no passphrase: set {PASSWORD_ENV}, run on a terminal, or use --no-password");
    };
    let key = PrivateKey::generate(key_type);
    let pem = key.to_encrypted_pkcs8_pem(passphrase.as_bytes())?;
    write_file(&key_path, pem.as_bytes(), true)?;
    write_file(&pub_path, key.public_key().to_pem()?.as_bytes(), false)?;
    crate::say!(
        "wrote {} (private, {key_type}{}) and {} (public)",
        key_path.display(),
        if g.no_password {
            ", empty passphrase"
        } else {
            ""
        },
        pub_path.display()
    );
    Ok(exit::CLEAN)
}

fn with_suffix(base: &Path, ext: &str) -> PathBuf {
    let mut s = base.as_os_str().to_os_string();
    s.push(".");
    s.push(ext);
    PathBuf::from(s)
}

/// Write a file; private files are created with mode 0600 (before any byte is written).
fn write_file(path: &Path, data: &[u8], private: bool) -> Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(if private { 0o600 } else { 0o644 });
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    #[cfg(unix)]
    if private {
        // An existing file (--force) keeps its old mode through open(): set it.
        use std::os::unix::fs::PermissionsExt as _;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot restrict {}", path.display()))?;
    }
    f.write_all(data)
        .and_then(|()| f.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}

fn open(path: &Path) -> Result<File> {
    File::open(path).with_context(|| format!("cannot read {}", path.display()))
}

fn read_bounded(path: &Path, limit: u64, what: &str) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    open(path)?
        .take(limit + 1)
        .read_to_end(&mut out)
        .with_context(|| format!("cannot read {}", path.display()))?;
    if out.len() as u64 > limit {
        bail!(
            "{}: the {what} file is larger than {limit} bytes",
            path.display()
        );
    }
    Ok(out)
}

fn load_public_key(path: &Path) -> Result<PublicKey> {
    let text = read_bounded(path, rampart_supply::keys::MAX_KEY_FILE_BYTES as u64, "key")?;
    PublicKey::from_pem(&text).map_err(|e| anyhow!("{}: {e}", path.display()))
}

/// Read a private key; an encrypted one is decrypted with RAMPART_KEY_PASSWORD, else a
/// prompt on a terminal, else the empty passphrase (cosign's `--no-password` keys).
fn load_private_key(path: &Path) -> Result<PrivateKey> {
    let text = Zeroizing::new(read_bounded(
        path,
        rampart_supply::keys::MAX_KEY_FILE_BYTES as u64,
        "key",
    )?);
    let parsed = rampart_supply::keys::parse_private_key(&text)
        .map_err(|e| anyhow!("{}: {e}", path.display()))?;
    let enc = match parsed {
        PrivateKeyFile::Plain(k) => return Ok(k),
        PrivateKeyFile::Encrypted(e) => e,
    };
    let (passphrase, source) = if let Ok(p) = std::env::var(PASSWORD_ENV) {
        (Zeroizing::new(p), PASSWORD_ENV)
    } else if std::io::stdin().is_terminal() {
        let prompt = format!("Passphrase for {}: ", path.display());
        (
            Zeroizing::new(rpassword::prompt_password(prompt)?),
            "the prompt",
        )
    } else {
        match enc.decrypt(b"") {
            Ok(k) => return Ok(k),
            Err(e) if e.kind() == ErrorKind::Passphrase => bail!(
                "{}: the {} key is encrypted: set {PASSWORD_ENV} (or run on a terminal)",
                path.display(),
                enc.format()
            ),
            Err(e) => bail!("{}: {e}", path.display()),
        }
    };
    enc.decrypt(passphrase.as_bytes()).map_err(|e| {
        if e.kind() == ErrorKind::Passphrase {
            anyhow!("{}: {e} (passphrase from {source})", path.display())
        } else {
            anyhow!("{}: {e}", path.display())
        }
    })
}
