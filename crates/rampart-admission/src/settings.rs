//! Webhook settings: namespace modes (like Pod Security Admission's labels), cluster
//! defaults, exemptions, image policy and mutations, built from `rampart.yaml`'s
//! `admission:` section.

use rampart_core::config::AdmissionConfig;
use rampart_k8s::pss::{Level, PssVersion};
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// Label prefix: `rampart.dev/enforce`, `rampart.dev/enforce-version` …
pub const LABEL_PREFIX: &str = "rampart.dev/";

/// The three modes, as in Pod Security Admission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mode {
    /// Violations deny the request.
    Enforce,
    /// Violations are returned as warnings.
    Warn,
    /// Violations are recorded (audit annotations, JSON log, PolicyReport).
    Audit,
}

impl Mode {
    /// All modes.
    pub const ALL: [Mode; 3] = [Mode::Enforce, Mode::Warn, Mode::Audit];

    /// `enforce`, `warn`, `audit`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Warn => "warn",
            Mode::Audit => "audit",
        }
    }

    fn parse(s: &str) -> Option<Mode> {
        match s.trim().to_ascii_lowercase().as_str() {
            "enforce" | "" => Some(Mode::Enforce),
            "warn" => Some(Mode::Warn),
            "audit" => Some(Mode::Audit),
            _ => None,
        }
    }
}

/// What a mode checks: a Pod Security Standards level or a named policy set.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// `privileged`, `baseline`, `restricted`.
    Level(Level),
    /// A policy set from `admission.policy_sets`.
    PolicySet(String),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Level(l) => f.write_str(l.as_str()),
            Target::PolicySet(n) => f.write_str(n),
        }
    }
}

/// One mode's setting: target and version.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ModeSetting {
    /// Level or policy set.
    pub target: Target,
    /// PSS version (`latest` by default).
    pub version: PssVersion,
}

impl ModeSetting {
    /// A level at `latest`.
    pub fn level(level: Level) -> ModeSetting {
        ModeSetting {
            target: Target::Level(level),
            version: PssVersion::latest(),
        }
    }

    /// True when this setting checks nothing (`privileged`).
    pub fn is_privileged(&self) -> bool {
        self.target == Target::Level(Level::Privileged)
    }
}

impl fmt::Display for ModeSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.target {
            Target::Level(_) => write!(f, "{}:{}", self.target, self.version),
            Target::PolicySet(_) => write!(f, "{}", self.target),
        }
    }
}

/// Settings errors (invalid configuration).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    /// An invalid value in `admission:`.
    #[error("admission.{field}: {message}")]
    Invalid {
        /// The key.
        field: String,
        /// What is wrong.
        message: String,
    },
}

/// The modes in effect for one namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Modes {
    /// Enforce.
    pub enforce: ModeSetting,
    /// Warn.
    pub warn: ModeSetting,
    /// Audit.
    pub audit: ModeSetting,
}

impl Modes {
    /// The setting of `mode`.
    pub fn get(&self, mode: Mode) -> &ModeSetting {
        match mode {
            Mode::Enforce => &self.enforce,
            Mode::Warn => &self.warn,
            Mode::Audit => &self.audit,
        }
    }

    fn get_mut(&mut self, mode: Mode) -> &mut ModeSetting {
        match mode {
            Mode::Enforce => &mut self.enforce,
            Mode::Warn => &mut self.warn,
            Mode::Audit => &mut self.audit,
        }
    }
}

impl Default for Modes {
    /// With no configuration: enforce `baseline`, warn `restricted`, audit nothing.
    fn default() -> Modes {
        Modes {
            enforce: ModeSetting::level(Level::Baseline),
            warn: ModeSetting::level(Level::Restricted),
            audit: ModeSetting::level(Level::Privileged),
        }
    }
}

/// Exemptions (requests never evaluated).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exemptions {
    /// Namespaces.
    pub namespaces: Vec<String>,
    /// User names.
    pub usernames: Vec<String>,
    /// Groups.
    pub groups: Vec<String>,
    /// Runtime class names.
    pub runtime_classes: Vec<String>,
}

/// Image policy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImagePolicy {
    /// Allowed `registry/repository` patterns (`*` matches any run of characters).
    pub allowed_registries: Vec<String>,
    /// Require `@sha256:` digests.
    pub require_digest: bool,
    /// Deny `:latest` and untagged references.
    pub deny_latest: bool,
    /// The mode of the image rules.
    pub mode: Option<Mode>,
    /// `/mutate` pins tags to digests.
    pub resolve_digests: bool,
    /// Registries reached over plain HTTP.
    pub insecure_registries: Vec<String>,
    /// Non-public destinations the registry client may reach (validated
    /// [`rampart_net::egress::EgressPolicy`] entries).
    pub private_registries: Vec<String>,
}

impl ImagePolicy {
    /// True when any image rule is on.
    pub fn any(&self) -> bool {
        !self.allowed_registries.is_empty() || self.require_digest || self.deny_latest
    }
}

/// Opt-in mutations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Mutations {
    /// `seccompProfile: RuntimeDefault`.
    pub seccomp_runtime_default: bool,
    /// `allowPrivilegeEscalation: false`.
    pub disallow_privilege_escalation: bool,
    /// Drop ALL capabilities.
    pub drop_all_capabilities: bool,
    /// `runAsNonRoot: true` when the image's user is known to be non-root.
    pub run_as_non_root: bool,
}

impl Mutations {
    /// True when any mutation is on.
    pub fn any(&self) -> bool {
        self.seccomp_runtime_default
            || self.disallow_privilege_escalation
            || self.drop_all_capabilities
            || self.run_as_non_root
    }
}

/// All webhook settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Cluster defaults, overridden per namespace by labels.
    pub defaults: Modes,
    /// Exemptions.
    pub exemptions: Exemptions,
    /// Image policy.
    pub images: ImagePolicy,
    /// Mutations.
    pub mutations: Mutations,
    /// Names of the policy sets that may be used as a level.
    pub policy_set_names: Vec<String>,
    /// Write PolicyReports.
    pub policy_reports: bool,
    /// CA that client certificates must chain to (mutual TLS), `None`: no client
    /// authentication.
    pub client_ca: Option<std::path::PathBuf>,
    /// Per-request evaluation deadline.
    pub timeout: Duration,
    /// Allow (true) or deny (false) when evaluation fails.
    pub allow_on_error: bool,
    /// Honour `rampart.dev/ignore` annotations (Pod Security Standards findings only).
    pub honor_exceptions: bool,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            defaults: Modes::default(),
            exemptions: Exemptions::default(),
            images: ImagePolicy::default(),
            mutations: Mutations::default(),
            policy_set_names: Vec::new(),
            policy_reports: false,
            client_ca: None,
            timeout: Duration::from_millis(2000),
            allow_on_error: false,
            honor_exceptions: false,
        }
    }
}

/// Parse a level or policy-set name.
pub fn parse_target(s: &str, policy_sets: &[String]) -> Option<Target> {
    if let Ok(l) = s.parse::<Level>() {
        return Some(Target::Level(l));
    }
    policy_sets
        .iter()
        .any(|p| p == s)
        .then(|| Target::PolicySet(s.to_string()))
}

impl Settings {
    /// Build from the `admission:` section.
    pub fn from_config(c: &AdmissionConfig) -> Result<Settings, SettingsError> {
        let mut s = Settings {
            policy_set_names: c.policy_sets.keys().cloned().collect(),
            ..Settings::default()
        };
        let inv = |field: &str, message: String| SettingsError::Invalid {
            field: field.to_string(),
            message,
        };
        for (mode, target, version) in [
            (Mode::Enforce, &c.enforce, &c.enforce_version),
            (Mode::Warn, &c.warn, &c.warn_version),
            (Mode::Audit, &c.audit, &c.audit_version),
        ] {
            let name = mode.as_str();
            let m = s.defaults.get_mut(mode);
            if let Some(t) = target {
                m.target = parse_target(t, &s.policy_set_names).ok_or_else(|| {
                    inv(
                        name,
                        format!("`{t}` is neither privileged, baseline, restricted nor a policy set in admission.policy_sets"),
                    )
                })?;
            }
            if let Some(v) = version {
                m.version = v.parse().map_err(|e: rampart_k8s::pss::PssParseError| {
                    inv(&format!("{name}_version"), e.to_string())
                })?;
            }
        }
        let e = &c.exemptions;
        s.exemptions = Exemptions {
            namespaces: e.namespaces.clone(),
            usernames: e.usernames.clone(),
            groups: e.groups.clone(),
            runtime_classes: e.runtime_classes.clone(),
        };
        let i = &c.images;
        s.images = ImagePolicy {
            allowed_registries: i.allowed_registries.clone(),
            require_digest: i.require_digest,
            deny_latest: i.deny_latest,
            mode: match &i.mode {
                None => None,
                Some(m) => Some(Mode::parse(m).ok_or_else(|| {
                    inv(
                        "images.mode",
                        format!("`{m}` (expected enforce, warn or audit)"),
                    )
                })?),
            },
            resolve_digests: i.resolve_digests,
            insecure_registries: i.insecure_registries.clone(),
            private_registries: i.private_registries.clone(),
        };
        if let Err(e) = rampart_net::egress::EgressPolicy::with_allowed(&i.private_registries) {
            return Err(inv("images.private_registries", e.to_string()));
        }
        let m = &c.mutations;
        s.mutations = Mutations {
            seccomp_runtime_default: m.seccomp_runtime_default,
            disallow_privilege_escalation: m.disallow_privilege_escalation,
            drop_all_capabilities: m.drop_all_capabilities,
            run_as_non_root: m.run_as_non_root,
        };
        s.policy_reports = c.policy_reports;
        s.client_ca = c.client_ca.clone();
        s.honor_exceptions = c.honor_exceptions;
        if let Some(ms) = c.timeout_ms {
            if ms == 0 {
                return Err(inv("timeout_ms", "must be positive".into()));
            }
            s.timeout = Duration::from_millis(ms);
        }
        s.allow_on_error = match c.on_error.as_deref() {
            None | Some("deny") => false,
            Some("allow") => true,
            Some(o) => return Err(inv("on_error", format!("`{o}` (expected deny or allow)"))),
        };
        Ok(s)
    }

    /// The modes for a namespace with these labels (labels override the defaults; an
    /// invalid label value falls back to `restricted`/`latest`, as Pod Security Admission
    /// does, and is reported in the returned notes).
    pub fn modes_for(&self, labels: &BTreeMap<String, String>) -> (Modes, Vec<String>) {
        let mut modes = self.defaults.clone();
        let mut notes = Vec::new();
        for mode in Mode::ALL {
            let key = format!("{LABEL_PREFIX}{}", mode.as_str());
            let m = modes.get_mut(mode);
            if let Some(v) = labels.get(&key) {
                match parse_target(v, &self.policy_set_names) {
                    Some(t) => m.target = t,
                    None => {
                        notes.push(format!(
                            "namespace label {key}={v} is not a level or policy set; using restricted"
                        ));
                        m.target = Target::Level(Level::Restricted);
                    }
                }
            }
            let vkey = format!("{key}-version");
            if let Some(v) = labels.get(&vkey) {
                match v.parse::<PssVersion>() {
                    Ok(ver) => m.version = ver,
                    Err(_) => {
                        notes.push(format!(
                            "namespace label {vkey}={v} is not a version; using latest"
                        ));
                        m.version = PssVersion::latest();
                    }
                }
            }
        }
        (modes, notes)
    }

    /// Problems with a Namespace's `rampart.dev/*` labels (an invalid label is denied
    /// on the Namespace itself, as Pod Security Admission does).
    pub fn label_problems(&self, labels: &BTreeMap<String, String>) -> Vec<String> {
        let mut out = Vec::new();
        for (k, v) in labels {
            let Some(rest) = k.strip_prefix(LABEL_PREFIX) else {
                continue;
            };
            let base = rest.strip_suffix("-version").unwrap_or(rest);
            if Mode::parse(base).is_none() || base.is_empty() {
                continue;
            }
            if rest.ends_with("-version") {
                if v.parse::<PssVersion>().is_err() {
                    out.push(format!("{k}: `{v}` is not `latest` or `v1.N`"));
                }
            } else if parse_target(v, &self.policy_set_names).is_none() {
                out.push(format!(
                    "{k}: `{v}` is not privileged, baseline, restricted or a configured policy set"
                ));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn safe_default_without_config() {
        let s = Settings::from_config(&AdmissionConfig::default()).unwrap();
        let (m, notes) = s.modes_for(&BTreeMap::new());
        assert_eq!(m.enforce.target, Target::Level(Level::Baseline));
        assert_eq!(m.warn.target, Target::Level(Level::Restricted));
        assert!(m.audit.is_privileged());
        assert!(notes.is_empty());
    }

    #[test]
    fn labels_override_defaults() {
        let mut c = AdmissionConfig::default();
        c.policy_sets.insert("team".into(), vec![]);
        let s = Settings::from_config(&c).unwrap();
        let (m, _) = s.modes_for(&labels(&[
            ("rampart.dev/enforce", "restricted"),
            ("rampart.dev/enforce-version", "v1.25"),
            ("rampart.dev/audit", "team"),
        ]));
        assert_eq!(m.enforce.to_string(), "restricted:v1.25");
        assert_eq!(m.audit.target, Target::PolicySet("team".into()));
        let (m, notes) = s.modes_for(&labels(&[("rampart.dev/warn", "bogus")]));
        assert_eq!(m.warn.target, Target::Level(Level::Restricted));
        assert_eq!(notes.len(), 1);
        assert_eq!(
            s.label_problems(&labels(&[
                ("rampart.dev/warn", "bogus"),
                ("rampart.dev/enforce-version", "x"),
                ("rampart.dev/other", "x"),
            ]))
            .len(),
            2
        );
    }

    #[test]
    fn config_errors() {
        let c = AdmissionConfig {
            enforce: Some("strict".into()),
            ..AdmissionConfig::default()
        };
        assert!(Settings::from_config(&c).is_err());
        let c = AdmissionConfig {
            warn_version: Some("2.0".into()),
            ..AdmissionConfig::default()
        };
        assert!(Settings::from_config(&c).is_err());
        let c = AdmissionConfig {
            on_error: Some("maybe".into()),
            ..AdmissionConfig::default()
        };
        assert!(Settings::from_config(&c).is_err());
    }
}
