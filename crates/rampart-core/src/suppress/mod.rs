//! Suppression: inline comments, the ignore file, and baselines. Suppressed findings stay
//! in the report (marked), never trip the gate, and unused suppressions are reported stale.

pub mod baseline;
pub mod ignore_file;
pub mod inline;

use globset::{Glob, GlobMatcher};

/// Compile a rule-id pattern: an exact id, or a glob such as `secret/*`.
pub(crate) fn rule_matcher(pattern: &str) -> Option<GlobMatcher> {
    Glob::new(pattern).ok().map(|g| g.compile_matcher())
}
