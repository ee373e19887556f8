//! Alerts in Falco's JSON format, their text form, conversion to Rampart findings, and
//! per-rule rate limiting.

use std::collections::{BTreeMap, HashMap};

use rampart_core::fingerprint::fingerprint;
use rampart_core::{Finding, K8sObjectRef, Location, RuleMeta, Severity};
use serde::Serialize;
use serde_json::Value;

use crate::engine::CompiledRule;
use crate::rules::Priority;

/// One alert, serialised exactly as Falco's `json_output` does (`time`, `rule`,
/// `priority`, `output`, `output_fields`, `source`, `tags`, `hostname`), so
/// Falcosidekick and other Falco consumers can read it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Alert {
    /// Event time, ISO 8601 with nanoseconds.
    pub time: String,
    /// Rule name.
    pub rule: String,
    /// Priority (`Warning`, `Notice`, …).
    #[serde(serialize_with = "ser_priority")]
    pub priority: Priority,
    /// `HH:MM:SS.nnnnnnnnn: Priority message`, as Falco prints it.
    pub output: String,
    /// The fields the output printed (`null` when not available), plus `evt.time`.
    pub output_fields: BTreeMap<String, Value>,
    /// `k8s_audit`.
    pub source: String,
    /// The rule's tags.
    pub tags: Vec<String>,
    /// The monitor's host name.
    pub hostname: String,
    /// The rendered output without the time/priority prefix (not part of Falco's format).
    #[serde(skip)]
    pub message: String,
}

fn ser_priority<S: serde::Serializer>(p: &Priority, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(p.as_str())
}

impl Alert {
    /// One JSON line.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Falco's text form: `HH:MM:SS.nnnnnnnnn: Priority message`.
    pub fn to_text(&self) -> String {
        self.output.clone()
    }

    /// A string output field, if present and available.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.output_fields
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| *s != crate::output::NA)
    }

    /// Convert to a Rampart finding (rule id `runtime/<slug>`).
    pub fn to_finding(&self) -> Finding {
        let meta = alert_meta(&self.rule, "", self.priority, &self.tags);
        let location = self.location();
        let ident = match &location {
            Location::K8sObject { object, .. } => object.display(),
            Location::Url { url, .. } => url.clone(),
            _ => String::new(),
        };
        let user = self.field("ka.user.name").unwrap_or_default();
        let fp = fingerprint(&[&meta.id, &ident, user]);
        let mut f = Finding::new(&meta, self.message.clone(), location, fp);
        f.properties
            .insert("falco.rule".into(), Value::String(self.rule.clone()));
        f.properties.insert(
            "falco.priority".into(),
            Value::String(self.priority.as_str().into()),
        );
        f.properties
            .insert("time".into(), Value::String(self.time.clone()));
        f.properties.insert(
            "output_fields".into(),
            Value::Object(self.output_fields.clone().into_iter().collect()),
        );
        f
    }

    fn location(&self) -> Location {
        let resource = self.field("ka.target.resource");
        let name = self
            .field("ka.target.name")
            .or_else(|| self.field("ka.resp.name"));
        if let Some(resource) = resource {
            let namespace = self.field("ka.target.namespace").map(str::to_string);
            return Location::K8sObject {
                object: K8sObjectRef {
                    api_version: String::new(),
                    kind: kind_of(resource),
                    namespace,
                    name: name.unwrap_or_default().to_string(),
                },
                field_path: self.field("ka.target.subresource").map(str::to_string),
                path: None,
                span: None,
            };
        }
        Location::Url {
            method: self.field("ka.verb").unwrap_or("event").to_string(),
            url: self.field("ka.uri").unwrap_or("k8s-audit").to_string(),
            parameter: None,
        }
    }
}

/// `pods` → `Pod`, `clusterrolebindings` → `ClusterRoleBinding` (well-known resources;
/// others are title-cased and singularised).
pub fn kind_of(resource: &str) -> String {
    let known = [
        ("pods", "Pod"),
        ("services", "Service"),
        ("configmaps", "ConfigMap"),
        ("secrets", "Secret"),
        ("namespaces", "Namespace"),
        ("serviceaccounts", "ServiceAccount"),
        ("deployments", "Deployment"),
        ("daemonsets", "DaemonSet"),
        ("statefulsets", "StatefulSet"),
        ("replicasets", "ReplicaSet"),
        ("jobs", "Job"),
        ("cronjobs", "CronJob"),
        ("roles", "Role"),
        ("rolebindings", "RoleBinding"),
        ("clusterroles", "ClusterRole"),
        ("clusterrolebindings", "ClusterRoleBinding"),
        ("ingresses", "Ingress"),
        ("networkpolicies", "NetworkPolicy"),
        ("nodes", "Node"),
        ("persistentvolumes", "PersistentVolume"),
        ("persistentvolumeclaims", "PersistentVolumeClaim"),
        (
            "mutatingwebhookconfigurations",
            "MutatingWebhookConfiguration",
        ),
        (
            "validatingwebhookconfigurations",
            "ValidatingWebhookConfiguration",
        ),
    ];
    if let Some((_, k)) = known.iter().find(|(r, _)| *r == resource) {
        return (*k).to_string();
    }
    let singular = resource.strip_suffix('s').unwrap_or(resource);
    let mut c = singular.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// `Create Privileged Pod` → `create-privileged-pod`.
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// Map a Falco priority to a Rampart severity.
pub fn severity_of(p: Priority) -> Severity {
    match p {
        Priority::Emergency | Priority::Alert | Priority::Critical => Severity::Critical,
        Priority::Error => Severity::High,
        Priority::Warning => Severity::Medium,
        Priority::Notice => Severity::Low,
        Priority::Informational | Priority::Debug => Severity::Info,
    }
}

fn alert_meta(name: &str, desc: &str, priority: Priority, tags: &[String]) -> RuleMeta {
    let desc = desc.split_whitespace().collect::<Vec<_>>().join(" ");
    RuleMeta {
        id: format!("runtime/{}", slug(name)),
        area: "runtime".into(),
        title: name.to_string(),
        severity: severity_of(priority),
        description: if desc.is_empty() { name.to_string() } else { desc },
        remediation: "Investigate the API request in the audit log: confirm who made it and why; \
             revert the change or revoke access if it was not expected, or add an exception to the rule if it was."
            .into(),
        references: vec!["https://falco.org/docs/rules/".into()],
        peers: vec![format!("falco:{name}")],
        tags: tags.to_vec(),
    }
}

/// Rule metadata for a compiled rule (for SARIF `rules[]` and `rules list`).
pub fn rule_meta(r: &CompiledRule) -> RuleMeta {
    alert_meta(&r.name, &r.desc, r.priority, &r.tags)
}

/// Per-rule token-bucket rate limiting: each rule may emit `burst` alerts at once and
/// then `rate` per second; the rest are counted as suppressed.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: HashMap<String, (f64, f64)>,
    suppressed: BTreeMap<String, u64>,
}

impl RateLimiter {
    /// `rate` alerts per second per rule with bursts of `burst`.
    pub fn new(rate: f64, burst: u32) -> RateLimiter {
        RateLimiter {
            rate: rate.max(0.0),
            burst: f64::from(burst.max(1)),
            buckets: HashMap::new(),
            suppressed: BTreeMap::new(),
        }
    }

    /// Whether `rule` may alert at time `now_s` (seconds, any monotonic origin). Refused
    /// alerts are counted.
    pub fn allow(&mut self, rule: &str, now_s: f64) -> bool {
        let burst = self.burst;
        let rate = self.rate;
        let (tokens, last) = self
            .buckets
            .entry(rule.to_string())
            .or_insert((burst, now_s));
        *tokens = (*tokens + (now_s - *last).max(0.0) * rate).min(burst);
        *last = now_s;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            *self.suppressed.entry(rule.to_string()).or_insert(0) += 1;
            false
        }
    }

    /// Suppressed alert counts by rule.
    pub fn suppressed(&self) -> &BTreeMap<String, u64> {
        &self.suppressed
    }

    /// A summary line per rule with suppressed repeats.
    pub fn summary(&self) -> Vec<String> {
        self.suppressed
            .iter()
            .map(|(r, n)| format!("rate limit: suppressed {n} repeat alert(s) of rule '{r}'"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_and_kinds() {
        assert_eq!(
            slug("Create/Modify Configmap With Private Credentials"),
            "create-modify-configmap-with-private-credentials"
        );
        assert_eq!(
            slug("Attach to cluster-admin Role"),
            "attach-to-cluster-admin-role"
        );
        assert_eq!(kind_of("clusterrolebindings"), "ClusterRoleBinding");
        assert_eq!(kind_of("widgets"), "Widget");
        assert_eq!(severity_of(Priority::Warning), Severity::Medium);
    }

    #[test]
    fn rate_limiter() {
        let mut rl = RateLimiter::new(1.0, 2);
        assert!(rl.allow("r", 0.0));
        assert!(rl.allow("r", 0.0));
        assert!(!rl.allow("r", 0.1));
        assert!(rl.allow("other", 0.1));
        assert!(rl.allow("r", 1.2));
        assert_eq!(rl.suppressed()["r"], 1);
        assert_eq!(rl.summary().len(), 1);
    }
}
