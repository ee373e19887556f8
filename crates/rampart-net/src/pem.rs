//! PEM certificates and keys, parsed with `rustls-pki-types`' [`PemObject`] (the
//! maintained replacement of the archived `rustls-pemfile`).
//!
//! Files are read with a size bound ([`MAX_PEM_BYTES`]); an unparsable section, or a file
//! without the expected item, is an error naming the file.

use crate::{file_err, NetError};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::io::Read as _;
use std::path::Path;

/// Largest PEM file read (a distribution's whole CA bundle is about 250 KB).
pub const MAX_PEM_BYTES: u64 = 4 << 20;

/// Read a PEM file, refusing files over [`MAX_PEM_BYTES`].
pub fn read_bounded(path: &Path) -> Result<Vec<u8>, NetError> {
    let f = std::fs::File::open(path).map_err(|e| file_err(path, e))?;
    let mut buf = Vec::new();
    f.take(MAX_PEM_BYTES + 1)
        .read_to_end(&mut buf)
        .map_err(|e| file_err(path, e))?;
    if buf.len() as u64 > MAX_PEM_BYTES {
        return Err(file_err(
            path,
            format!("larger than {MAX_PEM_BYTES} bytes; not a PEM file"),
        ));
    }
    Ok(buf)
}

/// Every certificate in PEM text (at least one).
pub fn certs_from_pem(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    if certs.is_empty() {
        return Err("no PEM certificate found".into());
    }
    Ok(certs)
}

/// The first private key (PKCS#8, PKCS#1 or SEC1) in PEM text.
pub fn key_from_pem(pem: &[u8]) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| match e {
        rustls_pki_types::pem::Error::NoItemsFound => "no PEM private key found".to_string(),
        e => e.to_string(),
    })
}

/// Every certificate of a PEM file (at least one).
pub fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, NetError> {
    certs_from_pem(&read_bounded(path)?).map_err(|e| file_err(path, e))
}

/// The private key of a PEM file.
pub fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, NetError> {
    key_from_pem(&read_bounded(path)?).map_err(|e| file_err(path, e))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn certs_and_keys_round_trip_and_garbage_is_an_error() {
        let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let certs = certs_from_pem(ck.cert.pem().as_bytes()).unwrap();
        assert_eq!(certs.len(), 1);
        assert_eq!(certs[0].as_ref(), ck.cert.der().as_ref());
        assert!(key_from_pem(ck.key_pair.serialize_pem().as_bytes()).is_ok());
        assert_eq!(
            certs_from_pem(b"hello").unwrap_err(),
            "no PEM certificate found"
        );
        assert_eq!(
            key_from_pem(ck.cert.pem().as_bytes()).unwrap_err(),
            "no PEM private key found"
        );
        let broken = "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
        assert!(certs_from_pem(broken.as_bytes()).is_err());
    }

    #[test]
    fn oversized_files_are_refused_with_their_path() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.pem");
        std::fs::write(&p, vec![b'a'; (MAX_PEM_BYTES + 10) as usize]).unwrap();
        let e = read_certs(&p).unwrap_err().to_string();
        assert!(e.contains("big.pem") && e.contains("larger than"), "{e}");
        let e = read_key(&dir.path().join("missing.key"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing.key"), "{e}");
    }
}
