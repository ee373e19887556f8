//! Licences: SPDX expressions (parsed with the `spdx` crate, leniently for the free-text
//! spellings found in package metadata), a category for every licence, and the
//! `rampart.yaml` policy that turns unacceptable licences into findings
//! (`license/denied`, `license/unknown`, `license/missing`).

mod category;
mod parse;
mod policy;

pub use category::{category_of, Category};
pub use parse::{normalize, parse, Parsed};
pub use policy::{checked_findings, license_findings, metas, Policy, PolicyError, Verdict};
