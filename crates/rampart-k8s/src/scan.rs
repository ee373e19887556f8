//! The Kubernetes part of a scan: manifests of one or more walked trees (plain,
//! Kustomize, Helm) through the Pod Security Standards and best-practice rules, the
//! `k8s/pss-level` finding, custom policies and the `rampart.dev/ignore` annotation
//! exceptions. `rampart k8s` and `rampart scan` both call [`scan`]; they only differ in
//! the options they pass.

use crate::exceptions;
use crate::pss::{level_met, Level, PssVersion};
use crate::render::{load_from_tree, LoadedSet, TreeOptions};
use crate::{Context, Object};
use rampart_core::report::StaleIgnore;
use rampart_core::scan::{disabled, Policies};
use rampart_core::walk::Tree;
use rampart_core::{Finding, RuleMeta, ScanError, ScanPart, Severity};

/// Id of the informational finding that states the PSS level a workload meets.
pub const LEVEL_RULE: &str = "k8s/pss-level";

/// Metadata of [`LEVEL_RULE`].
pub fn level_meta() -> RuleMeta {
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

/// Every rule a Kubernetes scan may report (PSS, best practice, the level finding).
pub fn metas() -> Vec<RuleMeta> {
    let mut m = crate::metas();
    m.push(level_meta());
    m
}

/// How to scan.
#[derive(Clone, Default)]
pub struct ScanOptions<'a> {
    /// Kustomize/Helm rendering and loader limits (`walk` is not used: the trees were
    /// walked already).
    pub tree: TreeOptions,
    /// Check this PSS level only and report the level each workload meets
    /// ([`LEVEL_RULE`]); `None`: every control, no level finding.
    pub pss_level: Option<Level>,
    /// The PSS version the controls follow.
    pub pss_version: PssVersion,
    /// Rule ids (or `prefix*`) switched off.
    pub disable: Vec<String>,
    /// Custom policies evaluated on every object.
    pub policies: Option<&'a dyn Policies>,
}

/// What a Kubernetes scan produced.
#[derive(Debug, Default)]
pub struct K8sScan {
    /// Findings (annotation exceptions applied as suppressions).
    pub findings: Vec<Finding>,
    /// Files, documents, charts or kustomizations that could not be checked, and
    /// malformed annotation exceptions.
    pub errors: Vec<ScanError>,
    /// Annotation exceptions that expired or matched nothing.
    pub stale: Vec<StaleIgnore>,
    /// Files read.
    pub files: u64,
    /// Metadata of every rule that may appear in `findings`.
    pub metas: Vec<RuleMeta>,
}

impl K8sScan {
    /// The part of a combined report. A [`ScanPart`] carries no stale ignores: expired
    /// exceptions become errors (they no longer apply, and nothing may pass silently);
    /// unused ones are dropped.
    pub fn into_part(self) -> ScanPart {
        let mut errors = self.errors;
        for s in self
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
        ScanPart {
            scanner: "k8s",
            findings: self.findings,
            errors,
            metas: self.metas,
        }
    }
}

/// Scan the manifests of `trees` (each walked once by the caller).
pub fn scan(trees: &[&Tree], opts: &ScanOptions<'_>) -> K8sScan {
    let mut tree_opts = opts.tree.clone();
    // No built-in rule reads a CRD's schema; custom policies may.
    tree_opts.limits.skim_crd_bodies = opts.policies.is_none();
    let mut objects = Vec::new();
    let mut out = K8sScan::default();
    for tree in trees {
        let LoadedSet {
            objects: o,
            errors: e,
            notes,
            files: f,
            ..
        } = load_from_tree(tree, &tree_opts);
        objects.extend(o);
        out.errors.extend(e);
        for n in notes {
            out.errors.push(ScanError {
                path: tree.root().display().to_string(),
                line: None,
                message: n,
            });
        }
        out.files += f;
    }
    let ctx = Context {
        pss_version: Some(opts.pss_version.to_string()),
        pss_level: opts.pss_level,
    };
    let mut findings = crate::check_set(&objects, &ctx);
    // RBAC (crate::rbac): what the bindings grant (`rbac/*`), and the objects that
    // could not be resolved (errors: their grants were not analysed).
    let rbac = crate::rbac::check(&objects);
    findings.extend(rbac.findings);
    out.errors.extend(rbac.errors);
    findings.retain(|f| !disabled(&f.rule_id, &opts.disable));
    if opts.pss_level.is_some() {
        findings.extend(level_findings(&objects, &opts.pss_version));
    }
    let applied =
        exceptions::apply_set_exceptions(&objects, &mut findings, exceptions::today(), true);
    out.errors.extend(
        applied
            .problems
            .into_iter()
            .map(exceptions::Problem::into_scan_error),
    );
    out.stale = applied.stale;
    out.metas = metas();
    if let Some(policies) = opts.policies {
        out.metas.extend(policies.metas());
        for obj in &objects {
            match policies.evaluate(&obj.value, &obj.location("")) {
                Ok(f) => findings.extend(f),
                Err(e) => out.errors.push(ScanError {
                    path: obj
                        .path
                        .clone()
                        .unwrap_or_else(|| obj.object_ref().display()),
                    line: obj.span("").map(|s| s.start_line),
                    message: e,
                }),
            }
        }
        findings.retain(|f| !disabled(&f.rule_id, &opts.disable));
    }
    out.findings = findings;
    // The objects of a large tree are hundreds of MB of small allocations, made on the
    // walker's threads; freeing them one by one took a tenth of a 10,000-file scan. A
    // scan ends with its report, so they are left to the process exit.
    std::mem::forget(objects);
    out
}

/// One informational [`LEVEL_RULE`] finding per workload: the strictest level it meets.
fn level_findings(objects: &[Object], version: &PssVersion) -> Vec<Finding> {
    let meta = level_meta();
    let mut out = Vec::new();
    for obj in objects {
        if crate::podspec::pod_spec(&obj.value).is_none() {
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
        out.push(f);
    }
    out
}
