//! Pod Security Standards (baseline and restricted), as Pod Security Admission
//! implements each control, per version.

use crate::rules::Rule;

/// One rule per PSS control.
pub fn rules() -> Vec<Rule> {
    Vec::new()
}
