//! The decision: which rules apply to a request (namespace modes, exemptions), what they
//! find, and the AdmissionReview response.

use crate::images::{self, NoVerification, SignatureVerifier};
use crate::mutate::{self, Lookups};
use crate::namespaces::{Labels, NamespaceSource, StaticNamespaces};
use crate::review::{Request, Response};
use crate::settings::{Mode, ModeSetting, Settings, Target};
use crate::Violation;
use rampart_core::Location;
use rampart_k8s::pss::evaluate_pss;
use rampart_k8s::Object;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where audit-mode decisions go (a JSON log, PolicyReports …). Implementations must
/// not block for long: they are called on the request path.
pub trait AuditSink: Send + Sync {
    /// One decision with audit-mode violations.
    fn record(&self, event: &AuditEvent);
}

/// Discards audit events.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoAudit;

impl AuditSink for NoAudit {
    fn record(&self, _event: &AuditEvent) {}
}

/// One audited decision.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AuditEvent {
    /// Request uid.
    pub uid: String,
    /// `CREATE`/`UPDATE`.
    pub operation: String,
    /// Kind of the object.
    pub kind: String,
    /// The object's `apiVersion` (`v1`, `apps/v1`; empty when the object has none).
    pub api_version: String,
    /// The resource (`pods`), for PolicyReport garbage collection.
    pub resource: String,
    /// Namespace.
    pub namespace: String,
    /// Name (or generateName).
    pub name: String,
    /// Requesting user.
    pub user: String,
    /// What audit mode checked (`restricted:latest`).
    pub policy: String,
    /// Dry run: no side effects (no PolicyReport) must follow.
    pub dry_run: bool,
    /// Whether the request was allowed (by enforce).
    pub allowed: bool,
    /// The violations.
    pub violations: Vec<Violation>,
}

/// One counted decision (for `/metrics`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counted {
    /// Mode.
    pub mode: Mode,
    /// Rule id: one of the registry's (Pod Security Standards, image policy), a loaded
    /// policy set's entry rule (`policy/<package>/<rule>`), or [`OTHER_POLICY_RULE`] for
    /// ids a policy message chose (they can come from the request): never a value the
    /// request can multiply.
    pub rule_id: String,
}

/// The metric rule label of policy findings whose id is not known in advance.
pub const OTHER_POLICY_RULE: &str = "policy/other";

/// Rule id of a policy set named by a label or setting but not loaded.
pub const RULE_POLICY_SET_MISSING: &str = "admission/policy-set-missing";

/// What one mode's check of one object found.
#[derive(Debug, Default)]
struct Found {
    /// Violations: they deny in enforce mode.
    violations: Vec<Violation>,
    /// Findings of a policy set's `warn` rules: warnings in any mode, never denials.
    warnings: Vec<Violation>,
    /// The check could not run to the end (a policy error or time limit): why.
    failure: Option<String>,
}

/// Annotation keys a check reads (Pod Security Standards: seccomp and AppArmor): a
/// change to one of them is a change to what is checked, not "metadata only".
fn checked_annotation(key: &str) -> bool {
    key.contains("seccomp") || key.contains("apparmor")
}

/// The annotations of an object that checks read.
fn checked_annotations(obj: &Value) -> BTreeMap<&str, &Value> {
    obj.get("metadata")
        .and_then(|m| m.get("annotations"))
        .and_then(Value::as_object)
        .map(|a| {
            a.iter()
                .filter(|(k, _)| checked_annotation(k))
                .map(|(k, v)| (k.as_str(), v))
                .collect()
        })
        .unwrap_or_default()
}

/// True when an UPDATE changes only metadata no check reads: everything but `status`
/// and the metadata is equal, and so are the annotations checks read. This is Pod
/// Security Admission's rule (only metadata-only updates of a pod are exempt from a full
/// evaluation), applied to every kind with a pod template too.
pub fn metadata_only_update(old: &Value, new: &Value) -> bool {
    let (Some(o), Some(n)) = (old.as_object(), new.as_object()) else {
        return false;
    };
    o.keys()
        .chain(n.keys())
        .filter(|k| *k != "metadata" && *k != "status")
        .all(|k| o.get(k) == n.get(k))
        && checked_annotations(old) == checked_annotations(new)
}

/// A decision with what metrics and logs need.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// The response.
    pub response: Response,
    /// Violations by mode (deduplicated rule ids), for metrics.
    pub counted: Vec<Counted>,
    /// The audit event, if audit mode found something.
    pub audit: Option<AuditEvent>,
}

/// Evaluates requests. Cheap to share (`Arc`); evaluation is synchronous.
pub struct Engine {
    /// Settings.
    pub settings: Settings,
    policy_sets: HashMap<String, rampart_policy::PolicySet>,
    /// Rule ids that may appear as metric labels.
    known_rules: HashSet<String>,
    verifier: Arc<dyn SignatureVerifier>,
    namespaces: Arc<dyn NamespaceSource>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("settings", &self.settings)
            .field("policy_sets", &self.policy_sets.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Engine {
    /// An engine with these settings, no policy sets, no signature verification and
    /// no namespace labels (cluster defaults everywhere).
    pub fn new(settings: Settings) -> Engine {
        let known_rules = rampart_k8s::pss::metas()
            .into_iter()
            .chain(crate::metas())
            .map(|m| m.id)
            .chain([RULE_POLICY_SET_MISSING.to_string()])
            .collect();
        Engine {
            settings,
            policy_sets: HashMap::new(),
            known_rules,
            verifier: Arc::new(NoVerification),
            namespaces: Arc::new(StaticNamespaces::new()),
        }
    }

    /// Use this namespace source.
    pub fn with_namespaces(mut self, ns: Arc<dyn NamespaceSource>) -> Engine {
        self.namespaces = ns;
        self
    }

    /// Use this signature verifier.
    pub fn with_verifier(mut self, v: Arc<dyn SignatureVerifier>) -> Engine {
        self.verifier = v;
        self
    }

    /// Add a named policy set (usable as a level in labels and config).
    pub fn with_policy_set(mut self, name: &str, set: rampart_policy::PolicySet) -> Engine {
        if !self.settings.policy_set_names.iter().any(|n| n == name) {
            self.settings.policy_set_names.push(name.to_string());
        }
        self.known_rules
            .extend(set.entries().iter().map(|e| e.rule_id()));
        self.policy_sets.insert(name.to_string(), set);
        self
    }

    /// The time policy sets get within one request: three quarters of the webhook
    /// deadline, so a slow policy ends (and frees its thread) with time left to answer.
    pub fn policy_budget(&self) -> Duration {
        self.settings.timeout * 3 / 4
    }

    /// The metric label of a rule id (see [`Counted::rule_id`]).
    fn metric_rule(&self, id: &str) -> String {
        if self.known_rules.contains(id) {
            id.to_string()
        } else {
            OTHER_POLICY_RULE.to_string()
        }
    }

    /// The namespace source (for readiness).
    pub fn namespaces(&self) -> &Arc<dyn NamespaceSource> {
        &self.namespaces
    }

    fn exempt(&self, req: &Request) -> Option<String> {
        let e = &self.settings.exemptions;
        if !req.namespace.is_empty() && e.namespaces.contains(&req.namespace) {
            return Some(format!("namespace {}", req.namespace));
        }
        if !req.username.is_empty() && e.usernames.contains(&req.username) {
            return Some(format!("user {}", req.username));
        }
        if let Some(g) = req.groups.iter().find(|g| e.groups.contains(g)) {
            return Some(format!("group {g}"));
        }
        if !e.runtime_classes.is_empty() {
            if let Some(rc) = rampart_k8s::podspec::pod_spec(&req.object)
                .and_then(|ps| ps.spec.get("runtimeClassName"))
                .and_then(Value::as_str)
            {
                if e.runtime_classes.iter().any(|r| r == rc) {
                    return Some(format!("runtimeClass {rc}"));
                }
            }
        }
        None
    }

    /// The violations of one mode's setting for an object: with a policy set, its
    /// `warn` findings and any evaluation error are included (as
    /// `admission/policy-error`); [`Engine::validate`] keeps them apart.
    pub fn violations(&self, obj: &Value, setting: &ModeSetting) -> Vec<Violation> {
        let found = self.check(obj, setting, Instant::now() + self.policy_budget());
        let mut all = found.violations;
        all.extend(found.warnings);
        if let Some(why) = found.failure {
            all.push(Violation {
                rule_id: "admission/policy-error".into(),
                field: String::new(),
                message: why,
            });
        }
        all
    }

    /// One mode's check of one object, policy sets bounded by `deadline`.
    fn check(&self, obj: &Value, setting: &ModeSetting, deadline: Instant) -> Found {
        let mut found = Found::default();
        if setting.is_privileged() {
            return found;
        }
        match &setting.target {
            Target::Level(level) => {
                let o = Object::from_value(obj.clone());
                let mut fs = evaluate_pss(&o, *level, &setting.version);
                if self.settings.honor_exceptions {
                    rampart_k8s::exceptions::apply_object_exceptions(
                        &o,
                        &mut fs,
                        rampart_k8s::exceptions::today(),
                        false,
                    );
                    fs.retain(|f| f.suppression.is_none());
                }
                found.violations = fs.iter().map(Violation::from_finding).collect();
            }
            Target::PolicySet(name) => match self.policy_sets.get(name) {
                None => found.violations.push(Violation {
                    rule_id: RULE_POLICY_SET_MISSING.into(),
                    field: String::new(),
                    message: format!("policy set {name:?} is not loaded"),
                }),
                Some(set) => {
                    let o = Object::from_value(obj.clone());
                    match set.evaluate_until(obj, &o.location(""), Some(deadline)) {
                        Ok(fs) => {
                            for f in fs {
                                let v = Violation::from_finding(&f.finding);
                                if f.kind.denies() {
                                    found.violations.push(v);
                                } else {
                                    found.warnings.push(v);
                                }
                            }
                        }
                        Err(e) => found.failure = Some(format!("policy set {name:?}: {e}")),
                    }
                }
            },
        }
        found
    }

    fn ns_labels(&self, req: &Request) -> (Labels, Vec<String>) {
        if req.namespace.is_empty() {
            return (Labels::new(), Vec::new());
        }
        match self.namespaces.labels(&req.namespace) {
            Some(l) => (l, Vec::new()),
            None if self.namespaces.ready() => (Labels::new(), Vec::new()),
            None => (
                Labels::new(),
                vec![format!(
                    "namespace {} not in the cache yet; cluster defaults applied",
                    req.namespace
                )],
            ),
        }
    }

    /// Decide a `/validate` request.
    pub fn validate(&self, req: &Request) -> Outcome {
        let mut out = Outcome {
            response: Response::allow(),
            ..Outcome::default()
        };
        if req.operation != "CREATE" && req.operation != "UPDATE" {
            return out;
        }
        if !req.object.is_object() {
            return out;
        }
        // Namespaces themselves: their rampart.dev labels must be valid.
        if req.kind == "Namespace" && req.sub_resource.is_empty() {
            let labels = labels_of(&req.object);
            let problems = self.settings.label_problems(&labels);
            if !problems.is_empty() {
                out.response.allowed = false;
                out.response.code = 403;
                out.response.message =
                    format!("invalid rampart.dev labels: {}", problems.join("; "));
            }
            return out;
        }
        if !req.sub_resource.is_empty() && req.sub_resource != "ephemeralcontainers" {
            return out;
        }
        if let Some(why) = self.exempt(req) {
            out.response
                .audit_annotations
                .insert("rampart.dev/exempt".into(), why);
            return out;
        }
        let (labels, mut notes) = self.ns_labels(req);
        let (modes, label_notes) = self.settings.modes_for(&labels);
        notes.extend(label_notes);
        let images_mode = self.settings.images.mode.unwrap_or(Mode::Enforce);
        let image_violations =
            images::violations(&req.object, &self.settings.images, &*self.verifier);
        let deadline = Instant::now() + self.policy_budget();

        let mut by_mode: BTreeMap<Mode, Found> = BTreeMap::new();
        for mode in Mode::ALL {
            let mut found = self.check(&req.object, modes.get(mode), deadline);
            if mode == images_mode {
                found.violations.extend(image_violations.iter().cloned());
            }
            by_mode.insert(mode, found);
        }

        let enforce_found = by_mode.remove(&Mode::Enforce).unwrap_or_default();
        if let Some(why) = enforce_found.failure {
            // The enforced check did not finish: the configured failure answer, as when
            // the whole evaluation fails (on_error), never a silent pass.
            return self.failure_outcome(&why);
        }
        for mode in [Mode::Warn, Mode::Audit] {
            if let Some(why) = by_mode.get_mut(&mode).and_then(|f| f.failure.take()) {
                notes.push(format!("{} check incomplete: {why}", mode.as_str()));
            }
        }
        let mut enforce = enforce_found.violations;
        // Conftest-style `warn` rules of the enforced policy set never deny: warnings.
        let mut warn = enforce_found.warnings;
        if let Some(f) = by_mode.remove(&Mode::Warn) {
            warn.extend(f.violations);
            warn.extend(f.warnings);
        }
        if req.operation == "UPDATE"
            && !enforce.is_empty()
            && metadata_only_update(&req.old_object, &req.object)
        {
            // Like Pod Security Admission: an update that leaves everything checked
            // unchanged keeps the violations the object already had, as long as it adds
            // none (a policy may read the metadata), compared by rule, field and message.
            let mut old = self.check(&req.old_object, &modes.enforce, deadline);
            if images_mode == Mode::Enforce {
                old.violations.extend(images::violations(
                    &req.old_object,
                    &self.settings.images,
                    &*self.verifier,
                ));
            }
            if old.failure.is_none() && enforce.iter().all(|v| old.violations.contains(v)) {
                let list: Vec<String> = enforce.iter().map(Violation::short).collect();
                notes.push(format!(
                    "update allowed: it does not worsen violations the existing object already has ({}); fix them",
                    list.join(", ")
                ));
                for v in &enforce {
                    out.counted.push(Counted {
                        mode: Mode::Warn,
                        rule_id: self.metric_rule(&v.rule_id),
                    });
                }
                enforce.clear();
            }
        }

        let what = describe(req);
        if !enforce.is_empty() {
            out.response.allowed = false;
            out.response.code = 403;
            let items: Vec<String> = enforce.iter().map(|v| v.to_string()).collect();
            out.response.message = format!(
                "rampart: {what} violates {} ({} violation{}): {}",
                modes.enforce,
                enforce.len(),
                if enforce.len() == 1 { "" } else { "s" },
                items.join("; ")
            );
        }
        // Warn about what enforce has not already refused.
        warn.retain(|w| {
            !enforce
                .iter()
                .any(|e| e.rule_id == w.rule_id && e.field == w.field)
        });
        if !warn.is_empty() {
            out.response
                .warnings
                .push(format!("rampart: {what} would violate {}:", modes.warn));
            for v in warn.iter().take(MAX_WARNINGS) {
                out.response.warnings.push(v.to_string());
            }
            if warn.len() > MAX_WARNINGS {
                out.response
                    .warnings
                    .push(format!("… and {} more", warn.len() - MAX_WARNINGS));
            }
        }
        let audit = by_mode
            .remove(&Mode::Audit)
            .map(|f| {
                let mut all = f.violations;
                all.extend(f.warnings);
                all
            })
            .unwrap_or_default();
        if !audit.is_empty() {
            let items: Vec<String> = audit.iter().map(Violation::short).collect();
            out.response.warnings.push(format!(
                "rampart audit ({}): {}",
                modes.audit,
                items.join(", ")
            ));
            out.response.audit_annotations.insert(
                "rampart.dev/audit-violations".into(),
                serde_json::to_string(&audit).unwrap_or_default(),
            );
            out.audit = Some(AuditEvent {
                uid: req.uid.clone(),
                operation: req.operation.clone(),
                kind: req.kind.clone(),
                api_version: req
                    .object
                    .get("apiVersion")
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                resource: req.resource.clone(),
                namespace: req.namespace.clone(),
                name: object_name(req),
                user: req.username.clone(),
                policy: modes.audit.to_string(),
                dry_run: req.dry_run,
                allowed: enforce.is_empty(),
                violations: audit.clone(),
            });
        }
        for (mode, list) in [
            (Mode::Enforce, &enforce),
            (Mode::Warn, &warn),
            (Mode::Audit, &audit),
        ] {
            let ids: BTreeSet<String> = list.iter().map(|v| self.metric_rule(&v.rule_id)).collect();
            out.counted
                .extend(ids.into_iter().map(|rule_id| Counted { mode, rule_id }));
        }
        if !enforce.is_empty() {
            out.response.audit_annotations.insert(
                "rampart.dev/enforce-policy".into(),
                modes.enforce.to_string(),
            );
        }
        for n in notes {
            out.response.warnings.push(format!("rampart: {n}"));
        }
        out
    }

    /// The answer when the enforced check could not finish: `allowed` per `on_error`
    /// (deny by default), status code 500, and why.
    fn failure_outcome(&self, why: &str) -> Outcome {
        let allow = self.settings.allow_on_error;
        Outcome {
            response: Response {
                allowed: allow,
                code: 500,
                message: format!("rampart: {why}"),
                warnings: if allow {
                    vec![format!(
                        "rampart: {why}; admitted without that check (on_error: allow)"
                    )]
                } else {
                    Vec::new()
                },
                ..Response::default()
            },
            counted: vec![Counted {
                mode: Mode::Enforce,
                rule_id: "admission/policy-error".into(),
            }],
            audit: None,
        }
    }

    /// The images whose user (for `runAsNonRoot`) or digest (for pinning) `/mutate`
    /// needs to look up: only images the image policy allows (a valid reference from an
    /// allowed registry), so a pod cannot make the webhook contact a host of its choosing.
    pub fn lookups_needed(&self, req: &Request) -> (Vec<String>, Vec<String>) {
        let (mut users, mut digests) = (Vec::new(), Vec::new());
        if !self.mutates(req) {
            return (users, digests);
        }
        let Some(ps) = rampart_k8s::podspec::pod_spec(&req.object) else {
            return (users, digests);
        };
        for c in ps.containers() {
            let Some(img) = c.value.get("image").and_then(Value::as_str) else {
                continue;
            };
            if !images::lookup_allowed(img, &self.settings.images) {
                continue;
            }
            if self.settings.mutations.run_as_non_root && !users.iter().any(|u| u == img) {
                users.push(img.to_string());
            }
            if self.settings.images.resolve_digests
                && !img.contains('@')
                && !digests.iter().any(|u| u == img)
            {
                digests.push(img.to_string());
            }
        }
        (users, digests)
    }

    fn mutates(&self, req: &Request) -> bool {
        (req.operation == "CREATE" || req.operation == "UPDATE")
            && req.object.is_object()
            && (req.sub_resource.is_empty() || req.sub_resource == "ephemeralcontainers")
            && req.kind != "Namespace"
            && (self.settings.mutations.any() || self.settings.images.resolve_digests)
            && self.exempt(req).is_none()
    }

    /// Decide a `/mutate` request (always allowed; the patch and notes).
    pub fn mutate(&self, req: &Request, lookups: &Lookups) -> Outcome {
        let mut out = Outcome {
            response: Response::allow(),
            ..Outcome::default()
        };
        if !self.mutates(req) {
            return out;
        }
        let m = mutate::mutate(
            &req.object,
            &self.settings.mutations,
            self.settings.images.resolve_digests,
            lookups,
        );
        out.response.patch = m.patch;
        out.response.warnings = m
            .notes
            .into_iter()
            .map(|n| format!("rampart: {n}"))
            .collect();
        out
    }
}

/// Warnings listed one by one before being summarised.
const MAX_WARNINGS: usize = 20;

fn labels_of(obj: &Value) -> Labels {
    obj.get("metadata")
        .and_then(|m| m.get("labels"))
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

fn object_name(req: &Request) -> String {
    if !req.name.is_empty() {
        return req.name.clone();
    }
    Object::from_value(req.object.clone()).name().to_string()
}

fn describe(req: &Request) -> String {
    let name = object_name(req);
    let mut s = req.kind.clone();
    if !name.is_empty() {
        s.push(' ');
        s.push_str(&name);
    }
    if !req.namespace.is_empty() {
        s.push_str(" in namespace ");
        s.push_str(&req.namespace);
    }
    s
}

impl Violation {
    /// From a finding with a k8s object location.
    pub fn from_finding(f: &rampart_core::Finding) -> Violation {
        let field = match &f.location {
            Location::K8sObject { field_path, .. } => field_path.clone().unwrap_or_default(),
            _ => String::new(),
        };
        Violation {
            rule_id: f.rule_id.clone(),
            field,
            message: f.message.clone(),
        }
    }

    /// `rule-id (field)`.
    pub fn short(&self) -> String {
        if self.field.is_empty() {
            self.rule_id.clone()
        } else {
            format!("{} ({})", self.rule_id, self.field)
        }
    }
}
