//! The IaC part of a scan: every Dockerfile and Terraform file of a walked tree through
//! the built-in rules and, when given, custom policies over Dockerfiles, `.tf`, YAML and
//! JSON files. `rampart iac` and `rampart scan` both call [`scan`].

use rampart_core::scan::Policies;
use rampart_core::walk::{Tree, WalkedFile};
use rampart_core::{Finding, RuleMeta, ScanError, ScanPart};
use std::collections::{BTreeMap, HashSet};

/// How to scan.
#[derive(Clone, Copy, Default)]
pub struct ScanOptions<'a> {
    /// Custom policies (Conftest conventions) evaluated on every Dockerfile, Terraform,
    /// YAML and JSON file; `None`: the built-in rules only.
    pub policies: Option<&'a dyn Policies>,
}

/// What an IaC scan produced.
#[derive(Debug, Default)]
pub struct IacScan {
    /// Findings (before suppression).
    pub findings: Vec<Finding>,
    /// Files that could not be checked.
    pub errors: Vec<ScanError>,
    /// Metadata of every rule that may appear in `findings`.
    pub metas: Vec<RuleMeta>,
    /// Files read.
    pub files_scanned: u64,
    /// Bytes read.
    pub bytes_scanned: u64,
    /// Skipped files by reason.
    pub skipped: BTreeMap<String, u64>,
}

impl IacScan {
    /// The part of a combined report.
    pub fn into_part(self) -> ScanPart {
        ScanPart {
            scanner: "iac",
            findings: self.findings,
            errors: self.errors,
            metas: self.metas,
        }
    }
}

/// Rule metadata of everything an IaC scan can report: Dockerfile, Terraform and the
/// Kubernetes rules applied to `kubernetes_*` resources.
pub fn metas() -> Vec<RuleMeta> {
    let mut v = crate::metas();
    v.extend(rampart_k8s::metas());
    v
}

#[derive(Default)]
struct FileOut {
    findings: Vec<Finding>,
    errors: Vec<ScanError>,
    terraform: Vec<crate::terraform::Source>,
}

fn visit(f: &WalkedFile<'_>, policies: Option<&dyn Policies>) -> FileOut {
    let mut out = FileOut::default();
    // Terraform files are only parsed here: each directory is checked as one module
    // (variables, tfvars, locals) once every file is read.
    if let Some(r) = crate::prepare_file(f.rel, f.content) {
        out.findings = r.findings;
        out.errors = r.errors;
        out.terraform = r.terraform;
    }
    if let Some(set) = policies {
        let (inputs, errors) = crate::inputs::policy_inputs(f.rel, f.content);
        // A Dockerfile/.tf parse error is already reported by the rules.
        if crate::kind_of(f.rel).is_none() {
            out.errors.extend(errors);
        }
        for i in inputs {
            match set.evaluate(&i.value, &i.location) {
                Ok(fs) => out.findings.extend(fs),
                Err(e) => out.errors.push(ScanError {
                    path: f.rel.to_string(),
                    line: i.location.line(),
                    message: e,
                }),
            }
        }
    }
    out
}

/// Scan the IaC files of a tree walked once.
pub fn scan(tree: &Tree, opts: &ScanOptions<'_>) -> IacScan {
    let policies = opts.policies;
    let outcome = tree.visit(
        |name| match policies {
            Some(_) => crate::inputs::is_policy_file(name),
            None => crate::kind_of(name).is_some(),
        },
        |f| visit(f, policies),
    );
    let mut out = IacScan {
        metas: metas(),
        files_scanned: outcome.files_scanned,
        bytes_scanned: outcome.bytes_scanned,
        skipped: outcome.skipped,
        ..IacScan::default()
    };
    let mut terraform = Vec::new();
    for r in outcome.results {
        out.findings.extend(r.findings);
        out.errors.extend(r.errors);
        terraform.extend(r.terraform);
    }
    out.findings.extend(crate::finish_terraform(terraform));
    out.errors.extend(outcome.errors);
    if let Some(p) = policies {
        let mut known: HashSet<String> = out.metas.iter().map(|m| m.id.clone()).collect();
        for m in p.metas() {
            if known.insert(m.id.clone()) {
                out.metas.push(m);
            }
        }
        for f in &out.findings {
            if known.insert(f.rule_id.clone()) {
                out.metas.push(p.meta_of(f));
            }
        }
    }
    out
}
