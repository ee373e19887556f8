//! Rampart's vulnerability database: version schemes per ecosystem, the OSV model and
//! range evaluation, severity from CVSS, a local SQLite database of OSV records, and
//! matching of packages against it.
//!
//! Library code never prints and never exits: every function returns a typed result.

pub mod cvss;
pub mod db;
pub mod ecosystem;
pub mod error;
pub mod import;
pub mod matcher;
pub mod osv;
pub mod rustsec;
pub mod secdb;
pub mod severity;
pub mod version;

pub use db::{Db, ImportReport, Status};
pub use error::DbError;
pub use import::ImportOptions;
pub use matcher::{Package, PackageReport, VulnMatch};
pub use version::{Scheme, Version, VersionError, VersionScheme};
