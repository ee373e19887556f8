//! Best-practice rules beyond the Pod Security Standards (kube-linter, Checkov
//! `CKV_K8S_*`, Kubesec, Polaris equivalents), per object and across the scanned set.
//!
//! Each rule is a plain function over one [`Object`]; the set-level rules
//! ([`check_set`]) see every object of the scan (NetworkPolicies, PodDisruptionBudgets).
//! Peer ids (Checkov `CKV_K8S_*`, `kube-linter:<check>`, `polaris:<check>`,
//! `kubesec:<rule>`, `trivy:<KSV…>`) are in each rule's `peers` and `references`.

mod containers;
mod controlplane;
mod deprecated;
mod objects;
mod pod;
mod rbac;
mod set;

use crate::object::Object;
use crate::podspec::{Container, PodSpec};
use crate::rules::{CheckFn, Context, Entry, Fast, FastFn, Rule, Subject};
use rampart_core::fingerprint::fingerprint;
use rampart_core::{Finding, K8sObjectRef, Location, RuleMeta, Severity};

pub use deprecated::{deprecation, Deprecation};
pub use set::{set_metas, SET_RULE_IDS};

/// A rule's check as a pair: the public [`Rule::check`] (which prepares a [`Subject`]
/// for the one object) and the internal check the engine runs on a shared one.
macro_rules! fast {
    ($f:path) => {{
        fn public(
            rule: &$crate::rules::Rule,
            obj: &$crate::object::Object,
            ctx: &$crate::rules::Context,
            out: &mut Vec<rampart_core::Finding>,
        ) {
            let pss = $crate::rules::PssRun::new(ctx);
            $f(rule, &$crate::rules::Subject::new(obj, &pss), out)
        }
        (
            public as $crate::rules::CheckFn,
            $f as $crate::rules::FastFn,
        )
    }};
}
pub(crate) use fast;

/// A rule definition as written in the rule modules.
pub(crate) struct Def {
    pub slug: &'static str,
    pub severity: Severity,
    pub title: &'static str,
    pub description: &'static str,
    pub remediation: &'static str,
    /// URLs and CIS ids.
    pub references: &'static [&'static str],
    /// Peer-tool ids: `CKV_K8S_n`, `kube-linter:x`, `polaris:x`, `kubesec:x`, `trivy:KSVn`.
    pub peers: &'static [&'static str],
    pub tags: &'static [&'static str],
}

impl Def {
    pub(crate) fn meta(&self) -> RuleMeta {
        let mut references: Vec<String> =
            self.references.iter().map(|s| (*s).to_string()).collect();
        references.extend(self.peers.iter().map(|s| (*s).to_string()));
        RuleMeta {
            id: format!("k8s/{}", self.slug),
            area: "k8s".into(),
            title: self.title.into(),
            severity: self.severity,
            description: self.description.into(),
            remediation: self.remediation.into(),
            references,
            peers: self.peers.iter().map(|s| (*s).to_string()).collect(),
            tags: self.tags.iter().map(|s| (*s).to_string()).collect(),
        }
    }

    /// The rule and its internal check, from [`fast!`]`(check_fn)`.
    pub(crate) fn rule(&self, (check, fast): (CheckFn, FastFn)) -> Entry {
        (
            Rule {
                meta: self.meta(),
                check,
            },
            Fast::Best(fast),
        )
    }
}

/// Per-object best-practice rules with their internal checks.
pub(crate) fn entries() -> Vec<Entry> {
    let mut v = containers::rules();
    v.extend(pod::rules());
    v.extend(objects::rules());
    v.extend(rbac::rules());
    v.extend(deprecated::rules());
    v.extend(controlplane::rules());
    v
}

/// Per-object best-practice rules.
pub fn rules() -> Vec<Rule> {
    entries().into_iter().map(|(r, _)| r).collect()
}

/// Metadata of every best-practice rule: the per-object ones and the set-level ones.
pub fn metas() -> Vec<RuleMeta> {
    let mut v: Vec<RuleMeta> = rules().into_iter().map(|r| r.meta).collect();
    v.extend(set_metas());
    v.sort_by(|a, b| a.id.cmp(&b.id));
    v
}

/// Rules that need the whole scanned set (namespaces without a NetworkPolicy, replicated
/// workloads without a PodDisruptionBudget, …).
pub fn check_set(objects: &[Object], ctx: &Context) -> Vec<Finding> {
    set::check_set(objects, ctx)
}

/// [`check_set`] given each object's kind and pod spec (as the per-object pass found
/// them).
pub(crate) fn check_set_prepared(
    objects: &[Object],
    kinds: &[&str],
    pods: &[Option<PodSpec<'_>>],
    ctx: &Context,
) -> Vec<Finding> {
    set::check_prepared(objects, kinds, pods, ctx)
}

/// Push one finding for the subject at `field`.
pub(crate) fn report(
    meta: &RuleMeta,
    s: &Subject<'_>,
    field: &str,
    message: String,
    out: &mut Vec<Finding>,
) {
    let (r, display) = s.object_ref();
    push(meta, s.obj, r, display, field, message, out);
}

/// Push one finding for `obj` at `field` (the set-level rules' case, without a
/// [`Subject`]).
pub(crate) fn report_object(
    meta: &RuleMeta,
    obj: &Object,
    field: &str,
    message: String,
    out: &mut Vec<Finding>,
) {
    let r = obj.object_ref();
    let display = r.display();
    push(meta, obj, &r, &display, field, message, out);
}

/// `obj.location(field)`, reusing the object reference `r` (`obj.object_ref()`).
pub(crate) fn location(obj: &Object, r: &K8sObjectRef, field: &str) -> Location {
    let loc = Location::K8sObject {
        object: r.clone(),
        field_path: (!field.is_empty()).then(|| field.to_string()),
        path: obj.path.clone(),
        span: obj.span(field),
    };
    debug_assert_eq!(loc, obj.location(field));
    loc
}

fn push(
    meta: &RuleMeta,
    obj: &Object,
    r: &K8sObjectRef,
    display: &str,
    field: &str,
    message: String,
    out: &mut Vec<Finding>,
) {
    let fp = fingerprint(&[
        &meta.id,
        &r.kind,
        r.namespace.as_deref().unwrap_or(""),
        &r.name,
        field,
    ]);
    let mut f = Finding::new(meta, message, location(obj, r, field), fp);
    f.properties
        .insert("object".into(), serde_json::Value::from(display));
    out.push(f);
}

/// Call `f` on each container of the subject's pod spec (init, regular, ephemeral);
/// every `Some((field_path, message))` it returns becomes a finding.
pub(crate) fn each_container<F>(rule: &Rule, s: &Subject<'_>, out: &mut Vec<Finding>, mut f: F)
where
    F: FnMut(&Container<'_>, &PodSpec<'_>) -> Option<(String, String)>,
{
    let Some(ps) = s.pod else {
        return;
    };
    for c in &s.containers {
        if let Some((field, msg)) = f(c, &ps) {
            report(&rule.meta, s, &field, msg, out);
        }
    }
}

/// `name` or `#index` for messages.
pub(crate) fn cname(c: &Container<'_>) -> String {
    if c.name.is_empty() {
        c.path.clone()
    } else {
        format!("`{}`", c.name)
    }
}

/// Parse a container's image with the one reference parser (surrounding whitespace
/// ignored).
pub(crate) fn parse_image(
    image: &str,
) -> Result<rampart_core::ImageRef, rampart_core::ImageRefError> {
    rampart_core::ImageRef::parse(image.trim())
}

/// A string list (`["a", "b"]`) as `&str`s; non-strings are skipped.
pub(crate) fn str_list(v: Option<&serde_json::Value>) -> Vec<&str> {
    v.and_then(serde_json::Value::as_array)
        .map(|a| a.iter().filter_map(serde_json::Value::as_str).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metas_are_valid_and_unique() {
        let metas = metas();
        assert!(metas.len() >= 60, "{} rules", metas.len());
        let mut reg = rampart_core::rule::Registry::new();
        assert_eq!(reg.extend(metas.clone()), Ok(()));
        assert_eq!(reg.problems(), Vec::<String>::new());
        for m in &metas {
            assert!(!m.references.is_empty(), "{} has no references", m.id);
        }
    }
}
