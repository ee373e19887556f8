//! Error type shared by the core modules.

use std::path::PathBuf;

/// Result alias for core operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors raised by core operations (config, ignore files, baselines, walking).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An I/O error on a given path.
    #[error("{path}: {source}")]
    Io {
        /// The path that failed.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A file could not be parsed; `line`/`column` are 1-based when known.
    #[error("{path}{}: {message}", position(*.line, *.column))]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line, when known.
        line: Option<usize>,
        /// 1-based column, when known.
        column: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// A git repository could not be read (the walker asks git what it ignores).
    #[error("git: {0}")]
    Git(String),
    /// Invalid value given by the user (a flag or a config key).
    #[error("invalid {what}: {message}")]
    Invalid {
        /// What was invalid.
        what: String,
        /// Why.
        message: String,
    },
}

fn position(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(":{l}:{c}"),
        (Some(l), None) => format!(":{l}"),
        _ => String::new(),
    }
}

impl Error {
    /// Build an I/O error with its path.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// Build a parse error from the YAML loader's error, keeping its position.
    pub fn yaml(path: impl Into<PathBuf>, err: &rampart_yaml::YamlError) -> Self {
        Error::Parse {
            path: path.into(),
            line: err.line,
            column: err.column,
            message: err.message.clone(),
        }
    }

    /// Build a parse error from a serde_json error, keeping its position.
    pub fn json(path: impl Into<PathBuf>, err: &serde_json::Error) -> Self {
        Error::Parse {
            path: path.into(),
            line: Some(err.line()).filter(|l| *l > 0),
            column: Some(err.column()).filter(|c| *c > 0),
            message: strip_position(&err.to_string()),
        }
    }
}

/// serde error messages end with " at line X column Y"; the position is kept separately.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(idx) => msg[..idx].to_string(),
        None => msg.to_string(),
    }
}
