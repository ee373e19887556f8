//! cosign-format encrypted keys made by cosign and sigstore-rs (testdata/cosign-keys,
//! copied from sigstore-rs): decrypt, sign, verify; wrong passphrase refused.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use rampart_supply::keys::{parse_private_key, KeyType, PrivateKeyFile};
use rampart_supply::{blob, Error};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/cosign-keys")
            .join(name),
    )
    .unwrap()
}

fn encrypted(name: &str) -> rampart_supply::keys::EncryptedKey {
    match parse_private_key(&fixture(name)).unwrap() {
        PrivateKeyFile::Encrypted(e) => e,
        PrivateKeyFile::Plain(_) => panic!("{name} is encrypted"),
    }
}

#[test]
fn cosign_generated_key_with_empty_passphrase() {
    let e = encrypted("cosign_generated_encrypted_empty_private.key");
    assert_eq!(e.format(), "cosign");
    let k = e.decrypt(b"").unwrap();
    assert_eq!(k.key_type(), KeyType::EcdsaP256);
    let sig = blob::sign(&k, &mut &b"payload"[..], &blob::Limits::default()).unwrap();
    blob::verify(
        &k.public_key(),
        &mut &b"payload"[..],
        &sig,
        &blob::Limits::default(),
    )
    .unwrap();
    assert!(matches!(e.decrypt(b"x"), Err(Error::WrongPassphrase)));
}

#[test]
fn legacy_cosign_label_and_ed25519() {
    let k = encrypted("ecdsa_encrypted_private.key")
        .decrypt(b"123")
        .unwrap();
    assert_eq!(k.key_type(), KeyType::EcdsaP256);
    let e = encrypted("ed25519_encrypted_private.key");
    assert!(matches!(e.decrypt(b"1234"), Err(Error::WrongPassphrase)));
    let k = e.decrypt(b"123").unwrap();
    assert_eq!(k.key_type(), KeyType::Ed25519);
}
