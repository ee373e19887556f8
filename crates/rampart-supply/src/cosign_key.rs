//! cosign's encrypted private key (`ENCRYPTED SIGSTORE PRIVATE KEY`, formerly
//! `ENCRYPTED COSIGN PRIVATE KEY`): the PEM body is JSON from go-securesystemslib's
//! `encrypted` package,
//!
//! ```json
//! {"kdf":{"name":"scrypt","params":{"N":32768,"r":8,"p":1},"salt":"<base64>"},
//!  "cipher":{"name":"nacl/secretbox","nonce":"<base64, 24 bytes>"},
//!  "ciphertext":"<base64>"}
//! ```
//!
//! The key is scrypt(passphrase, salt, N, r, p) of 32 bytes; the ciphertext is a NaCl
//! secretbox (XSalsa20-Poly1305) of the PKCS#8 DER private key. cosign has written N=32768
//! and N=65536 (both r=8, p=1); Rampart accepts any power of two whose memory
//! (128·r·N) is within [`crate::keys::MAX_SCRYPT_MEMORY`], and checks that before running
//! scrypt.

use crate::error::{Error, Result};
use crypto_secretbox::aead::{Aead as _, KeyInit as _};
use serde::Deserialize;
use zeroize::Zeroizing;

#[derive(Deserialize)]
struct Data {
    kdf: Kdf,
    cipher: Cipher,
    ciphertext: String,
}

#[derive(Deserialize)]
struct Kdf {
    name: String,
    params: Params,
    salt: String,
}

#[derive(Deserialize)]
struct Params {
    #[serde(rename = "N")]
    n: u64,
    r: u32,
    p: u32,
}

#[derive(Deserialize)]
struct Cipher {
    name: String,
    nonce: String,
}

/// Decrypt a cosign key body (the PEM block's bytes) into PKCS#8 DER.
pub(crate) fn decrypt(json: &[u8], passphrase: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    let data: Data = serde_json::from_slice(json)
        .map_err(|e| Error::Key(format!("cosign encrypted key: {e}")))?;
    if data.kdf.name != "scrypt" {
        return Err(Error::Key(format!(
            "cosign encrypted key: unknown KDF `{}` (expected scrypt)",
            data.kdf.name
        )));
    }
    if data.cipher.name != "nacl/secretbox" {
        return Err(Error::Key(format!(
            "cosign encrypted key: unknown cipher `{}` (expected nacl/secretbox)",
            data.cipher.name
        )));
    }
    let Params { n, r, p } = data.kdf.params;
    if n < 2 || !n.is_power_of_two() || r == 0 || p == 0 {
        return Err(Error::Key(format!(
            "cosign encrypted key: invalid scrypt parameters N={n} r={r} p={p}"
        )));
    }
    let mem = 128u64.saturating_mul(n).saturating_mul(u64::from(r));
    if mem > crate::keys::MAX_SCRYPT_MEMORY || p > 4 {
        return Err(Error::KdfBounds(format!(
            "scrypt N={n} r={r} p={p} (at most {} MiB, p <= 4)",
            crate::keys::MAX_SCRYPT_MEMORY >> 20
        )));
    }
    let salt = crate::b64::decode(&data.kdf.salt)
        .ok_or_else(|| Error::Key("cosign encrypted key: salt is not base64".into()))?;
    let nonce = crate::b64::decode(&data.cipher.nonce)
        .ok_or_else(|| Error::Key("cosign encrypted key: nonce is not base64".into()))?;
    if nonce.len() != 24 {
        return Err(Error::Key(format!(
            "cosign encrypted key: the secretbox nonce is 24 bytes, not {}",
            nonce.len()
        )));
    }
    let ciphertext = crate::b64::decode(&data.ciphertext)
        .ok_or_else(|| Error::Key("cosign encrypted key: ciphertext is not base64".into()))?;
    let log_n = n.trailing_zeros() as u8;
    let params = scrypt::Params::new(log_n, r, p, 32)
        .map_err(|e| Error::Key(format!("cosign encrypted key: scrypt parameters: {e}")))?;
    let mut key = Zeroizing::new([0u8; 32]);
    scrypt::scrypt(passphrase, &salt, &params, key.as_mut())
        .map_err(|e| Error::Key(format!("cosign encrypted key: scrypt: {e}")))?;
    let cipher =
        crypto_secretbox::XSalsa20Poly1305::new(crypto_secretbox::Key::from_slice(key.as_ref()));
    let plain = cipher
        .decrypt(
            crypto_secretbox::Nonce::from_slice(&nonce),
            ciphertext.as_slice(),
        )
        .map_err(|_| Error::WrongPassphrase)?;
    Ok(Zeroizing::new(plain))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_scrypt_cost_is_refused_before_any_work() {
        let json = br#"{"kdf":{"name":"scrypt","params":{"N":1073741824,"r":8,"p":1},"salt":"AAAA"},"cipher":{"name":"nacl/secretbox","nonce":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},"ciphertext":"AAAA"}"#;
        let t = std::time::Instant::now();
        assert!(matches!(decrypt(json, b""), Err(Error::KdfBounds(_))));
        assert!(t.elapsed().as_millis() < 500);
    }

    #[test]
    fn short_nonce_is_an_error_not_a_panic() {
        let json = br#"{"kdf":{"name":"scrypt","params":{"N":1024,"r":8,"p":1},"salt":"AAAA"},"cipher":{"name":"nacl/secretbox","nonce":"AAAA"},"ciphertext":"AAAA"}"#;
        assert!(matches!(decrypt(json, b""), Err(Error::Key(_))));
    }

    #[test]
    fn unknown_cipher_is_named() {
        let json = br#"{"kdf":{"name":"scrypt","params":{"N":1024,"r":8,"p":1},"salt":"AAAA"},"cipher":{"name":"aes-gcm","nonce":"AAAA"},"ciphertext":"AAAA"}"#;
        let e = decrypt(json, b"").unwrap_err().to_string();
        assert!(e.contains("aes-gcm"), "{e}");
    }
}
