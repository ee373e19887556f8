//! The RBAC authorizer against truth: Kubernetes' own bootstrap policy
//! (`../shared/corpora/k8s-rbac/bootstrap-policy`, the golden files of what a fresh API
//! server creates). Every expected answer below was derived by reading those objects;
//! the comment on each says which binding, role and rule grant it (or why nothing does).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use rampart_k8s::load::load_str;
use rampart_k8s::rbac::query::{parse_request, parse_subject};
use rampart_k8s::rbac::{self, Policy};
use rampart_k8s::Object;
use std::collections::BTreeSet;

fn corpus() -> Option<Vec<Object>> {
    let dir = rampart_testkit::corpus("k8s-rbac/bootstrap-policy")?;
    let mut objects = Vec::new();
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    for p in names {
        let text = std::fs::read_to_string(&p).unwrap();
        let rel = p.file_name().unwrap().to_string_lossy().into_owned();
        let loaded = load_str(&text, Some(&rel));
        assert!(loaded.errors.is_empty(), "{rel}: {:?}", loaded.errors);
        objects.extend(loaded.objects);
    }
    Some(objects)
}

fn who_can(p: &Policy<'_>, verb: &str, resource: &str, ns: &str) -> BTreeSet<String> {
    let req = parse_request(verb, resource, ns, "", None).unwrap();
    p.who_can(&req)
        .iter()
        .map(|g| g.subject().display())
        .collect()
}

fn can(p: &Policy<'_>, who: &str, verb: &str, resource: &str, ns: &str) -> bool {
    let user = parse_subject(who, &[]).unwrap();
    let req = parse_request(verb, resource, ns, "", None).unwrap();
    p.authorize(&user, &req).is_some()
}

fn set(v: &[&str]) -> BTreeSet<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn corpus_loads_without_errors() {
    let Some(objects) = corpus() else { return };
    // 31 + 38 ClusterRoles, 7 Roles, 10 + 38 ClusterRoleBindings, 7 RoleBindings.
    assert_eq!(objects.len(), 131);
    let p = Policy::build_with(&objects, &[]);
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    assert_eq!(p.roles.len(), 76);
    assert_eq!(p.bindings.len(), 55);
}

#[test]
fn who_can_escalate_clusterroles() {
    let Some(objects) = corpus() else { return };
    let p = Policy::build_with(&objects, &[]);
    assert_eq!(
        who_can(&p, "escalate", "clusterroles", ""),
        set(&[
            // ClusterRoleBinding cluster-admin → ClusterRole cluster-admin rules[0]
            // (`*` verbs, `*` resources, `*` groups).
            "Group system:masters",
            // ClusterRoleBinding system:controller:clusterrole-aggregation-controller →
            // its ClusterRole, rules[0]: escalate on clusterroles (the controller writes
            // aggregated roles holding rules it does not itself hold).
            "ServiceAccount kube-system/clusterrole-aggregation-controller",
        ])
    );
    // Not granted by the garbage collector's or namespace controller's `*`/`*` rules:
    // their verbs are listed (delete, get, list, patch, update, watch / delete,
    // deletecollection, get, list, watch), and `*` resources do not make `*` verbs.
    assert!(!can(
        &p,
        "ServiceAccount:kube-system:generic-garbage-collector",
        "escalate",
        "clusterroles",
        ""
    ));
}

#[test]
fn who_can_get_secrets_in_kube_system() {
    let Some(objects) = corpus() else { return };
    let p = Policy::build_with(&objects, &[]);
    assert_eq!(
        who_can(&p, "get", "secrets", "kube-system"),
        set(&[
            // CRB cluster-admin → cluster-admin rules[0] (`*`/`*`/`*`).
            "Group system:masters",
            // CRB system:kube-controller-manager → rules[5]: get configmaps, namespaces,
            // secrets, serviceaccounts.
            "User system:kube-controller-manager",
            // CRB system:controller:generic-garbage-collector → rules[0]: `*` resources
            // in `*` groups with get among the verbs.
            "ServiceAccount kube-system/generic-garbage-collector",
            // CRB system:controller:namespace-controller → rules[2]: the same, `*`/`*`
            // with get.
            "ServiceAccount kube-system/namespace-controller",
            // RoleBinding kube-system/system:controller:bootstrap-signer → Role
            // kube-system/system:controller:bootstrap-signer rules[0]: get,list,watch secrets.
            "ServiceAccount kube-system/bootstrap-signer",
            // RoleBinding kube-system/system:controller:token-cleaner → Role rules[0]:
            // delete,get,list,watch secrets.
            "ServiceAccount kube-system/token-cleaner",
        ])
    );
    // Not in the answer:
    // - ClusterRole system:node (rules[11] get secrets) is bound by a ClusterRoleBinding
    //   with no subjects (the Node authorizer serves kubelets instead);
    // - resourcequota-controller has `*`/`*` with list and watch only;
    // - legacy-service-account-token-cleaner has delete and patch on secrets, not get;
    // - `edit`/`admin` (aggregate-to-edit: get secrets) are bound by nothing here.
    assert!(!can(
        &p,
        "ServiceAccount:kube-system:resourcequota-controller",
        "get",
        "secrets",
        "kube-system"
    ));
    assert!(can(
        &p,
        "ServiceAccount:kube-system:resourcequota-controller",
        "list",
        "secrets",
        "kube-system"
    ));
    // The same question in kube-public: the bootstrap-signer's Role there holds configmaps
    // only, so the two RoleBinding answers drop out.
    let public = who_can(&p, "get", "secrets", "kube-public");
    assert!(!public.contains("ServiceAccount kube-system/bootstrap-signer"));
    assert_eq!(public.len(), 4, "{public:?}");
}

#[test]
fn aggregated_roles_as_the_controller_fills_them() {
    let Some(mut objects) = corpus() else { return };
    // Bind the aggregated `admin`, `edit` and `view` to one user each in namespace `team`.
    for (user, role) in [("ann", "admin"), ("eve", "edit"), ("vic", "view")] {
        objects.extend(load_str(&format!("apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {{name: {user}, namespace: team}}\nroleRef: {{kind: ClusterRole, name: {role}}}\nsubjects: [{{kind: User, name: {user}}}]\n"), Some("extra.yaml")).objects);
    }
    let p = Policy::build_with(&objects, &[]);
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    // view = aggregate-to-view: rules[1] get pods/log; never secrets.
    assert!(can(&p, "vic", "get", "pods/log", "team"));
    assert!(!can(&p, "vic", "get", "secrets", "team"));
    assert!(!can(&p, "vic", "create", "pods/exec", "team"));
    // edit = aggregate-to-edit (rules[2] create pods/exec, rules[0] get secrets, rules[5]
    // create serviceaccounts/token, rules[1] impersonate serviceaccounts) + view (edit is
    // labelled aggregate-to-admin and view aggregate-to-edit).
    assert!(can(&p, "eve", "create", "pods/exec", "team"));
    assert!(can(&p, "eve", "get", "secrets", "team"));
    assert!(can(&p, "eve", "create", "serviceaccounts/token", "team"));
    assert!(can(&p, "eve", "impersonate", "serviceaccounts", "team"));
    assert!(can(&p, "eve", "get", "pods/log", "team"));
    assert!(!can(&p, "eve", "create", "rolebindings", "team"));
    // admin = aggregate-to-admin (rules[1] roles/rolebindings) + edit + view, transitively.
    assert!(can(&p, "ann", "create", "rolebindings", "team"));
    assert!(can(&p, "ann", "create", "pods/exec", "team"));
    assert!(can(&p, "ann", "list", "pods", "team"));
    // A RoleBinding grants in its namespace only; admin has no escalate or bind.
    assert!(!can(&p, "ann", "create", "rolebindings", "other"));
    assert!(!can(&p, "ann", "escalate", "roles", "team"));
    assert!(!can(&p, "ann", "bind", "roles", "team"));
    // The rule's source is the aggregated-from role, with its line.
    let g = p
        .authorize(
            &parse_subject("ann", &[]).unwrap(),
            &parse_request("create", "pods/exec", "team", "", None).unwrap(),
        )
        .unwrap();
    assert_eq!(g.rule.source.role.name(), "system:aggregate-to-edit");
    assert_eq!(g.rule.source.index, 2);
    let text = rbac::chain_text(&p, &g);
    assert!(
        text.contains(
            "rules[2] of ClusterRole `system:aggregate-to-edit` (aggregated; cluster-roles.yaml:"
        ),
        "{text}"
    );
}

#[test]
fn non_resource_urls_and_implicit_groups() {
    let Some(objects) = corpus() else { return };
    let p = Policy::build_with(&objects, &[]);
    // CRB system:public-info-viewer binds system:authenticated and
    // system:unauthenticated to get /healthz, /livez, /readyz, /version, /version/.
    assert!(can(&p, "system:anonymous", "get", "/healthz", ""));
    assert!(can(&p, "alice", "get", "/version", ""));
    assert!(!can(&p, "system:anonymous", "post", "/healthz", ""));
    // CRB system:discovery binds system:authenticated to /api, /api/*, /apis, /apis/* ….
    assert!(can(
        &p,
        "ServiceAccount:default:default",
        "get",
        "/apis/apps/v1",
        ""
    ));
    assert!(!can(&p, "system:anonymous", "get", "/apis/apps/v1", ""));
    // CRB system:basic-user binds system:authenticated to create selfsubjectaccessreviews.
    assert!(can(
        &p,
        "Group:devs",
        "create",
        "selfsubjectaccessreviews",
        ""
    ));
}

/// The `rbac/*` findings on the bootstrap policy are exactly those of the committed,
/// documented expectation file (`fixtures/rbac-bootstrap-expected.tsv`).
#[test]
fn bootstrap_policy_findings_are_the_documented_ones() {
    let Some(objects) = corpus() else { return };
    let a = rbac::check(&objects);
    assert!(a.errors.is_empty(), "{:?}", a.errors);
    let got: BTreeSet<String> = a
        .findings
        .iter()
        .map(|f| {
            format!(
                "{}\t{}\t{}",
                f.rule_id,
                f.properties["subject"].as_str().unwrap(),
                f.properties["object"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(got.len(), a.findings.len(), "duplicate findings");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/rbac-bootstrap-expected.tsv");
    let want: BTreeSet<String> = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.splitn(4, '\t').take(3).collect::<Vec<_>>().join("\t"))
        .collect();
    let missing: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing: {missing:#?}\nnot expected: {extra:#?}"
    );
}

/// Timing of the RBAC analysis on a directory named by `RAMPART_RBAC_BENCH` (e.g. the
/// synthetic set of 10,000 objects and 50,000 subjects that docs/rbac.md describes):
/// `RAMPART_RBAC_BENCH=DIR cargo test --release -p rampart-k8s --test it rbac_bench -- --ignored --nocapture`.
#[test]
#[ignore = "benchmark: needs RAMPART_RBAC_BENCH=DIR"]
fn rbac_bench() {
    let Ok(dir) = std::env::var("RAMPART_RBAC_BENCH") else {
        return;
    };
    let t = std::time::Instant::now();
    let mut objects = Vec::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        let text = std::fs::read_to_string(&p).unwrap();
        objects.extend(load_str(&text, Some(&p.display().to_string())).objects);
    }
    let load = t.elapsed();
    let t = std::time::Instant::now();
    let p = Policy::build(&objects);
    let build = t.elapsed();
    let subjects: usize = p.bindings.iter().map(|b| b.subjects.len()).sum();
    let t = std::time::Instant::now();
    let req = parse_request("get", "secrets", "ns7", "", None).unwrap();
    let who = p.who_can(&req).len();
    let who_t = t.elapsed();
    let t = std::time::Instant::now();
    let findings = rbac::risk::check(&p).len();
    let risk_t = t.elapsed();
    println!(
        "{} objects, {} bindings, {subjects} subjects: load {load:?}, model {build:?}, who-can {who_t:?} ({who} grants), risk rules {risk_t:?} ({findings} findings)",
        objects.len(),
        p.bindings.len()
    );
}
