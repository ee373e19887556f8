//! Software composition analysis: lockfile and installed-package parsers produce a
//! [`inventory::Inventory`] of [`inventory::Package`]s (with file, line, direct/transitive
//! and the dependency graph); licences (SPDX expressions) and SBOMs (CycloneDX, SPDX) are
//! built from the same inventory. Vulnerability matching is `rampart-vuln`'s job: an
//! inventory package converts to a [`rampart_vuln::matcher::Package`].

pub mod graph;
pub mod installed;
pub mod inventory;
pub mod license;
pub mod lockfile;
pub mod sbom;
pub mod scan;
pub mod vex;
