//! Every integration test of this crate, in one test binary: one module per former
//! `tests/*.rs` file (one binary links once instead of once per file).

mod current_rules;
mod falco_conformance;
mod fixtures;
mod robustness;
mod server;
