//! The RBAC authorizer, as the API server evaluates it
//! (`plugin/pkg/auth/authorizer/rbac/rbac.go` `RuleAllows`, the matchers of
//! `pkg/apis/rbac/v1/evaluation_helpers.go`, and `appliesToUser` / `VisitRulesFor` of
//! `pkg/registry/rbac/validation/rule.go`):
//!
//! - a request is allowed when some rule of a role bound to the user allows it: the
//!   ClusterRoleBindings (any namespace), then the RoleBindings of the request's
//!   namespace (none for a cluster-scoped request, namespace `""`);
//! - a subject applies to a user: `User` by name, `Group` by membership, `ServiceAccount`
//!   by the username `system:serviceaccount:<ns>:<name>` (the binding's namespace when the
//!   subject names none; never for a ClusterRoleBinding subject without one);
//! - a rule allows a resource request when a verb is `*` or equal, an API group is `*` or
//!   equal, a resource is `*`, equal to `resource[/subresource]`, or `*/subresource`, and
//!   `resourceNames` is empty or contains the request's name (so a rule with names never
//!   allows `list`, `create` or any request without a name); a non-resource request when a
//!   verb matches and a URL is `*`, equal, or ends in `*` and is a prefix of the path.

use super::model::{Binding, BindingKind, EffectiveRule, Policy, PolicyRule, Subject, SubjectKind};

/// What is requested of a resource or a non-resource URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `verb group/resource/subresource name`.
    Resource {
        /// API group (`""` for the core group).
        api_group: String,
        /// Resource (`pods`).
        resource: String,
        /// Subresource (`exec`), or `""`.
        subresource: String,
        /// Object name, or `""` (list, create, collection requests).
        name: String,
    },
    /// A non-resource URL (`/healthz`).
    NonResource {
        /// The path.
        path: String,
    },
}

/// One request, as the authorizer sees its attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The verb (`get`, `list`, `create`, `escalate` …).
    pub verb: String,
    /// The namespace, or `""` for a cluster-scoped request (or one across all
    /// namespaces), which only ClusterRoleBindings can allow.
    pub namespace: String,
    /// The resource or URL.
    pub target: Target,
}

impl Request {
    /// A resource request.
    pub fn resource(
        verb: &str,
        api_group: &str,
        resource: &str,
        subresource: &str,
        namespace: &str,
        name: &str,
    ) -> Request {
        Request {
            verb: verb.into(),
            namespace: namespace.into(),
            target: Target::Resource {
                api_group: api_group.into(),
                resource: resource.into(),
                subresource: subresource.into(),
                name: name.into(),
            },
        }
    }
}

/// The user a request is made as (`user.Info`: name and groups).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    /// User name (`system:serviceaccount:<ns>:<name>` for a service account).
    pub name: String,
    /// Groups, including those the authenticator adds.
    pub groups: Vec<String>,
}

impl UserInfo {
    /// A service account, with the groups the service-account authenticator gives it.
    pub fn service_account(namespace: &str, name: &str) -> UserInfo {
        UserInfo {
            name: format!("system:serviceaccount:{namespace}:{name}"),
            groups: vec![
                "system:serviceaccounts".into(),
                format!("system:serviceaccounts:{namespace}"),
                "system:authenticated".into(),
            ],
        }
    }

    /// A user, with `system:authenticated` (`system:unauthenticated` for
    /// `system:anonymous`) and `groups`.
    pub fn user(name: &str, groups: &[String]) -> UserInfo {
        if let Some(rest) = name.strip_prefix("system:serviceaccount:") {
            if let Some((ns, sa)) = rest.split_once(':') {
                let mut u = UserInfo::service_account(ns, sa);
                u.add_groups(groups);
                return u;
            }
        }
        let implicit = if name == "system:anonymous" {
            "system:unauthenticated"
        } else {
            "system:authenticated"
        };
        let mut u = UserInfo {
            name: name.into(),
            groups: vec![implicit.into()],
        };
        u.add_groups(groups);
        u
    }

    /// A member of `group` (and of `system:authenticated`, as every member of a group
    /// but `system:unauthenticated` is), with no user name of its own.
    pub fn group_member(group: &str, groups: &[String]) -> UserInfo {
        let mut u = UserInfo {
            name: String::new(),
            groups: vec![group.to_string()],
        };
        if group != "system:unauthenticated" {
            u.add_groups(&["system:authenticated".to_string()]);
        }
        u.add_groups(groups);
        u
    }

    fn add_groups(&mut self, groups: &[String]) {
        for g in groups {
            if !self.groups.contains(g) {
                self.groups.push(g.clone());
            }
        }
    }
}

/// `VerbMatches`.
pub fn verb_matches(rule: &PolicyRule, verb: &str) -> bool {
    rule.verbs.iter().any(|v| v == "*" || v == verb)
}

/// `APIGroupMatches`.
pub fn api_group_matches(rule: &PolicyRule, group: &str) -> bool {
    rule.api_groups.iter().any(|g| g == "*" || g == group)
}

/// `ResourceMatches`: `*`, `resource[/subresource]`, or `*/subresource`.
pub fn resource_matches(rule: &PolicyRule, combined: &str, subresource: &str) -> bool {
    rule.resources.iter().any(|r| {
        r == "*"
            || r == combined
            || (!subresource.is_empty()
                && r.len() == subresource.len() + 2
                && r.starts_with("*/")
                && r.ends_with(subresource))
    })
}

/// `ResourceNameMatches`.
pub fn resource_name_matches(rule: &PolicyRule, name: &str) -> bool {
    rule.resource_names.is_empty() || rule.resource_names.iter().any(|n| n == name)
}

/// `NonResourceURLMatches`: `*`, the path itself, or a prefix ending in `*`.
pub fn non_resource_url_matches(rule: &PolicyRule, path: &str) -> bool {
    rule.non_resource_urls.iter().any(|u| {
        u == "*" || u == path || (u.ends_with('*') && path.starts_with(u.trim_end_matches('*')))
    })
}

/// `RuleAllows`.
pub fn rule_allows(req: &Request, rule: &PolicyRule) -> bool {
    match &req.target {
        Target::Resource {
            api_group,
            resource,
            subresource,
            name,
        } => {
            let combined = if subresource.is_empty() {
                resource.clone()
            } else {
                format!("{resource}/{subresource}")
            };
            verb_matches(rule, &req.verb)
                && api_group_matches(rule, api_group)
                && resource_matches(rule, &combined, subresource)
                && resource_name_matches(rule, name)
        }
        Target::NonResource { path } => {
            verb_matches(rule, &req.verb) && non_resource_url_matches(rule, path)
        }
    }
}

/// `appliesToUser`: whether a binding subject (its ServiceAccount namespace already
/// defaulted to the binding's) is the user or one of its groups.
pub fn subject_applies(subject: &Subject, user: &UserInfo) -> bool {
    match subject.kind {
        SubjectKind::User => !user.name.is_empty() && user.name == subject.name,
        SubjectKind::Group => user.groups.contains(&subject.name),
        SubjectKind::ServiceAccount => match &subject.namespace {
            Some(ns) if !ns.is_empty() => {
                user.name
                    .strip_prefix("system:serviceaccount:")
                    .and_then(|rest| rest.split_once(':'))
                    == Some((ns.as_str(), subject.name.as_str()))
            }
            _ => false,
        },
    }
}

/// One way a request is allowed (or a permission held): subject → binding → role → rule.
#[derive(Debug, Clone, Copy)]
pub struct Grant<'p, 'a> {
    /// The binding.
    pub binding: &'p Binding<'a>,
    /// Index of the subject in [`Binding::subjects`].
    pub subject: usize,
    /// The rule of the bound role that grants it.
    pub rule: &'p EffectiveRule<'a>,
}

impl<'p, 'a> Grant<'p, 'a> {
    /// The subject.
    pub fn subject(&self) -> &'p Subject {
        &self.binding.subjects[self.subject].1
    }
}

/// Whether a binding can grant anything to a request in `namespace` (`""`: cluster
/// scope): every ClusterRoleBinding; a RoleBinding in that namespace.
fn binding_in_scope(b: &Binding<'_>, namespace: &str) -> bool {
    match b.kind {
        BindingKind::ClusterRoleBinding => true,
        BindingKind::RoleBinding => {
            !namespace.is_empty() && b.namespace.as_deref() == Some(namespace)
        }
    }
}

/// The order the authorizer visits bindings: ClusterRoleBindings, then RoleBindings.
fn visit_order<'p, 'a>(policy: &'p Policy<'a>) -> impl Iterator<Item = &'p Binding<'a>> {
    let crbs = policy
        .bindings
        .iter()
        .filter(|b| b.kind == BindingKind::ClusterRoleBinding);
    let rbs = policy
        .bindings
        .iter()
        .filter(|b| b.kind == BindingKind::RoleBinding);
    crbs.chain(rbs)
}

impl<'a> Policy<'a> {
    /// The first grant that allows `user` to make `req`, as the authorizer finds it;
    /// `None`: denied (RBAC has no deny rules; no binding grants it).
    pub fn authorize<'p>(&'p self, user: &UserInfo, req: &Request) -> Option<Grant<'p, 'a>> {
        for b in visit_order(self).filter(|b| binding_in_scope(b, &req.namespace)) {
            let Some(subject) = b
                .subjects
                .iter()
                .position(|(_, s)| subject_applies(s, user))
            else {
                continue;
            };
            let Some(role) = self.role_of(b) else {
                continue;
            };
            if let Some(rule) = role.rules.iter().find(|r| rule_allows(req, &r.rule)) {
                return Some(Grant {
                    binding: b,
                    subject,
                    rule,
                });
            }
        }
        None
    }

    /// Every binding subject allowed to make `req` (one grant per subject and binding:
    /// the first rule of the role that allows it).
    pub fn who_can<'p>(&'p self, req: &Request) -> Vec<Grant<'p, 'a>> {
        let mut out = Vec::new();
        for b in visit_order(self).filter(|b| binding_in_scope(b, &req.namespace)) {
            let Some(role) = self.role_of(b) else {
                continue;
            };
            let Some(rule) = role.rules.iter().find(|r| rule_allows(req, &r.rule)) else {
                continue;
            };
            for subject in 0..b.subjects.len() {
                out.push(Grant {
                    binding: b,
                    subject,
                    rule,
                });
            }
        }
        out
    }

    /// Every rule `user` holds, through every binding that applies to it (each grant's
    /// binding says the scope: a ClusterRoleBinding everywhere, a RoleBinding in its
    /// namespace).
    pub fn permissions<'p>(&'p self, user: &UserInfo) -> Vec<Grant<'p, 'a>> {
        let mut out = Vec::new();
        for b in visit_order(self) {
            let Some(subject) = b
                .subjects
                .iter()
                .position(|(_, s)| subject_applies(s, user))
            else {
                continue;
            };
            let Some(role) = self.role_of(b) else {
                continue;
            };
            for rule in &role.rules {
                out.push(Grant {
                    binding: b,
                    subject,
                    rule,
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(verbs: &[&str], groups: &[&str], resources: &[&str], names: &[&str]) -> PolicyRule {
        let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect();
        PolicyRule {
            verbs: v(verbs),
            api_groups: v(groups),
            resources: v(resources),
            resource_names: v(names),
            non_resource_urls: Vec::new(),
        }
    }

    #[test]
    fn subresources_match_as_the_authorizer_does() {
        let exec = Request::resource("create", "", "pods", "exec", "ns", "p");
        let pods = Request::resource("create", "", "pods", "", "ns", "p");
        // `pods` does not grant `pods/exec`, `*/exec` does, `*` does.
        assert!(!rule_allows(
            &exec,
            &rule(&["create"], &[""], &["pods"], &[])
        ));
        assert!(rule_allows(
            &exec,
            &rule(&["create"], &[""], &["*/exec"], &[])
        ));
        assert!(rule_allows(&exec, &rule(&["create"], &[""], &["*"], &[])));
        assert!(rule_allows(
            &exec,
            &rule(&["create"], &[""], &["pods/exec"], &[])
        ));
        // `*/exec` is no grant on the resource itself; `pods/*` is not a wildcard.
        assert!(!rule_allows(
            &pods,
            &rule(&["create"], &[""], &["*/exec"], &[])
        ));
        assert!(!rule_allows(
            &exec,
            &rule(&["create"], &[""], &["pods/*"], &[])
        ));
        // `*/xexec` has the right suffix but not the right length.
        assert!(!rule_allows(
            &exec,
            &rule(&["create"], &[""], &["*/xexec"], &[])
        ));
    }

    #[test]
    fn names_groups_verbs() {
        let get = Request::resource("get", "", "secrets", "", "ns", "a");
        let list = Request::resource("list", "", "secrets", "", "ns", "");
        let named = rule(&["get", "list"], &[""], &["secrets"], &["a"]);
        assert!(rule_allows(&get, &named));
        assert!(
            !rule_allows(&list, &named),
            "resourceNames never allow a nameless request"
        );
        assert!(!rule_allows(
            &get,
            &rule(&["get"], &["apps"], &["secrets"], &[])
        ));
        assert!(rule_allows(&get, &rule(&["*"], &["*"], &["secrets"], &[])));
        // A request for verb `*` is only allowed by a `*` verb.
        let star = Request::resource("*", "", "secrets", "", "ns", "");
        assert!(!rule_allows(
            &star,
            &rule(&["get"], &[""], &["secrets"], &[])
        ));
    }

    #[test]
    fn non_resource_urls() {
        let r = |u: &str| PolicyRule {
            verbs: vec!["get".into()],
            non_resource_urls: vec![u.into()],
            ..PolicyRule::default()
        };
        let req = |p: &str| Request {
            verb: "get".into(),
            namespace: String::new(),
            target: Target::NonResource { path: p.into() },
        };
        assert!(rule_allows(&req("/healthz"), &r("/healthz")));
        assert!(rule_allows(&req("/healthz/etcd"), &r("/healthz/*")));
        assert!(!rule_allows(&req("/healthz"), &r("/healthz/*")));
        assert!(rule_allows(&req("/apis/x"), &r("/apis*")));
        assert!(
            rule_allows(&req("/apis/x"), &r("/ap**")),
            "TrimRight removes every `*`"
        );
        assert!(rule_allows(&req("/anything"), &r("*")));
        assert!(!rule_allows(&req("/version"), &r("/healthz")));
    }

    #[test]
    fn subjects() {
        let sa = UserInfo::service_account("ns", "app");
        let s = |kind, name: &str, ns: Option<&str>| Subject {
            kind,
            name: name.into(),
            namespace: ns.map(str::to_string),
        };
        assert!(subject_applies(
            &s(SubjectKind::ServiceAccount, "app", Some("ns")),
            &sa
        ));
        assert!(!subject_applies(
            &s(SubjectKind::ServiceAccount, "app", Some("other")),
            &sa
        ));
        assert!(!subject_applies(
            &s(SubjectKind::ServiceAccount, "app", None),
            &sa
        ));
        assert!(subject_applies(
            &s(SubjectKind::Group, "system:serviceaccounts:ns", None),
            &sa
        ));
        assert!(subject_applies(
            &s(SubjectKind::Group, "system:authenticated", None),
            &sa
        ));
        assert!(subject_applies(
            &s(SubjectKind::User, "system:serviceaccount:ns:app", None),
            &sa
        ));
        let anon = UserInfo::user("system:anonymous", &[]);
        assert!(subject_applies(
            &s(SubjectKind::Group, "system:unauthenticated", None),
            &anon
        ));
        assert!(!subject_applies(
            &s(SubjectKind::Group, "system:authenticated", None),
            &anon
        ));
        let member = UserInfo::group_member("devs", &[]);
        assert!(!subject_applies(&s(SubjectKind::User, "", None), &member));
        assert_eq!(
            UserInfo::user("system:serviceaccount:a:b", &[]),
            UserInfo::service_account("a", "b")
        );
    }
}
