//! The `rbac/*` risk rules: what a subject can do through a binding, evaluated on the
//! role's effective rules (aggregation resolved) with the authorizer's matchers. Each
//! finding is located at the binding's subject and names the whole chain: subject →
//! binding → role → the rule (file:line of each).
//!
//! The per-object `k8s/rbac-*` rules look at a Role on its own, bound or not; these look
//! at what is actually granted, to whom, and where.

use super::authz::{api_group_matches, resource_matches, resource_name_matches, verb_matches};
use super::model::{Binding, BindingKind, EffectiveRule, Policy, PolicyRule, Role};
use crate::object::{join_index, Object};
use rampart_core::fingerprint::fingerprint;
use rampart_core::{Finding, RuleMeta, Severity};
use serde_json::{json, Value};

const RBAC_GOOD_PRACTICES: &str =
    "https://kubernetes.io/docs/concepts/security/rbac-good-practices/";
const RBAC_DOCS: &str = "https://kubernetes.io/docs/reference/access-authn-authz/rbac/";

/// Which bindings a risk applies to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// ClusterRoleBindings and RoleBindings.
    Any,
    /// ClusterRoleBindings only (cluster-wide grants).
    Cluster,
    /// RoleBindings only.
    Namespace,
}

/// One permission: any verb × group × resource of it.
struct Probe {
    verbs: &'static [&'static str],
    groups: &'static [&'static str],
    resources: &'static [&'static str],
}

enum Check {
    /// Some rule grants one of the probes (`all`: every probe is granted by some rule).
    Probes {
        probes: &'static [Probe],
        all: bool,
        /// Whether a rule limited by `resourceNames` still counts (impersonating one
        /// named user or minting one account's tokens is no smaller a risk).
        despite_names: bool,
    },
    /// A `*` in verbs, resources or API groups (other than a full `*`/`*`/`*`, which
    /// the admin-equivalent rules report).
    Wildcard,
}

struct Risk {
    slug: &'static str,
    severity: Severity,
    title: &'static str,
    /// Verb phrase for messages: "may read secrets".
    what: &'static str,
    description: &'static str,
    remediation: &'static str,
    references: &'static [&'static str],
    peers: &'static [&'static str],
    scope: Scope,
    check: Check,
}

const ALL: Probe = Probe {
    verbs: &["*"],
    groups: &["*"],
    resources: &["*"],
};

const WORKLOADS: &[&str] = &[
    "pods",
    "deployments",
    "statefulsets",
    "daemonsets",
    "replicasets",
    "replicationcontrollers",
    "jobs",
    "cronjobs",
];

const RISKS: &[Risk] = &[
    Risk {
        slug: "cluster-admin-equivalent",
        severity: Severity::Critical,
        title: "Subject holds every permission cluster-wide (cluster-admin equivalent)",
        what: "do anything cluster-wide (`*` verbs on `*` resources in `*` API groups)",
        description: "A ClusterRoleBinding grants a role with a rule of `*` verbs on `*` resources in `*` API groups: the subject is cluster-admin, whatever the role is called. It can read every Secret, run any pod on any node, and grant itself anything else.",
        remediation: "Bind a role that lists the API groups, resources and verbs the subject needs; keep cluster-admin for break-glass accounts outside the manifests.",
        references: &[RBAC_GOOD_PRACTICES, "CIS Kubernetes 5.1.1"],
        peers: &["rbac-police:cluster_admin", "kubescape:C-0035", "CKV_K8S_49"],
        scope: Scope::Cluster,
        check: Check::Probes { probes: &[ALL], all: false, despite_names: false },
    },
    Risk {
        slug: "namespace-admin-equivalent",
        severity: Severity::High,
        title: "Subject holds every permission in a namespace",
        what: "do anything in the namespace (`*` verbs on `*` resources in `*` API groups)",
        description: "A RoleBinding grants a role with a rule of `*` verbs on `*` resources in `*` API groups: in that namespace the subject reads every Secret, runs pods as any service account, and writes Roles and RoleBindings.",
        remediation: "Bind a role that lists the API groups, resources and verbs the subject needs (the built-in `edit` or `view` ClusterRoles often suffice).",
        references: &[RBAC_GOOD_PRACTICES],
        peers: &["CKV_K8S_49"],
        scope: Scope::Namespace,
        check: Check::Probes { probes: &[ALL], all: false, despite_names: false },
    },
    Risk {
        slug: "wildcard-grant",
        severity: Severity::Medium,
        title: "Subject is granted `*` verbs, resources or API groups",
        what: "use a wildcard grant",
        description: "A bound rule uses `*` in `verbs`, `resources` or `apiGroups`: the subject gets every verb or resource, including those added later by new Kubernetes versions and CRDs (secrets, `escalate`, `impersonate` …).",
        remediation: "List the exact API groups, resources and verbs the subject needs.",
        references: &[RBAC_GOOD_PRACTICES, "CIS Kubernetes 5.1.3"],
        peers: &["CKV_K8S_49", "kube-linter:wildcard-in-rules"],
        scope: Scope::Any,
        check: Check::Wildcard,
    },
    Risk {
        slug: "read-secrets",
        severity: Severity::High,
        title: "Subject can read Secrets",
        what: "read secrets",
        description: "`get`, `list` or `watch` on `secrets` (not limited by `resourceNames`) exposes every credential in scope: service-account tokens, registry and TLS keys, application passwords. `list` and `watch` return the values, not just names. Through a ClusterRoleBinding it is every Secret of the cluster.",
        remediation: "Remove read access to secrets, or limit `get` to the named secrets the subject needs with `resourceNames`; mount secrets into the workload instead of reading them through the API.",
        references: &[RBAC_GOOD_PRACTICES, "CIS Kubernetes 5.1.2"],
        peers: &["rbac-police:retrieve_secrets", "rbac-police:list_secrets", "kubescape:C-0015", "kube-linter:access-to-secrets"],
        scope: Scope::Any,
        check: Check::Probes {
            probes: &[Probe { verbs: &["get", "list", "watch"], groups: &[""], resources: &["secrets"] }],
            all: false,
            despite_names: false,
        },
    },
    Risk {
        slug: "create-workloads",
        severity: Severity::High,
        title: "Subject can create or change pods and workloads",
        what: "create or change pods and workloads",
        description: "Creating a pod (or a Deployment, Job, CronJob … that creates one), or changing a workload's pod template, runs any image as any service account of the namespace and mounts any of its Secrets: the subject holds every permission of every service account there, and on nodes without Pod Security enforcement it can mount the host.",
        remediation: "Grant workload creation to deployment pipelines only, enforce Pod Security `restricted` on the namespace, and keep powerful service accounts out of namespaces where others can create pods.",
        references: &[RBAC_GOOD_PRACTICES, "CIS Kubernetes 5.1.4"],
        peers: &["rbac-police:assign_sa", "rbac-police:modify_pods", "kube-linter:access-to-create-pods"],
        scope: Scope::Any,
        check: Check::Probes {
            probes: &[Probe {
                verbs: &["create", "update", "patch"],
                groups: &["", "apps", "batch"],
                resources: WORKLOADS,
            }],
            all: false,
            despite_names: false,
        },
    },
    Risk {
        slug: "pod-exec",
        severity: Severity::High,
        title: "Subject can exec or attach into pods",
        what: "exec or attach into pods",
        description: "`create` on `pods/exec` or `pods/attach` (and `get`, which the API server accepted for the websocket upgrade of these subresources) gives a shell in any pod in scope, with its service-account token, mounted secrets and network position.",
        remediation: "Remove `pods/exec` and `pods/attach`; grant them to break-glass roles only, with audit logging.",
        references: &[RBAC_GOOD_PRACTICES],
        peers: &["rbac-police:pods_exec", "kubescape:C-0002"],
        scope: Scope::Any,
        check: Check::Probes {
            probes: &[Probe { verbs: &["create", "get"], groups: &[""], resources: &["pods/exec", "pods/attach"] }],
            all: false,
            despite_names: false,
        },
    },
    Risk {
        slug: "pod-portforward",
        severity: Severity::Medium,
        title: "Subject can port-forward to pods",
        what: "port-forward to pods",
        description: "`create` (or `get`) on `pods/portforward` opens a tunnel to any port of any pod in scope, bypassing NetworkPolicies and Services: databases and admin endpoints that were never exposed become reachable.",
        remediation: "Remove `pods/portforward` from roles that do not debug workloads.",
        references: &[RBAC_GOOD_PRACTICES],
        peers: &["kubescape:C-0063"],
        scope: Scope::Any,
        check: Check::Probes {
            probes: &[Probe { verbs: &["create", "get"], groups: &[""], resources: &["pods/portforward"] }],
            all: false,
            despite_names: false,
        },
    },
    Risk {
        slug: "nodes-proxy",
        severity: Severity::High,
        title: "Subject can reach the kubelet API (nodes/proxy)",
        what: "proxy to the kubelet API (nodes/proxy)",
        description: "`nodes/proxy` reaches the kubelet API of every node: run commands in any pod of the node (`/exec`, `/run`), bypassing admission control and the pod API's audit trail. `get` suffices for the websocket exec endpoints.",
        remediation: "Remove `nodes/proxy`; monitoring agents need `nodes/metrics` or `nodes/stats` only.",
        references: &[RBAC_GOOD_PRACTICES],
        peers: &["rbac-police:nodes_proxy"],
        scope: Scope::Any,
        check: Check::Probes {
            probes: &[Probe { verbs: &["get", "create", "update", "patch", "delete"], groups: &[""], resources: &["nodes/proxy"] }],
            all: false,
            despite_names: false,
        },
    },
    Risk {
        slug: "escalate",
        severity: Severity::Critical,
        title: "Subject can escalate roles (escalate verb)",
        what: "write roles with permissions it does not hold (`escalate`)",
        description: "The `escalate` verb on `roles` or `clusterroles` lifts the API server's privilege-escalation check: the subject can add any permission to a role bound to it, cluster-admin included.",
        remediation: "Remove `escalate` (and `*` verbs) on roles and clusterroles.",
        references: &[RBAC_DOCS, RBAC_GOOD_PRACTICES],
        peers: &["rbac-police:escalate_roles", "CKV_K8S_158"],
        scope: Scope::Any,
        check: Check::Probes {
            probes: &[Probe { verbs: &["escalate"], groups: &["rbac.authorization.k8s.io"], resources: &["roles", "clusterroles"] }],
            all: false,
            despite_names: true,
        },
    },
    Risk {
        slug: "bind",
        severity: Severity::Critical,
        title: "Subject can bind roles it does not hold (bind verb)",
        what: "bind roles it does not hold (`bind`)",
        description: "The `bind` verb on `roles` or `clusterroles` lifts the API server's check that a binding's creator holds the bound permissions: with write access to (cluster)rolebindings the subject grants itself any role, cluster-admin included. A `resourceNames` limit only narrows which roles.",
        remediation: "Remove `bind` (and `*` verbs) on roles and clusterroles; a controller that must bind one role names it in `resourceNames`.",
        references: &[RBAC_DOCS, RBAC_GOOD_PRACTICES],
        peers: &["rbac-police:bind_roles", "CKV_K8S_157"],
        scope: Scope::Any,
        check: Check::Probes {
            probes: &[Probe { verbs: &["bind"], groups: &["rbac.authorization.k8s.io"], resources: &["roles", "clusterroles"] }],
            all: false,
            despite_names: true,
        },
    },
    Risk {
        slug: "impersonate",
        severity: Severity::Critical,
        title: "Subject can impersonate users, groups or service accounts",
        what: "impersonate other identities",
        description: "`impersonate` on `users`, `groups`, `serviceaccounts`, `uids` or `userextras` lets the subject act as another identity (`kubectl --as`), e.g. a member of `system:masters`. Even limited to named identities it is their full power.",
        remediation: "Remove `impersonate`; an authenticating proxy that needs it gets a dedicated identity with `resourceNames` limited to what it may assert.",
        references: &[RBAC_GOOD_PRACTICES, "https://kubernetes.io/docs/reference/access-authn-authz/authentication/#user-impersonation"],
        peers: &["rbac-police:impersonate", "kubescape:C-0065"],
        scope: Scope::Any,
        check: Check::Probes {
            probes: &[
                Probe { verbs: &["impersonate"], groups: &[""], resources: &["users", "groups", "serviceaccounts"] },
                Probe { verbs: &["impersonate"], groups: &["authentication.k8s.io"], resources: &["userextras", "uids"] },
            ],
            all: false,
            despite_names: true,
        },
    },
    Risk {
        slug: "approve-csr",
        severity: Severity::High,
        title: "Subject can approve certificate signing requests",
        what: "approve certificate signing requests",
        description: "`update` (or `patch`) on `certificatesigningrequests/approval` together with `approve` on a signer lets the subject issue certificates: for `kubernetes.io/kube-apiserver-client`, a client certificate for any user and group, `system:masters` included.",
        remediation: "Leave CSR approval to the controller manager and cluster administrators; limit `approve` to a specific signer with `resourceNames` when a controller needs it.",
        references: &["https://kubernetes.io/docs/reference/access-authn-authz/certificate-signing-requests/#authorization", RBAC_GOOD_PRACTICES],
        peers: &["rbac-police:approve_csrs", "CKV_K8S_156"],
        scope: Scope::Cluster,
        check: Check::Probes {
            probes: &[
                Probe { verbs: &["update", "patch"], groups: &["certificates.k8s.io"], resources: &["certificatesigningrequests/approval"] },
                Probe { verbs: &["approve"], groups: &["certificates.k8s.io"], resources: &["signers"] },
            ],
            all: true,
            despite_names: true,
        },
    },
    Risk {
        slug: "token-create",
        severity: Severity::High,
        title: "Subject can mint service account tokens",
        what: "mint service account tokens (`serviceaccounts/token`)",
        description: "`create` on `serviceaccounts/token` (the TokenRequest API) issues a token for a service account in scope: the subject assumes its permissions. Even limited to named accounts it is their full power.",
        remediation: "Remove `serviceaccounts/token` creation; workloads get their tokens through projected volumes without it.",
        references: &[RBAC_GOOD_PRACTICES],
        peers: &["rbac-police:token_request"],
        scope: Scope::Any,
        check: Check::Probes {
            probes: &[Probe { verbs: &["create"], groups: &[""], resources: &["serviceaccounts/token"] }],
            all: false,
            despite_names: true,
        },
    },
    Risk {
        slug: "webhook-config",
        severity: Severity::High,
        title: "Subject can change admission webhooks or policies",
        what: "change admission webhooks or admission policies",
        description: "Writing or deleting mutating/validating webhook configurations or validating admission policies lets the subject switch policy enforcement off, or register a webhook that receives (and rewrites) every object sent to the API server, Secrets included.",
        remediation: "Restrict write access to admission configuration to cluster administrators; a controller that patches its own webhook's `caBundle` names it in `resourceNames`.",
        references: &[RBAC_GOOD_PRACTICES],
        peers: &["rbac-police:control_webhooks", "CKV_K8S_155"],
        scope: Scope::Cluster,
        check: Check::Probes {
            probes: &[Probe {
                verbs: &["create", "update", "patch", "delete"],
                groups: &["admissionregistration.k8s.io"],
                resources: &[
                    "mutatingwebhookconfigurations",
                    "validatingwebhookconfigurations",
                    "validatingadmissionpolicies",
                    "validatingadmissionpolicybindings",
                ],
            }],
            all: false,
            despite_names: false,
        },
    },
];

/// Ids of the `rbac/*` rules, for tests and documentation.
pub fn rule_ids() -> Vec<String> {
    RISKS.iter().map(|r| format!("rbac/{}", r.slug)).collect()
}

fn meta(r: &Risk) -> RuleMeta {
    let mut references: Vec<String> = r.references.iter().map(|s| (*s).to_string()).collect();
    references.extend(r.peers.iter().map(|s| (*s).to_string()));
    RuleMeta {
        id: format!("rbac/{}", r.slug),
        area: "rbac".into(),
        title: r.title.into(),
        severity: r.severity,
        description: r.description.into(),
        remediation: r.remediation.into(),
        references,
        peers: r.peers.iter().map(|s| (*s).to_string()).collect(),
        tags: vec!["rbac".into(), "kubernetes".into()],
    }
}

/// Metadata of every `rbac/*` rule.
pub fn metas() -> Vec<RuleMeta> {
    RISKS.iter().map(meta).collect()
}

/// Whether `rule` grants some verb × group × resource of `probe`.
fn grants(rule: &PolicyRule, probe: &Probe, despite_names: bool) -> bool {
    if !rule.non_resource_urls.is_empty() {
        return false;
    }
    if !despite_names && !resource_name_matches(rule, "") {
        return false;
    }
    probe.verbs.iter().any(|v| verb_matches(rule, v))
        && probe.groups.iter().any(|g| api_group_matches(rule, g))
        && probe.resources.iter().any(|r| {
            let sub = r.split_once('/').map_or("", |(_, s)| s);
            resource_matches(rule, r, sub)
        })
}

fn is_wildcard(rule: &PolicyRule) -> bool {
    rule.non_resource_urls.is_empty()
        && (rule.verbs.iter().any(|v| v == "*")
            || rule.api_groups.iter().any(|g| g == "*")
            || rule.resources.iter().any(|r| r.starts_with('*')))
}

/// The first rule of `role` showing the risk, if the role has it.
fn first_match<'p, 'a>(risk: &Risk, role: &'p Role<'a>) -> Option<&'p EffectiveRule<'a>> {
    match &risk.check {
        Check::Wildcard => role.rules.iter().find(|r| is_wildcard(&r.rule)),
        Check::Probes {
            probes,
            all,
            despite_names,
        } => {
            let mut first: Option<&EffectiveRule<'a>> = None;
            for p in probes.iter() {
                match role
                    .rules
                    .iter()
                    .find(|r| grants(&r.rule, p, *despite_names))
                {
                    Some(r) if !*all => return Some(r),
                    Some(r) => {
                        first.get_or_insert(r);
                    }
                    None if *all => return None,
                    None => {}
                }
            }
            first
        }
    }
}

/// `path:line` of a field of an object (`path` alone without a span).
pub(crate) fn at(obj: &Object, field: &str) -> String {
    let path = obj.path.clone().unwrap_or_else(|| "(no file)".into());
    match obj.span(field) {
        Some(s) => format!("{path}:{}", s.start_line),
        None => path,
    }
}

fn step(kind: &str, name: &str, namespace: Option<&str>, obj: &Object, field: &str) -> Value {
    json!({
        "kind": kind,
        "name": name,
        "namespace": namespace,
        "path": obj.path,
        "line": obj.span(field).map(|s| s.start_line),
        "field": (!field.is_empty()).then_some(field),
    })
}

/// Where a binding grants: `cluster-wide` or `in namespace `x``.
pub(crate) fn scope_phrase(b: &Binding<'_>) -> String {
    match (&b.kind, &b.namespace) {
        (BindingKind::RoleBinding, Some(ns)) => format!("in namespace `{ns}`"),
        _ => "cluster-wide".into(),
    }
}

/// The chain of a grant for messages: `ClusterRoleBinding `b` (f:3) → ClusterRole `r`
/// (f:10) → rules[0] (f:12): get secrets (core)`.
pub(crate) fn chain_text(b: &Binding<'_>, role: &Role<'_>, rule: &EffectiveRule<'_>) -> String {
    let src = rule.source;
    let rule_at = if std::ptr::eq(src.role, role.obj) {
        format!("{} ({})", src.field(), at(src.role, &src.field()))
    } else {
        format!(
            "{} of ClusterRole `{}` (aggregated; {})",
            src.field(),
            src.role.name(),
            at(src.role, &src.field())
        )
    };
    format!(
        "{} `{}` ({}) → {} `{}` ({}) → {rule_at}: {}",
        b.kind.as_str(),
        b.name,
        at(b.obj, "roleRef"),
        role.kind.as_str(),
        role.name,
        at(role.obj, ""),
        rule.rule.summary()
    )
}

/// The chain of a grant as JSON steps (subject, binding, role, rule), for the report.
pub(crate) fn chain_json(
    b: &Binding<'_>,
    subject: usize,
    role: &Role<'_>,
    rule: &EffectiveRule<'_>,
) -> Value {
    let (index, s) = &b.subjects[subject];
    let src = rule.source;
    json!([
        subject_step(b, *index, s),
        step(
            b.kind.as_str(),
            &b.name,
            b.namespace.as_deref(),
            b.obj,
            "roleRef"
        ),
        step(
            role.kind.as_str(),
            &role.name,
            role.namespace.as_deref(),
            role.obj,
            ""
        ),
        step(
            "rule",
            src.role.name(),
            src.role.namespace(),
            src.role,
            &src.field()
        ),
    ])
}

/// The subject step of a chain.
fn subject_step(b: &Binding<'_>, index: usize, s: &super::model::Subject) -> Value {
    step(
        s.kind.as_str(),
        &s.name,
        s.namespace.as_deref(),
        b.obj,
        &join_index("subjects", index),
    )
}

/// Every `rbac/*` finding of a resolved policy.
pub fn check(policy: &Policy<'_>) -> Vec<Finding> {
    let metas: Vec<RuleMeta> = RISKS.iter().map(meta).collect();
    let mut out = Vec::new();
    for b in &policy.bindings {
        let Some(role) = policy.role_of(b) else {
            continue;
        };
        if b.subjects.is_empty() {
            continue;
        }
        let mut admin = false;
        for (risk, meta) in RISKS.iter().zip(&metas) {
            let in_scope = match risk.scope {
                Scope::Any => true,
                Scope::Cluster => b.kind == BindingKind::ClusterRoleBinding,
                Scope::Namespace => b.kind == BindingKind::RoleBinding,
            };
            // Every other risk is part of holding every permission: not repeated.
            if !in_scope || admin {
                continue;
            }
            let Some(rule) = first_match(risk, role) else {
                continue;
            };
            if risk.slug.ends_with("admin-equivalent") {
                admin = true;
            }
            // What every subject of the binding shares, computed once per binding.
            let scope = scope_phrase(b);
            let chain = chain_text(b, role, rule);
            let object = Value::from(b.obj.object_ref().display());
            let steps = chain_json(b, 0, role, rule);
            for (index, subject) in &b.subjects {
                let who = subject.display();
                let message = format!("{who} may {} {scope}: {chain}", risk.what);
                let fp = fingerprint(&[
                    &meta.id,
                    b.kind.as_str(),
                    b.namespace.as_deref().unwrap_or(""),
                    &b.name,
                    &who,
                    role.kind.as_str(),
                    &role.name,
                ]);
                let mut f = Finding::new(
                    meta,
                    message,
                    b.obj.location(&join_index("subjects", *index)),
                    fp,
                );
                let mut steps = steps.clone();
                if let Some(first) = steps.get_mut(0) {
                    *first = subject_step(b, *index, subject);
                }
                f.properties.insert("subject".into(), Value::from(who));
                f.properties
                    .insert("scope".into(), Value::from(scope.clone()));
                f.properties.insert("chain".into(), steps);
                f.properties.insert("object".into(), object.clone());
                out.push(f);
            }
        }
    }
    out
}
