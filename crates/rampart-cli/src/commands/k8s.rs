//! `rampart k8s`: Kubernetes manifests (plain, Kustomize, Helm) through the Pod
//! Security Standards, the best-practice rules and optional Rego policies.

use crate::args::{CommonArgs, SecretArgs};
use crate::commands::part::ScanPart;
use crate::settings::Settings;
use anyhow::{bail, Context as _, Result};
use clap::Args;
use rampart_core::config::K8sConfig;
use rampart_core::{Finding, Report, RuleMeta, ScanError, Severity};
use rampart_k8s::pss::{level_met, Level, PssVersion};
use rampart_k8s::render::{load_tree, LoadedSet, TreeOptions};
use rampart_k8s::{Context, Object};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
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
pub const LEVEL_RULE: &str = "k8s/pss-level";

fn level_meta() -> RuleMeta {
    RuleMeta {
        id: LEVEL_RULE.into(),
        area: "k8s".into(),
        title: "Pod Security Standards level met".into(),
        severity: Severity::Info,
        description: "With --pss LEVEL, every workload gets one informational finding stating the strictest Pod Security Standards level it meets (privileged, baseline or restricted) at the selected version, so a namespace's pod-security.kubernetes.io/enforce label can be chosen with confidence.".into(),
        remediation: "Fix the PSS findings of the workload to reach the wanted level.".into(),
        references: vec!["https://kubernetes.io/docs/concepts/security/pod-security-standards/".into()],
        peers: Vec::new(),
        tags: vec!["pss".into(), "kubernetes".into()],
    }
}

fn k8s_config(settings: &Settings) -> Result<K8sConfig> {
    Ok(settings.k8s.clone())
}

fn disabled(id: &str, disable: &[String]) -> bool {
    disable.iter().any(|d| {
        d == id
            || d.strip_suffix('*')
                .is_some_and(|prefix| id.starts_with(prefix))
    })
}

/// Every rule `rampart k8s` may report (PSS, best practice, the level finding).
pub fn metas() -> Vec<RuleMeta> {
    let mut m = rampart_k8s::rules::all()
        .into_iter()
        .map(|r| r.meta)
        .collect::<Vec<_>>();
    m.push(level_meta());
    m
}

struct Scanned {
    findings: Vec<Finding>,
    errors: Vec<ScanError>,
    stale: Vec<rampart_core::report::StaleIgnore>,
    files: u64,
}

fn tree_options(settings: &Settings, values: Vec<PathBuf>, kustomize: bool) -> TreeOptions {
    TreeOptions {
        kustomize,
        helm_values: values,
        walk: settings.walk.clone(),
        ..TreeOptions::default()
    }
}

fn load_paths(paths: &[PathBuf], opts: &TreeOptions) -> Result<(Vec<Object>, Vec<ScanError>, u64)> {
    let mut objects = Vec::new();
    let mut errors = Vec::new();
    let mut files = 0;
    for p in paths {
        let LoadedSet {
            objects: o,
            errors: e,
            notes,
            files: f,
            ..
        } = load_tree(p, opts).with_context(|| format!("cannot scan {}", p.display()))?;
        objects.extend(o);
        errors.extend(e);
        for n in notes {
            errors.push(ScanError {
                path: p.display().to_string(),
                line: None,
                message: n,
            });
        }
        files += f;
    }
    Ok((objects, errors, files))
}

fn scan_objects(
    objects: &[Object],
    ctx: &Context,
    disable: &[String],
    level: Option<Level>,
    version: &PssVersion,
) -> (
    Vec<Finding>,
    Vec<rampart_core::report::StaleIgnore>,
    Vec<ScanError>,
) {
    let mut findings = rampart_k8s::check_set(objects, ctx);
    findings.retain(|f| !disabled(&f.rule_id, disable));
    if level.is_some() {
        let meta = level_meta();
        for obj in objects {
            if rampart_k8s::podspec::pod_spec(&obj.value).is_none() {
                continue;
            }
            let met = level_met(obj, version);
            let r = obj.object_ref();
            let fp = rampart_core::fingerprint::fingerprint(&[
                LEVEL_RULE,
                obj.path.as_deref().unwrap_or(""),
                &r.kind,
                r.namespace.as_deref().unwrap_or(""),
                &r.name,
            ]);
            let mut f = Finding::new(
                &meta,
                format!(
                    "{} meets the {met} Pod Security Standard ({version})",
                    r.display()
                ),
                obj.location(""),
                fp,
            );
            f.properties
                .insert("pss_level_met".into(), met.as_str().into());
            f.properties
                .insert("pss_version".into(), version.to_string().into());
            findings.push(f);
        }
    }
    let today = rampart_k8s::exceptions::today();
    let applied =
        rampart_k8s::exceptions::apply_set_exceptions(objects, &mut findings, today, true);
    let errors = applied
        .problems
        .into_iter()
        .map(|p| {
            let (path, msg) = p.split_once(": ").unwrap_or(("", &p));
            let (path, line) = match path.rsplit_once(':') {
                Some((f, l)) => (f.to_string(), l.parse().ok()),
                None => (path.to_string(), None),
            };
            ScanError {
                path,
                line,
                message: format!("rampart.dev/ignore: {msg}"),
            }
        })
        .collect();
    (findings, applied.stale, errors)
}

fn run_scan(
    paths: &[PathBuf],
    settings: &Settings,
    kcfg: &K8sConfig,
    cmd: Option<&K8sCmd>,
) -> Result<(Scanned, Vec<RuleMeta>)> {
    let pss_arg = cmd.and_then(|c| c.pss.clone()).or(kcfg.pss.clone());
    let level = match pss_arg.as_deref() {
        None => None,
        Some(s) => Some(
            s.parse::<Level>()
                .map_err(|e| anyhow::anyhow!("--pss: {e}"))?,
        ),
    };
    let version_arg = cmd
        .and_then(|c| c.pss_version.clone())
        .or(kcfg.pss_version.clone());
    let version = PssVersion::parse_opt(version_arg.as_deref())
        .map_err(|e| anyhow::anyhow!("--pss-version: {e}"))?;
    let mut values = kcfg.helm_values.clone();
    if let Some(c) = cmd {
        values.extend(c.values.iter().cloned());
    }
    let kustomize = !cmd.is_some_and(|c| c.no_kustomize);
    let mut policy_dirs = kcfg.policies.clone();
    let mut namespaces = Vec::new();
    if let Some(c) = cmd {
        policy_dirs.extend(c.policy.iter().cloned());
        namespaces.extend(c.namespace.iter().cloned());
    }
    let mut opts = tree_options(settings, values, kustomize);
    opts.helm_namespace = cmd
        .and_then(|c| c.helm_namespace.clone())
        .or(kcfg.helm_namespace.clone());
    // Network access is the runner's: the flag, or `k8s.allow_remote` in --config
    // (refused in a repository's rampart.yaml).
    opts.allow_remote = cmd.is_some_and(|c| c.allow_remote) || kcfg.allow_remote.unwrap_or(false);
    // No built-in rule reads a CRD's schema; custom policies may.
    opts.limits.skim_crd_bodies = policy_dirs.is_empty();
    let (objects, mut errors, files) = load_paths(paths, &opts)?;
    let ctx = Context {
        pss_version: Some(version.to_string()),
        pss_level: level,
    };
    let mut disable = kcfg.disable.clone();
    disable.extend(settings.disable.iter().cloned());
    let (mut findings, stale, errs) = scan_objects(&objects, &ctx, &disable, level, &version);
    errors.extend(errs);
    let mut metas = metas();

    // Rego policies.
    if !policy_dirs.is_empty() {
        let set = rampart_policy::load(&policy_dirs, &namespaces)
            .map_err(|e| anyhow::anyhow!("cannot load policies: {e}"))?;
        metas.extend(set.metas());
        for obj in &objects {
            match set.evaluate(&obj.value, &obj.location("")) {
                Ok(f) => findings.extend(f),
                Err(e) => errors.push(ScanError {
                    path: obj
                        .path
                        .clone()
                        .unwrap_or_else(|| obj.object_ref().display()),
                    line: obj.span("").map(|s| s.start_line),
                    message: e.to_string(),
                }),
            }
        }
        findings.retain(|f| !disabled(&f.rule_id, &disable));
    }
    // The objects of a large tree are hundreds of MB of small allocations, made on the
    // walker's threads; freeing them one by one took a tenth of a 10,000-file scan. The
    // command ends after its report, so they are left to the process exit.
    std::mem::forget(objects);
    Ok((
        Scanned {
            findings,
            errors,
            stale,
            files,
        },
        metas,
    ))
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
    let kcfg = k8s_config(&settings)?;
    let (scanned, metas) = run_scan(&cmd.paths, &settings, &kcfg, Some(&cmd))?;
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
    let metas: HashMap<String, RuleMeta> = metas.into_iter().map(|m| (m.id.clone(), m)).collect();
    crate::commands::output::finish(report, &settings, true, |id| metas.get(id).cloned())
}

/// What `rampart k8s` contributes to `rampart scan` (PSS at the configured level and
/// version, best practice, configured policies, annotation exceptions).
pub fn scan_part(root: &Path, settings: &Settings) -> Result<ScanPart> {
    let kcfg = k8s_config(settings)?;
    let (scanned, metas) = run_scan(&[root.to_path_buf()], settings, &kcfg, None)?;
    // Annotation exceptions are applied already; their stale entries are not carried
    // by ScanPart, so report expired ones as errors rather than drop them.
    let mut errors = scanned.errors;
    for s in scanned
        .stale
        .into_iter()
        .filter(|s| s.message.contains("expired"))
    {
        errors.push(ScanError {
            path: s.source,
            line: None,
            message: s.message,
        });
    }
    Ok(ScanPart {
        scanner: "k8s",
        findings: scanned.findings,
        errors,
        metas,
    })
}
