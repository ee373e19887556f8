//! The rule engine: every rule takes one object and a context and reports findings.

use crate::object::Object;
use rampart_core::{Finding, RuleMeta};

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

/// Every built-in rule.
pub fn all() -> Vec<Rule> {
    let mut v = crate::pss::rules();
    v.extend(crate::best::rules());
    v
}

/// Every built-in rule, built once (what [`check_object`] and [`check_set`] run).
pub fn registry() -> &'static [Rule] {
    static RULES: std::sync::OnceLock<Vec<Rule>> = std::sync::OnceLock::new();
    RULES.get_or_init(all)
}

/// Run every built-in rule on one object.
pub fn check_object(obj: &Object, ctx: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    for r in registry() {
        (r.check)(r, obj, ctx, &mut out);
    }
    out
}

/// Run the per-object rules on every object, then the rules that need the whole set.
pub fn check_set(objects: &[Object], ctx: &Context) -> Vec<Finding> {
    let rules = registry();
    let mut out = Vec::new();
    for obj in objects {
        for r in rules {
            (r.check)(r, obj, ctx, &mut out);
        }
    }
    out.extend(crate::best::check_set(objects, ctx));
    out
}
