//! Every integration test of this crate, in one test binary: one module per former
//! `tests/*.rs` file (one binary links once instead of once per file).

mod cluster;
mod common;
mod corpora;
mod deploy;
mod image_refs;
mod registry_digests;
mod server;
mod trust;
