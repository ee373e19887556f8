//! Rampart's runtime monitor: Falco-compatible rules over Kubernetes audit events.
//!
//! - [`event`]: the `audit.k8s.io/v1` `Event`/`EventList` model and input decoding
//!   (JSON lines, lists, arrays).
//! - [`rules`]: Falco rules files (rules, macros, lists, appends and overrides,
//!   exceptions), with `file:line:column` errors.
//! - [`condition`], [`filter`], [`fields`], [`output`]: the condition language, compiled
//!   once into an operator tree over resolved field extractors.
//! - [`engine`]: compiled rules applied to events, producing [`alert::Alert`]s in Falco's
//!   JSON alert format, convertible to Rampart findings.
//!
//! ```
//! use rampart_runtime::{Engine, EngineOptions, Ruleset, event::AuditEvent};
//!
//! let mut rules = Ruleset::new();
//! rules.load_str("rules.yaml", r#"
//! - rule: Exec into pod
//!   desc: Someone ran a command in a pod
//!   condition: ka.target.subresource = exec and ka.verb = create
//!   output: exec (user=%ka.user.name pod=%ka.target.name command=%ka.uri.param[command])
//!   priority: NOTICE
//!   source: k8s_audit
//! "#).unwrap();
//! let engine = Engine::compile(&rules, EngineOptions::default()).unwrap();
//! let ev = AuditEvent::from_json(r#"{"auditID":"1","stage":"ResponseStarted","verb":"create",
//!   "user":{"username":"alice"},"requestURI":"/api/v1/namespaces/default/pods/web/exec?command=sh",
//!   "objectRef":{"resource":"pods","namespace":"default","name":"web","subresource":"exec"}}"#).unwrap();
//! let alerts = engine.process(&ev, 1);
//! assert_eq!(alerts[0].message, "exec (user=alice pod=web command=sh)");
//! ```

pub mod alert;
pub mod condition;
pub mod engine;
pub mod event;
pub mod fields;
pub mod filter;
mod glob;
pub mod json;
pub mod monitor;
pub mod output;
pub mod policy;
pub mod rules;
pub mod server;
pub mod yaml;

pub use alert::{Alert, RateLimiter};

/// Rampart's built-in runtime rules: Falco's upstream `k8s_audit_rules.yaml` (k8saudit
/// plugin 0.18.0), vendored unmodified.
pub const DEFAULT_RULES: &str = include_str!("../rules/k8s_audit_rules.yaml");

/// Metadata of the built-in rules (ids `runtime/<slug of the Falco rule name>`), for
/// `rampart rules list|explain` and SARIF rule descriptions.
pub fn builtin_rule_metas() -> Result<Vec<rampart_core::RuleMeta>, LoadErrors> {
    let mut rs = Ruleset::new();
    rs.load_builtin().map_err(|e| LoadErrors(vec![e]))?;
    let opts = EngineOptions {
        hostname: String::new(),
        cluster: None,
    };
    let engine = Engine::compile(&rs, opts)?;
    Ok(engine.rules().iter().map(alert::rule_meta).collect())
}

/// The name the built-in rules are reported under.
pub const DEFAULT_RULES_NAME: &str = "<builtin>/k8s_audit_rules.yaml";
pub use engine::{CompiledRule, Engine, EngineOptions};
pub use event::{AuditEvent, EventError};
pub use monitor::{Follower, Monitor, MonitorOptions, Stats};
pub use rules::{LoadError, LoadErrors, Priority, Ruleset};
