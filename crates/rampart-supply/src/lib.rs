//! Rampart's supply-chain layer: signing keys, blob signatures in cosign's format, DSSE
//! envelopes and in-toto Statements.
//!
//! Everything here is offline and synchronous. The cryptography is RustCrypto's (`p256`,
//! `ed25519-dalek`, `pkcs8`/`pkcs5`, `scrypt`, `crypto_secretbox`, `sha2`); this crate only
//! decides formats and checks.
//!
//! - [`keys`]: generate ECDSA P-256 and Ed25519 keys, write them as (encrypted) PKCS#8 PEM,
//!   read PKCS#8, SEC1 and cosign's `ENCRYPTED SIGSTORE PRIVATE KEY` files, public keys as
//!   SPKI PEM.
//! - [`blob`]: `cosign sign-blob` signatures (base64 of an ASN.1 DER ECDSA signature over the
//!   SHA-256 of the blob; Ed25519 over the blob itself).
//! - [`dsse`]: DSSE v1 envelopes (PAE, sign, verify).
//! - [`intoto`]: in-toto Statement v1 (and v0.1, as cosign writes), subjects, predicate-type
//!   aliases, claim checks.
//!
//! ```
//! use rampart_supply::{blob, keys::{KeyType, PrivateKey}};
//! let key = PrivateKey::generate(KeyType::EcdsaP256);
//! let sig = blob::sign(&key, &mut &b"hello"[..], &blob::Limits::default()).unwrap();
//! blob::verify(&key.public_key(), &mut &b"hello"[..], &sig, &blob::Limits::default()).unwrap();
//! assert!(blob::verify(&key.public_key(), &mut &b"hellO"[..], &sig, &blob::Limits::default()).is_err());
//! ```

pub mod blob;
mod cosign_key;
pub mod dsse;
mod error;
pub mod intoto;
pub mod keys;

pub use error::{Error, ErrorKind};

/// Base64 engines that accept what DSSE allows: standard or URL-safe alphabet, padded or not.
pub(crate) mod b64 {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    use base64::Engine as _;

    const LENIENT: GeneralPurposeConfig =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    const STANDARD: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, LENIENT);
    const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, LENIENT);

    /// Standard base64 with padding (what cosign and securesystemslib write).
    pub fn encode(data: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(data)
    }

    /// Standard or URL-safe base64, padded or not.
    pub fn decode(text: &str) -> Option<Vec<u8>> {
        STANDARD
            .decode(text)
            .or_else(|_| URL_SAFE.decode(text))
            .ok()
    }
}
