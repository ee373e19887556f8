//! `rampart k8s`: Kubernetes manifests (plain, Kustomize, Helm) through the Pod
//! Security Standards, the best-practice rules and optional Rego policies.

use crate::args::{CommonArgs, SecretArgs};
use crate::commands::part::ScanPart;
use crate::settings::Settings;
use anyhow::{bail, Context as _, Result};
use clap::Args;
use rampart_core::config::K8sConfig;
use rampart_core::scan::Policies;
use rampart_core::walk::Tree;
use rampart_core::{Report, RuleMeta};
use rampart_k8s::pss::{Level, PssVersion};
use rampart_k8s::render::TreeOptions;
use rampart_k8s::scan::ScanOptions;
use rampart_policy::PolicySet;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

/// `rampart k8s`.
#[derive(Debug, Args)]
pub struct K8sCmd {
    /// Files or directories to scan (manifests are found by content; Kustomize
    /// directories are built, Helm charts rendered).
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Check this Pod Security Standards level only (baseline|restricted) and report the
    /// level each workload meets. Default: every PSS control, no level report.
    #[arg(long, value_name = "LEVEL")]
    pub pss: Option<String>,
    /// Pod Security Standards version, as `pod-security.kubernetes.io/enforce-version`:
    /// `latest` (default) or `v1.N`.
    #[arg(long, value_name = "VERSION")]
    pub pss_version: Option<String>,
    /// Directory of Rego policies (Conftest conventions) evaluated on every object.
    /// Repeatable.
    #[arg(long, value_name = "DIR")]
    pub policy: Vec<PathBuf>,
    /// Rego package to evaluate (default `main`). Repeatable.
    #[arg(long, value_name = "PACKAGE")]
    pub namespace: Vec<String>,
    /// Values file for `helm template`. Repeatable.
    #[arg(long = "values", value_name = "FILE")]
    pub values: Vec<PathBuf>,
    /// Release namespace for `helm template` (`.Release.Namespace`; Helm's default is
    /// `default`, which the default-namespace rule reports).
    #[arg(long, value_name = "NS")]
    pub helm_namespace: Option<String>,
    /// Scan Kustomize directories' raw files instead of building them.
    #[arg(long)]
    pub no_kustomize: bool,
    /// Let `kubectl kustomize` fetch remote resources (https/git URLs). Without it a
    /// kustomization naming one is not built (an error names the resource).
    #[arg(long)]
    pub allow_remote: bool,
    /// Report options.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Id of the informational finding that states the PSS level a workload meets.
pub use rampart_k8s::scan::LEVEL_RULE;

/// Every rule `rampart k8s` may report (PSS, best practice, the level finding).
pub fn metas() -> Vec<RuleMeta> {
    rampart_k8s::scan::metas()
}

/// The policies `--policy` and `k8s.policies` name (none: `None`).
fn load_policies(kcfg: &K8sConfig, cmd: Option<&K8sCmd>) -> Result<Option<PolicySet>> {
    let mut policy_dirs = kcfg.policies.clone();
    let mut namespaces = Vec::new();
    if let Some(c) = cmd {
        policy_dirs.extend(c.policy.iter().cloned());
        namespaces.extend(c.namespace.iter().cloned());
    }
    if policy_dirs.is_empty() {
        return Ok(None);
    }
    rampart_policy::load(&policy_dirs, &namespaces)
        .map(Some)
        .map_err(|e| anyhow::anyhow!("cannot load policies: {e}"))
}

/// The typed options of a Kubernetes scan, from the flags and the configuration.
fn scan_options<'a>(
    settings: &Settings,
    kcfg: &K8sConfig,
    cmd: Option<&K8sCmd>,
    policies: Option<&'a PolicySet>,
) -> Result<ScanOptions<'a>> {
    let pss_arg = cmd.and_then(|c| c.pss.clone()).or(kcfg.pss.clone());
    let pss_level = match pss_arg.as_deref() {
        None => None,
        Some(s) => Some(
            s.parse::<Level>()
                .map_err(|e| anyhow::anyhow!("--pss: {e}"))?,
        ),
    };
    let version_arg = cmd
        .and_then(|c| c.pss_version.clone())
        .or(kcfg.pss_version.clone());
    let pss_version = PssVersion::parse_opt(version_arg.as_deref())
        .map_err(|e| anyhow::anyhow!("--pss-version: {e}"))?;
    let mut helm_values = kcfg.helm_values.clone();
    if let Some(c) = cmd {
        helm_values.extend(c.values.iter().cloned());
    }
    let tree = TreeOptions {
        kustomize: !cmd.is_some_and(|c| c.no_kustomize),
        helm_values,
        helm_namespace: cmd
            .and_then(|c| c.helm_namespace.clone())
            .or(kcfg.helm_namespace.clone()),
        // Network access is the runner's: the flag, or `k8s.allow_remote` in --config
        // (refused in a repository's rampart.yaml).
        allow_remote: cmd.is_some_and(|c| c.allow_remote) || kcfg.allow_remote.unwrap_or(false),
        walk: settings.walk.clone(),
        ..TreeOptions::default()
    };
    let mut disable = kcfg.disable.clone();
    disable.extend(settings.disable.iter().cloned());
    Ok(ScanOptions {
        tree,
        pss_level,
        pss_version,
        disable,
        policies: policies.map(|p| p as &dyn Policies),
    })
}

/// `rampart k8s …`.
pub fn run(cmd: K8sCmd) -> Result<u8> {
    let started = Instant::now();
    for p in &cmd.paths {
        if !p.exists() {
            bail!("{}: no such file or directory", p.display());
        }
    }
    let root = cmd
        .paths
        .first()
        .cloned()
        .unwrap_or_else(|| PathBuf::from("."));
    let settings = Settings::resolve(&cmd.common, &SecretArgs::default(), &root)?;
    let kcfg = settings.k8s.clone();
    let policies = load_policies(&kcfg, Some(&cmd))?;
    let opts = scan_options(&settings, &kcfg, Some(&cmd), policies.as_ref())?;
    let trees = cmd
        .paths
        .iter()
        .map(|p| {
            Tree::collect(p, &settings.walk).with_context(|| format!("cannot scan {}", p.display()))
        })
        .collect::<Result<Vec<_>>>()?;
    let scanned = rampart_k8s::scan::scan(&trees.iter().collect::<Vec<_>>(), &opts);
    let target = cmd
        .paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" ");
    let mut report = Report::new(target, vec!["k8s".into()]);
    report.findings = scanned.findings;
    report.errors = scanned.errors;
    report.stale_ignores = scanned.stale;
    report.summary.files_scanned = scanned.files;
    report.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let metas: HashMap<String, RuleMeta> = scanned
        .metas
        .into_iter()
        .map(|m| (m.id.clone(), m))
        .collect();
    crate::commands::output::finish(report, &settings, true, |id| metas.get(id).cloned())
}

/// What `rampart k8s` contributes to `rampart scan` (PSS at the configured level and
/// version, best practice, configured policies, annotation exceptions), from the scan's
/// one walk of the tree.
pub fn scan_part(tree: &Tree, settings: &Settings) -> Result<ScanPart> {
    let kcfg = &settings.k8s;
    let policies = load_policies(kcfg, None)?;
    let opts = scan_options(settings, kcfg, None, policies.as_ref())?;
    Ok(rampart_k8s::scan::scan(&[tree], &opts).into_part())
}
