//! Rampart: Dockerfile and Terraform rules.
//!
//! * [`dockerfile`]: a Dockerfile parser and `docker/<slug>` rules (hadolint, Checkov
//!   `CKV_DOCKER_*` equivalents).
//! * [`terraform`]: Terraform (HCL `.tf` and JSON `.tf.json`) `terraform/<slug>` rules for EKS, GKE and AKS clusters,
//!   and `kubernetes_*` provider resources converted to Kubernetes objects and checked by
//!   `rampart-k8s`.
//!
//! [`scan_file`] dispatches on the file name; it never panics and never fails: problems
//! become [`ScanError`]s with a line where known.

pub mod dockerfile;
pub mod inputs;
pub mod meta;
pub mod terraform;

use rampart_core::{Finding, RuleMeta, ScanError};

/// What one file produced.
#[derive(Debug, Default)]
pub struct FileResult {
    /// Findings.
    pub findings: Vec<Finding>,
    /// Problems (parse errors with a line where known).
    pub errors: Vec<ScanError>,
}

/// Which IaC language a file is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A Dockerfile / Containerfile.
    Dockerfile,
    /// A Terraform `.tf` file.
    Terraform,
    /// A Terraform JSON-syntax `.tf.json` file.
    TerraformJson,
}

/// The kind of a file by its name, if it is one this crate scans.
pub fn kind_of(path: &str) -> Option<Kind> {
    let name = path.rsplit('/').next().unwrap_or(path);
    if dockerfile::is_dockerfile(name) {
        Some(Kind::Dockerfile)
    } else if name.to_ascii_lowercase().ends_with(".tf") {
        Some(Kind::Terraform)
    } else if name.to_ascii_lowercase().ends_with(".tf.json") {
        Some(Kind::TerraformJson)
    } else {
        None
    }
}

/// Scan one file (`path` relative to the scan root, `/`-separated), or `None` when it
/// is not a Dockerfile or Terraform file.
pub fn scan_file(path: &str, content: &[u8]) -> Option<FileResult> {
    let kind = kind_of(path)?;
    let text = String::from_utf8_lossy(content);
    let (findings, errors) = match kind {
        Kind::Dockerfile => dockerfile::check(path, &text),
        Kind::Terraform => terraform::check(path, &text),
        Kind::TerraformJson => terraform::check_json(path, &text),
    };
    Some(FileResult { findings, errors })
}

/// Metadata of every Dockerfile and Terraform rule (the `kubernetes_*` resources report
/// `rampart-k8s` rules, whose metadata comes from that crate).
pub fn metas() -> Vec<RuleMeta> {
    let mut v = dockerfile::rules::metas();
    v.extend(terraform::metas());
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        for n in [
            "Dockerfile",
            "a/Containerfile",
            "x/app.Dockerfile",
            "Dockerfile.prod",
            "dockerfile",
        ] {
            assert_eq!(kind_of(n), Some(Kind::Dockerfile), "{n}");
        }
        assert_eq!(kind_of("main.tf"), Some(Kind::Terraform));
        assert_eq!(kind_of("Dockerfile.dockerignore"), None);
        assert_eq!(kind_of("cdk.tf.json"), Some(Kind::TerraformJson));
        assert_eq!(kind_of("package.json"), None);
        assert_eq!(kind_of("README.md"), None);
    }

    #[test]
    fn metadata_is_complete_and_unique() {
        let mut reg = rampart_core::Registry::new();
        reg.extend(metas()).unwrap();
        assert!(reg.problems().is_empty(), "{:?}", reg.problems());
        assert!(reg.len() >= 40, "{}", reg.len());
    }
}
