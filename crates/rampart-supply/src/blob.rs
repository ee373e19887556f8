//! Blob signatures in cosign's format (`cosign sign-blob` / `verify-blob --key`): the
//! signature file is the standard base64 of the raw signature. For ECDSA P-256 the raw
//! signature is ASN.1 DER over the SHA-256 of the blob (so `openssl dgst -sha256 -verify`
//! checks it too); for Ed25519 it is the 64-byte signature over the blob itself.
//!
//! ECDSA blobs are streamed (any size, constant memory); Ed25519 needs the whole blob in
//! memory and is bounded by [`Limits::max_ed25519_blob`].

use crate::error::{Error, Result};
use crate::keys::{KeyType, PrivateKey, PublicKey};
use sha2::{Digest as _, Sha256};
use std::io::Read;

/// The largest signature file read (a P-256 DER signature is at most 72 bytes).
pub const MAX_SIGNATURE_FILE_BYTES: usize = 16 * 1024;

/// Bounds on what signing and verifying read.
#[derive(Debug, Clone)]
pub struct Limits {
    /// The largest blob signed or verified with an Ed25519 key (read into memory).
    pub max_ed25519_blob: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_ed25519_blob: 256 * 1024 * 1024,
        }
    }
}

/// SHA-256 of a stream.
pub fn sha256_reader(reader: &mut dyn Read) -> Result<[u8; 32]> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = reader.read(&mut buf).map_err(|source| Error::Io {
            what: "blob",
            source,
        })?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().into())
}

fn read_bounded(reader: &mut dyn Read, limit: u64, size_hint: Option<u64>) -> Result<Vec<u8>> {
    if let Some(n) = size_hint.filter(|n| *n > limit) {
        return Err(Error::TooLarge {
            what: "blob (Ed25519 signs the whole blob in memory)",
            size: n,
            limit,
        });
    }
    // With the file's size known the buffer is allocated once (no doubling: peak memory
    // is the blob, not twice it).
    let capacity = size_hint.map_or(0, |n| n.min(limit).saturating_add(1));
    let mut out = Vec::with_capacity(usize::try_from(capacity).unwrap_or(0));
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|source| Error::Io {
            what: "blob",
            source,
        })?;
    if out.len() as u64 > limit {
        return Err(Error::TooLarge {
            what: "blob (Ed25519 signs the whole blob in memory)",
            size: out.len() as u64,
            limit,
        });
    }
    Ok(out)
}

/// Sign a blob: the raw signature (encode it with [`encode_signature`]).
pub fn sign(key: &PrivateKey, blob: &mut dyn Read, limits: &Limits) -> Result<Vec<u8>> {
    match key.key_type() {
        KeyType::EcdsaP256 => key.sign_sha256_digest(&sha256_reader(blob)?),
        KeyType::Ed25519 => Ok(key.sign(&read_bounded(blob, limits.max_ed25519_blob, None)?)),
    }
}

/// [`sign`] a file: an Ed25519 key refuses a file over the limit before reading it.
pub fn sign_file(key: &PrivateKey, path: &std::path::Path, limits: &Limits) -> Result<Vec<u8>> {
    let (mut f, len) = open(path)?;
    match key.key_type() {
        KeyType::EcdsaP256 => key.sign_sha256_digest(&sha256_reader(&mut f)?),
        KeyType::Ed25519 => Ok(key.sign(&read_bounded(&mut f, limits.max_ed25519_blob, len)?)),
    }
}

/// [`verify`] a file: an Ed25519 key refuses a file over the limit before reading it.
pub fn verify_file(
    key: &PublicKey,
    path: &std::path::Path,
    signature: &[u8],
    limits: &Limits,
) -> Result<()> {
    let (mut f, len) = open(path)?;
    match key.key_type() {
        KeyType::EcdsaP256 => key.verify_sha256_digest(&sha256_reader(&mut f)?, signature),
        KeyType::Ed25519 => key.verify(
            &read_bounded(&mut f, limits.max_ed25519_blob, len)?,
            signature,
        ),
    }
}

fn open(path: &std::path::Path) -> Result<(std::fs::File, Option<u64>)> {
    let f = std::fs::File::open(path).map_err(|source| Error::Io {
        what: "blob",
        source,
    })?;
    let len = f.metadata().ok().filter(|m| m.is_file()).map(|m| m.len());
    Ok((f, len))
}

/// Verify a raw signature over a blob.
pub fn verify(
    key: &PublicKey,
    blob: &mut dyn Read,
    signature: &[u8],
    limits: &Limits,
) -> Result<()> {
    match key.key_type() {
        KeyType::EcdsaP256 => key.verify_sha256_digest(&sha256_reader(blob)?, signature),
        KeyType::Ed25519 => key.verify(
            &read_bounded(blob, limits.max_ed25519_blob, None)?,
            signature,
        ),
    }
}

/// The signature file's text: standard base64, no newline (as cosign writes it).
pub fn encode_signature(raw: &[u8]) -> String {
    crate::b64::encode(raw)
}

/// A signature file's bytes → the raw signature (surrounding whitespace ignored).
pub fn decode_signature(text: &[u8]) -> Result<Vec<u8>> {
    if text.len() > MAX_SIGNATURE_FILE_BYTES {
        return Err(Error::TooLarge {
            what: "signature file",
            size: text.len() as u64,
            limit: MAX_SIGNATURE_FILE_BYTES as u64,
        });
    }
    let text = std::str::from_utf8(text)
        .map_err(|_| Error::SignatureEncoding("not base64 text".into()))?
        .trim();
    if text.is_empty() {
        return Err(Error::SignatureEncoding(
            "the signature file is empty".into(),
        ));
    }
    crate::b64::decode(text).ok_or_else(|| Error::SignatureEncoding("not base64".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_both_types_and_tamper() {
        for t in [KeyType::EcdsaP256, KeyType::Ed25519] {
            let k = PrivateKey::generate(t);
            let l = Limits::default();
            let sig = sign(&k, &mut &b"blob"[..], &l).unwrap();
            let text = encode_signature(&sig);
            let raw = decode_signature(format!("{text}\n").as_bytes()).unwrap();
            verify(&k.public_key(), &mut &b"blob"[..], &raw, &l).unwrap();
            let e = verify(&k.public_key(), &mut &b"blob!"[..], &raw, &l).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::Verification, "{e}");
            let other = PrivateKey::generate(t).public_key();
            let e = verify(&other, &mut &b"blob"[..], &raw, &l).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::Verification, "{e}");
        }
    }

    #[test]
    fn ed25519_blob_over_the_limit_is_refused() {
        let k = PrivateKey::generate(KeyType::Ed25519);
        let l = Limits {
            max_ed25519_blob: 3,
        };
        assert!(matches!(
            sign(&k, &mut &b"four"[..], &l),
            Err(Error::TooLarge { .. })
        ));
    }
}
