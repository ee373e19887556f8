//! The questions `rampart rbac` asks, parsed from what users type: a subject
//! (`User:alice`, `Group:devs`, `ServiceAccount:ns:name`) and a resource (`secrets`,
//! `pods/exec`, `deployments.apps`, `/healthz`). Without a live API server there is no
//! discovery, so a resource without `.group` is looked up in the table of built-in
//! Kubernetes resources (and their short names); any other resource must name its group.

use super::authz::{Request, Target, UserInfo};

/// Built-in resources: (resource, API group, short names).
const RESOURCES: &[(&str, &str, &[&str])] = &[
    ("pods", "", &["po", "pod"]),
    ("services", "", &["svc", "service"]),
    ("secrets", "", &["secret"]),
    ("configmaps", "", &["cm", "configmap"]),
    ("serviceaccounts", "", &["sa", "serviceaccount"]),
    ("namespaces", "", &["ns", "namespace"]),
    ("nodes", "", &["no", "node"]),
    ("persistentvolumes", "", &["pv"]),
    ("persistentvolumeclaims", "", &["pvc"]),
    ("endpoints", "", &["ep"]),
    ("events", "", &["ev"]),
    ("limitranges", "", &["limits"]),
    ("resourcequotas", "", &["quota"]),
    ("replicationcontrollers", "", &["rc"]),
    ("podtemplates", "", &[]),
    ("componentstatuses", "", &["cs"]),
    ("bindings", "", &[]),
    ("users", "", &[]),
    ("groups", "", &[]),
    ("deployments", "apps", &["deploy", "deployment"]),
    ("statefulsets", "apps", &["sts", "statefulset"]),
    ("daemonsets", "apps", &["ds", "daemonset"]),
    ("replicasets", "apps", &["rs", "replicaset"]),
    ("controllerrevisions", "apps", &[]),
    ("jobs", "batch", &["job"]),
    ("cronjobs", "batch", &["cj", "cronjob"]),
    ("roles", "rbac.authorization.k8s.io", &["role"]),
    (
        "clusterroles",
        "rbac.authorization.k8s.io",
        &["clusterrole"],
    ),
    (
        "rolebindings",
        "rbac.authorization.k8s.io",
        &["rolebinding"],
    ),
    (
        "clusterrolebindings",
        "rbac.authorization.k8s.io",
        &["clusterrolebinding"],
    ),
    ("networkpolicies", "networking.k8s.io", &["netpol"]),
    ("ingresses", "networking.k8s.io", &["ing"]),
    ("ingressclasses", "networking.k8s.io", &[]),
    ("poddisruptionbudgets", "policy", &["pdb"]),
    ("horizontalpodautoscalers", "autoscaling", &["hpa"]),
    (
        "mutatingwebhookconfigurations",
        "admissionregistration.k8s.io",
        &[],
    ),
    (
        "validatingwebhookconfigurations",
        "admissionregistration.k8s.io",
        &[],
    ),
    (
        "validatingadmissionpolicies",
        "admissionregistration.k8s.io",
        &[],
    ),
    (
        "validatingadmissionpolicybindings",
        "admissionregistration.k8s.io",
        &[],
    ),
    (
        "certificatesigningrequests",
        "certificates.k8s.io",
        &["csr"],
    ),
    ("signers", "certificates.k8s.io", &[]),
    ("tokenreviews", "authentication.k8s.io", &[]),
    ("selfsubjectreviews", "authentication.k8s.io", &[]),
    ("userextras", "authentication.k8s.io", &[]),
    ("uids", "authentication.k8s.io", &[]),
    ("subjectaccessreviews", "authorization.k8s.io", &[]),
    ("selfsubjectaccessreviews", "authorization.k8s.io", &[]),
    ("selfsubjectrulesreviews", "authorization.k8s.io", &[]),
    ("localsubjectaccessreviews", "authorization.k8s.io", &[]),
    (
        "customresourcedefinitions",
        "apiextensions.k8s.io",
        &["crd", "crds"],
    ),
    ("storageclasses", "storage.k8s.io", &["sc"]),
    ("csidrivers", "storage.k8s.io", &[]),
    ("csinodes", "storage.k8s.io", &[]),
    ("volumeattachments", "storage.k8s.io", &[]),
    ("leases", "coordination.k8s.io", &[]),
    ("endpointslices", "discovery.k8s.io", &[]),
    ("priorityclasses", "scheduling.k8s.io", &["pc"]),
    ("runtimeclasses", "node.k8s.io", &[]),
];

/// `(api group, resource, subresource)` of `RESOURCE[.GROUP][/SUBRESOURCE]`.
/// `api_group` (`--api-group`) names the group explicitly (`""`: core).
pub fn parse_resource(
    spec: &str,
    api_group: Option<&str>,
) -> Result<(String, String, String), String> {
    let (res, sub) = match spec.split_once('/') {
        Some((r, s)) => (r, s),
        None => (spec, ""),
    };
    if res.is_empty() || sub.contains('/') || (spec.contains('/') && sub.is_empty()) {
        return Err(format!("`{spec}` is not RESOURCE[/SUBRESOURCE]"));
    }
    if let Some(g) = api_group {
        return Ok((g.to_string(), res.to_string(), sub.to_string()));
    }
    if let Some((r, g)) = res.split_once('.') {
        if r.is_empty() || g.is_empty() {
            return Err(format!("`{spec}` is not RESOURCE.GROUP"));
        }
        return Ok((g.to_string(), r.to_string(), sub.to_string()));
    }
    let lower = res.to_ascii_lowercase();
    RESOURCES
        .iter()
        .find(|(r, _, short)| *r == lower || short.contains(&lower.as_str()))
        .map(|(r, g, _)| (g.to_string(), r.to_string(), sub.to_string()))
        .ok_or_else(|| {
            format!("unknown resource `{res}`: name its API group as RESOURCE.GROUP (e.g. `widgets.example.com`), or with --api-group (`--api-group ''` for the core group)")
        })
}

/// The request `VERB RESOURCE` (`/path` for a non-resource URL) in `namespace`
/// (`""`: cluster scope) for the object `name` (`""`: none).
pub fn parse_request(
    verb: &str,
    resource: &str,
    namespace: &str,
    name: &str,
    api_group: Option<&str>,
) -> Result<Request, String> {
    if verb.is_empty() || verb.contains(char::is_whitespace) {
        return Err(format!("`{verb}` is not a verb"));
    }
    if resource.starts_with('/') {
        if !namespace.is_empty() || !name.is_empty() {
            return Err("a non-resource URL has no namespace or name".into());
        }
        return Ok(Request {
            verb: verb.into(),
            namespace: String::new(),
            target: Target::NonResource {
                path: resource.into(),
            },
        });
    }
    let (group, res, sub) = parse_resource(resource, api_group)?;
    Ok(Request::resource(verb, &group, &res, &sub, namespace, name))
}

/// A subject as typed: `User:NAME` (or a bare `NAME`), `Group:NAME`,
/// `ServiceAccount:NS:NAME` (or `ServiceAccount:NS/NAME`, `sa:NS:NAME`, or the username
/// `system:serviceaccount:NS:NAME`), with extra `groups` (as `kubectl --as-group`). The
/// groups the authenticators add are included (see [`UserInfo`]).
pub fn parse_subject(spec: &str, groups: &[String]) -> Result<UserInfo, String> {
    let bad = || {
        format!("`{spec}` is not a subject: write User:NAME, Group:NAME or ServiceAccount:NAMESPACE:NAME")
    };
    if spec.is_empty() {
        return Err(bad());
    }
    if let Some(rest) = spec.strip_prefix("system:serviceaccount:") {
        let Some((ns, name)) = rest
            .split_once(':')
            .filter(|(n, s)| !n.is_empty() && !s.is_empty())
        else {
            return Err(bad());
        };
        let mut u = UserInfo::service_account(ns, name);
        u.groups.extend(
            groups
                .iter()
                .filter(|g| !u.groups.contains(g))
                .cloned()
                .collect::<Vec<_>>(),
        );
        return Ok(u);
    }
    let (kind, rest) = match spec.split_once(':') {
        Some((k, r))
            if matches!(
                k.to_ascii_lowercase().as_str(),
                "user" | "group" | "serviceaccount" | "sa"
            ) =>
        {
            (k.to_ascii_lowercase(), r)
        }
        _ => ("user".to_string(), spec),
    };
    if rest.is_empty() {
        return Err(bad());
    }
    match kind.as_str() {
        "group" => Ok(UserInfo::group_member(rest, groups)),
        "serviceaccount" | "sa" => {
            let (ns, name) = rest
                .split_once(':')
                .or_else(|| rest.split_once('/'))
                .filter(|(n, s)| !n.is_empty() && !s.is_empty() && !s.contains([':', '/']))
                .ok_or_else(bad)?;
            Ok(UserInfo::user(
                &format!("system:serviceaccount:{ns}:{name}"),
                groups,
            ))
        }
        _ => Ok(UserInfo::user(rest, groups)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources() {
        assert_eq!(
            parse_resource("secrets", None).unwrap(),
            ("".into(), "secrets".into(), "".into())
        );
        assert_eq!(
            parse_resource("po/exec", None).unwrap(),
            ("".into(), "pods".into(), "exec".into())
        );
        assert_eq!(
            parse_resource("clusterroles.rbac.authorization.k8s.io", None).unwrap(),
            (
                "rbac.authorization.k8s.io".into(),
                "clusterroles".into(),
                "".into()
            )
        );
        assert_eq!(parse_resource("deploy", None).unwrap().0, "apps");
        assert_eq!(parse_resource("widgets", Some("")).unwrap().0, "");
        assert!(parse_resource("widgets", None)
            .unwrap_err()
            .contains("RESOURCE.GROUP"));
        assert!(parse_resource("pods/", None).is_err());
        assert!(parse_resource("a/b/c", None).is_err());
        assert!(parse_resource(".apps", None).is_err());
    }

    #[test]
    fn subjects() {
        let sa = parse_subject("ServiceAccount:kube-system:default", &[]).unwrap();
        assert_eq!(sa, UserInfo::service_account("kube-system", "default"));
        assert_eq!(parse_subject("sa:kube-system/default", &[]).unwrap(), sa);
        assert_eq!(
            parse_subject("system:serviceaccount:kube-system:default", &[]).unwrap(),
            sa
        );
        let u = parse_subject("alice", &["devs".into()]).unwrap();
        assert_eq!(u.name, "alice");
        assert_eq!(
            u.groups,
            vec!["system:authenticated".to_string(), "devs".into()]
        );
        let g = parse_subject("Group:system:masters", &[]).unwrap();
        assert_eq!(g.name, "");
        assert!(g.groups.contains(&"system:masters".to_string()));
        assert!(parse_subject("ServiceAccount:x", &[]).is_err());
        assert!(parse_subject("", &[]).is_err());
        assert!(parse_subject("User:", &[]).is_err());
    }
}
