//! RBAC rules: wildcards and dangerous permissions in Roles and ClusterRoles, and
//! bindings to anonymous, all-authenticated or cluster-admin subjects.

use super::{fast, report, str_list, Def};
use crate::object::join_index;
use crate::rules::{Entry, Rule, Subject};
use rampart_core::{Finding, Severity};
use serde_json::Value;

const RBAC_URL: &str = "https://kubernetes.io/docs/concepts/security/rbac-good-practices/";

pub(super) fn rules() -> Vec<Entry> {
    vec![
        Def {
            slug: "rbac-wildcard",
            severity: Severity::Medium,
            title: "Role grants wildcard (`*`) permissions",
            description: "A `*` in `apiGroups`, `resources` or `verbs` grants everything, including resources and verbs added by future versions and CRDs (secrets, escalate, impersonate …). Every rule of the role is checked (Checkov checks only the first).",
            remediation: "List the exact API groups, resources and verbs the subject needs.",
            references: &[RBAC_URL, "CIS Kubernetes 5.1.3"],
            peers: &["CKV_K8S_49", "kube-linter:wildcard-in-rules", "trivy:KSV-0044", "trivy:KSV-0045", "trivy:KSV-0046"],
            tags: &["rbac"],
        }
        .rule(fast!(wildcard)),
        Def {
            slug: "rbac-escalate",
            severity: Severity::High,
            title: "Role may escalate its own privileges (escalate on roles)",
            description: "The `escalate` verb on `roles`/`clusterroles` lets the subject write roles with permissions it does not hold, and then use them.",
            remediation: "Remove `escalate` (and `*`) on roles and clusterroles.",
            references: &[RBAC_URL, "https://kubernetes.io/docs/reference/access-authn-authz/rbac/#privilege-escalation-prevention-and-bootstrapping"],
            peers: &["CKV_K8S_158"],
            tags: &["rbac", "privilege-escalation"],
        }
        .rule(fast!(escalate)),
        Def {
            slug: "rbac-bind",
            severity: Severity::High,
            title: "Role may bind any role (bind on roles)",
            description: "The `bind` verb on `roles`/`clusterroles` (Kubernetes checks it there; Checkov also looks for it on `rolebindings`/`clusterrolebindings`, and so does this rule), together with write access to (cluster)rolebindings, lets the subject grant itself any role, cluster-admin included.",
            remediation: "Remove `bind` (and `*`) on roles and clusterroles; scope it with `resourceNames` if a controller needs it.",
            references: &[RBAC_URL, "https://kubernetes.io/docs/reference/access-authn-authz/rbac/#restrictions-on-role-binding-creation-or-update"],
            peers: &["CKV_K8S_157"],
            tags: &["rbac", "privilege-escalation"],
        }
        .rule(fast!(bind)),
        Def {
            slug: "rbac-impersonate",
            severity: Severity::High,
            title: "Role may impersonate users, groups or service accounts",
            description: "`impersonate` on `users`, `groups`, `serviceaccounts` (or `userextras`) lets the subject act as anyone, including `system:masters`.",
            remediation: "Remove `impersonate`; if a proxy needs it, restrict it with `resourceNames`.",
            references: &[RBAC_URL, "https://kubernetes.io/docs/reference/access-authn-authz/authentication/#user-impersonation"],
            peers: &[],
            tags: &["rbac", "privilege-escalation"],
        }
        .rule(fast!(impersonate)),
        Def {
            slug: "rbac-secrets-read",
            severity: Severity::High,
            title: "Role may read Secrets",
            description: "`get`, `list` or `watch` on `secrets` exposes every credential of the namespace (cluster-wide for a ClusterRole), service-account tokens included; `list` returns the values, not just names.",
            remediation: "Remove read access to secrets, or restrict it to named secrets with `resourceNames` (which does not work for `list`/`watch`).",
            references: &[RBAC_URL],
            peers: &["kube-linter:access-to-secrets", "trivy:KSV-0041", "trivy:KSV-0113"],
            tags: &["rbac", "secrets"],
        }
        .rule(fast!(secrets_read)),
        Def {
            slug: "rbac-pods-exec",
            severity: Severity::High,
            title: "Role may exec or attach into pods",
            description: "`create` (or `get`, which older API servers accepted over websockets) on `pods/exec` or `pods/attach` gives a shell in any pod of the scope, with its service account and secrets.",
            remediation: "Remove `pods/exec` and `pods/attach`; grant them only to break-glass roles.",
            references: &[RBAC_URL],
            peers: &["polaris:clusterrolePodExecAttach", "polaris:rolePodExecAttach", "trivy:KSV-0053"],
            tags: &["rbac"],
        }
        .rule(fast!(pods_exec)),
        Def {
            slug: "rbac-nodes-proxy",
            severity: Severity::High,
            title: "Role may proxy to the kubelet (nodes/proxy)",
            description: "`nodes/proxy` reaches the kubelet API directly: exec into any pod of the node, bypassing admission control and audit logging of the pod API.",
            remediation: "Remove `nodes/proxy`; monitoring agents need `nodes/metrics` or `nodes/stats` only.",
            references: &[RBAC_URL],
            peers: &["trivy:KSV-0047"],
            tags: &["rbac", "privilege-escalation"],
        }
        .rule(fast!(nodes_proxy)),
        Def {
            slug: "rbac-create-pods",
            severity: Severity::Medium,
            title: "Role may create pods or workloads",
            description: "Creating pods (or Deployments, Jobs … that create them) lets the subject run any image with any service account of the namespace and mount every Secret there: it is as strong as reading the secrets.",
            remediation: "Grant workload creation only to deployment pipelines, and enforce Pod Security `restricted` on the namespace.",
            references: &[RBAC_URL],
            peers: &["kube-linter:access-to-create-pods", "trivy:KSV-0048"],
            tags: &["rbac", "privilege-escalation"],
        }
        .rule(fast!(create_pods)),
        Def {
            slug: "rbac-webhook-control",
            severity: Severity::High,
            title: "Role may change admission webhooks",
            description: "Write access to mutating/validating webhook configurations lets the subject switch off policy enforcement or inject a webhook that rewrites (and reads) every object, secrets included.",
            remediation: "Restrict write access to webhook configurations to cluster administrators.",
            references: &[RBAC_URL],
            peers: &["CKV_K8S_155", "trivy:KSV-0114"],
            tags: &["rbac", "privilege-escalation"],
        }
        .rule(fast!(webhooks)),
        Def {
            slug: "rbac-approve-csr",
            severity: Severity::High,
            title: "Role may approve certificate signing requests",
            description: "`update` on `certificatesigningrequests/approval` with `approve` on a signer lets the subject issue client certificates for any identity, e.g. `system:masters`.",
            remediation: "Leave CSR approval to the controller manager and cluster administrators.",
            references: &[RBAC_URL, "https://kubernetes.io/docs/reference/access-authn-authz/certificate-signing-requests/"],
            peers: &["CKV_K8S_156"],
            tags: &["rbac", "privilege-escalation"],
        }
        .rule(fast!(approve_csr)),
        Def {
            slug: "rbac-token-create",
            severity: Severity::High,
            title: "Role may mint service account tokens",
            description: "`create` on `serviceaccounts/token` issues tokens for any service account of the scope, i.e. assumes their permissions.",
            remediation: "Remove `serviceaccounts/token` creation; scope it with `resourceNames` if required.",
            references: &[RBAC_URL],
            peers: &[],
            tags: &["rbac", "privilege-escalation"],
        }
        .rule(fast!(token_create)),
        Def {
            slug: "binding-to-unauthenticated",
            severity: Severity::Critical,
            title: "Role bound to anonymous or unauthenticated users",
            description: "A binding whose subject is `system:anonymous` or `system:unauthenticated` grants the role to anyone who can reach the API server, without credentials.",
            remediation: "Delete the binding; expose what is public (health, version) through the built-in `system:public-info-viewer` only.",
            references: &[RBAC_URL, "CIS Kubernetes 5.1.1"],
            peers: &[],
            tags: &["rbac", "exposure"],
        }
        .rule(fast!(bind_unauth)),
        Def {
            slug: "binding-to-authenticated",
            severity: Severity::High,
            title: "Role bound to every authenticated user",
            description: "`system:authenticated` includes every service account of every namespace and, on some managed clusters, any Google/Azure account: the role is granted to everyone who can get a token.",
            remediation: "Bind the role to specific users, groups or service accounts.",
            references: &[RBAC_URL],
            peers: &[],
            tags: &["rbac", "exposure"],
        }
        .rule(fast!(bind_authenticated)),
        Def {
            slug: "cluster-admin-binding",
            severity: Severity::High,
            title: "Binding grants cluster-admin",
            description: "A (Cluster)RoleBinding to the `cluster-admin` ClusterRole gives its subjects full control of the cluster (of the namespace for a RoleBinding).",
            remediation: "Create a role with only the permissions needed and bind that instead.",
            references: &[RBAC_URL, "CIS Kubernetes 5.1.1"],
            peers: &["kube-linter:cluster-admin-role-binding", "polaris:clusterrolebindingClusterAdmin", "polaris:rolebindingClusterAdminRole", "trivy:KSV-0111"],
            tags: &["rbac"],
        }
        .rule(fast!(cluster_admin)),
    ]
}

/// One permission that, when every operation is granted, fails a rule (as Checkov's
/// `RbacOperation`).
struct Op {
    groups: &'static [&'static str],
    verbs: &'static [&'static str],
    resources: &'static [&'static str],
}

fn role_rules<'a>(obj: &Subject<'a>) -> Vec<(usize, &'a Value)> {
    if !matches!(obj.kind(), "Role" | "ClusterRole") {
        return Vec::new();
    }
    obj.obj
        .value
        .get("rules")
        .and_then(Value::as_array)
        .map(|a| a.iter().enumerate().collect())
        .unwrap_or_default()
}

fn has(rule: &Value, key: &str, wanted: &[&str]) -> bool {
    str_list(rule.get(key))
        .iter()
        .any(|v| *v == "*" || wanted.contains(v))
}

fn resource_match(rule: &Value, wanted: &[&str]) -> bool {
    str_list(rule.get("resources")).iter().any(|g| {
        *g == "*"
            || wanted.iter().any(|w| {
                g == w
                    || (w.contains('/')
                        && g.strip_prefix("*/")
                            .is_some_and(|sub| w.split('/').nth(1) == Some(sub)))
            })
    })
}

fn rule_can(rule: &Value, op: &Op) -> bool {
    has(rule, "apiGroups", op.groups)
        && has(rule, "verbs", op.verbs)
        && resource_match(rule, op.resources)
}

/// Report the first rule of the role that grants `op`, when every op of `all` is
/// granted by some rule.
fn rbac_check(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>, ops: &[Op], what: &str) {
    let rules = role_rules(obj);
    if rules.is_empty() || ops.is_empty() {
        return;
    }
    let mut first = None;
    for op in ops {
        match rules.iter().find(|(_, r)| rule_can(r, op)) {
            Some((i, _)) => {
                first.get_or_insert(*i);
            }
            None => return,
        }
    }
    if let Some(i) = first {
        report(
            &rule.meta,
            obj,
            &join_index("rules", i),
            format!("{} `{}` {what}", obj.kind(), obj.name()),
            out,
        );
    }
}

fn wildcard(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    for (i, r) in role_rules(obj) {
        for key in ["apiGroups", "resources", "verbs"] {
            if str_list(r.get(key)).iter().any(|v| v.contains('*')) {
                report(
                    &rule.meta,
                    obj,
                    &format!("{}.{key}", join_index("rules", i)),
                    format!("rule grants `*` in `{key}`"),
                    out,
                );
                return;
            }
        }
    }
}

const RBAC_GROUP: &[&str] = &["rbac.authorization.k8s.io"];
const ROLES: &[&str] = &["roles", "clusterroles"];

fn escalate(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    let ops = [Op {
        groups: RBAC_GROUP,
        verbs: &["escalate"],
        resources: ROLES,
    }];
    rbac_check(rule, obj, out, &ops, "may escalate roles");
}

fn bind(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    // Kubernetes checks `bind` on the referenced (cluster)role; Checkov looks for it
    // on (cluster)rolebindings: both are reported.
    let ops = [Op {
        groups: RBAC_GROUP,
        verbs: &["bind"],
        resources: &[
            "roles",
            "clusterroles",
            "rolebindings",
            "clusterrolebindings",
        ],
    }];
    rbac_check(rule, obj, out, &ops, "may bind roles");
}

fn impersonate(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    let ops = [Op {
        groups: &["", "authentication.k8s.io"],
        verbs: &["impersonate"],
        resources: &["users", "groups", "serviceaccounts", "userextras", "uids"],
    }];
    rbac_check(rule, obj, out, &ops, "may impersonate");
}

fn secrets_read(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    let ops = [Op {
        groups: &[""],
        verbs: &["get", "list", "watch"],
        resources: &["secrets"],
    }];
    rbac_check(rule, obj, out, &ops, "may read secrets");
}

fn pods_exec(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    let ops = [Op {
        groups: &[""],
        verbs: &["create", "get"],
        resources: &["pods/exec", "pods/attach"],
    }];
    rbac_check(rule, obj, out, &ops, "may exec into pods");
}

fn nodes_proxy(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    let ops = [Op {
        groups: &[""],
        verbs: &["get", "create", "update", "patch", "delete"],
        resources: &["nodes/proxy"],
    }];
    rbac_check(rule, obj, out, &ops, "may proxy to kubelets");
}

fn create_pods(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    let ops = [Op {
        groups: &["", "apps", "batch"],
        verbs: &["create"],
        resources: &[
            "pods",
            "deployments",
            "statefulsets",
            "daemonsets",
            "replicasets",
            "replicationcontrollers",
            "jobs",
            "cronjobs",
        ],
    }];
    rbac_check(rule, obj, out, &ops, "may create pods");
}

fn webhooks(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    let ops = [Op {
        groups: &["admissionregistration.k8s.io"],
        verbs: &["create", "update", "patch"],
        resources: &[
            "mutatingwebhookconfigurations",
            "validatingwebhookconfigurations",
        ],
    }];
    rbac_check(rule, obj, out, &ops, "may change admission webhooks");
}

fn approve_csr(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    let ops = [
        Op {
            groups: &["certificates.k8s.io"],
            verbs: &["update", "patch"],
            resources: &["certificatesigningrequests/approval"],
        },
        Op {
            groups: &["certificates.k8s.io"],
            verbs: &["approve"],
            resources: &["signers"],
        },
    ];
    rbac_check(rule, obj, out, &ops, "may approve CSRs");
}

fn token_create(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    let ops = [Op {
        groups: &[""],
        verbs: &["create"],
        resources: &["serviceaccounts/token"],
    }];
    rbac_check(rule, obj, out, &ops, "may create service account tokens");
}

fn subject_named(obj: &Subject<'_>, names: &[&str]) -> Option<(usize, String)> {
    if !matches!(obj.kind(), "RoleBinding" | "ClusterRoleBinding") {
        return None;
    }
    let subjects = obj.value.get("subjects")?.as_array()?;
    subjects.iter().enumerate().find_map(|(i, s)| {
        let n = s.get("name").and_then(Value::as_str)?;
        names.contains(&n).then(|| (i, n.to_string()))
    })
}

fn bind_unauth(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    if let Some((i, n)) = subject_named(obj, &["system:anonymous", "system:unauthenticated"]) {
        report(
            &rule.meta,
            obj,
            &join_index("subjects", i),
            format!("{} `{}` binds `{n}`", obj.kind(), obj.name()),
            out,
        );
    }
}

fn bind_authenticated(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    if let Some((i, n)) = subject_named(obj, &["system:authenticated"]) {
        // The built-in discovery bindings are expected.
        let role = obj
            .value
            .get("roleRef")
            .and_then(|r| r.get("name"))
            .and_then(Value::as_str)
            .unwrap_or("");
        if matches!(
            role,
            "system:basic-user" | "system:discovery" | "system:public-info-viewer"
        ) {
            return;
        }
        report(
            &rule.meta,
            obj,
            &join_index("subjects", i),
            format!("{} `{}` binds `{n}`", obj.kind(), obj.name()),
            out,
        );
    }
}

fn cluster_admin(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    if !matches!(obj.kind(), "RoleBinding" | "ClusterRoleBinding") {
        return;
    }
    let role = obj.value.get("roleRef").and_then(|r| r.get("name"));
    if role.and_then(Value::as_str) == Some("cluster-admin") {
        report(
            &rule.meta,
            obj,
            "roleRef.name",
            format!("{} `{}` grants cluster-admin", obj.kind(), obj.name()),
            out,
        );
    }
}
