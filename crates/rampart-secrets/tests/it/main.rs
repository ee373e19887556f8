//! Every integration test of this crate, in one test binary: one module per former
//! `tests/*.rs` file (one binary links once instead of once per file).

mod bounded;
mod builtin_rules;
mod corpora_builtin;
mod git_modes;
mod gitleaks_config;
mod gitleaks_corpus;
mod gitleaks_proptest;
mod planted;
