//! Stable fingerprints: SHA-256 over the rule id and the identity of the thing.
//!
//! Fingerprints never include line numbers (so baselines survive edits) and nothing
//! derived from a secret: reports (SARIF especially) are often public, and an unkeyed
//! hash of a password is a guessing oracle. A secret finding is identified by its rule,
//! path, the text of its line around the secret with every secret masked, and an
//! occurrence index (see `rampart_secrets::scan`).

use sha2::{Digest, Sha256};

/// Hash the given parts (each length-prefixed, so `("ab","c") != ("a","bc")`).
pub fn fingerprint(parts: &[&str]) -> String {
    // One contiguous input hashed with one call is cheaper than an update per part;
    // typical inputs (a rule id, an object's identity, a field path) fit on the stack.
    let len: usize = parts.iter().map(|p| 8 + p.len()).sum();
    let mut stack = [0u8; 512];
    let mut heap = Vec::new();
    let input: &mut [u8] = if len <= stack.len() {
        &mut stack[..len]
    } else {
        heap.resize(len, 0);
        &mut heap
    };
    let mut rest = &mut input[..];
    for p in parts {
        let (n, tail) = rest.split_at_mut(8);
        n.copy_from_slice(&(p.len() as u64).to_le_bytes());
        let (bytes, tail) = tail.split_at_mut(p.len());
        bytes.copy_from_slice(p.as_bytes());
        rest = tail;
    }
    lower_hex(&Sha256::digest(input))
}

/// Lower-case hex, as `hex::encode` (which goes through a char iterator: a measurable
/// cost at one fingerprint per finding).
fn lower_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// A digest of a secret value, for identities that never leave the process (history
/// deduplication). Never put it, or a fingerprint built from it, in a report.
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
        // Stored in baselines: must never change.
        assert_eq!(
            fingerprint(&["k8s/x", "Pod", "", "p", "spec"]),
            hex::encode(Sha256::digest(
                b"\x05\0\0\0\0\0\0\0k8s/x\x03\0\0\0\0\0\0\0Pod\0\0\0\0\0\0\0\0\x01\0\0\0\0\0\0\0p\x04\0\0\0\0\0\0\0spec"
            ))
        );
        // Inputs longer than the stack buffer hash the same way.
        let long = "x".repeat(600);
        let mut h = Sha256::new();
        for p in ["a", long.as_str()] {
            h.update((p.len() as u64).to_le_bytes());
            h.update(p.as_bytes());
        }
        assert_eq!(fingerprint(&["a", &long]), hex::encode(h.finalize()));
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(lower_hex(&all), hex::encode(&all));
        let d = secret_digest(b"hunter2");
        assert!(!d.contains("hunter2"));
    }
}
