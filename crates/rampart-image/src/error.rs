//! Errors of image scanning.

use std::path::PathBuf;

/// Errors that stop an image from being read at all. Problems with single files or
/// layers are reported as [`rampart_core::ScanError`]s and the scan goes on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImageError {
    /// An I/O error on a path.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The reference or path is not an image Rampart can read.
    #[error("{0}")]
    Source(String),
    /// The image's manifest, index or config is malformed.
    #[error("{what}: {message}")]
    Malformed {
        /// Which document.
        what: String,
        /// What is wrong.
        message: String,
    },
    /// A blob's content does not match its digest.
    #[error("digest mismatch for {what}: expected {expected}, got {actual}")]
    DigestMismatch {
        /// Which blob.
        what: String,
        /// Digest named by the manifest.
        expected: String,
        /// Digest of the bytes read.
        actual: String,
    },
    /// A registry request failed.
    #[error("registry {url}: {message}")]
    Registry {
        /// The URL requested.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// No manifest for the requested platform.
    #[error("no image for platform {platform} (available: {available})")]
    Platform {
        /// Requested.
        platform: String,
        /// What the index offers.
        available: String,
    },
    /// A size limit was exceeded.
    #[error("{what}: over the {limit} byte limit")]
    TooLarge {
        /// What.
        what: String,
        /// The limit.
        limit: u64,
    },
}

impl ImageError {
    /// An I/O error on a path.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> ImageError {
        ImageError::Io {
            path: path.into(),
            source,
        }
    }

    /// A malformed document.
    pub fn malformed(what: impl Into<String>, message: impl std::fmt::Display) -> ImageError {
        ImageError::Malformed {
            what: what.into(),
            message: message.to_string(),
        }
    }
}
