//! DSSE v1 envelopes (<https://github.com/secure-systems-lab/dsse>): signatures over the
//! pre-authentication encoding `PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP
//! LEN(body) SP body`.
//!
//! Key ids are hints only (the spec says so): a signature counts when it verifies with one
//! of the given keys, whatever its `keyid`. Rampart writes `keyid` as the hex SHA-256 of
//! the signer's SPKI DER ([`crate::keys::PublicKey::keyid`]).

use crate::error::{Error, Result};
use crate::keys::{PrivateKey, PublicKey};
use serde::{Deserialize, Serialize};

/// The largest envelope Rampart parses by default.
pub const MAX_ENVELOPE_BYTES: usize = 32 * 1024 * 1024;
/// The most signatures an envelope may carry (each is tried against each key).
pub const MAX_SIGNATURES: usize = 64;

/// A DSSE envelope as it is serialised.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Envelope {
    /// Base64 of the payload.
    pub payload: String,
    /// How to interpret the payload, e.g. `application/vnd.in-toto+json`.
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    /// The signatures.
    pub signatures: Vec<Signature>,
}

/// One signature.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Signature {
    /// Key id hint (may be empty).
    #[serde(default)]
    pub keyid: String,
    /// Base64 of the raw signature over the PAE.
    pub sig: String,
}

/// What a successful verification establishes.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The payload type (authenticated: it is inside the PAE).
    pub payload_type: String,
    /// The payload bytes.
    pub payload: Vec<u8>,
    /// The `keyid` of each signature that verified.
    pub keyids: Vec<String>,
}

/// The pre-authentication encoding.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload_type.len() + payload.len() + 32);
    out.extend_from_slice(
        format!(
            "DSSEv1 {} {payload_type} {} ",
            payload_type.len(),
            payload.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(payload);
    out
}

/// Sign a payload into a one-signature envelope.
pub fn sign(payload_type: &str, payload: &[u8], key: &PrivateKey) -> Envelope {
    let sig = key.sign(&pae(payload_type, payload));
    Envelope {
        payload: crate::b64::encode(payload),
        payload_type: payload_type.to_string(),
        signatures: vec![Signature {
            keyid: key.public_key().keyid(),
            sig: crate::b64::encode(&sig),
        }],
    }
}

impl Envelope {
    /// Parse an envelope from JSON, bounded in size.
    pub fn from_json(bytes: &[u8], max_bytes: usize) -> Result<Self> {
        if bytes.len() > max_bytes {
            return Err(Error::TooLarge {
                what: "DSSE envelope",
                size: bytes.len() as u64,
                limit: max_bytes as u64,
            });
        }
        let env: Envelope =
            serde_json::from_slice(bytes).map_err(|e| Error::Envelope(e.to_string()))?;
        if env.signatures.len() > MAX_SIGNATURES {
            return Err(Error::Envelope(format!(
                "{} signatures (at most {MAX_SIGNATURES})",
                env.signatures.len()
            )));
        }
        Ok(env)
    }

    /// Pretty JSON.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self).map_err(|e| Error::Envelope(e.to_string()))
    }

    /// The payload bytes, **unauthenticated** (for claim checks on data whose signature
    /// was checked elsewhere, and for messages).
    pub fn payload_unverified(&self) -> Result<Vec<u8>> {
        crate::b64::decode(&self.payload)
            .ok_or_else(|| Error::Envelope("payload is not base64".into()))
    }

    /// Verify: at least one signature must verify with one of `keys`. Signatures that are
    /// not base64 or not a signature encoding count as not verifying.
    pub fn verify(&self, keys: &[PublicKey]) -> Result<Verified> {
        if keys.is_empty() {
            return Err(Error::BadSignature("no verification key given".into()));
        }
        if self.signatures.is_empty() {
            return Err(Error::BadSignature("the envelope has no signature".into()));
        }
        let payload = self.payload_unverified()?;
        let message = pae(&self.payload_type, &payload);
        let mut keyids = Vec::new();
        let mut problems = Vec::new();
        for (i, s) in self.signatures.iter().enumerate() {
            let Some(raw) = crate::b64::decode(&s.sig) else {
                problems.push(format!("signature {} is not base64", i + 1));
                continue;
            };
            if keys.iter().any(|k| k.verify(&message, &raw).is_ok()) {
                keyids.push(s.keyid.clone());
            }
        }
        if keyids.is_empty() {
            let n = self.signatures.len();
            let mut msg = format!(
                "none of the envelope's {n} signature{} verifies with the given key{}",
                if n == 1 { "" } else { "s" },
                if keys.len() == 1 { "" } else { "s" }
            );
            if !problems.is_empty() {
                msg.push_str(&format!(" ({})", problems.join(", ")));
            }
            return Err(Error::BadSignature(msg));
        }
        Ok(Verified {
            payload_type: self.payload_type.clone(),
            payload,
            keyids,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeyType;

    #[test]
    fn pae_matches_the_spec_example() {
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
    }

    #[test]
    fn payload_type_is_authenticated() {
        let k = PrivateKey::generate(KeyType::EcdsaP256);
        let mut env = sign("application/vnd.in-toto+json", b"{}", &k);
        env.verify(&[k.public_key()]).unwrap();
        env.payload_type = "text/plain".into();
        let e = env.verify(&[k.public_key()]).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Verification);
    }

    #[test]
    fn no_signatures_is_a_failure_not_a_pass() {
        let k = PrivateKey::generate(KeyType::Ed25519);
        let mut env = sign("t", b"x", &k);
        env.signatures.clear();
        assert!(env.verify(&[k.public_key()]).is_err());
    }
}
