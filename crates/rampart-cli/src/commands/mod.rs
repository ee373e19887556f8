//! One module per subcommand.

pub mod admission;
pub mod db;
pub mod deps;
pub mod hook;
pub mod iac;
pub mod image;
pub mod k8s;
pub mod monitor;
pub mod output;
pub mod part;
pub mod rbac;
pub mod rules;
pub mod sbom;
pub mod scan;
pub mod supply;
