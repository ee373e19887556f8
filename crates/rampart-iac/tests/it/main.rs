//! Every integration test of this crate, in one test binary: one module per former
//! `tests/*.rs` file (one binary links once instead of once per file).

mod checkov;
mod fuzz;
mod hadolint;
mod rules;
