//! A CA and a serving certificate for the webhook (`rampart admission certs`).

use base64::Engine as _;
use chrono::{Datelike, Duration, Utc};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use std::path::Path;

/// Certificate errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CertError {
    /// Generation.
    #[error("certificate generation: {0}")]
    Gen(#[from] rcgen::Error),
    /// Writing files.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// A file to write exists already.
    #[error("{path} exists; not overwriting it (use --force to replace it)")]
    Exists {
        /// The file.
        path: String,
    },
    /// No DNS name.
    #[error("at least one --dns name is needed (e.g. rampart-admission.rampart.svc)")]
    NoNames,
}

/// PEM texts of a generated CA and serving certificate.
#[derive(Debug, Clone)]
pub struct Generated {
    /// CA certificate (PEM).
    pub ca_crt: String,
    /// Serving certificate (PEM), signed by the CA.
    pub tls_crt: String,
    /// Serving key (PEM, PKCS#8).
    pub tls_key: String,
}

impl Generated {
    /// The `caBundle` for webhook configurations: base64 of the CA PEM.
    pub fn ca_bundle(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.ca_crt)
    }
}

fn ymd(d: chrono::DateTime<Utc>) -> (i32, u8, u8) {
    (
        d.year(),
        u8::try_from(d.month()).unwrap_or(1),
        u8::try_from(d.day()).unwrap_or(1),
    )
}

/// Generate a CA and a serving certificate for `names` (DNS names or IP addresses),
/// valid from yesterday for `days` days.
pub fn generate(names: &[String], days: i64) -> Result<Generated, CertError> {
    if names.is_empty() {
        return Err(CertError::NoNames);
    }
    let now = Utc::now();
    let not_before = ymd(now - Duration::days(1));
    let not_after = ymd(now + Duration::days(days.max(1)));

    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.distinguished_name
        .push(DnType::CommonName, "rampart-admission-ca");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca.not_before = rcgen::date_time_ymd(not_before.0, not_before.1, not_before.2);
    ca.not_after = rcgen::date_time_ymd(not_after.0, not_after.1, not_after.2);
    let ca_key = KeyPair::generate()?;
    let ca_cert = ca.self_signed(&ca_key)?;

    let mut leaf = CertificateParams::new(names.to_vec())?;
    leaf.distinguished_name
        .push(DnType::CommonName, names[0].as_str());
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    leaf.not_before = rcgen::date_time_ymd(not_before.0, not_before.1, not_before.2);
    leaf.not_after = rcgen::date_time_ymd(not_after.0, not_after.1, not_after.2);
    let key = KeyPair::generate()?;
    let cert = leaf.signed_by(&key, &ca_cert, &ca_key)?;
    Ok(Generated {
        ca_crt: ca_cert.pem(),
        tls_crt: cert.pem(),
        tls_key: key.serialize_pem(),
    })
}

/// The files [`write`] creates: name, text, mode (the key is private from creation on).
fn files(g: &Generated) -> [(&'static str, &str, u32); 3] {
    [
        ("ca.crt", g.ca_crt.as_str(), 0o644),
        ("tls.crt", g.tls_crt.as_str(), 0o644),
        ("tls.key", g.tls_key.as_str(), 0o600),
    ]
}

/// Write `ca.crt`, `tls.crt` and `tls.key` into `dir` (created if missing), refusing to
/// touch any file, link or FIFO already there ([`CertError::Exists`], nothing written).
///
/// Each file is written to a new temporary file in `dir`, created exclusively with mode
/// 0600 (so the key is never readable by others, not even for a moment), given its final
/// mode (0644 for the certificates), synced, and linked into place without replacing
/// anything; a link planted at the path is never followed.
pub fn write(dir: &Path, g: &Generated) -> Result<(), CertError> {
    put(dir, g, false)
}

/// Like [`write`], but atomically replaces existing files (`--force`, certificate
/// rotation): each path is renamed over, so a link there is replaced, never followed,
/// and a server reloading the files never reads a half-written one.
pub fn replace(dir: &Path, g: &Generated) -> Result<(), CertError> {
    put(dir, g, true)
}

fn put(dir: &Path, g: &Generated, overwrite: bool) -> Result<(), CertError> {
    let io = |p: &Path, e: std::io::Error| CertError::Io {
        path: p.display().to_string(),
        source: e,
    };
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    if !overwrite {
        for (name, _, _) in files(g) {
            let p = dir.join(name);
            if std::fs::symlink_metadata(&p).is_ok() {
                return Err(CertError::Exists {
                    path: p.display().to_string(),
                });
            }
        }
    }
    for (name, text, mode) in files(g) {
        let p = dir.join(name);
        let mut tmp = tempfile::Builder::new()
            .prefix(".rampart-")
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(|e| io(dir, e))?;
        {
            use std::io::Write as _;
            let f = tmp.as_file_mut();
            f.write_all(text.as_bytes()).map_err(|e| io(&p, e))?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                f.set_permissions(std::fs::Permissions::from_mode(mode))
                    .map_err(|e| io(&p, e))?;
            }
            #[cfg(not(unix))]
            let _ = mode;
            f.sync_all().map_err(|e| io(&p, e))?;
        }
        if overwrite {
            tmp.persist(&p).map_err(|e| io(&p, e.error))?;
        } else {
            tmp.persist_noclobber(&p).map_err(|e| {
                if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                    CertError::Exists {
                        path: p.display().to_string(),
                    }
                } else {
                    io(&p, e.error)
                }
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_pem_and_bundle() {
        let g = generate(&["svc.ns.svc".into(), "127.0.0.1".into()], 30).unwrap();
        assert!(g.ca_crt.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(g.tls_key.contains("PRIVATE KEY"));
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(g.ca_bundle())
            .unwrap();
        assert_eq!(decoded, g.ca_crt.as_bytes());
        assert!(matches!(generate(&[], 1), Err(CertError::NoNames)));
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), &g).unwrap();
        assert!(dir.path().join("tls.key").exists());
    }
}
