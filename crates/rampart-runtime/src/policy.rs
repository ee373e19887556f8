//! Derive a Kubernetes audit `Policy` (`audit.k8s.io/v1`) from the loaded rules: request
//! and response bodies only for the resources (and verbs) whose rules read them, metadata
//! for everything the other rules look at, nothing else.

use std::collections::{BTreeMap, BTreeSet};

use crate::engine::Engine;
use crate::fields::Needs;
use crate::filter::Expr;

/// What one rule needs recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleNeeds {
    /// The rule.
    pub rule: String,
    /// How much of each event.
    pub level: Needs,
    /// The resources it matches (`pods`, `pods/exec`); empty = every resource.
    pub resources: BTreeSet<String>,
    /// The verbs it matches; empty = every verb.
    pub verbs: BTreeSet<String>,
    /// The stages it matches; empty = every stage.
    pub stages: BTreeSet<String>,
}

fn positive_values(expr: &Expr, field: &str, arg: Option<&str>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    expr.checks(&mut |c, negated| {
        let arg_ok = match (&c.field.arg, arg) {
            (crate::fields::Arg::Pointer(p), Some(a)) => p == a,
            (crate::fields::Arg::None, None) => true,
            _ => false,
        };
        if !negated && c.field.info.name == field && arg_ok && c.field.transformers.is_empty() {
            out.extend(c.values().into_iter().map(str::to_string));
        }
    });
    out
}

/// Work out what each enabled rule needs.
pub fn rule_needs(engine: &Engine) -> Vec<RuleNeeds> {
    engine
        .enabled_rules()
        .map(|r| {
            let resources = positive_values(&r.expr, "ka.target.resource", None);
            let subs = positive_values(&r.expr, "ka.target.subresource", None);
            let resources: BTreeSet<String> = if subs.is_empty() {
                resources
            } else {
                let base = if resources.is_empty() {
                    BTreeSet::from(["pods".to_string()])
                } else {
                    resources
                };
                base.iter()
                    .flat_map(|r| subs.iter().map(move |s| format!("{r}/{s}")))
                    .collect()
            };
            let mut stages = positive_values(&r.expr, "jevt.value", Some("/stage"));
            stages.extend(positive_values(&r.expr, "ka.stage", None));
            RuleNeeds {
                rule: r.name.clone(),
                level: r.needs(),
                resources,
                verbs: positive_values(&r.expr, "ka.verb", None),
                stages,
            }
        })
        .collect()
}

/// The API group of a well-known resource (`None` when unknown).
pub fn api_group(resource: &str) -> Option<&'static str> {
    let base = resource.split('/').next().unwrap_or(resource);
    Some(match base {
        "pods"
        | "services"
        | "configmaps"
        | "secrets"
        | "namespaces"
        | "serviceaccounts"
        | "nodes"
        | "persistentvolumes"
        | "persistentvolumeclaims"
        | "endpoints"
        | "events"
        | "limitranges"
        | "resourcequotas"
        | "replicationcontrollers"
        | "podtemplates" => "",
        "deployments" | "daemonsets" | "statefulsets" | "replicasets" | "controllerrevisions" => {
            "apps"
        }
        "jobs" | "cronjobs" => "batch",
        "roles" | "rolebindings" | "clusterroles" | "clusterrolebindings" => {
            "rbac.authorization.k8s.io"
        }
        "ingresses" | "networkpolicies" | "ingressclasses" => "networking.k8s.io",
        "mutatingwebhookconfigurations"
        | "validatingwebhookconfigurations"
        | "validatingadmissionpolicies"
        | "validatingadmissionpolicybindings" => "admissionregistration.k8s.io",
        "customresourcedefinitions" => "apiextensions.k8s.io",
        "certificatesigningrequests" => "certificates.k8s.io",
        "tokenreviews" => "authentication.k8s.io",
        "subjectaccessreviews" | "selfsubjectaccessreviews" => "authorization.k8s.io",
        _ => return None,
    })
}

fn level_name(n: Needs) -> &'static str {
    match n {
        Needs::Metadata => "Metadata",
        Needs::Request => "Request",
        // Falco's rules read `responseObject` (ka.resp.name) alongside request fields.
        Needs::Response => "RequestResponse",
    }
}

fn yaml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

/// Render the audit policy as YAML.
pub fn audit_policy(engine: &Engine) -> String {
    let needs = rule_needs(engine);
    // (level, verbs) → group → resources, and the rules behind each.
    type Key = (Needs, BTreeSet<String>);
    // group → resources, and the rules behind them
    type Entry = (BTreeMap<String, BTreeSet<String>>, BTreeSet<String>);
    let mut specific: BTreeMap<Key, Entry> = BTreeMap::new();
    let mut unknown_groups = BTreeSet::new();
    let mut catch_all = Needs::Metadata;
    let mut catch_all_rules = BTreeSet::new();
    let mut stages_used = BTreeSet::new();
    for n in &needs {
        stages_used.extend(n.stages.iter().cloned());
        if n.resources.is_empty() {
            catch_all = catch_all.max(n.level);
            catch_all_rules.insert(n.rule.clone());
            continue;
        }
        if n.level == Needs::Metadata {
            catch_all_rules.insert(n.rule.clone());
            continue;
        }
        let entry = specific.entry((n.level, n.verbs.clone())).or_default();
        entry.1.insert(n.rule.clone());
        for r in &n.resources {
            let g = api_group(r).unwrap_or_else(|| {
                unknown_groups.insert(r.clone());
                ""
            });
            entry.0.entry(g.to_string()).or_default().insert(r.clone());
        }
    }
    let mut out = String::new();
    out.push_str("# Kubernetes audit policy derived by `rampart monitor audit-policy` from the loaded rules.\n");
    out.push_str(&format!(
        "# {} enabled rule(s): bodies are recorded only where a rule reads them.\n",
        needs.len()
    ));
    out.push_str("apiVersion: audit.k8s.io/v1\nkind: Policy\n");
    // Stages no rule asks for by name are dropped; stage-agnostic rules are served by
    // ResponseComplete.
    let omit: Vec<&str> = ["RequestReceived", "ResponseStarted"]
        .into_iter()
        .filter(|s| !stages_used.contains(*s))
        .collect();
    if !omit.is_empty() {
        out.push_str("omitStages:\n");
        for s in omit {
            out.push_str(&format!("  - {s}\n"));
        }
    }
    out.push_str("rules:\n");
    // Most detailed first: the first matching policy rule wins.
    let mut keys: Vec<&Key> = specific.keys().collect();
    keys.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    for key in keys {
        let (groups, rules) = &specific[key];
        let names: Vec<&str> = rules.iter().map(String::as_str).collect();
        out.push_str(&format!("  # for: {}\n", names.join(", ")));
        out.push_str(&format!("  - level: {}\n", level_name(key.0)));
        if !key.1.is_empty() {
            let verbs: Vec<String> = key.1.iter().map(|v| yaml_str(v)).collect();
            out.push_str(&format!("    verbs: [{}]\n", verbs.join(", ")));
        }
        out.push_str("    resources:\n");
        for (g, rs) in groups {
            let list: Vec<String> = rs.iter().map(|r| yaml_str(r)).collect();
            out.push_str(&format!(
                "      - group: {}\n        resources: [{}]\n",
                yaml_str(g),
                list.join(", ")
            ));
        }
    }
    if !unknown_groups.is_empty() {
        let list: Vec<&str> = unknown_groups.iter().map(String::as_str).collect();
        out.push_str(&format!(
            "  # note: API group unknown for {}; listed under the core group, adjust if needed\n",
            list.join(", ")
        ));
    }
    if catch_all_rules.is_empty() {
        out.push_str("  - level: None\n");
    } else {
        out.push_str(&format!(
            "  # everything else at {} for {} rule(s) that look at any request\n",
            level_name(catch_all),
            catch_all_rules.len()
        ));
        out.push_str(&format!("  - level: {}\n", level_name(catch_all)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EngineOptions, Ruleset};

    #[test]
    fn builtin_rules_policy() {
        let mut rs = Ruleset::new();
        rs.load_builtin().unwrap();
        let engine = Engine::compile(&rs, EngineOptions::default()).unwrap();
        let p = audit_policy(&engine);
        let doc: serde_json::Value = rampart_yaml::from_str(&p).unwrap();
        assert_eq!(doc["kind"], "Policy");
        assert_eq!(doc["omitStages"][0], "RequestReceived");
        let rules = doc["rules"].as_array().unwrap();
        assert_eq!(rules[0]["level"], "RequestResponse");
        assert_eq!(rules.last().unwrap()["level"], "Metadata");
        assert!(p.contains("\"pods/ephemeralcontainers\""), "{p}");
        let needs = rule_needs(&engine);
        let priv_pod = needs
            .iter()
            .find(|n| n.rule == "Create Privileged Pod")
            .unwrap();
        assert_eq!(priv_pod.level, Needs::Response);
        assert_eq!(priv_pod.resources, BTreeSet::from(["pods".to_string()]));
        assert_eq!(priv_pod.verbs, BTreeSet::from(["create".to_string()]));
        let exec = needs.iter().find(|n| n.rule == "Attach/Exec Pod").unwrap();
        assert!(exec.stages.contains("ResponseStarted"));
    }
}
