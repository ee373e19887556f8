//! The RBAC objects of a scanned set, resolved as the API server holds them: Roles and
//! ClusterRoles with their rules (aggregated ClusterRoles filled in as the aggregation
//! controller does), and bindings with their subjects and the role they reference.
//!
//! Objects the API server would reject (rules without verbs, non-resource URLs in a
//! Role, a ServiceAccount subject of a ClusterRoleBinding without a namespace, a
//! `roleRef` of another kind …) are reported as errors with their file and line; the
//! rest of the set is still analysed. Two objects of the same kind and name (variants of
//! one manifest in different directories) are both kept: the analysis sees the union.

use crate::object::{join_index, Object};
use rampart_core::ScanError;
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// One rule of a Role or ClusterRole (`rbac.authorization.k8s.io/v1` `PolicyRule`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyRule {
    /// `verbs`.
    pub verbs: Vec<String>,
    /// `apiGroups`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub api_groups: Vec<String>,
    /// `resources` (`pods`, `pods/exec`, `*/scale`, `*`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    /// `resourceNames`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resource_names: Vec<String>,
    /// `nonResourceURLs`.
    #[serde(rename = "nonResourceURLs", skip_serializing_if = "Vec::is_empty")]
    pub non_resource_urls: Vec<String>,
}

impl PolicyRule {
    /// A short form for messages: `get,list secrets` / `get /healthz`.
    pub fn summary(&self) -> String {
        let verbs = self.verbs.join(",");
        if !self.non_resource_urls.is_empty() {
            return format!("{verbs} {}", self.non_resource_urls.join(","));
        }
        let groups: Vec<&str> = self
            .api_groups
            .iter()
            .map(|g| if g.is_empty() { "core" } else { g.as_str() })
            .collect();
        let mut s = format!(
            "{verbs} {} ({})",
            self.resources.join(","),
            groups.join(",")
        );
        if !self.resource_names.is_empty() {
            s.push_str(&format!(" names {}", self.resource_names.join(",")));
        }
        s
    }
}

/// Role or ClusterRole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RoleKind {
    /// A namespaced `Role`.
    Role,
    /// A `ClusterRole`.
    ClusterRole,
}

impl RoleKind {
    /// `Role` / `ClusterRole`.
    pub fn as_str(self) -> &'static str {
        match self {
            RoleKind::Role => "Role",
            RoleKind::ClusterRole => "ClusterRole",
        }
    }
}

/// Where a rule is written: the role object and the rule's index in its `rules`.
#[derive(Debug, Clone, Copy)]
pub struct RuleSource<'a> {
    /// The Role or ClusterRole that contains the rule.
    pub role: &'a Object,
    /// Index in `rules`.
    pub index: usize,
}

impl RuleSource<'_> {
    /// `rules[3]`.
    pub fn field(&self) -> String {
        join_index("rules", self.index)
    }
}

/// A rule as a role holds it, with where it was written (another ClusterRole for an
/// aggregated one).
#[derive(Debug, Clone)]
pub struct EffectiveRule<'a> {
    /// The rule.
    pub rule: PolicyRule,
    /// Where it was written.
    pub source: RuleSource<'a>,
}

/// A Role or ClusterRole with its effective rules.
#[derive(Debug, Clone)]
pub struct Role<'a> {
    /// The object (for a built-in bootstrap role: the embedded one).
    pub obj: &'a Object,
    /// Role or ClusterRole.
    pub kind: RoleKind,
    /// The namespace of a Role.
    pub namespace: Option<String>,
    /// `metadata.name`.
    pub name: String,
    /// The rules: its own, or for an aggregated ClusterRole those of the roles its
    /// `aggregationRule` selects.
    pub rules: Vec<EffectiveRule<'a>>,
    /// Whether the rules come from an `aggregationRule`.
    pub aggregated: bool,
    /// Whether it is a built-in bootstrap ClusterRole (not in the scanned set).
    pub builtin: bool,
}

/// RoleBinding or ClusterRoleBinding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindingKind {
    /// A namespaced `RoleBinding`.
    RoleBinding,
    /// A `ClusterRoleBinding`.
    ClusterRoleBinding,
}

impl BindingKind {
    /// `RoleBinding` / `ClusterRoleBinding`.
    pub fn as_str(self) -> &'static str {
        match self {
            BindingKind::RoleBinding => "RoleBinding",
            BindingKind::ClusterRoleBinding => "ClusterRoleBinding",
        }
    }
}

/// A subject kind the authorizer knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SubjectKind {
    /// `User`.
    User,
    /// `Group`.
    Group,
    /// `ServiceAccount`.
    ServiceAccount,
}

impl SubjectKind {
    /// `User` / `Group` / `ServiceAccount`.
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::User => "User",
            SubjectKind::Group => "Group",
            SubjectKind::ServiceAccount => "ServiceAccount",
        }
    }
}

/// One subject of a binding.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Subject {
    /// Kind.
    pub kind: SubjectKind,
    /// `name`.
    pub name: String,
    /// For a ServiceAccount: its namespace (the binding's when the subject names none,
    /// as the authorizer defaults it).
    pub namespace: Option<String>,
}

impl Subject {
    /// `User alice`, `Group system:masters`, `ServiceAccount kube-system/default`.
    pub fn display(&self) -> String {
        match (&self.kind, &self.namespace) {
            (SubjectKind::ServiceAccount, Some(ns)) => {
                format!("ServiceAccount {ns}/{}", self.name)
            }
            _ => format!("{} {}", self.kind.as_str(), self.name),
        }
    }
}

/// A RoleBinding or ClusterRoleBinding.
#[derive(Debug, Clone)]
pub struct Binding<'a> {
    /// The object.
    pub obj: &'a Object,
    /// Kind.
    pub kind: BindingKind,
    /// The namespace of a RoleBinding (`default` when the manifest names none).
    pub namespace: Option<String>,
    /// `metadata.name`.
    pub name: String,
    /// `roleRef.kind`.
    pub role_kind: RoleKind,
    /// `roleRef.name`.
    pub role_name: String,
    /// The subjects the authorizer can match, with their index in `subjects`.
    pub subjects: Vec<(usize, Subject)>,
    /// Index of the referenced role in [`Policy::roles`]; `None` when it is in neither
    /// the scanned set nor the bootstrap policy (an error says so).
    pub role: Option<usize>,
}

/// Every Role, ClusterRole and binding of a set of objects.
#[derive(Debug, Default)]
pub struct Policy<'a> {
    /// Roles and ClusterRoles (the scanned ones, then the bootstrap ClusterRoles no
    /// scanned one replaces).
    pub roles: Vec<Role<'a>>,
    /// RoleBindings and ClusterRoleBindings of the scanned set.
    pub bindings: Vec<Binding<'a>>,
    /// Objects that could not be resolved or that the API server would reject.
    pub errors: Vec<ScanError>,
}

/// The namespace of a namespaced object, `default` when the manifest leaves it out
/// (what `kubectl apply` without `-n` does).
fn namespace_of(obj: &Object) -> String {
    obj.namespace().unwrap_or("default").to_string()
}

/// An error at `field` of `obj`.
pub(crate) fn error_at(obj: &Object, field: &str, message: String) -> ScanError {
    let r = obj.object_ref();
    ScanError {
        path: obj.path.clone().unwrap_or_else(|| r.display()),
        line: obj.span(field).map(|s| s.start_line),
        message: format!("{} `{}`: {message}", r.kind, r.name),
    }
}

fn is_rbac(obj: &Object) -> bool {
    obj.api_version().starts_with("rbac.authorization.k8s.io/")
}

/// A list of strings; `null`/absent is empty. `Err` names the field when it is not.
fn strings(v: Option<&Value>, field: &str) -> Result<Vec<String>, String> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("`{field}` must be a list of strings"))
            })
            .collect(),
        Some(_) => Err(format!("`{field}` must be a list of strings")),
    }
}

/// Parse one rule and validate it as the API server does (`ValidatePolicyRule`).
fn parse_rule(v: &Value, namespaced: bool) -> Result<PolicyRule, String> {
    if !v.is_object() {
        return Err("a rule must be a map".into());
    }
    let rule = PolicyRule {
        verbs: strings(v.get("verbs"), "verbs")?,
        api_groups: strings(v.get("apiGroups"), "apiGroups")?,
        resources: strings(v.get("resources"), "resources")?,
        resource_names: strings(v.get("resourceNames"), "resourceNames")?,
        non_resource_urls: strings(v.get("nonResourceURLs"), "nonResourceURLs")?,
    };
    if rule.verbs.is_empty() {
        return Err("`verbs` must contain at least one value".into());
    }
    if !rule.non_resource_urls.is_empty() {
        if namespaced {
            return Err("a Role's rules cannot apply to non-resource URLs".into());
        }
        if !rule.api_groups.is_empty()
            || !rule.resources.is_empty()
            || !rule.resource_names.is_empty()
        {
            return Err(
                "a rule cannot apply to both regular resources and non-resource URLs".into(),
            );
        }
        return Ok(rule);
    }
    if rule.api_groups.is_empty() {
        return Err("a resource rule must list at least one API group (`apiGroups`)".into());
    }
    if rule.resources.is_empty() {
        return Err("a resource rule must list at least one resource".into());
    }
    Ok(rule)
}

fn parse_role<'a>(
    obj: &'a Object,
    kind: RoleKind,
    builtin: bool,
    errors: &mut Vec<ScanError>,
) -> Role<'a> {
    let mut rules = Vec::new();
    match obj.value.get("rules") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (index, item) in items.iter().enumerate() {
                match parse_rule(item, kind == RoleKind::Role) {
                    Ok(rule) => rules.push(EffectiveRule {
                        rule,
                        source: RuleSource { role: obj, index },
                    }),
                    Err(m) => errors.push(error_at(
                        obj,
                        &join_index("rules", index),
                        format!("{}: {m}; rule ignored", join_index("rules", index)),
                    )),
                }
            }
        }
        Some(_) => errors.push(error_at(obj, "rules", "`rules` must be a list".into())),
    }
    Role {
        obj,
        kind,
        namespace: (kind == RoleKind::Role).then(|| namespace_of(obj)),
        name: obj.name().to_string(),
        rules,
        aggregated: false,
        builtin,
    }
}

fn parse_binding<'a>(
    obj: &'a Object,
    kind: BindingKind,
    errors: &mut Vec<ScanError>,
) -> Option<Binding<'a>> {
    let namespace = (kind == BindingKind::RoleBinding).then(|| namespace_of(obj));
    let role_ref = obj.value.get("roleRef");
    let role_kind = match role_ref.and_then(|r| r.get("kind")).and_then(Value::as_str) {
        Some("ClusterRole") => RoleKind::ClusterRole,
        Some("Role") if kind == BindingKind::RoleBinding => RoleKind::Role,
        other => {
            let allowed = match kind {
                BindingKind::RoleBinding => "`Role` or `ClusterRole`",
                BindingKind::ClusterRoleBinding => "`ClusterRole`",
            };
            errors.push(error_at(
                obj,
                "roleRef",
                format!(
                    "`roleRef.kind` is {}, must be {allowed}; binding ignored",
                    other.map_or("missing".to_string(), |k| format!("`{k}`"))
                ),
            ));
            return None;
        }
    };
    let role_name = match role_ref.and_then(|r| r.get("name")).and_then(Value::as_str) {
        Some(n) if !n.is_empty() => n.to_string(),
        _ => {
            errors.push(error_at(
                obj,
                "roleRef",
                "`roleRef.name` is missing; binding ignored".into(),
            ));
            return None;
        }
    };
    let mut subjects = Vec::new();
    match obj.value.get("subjects") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (i, s) in items.iter().enumerate() {
                let field = join_index("subjects", i);
                let name = s.get("name").and_then(Value::as_str).unwrap_or("");
                let kind_str = s.get("kind").and_then(Value::as_str).unwrap_or("");
                let subject_kind = match kind_str {
                    "User" => SubjectKind::User,
                    "Group" => SubjectKind::Group,
                    "ServiceAccount" => SubjectKind::ServiceAccount,
                    other => {
                        errors.push(error_at(
                            obj,
                            &field,
                            format!("{field}: unknown subject kind `{other}` (User, Group or ServiceAccount); subject ignored"),
                        ));
                        continue;
                    }
                };
                if name.is_empty() {
                    errors.push(error_at(
                        obj,
                        &field,
                        format!("{field}: `name` is missing; subject ignored"),
                    ));
                    continue;
                }
                let sa_namespace = match subject_kind {
                    SubjectKind::ServiceAccount => {
                        match s
                            .get("namespace")
                            .and_then(Value::as_str)
                            .filter(|n| !n.is_empty())
                        {
                            Some(n) => Some(n.to_string()),
                            None if kind == BindingKind::RoleBinding => namespace.clone(),
                            None => {
                                errors.push(error_at(
                                    obj,
                                    &field,
                                    format!("{field}: a ServiceAccount subject of a ClusterRoleBinding needs a `namespace`; subject ignored"),
                                ));
                                continue;
                            }
                        }
                    }
                    _ => None,
                };
                subjects.push((
                    i,
                    Subject {
                        kind: subject_kind,
                        name: name.to_string(),
                        namespace: sa_namespace,
                    },
                ));
            }
        }
        Some(_) => errors.push(error_at(
            obj,
            "subjects",
            "`subjects` must be a list".into(),
        )),
    }
    Some(Binding {
        obj,
        kind,
        namespace,
        name: obj.name().to_string(),
        role_kind,
        role_name,
        subjects,
        role: None,
    })
}

/// The bootstrap ClusterRoles a fresh API server creates (`cluster-admin`, `admin`,
/// `edit`, `view`, `system:*`), loaded once from the embedded copy of Kubernetes'
/// golden file.
pub fn bootstrap_cluster_roles() -> &'static [Object] {
    static ROLES: std::sync::OnceLock<Vec<Object>> = std::sync::OnceLock::new();
    ROLES.get_or_init(|| {
        crate::load::load_str(
            include_str!("bootstrap_cluster_roles.yaml"),
            Some(BOOTSTRAP_PATH),
        )
        .objects
    })
}

/// The path findings and errors give for an embedded bootstrap role.
pub const BOOTSTRAP_PATH: &str = "(kubernetes bootstrap policy)/cluster-roles.yaml";

/// Whether a LabelSelector selects `labels`, as `metav1.LabelSelectorAsSelector` does:
/// `{}` selects everything; an unknown operator or malformed expression is an error.
pub(crate) fn selector_matches(
    selector: &Value,
    labels: Option<&serde_json::Map<String, Value>>,
) -> Result<bool, String> {
    let Some(sel) = selector.as_object() else {
        return Err("a label selector must be a map".into());
    };
    let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
    let mut ok = true;
    match sel.get("matchLabels") {
        None | Some(Value::Null) => {}
        Some(Value::Object(ml)) => {
            for (k, v) in ml {
                let Some(v) = v.as_str() else {
                    return Err(format!("matchLabels `{k}` must be a string"));
                };
                ok &= get(k) == Some(v);
            }
        }
        Some(_) => return Err("`matchLabels` must be a map".into()),
    }
    match sel.get("matchExpressions") {
        None | Some(Value::Null) => {}
        Some(Value::Array(me)) => {
            for e in me {
                let key = e.get("key").and_then(Value::as_str).unwrap_or("");
                if key.is_empty() {
                    return Err("a match expression needs a `key`".into());
                }
                let values = strings(e.get("values"), "values")?;
                let op = e.get("operator").and_then(Value::as_str).unwrap_or("");
                ok &= match op {
                    "In" | "NotIn" if values.is_empty() => {
                        return Err(format!("operator `{op}` needs `values`"))
                    }
                    "In" => get(key).is_some_and(|v| values.iter().any(|x| x == v)),
                    "NotIn" => !get(key).is_some_and(|v| values.iter().any(|x| x == v)),
                    "Exists" | "DoesNotExist" if !values.is_empty() => {
                        return Err(format!("operator `{op}` takes no `values`"))
                    }
                    "Exists" => get(key).is_some(),
                    "DoesNotExist" => get(key).is_none(),
                    other => return Err(format!("unknown operator `{other}`")),
                };
            }
        }
        Some(_) => return Err("`matchExpressions` must be a list".into()),
    }
    Ok(ok)
}

/// At most this many rules are held by aggregated ClusterRoles together (a bound on
/// hostile label selectors that make every role aggregate every other).
const MAX_AGGREGATED_RULES: usize = 500_000;

/// At most this many steps (roles visited, selections followed, rules compared) are spent
/// aggregating ClusterRoles.
const MAX_AGGREGATION_WORK: usize = 4_000_000;

impl<'a> Policy<'a> {
    /// Resolve the RBAC objects of `objects`. ClusterRoles a binding names that the set
    /// does not define are taken from the bootstrap policy when they are bootstrap roles.
    pub fn build(objects: &'a [Object]) -> Policy<'a> {
        Policy::build_with(objects, bootstrap_cluster_roles())
    }

    /// [`Policy::build`] with an explicit set of fallback ClusterRoles (empty: none).
    pub fn build_with(objects: &'a [Object], fallback: &'a [Object]) -> Policy<'a> {
        let mut p = Policy::default();
        for obj in objects.iter().filter(|o| is_rbac(o)) {
            match obj.kind() {
                "Role" => p
                    .roles
                    .push(parse_role(obj, RoleKind::Role, false, &mut p.errors)),
                "ClusterRole" => {
                    p.roles
                        .push(parse_role(obj, RoleKind::ClusterRole, false, &mut p.errors))
                }
                "RoleBinding" => {
                    if let Some(b) = parse_binding(obj, BindingKind::RoleBinding, &mut p.errors) {
                        p.bindings.push(b);
                    }
                }
                "ClusterRoleBinding" => {
                    if let Some(b) =
                        parse_binding(obj, BindingKind::ClusterRoleBinding, &mut p.errors)
                    {
                        p.bindings.push(b);
                    }
                }
                _ => {}
            }
        }
        // The bootstrap ClusterRoles the set does not define: they exist in every cluster
        // (and take part in aggregation, e.g. `view` aggregates `system:aggregate-to-view`).
        let defined: HashSet<String> = p
            .roles
            .iter()
            .filter(|r| r.kind == RoleKind::ClusterRole)
            .map(|r| r.name.clone())
            .collect();
        let mut builtin_errors = Vec::new();
        for obj in fallback {
            if obj.kind() == "ClusterRole" && !defined.contains(obj.name()) {
                p.roles.push(parse_role(
                    obj,
                    RoleKind::ClusterRole,
                    true,
                    &mut builtin_errors,
                ));
            }
        }
        p.errors.extend(builtin_errors);
        p.aggregate();
        p.resolve_bindings();
        p
    }

    /// Fill in aggregated ClusterRoles: each holds the union (first occurrence kept, in
    /// the order of the selected roles' names) of the rules of the ClusterRoles its
    /// selectors select, itself excluded, repeated until nothing changes (an aggregated
    /// role selected by another passes its aggregated rules on).
    fn aggregate(&mut self) {
        // (role index, the indices of the roles it selects, sorted by name)
        let mut aggregated: Vec<(usize, Vec<usize>)> = Vec::new();
        let mut by_name: Vec<usize> = (0..self.roles.len())
            .filter(|&i| self.roles[i].kind == RoleKind::ClusterRole)
            .collect();
        by_name.sort_by(|&a, &b| self.roles[a].name.cmp(&self.roles[b].name));
        for i in 0..self.roles.len() {
            let role = &self.roles[i];
            if role.kind != RoleKind::ClusterRole {
                continue;
            }
            let Some(rule) = role
                .obj
                .value
                .get("aggregationRule")
                .filter(|v| !v.is_null())
            else {
                continue;
            };
            let selectors = match rule.get("clusterRoleSelectors") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(a)) => a.clone(),
                Some(_) => {
                    self.errors.push(error_at(
                        role.obj,
                        "aggregationRule",
                        "`aggregationRule.clusterRoleSelectors` must be a list; not aggregated"
                            .into(),
                    ));
                    continue;
                }
            };
            let mut selected = Vec::new();
            let mut is_selected = vec![false; self.roles.len()];
            let mut bad = false;
            for sel in &selectors {
                for &j in &by_name {
                    if j == i || self.roles[j].name == self.roles[i].name {
                        continue;
                    }
                    let labels = self.roles[j]
                        .obj
                        .value
                        .get("metadata")
                        .and_then(|m| m.get("labels"))
                        .and_then(Value::as_object);
                    match selector_matches(sel, labels) {
                        Ok(true) => {
                            if !is_selected[j] {
                                is_selected[j] = true;
                                selected.push(j);
                            }
                        }
                        Ok(false) => {}
                        Err(m) => {
                            self.errors.push(error_at(
                                self.roles[i].obj,
                                "aggregationRule",
                                format!("invalid cluster role selector: {m}; not aggregated"),
                            ));
                            bad = true;
                            break;
                        }
                    }
                }
                if bad {
                    break;
                }
            }
            if bad {
                self.roles[i].rules.clear();
                self.roles[i].aggregated = true;
                continue;
            }
            // The controller replaces the role's own rules with the aggregated ones.
            self.roles[i].rules.clear();
            self.roles[i].aggregated = true;
            aggregated.push((i, selected));
        }
        // The fixpoint the controller converges to: an aggregated role holds the rules of
        // every plain ClusterRole reachable through its selections (through aggregated
        // roles it selects, transitively; cycles add nothing). A breadth-first walk per
        // aggregated role, in the order of the selected roles' names, with a budget on the
        // total work: hostile selectors (every role selecting every other) make it grow
        // as roles x roles x rules.
        let is_aggregated: HashSet<usize> = aggregated.iter().map(|(i, _)| *i).collect();
        let selections: HashMap<usize, Vec<usize>> = aggregated.iter().cloned().collect();
        let mut work = 0usize;
        let mut total = 0usize;
        let mut aggregated_rules = Vec::with_capacity(aggregated.len());
        for (i, selected) in &aggregated {
            let mut visited: HashSet<usize> = HashSet::from([*i]);
            let mut queue: std::collections::VecDeque<usize> = selected.iter().copied().collect();
            let mut seen: HashSet<&PolicyRule> = HashSet::new();
            let mut rules: Vec<EffectiveRule<'a>> = Vec::new();
            while let Some(j) = queue.pop_front() {
                if !visited.insert(j) {
                    continue;
                }
                work = work.saturating_add(1);
                if is_aggregated.contains(&j) {
                    if let Some(next) = selections.get(&j) {
                        work = work.saturating_add(next.len());
                        queue.extend(next.iter().copied());
                    }
                } else {
                    for r in &self.roles[j].rules {
                        work = work.saturating_add(1);
                        if seen.insert(&r.rule) {
                            rules.push(r.clone());
                        }
                    }
                }
                if work > MAX_AGGREGATION_WORK {
                    break;
                }
            }
            total = total.saturating_add(rules.len());
            if work > MAX_AGGREGATION_WORK || total > MAX_AGGREGATED_RULES {
                self.errors.push(error_at(
                    self.roles[*i].obj,
                    "aggregationRule",
                    format!("aggregating ClusterRoles took more than {MAX_AGGREGATION_WORK} steps or {MAX_AGGREGATED_RULES} rules (selectors that select nearly every role); this and the remaining aggregated roles were not aggregated"),
                ));
                break;
            }
            aggregated_rules.push((*i, rules));
        }
        for (i, rules) in aggregated_rules {
            self.roles[i].rules = rules;
        }
    }

    /// Point every binding at its role; a role found nowhere is an error.
    fn resolve_bindings(&mut self) {
        self.merge_duplicate_roles();
        let mut cluster: HashMap<&str, usize> = HashMap::new();
        let mut namespaced: HashMap<(&str, &str), usize> = HashMap::new();
        for (i, r) in self.roles.iter().enumerate() {
            match (&r.kind, &r.namespace) {
                (RoleKind::ClusterRole, _) => {
                    cluster.entry(r.name.as_str()).or_insert(i);
                }
                (RoleKind::Role, Some(ns)) => {
                    namespaced
                        .entry((ns.as_str(), r.name.as_str()))
                        .or_insert(i);
                }
                (RoleKind::Role, None) => {}
            }
        }
        let mut resolved = Vec::with_capacity(self.bindings.len());
        let mut errors = Vec::new();
        for b in &self.bindings {
            let found = match b.role_kind {
                RoleKind::ClusterRole => cluster.get(b.role_name.as_str()).copied(),
                RoleKind::Role => b
                    .namespace
                    .as_deref()
                    .and_then(|ns| namespaced.get(&(ns, b.role_name.as_str())).copied()),
            };
            if found.is_none() {
                let where_ = match (&b.role_kind, &b.namespace) {
                    (RoleKind::Role, Some(ns)) => format!(" in namespace `{ns}`"),
                    _ => String::new(),
                };
                errors.push(error_at(
                    b.obj,
                    "roleRef",
                    format!(
                        "references {} `{}`{where_}, which is neither in the scanned set nor a Kubernetes bootstrap role; its grants were not analysed",
                        b.role_kind.as_str(),
                        b.role_name
                    ),
                ));
            }
            resolved.push(found);
        }
        for (b, found) in self.bindings.iter_mut().zip(resolved) {
            b.role = found;
        }
        self.errors.extend(errors);
    }

    /// Roles defined more than once (same kind, namespace and name), merged into the
    /// first definition so that bindings see the union of their rules.
    fn merge_duplicate_roles(&mut self) {
        let mut first: HashMap<(RoleKind, Option<String>, String), usize> = HashMap::new();
        for i in 0..self.roles.len() {
            let key = (
                self.roles[i].kind,
                self.roles[i].namespace.clone(),
                self.roles[i].name.clone(),
            );
            match first.get(&key) {
                Some(&f) if f != i => {
                    let extra = self.roles[i].rules.clone();
                    self.roles[f].rules.extend(extra);
                }
                _ => {
                    first.insert(key, i);
                }
            }
        }
    }

    /// The role a binding references, if resolved.
    pub fn role_of(&self, b: &Binding<'a>) -> Option<&Role<'a>> {
        b.role.and_then(|i| self.roles.get(i))
    }
}
