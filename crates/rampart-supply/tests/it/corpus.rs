//! `../shared/corpora/supply-chain/expectations.jsonl`: every DSSE case (the DSSE spec's
//! example, cosign's verify-blob-attestation and in-toto subject-claim vectors) and the
//! key-signed simple-signing vectors (cosign's blob signature format, from sigstore-rs),
//! decided as upstream decides them. Bundle and SLSA cases need certificates and
//! transparency logs (not in this crate yet) and are counted as not run.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use rampart_supply::keys::PublicKey;
use rampart_supply::{blob, dsse, intoto};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

fn read(root: &Path, rel: &str) -> Vec<u8> {
    std::fs::read(root.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn key(root: &Path, rel: &str) -> PublicKey {
    PublicKey::from_pem(&read(root, rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// `Ok(true)` accept, `Ok(false)` reject, `Err(why)` not run.
fn decide(root: &Path, case: &Value) -> Result<bool, String> {
    let inputs = &case["inputs"];
    let s = |k: &str| inputs[k].as_str();
    match (
        case["source"].as_str().unwrap(),
        case["kind"].as_str().unwrap(),
    ) {
        ("secure-systems-lab/dsse", "dsse") => {
            let env = dsse::Envelope::from_json(
                &read(root, case["path"].as_str().unwrap()),
                dsse::MAX_ENVELOPE_BYTES,
            )
            .map_err(|e| format!("parse: {e}"))?;
            let payload = env.payload_unverified().map_err(|e| e.to_string())?;
            assert_eq!(
                dsse::pae(&env.payload_type, &payload),
                read(root, s("pae").unwrap()),
                "PAE differs from the spec's"
            );
            Ok(env.verify(&[key(root, s("public_key").unwrap())]).is_ok())
        }
        ("sigstore/cosign", "dsse") if inputs.get("key").is_some() => {
            if inputs.get("env").is_some() {
                return Err("cosign-only COSIGN_MAX_ATTACHMENT_SIZE rule".into());
            }
            let env = match dsse::Envelope::from_json(
                &read(root, s("envelope").unwrap()),
                dsse::MAX_ENVELOPE_BYTES,
            ) {
                Ok(e) => e,
                Err(_) => return Ok(false),
            };
            let keys = [key(root, s("key").unwrap())];
            if inputs["check_claims"] == false {
                return Ok(env.verify(&keys).is_ok());
            }
            let predicate_type = match s("predicate_type") {
                Some("") | None => None,
                Some(t) => match intoto::resolve_predicate_type(t) {
                    Ok(u) => Some(u),
                    Err(_) => return Ok(false),
                },
            };
            let artifact = if let Some(b) = s("blob") {
                Some(intoto::Artifact::File(root.join(b)))
            } else if let Some(d) = s("digest") {
                match intoto::ArtifactDigests::parse(d) {
                    Ok(a) => Some(intoto::Artifact::Digests(a)),
                    Err(_) => return Ok(false),
                }
            } else {
                None
            };
            let claims = intoto::Claims {
                predicate_type,
                artifact,
            };
            Ok(intoto::verify(&env, &keys, &claims).is_ok())
        }
        ("sigstore/cosign", "dsse") => {
            // Test_IntotoSubjectClaimVerifier: only the subject claim, signatures are
            // placeholders upstream never checks. A missing digest is a rejection (as
            // `rampart verify attestation` refuses to run without one).
            let Ok(env) = dsse::Envelope::from_json(
                &read(root, s("envelope").unwrap()),
                dsse::MAX_ENVELOPE_BYTES,
            ) else {
                return Ok(false);
            };
            let Ok(payload) = env.payload_unverified() else {
                return Ok(false);
            };
            let Some(digest) = s("image_digest") else {
                return Ok(false);
            };
            let Ok(artifact) = intoto::ArtifactDigests::parse(digest) else {
                return Ok(false);
            };
            let claims = intoto::Claims {
                predicate_type: None,
                artifact: Some(intoto::Artifact::Digests(artifact)),
            };
            Ok(intoto::check_claims(&env.payload_type, &payload, &claims).is_ok())
        }
        ("sigstore/sigstore-rs", "simple-signing") if inputs.get("key").is_some() => {
            let sig = blob::decode_signature(&read(root, s("signature_b64").unwrap())).unwrap();
            let payload = read(root, s("payload").unwrap());
            Ok(blob::verify(
                &key(root, s("key").unwrap()),
                &mut &payload[..],
                &sig,
                &blob::Limits::default(),
            )
            .is_ok())
        }
        (_, kind) => Err(format!("{kind}: needs certificates / transparency logs")),
    }
}

#[test]
fn supply_chain_corpus_dsse_and_key_signed_cases() {
    let Some(root) = rampart_testkit::corpus("supply-chain") else {
        return;
    };
    let text = std::fs::read_to_string(root.join("expectations.jsonl")).unwrap();
    let mut decided = 0;
    let mut mismatches = Vec::new();
    let mut not_run: BTreeMap<String, usize> = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let case: Value = serde_json::from_str(line).unwrap();
        let expect = case["expect"].as_str().unwrap() == "accept";
        match decide(&root, &case) {
            Ok(got) => {
                decided += 1;
                if got != expect {
                    mismatches.push(format!(
                        "{} / {}: expected {}, got {}",
                        case["source"], case["case"], case["expect"], got
                    ));
                }
            }
            Err(why) => *not_run.entry(why).or_default() += 1,
        }
    }
    eprintln!(
        "supply-chain corpus: {decided} decided, {} as upstream, {} mismatched; not run: {not_run:?}",
        decided - mismatches.len(),
        mismatches.len()
    );
    assert!(mismatches.is_empty(), "{mismatches:#?}");
    // 1 DSSE spec + 13 cosign blob-attestation (the 14th is cosign's size-limit
    // environment variable) + 9 subject-claim + 2 key-signed simple-signing.
    assert_eq!(decided, 25, "cases decided: the corpus changed?");
}
