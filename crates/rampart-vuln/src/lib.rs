//! Rampart's vulnerability database: version schemes per ecosystem, the OSV model and
//! range evaluation, severity from CVSS, a local SQLite database of OSV records, and
//! matching of packages against it.
//!
//! Library code never prints and never exits: every function returns a typed result.

pub mod cvss;
pub mod ecosystem;
pub mod osv;
pub mod severity;
pub mod version;

pub use version::{Scheme, Version, VersionError, VersionScheme};
