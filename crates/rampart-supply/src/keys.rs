//! Signing keys: ECDSA P-256 and Ed25519.
//!
//! Written as PKCS#8 PEM (`ENCRYPTED PRIVATE KEY`: PBES2, PBKDF2-HMAC-SHA256 with
//! [`PBKDF2_ITERATIONS`] rounds, AES-256-CBC; readable by OpenSSL, Python `cryptography`
//! and Go) and SPKI PEM (`PUBLIC KEY`, what cosign writes to `cosign.pub`). Read: PKCS#8
//! (plain or encrypted with PBES2), SEC1 `EC PRIVATE KEY`, and cosign's
//! `ENCRYPTED SIGSTORE PRIVATE KEY` / `ENCRYPTED COSIGN PRIVATE KEY` (scrypt + NaCl
//! secretbox). Key-derivation parameters in a file are bounded before any work is done.

use crate::error::{Error, Result};
use p256::ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use pkcs8::der::Decode as _;
use pkcs8::pkcs5;
use pkcs8::{DecodePrivateKey as _, DecodePublicKey as _, EncodePrivateKey as _};
use pkcs8::{EncodePublicKey as _, LineEnding};
use rand_core::{OsRng, RngCore as _};
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

/// PBKDF2-HMAC-SHA256 rounds for keys Rampart encrypts (OWASP's 2023 figure).
pub const PBKDF2_ITERATIONS: u32 = 600_000;
/// The most PBKDF2 rounds Rampart runs for a key file (a hostile file could ask for 2^32).
pub const MAX_PBKDF2_ITERATIONS: u32 = 5_000_000;
/// The most memory an scrypt KDF in a key file may ask for (128·r·N bytes).
pub const MAX_SCRYPT_MEMORY: u64 = 256 * 1024 * 1024;
/// The largest key file Rampart reads.
pub const MAX_KEY_FILE_BYTES: usize = 64 * 1024;

const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_ED25519: &str = "1.3.101.112";

/// The key algorithms Rampart signs and verifies with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    /// ECDSA on NIST P-256 with SHA-256 (cosign's default).
    EcdsaP256,
    /// Ed25519 (pure, over the message).
    Ed25519,
}

impl KeyType {
    /// The name used on the command line and in messages.
    pub fn name(self) -> &'static str {
        match self {
            KeyType::EcdsaP256 => "ecdsa-p256",
            KeyType::Ed25519 => "ed25519",
        }
    }
}

impl std::str::FromStr for KeyType {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "ecdsa-p256" | "ecdsa" | "p256" => Ok(KeyType::EcdsaP256),
            "ed25519" => Ok(KeyType::Ed25519),
            other => Err(Error::UnknownKeyType(other.to_string())),
        }
    }
}

impl std::fmt::Display for KeyType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

enum Secret {
    EcdsaP256(p256::ecdsa::SigningKey),
    Ed25519(ed25519_dalek::SigningKey),
}

/// A private signing key. Its `Debug` shows the type only, never key material.
pub struct PrivateKey(Secret);

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PrivateKey({})", self.key_type())
    }
}

/// A public verification key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublicKey {
    /// ECDSA P-256.
    EcdsaP256(p256::ecdsa::VerifyingKey),
    /// Ed25519.
    Ed25519(ed25519_dalek::VerifyingKey),
}

impl PrivateKey {
    /// A new random key from the operating system's generator.
    pub fn generate(key_type: KeyType) -> Self {
        match key_type {
            KeyType::EcdsaP256 => PrivateKey(Secret::EcdsaP256(p256::ecdsa::SigningKey::random(
                &mut OsRng,
            ))),
            KeyType::Ed25519 => PrivateKey(Secret::Ed25519(ed25519_dalek::SigningKey::generate(
                &mut OsRng,
            ))),
        }
    }

    /// The key's algorithm.
    pub fn key_type(&self) -> KeyType {
        match &self.0 {
            Secret::EcdsaP256(_) => KeyType::EcdsaP256,
            Secret::Ed25519(_) => KeyType::Ed25519,
        }
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        match &self.0 {
            Secret::EcdsaP256(k) => PublicKey::EcdsaP256(*k.verifying_key()),
            Secret::Ed25519(k) => PublicKey::Ed25519(k.verifying_key()),
        }
    }

    /// Sign a message: ECDSA over its SHA-256 (ASN.1 DER signature, RFC 6979 nonces), or
    /// Ed25519 over the message (64 bytes).
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        match &self.0 {
            Secret::EcdsaP256(k) => {
                let sig: p256::ecdsa::Signature = k.sign(message);
                sig.to_der().as_bytes().to_vec()
            }
            Secret::Ed25519(k) => {
                use ed25519_dalek::Signer as _;
                k.sign(message).to_bytes().to_vec()
            }
        }
    }

    /// ECDSA only: sign a SHA-256 digest computed by the caller (streamed blobs).
    pub fn sign_sha256_digest(&self, digest: &[u8; 32]) -> Result<Vec<u8>> {
        match &self.0 {
            Secret::EcdsaP256(k) => {
                let sig: p256::ecdsa::Signature = k
                    .sign_prehash(digest)
                    .map_err(|e| Error::Key(format!("ECDSA signing failed: {e}")))?;
                Ok(sig.to_der().as_bytes().to_vec())
            }
            Secret::Ed25519(_) => Err(Error::Key(
                "Ed25519 signs the message itself, not a digest".into(),
            )),
        }
    }

    /// Plain PKCS#8 DER (zeroed when dropped).
    fn pkcs8_der(&self) -> Result<pkcs8::SecretDocument> {
        let r = match &self.0 {
            Secret::EcdsaP256(k) => k.to_pkcs8_der(),
            Secret::Ed25519(k) => k.to_pkcs8_der(),
        };
        r.map_err(|e| Error::Key(format!("PKCS#8 encoding: {e}")))
    }

    /// Plain PKCS#8 PEM (`PRIVATE KEY`).
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>> {
        self.pkcs8_der()?
            .to_pem("PRIVATE KEY", LineEnding::LF)
            .map_err(|e| Error::Key(format!("PEM encoding: {e}")))
    }

    /// Encrypted PKCS#8 PEM (`ENCRYPTED PRIVATE KEY`): PBES2 with PBKDF2-HMAC-SHA256
    /// ([`PBKDF2_ITERATIONS`] rounds, 16-byte random salt) and AES-256-CBC.
    pub fn to_encrypted_pkcs8_pem(&self, passphrase: &[u8]) -> Result<Zeroizing<String>> {
        let der = self.pkcs8_der()?;
        let info = pkcs8::PrivateKeyInfo::from_der(der.as_bytes())
            .map_err(|e| Error::Key(format!("PKCS#8: {e}")))?;
        let mut salt = [0u8; 16];
        let mut iv = [0u8; 16];
        OsRng.fill_bytes(&mut salt);
        OsRng.fill_bytes(&mut iv);
        let params =
            pkcs5::pbes2::Parameters::pbkdf2_sha256_aes256cbc(PBKDF2_ITERATIONS, &salt, &iv)
                .map_err(|e| Error::Key(format!("PBES2 parameters: {e}")))?;
        let enc = info
            .encrypt_with_params(params, passphrase)
            .map_err(|e| Error::Key(format!("PKCS#8 encryption: {e}")))?;
        enc.to_pem("ENCRYPTED PRIVATE KEY", LineEnding::LF)
            .map_err(|e| Error::Key(format!("PEM encoding: {e}")))
    }

    /// A key from plain PKCS#8 DER: ECDSA P-256 or Ed25519, anything else named.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self> {
        let info = pkcs8::PrivateKeyInfo::from_der(der)
            .map_err(|e| Error::Key(format!("not a PKCS#8 private key: {e}")))?;
        match algorithm(&info.algorithm)? {
            KeyType::EcdsaP256 => p256::ecdsa::SigningKey::from_pkcs8_der(der)
                .map(|k| PrivateKey(Secret::EcdsaP256(k)))
                .map_err(|e| Error::Key(format!("ECDSA P-256 PKCS#8: {e}"))),
            KeyType::Ed25519 => ed25519_dalek::SigningKey::from_pkcs8_der(der)
                .map(|k| PrivateKey(Secret::Ed25519(k)))
                .map_err(|e| Error::Key(format!("Ed25519 PKCS#8: {e}"))),
        }
    }
}

/// The key type of an algorithm identifier, or an error naming it.
fn algorithm<P>(alg: &pkcs8::spki::AlgorithmIdentifier<P>) -> Result<KeyType>
where
    P: pkcs8::der::Encode,
{
    let oid = alg.oid.to_string();
    match oid.as_str() {
        OID_ED25519 => Ok(KeyType::Ed25519),
        OID_EC_PUBLIC_KEY => {
            let curve = alg
                .parameters
                .as_ref()
                .and_then(|p| p.to_der().ok())
                .and_then(|der| pkcs8::ObjectIdentifier::from_der(&der).ok())
                .map(|o| o.to_string());
            match curve.as_deref() {
                Some(OID_P256) => Ok(KeyType::EcdsaP256),
                Some("1.3.132.0.34") => Err(Error::UnknownKeyType("ECDSA P-384".into())),
                Some("1.3.132.0.35") => Err(Error::UnknownKeyType("ECDSA P-521".into())),
                Some("1.3.132.0.10") => Err(Error::UnknownKeyType("ECDSA secp256k1".into())),
                Some(other) => Err(Error::UnknownKeyType(format!("ECDSA on curve {other}"))),
                None => Err(Error::Key("EC key without a named curve".into())),
            }
        }
        "1.2.840.113549.1.1.1" | "1.2.840.113549.1.1.10" => {
            Err(Error::UnknownKeyType("RSA".into()))
        }
        "1.3.101.113" => Err(Error::UnknownKeyType("Ed448".into())),
        "1.2.840.10040.4.1" => Err(Error::UnknownKeyType("DSA".into())),
        other => Err(Error::UnknownKeyType(format!("algorithm {other}"))),
    }
}

impl PublicKey {
    /// The key's algorithm.
    pub fn key_type(&self) -> KeyType {
        match self {
            PublicKey::EcdsaP256(_) => KeyType::EcdsaP256,
            PublicKey::Ed25519(_) => KeyType::Ed25519,
        }
    }

    /// SubjectPublicKeyInfo DER.
    pub fn to_spki_der(&self) -> Result<Vec<u8>> {
        let r = match self {
            PublicKey::EcdsaP256(k) => k.to_public_key_der(),
            PublicKey::Ed25519(k) => k.to_public_key_der(),
        };
        r.map(|d| d.as_bytes().to_vec())
            .map_err(|e| Error::Key(format!("SPKI encoding: {e}")))
    }

    /// SPKI PEM (`PUBLIC KEY`), as cosign writes `cosign.pub`.
    pub fn to_pem(&self) -> Result<String> {
        let r = match self {
            PublicKey::EcdsaP256(k) => k.to_public_key_pem(LineEnding::LF),
            PublicKey::Ed25519(k) => k.to_public_key_pem(LineEnding::LF),
        };
        r.map_err(|e| Error::Key(format!("PEM encoding: {e}")))
    }

    /// The key id Rampart writes in DSSE signatures: lowercase hex SHA-256 of the SPKI DER.
    /// (DSSE treats key ids as hints; verification never depends on them.)
    pub fn keyid(&self) -> String {
        match self.to_spki_der() {
            Ok(der) => hex::encode(Sha256::digest(der)),
            Err(_) => String::new(),
        }
    }

    /// A public key from SPKI DER.
    pub fn from_spki_der(der: &[u8]) -> Result<Self> {
        let spki = pkcs8::spki::SubjectPublicKeyInfoRef::from_der(der)
            .map_err(|e| Error::Key(format!("not a SubjectPublicKeyInfo: {e}")))?;
        match algorithm(&spki.algorithm)? {
            KeyType::EcdsaP256 => p256::ecdsa::VerifyingKey::from_public_key_der(der)
                .map(PublicKey::EcdsaP256)
                .map_err(|e| Error::Key(format!("ECDSA P-256 public key: {e}"))),
            KeyType::Ed25519 => ed25519_dalek::VerifyingKey::from_public_key_der(der)
                .map(PublicKey::Ed25519)
                .map_err(|e| Error::Key(format!("Ed25519 public key: {e}"))),
        }
    }

    /// A public key from PEM text: a `PUBLIC KEY` block (SPKI). A private key file is
    /// refused (give the `.pub` file); other blocks are named in the error.
    pub fn from_pem(text: &[u8]) -> Result<Self> {
        let blocks = pem_blocks(text)?;
        if let Some(b) = blocks.iter().find(|b| b.label == "PUBLIC KEY") {
            return Self::from_spki_der(&decode_block(b)?);
        }
        let first = blocks
            .first()
            .ok_or_else(|| Error::Pem("no PEM block".into()))?;
        Err(Error::PemLabel {
            label: first.label.to_string(),
            hint: if first.label.contains("PRIVATE KEY") {
                "a private key: give the public key (`rampart key public` prints it)"
            } else if first.label == "RSA PUBLIC KEY" {
                "RSA keys are not supported"
            } else {
                "expected `PUBLIC KEY`"
            },
        })
    }

    /// Verify `signature` over `message`: ECDSA P-256/SHA-256 (DER, or raw r‖s of 64
    /// bytes as the DSSE spec's example uses) or Ed25519 (strict).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<()> {
        match self {
            PublicKey::EcdsaP256(k) => {
                let sig = ecdsa_signature(signature)?;
                k.verify(message, &sig)
                    .map_err(|_| Error::BadSignature("the ECDSA signature does not match".into()))
            }
            PublicKey::Ed25519(k) => {
                let sig = ed25519_dalek::Signature::from_slice(signature).map_err(|_| {
                    Error::SignatureEncoding(format!(
                        "an Ed25519 signature is 64 bytes, not {}",
                        signature.len()
                    ))
                })?;
                k.verify_strict(message, &sig)
                    .map_err(|_| Error::BadSignature("the Ed25519 signature does not match".into()))
            }
        }
    }

    /// ECDSA only: verify a signature over a SHA-256 digest computed by the caller.
    pub fn verify_sha256_digest(&self, digest: &[u8; 32], signature: &[u8]) -> Result<()> {
        match self {
            PublicKey::EcdsaP256(k) => {
                let sig = ecdsa_signature(signature)?;
                k.verify_prehash(digest, &sig)
                    .map_err(|_| Error::BadSignature("the ECDSA signature does not match".into()))
            }
            PublicKey::Ed25519(_) => Err(Error::Key(
                "Ed25519 verifies the message itself, not a digest".into(),
            )),
        }
    }
}

fn ecdsa_signature(bytes: &[u8]) -> Result<p256::ecdsa::Signature> {
    let parsed = if bytes.len() == 64 {
        p256::ecdsa::Signature::from_slice(bytes)
    } else {
        p256::ecdsa::Signature::from_der(bytes)
    };
    parsed.map_err(|_| {
        Error::SignatureEncoding(format!(
            "not an ECDSA P-256 signature (ASN.1 DER or 64-byte r||s; got {} bytes)",
            bytes.len()
        ))
    })
}

/// A private key file as read, before any passphrase.
pub enum PrivateKeyFile {
    /// Not encrypted.
    Plain(PrivateKey),
    /// Encrypted: call [`EncryptedKey::decrypt`].
    Encrypted(EncryptedKey),
}

impl std::fmt::Debug for PrivateKeyFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PrivateKeyFile::Plain(k) => write!(f, "Plain({k:?})"),
            PrivateKeyFile::Encrypted(e) => write!(f, "Encrypted({})", e.format()),
        }
    }
}

enum Encrypted {
    Pkcs8(Vec<u8>),
    Cosign(Vec<u8>),
}

/// An encrypted private key (PKCS#8 PBES2, or cosign's scrypt + secretbox JSON).
pub struct EncryptedKey(Encrypted);

impl EncryptedKey {
    /// `PKCS#8` or `cosign`.
    pub fn format(&self) -> &'static str {
        match self.0 {
            Encrypted::Pkcs8(_) => "PKCS#8",
            Encrypted::Cosign(_) => "cosign",
        }
    }

    /// Decrypt with a passphrase (empty is a valid passphrase, as cosign allows).
    pub fn decrypt(&self, passphrase: &[u8]) -> Result<PrivateKey> {
        match &self.0 {
            Encrypted::Pkcs8(der) => decrypt_pkcs8(der, passphrase),
            Encrypted::Cosign(json) => {
                let der = crate::cosign_key::decrypt(json, passphrase)?;
                PrivateKey::from_pkcs8_der(&der)
            }
        }
    }
}

fn decrypt_pkcs8(der: &[u8], passphrase: &[u8]) -> Result<PrivateKey> {
    let info = pkcs8::EncryptedPrivateKeyInfo::from_der(der)
        .map_err(|e| Error::Key(format!("not a PKCS#8 encrypted private key: {e}")))?;
    match &info.encryption_algorithm {
        pkcs5::EncryptionScheme::Pbes2(p) => match &p.kdf {
            pkcs5::pbes2::Kdf::Pbkdf2(k) => {
                if k.iteration_count > MAX_PBKDF2_ITERATIONS {
                    return Err(Error::KdfBounds(format!(
                        "PBKDF2 with {} iterations (at most {MAX_PBKDF2_ITERATIONS})",
                        k.iteration_count
                    )));
                }
            }
            pkcs5::pbes2::Kdf::Scrypt(s) => {
                let mem = 128u64
                    .saturating_mul(s.cost_parameter)
                    .saturating_mul(u64::from(s.block_size));
                if mem > MAX_SCRYPT_MEMORY || s.parallelization > 4 {
                    return Err(Error::KdfBounds(format!(
                        "scrypt N={} r={} p={} (at most {} MiB, p <= 4)",
                        s.cost_parameter,
                        s.block_size,
                        s.parallelization,
                        MAX_SCRYPT_MEMORY >> 20
                    )));
                }
            }
            _ => return Err(Error::Key("unsupported PBES2 key-derivation function".into())),
        },
        pkcs5::EncryptionScheme::Pbes1(_) => {
            return Err(Error::Key(
                "PBES1 (DES/RC2-era) encryption is not supported: re-encrypt with `openssl pkcs8 -topk8 -v2 aes-256-cbc`"
                    .into(),
            ))
        }
        _ => return Err(Error::Key("unsupported PKCS#8 encryption scheme".into())),
    }
    let doc = info.decrypt(passphrase).map_err(|e| match e {
        // A wrong passphrase fails the padding check (pkcs5 0.7 reports that as
        // `EncryptFailed` on the decryption path), or yields bytes that are not DER.
        pkcs8::Error::EncryptedPrivateKey(
            pkcs5::Error::DecryptFailed | pkcs5::Error::EncryptFailed,
        )
        | pkcs8::Error::Asn1(_) => Error::WrongPassphrase,
        other => Error::Key(format!("PKCS#8 decryption: {other}")),
    })?;
    // A wrong passphrase passes the CBC padding check about once in 256 tries; what
    // comes out then is not a key.
    PrivateKey::from_pkcs8_der(doc.as_bytes()).map_err(|e| match e {
        Error::Key(_) => Error::WrongPassphrase,
        other => other,
    })
}

/// Read a private key file: PKCS#8 (`PRIVATE KEY`, `ENCRYPTED PRIVATE KEY`), SEC1
/// (`EC PRIVATE KEY`, P-256 only), or cosign's `ENCRYPTED SIGSTORE PRIVATE KEY` /
/// `ENCRYPTED COSIGN PRIVATE KEY`.
pub fn parse_private_key(text: &[u8]) -> Result<PrivateKeyFile> {
    let blocks = pem_blocks(text)?;
    for b in &blocks {
        match b.label {
            "PRIVATE KEY" => {
                let der = Zeroizing::new(decode_block(b)?);
                return PrivateKey::from_pkcs8_der(&der).map(PrivateKeyFile::Plain);
            }
            "ENCRYPTED PRIVATE KEY" => {
                return Ok(PrivateKeyFile::Encrypted(EncryptedKey(Encrypted::Pkcs8(
                    decode_block(b)?,
                ))))
            }
            "ENCRYPTED SIGSTORE PRIVATE KEY" | "ENCRYPTED COSIGN PRIVATE KEY" => {
                return Ok(PrivateKeyFile::Encrypted(EncryptedKey(Encrypted::Cosign(
                    decode_block(b)?,
                ))))
            }
            "EC PRIVATE KEY" => {
                if b.body.contains("Proc-Type:") {
                    return Err(legacy_openssl());
                }
                let der = Zeroizing::new(decode_block(b)?);
                let secret = p256::SecretKey::from_sec1_der(&der).map_err(|_| {
                    Error::UnknownKeyType("SEC1 EC key that is not P-256 (or malformed)".into())
                })?;
                return Ok(PrivateKeyFile::Plain(PrivateKey(Secret::EcdsaP256(
                    p256::ecdsa::SigningKey::from(secret),
                ))));
            }
            "EC PARAMETERS" => continue,
            "RSA PRIVATE KEY" | "DSA PRIVATE KEY" => {
                return Err(Error::UnknownKeyType(
                    b.label.trim_end_matches(" PRIVATE KEY").into(),
                ))
            }
            "OPENSSH PRIVATE KEY" => {
                return Err(Error::PemLabel {
                    label: b.label.into(),
                    hint: "convert with `ssh-keygen -p -m PKCS8 -f FILE`",
                })
            }
            "PUBLIC KEY" => {
                return Err(Error::PemLabel {
                    label: b.label.into(),
                    hint: "a public key: signing needs the private key",
                })
            }
            _ => {}
        }
    }
    match blocks.first() {
        Some(b) => Err(Error::PemLabel {
            label: b.label.into(),
            hint: "expected `PRIVATE KEY`, `ENCRYPTED PRIVATE KEY`, `EC PRIVATE KEY` or `ENCRYPTED SIGSTORE PRIVATE KEY`",
        }),
        None => Err(Error::Pem("no PEM block".into())),
    }
}

fn legacy_openssl() -> Error {
    Error::Key(
        "legacy OpenSSL-encrypted PEM (Proc-Type header) is not supported: convert with `openssl pkcs8 -topk8 -v2 aes-256-cbc`"
            .into(),
    )
}

struct PemBlock<'a> {
    label: &'a str,
    /// The whole block, BEGIN to END line.
    body: &'a str,
}

/// The PEM blocks of a text, in order (text around them is ignored, as OpenSSL does).
fn pem_blocks(text: &[u8]) -> Result<Vec<PemBlock<'_>>> {
    if text.len() > MAX_KEY_FILE_BYTES {
        return Err(Error::TooLarge {
            what: "key file",
            size: text.len() as u64,
            limit: MAX_KEY_FILE_BYTES as u64,
        });
    }
    let text = std::str::from_utf8(text).map_err(|_| Error::Pem("not UTF-8 text".into()))?;
    let mut out = Vec::new();
    let mut rest = text;
    let mut offset = 0;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + 11..];
        let Some(label_end) = after.find("-----") else {
            return Err(Error::Pem("unterminated BEGIN line".into()));
        };
        let label = &after[..label_end];
        if label.contains('\n') {
            return Err(Error::Pem("unterminated BEGIN line".into()));
        }
        let end_marker = format!("-----END {label}-----");
        let Some(end) = rest[start..].find(&end_marker) else {
            return Err(Error::Pem(format!("no `{end_marker}` line")));
        };
        let block_end = start + end + end_marker.len();
        out.push(PemBlock {
            label: &text[offset + start + 11..offset + start + 11 + label_end],
            body: &text[offset + start..offset + block_end],
        });
        offset += block_end;
        rest = &rest[block_end..];
    }
    Ok(out)
}

fn decode_block(b: &PemBlock<'_>) -> Result<Vec<u8>> {
    if b.body.contains("Proc-Type:") {
        return Err(legacy_openssl());
    }
    // pem-rfc7468 is strict about line endings: normalise CRLF first.
    let body = b.body.replace("\r\n", "\n");
    let (_, der) = pem_rfc7468::decode_vec(body.as_bytes())
        .map_err(|e| Error::Pem(format!("`{}` block: {e}", b.label)))?;
    Ok(der)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_encrypted_both_types() {
        for t in [KeyType::EcdsaP256, KeyType::Ed25519] {
            let k = PrivateKey::generate(t);
            let pem = k.to_encrypted_pkcs8_pem(b"pw").unwrap();
            let PrivateKeyFile::Encrypted(e) = parse_private_key(pem.as_bytes()).unwrap() else {
                panic!("not encrypted")
            };
            let r = e.decrypt(b"wrong");
            assert!(matches!(r, Err(Error::WrongPassphrase)), "{r:?}");
            let back = e.decrypt(b"pw").unwrap();
            assert_eq!(back.public_key(), k.public_key());
            let sig = back.sign(b"m");
            k.public_key().verify(b"m", &sig).unwrap();
            assert_eq!(
                PublicKey::from_pem(k.public_key().to_pem().unwrap().as_bytes()).unwrap(),
                k.public_key()
            );
        }
    }

    #[test]
    fn debug_never_shows_key_material() {
        let k = PrivateKey::generate(KeyType::Ed25519);
        assert_eq!(format!("{k:?}"), "PrivateKey(ed25519)");
    }

    #[test]
    fn malformed_pem_is_an_error() {
        assert!(matches!(parse_private_key(b"hello"), Err(Error::Pem(_))));
        assert!(matches!(
            parse_private_key(b"-----BEGIN PRIVATE KEY-----\n!!!\n-----END PRIVATE KEY-----\n"),
            Err(Error::Pem(_))
        ));
        assert!(matches!(
            parse_private_key(b"-----BEGIN PRIVATE KEY-----\nAAAA\n"),
            Err(Error::Pem(_))
        ));
        assert!(matches!(
            PublicKey::from_pem(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
            Err(Error::PemLabel { .. })
        ));
    }

    #[test]
    fn hostile_pbkdf2_iterations_are_refused_before_any_work() {
        let k = PrivateKey::generate(KeyType::EcdsaP256);
        let der = k.pkcs8_der().unwrap();
        let info = pkcs8::PrivateKeyInfo::from_der(der.as_bytes()).unwrap();
        let small =
            pkcs5::pbes2::Parameters::pbkdf2_sha256_aes256cbc(1000, &[1; 16], &[2; 16]).unwrap();
        let enc = info.encrypt_with_params(small, b"pw").unwrap();
        // Encrypting with 2^32 rounds would take an hour: encrypt with 1000, then raise
        // the count in the parsed structure and re-encode it.
        let mut epki = pkcs8::EncryptedPrivateKeyInfo::from_der(enc.as_bytes()).unwrap();
        if let pkcs5::EncryptionScheme::Pbes2(p) = &mut epki.encryption_algorithm {
            if let pkcs5::pbes2::Kdf::Pbkdf2(k) = &mut p.kdf {
                k.iteration_count = u32::MAX;
            }
        }
        use pkcs8::der::Encode as _;
        let hostile = epki.to_der().unwrap();
        let t = std::time::Instant::now();
        assert!(matches!(
            decrypt_pkcs8(&hostile, b"pw"),
            Err(Error::KdfBounds(_))
        ));
        assert!(t.elapsed().as_secs() < 1);
    }
}
