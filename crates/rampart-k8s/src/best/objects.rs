//! Rules on non-workload objects: namespaces, service accounts, Services, Ingresses,
//! Secrets, ConfigMaps, PodDisruptionBudgets.

use super::{fast, report, Def};
use crate::object::{join_index, join_key};
use crate::rules::{Entry, Rule, Subject};
use rampart_core::{Finding, Severity};
use serde_json::Value;

pub(super) fn rules() -> Vec<Entry> {
    vec![
        Def {
            slug: "default-namespace",
            severity: Severity::Low,
            title: "Object is in the default namespace",
            description: "Objects without `metadata.namespace` (or with `default`) land in `default`, where RBAC, NetworkPolicies, quotas and Pod Security labels are rarely set and everything shares one trust boundary. The `default` ServiceAccount and the `kubernetes` Service are not reported.",
            remediation: "Put each application in its own namespace and set `metadata.namespace` explicitly (or with Kustomize's `namespace:`).",
            references: &["https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces/", "CIS Kubernetes 5.7.4"],
            peers: &["CKV_K8S_21", "kube-linter:use-namespace", "trivy:KSV-0110"],
            tags: &["isolation"],
        }
        .rule(fast!(default_namespace)),
        Def {
            slug: "default-service-account-automount",
            severity: Severity::Medium,
            title: "Default ServiceAccount mounts its token",
            description: "The namespace's `default` ServiceAccount is used by every pod that names no other; unless it sets `automountServiceAccountToken: false`, all of them receive an API token.",
            remediation: "Declare the `default` ServiceAccount with `automountServiceAccountToken: false`.",
            references: &["https://kubernetes.io/docs/tasks/configure-pod-container/configure-service-account/", "CIS Kubernetes 5.1.5"],
            peers: &["CKV_K8S_41"],
            tags: &["identity"],
        }
        .rule(fast!(default_sa_automount)),
        Def {
            slug: "default-service-account-bound",
            severity: Severity::Medium,
            title: "Role bound to a default ServiceAccount",
            description: "A RoleBinding or ClusterRoleBinding whose subject is a `default` ServiceAccount grants the role to every pod of that namespace that names no service account.",
            remediation: "Create a dedicated ServiceAccount for the workload that needs the role and bind that instead.",
            references: &["https://kubernetes.io/docs/reference/access-authn-authz/rbac/", "CIS Kubernetes 5.1.5"],
            peers: &["CKV_K8S_42"],
            tags: &["rbac", "identity"],
        }
        .rule(fast!(default_sa_bound)),
        Def {
            slug: "service-node-port",
            severity: Severity::Low,
            title: "Service of type NodePort",
            description: "A NodePort Service opens the port on every node's IP, bypassing the ingress controller's TLS, authentication and logging, and is reachable from wherever the nodes are.",
            remediation: "Use `ClusterIP` behind an Ingress or Gateway; if a node port is really needed, firewall it.",
            references: &["https://kubernetes.io/docs/concepts/services-networking/service/#type-nodeport"],
            peers: &["kube-linter:exposed-services"],
            tags: &["exposure"],
        }
        .rule(fast!(node_port)),
        Def {
            slug: "service-load-balancer",
            severity: Severity::Medium,
            title: "Public LoadBalancer Service without source ranges",
            description: "A `type: LoadBalancer` Service without `loadBalancerSourceRanges` and without a cloud \"internal\" annotation gets a public IP reachable from the whole internet.",
            remediation: "Expose HTTP through an Ingress/Gateway; otherwise set `loadBalancerSourceRanges`, or make the load balancer internal with the provider's annotation.",
            references: &["https://kubernetes.io/docs/concepts/services-networking/service/#loadbalancer"],
            peers: &["kube-linter:exposed-services"],
            tags: &["exposure"],
        }
        .rule(fast!(load_balancer)),
        Def {
            slug: "service-external-ips",
            severity: Severity::High,
            title: "Service sets externalIPs",
            description: "`spec.externalIPs` lets whoever can create Services intercept traffic to any IP in the cluster (CVE-2020-8554, a design flaw with no fix); clusters should block the field with the DenyServiceExternalIPs admission plugin.",
            remediation: "Remove `externalIPs`; use a LoadBalancer or Ingress.",
            references: &["https://github.com/kubernetes/kubernetes/issues/97076", "CVE-2020-8554"],
            peers: &[],
            tags: &["exposure"],
        }
        .rule(fast!(external_ips)),
        Def {
            slug: "ingress-without-tls",
            severity: Severity::Medium,
            title: "Ingress serves plain HTTP (no tls section)",
            description: "An Ingress without `spec.tls` serves its hosts over unencrypted HTTP: credentials and session cookies cross the network in clear.",
            remediation: "Add `spec.tls` with the hosts and a certificate Secret (cert-manager issues them automatically).",
            references: &["https://kubernetes.io/docs/concepts/services-networking/ingress/#tls", "CWE-319"],
            peers: &[],
            tags: &["exposure"],
        }
        .rule(fast!(ingress_tls)),
        Def {
            slug: "nginx-ingress-snippet",
            severity: Severity::High,
            title: "Ingress uses NGINX configuration snippet annotations",
            description: "`*-snippet` annotations inject raw NGINX configuration: anyone who can create an Ingress can read the controller's service-account token and every Secret it sees (CVE-2021-25742, CVE-2025-1974 family).",
            remediation: "Remove snippet annotations and run ingress-nginx with `allow-snippet-annotations: false`.",
            references: &["https://github.com/kubernetes/ingress-nginx/issues/7837", "CVE-2021-25742"],
            peers: &["CKV_K8S_153"],
            tags: &["exposure"],
        }
        .rule(fast!(snippet_any)),
        Def {
            slug: "nginx-ingress-lua-snippet",
            severity: Severity::Critical,
            title: "NGINX snippet annotation executes Lua or reads kubernetes.io paths",
            description: "A snippet annotation that contains Lua code (`lua_…`, `…_by_lua`) or refers to `kubernetes.io` (the mounted service-account token) is the exploit pattern of CVE-2021-25742.",
            remediation: "Remove the annotation; disable snippet annotations in the controller.",
            references: &["https://github.com/kubernetes/ingress-nginx/issues/7837", "CVE-2021-25742"],
            peers: &["CKV_K8S_152"],
            tags: &["exposure"],
        }
        .rule(fast!(snippet_lua)),
        Def {
            slug: "nginx-ingress-alias-snippet",
            severity: Severity::Critical,
            title: "NGINX snippet annotation uses the alias directive",
            description: "An `alias` directive in a snippet serves arbitrary files of the controller's filesystem, including its service-account token (CVE-2021-25742).",
            remediation: "Remove the annotation; disable snippet annotations in the controller.",
            references: &["https://github.com/kubernetes/ingress-nginx/issues/7837", "CVE-2021-25742"],
            peers: &["CKV_K8S_154"],
            tags: &["exposure"],
        }
        .rule(fast!(snippet_alias)),
        Def {
            slug: "secret-in-manifest",
            severity: Severity::Medium,
            title: "Secret object with literal data kept in the repository",
            description: "A `kind: Secret` with `data`/`stringData` is committed with the manifests: base64 is not encryption, and every clone, CI log and backup holds the values. The secret scanner reports the same file as `secret/kubernetes-secret-manifest` (and scans the decoded values); this rule reports it in `rampart k8s` so per-workload exceptions apply. Objects not read from a file (admission requests) are not reported.",
            remediation: "Keep only a reference in the repository: an External Secrets `ExternalSecret`, a Sealed Secrets `SealedSecret`, SOPS-encrypted files or the Vault/CSI secrets-store driver; rotate the committed values.",
            references: &["https://kubernetes.io/docs/concepts/security/secrets-good-practices/", "https://external-secrets.io/", "https://github.com/bitnami-labs/sealed-secrets", "CWE-312", "secret/kubernetes-secret-manifest"],
            peers: &["gitleaks:kubernetes-secret-yaml"],
            tags: &["secrets"],
        }
        .rule(fast!(secret_in_manifest)),
        Def {
            slug: "service-account-token-secret",
            severity: Severity::Medium,
            title: "Long-lived service account token Secret",
            description: "A Secret of type `kubernetes.io/service-account-token` makes the control plane mint a token that never expires and survives pod deletion; since v1.24 pods get short-lived projected tokens instead.",
            remediation: "Delete the Secret; use projected tokens (`serviceAccountToken` volume) or `kubectl create token` for short-lived ones.",
            references: &["https://kubernetes.io/docs/concepts/configuration/secret/#serviceaccount-token-secrets"],
            peers: &[],
            tags: &["identity", "secrets"],
        }
        .rule(fast!(sa_token_secret)),
        Def {
            slug: "configmap-secret-content",
            severity: Severity::High,
            title: "ConfigMap holds a credential",
            description: "A ConfigMap key named like a password/token/secret with a literal value, or a value that is a JWT (service account tokens are JWTs) or a PEM private key. ConfigMaps are readable by far more roles than Secrets and are never encrypted at rest.",
            remediation: "Move the value to a Secret (managed by External Secrets, Sealed Secrets or Vault) and rotate it.",
            references: &["https://kubernetes.io/docs/concepts/configuration/configmap/", "CWE-312"],
            peers: &["polaris:sensitiveConfigmapContent", "trivy:KSV-0109", "trivy:KSV-01010"],
            tags: &["secrets"],
        }
        .rule(fast!(configmap_secret)),
        Def {
            slug: "tiller-service",
            severity: Severity::High,
            title: "Service exposes Helm v2 Tiller",
            description: "A Service labelled or selecting `app: helm, name: tiller` (or on port 44134) exposes Tiller's unauthenticated, cluster-admin gRPC API.",
            remediation: "Remove Tiller and its Service; migrate to Helm 3.",
            references: &["https://helm.sh/docs/faq/changes_since_helm2/#removal-of-tiller"],
            peers: &["CKV_K8S_44"],
            tags: &["exposure"],
        }
        .rule(fast!(tiller_service)),
        Def {
            slug: "pdb-no-disruptions",
            severity: Severity::Medium,
            title: "PodDisruptionBudget allows no disruption",
            description: "`maxUnavailable: 0` (or `0%`) or `minAvailable: 100%` blocks every voluntary eviction: node drains and cluster upgrades hang until someone deletes the budget.",
            remediation: "Allow at least one pod to be unavailable (`maxUnavailable: 1`) and run enough replicas.",
            references: &["https://kubernetes.io/docs/tasks/run-application/configure-pdb/"],
            peers: &["kube-linter:pdb-max-unavailable", "kube-linter:pdb-min-available", "polaris:pdbDisruptionsIsZero"],
            tags: &["reliability"],
        }
        .rule(fast!(pdb_zero)),
    ]
}

const NAMESPACED: &[&str] = &[
    "Pod",
    "Deployment",
    "DaemonSet",
    "StatefulSet",
    "ReplicaSet",
    "ReplicationController",
    "Job",
    "CronJob",
    "Service",
    "Secret",
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "ConfigMap",
    "Ingress",
];

fn default_namespace(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    let kind = obj.kind();
    if !NAMESPACED.contains(&kind) {
        return;
    }
    let ns = obj.namespace();
    if ns.is_some_and(|n| n != "default") {
        return;
    }
    if (kind == "ServiceAccount" && obj.name() == "default")
        || (kind == "Service" && obj.name() == "kubernetes")
    {
        return;
    }
    let field = if ns.is_some() {
        "metadata.namespace"
    } else {
        "metadata"
    };
    report(
        &rule.meta,
        obj,
        field,
        format!("{kind} `{}` is in the default namespace", obj.name()),
        out,
    );
}

fn default_sa_automount(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    if obj.kind() != "ServiceAccount" || obj.name() != "default" {
        return;
    }
    let v = obj.value.get("automountServiceAccountToken");
    if v.and_then(Value::as_bool) == Some(false) {
        return;
    }
    let field = if v.is_some() {
        "automountServiceAccountToken"
    } else {
        ""
    };
    report(
        &rule.meta,
        obj,
        field,
        "the default ServiceAccount does not set `automountServiceAccountToken: false`".into(),
        out,
    );
}

fn default_sa_bound(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    if !matches!(obj.kind(), "RoleBinding" | "ClusterRoleBinding") {
        return;
    }
    let Some(subjects) = obj.value.get("subjects").and_then(Value::as_array) else {
        return;
    };
    for (i, s) in subjects.iter().enumerate() {
        if s.get("kind").and_then(Value::as_str) == Some("ServiceAccount")
            && s.get("name").and_then(Value::as_str) == Some("default")
        {
            report(
                &rule.meta,
                obj,
                &join_index("subjects", i),
                "binding grants a role to a `default` ServiceAccount".into(),
                out,
            );
            return;
        }
    }
}

fn service_type<'a>(obj: &Subject<'a>) -> Option<&'a str> {
    (obj.kind() == "Service")
        .then(|| obj.obj.value.get("spec")?.get("type")?.as_str())
        .flatten()
}

fn node_port(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    if service_type(obj) == Some("NodePort") {
        report(
            &rule.meta,
            obj,
            "spec.type",
            "Service is of type NodePort".into(),
            out,
        );
    }
}

const INTERNAL_LB: &[(&str, &str)] = &[
    ("service.beta.kubernetes.io/aws-load-balancer-internal", ""),
    (
        "service.beta.kubernetes.io/aws-load-balancer-scheme",
        "internal",
    ),
    ("networking.gke.io/load-balancer-type", "Internal"),
    ("cloud.google.com/load-balancer-type", "Internal"),
    (
        "service.beta.kubernetes.io/azure-load-balancer-internal",
        "true",
    ),
    (
        "service.beta.kubernetes.io/oci-load-balancer-internal",
        "true",
    ),
];

fn load_balancer(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    if service_type(obj) != Some("LoadBalancer") {
        return;
    }
    let ranges = obj
        .value
        .get("spec")
        .and_then(|s| s.get("loadBalancerSourceRanges"))
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    let internal = INTERNAL_LB.iter().any(|(k, v)| {
        obj.annotation(k)
            .is_some_and(|a| v.is_empty() && a != "false" || a.eq_ignore_ascii_case(v))
    });
    if !ranges && !internal {
        report(
            &rule.meta,
            obj,
            "spec.type",
            "LoadBalancer Service without `loadBalancerSourceRanges` or internal annotation".into(),
            out,
        );
    }
}

fn external_ips(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    if obj.kind() != "Service" {
        return;
    }
    if obj
        .value
        .get("spec")
        .and_then(|s| s.get("externalIPs"))
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty())
    {
        report(
            &rule.meta,
            obj,
            "spec.externalIPs",
            "Service sets `externalIPs`".into(),
            out,
        );
    }
}

fn ingress_tls(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    if obj.kind() != "Ingress" {
        return;
    }
    let tls = obj
        .value
        .get("spec")
        .and_then(|s| s.get("tls"))
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    if !tls {
        let field = if obj.value.get("spec").is_some() {
            "spec"
        } else {
            ""
        };
        report(
            &rule.meta,
            obj,
            field,
            "Ingress has no `spec.tls`".into(),
            out,
        );
    }
}

fn snippets<'a>(obj: &Subject<'a>) -> Vec<(String, &'a str)> {
    if obj.kind() != "Ingress" {
        return Vec::new();
    }
    obj.obj
        .value
        .get("metadata")
        .and_then(|m| m.get("annotations"))
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.contains("snippet"))
        .map(|(k, v)| {
            (
                join_key("metadata.annotations", k),
                v.as_str().unwrap_or(""),
            )
        })
        .collect()
}

fn snippet_any(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    if let Some((field, _)) = snippets(obj).into_iter().next() {
        report(
            &rule.meta,
            obj,
            &field,
            "Ingress uses a snippet annotation".into(),
            out,
        );
    }
}

fn word_char(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_alphanumeric() || c == '_')
}

/// Whether `hay` contains `needle` where `left`/`right` require a word boundary.
fn find_bounded(hay: &str, needle: &str, left: bool, right: bool) -> bool {
    hay.match_indices(needle).any(|(i, m)| {
        let before = hay[..i].chars().next_back();
        let after = hay[i + m.len()..].chars().next();
        (!left || !word_char(before)) && (!right || !word_char(after))
    })
}

fn lua_like(v: &str) -> bool {
    find_bounded(v, "lua_", true, false)
        || find_bounded(v, "_lua", false, true)
        || v.contains("_lua_")
        || find_bounded(v, "kubernetes.io", true, true)
}

fn snippet_lua(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    if let Some((field, _)) = snippets(obj).into_iter().find(|(_, v)| lua_like(v)) {
        report(
            &rule.meta,
            obj,
            &field,
            "snippet annotation contains Lua or a kubernetes.io path".into(),
            out,
        );
    }
}

fn snippet_alias(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    if let Some((field, _)) = snippets(obj).into_iter().find(|(_, v)| {
        v.split(|c: char| c.is_whitespace() || c == ';' || c == '{')
            .any(|w| w == "alias")
    }) {
        report(
            &rule.meta,
            obj,
            &field,
            "snippet annotation uses the `alias` directive".into(),
            out,
        );
    }
}

fn non_empty_map(v: Option<&Value>) -> bool {
    v.and_then(Value::as_object).is_some_and(|m| {
        m.values()
            .any(|x| x.as_str().is_some_and(|s| !s.is_empty()))
    })
}

fn secret_in_manifest(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    if obj.kind() != "Secret" || obj.path.is_none() {
        return;
    }
    for key in ["stringData", "data"] {
        if non_empty_map(obj.value.get(key)) {
            report(
                &rule.meta,
                obj,
                key,
                format!(
                    "Secret `{}` has literal `{key}` in the manifest",
                    obj.name()
                ),
                out,
            );
            return;
        }
    }
}

fn sa_token_secret(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    if obj.kind() == "Secret"
        && obj.value.get("type").and_then(Value::as_str)
            == Some("kubernetes.io/service-account-token")
    {
        report(
            &rule.meta,
            obj,
            "type",
            "Secret requests a long-lived service account token".into(),
            out,
        );
    }
}

fn looks_like_jwt(v: &str) -> bool {
    let v = v.trim();
    let mut parts = v.split('.');
    let ok = |p: Option<&str>| {
        p.is_some_and(|p| {
            p.len() >= 10
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'=')
        })
    };
    v.starts_with("eyJ") && ok(parts.next()) && ok(parts.next()) && ok(parts.next())
}

fn configmap_secret(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    if obj.kind() != "ConfigMap" {
        return;
    }
    let Some(data) = obj.value.get("data").and_then(Value::as_object) else {
        return;
    };
    for (k, v) in data {
        let Some(s) = v.as_str() else { continue };
        let why = if looks_like_jwt(s) || s.split_whitespace().any(looks_like_jwt) {
            Some("a JWT (service account or API token)")
        } else if s.contains("PRIVATE KEY-----") {
            Some("a PEM private key")
        } else if super::containers::secretish_name(k)
            && !s.contains('\n')
            && super::containers::secretish_value(s)
        {
            Some("a literal credential")
        } else {
            None
        };
        if let Some(why) = why {
            report(
                &rule.meta,
                obj,
                &join_key("data", k),
                format!("ConfigMap key `{k}` holds {why}"),
                out,
            );
        }
    }
}

fn helm_tiller_labels(v: Option<&Value>) -> bool {
    v.and_then(Value::as_object).is_some_and(|m| {
        m.get("app").and_then(Value::as_str) == Some("helm")
            && m.get("name").and_then(Value::as_str) == Some("tiller")
    })
}

fn tiller_service(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    if obj.kind() != "Service" {
        return;
    }
    let spec = obj.value.get("spec");
    let field = if helm_tiller_labels(spec.and_then(|s| s.get("selector"))) {
        Some("spec.selector".to_string())
    } else if helm_tiller_labels(obj.value.get("metadata").and_then(|m| m.get("labels"))) {
        Some("metadata.labels".to_string())
    } else {
        spec.and_then(|s| s.get("ports"))
            .and_then(Value::as_array)
            .and_then(|ps| {
                ps.iter().position(|p| {
                    p.get("port").and_then(Value::as_i64) == Some(44134)
                        || p.get("targetPort").and_then(Value::as_i64) == Some(44134)
                })
            })
            .map(|i| join_index("spec.ports", i))
    };
    if let Some(field) = field {
        report(
            &rule.meta,
            obj,
            &field,
            "Service exposes Tiller".into(),
            out,
        );
    }
}

fn pdb_zero(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    if obj.kind() != "PodDisruptionBudget" {
        return;
    }
    let spec = obj.value.get("spec");
    let is = |k: &str, vals: &[&str]| {
        spec.and_then(|s| s.get(k)).is_some_and(|v| {
            v.as_i64() == Some(0) && vals.contains(&"0")
                || v.as_str().is_some_and(|s| vals.contains(&s))
        })
    };
    if is("maxUnavailable", &["0", "0%"]) {
        report(
            &rule.meta,
            obj,
            "spec.maxUnavailable",
            "PodDisruptionBudget allows no pod to be unavailable".into(),
            out,
        );
    } else if is("minAvailable", &["100%"]) {
        report(
            &rule.meta,
            obj,
            "spec.minAvailable",
            "PodDisruptionBudget requires every pod to be available".into(),
            out,
        );
    }
}
