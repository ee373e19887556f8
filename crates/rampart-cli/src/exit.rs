//! Exit codes: 0 clean, 1 gate failed, 2 usage or I/O error.

use std::process::ExitCode;

/// Nothing at or above the gate.
pub const CLEAN: u8 = 0;
/// The gate failed (or stale ignores with --fail-on-stale-ignores, or `rules check` failed).
pub const GATE_FAILED: u8 = 1;
/// Usage, configuration or I/O error.
pub const ERROR: u8 = 2;

/// Convert to a process exit code.
pub fn code(c: u8) -> ExitCode {
    ExitCode::from(c)
}
