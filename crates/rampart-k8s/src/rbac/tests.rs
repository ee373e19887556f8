use super::query::{parse_request, parse_subject};
use super::*;
use crate::load::load_str;

fn objects(yaml: &str) -> Vec<Object> {
    let l = load_str(yaml, Some("rbac.yaml"));
    assert!(l.errors.is_empty(), "{:?}", l.errors);
    l.objects
}

fn can(p: &Policy<'_>, who: &str, verb: &str, res: &str, ns: &str) -> bool {
    let user = parse_subject(who, &[]).unwrap();
    let req = parse_request(verb, res, ns, "", None).unwrap();
    p.authorize(&user, &req).is_some()
}

const APP: &str = r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: reader, namespace: app}
rules:
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: reader, namespace: app}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}
subjects:
- kind: ServiceAccount
  name: web
"#;

#[test]
fn role_binding_sa_defaults_to_binding_namespace() {
    let objs = objects(APP);
    let p = Policy::build(&objs);
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    assert!(can(
        &p,
        "ServiceAccount:app:web",
        "get",
        "configmaps",
        "app"
    ));
    assert!(!can(
        &p,
        "ServiceAccount:other:web",
        "get",
        "configmaps",
        "app"
    ));
    // A RoleBinding grants nothing in another namespace or cluster-wide.
    assert!(!can(
        &p,
        "ServiceAccount:app:web",
        "get",
        "configmaps",
        "other"
    ));
    assert!(!can(&p, "ServiceAccount:app:web", "get", "configmaps", ""));
    assert!(!can(
        &p,
        "ServiceAccount:app:web",
        "list",
        "configmaps",
        "app"
    ));
}

#[test]
fn bootstrap_view_is_aggregated_and_used_when_not_in_the_set() {
    let objs = objects(
        r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: widgets-view
  labels: {rbac.authorization.k8s.io/aggregate-to-view: "true"}
rules:
- apiGroups: [example.com]
  resources: [widgets]
  verbs: [get, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: alice-view, namespace: team}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: admin}
subjects:
- {kind: User, name: alice, apiGroup: rbac.authorization.k8s.io}
"#,
    );
    let p = Policy::build(&objs);
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    // admin ⊇ edit ⊇ view ⊇ the scanned widgets-view (aggregation is transitive).
    assert!(can(&p, "alice", "list", "widgets.example.com", "team"));
    assert!(can(&p, "alice", "create", "pods/exec", "team"));
    assert!(can(&p, "alice", "get", "secrets", "team"));
    assert!(can(&p, "alice", "create", "rolebindings", "team"));
    // view never includes secrets, and admin grants nothing outside `team`.
    assert!(!can(&p, "alice", "get", "secrets", "other"));
    assert!(!can(&p, "alice", "escalate", "clusterroles", ""));
    // Without the bootstrap fallback the binding is an error and grants nothing.
    let p = Policy::build_with(&objs, &[]);
    assert_eq!(p.errors.len(), 1, "{:?}", p.errors);
    assert!(
        p.errors[0].message.contains("ClusterRole `admin`"),
        "{}",
        p.errors[0].message
    );
    assert_eq!(p.errors[0].line, Some(15));
    assert!(!can(&p, "alice", "list", "widgets.example.com", "team"));
}

#[test]
fn invalid_objects_are_errors_with_lines_and_the_rest_is_analysed() {
    let objs = objects(
        r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: r, namespace: a}
rules:
- apiGroups: [""]
  resources: [pods]
- nonResourceURLs: ["/healthz"]
  verbs: [get]
- apiGroups: [""]
  resources: [pods]
  verbs: [list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: b}
roleRef: {kind: ClusterRole, name: cluster-admin}
subjects:
- {kind: ServiceAccount, name: nons}
- {kind: Robot, name: r2}
- {kind: User, name: bob}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: rb, namespace: a}
roleRef: {kind: Role, name: r}
subjects:
- {kind: User, name: carol}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: loop}
aggregationRule:
  clusterRoleSelectors:
  - matchExpressions: [{key: x, operator: Near}]
"#,
    );
    let p = Policy::build(&objs);
    let msgs: Vec<String> = p
        .errors
        .iter()
        .map(|e| format!("{:?}:{}", e.line, e.message))
        .collect();
    assert_eq!(p.errors.len(), 5, "{msgs:#?}");
    assert!(
        msgs[0].starts_with("Some(6):") && msgs[0].contains("verbs"),
        "{msgs:#?}"
    );
    assert!(
        msgs[1].starts_with("Some(8):") && msgs[1].contains("non-resource"),
        "{msgs:#?}"
    );
    assert!(
        msgs[2].starts_with("Some(19):") && msgs[2].contains("namespace"),
        "{msgs:#?}"
    );
    assert!(
        msgs[3].starts_with("Some(20):") && msgs[3].contains("Robot"),
        "{msgs:#?}"
    );
    assert!(msgs[4].contains("unknown operator `Near`"), "{msgs:#?}");
    assert!(can(&p, "bob", "delete", "nodes", ""));
    assert!(can(&p, "carol", "list", "pods", "a"));
    assert!(!can(&p, "carol", "get", "pods", "a"));
}

#[test]
fn risk_findings_name_the_chain() {
    let objs = objects(
        r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: secret-reader}
rules:
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get]
- apiGroups: [""]
  resources: [secrets]
  verbs: [list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: ci-secrets}
roleRef: {kind: ClusterRole, name: secret-reader}
subjects:
- {kind: ServiceAccount, name: ci, namespace: build}
"#,
    );
    let a = check(&objs);
    assert!(a.errors.is_empty(), "{:?}", a.errors);
    assert_eq!(a.findings.len(), 1, "{:#?}", a.findings);
    let f = &a.findings[0];
    assert_eq!(f.rule_id, "rbac/read-secrets");
    assert_eq!(
        f.message,
        "ServiceAccount build/ci may read secrets cluster-wide: ClusterRoleBinding `ci-secrets` (rbac.yaml:16) → ClusterRole `secret-reader` (rbac.yaml:2) → rules[1] (rbac.yaml:9): list secrets (core)"
    );
    match &f.location {
        rampart_core::Location::K8sObject {
            field_path, span, ..
        } => {
            assert_eq!(field_path.as_deref(), Some("subjects[0]"));
            assert_eq!(span.map(|s| s.start_line), Some(18));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(f.properties["chain"].as_array().map(Vec::len), Some(4));
}

#[test]
fn metas_are_valid_and_unique() {
    let mut reg = rampart_core::rule::Registry::new();
    assert_eq!(reg.extend(metas()), Ok(()));
    assert_eq!(reg.problems(), Vec::<String>::new());
}

/// Hostile aggregation: many ClusterRoles whose empty selector (`{}`) selects every
/// other. The work is bounded (it used to grow as roles × roles × rules), and every
/// aggregated role still gets every plain role's rule.
#[test]
fn aggregation_of_everything_by_everything_is_bounded() {
    for n in [50, 600] {
        let mut yaml = String::new();
        for i in 0..n {
            yaml.push_str(&format!("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {{name: plain{i}}}\nrules:\n- apiGroups: [g{i}]\n  resources: [r]\n  verbs: [get]\n---\n"));
            yaml.push_str(&format!("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {{name: agg{i}}}\naggregationRule:\n  clusterRoleSelectors:\n  - {{}}\n---\n"));
        }
        let objs = objects(&yaml);
        let started = std::time::Instant::now();
        let p = Policy::build_with(&objs, &[]);
        let took = started.elapsed();
        assert!(
            took < std::time::Duration::from_secs(5),
            "{n}: took {took:?}"
        );
        let agg = p.roles.iter().find(|r| r.name == "agg7").unwrap();
        if n == 50 {
            // Every aggregated role holds every plain role's rule, once.
            assert!(p.errors.is_empty(), "{:?}", p.errors);
            assert_eq!(agg.rules.len(), n);
        } else {
            assert_eq!(p.errors.len(), 1, "{:?}", p.errors);
            assert!(
                p.errors[0].message.contains("not aggregated"),
                "{:?}",
                p.errors
            );
        }
    }
}
