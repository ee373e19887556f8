//! Exit codes: 0 clean, 1 gate failed, 2 usage, configuration or I/O error, or a run
//! that could not check something (the report's `errors`, unless `--allow-errors`).

use std::process::ExitCode;

/// Nothing at or above the gate.
pub const CLEAN: u8 = 0;
/// The gate failed (or stale ignores with --fail-on-stale-ignores, or `rules check` failed).
pub const GATE_FAILED: u8 = 1;
/// Usage, configuration or I/O error, or content left unchecked (errors outrank the gate).
pub const ERROR: u8 = 2;

/// Convert to a process exit code.
pub fn code(c: u8) -> ExitCode {
    ExitCode::from(c)
}
