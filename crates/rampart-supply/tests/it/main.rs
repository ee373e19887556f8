//! rampart-supply's integration tests, one binary.

mod corpus;
mod cosign_keys;
