//! Software composition analysis: lockfile and installed-package parsers produce a
//! [`inventory::Inventory`] of [`inventory::Package`]s (with file, line, direct/transitive
//! and the dependency graph); licences (SPDX expressions) and SBOMs (CycloneDX, SPDX) are
//! built from the same inventory. The package model is `rampart_core::package`;
//! [`deps`] is the one inventory pipeline (inventory → vulnerabilities through a
//! [`rampart_core::package::VulnMatcher`] → VEX → licences → findings) behind
//! `rampart deps`, `rampart sbom` and `rampart scan`. This crate does not depend on the
//! vulnerability database: the CLI passes `rampart_vuln::Db` in as the matcher.

pub mod deps;
pub mod graph;
pub mod installed;
pub mod inventory;
pub mod license;
pub mod lockfile;
pub mod sbom;
pub mod scan;
pub mod vex;
