//! Errors of the secrets crate.

/// Errors raised while loading rules or scanning git repositories.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecretsError {
    /// A rule file could not be parsed.
    #[error("{file}{}: {message}", .line.map(|l| format!(":{l}")).unwrap_or_default())]
    RuleFile {
        /// The file.
        file: String,
        /// 1-based line, when known.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// A rule is invalid (bad regex, missing field …).
    #[error("{file}: rule `{rule}`: {message}")]
    Rule {
        /// The file.
        file: String,
        /// The rule id.
        rule: String,
        /// What is wrong.
        message: String,
    },
    /// A git operation failed.
    #[error("git: {0}")]
    Git(String),
    /// Core error (walking, I/O).
    #[error(transparent)]
    Core(#[from] rampart_core::Error),
}

impl From<git2::Error> for SecretsError {
    fn from(e: git2::Error) -> Self {
        SecretsError::Git(e.message().to_string())
    }
}
