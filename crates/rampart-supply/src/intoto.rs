//! in-toto Statements (<https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md>)
//! in DSSE envelopes: build one for a blob, and check one: signature, payload type,
//! statement type, predicate type and subject digest, in that order, each failure named.

use crate::dsse::Envelope;
use crate::error::{Error, Result};
use crate::keys::{PrivateKey, PublicKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256, Sha512};
use std::collections::BTreeMap;
use std::io::Read;

/// The DSSE payload type of in-toto statements.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// Statement v1 (what Rampart writes).
pub const STATEMENT_V1: &str = "https://in-toto.io/Statement/v1";
/// Statement v0.1 (what cosign writes; accepted when reading).
pub const STATEMENT_V01: &str = "https://in-toto.io/Statement/v0.1";

/// cosign's `--type` aliases (cosign `options/predicate.go`, plus the SLSA 1.0 and OpenVEX
/// names newer cosign releases added).
pub const PREDICATE_ALIASES: &[(&str, &str)] = &[
    ("custom", "https://cosign.sigstore.dev/attestation/v1"),
    ("slsaprovenance", "https://slsa.dev/provenance/v0.2"),
    ("slsaprovenance02", "https://slsa.dev/provenance/v0.2"),
    ("slsaprovenance1", "https://slsa.dev/provenance/v1"),
    ("spdx", "https://spdx.dev/Document"),
    ("spdxjson", "https://spdx.dev/Document"),
    ("cyclonedx", "https://cyclonedx.org/bom"),
    ("cyclonedxxml", "https://cyclonedx.org/bom"),
    ("link", "https://in-toto.io/Link/v1"),
    ("vuln", "https://cosign.sigstore.dev/attestation/vuln/v1"),
    ("openvex", "https://openvex.dev/ns"),
];

/// A `--type` value → the predicate type URI: an alias from [`PREDICATE_ALIASES`], or a
/// URI (`scheme:...`), as cosign accepts.
pub fn resolve_predicate_type(t: &str) -> Result<String> {
    if let Some((_, uri)) = PREDICATE_ALIASES.iter().find(|(a, _)| *a == t) {
        return Ok((*uri).to_string());
    }
    let scheme_ok = t.split_once(':').is_some_and(|(scheme, rest)| {
        !rest.is_empty()
            && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    });
    if scheme_ok && !t.chars().any(char::is_whitespace) {
        Ok(t.to_string())
    } else {
        let names: Vec<&str> = PREDICATE_ALIASES.iter().map(|(a, _)| *a).collect();
        Err(Error::Statement(format!(
            "unknown predicate type `{t}`: give a URI or one of {}",
            names.join(", ")
        )))
    }
}

/// A statement.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Statement {
    /// `https://in-toto.io/Statement/v1` (or v0.1).
    #[serde(rename = "_type")]
    pub type_: String,
    /// What the statement is about.
    pub subject: Vec<Subject>,
    /// The predicate's type URI.
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    /// The predicate (any JSON).
    #[serde(default)]
    pub predicate: serde_json::Value,
}

/// One subject: a name and its digests (`sha256` → lowercase hex, ...).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Subject {
    /// The artifact's name (a file name for blobs).
    #[serde(default)]
    pub name: String,
    /// Algorithm → hex digest.
    pub digest: BTreeMap<String, String>,
}

/// An artifact's digests, to match against subjects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactDigests(pub Vec<(String, String)>);

impl ArtifactDigests {
    /// SHA-256 and SHA-512 of a stream (one pass).
    pub fn of_reader(reader: &mut dyn Read) -> Result<Self> {
        Self::of_reader_for(reader, &["sha256", "sha512"])
    }

    /// The digests named (`sha256`, `sha512`; others are ignored) of a stream, one pass.
    pub fn of_reader_for(reader: &mut dyn Read, algorithms: &[&str]) -> Result<Self> {
        let mut a = algorithms.contains(&"sha256").then(Sha256::new);
        let mut b = algorithms.contains(&"sha512").then(Sha512::new);
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = reader.read(&mut buf).map_err(|source| Error::Io {
                what: "artifact",
                source,
            })?;
            if n == 0 {
                break;
            }
            if let Some(h) = a.as_mut() {
                h.update(&buf[..n]);
            }
            if let Some(h) = b.as_mut() {
                h.update(&buf[..n]);
            }
        }
        let mut out = Vec::new();
        if let Some(h) = a {
            out.push(("sha256".into(), hex::encode(h.finalize())));
        }
        if let Some(h) = b {
            out.push(("sha512".into(), hex::encode(h.finalize())));
        }
        Ok(ArtifactDigests(out))
    }

    /// From `ALG:HEX` (e.g. `sha256:658781cd…`); only sha256 and sha512, hex of the right
    /// length.
    pub fn parse(s: &str) -> Result<Self> {
        let (alg, hex_digest) = s
            .split_once(':')
            .ok_or_else(|| Error::Statement(format!("digest `{s}` is not ALG:HEX")))?;
        let len = match alg {
            "sha256" => 64,
            "sha512" => 128,
            other => {
                return Err(Error::Statement(format!(
                    "digest algorithm `{other}` is not sha256 or sha512"
                )))
            }
        };
        if hex_digest.len() != len || !hex_digest.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::Statement(format!(
                "digest `{s}` is not {len} hex digits"
            )));
        }
        Ok(ArtifactDigests(vec![(
            alg.to_string(),
            hex_digest.to_ascii_lowercase(),
        )]))
    }

    /// `sha256:…` for messages.
    pub fn display(&self) -> String {
        self.0
            .first()
            .map(|(a, h)| format!("{a}:{h}"))
            .unwrap_or_default()
    }
}

impl Statement {
    /// A v1 statement about one artifact.
    pub fn new(
        subject: Subject,
        predicate_type: String,
        predicate: serde_json::Value,
    ) -> Statement {
        Statement {
            type_: STATEMENT_V1.to_string(),
            subject: vec![subject],
            predicate_type,
            predicate,
        }
    }

    /// Parse and check the shape: known `_type`, at least one subject, every subject with
    /// a digest, a predicate type.
    pub fn parse(payload: &[u8]) -> Result<Statement> {
        let st: Statement =
            serde_json::from_slice(payload).map_err(|e| Error::Statement(e.to_string()))?;
        if st.type_ != STATEMENT_V1 && st.type_ != STATEMENT_V01 {
            return Err(Error::Statement(format!(
                "`_type` is `{}`, not {STATEMENT_V1} (or v0.1)",
                st.type_
            )));
        }
        if st.subject.is_empty() {
            return Err(Error::Statement("the subject list is empty".into()));
        }
        if let Some(i) = st.subject.iter().position(|s| s.digest.is_empty()) {
            return Err(Error::Statement(format!("subject {} has no digest", i + 1)));
        }
        if st.predicate_type.is_empty() {
            return Err(Error::Statement("`predicateType` is empty".into()));
        }
        Ok(st)
    }

    /// The digest algorithms worth computing for an artifact: `sha256` when a subject has
    /// one, `sha512` when a subject has only that (so a blob is hashed once, not twice).
    pub fn subject_algorithms(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.subject.iter().any(|s| s.digest.contains_key("sha256")) {
            out.push("sha256");
        }
        if self
            .subject
            .iter()
            .any(|s| s.digest.contains_key("sha512") && !s.digest.contains_key("sha256"))
        {
            out.push("sha512");
        }
        if out.is_empty() {
            // No subject can match; hash anyway so the error names the artifact's digest.
            out.push("sha256");
        }
        out
    }

    /// The first subject with one of the artifact's digests (hex compared without case).
    pub fn matching_subject(&self, artifact: &ArtifactDigests) -> Result<&Subject> {
        self.subject
            .iter()
            .find(|s| {
                artifact.0.iter().any(|(alg, hex_digest)| {
                    s.digest
                        .get(alg)
                        .is_some_and(|d| d.eq_ignore_ascii_case(hex_digest))
                })
            })
            .ok_or_else(|| {
                let algs: Vec<&str> = artifact.0.iter().map(|(a, _)| a.as_str()).collect();
                Error::SubjectMismatch(
                    format!(
                    "the artifact's {} is not the digest of any of the statement's {} subject(s)",
                    artifact.display(),
                    self.subject.len()
                ) + if self
                        .subject
                        .iter()
                        .any(|s| algs.iter().any(|a| s.digest.contains_key(*a)))
                    {
                        ""
                    } else {
                        " (no subject has a sha256 or sha512 digest)"
                    },
                )
            })
    }
}

/// Sign a statement into a DSSE envelope.
pub fn attest(statement: &Statement, key: &PrivateKey) -> Result<Envelope> {
    let payload = serde_json::to_vec(statement).map_err(|e| Error::Statement(e.to_string()))?;
    Ok(crate::dsse::sign(PAYLOAD_TYPE, &payload, key))
}

/// The artifact a statement must be about.
#[derive(Debug, Clone)]
pub enum Artifact {
    /// Known digests.
    Digests(ArtifactDigests),
    /// A file, hashed (streamed) only after the signature verified, with only the
    /// algorithms the statement's subjects use.
    File(std::path::PathBuf),
}

/// What to check besides the signature.
#[derive(Debug, Clone, Default)]
pub struct Claims {
    /// Required predicate type URI (resolve aliases with [`resolve_predicate_type`]).
    pub predicate_type: Option<String>,
    /// The artifact the statement must be about.
    pub artifact: Option<Artifact>,
}

/// A verified attestation.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The statement.
    pub statement: Statement,
    /// Key ids of the signatures that verified.
    pub keyids: Vec<String>,
    /// The subject that matched the artifact, if one was given.
    pub matched_subject: Option<Subject>,
}

/// Verify an attestation: signature (with one of `keys`), payload type, statement shape,
/// predicate type, subject digest. The first failing check is the error.
pub fn verify(envelope: &Envelope, keys: &[PublicKey], claims: &Claims) -> Result<Verified> {
    let v = envelope.verify(keys)?;
    check_claims(&v.payload_type, &v.payload, claims).map(|(statement, matched_subject)| Verified {
        statement,
        keyids: v.keyids,
        matched_subject,
    })
}

/// The claim checks alone, on an authenticated payload (or, in tests of claim logic, on
/// an unauthenticated one).
pub fn check_claims(
    payload_type: &str,
    payload: &[u8],
    claims: &Claims,
) -> Result<(Statement, Option<Subject>)> {
    if payload_type != PAYLOAD_TYPE {
        return Err(Error::PayloadType {
            found: payload_type.to_string(),
            expected: PAYLOAD_TYPE.to_string(),
        });
    }
    let statement = Statement::parse(payload)?;
    if let Some(want) = &claims.predicate_type {
        if &statement.predicate_type != want {
            return Err(Error::PredicateType {
                found: statement.predicate_type.clone(),
                expected: want.clone(),
            });
        }
    }
    let matched = match &claims.artifact {
        Some(Artifact::Digests(a)) => Some(statement.matching_subject(a)?.clone()),
        Some(Artifact::File(path)) => {
            let mut f = std::fs::File::open(path).map_err(|source| Error::Io {
                what: "artifact",
                source,
            })?;
            let a = ArtifactDigests::of_reader_for(&mut f, &statement.subject_algorithms())?;
            Some(statement.matching_subject(&a)?.clone())
        }
        None => None,
    };
    Ok((statement, matched))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeyType;

    fn digests(b: &[u8]) -> ArtifactDigests {
        ArtifactDigests::of_reader(&mut &b[..]).unwrap()
    }

    #[test]
    fn attest_then_verify_and_each_claim_failure() {
        let k = PrivateKey::generate(KeyType::EcdsaP256);
        let d = digests(b"artifact");
        let sha = d.0[0].1.clone();
        let st = Statement::new(
            Subject {
                name: "a.bin".into(),
                digest: [("sha256".to_string(), sha)].into_iter().collect(),
            },
            resolve_predicate_type("slsaprovenance1").unwrap(),
            serde_json::json!({"x": 1}),
        );
        let env = attest(&st, &k).unwrap();
        let ok = Claims {
            predicate_type: Some("https://slsa.dev/provenance/v1".into()),
            artifact: Some(Artifact::Digests(d.clone())),
        };
        let v = verify(&env, &[k.public_key()], &ok).unwrap();
        assert_eq!(v.statement, st);
        let wrong_type = Claims {
            predicate_type: Some("https://spdx.dev/Document".into()),
            ..ok.clone()
        };
        assert!(matches!(
            verify(&env, &[k.public_key()], &wrong_type),
            Err(Error::PredicateType { .. })
        ));
        let wrong_blob = Claims {
            artifact: Some(Artifact::Digests(digests(b"other"))),
            ..ok.clone()
        };
        assert!(matches!(
            verify(&env, &[k.public_key()], &wrong_blob),
            Err(Error::SubjectMismatch(_))
        ));
    }

    #[test]
    fn predicate_type_must_be_alias_or_uri() {
        assert!(resolve_predicate_type("notreallyslsaprovenance").is_err());
        assert!(resolve_predicate_type("").is_err());
        assert_eq!(
            resolve_predicate_type("https://example.com/p/v1").unwrap(),
            "https://example.com/p/v1"
        );
    }

    #[test]
    fn digest_argument_is_checked() {
        assert!(ArtifactDigests::parse("sha256:abc").is_err());
        assert!(ArtifactDigests::parse("md5:00").is_err());
        assert!(ArtifactDigests::parse(&format!("sha256:{}", "A".repeat(64))).is_ok());
    }
}
