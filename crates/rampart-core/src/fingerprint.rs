//! Stable fingerprints: SHA-256 over the rule id and the identity of the thing.
//!
//! Fingerprints never include line numbers (so baselines survive edits) and never
//! include a raw secret: secrets enter only through [`secret_digest`].

use sha2::{Digest, Sha256};

/// Hash the given parts (each length-prefixed, so `("ab","c") != ("a","bc")`).
pub fn fingerprint(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    hex::encode(h.finalize())
}

/// A one-way digest of a secret value, used as a fingerprint part.
pub fn secret_digest(secret: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(b"rampart-secret\0");
    h.update(secret);
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_and_unambiguous() {
        assert_eq!(fingerprint(&["a", "b"]), fingerprint(&["a", "b"]));
        assert_ne!(fingerprint(&["ab", "c"]), fingerprint(&["a", "bc"]));
        assert_eq!(fingerprint(&["x"]).len(), 64);
        let d = secret_digest(b"hunter2");
        assert!(!d.contains("hunter2"));
    }
}
