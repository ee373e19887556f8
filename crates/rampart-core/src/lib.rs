//! Rampart's shared model: findings, severities, locations, rule metadata and the
//! registry, fingerprints, suppression (inline comments, ignore files, baselines),
//! configuration loading, and the parallel, gitignore-aware target walker.
//!
//! Library code never prints and never exits: every function returns a typed result and
//! the CLI decides how to show it.

pub mod config;
pub mod error;
pub mod finding;
pub mod fingerprint;
pub mod image_ref;
pub mod location;
pub mod package;
pub mod report;
pub mod rule;
pub mod scan;
pub mod secret_name;
pub mod severity;
pub mod sink;
pub mod suppress;
pub mod walk;

pub use error::{Error, Result};
pub use finding::{Finding, Suppression, SuppressionKind};
pub use image_ref::{ImageRef, ImageRefError};
pub use location::{CommitInfo, K8sObjectRef, Location, Span};
pub use report::{Report, ScanError, Summary};
pub use rule::{Registry, RuleMeta};
pub use scan::ScanPart;
pub use severity::{FailOnUnknown, Severity};
