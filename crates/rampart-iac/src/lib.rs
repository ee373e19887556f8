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
pub mod scan;
pub mod terraform;

use rampart_core::{Finding, RuleMeta, ScanError};

/// What one file produced.
#[derive(Debug, Default)]
pub struct FileResult {
    /// Findings.
    pub findings: Vec<Finding>,
    /// Problems (parse errors with a line where known).
    pub errors: Vec<ScanError>,
    /// Terraform files parsed by [`prepare_file`], checked later, module by module, by
    /// [`finish_terraform`].
    pub terraform: Vec<terraform::Source>,
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
    /// A Terraform variable values file (`.tfvars`).
    TerraformVars,
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
    } else if name.to_ascii_lowercase().ends_with(".tfvars") {
        Some(Kind::TerraformVars)
    } else {
        None
    }
}

/// Scan one file on its own (`path` relative to the scan root, `/`-separated), or `None`
/// when it is not a Dockerfile or Terraform file. A Terraform file is one module by
/// itself here: use [`prepare_file`] and [`finish_terraform`] to evaluate the variables
/// and locals of a whole directory.
pub fn scan_file(path: &str, content: &[u8]) -> Option<FileResult> {
    let mut r = prepare_file(path, content)?;
    let sources = std::mem::take(&mut r.terraform);
    r.findings.extend(finish_terraform(sources));
    Some(r)
}

/// First step of a tree scan: a Dockerfile is checked at once; a Terraform file is parsed
/// and returned in [`FileResult::terraform`] (or its parse error in `errors`), for
/// [`finish_terraform`] once every file of the tree has been read.
pub fn prepare_file(path: &str, content: &[u8]) -> Option<FileResult> {
    let kind = kind_of(path)?;
    let text = String::from_utf8_lossy(content);
    let mut r = FileResult::default();
    match kind {
        Kind::Dockerfile => (r.findings, r.errors) = dockerfile::check(path, &text),
        Kind::Terraform | Kind::TerraformJson | Kind::TerraformVars => {
            match terraform::parse_source(path, &text) {
                Ok(s) => r.terraform.push(s),
                Err(e) => r.errors.push(e),
            }
        }
    }
    Some(r)
}

/// Second step: check the Terraform files [`prepare_file`] parsed, each directory as one
/// module (variables, `terraform.tfvars`/`*.auto.tfvars` and locals evaluated).
pub fn finish_terraform(sources: Vec<terraform::Source>) -> Vec<Finding> {
    terraform::check_sources(sources)
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
        assert_eq!(kind_of("prod.auto.tfvars"), Some(Kind::TerraformVars));
        assert_eq!(kind_of("package.json"), None);
        assert_eq!(kind_of("README.md"), None);
    }

    #[test]
    fn bad_tfvars_is_an_error_with_a_line_and_the_module_is_still_checked() {
        let bad = prepare_file(
            "infra/terraform.tfvars",
            b"acl = \"public-read\"\nport = \n",
        )
        .unwrap();
        assert_eq!(bad.errors.len(), 1, "{:?}", bad.errors);
        assert_eq!(bad.errors[0].path, "infra/terraform.tfvars");
        assert!(bad.errors[0].line.is_some(), "{:?}", bad.errors);
        let main = prepare_file(
            "infra/main.tf",
            b"resource \"aws_s3_bucket\" \"b\" {\n  bucket = \"b\"\n  acl = \"public-read\"\n}\n",
        )
        .unwrap();
        let findings = finish_terraform(main.terraform);
        assert!(findings
            .iter()
            .any(|f| f.rule_id == "terraform/s3-public-read-acl"));
    }

    #[test]
    fn huge_count_stays_one_instance() {
        let started = std::time::Instant::now();
        let r = scan_file(
            "main.tf",
            b"resource \"aws_ebs_volume\" \"v\" {\n  count = 100000000\n  availability_zone = \"a\"\n}\n",
        )
        .unwrap();
        let hits: Vec<_> = r
            .findings
            .iter()
            .filter(|f| f.rule_id == "terraform/ebs-encryption")
            .collect();
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert!(started.elapsed().as_secs() < 2);
    }

    #[test]
    fn metadata_is_complete_and_unique() {
        let mut reg = rampart_core::Registry::new();
        reg.extend(metas()).unwrap();
        assert!(reg.problems().is_empty(), "{:?}", reg.problems());
        assert!(reg.len() >= 40, "{}", reg.len());
    }
}
