//! The error type of the database and import.

use std::path::PathBuf;

/// What went wrong with the database or an import source.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DbError {
    /// SQLite failed.
    #[error("vulnerability database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// An import path does not exist.
    #[error("{}: no such file or directory", .0.display())]
    NotFound(PathBuf),
    /// A zip archive is unreadable (truncated, corrupt); nothing was imported.
    #[error("{}: not a readable zip archive: {message}", path.display())]
    Zip {
        /// The archive.
        path: PathBuf,
        /// What the zip reader said.
        message: String,
    },
    /// The database file was written by an incompatible Rampart version.
    #[error("{}: database schema version {found} is not supported (expected {expected}); delete it and import again", path.display())]
    SchemaVersion {
        /// The file.
        path: PathBuf,
        /// Found version.
        found: String,
        /// Expected version.
        expected: String,
    },
    /// Stored data could not be decoded.
    #[error("vulnerability database: corrupt row for {id}: {message}")]
    Corrupt {
        /// The record.
        id: String,
        /// The decoding error.
        message: String,
    },
}

impl DbError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> DbError {
        DbError::Io {
            path: path.into(),
            source,
        }
    }
}
