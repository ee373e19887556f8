//! Every integration test of this crate, in one test binary: one module per former
//! `tests/*.rs` file (one binary links once instead of once per file).

mod db;
mod fuzz_inputs;
mod fuzz_records;
mod severity;
mod update;
mod version_corpus;
mod version_props;
