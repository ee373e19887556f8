//! Every integration test of this crate, in one test binary: one module per former
//! `tests/*.rs` file (one binary links once instead of once per file).

mod best_common;
mod best_rules;
mod checkov_crosscheck;
mod load_props;
mod rbac_corpus;
mod rbac_rules;
