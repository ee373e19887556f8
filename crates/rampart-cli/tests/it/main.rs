//! Every integration test of this crate, in one test binary: one module per former
//! `tests/*.rs` file (one binary links once instead of once per file).

mod admission;
mod admission_certs;
mod admission_mtls;
mod architecture;
mod cli;
mod db;
mod defaults;
mod deps;
mod docs;
mod help;
mod iac;
mod iac_cloud;
mod image;
mod image_credentials;
mod image_hostile;
mod image_tls;
mod k8s;
mod merge;
mod metrics;
mod monitor;
mod noise;
mod one_walk;
mod peers;
mod policy;
mod rbac;
mod sbom;
mod severity;
mod supply;
mod trust;
mod trust_inputs;
mod trust_secrets;
mod yaml_limits;
