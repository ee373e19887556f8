//! The rule engine: every rule takes one object and a context and reports findings.
//!
//! [`check_set`] and [`check_object`] compute what the rules share (pod spec, container
//! list with field paths, object reference, the PSS level and version) once per object
//! in a [`Subject`] and run each rule's internal check on it; [`Rule::check`] remains
//! callable on its own (it builds the [`Subject`] for that one call).

use crate::object::Object;
use crate::podspec::{pod_spec, Container, PodSpec};
use rampart_core::{Finding, K8sObjectRef, RuleMeta};
use std::cell::OnceCell;

/// What a rule may know beyond the object itself.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Pod Security Standards version to evaluate (`latest` when `None`), e.g. `v1.25`.
    pub pss_version: Option<String>,
    /// Pod Security Standards level whose controls run (`restricted`, i.e. every
    /// control, when `None`). `Privileged` runs no PSS control.
    pub pss_level: Option<crate::pss::Level>,
}

/// One rule: metadata and a check.
pub struct Rule {
    /// Metadata (id `k8s/<slug>`).
    pub meta: RuleMeta,
    /// The check: push findings for `obj` (use [`Object::location`] for the field).
    pub check: fn(&Rule, &Object, &Context, &mut Vec<Finding>),
}

/// The signature of [`Rule::check`].
pub(crate) type CheckFn = fn(&Rule, &Object, &Context, &mut Vec<Finding>);

/// The internal check of a best-practice rule, over a prepared [`Subject`].
pub(crate) type FastFn = fn(&Rule, &Subject<'_>, &mut Vec<Finding>);

/// How the engine runs a rule on a prepared [`Subject`].
#[derive(Clone, Copy)]
pub(crate) enum Fast {
    /// A best-practice rule.
    Best(FastFn),
    /// The PSS control at this index of `pss::controls()`.
    Pss(usize),
}

/// A rule with its internal check.
pub(crate) type Entry = (Rule, Fast);

/// The context's PSS settings, resolved once per run.
pub(crate) struct PssRun {
    /// `version.minor()`.
    pub minor: u32,
    /// `version.to_string()`, for the `pss_version` property.
    pub version_str: String,
    /// Whether the control at each index of `pss::controls()` runs.
    pub active: Vec<bool>,
}

impl PssRun {
    pub(crate) fn new(ctx: &Context) -> PssRun {
        let version =
            crate::pss::PssVersion::parse_opt(ctx.pss_version.as_deref()).unwrap_or_default();
        let level = ctx.pss_level.unwrap_or(crate::pss::Level::Restricted);
        let minor = version.minor();
        PssRun {
            minor,
            version_str: version.to_string(),
            active: crate::pss::active_mask(level, minor),
        }
    }
}

/// One object and what the rules share about it, computed once.
pub(crate) struct Subject<'a> {
    /// The object.
    pub obj: &'a Object,
    /// The run's PSS settings.
    pub pss: &'a PssRun,
    /// Its pod spec, if it is a workload.
    pub pod: Option<PodSpec<'a>>,
    /// Every container of the pod spec (init, regular, ephemeral), empty without one.
    pub containers: Vec<Container<'a>>,
    pub(crate) kind: &'a str,
    name: &'a str,
    namespace: Option<&'a str>,
    /// The object reference and its display form, built at the first finding.
    oref: OnceCell<(K8sObjectRef, String)>,
}

impl<'a> Subject<'a> {
    pub(crate) fn new(obj: &'a Object, pss: &'a PssRun) -> Subject<'a> {
        let pod = pod_spec(&obj.value);
        let containers = pod.map(|p| p.containers()).unwrap_or_default();
        Subject {
            obj,
            pss,
            pod,
            containers,
            kind: obj.kind(),
            name: obj.name(),
            namespace: obj.namespace(),
            oref: OnceCell::new(),
        }
    }

    /// `kind`, or `""` (cached).
    pub(crate) fn kind(&self) -> &'a str {
        self.kind
    }

    /// `metadata.name` (or `generateName`), or `""` (cached).
    pub(crate) fn name(&self) -> &'a str {
        self.name
    }

    /// `metadata.namespace`, if set (cached).
    pub(crate) fn namespace(&self) -> Option<&'a str> {
        self.namespace
    }

    /// The object reference and its `display()` form (built once).
    pub(crate) fn object_ref(&self) -> &(K8sObjectRef, String) {
        self.oref.get_or_init(|| {
            let r = K8sObjectRef {
                api_version: self.obj.api_version().to_string(),
                kind: self.kind.to_string(),
                namespace: self.namespace.map(str::to_string),
                name: self.name.to_string(),
            };
            debug_assert_eq!(r, self.obj.object_ref());
            let d = r.display();
            (r, d)
        })
    }
}

impl std::ops::Deref for Subject<'_> {
    type Target = Object;
    fn deref(&self) -> &Object {
        self.obj
    }
}

/// Run one rule's internal check on a prepared subject.
pub(crate) fn run_fast(rule: &Rule, fast: Fast, s: &Subject<'_>, out: &mut Vec<Finding>) {
    match fast {
        Fast::Best(f) => f(rule, s, out),
        Fast::Pss(i) => crate::pss::run_control(rule, i, s, out),
    }
}

/// Every built-in rule with its internal check.
fn all_entries() -> Vec<Entry> {
    let mut v = crate::pss::entries();
    v.extend(crate::best::entries());
    v
}

/// Every built-in rule.
pub fn all() -> Vec<Rule> {
    all_entries().into_iter().map(|(r, _)| r).collect()
}

struct Registry {
    rules: Vec<Rule>,
    fast: Vec<Fast>,
}

fn reg() -> &'static Registry {
    static REG: std::sync::OnceLock<Registry> = std::sync::OnceLock::new();
    REG.get_or_init(|| {
        let (rules, fast) = all_entries().into_iter().unzip();
        Registry { rules, fast }
    })
}

/// Every built-in rule, built once (what [`check_object`] and [`check_set`] run).
pub fn registry() -> &'static [Rule] {
    &reg().rules
}

/// Run every built-in rule on one object.
pub fn check_object(obj: &Object, ctx: &Context) -> Vec<Finding> {
    let reg = reg();
    let pss = PssRun::new(ctx);
    let s = Subject::new(obj, &pss);
    let mut out = Vec::new();
    for (r, f) in reg.rules.iter().zip(&reg.fast) {
        run_fast(r, *f, &s, &mut out);
    }
    out
}

/// Run the per-object rules on every object, then the rules that need the whole set.
pub fn check_set(objects: &[Object], ctx: &Context) -> Vec<Finding> {
    let reg = reg();
    let pss = PssRun::new(ctx);
    // Room for a typical number of findings per object, so the (large) vector is not
    // moved as it grows; the unused rest is given back at the end.
    let mut out = Vec::with_capacity(
        objects
            .len()
            .saturating_mul(FINDINGS_PER_OBJECT)
            .min(MAX_RESERVED_FINDINGS),
    );
    // What the set-level rules need of each object, kept from the per-object pass.
    let mut kinds = Vec::with_capacity(objects.len());
    let mut pods = Vec::with_capacity(objects.len());
    for obj in objects {
        let s = Subject::new(obj, &pss);
        for (r, f) in reg.rules.iter().zip(&reg.fast) {
            run_fast(r, *f, &s, &mut out);
        }
        kinds.push(s.kind);
        pods.push(s.pod);
    }
    out.extend(crate::best::check_set_prepared(objects, &kinds, &pods, ctx));
    out.shrink_to_fit();
    out
}

/// Findings reserved per object by [`check_set`] (real manifest sets average 5-6).
const FINDINGS_PER_OBJECT: usize = 8;

/// At most this many findings are reserved up front (about 120 MB of address space).
const MAX_RESERVED_FINDINGS: usize = 1 << 18;
