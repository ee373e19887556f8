//! `rampart iac`: Dockerfile and Terraform rules, plus custom Rego policies (`--policy`)
//! over Dockerfiles, `.tf`, YAML and JSON files.

use crate::args::{CommonArgs, SecretArgs};
use crate::commands::part::ScanPart;
use crate::settings::Settings;
use anyhow::{bail, Context, Result};
use clap::Args;
use rampart_core::walk::{walk_filtered, WalkedFile};
use rampart_core::{Finding, Report, RuleMeta, ScanError};
use rampart_policy::PolicySet;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
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

/// What one walked file produced.
#[derive(Default)]
struct FileOut {
    findings: Vec<Finding>,
    errors: Vec<ScanError>,
}

fn visit(f: &WalkedFile<'_>, policies: Option<&PolicySet>) -> FileOut {
    let mut out = FileOut::default();
    if let Some(r) = rampart_iac::scan_file(f.rel, f.content) {
        out.findings = r.findings;
        out.errors = r.errors;
    }
    if let Some(set) = policies {
        let (inputs, errors) = rampart_iac::inputs::policy_inputs(f.rel, f.content);
        // A Dockerfile/.tf parse error is already reported by the rules.
        if rampart_iac::kind_of(f.rel).is_none() {
            out.errors.extend(errors);
        }
        for i in inputs {
            match set.evaluate(&i.value, &i.location) {
                Ok(fs) => out.findings.extend(fs),
                Err(e) => out.errors.push(ScanError {
                    path: f.rel.to_string(),
                    line: i.location.line(),
                    message: e.to_string(),
                }),
            }
        }
    }
    out
}

/// Scan `root` with the built-in IaC rules and, when given, the policies.
fn scan(
    root: &Path,
    settings: &Settings,
    policies: Option<&PolicySet>,
) -> Result<(ScanPart, Report)> {
    let with_policies = policies.is_some();
    let outcome = walk_filtered(
        root,
        &settings.walk,
        |name| {
            if with_policies {
                rampart_iac::inputs::is_policy_file(name)
            } else {
                rampart_iac::kind_of(name).is_some()
            }
        },
        |f| visit(f, policies),
    )
    .with_context(|| format!("cannot scan {}", root.display()))?;
    let mut part = ScanPart {
        scanner: "iac",
        metas: metas(),
        ..ScanPart::default()
    };
    for r in outcome.results {
        part.findings.extend(r.findings);
        part.errors.extend(r.errors);
    }
    part.errors.extend(outcome.errors);
    if let Some(p) = policies {
        let mut known: std::collections::HashSet<String> =
            part.metas.iter().map(|m| m.id.clone()).collect();
        for m in p.metas() {
            if known.insert(m.id.clone()) {
                part.metas.push(m);
            }
        }
        for f in &part.findings {
            if known.insert(f.rule_id.clone()) {
                part.metas.push(rampart_policy::meta_from_finding(f));
            }
        }
    }
    let mut report = Report::new(root.display().to_string(), vec!["iac".into()]);
    report.summary.files_scanned = outcome.files_scanned;
    report.summary.bytes_scanned = outcome.bytes_scanned;
    for (k, v) in outcome.skipped {
        report.skip(&k, v);
    }
    Ok((part, report))
}

/// Rule metadata of everything `rampart iac` can report: Dockerfile, Terraform and the
/// Kubernetes rules applied to `kubernetes_*` resources.
pub fn metas() -> Vec<RuleMeta> {
    let mut v = rampart_iac::metas();
    v.extend(rampart_k8s::metas());
    v
}

/// The IaC part of `rampart scan` (built-in rules only; no custom policies).
pub fn scan_part(root: &Path, settings: &Settings) -> Result<ScanPart> {
    Ok(scan(root, settings, None)?.0)
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
    let (part, mut report) = scan(&cmd.path, &settings, policies.as_ref())?;
    if policies.is_some() {
        report.scanners.push("policy".into());
    }
    report.findings = part.findings;
    report.errors = part.errors;
    let metas: HashMap<String, RuleMeta> =
        part.metas.into_iter().map(|m| (m.id.clone(), m)).collect();
    report.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    crate::commands::output::finish(report, &settings, true, |id| metas.get(id).cloned())
}
