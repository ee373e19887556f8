//! Secret scanning for Rampart.
//!
//! - [`rules`]: the data rule format (one YAML file per provider, embedded at build time)
//!   and its compilation into [`rules::CompiledRule`]s.
//! - [`engine`]: the matcher: an Aho-Corasick keyword prefilter over every rule's
//!   keywords, then each rule's regex only around keyword hits, then entropy and allowlists.
//! - [`gitleaks`]: import of gitleaks' TOML rule format.
//! - [`scan`]: turning matches into redacted, fingerprinted findings (with Kubernetes
//!   awareness) for directories, single buffers, and [`git`] history or the staged index.
//! - [`check`]: `rampart rules check`: every example fires, no negative example does.

pub mod check;
pub mod engine;
pub mod entropy;
pub mod error;
pub mod git;
pub mod gitleaks;
pub mod k8s;
pub mod placeholder;
pub mod redact;
pub mod rules;
pub mod scan;

pub use engine::{Engine, RawMatch};
pub use error::SecretsError;
pub use rules::{CompiledRule, RuleSet};
pub use scan::{ScanOptions, SecretScanner};

mod builtin {
    include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));
}
pub use builtin::BUILTIN_RULE_FILES;
