//! Rampart's vulnerability database: version schemes per ecosystem, the OSV model and
//! range evaluation, severity from CVSS, a local SQLite database of OSV records, and
//! matching of packages against it.
//!
//! Library code never prints and never exits: every function returns a typed result.
//!
//! ```
//! use rampart_vuln::{Db, ImportOptions, Package, Scheme, Version};
//!
//! // Versions order by their ecosystem's rules.
//! let a = Version::parse(Scheme::Pep440, "1.0.dev0").unwrap();
//! let b = Version::parse(Scheme::Pep440, "1.0a1").unwrap();
//! assert!(a < b);
//!
//! // Import OSV records, then match an inventory.
//! let dir = tempfile::tempdir().unwrap();
//! std::fs::write(
//!     dir.path().join("GHSA-xxxx-xxxx-xxxx.json"),
//!     r#"{"id": "GHSA-xxxx-xxxx-xxxx", "modified": "2024-01-01T00:00:00Z",
//!         "aliases": ["CVE-2024-0001"],
//!         "affected": [{"package": {"ecosystem": "PyPI", "name": "Demo_Pkg"},
//!           "ranges": [{"type": "ECOSYSTEM",
//!                       "events": [{"introduced": "0"}, {"fixed": "2.0"}]}]}]}"#,
//! )
//! .unwrap();
//! let mut db = Db::open_in_memory().unwrap();
//! db.import(&[dir.path().to_path_buf()], &ImportOptions::default()).unwrap();
//! let pkg = Package::new("PyPI", "demo-pkg", "1.5").with_found_in("requirements.txt");
//! let reports = db.match_packages(&[pkg]).unwrap();
//! assert_eq!(reports[0].vulns[0].id, "GHSA-xxxx-xxxx-xxxx");
//! assert_eq!(reports[0].smallest_fix.as_deref(), Some("2.0"));
//! let findings = reports[0].findings();
//! assert_eq!(findings[0].rule_id, "vuln/GHSA-xxxx-xxxx-xxxx");
//! ```

pub mod cvss;
pub mod db;
pub mod ecosystem;
pub mod error;
pub mod fresh;
pub mod import;
pub mod matcher;
pub mod osv;
pub mod rustsec;
pub mod secdb;
pub mod severity;
pub mod update;
pub mod version;

pub use db::{Db, ImportReport, Status};
pub use error::DbError;
pub use import::ImportOptions;
pub use matcher::{Package, PackageReport, VulnMatch};
pub use update::{UpdateOptions, UpdateReport, UpdateStatus};
pub use version::{Scheme, Version, VersionError, VersionScheme};
