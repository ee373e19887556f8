//! Terraform `kubernetes_*` provider resources → Kubernetes objects (with a span per
//! field pointing into the `.tf` file), checked by `rampart-k8s`.
//!
//! The provider writes Kubernetes fields in snake_case and every nested object as a
//! block (`spec { template { spec { container { … } } } }`); repeated blocks are list
//! items. Attribute maps (`labels`, `annotations`, `limits`) keep their keys.

use super::hcl::{Attr, Block};
use rampart_core::Span;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// `kubernetes_<kind>[_v1|_v2]` → (apiVersion, kind).
pub fn kind_of(resource_type: &str) -> Option<(&'static str, &'static str)> {
    let t = resource_type.strip_prefix("kubernetes_")?;
    let t = t
        .strip_suffix("_v1")
        .or_else(|| t.strip_suffix("_v2"))
        .unwrap_or(t);
    Some(match t {
        "pod" => ("v1", "Pod"),
        "deployment" => ("apps/v1", "Deployment"),
        "daemonset" | "daemon_set" => ("apps/v1", "DaemonSet"),
        "stateful_set" => ("apps/v1", "StatefulSet"),
        "replication_controller" => ("v1", "ReplicationController"),
        "job" => ("batch/v1", "Job"),
        "cron_job" => ("batch/v1", "CronJob"),
        "service" => ("v1", "Service"),
        "ingress" => ("networking.k8s.io/v1", "Ingress"),
        "role" => ("rbac.authorization.k8s.io/v1", "Role"),
        "cluster_role" => ("rbac.authorization.k8s.io/v1", "ClusterRole"),
        "role_binding" => ("rbac.authorization.k8s.io/v1", "RoleBinding"),
        "cluster_role_binding" => ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
        "secret" => ("v1", "Secret"),
        "config_map" => ("v1", "ConfigMap"),
        "namespace" => ("v1", "Namespace"),
        "service_account" => ("v1", "ServiceAccount"),
        "network_policy" => ("networking.k8s.io/v1", "NetworkPolicy"),
        "pod_disruption_budget" => ("policy/v1", "PodDisruptionBudget"),
        _ => return None,
    })
}

/// Block names whose Kubernetes field is a list (singular in HCL → plural in JSON).
fn list_field(block: &str) -> Option<&'static str> {
    Some(match block {
        "container" => "containers",
        "init_container" => "initContainers",
        "ephemeral_container" => "ephemeralContainers",
        "volume" => "volumes",
        "volume_mount" => "volumeMounts",
        "volume_device" => "volumeDevices",
        "port" => "ports",
        "env" => "env",
        "env_from" => "envFrom",
        "toleration" => "tolerations",
        "image_pull_secrets" => "imagePullSecrets",
        "host_aliases" => "hostAliases",
        "topology_spread_constraint" => "topologySpreadConstraints",
        "readiness_gate" => "readinessGates",
        "sysctl" => "sysctls",
        "items" => "items",
        "rule" => "rules",
        "subject" => "subjects",
        "ingress" => "ingress",
        "egress" => "egress",
        "from" => "from",
        "to" => "to",
        "match_expressions" => "matchExpressions",
        "tls" => "tls",
        "path" => "paths",
        "http_header" => "httpHeaders",
        "sources" => "sources",
        "secret" => "secrets",
        "volume_claim_template" => "volumeClaimTemplates",
        _ => return None,
    })
}

/// `run_as_non_root` → `runAsNonRoot`.
pub fn camel(s: &str) -> String {
    // Kubernetes spells a few initialisms in capitals.
    match s {
        "host_pid" => return "hostPID".into(),
        "host_ipc" => return "hostIPC".into(),
        "cluster_ip" => return "clusterIP".into(),
        "cluster_ips" => return "clusterIPs".into(),
        "external_ips" => return "externalIPs".into(),
        "load_balancer_ip" => return "loadBalancerIP".into(),
        "non_resource_urls" => return "nonResourceURLs".into(),
        "pod_ip" => return "podIP".into(),
        _ => {}
    }
    let mut out = String::with_capacity(s.len());
    let mut up = false;
    for c in s.chars() {
        if c == '_' {
            up = true;
        } else if up {
            out.extend(c.to_uppercase());
            up = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Attributes whose value is a map with user keys (kept verbatim).
fn keep_keys(attr: &str) -> bool {
    matches!(
        attr,
        "labels"
            | "annotations"
            | "limits"
            | "requests"
            | "node_selector"
            | "match_labels"
            | "data"
            | "binary_data"
            | "string_data"
            | "selector"
    )
}

fn attr_value(a: &Attr) -> Value {
    if keep_keys(&a.key) {
        return a.value.clone();
    }
    camel_keys(&a.value)
}

/// Object attributes written as maps (`security_context = { run_as_user = 0 }`) get
/// camelCased keys too.
fn camel_keys(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            Value::Object(m.iter().map(|(k, v)| (camel(k), camel_keys(v))).collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(camel_keys).collect()),
        other => other.clone(),
    }
}

/// Convert a block body into a Kubernetes JSON object, recording each field's line.
fn convert(b: &Block, path: &str, spans: &mut BTreeMap<String, Span>, depth: usize) -> Value {
    let mut m = Map::new();
    if depth > 64 {
        return Value::Object(m);
    }
    for a in &b.attrs {
        let key = camel(&a.key);
        let p = join(path, &key);
        spans.insert(p, Span::line(a.line));
        m.insert(key, attr_value(a));
    }
    for nb in &b.blocks {
        match list_field(&nb.ident) {
            Some(field) => {
                let arr = m
                    .entry(field.to_string())
                    .or_insert_with(|| Value::Array(Vec::new()));
                if !arr.is_array() {
                    *arr = Value::Array(Vec::new());
                }
                let list_path = join(path, field);
                let idx = arr.as_array().map_or(0, Vec::len);
                let item_path = format!("{list_path}[{idx}]");
                spans.entry(list_path).or_insert(Span::line(nb.line));
                spans.insert(item_path.clone(), Span::line(nb.line));
                let v = convert(nb, &item_path, spans, depth + 1);
                if let Some(a) = arr.as_array_mut() {
                    a.push(v);
                }
            }
            None => {
                let key = camel(&nb.ident);
                let p = join(path, &key);
                spans.insert(p.clone(), Span::line(nb.line));
                let v = convert(nb, &p, spans, depth + 1);
                m.insert(key, v);
            }
        }
    }
    Value::Object(m)
}

fn join(base: &str, key: &str) -> String {
    if base.is_empty() {
        key.to_string()
    } else {
        format!("{base}.{key}")
    }
}

/// A `kubernetes_*` resource block as a Kubernetes object: (JSON, spans by field path).
pub fn to_object(resource_type: &str, block: &Block) -> Option<(Value, BTreeMap<String, Span>)> {
    let (api_version, kind) = kind_of(resource_type)?;
    let mut spans = BTreeMap::new();
    spans.insert(String::new(), Span::line(block.line));
    let mut v = convert(block, "", &mut spans, 0);
    if let Value::Object(m) = &mut v {
        m.insert("apiVersion".into(), Value::String(api_version.into()));
        m.insert("kind".into(), Value::String(kind.into()));
        // The Terraform resource name stands in when metadata.name is an expression.
        let name_is_literal = m
            .get("metadata")
            .and_then(|md| md.get("name"))
            .is_some_and(|n| n.as_str().is_some_and(|s| !s.starts_with("${")));
        if !name_is_literal {
            let label = block.labels.get(1).cloned().unwrap_or_default();
            let md = m
                .entry("metadata")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(md) = md {
                md.insert("name".into(), Value::String(label));
            }
        }
    }
    Some((v, spans))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::terraform::hcl::parse;
    use serde_json::json;

    #[test]
    fn deployment_converts() {
        let t = r#"resource "kubernetes_deployment_v1" "web" {
  metadata {
    name = "web"
    labels = { app_name = "web" }
  }
  spec {
    replicas = 2
    template {
      metadata { labels = { app = "web" } }
      spec {
        host_network = true
        container {
          name  = "web"
          image = "nginx:latest"
          security_context {
            privileged = true
            capabilities { add = ["NET_ADMIN"] }
          }
          resources {
            limits = { cpu = "1", memory = "1Gi" }
          }
        }
        container {
          name = "side"
          image = "busybox"
        }
      }
    }
  }
}
"#;
        let root = parse(t).unwrap();
        let (v, spans) = to_object("kubernetes_deployment_v1", &root.blocks[0]).unwrap();
        assert_eq!(v["kind"], json!("Deployment"));
        assert_eq!(v["metadata"]["labels"], json!({"app_name": "web"}));
        let spec = &v["spec"]["template"]["spec"];
        assert_eq!(spec["hostNetwork"], json!(true));
        assert_eq!(
            spec["containers"][0]["securityContext"]["privileged"],
            json!(true)
        );
        assert_eq!(
            spec["containers"][0]["securityContext"]["capabilities"]["add"],
            json!(["NET_ADMIN"])
        );
        assert_eq!(
            spec["containers"][0]["resources"]["limits"]["memory"],
            json!("1Gi")
        );
        assert_eq!(spec["containers"][1]["image"], json!("busybox"));
        assert_eq!(
            spans["spec.template.spec.containers[0].securityContext.privileged"],
            Span::line(16)
        );
        assert_eq!(spans["spec.template.spec.hostNetwork"], Span::line(11));
        assert_eq!(spans["spec.template.spec.containers[1]"], Span::line(23));
    }

    #[test]
    fn kinds() {
        assert_eq!(
            kind_of("kubernetes_cron_job_v1"),
            Some(("batch/v1", "CronJob"))
        );
        assert_eq!(
            kind_of("kubernetes_daemonset"),
            Some(("apps/v1", "DaemonSet"))
        );
        assert_eq!(kind_of("kubernetes_horizontal_pod_autoscaler"), None);
        assert_eq!(camel("run_as_non_root"), "runAsNonRoot");
        assert_eq!(camel("host_pid"), "hostPID");
    }
}
