//! `rampart iac`: Dockerfile and Terraform rules, plus custom Rego policies (`--policy`)
//! over Dockerfiles, `.tf`, YAML and JSON files.

use crate::args::{CommonArgs, SecretArgs};
use crate::commands::part::ScanPart;
use crate::settings::Settings;
use anyhow::{bail, Context, Result};
use clap::Args;
use rampart_core::scan::Policies;
use rampart_core::walk::Tree;
use rampart_core::{Report, RuleMeta};
use rampart_iac::scan::ScanOptions;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

/// `rampart iac`.
#[derive(Debug, Args)]
pub struct IacCmd {
    /// Directory or file to scan.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Rego policy directory or file (Conftest conventions: `deny`, `violation`, `warn`
    /// rules). Repeatable. Policies also run on YAML and JSON files.
    #[arg(long, value_name = "DIR")]
    pub policy: Vec<PathBuf>,
    /// Policy package whose rules run (default `main`). Repeatable.
    #[arg(long, value_name = "NS")]
    pub namespace: Vec<String>,
    /// Run the rules of every policy package.
    #[arg(long, conflicts_with = "namespace")]
    pub all_namespaces: bool,
    /// Report options.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Rule metadata of everything `rampart iac` can report: Dockerfile, Terraform and the
/// Kubernetes rules applied to `kubernetes_*` resources.
pub fn metas() -> Vec<RuleMeta> {
    rampart_iac::scan::metas()
}

/// The IaC part of `rampart scan` (built-in rules only; no custom policies), from the
/// scan's one walk of the tree.
pub fn scan_part(tree: &Tree) -> ScanPart {
    rampart_iac::scan::scan(tree, &ScanOptions::default()).into_part()
}

/// `rampart iac …`.
pub fn run(cmd: IacCmd) -> Result<u8> {
    let started = Instant::now();
    if !cmd.path.exists() {
        bail!("{}: no such file or directory", cmd.path.display());
    }
    let settings = Settings::resolve(&cmd.common, &SecretArgs::default(), &cmd.path)?;
    let policies = if cmd.policy.is_empty() {
        None
    } else {
        let ns: Vec<String> = if cmd.all_namespaces {
            vec!["*".into()]
        } else {
            cmd.namespace.clone()
        };
        Some(rampart_policy::load(&cmd.policy, &ns).context("cannot load policies")?)
    };
    let tree = Tree::collect(&cmd.path, &settings.walk)
        .with_context(|| format!("cannot scan {}", cmd.path.display()))?;
    let scanned = rampart_iac::scan::scan(
        &tree,
        &ScanOptions {
            policies: policies.as_ref().map(|p| p as &dyn Policies),
        },
    );
    let mut report = Report::new(cmd.path.display().to_string(), vec!["iac".into()]);
    report.summary.files_scanned = scanned.files_scanned;
    report.summary.bytes_scanned = scanned.bytes_scanned;
    for (k, v) in &scanned.skipped {
        report.skip(k, *v);
    }
    if policies.is_some() {
        report.scanners.push("policy".into());
    }
    let part = scanned.into_part();
    report.findings = part.findings;
    report.errors = part.errors;
    let metas: HashMap<String, RuleMeta> =
        part.metas.into_iter().map(|m| (m.id.clone(), m)).collect();
    report.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    crate::commands::output::finish(report, &settings, true, |id| metas.get(id).cloned())
}
