//! Rampart: custom Rego policies (Conftest conventions) evaluated with
//! [regorus](https://github.com/microsoft/regorus).
//!
//! * [`load`] reads every `.rego` file under the given directories (recursively, sorted),
//!   in Rego v1 syntax, falling back to v0 syntax per file (Conftest accepts both).
//! * The entry rules of the selected packages (`main` by default) are `deny`,
//!   `violation` and `warn`, and any rule whose name starts with `deny_`, `violation_`
//!   or `warn_`, as in Conftest.
//! * [`PolicySet::evaluate`] runs them on one input (a Kubernetes object, a parsed
//!   Dockerfile, parsed HCL, any JSON/YAML document) and turns every message into a
//!   [`Finding`] `policy/<package>/<rule>`.
//!
//! A message is a string, or an object with `msg` plus optional metadata: `severity`
//! (critical|high|medium|low|info), `id` or `rule` (the finding's rule id, always in the
//! `policy/` namespace: `no-latest` and `k8s/pss-privileged` become `policy/no-latest` and
//! `policy/k8s/pss-privileged`, so a policy can never claim a built-in rule id), `title`,
//! `remediation`, `references`. Whether a finding denies or warns comes from the entry
//! rule it came from ([`EntryKind`], carried by [`PolicyFinding`]), never from its id.
//! Without `severity`, `deny`/`violation` messages are `high` and `warn` messages are
//! `medium`.
//!
//! ```
//! let dir = tempfile::tempdir().unwrap();
//! std::fs::write(dir.path().join("p.rego"), r#"
//! package main
//! deny contains msg if {
//!   input.kind == "Pod"
//!   not input.metadata.labels.team
//!   msg := "pod has no team label"
//! }
//! "#).unwrap();
//! let set = rampart_policy::load(&[dir.path().to_path_buf()], &[]).unwrap();
//! let input = serde_json::json!({"kind": "Pod", "metadata": {"name": "x"}});
//! let loc = rampart_core::Location::file("pod.yaml", None);
//! let findings = set.evaluate(&input, &loc).unwrap();
//! assert_eq!(findings[0].rule_id, "policy/main/deny");
//! assert_eq!(findings[0].message, "pod has no team label");
//! ```

use rampart_core::fingerprint::fingerprint;
use rampart_core::{Finding, Location, RuleMeta, Severity};
use regorus::utils::limits::ExecutionTimerConfig;
use serde_json::Value as Json;
use std::collections::BTreeSet;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant};

/// Errors loading or evaluating policies.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// A policy directory or file could not be read.
    #[error("{path}: {message}")]
    Io {
        /// The path.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// A policy file does not parse or compile (the message carries `file:line:col`).
    #[error("{path}: {message}")]
    Parse {
        /// The policy file.
        path: String,
        /// regorus' message, with line and column.
        message: String,
    },
    /// Evaluation ran out of time (the set's limit, or the caller's deadline).
    #[error("policy evaluation of {rule} exceeded its time limit of {limit_ms} ms")]
    TimeLimit {
        /// `data.<package>.<rule>`.
        rule: String,
        /// The time that was left for it, in milliseconds.
        limit_ms: u128,
    },
    /// Evaluation failed (a builtin error, a conflict, the memory limit …).
    #[error("policy evaluation of {rule} failed: {message}")]
    Eval {
        /// `data.<package>.<rule>`.
        rule: String,
        /// What went wrong.
        message: String,
    },
    /// No `.rego` file was found.
    #[error("no .rego files found in {0}")]
    Empty(String),
}

/// Result alias.
pub type Result<T, E = PolicyError> = std::result::Result<T, E>;

/// Most `.rego` files loaded from one set of directories.
pub const MAX_FILES: usize = 10_000;
/// Largest `.rego` file accepted.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;
/// Default wall-clock limit of one [`PolicySet::evaluate`] call.
pub const DEFAULT_TIME_LIMIT: Duration = Duration::from_secs(5);

/// Which kind of Conftest entry rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EntryKind {
    /// `deny`, `deny_*`.
    Deny,
    /// `violation`, `violation_*`.
    Violation,
    /// `warn`, `warn_*`.
    Warn,
}

impl EntryKind {
    fn of(rule: &str) -> Option<EntryKind> {
        for (prefix, kind) in [
            ("deny", EntryKind::Deny),
            ("violation", EntryKind::Violation),
            ("warn", EntryKind::Warn),
        ] {
            if let Some(rest) = rule.strip_prefix(prefix) {
                if rest.is_empty() || rest.starts_with('_') {
                    return Some(kind);
                }
            }
        }
        None
    }

    /// `deny`, `violation`, `warn`.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Deny => "deny",
            EntryKind::Violation => "violation",
            EntryKind::Warn => "warn",
        }
    }

    /// True for `deny` and `violation` rules: their findings fail a gate or deny
    /// admission; `warn` findings never do.
    pub fn denies(self) -> bool {
        !matches!(self, EntryKind::Warn)
    }

    /// Default severity of its messages.
    pub fn default_severity(self) -> Severity {
        match self {
            EntryKind::Deny | EntryKind::Violation => Severity::High,
            EntryKind::Warn => Severity::Medium,
        }
    }
}

/// One entry rule of one package.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct EntryRule {
    /// Package path (`main`, `kubernetes.admission`).
    pub package: String,
    /// Rule name (`deny`, `warn_latest`).
    pub rule: String,
    /// Its kind.
    pub kind: EntryKind,
    /// The file that first declares it.
    pub file: String,
    /// Line of that declaration.
    pub line: u32,
}

impl EntryRule {
    /// The default finding rule id: `policy/<package>/<rule>`.
    pub fn rule_id(&self) -> String {
        format!("policy/{}/{}", self.package, self.rule)
    }

    /// Rule metadata for `rules list` and SARIF.
    pub fn meta(&self) -> RuleMeta {
        RuleMeta {
            id: self.rule_id(),
            area: "policy".into(),
            title: format!("Custom policy {}.{}", self.package, self.rule),
            severity: self.kind.default_severity(),
            description: format!(
                "A message of the Rego rule `data.{}.{}` ({}:{}).",
                self.package, self.rule, self.file, self.line
            ),
            remediation: "Follow the policy's message.".into(),
            references: vec![format!("{}:{}", self.file, self.line)],
            peers: vec!["conftest".into()],
            tags: vec!["custom".into()],
        }
    }
}

/// One finding and the kind of the entry rule that produced it: what decides whether it
/// denies (a custom `id` in the message never does).
#[derive(Debug, Clone)]
pub struct PolicyFinding {
    /// `deny`, `violation` or `warn`.
    pub kind: EntryKind,
    /// The finding.
    pub finding: Finding,
}

/// The outcome of one Rego unit test (`test_*` rule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestOutcome {
    /// `data.<package>.<test_rule>`.
    pub name: String,
    /// True when the rule evaluated to `true`.
    pub passed: bool,
    /// The error, if evaluation failed.
    pub error: Option<String>,
}

/// A loaded, compiled set of policies. Evaluation clones the prepared engine, so one
/// `PolicySet` serves many inputs (and threads: it is `Send + Sync`).
#[derive(Debug, Clone)]
pub struct PolicySet {
    engine: regorus::Engine,
    entries: Vec<EntryRule>,
    tests: Vec<String>,
    files: Vec<PathBuf>,
    time_limit: Duration,
}

/// Load every `.rego` file under `dirs` (a file is accepted too).
///
/// `namespaces`: the packages whose entry rules run; empty means `["main"]`, and `"*"`
/// means every package (Conftest's `--all-namespaces`).
pub fn load(dirs: &[PathBuf], namespaces: &[String]) -> Result<PolicySet> {
    let mut files = Vec::new();
    for d in dirs {
        collect(d, &mut files, 0)?;
    }
    files.sort();
    files.dedup();
    if files.is_empty() {
        let names: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        return Err(PolicyError::Empty(names.join(", ")));
    }
    let mut sources = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).map_err(|e| PolicyError::Io {
            path: f.display().to_string(),
            message: e.to_string(),
        })?;
        sources.push((f.display().to_string(), text));
    }
    from_sources(sources, namespaces).map(|mut s| {
        s.files = files;
        s
    })
}

/// Compile policies from `(file name, Rego text)` pairs (what [`load`] does after reading).
pub fn from_sources(sources: Vec<(String, String)>, namespaces: &[String]) -> Result<PolicySet> {
    let mut engine = regorus::Engine::new();
    engine.set_strict_builtin_errors(false);
    for (name, text) in sources {
        add_source(&mut engine, &name, &text)?;
    }
    let all = namespaces.iter().any(|n| n == "*");
    let wanted: BTreeSet<&str> = if namespaces.is_empty() {
        ["main"].into_iter().collect()
    } else {
        namespaces.iter().map(String::as_str).collect()
    };
    let mut entries: Vec<EntryRule> = Vec::new();
    let mut tests = BTreeSet::new();
    for m in engine.get_modules().iter() {
        let package = package_name(m.package.refr.span().text());
        for r in &m.policy {
            let span = r.span();
            let Some(name) = rule_name(span.text()) else {
                continue;
            };
            if name.starts_with("test_") {
                tests.insert(format!("data.{package}.{name}"));
            }
            if !(all || wanted.contains(package.as_str())) {
                continue;
            }
            let Some(kind) = EntryKind::of(&name) else {
                continue;
            };
            if entries
                .iter()
                .any(|e| e.package == package && e.rule == name)
            {
                continue;
            }
            entries.push(EntryRule {
                package: package.clone(),
                rule: name,
                kind,
                file: span.source.get_path().to_string(),
                line: span.line,
            });
        }
    }
    entries.sort();
    // Compile once up front, so a semantic error surfaces at load time, not per input.
    // Evaluation errors on the empty input and hitting the time limit are not load errors.
    engine.set_input(regorus::Value::new_object());
    engine.set_execution_timer_config(ExecutionTimerConfig {
        limit: Duration::from_millis(500),
        check_interval: NonZeroU32::MIN,
    });
    for e in &entries {
        if let Err(err) = engine.eval_rule(format!("data.{}.{}", e.package, e.rule)) {
            let message = err.to_string();
            if is_compile_error(&message) {
                return Err(PolicyError::Parse {
                    path: e.file.clone(),
                    message,
                });
            }
        }
    }
    engine.clear_execution_timer_config();
    Ok(PolicySet {
        engine,
        entries,
        tests: tests.into_iter().collect(),
        files: Vec::new(),
        time_limit: DEFAULT_TIME_LIMIT,
    })
}

/// Whether an error from the first evaluation is a problem of the policy text (unknown
/// function, unsafe variable, recursion …) rather than of the (empty) input or the clock.
fn is_compile_error(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    !(m.contains("exceeded time limit")
        || m.contains("exceeded memory limit")
        || m.contains("builtin")
        || m.contains("conflict"))
}

fn add_source(engine: &mut regorus::Engine, name: &str, text: &str) -> Result<()> {
    // Rego v1 first (OPA 1.0 and current Conftest); v0 for older policies.
    let mut v1 = engine.clone();
    v1.set_rego_v0(false);
    match v1.add_policy(name.to_string(), text.to_string()) {
        Ok(_) => {
            *engine = v1;
            engine.set_rego_v0(false);
            Ok(())
        }
        Err(e1) => {
            let mut v0 = engine.clone();
            v0.set_rego_v0(true);
            match v0.add_policy(name.to_string(), text.to_string()) {
                Ok(_) => {
                    *engine = v0;
                    engine.set_rego_v0(false);
                    Ok(())
                }
                Err(_) => Err(PolicyError::Parse {
                    path: name.to_string(),
                    message: e1.to_string(),
                }),
            }
        }
    }
}

fn collect(path: &Path, out: &mut Vec<PathBuf>, depth: usize) -> Result<()> {
    let io = |e: std::io::Error| PolicyError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.is_file() {
        if meta.len() > MAX_FILE_BYTES {
            return Err(PolicyError::Io {
                path: path.display().to_string(),
                message: format!("policy file is over {MAX_FILE_BYTES} bytes"),
            });
        }
        out.push(path.to_path_buf());
        return Ok(());
    }
    if depth > 32 {
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('.') {
            continue;
        }
        if p.is_dir() {
            collect(&p, out, depth + 1)?;
        } else if name.ends_with(".rego") {
            if out.len() >= MAX_FILES {
                return Err(PolicyError::Io {
                    path: path.display().to_string(),
                    message: format!("more than {MAX_FILES} policy files"),
                });
            }
            collect(&p, out, depth + 1)?;
        }
    }
    Ok(())
}

/// `data.a.b` / `a.b` / `a["b-c"]` → `a.b-c`.
fn package_name(refr: &str) -> String {
    let s = refr.trim();
    let s = s.strip_prefix("data.").unwrap_or(s);
    s.replace("[\"", ".").replace("\"]", "").replace(' ', "")
}

/// The first identifier of a rule's text (`deny[msg] {`, `deny contains msg if`,
/// `default allow := false` → `allow`).
fn rule_name(text: &str) -> Option<String> {
    let t = text.trim_start();
    let t = t.strip_prefix("default ").unwrap_or(t).trim_start();
    let name: String = t
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

impl PolicySet {
    /// The entry rules that run on each input.
    pub fn entries(&self) -> &[EntryRule] {
        &self.entries
    }

    /// The policy files loaded.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// Rule metadata of every entry rule (findings with a custom `id` add their own; see
    /// [`meta_from_finding`]).
    pub fn metas(&self) -> Vec<RuleMeta> {
        self.entries.iter().map(EntryRule::meta).collect()
    }

    /// Change the wall-clock limit of one evaluation (default [`DEFAULT_TIME_LIMIT`]).
    pub fn set_time_limit(&mut self, limit: Duration) {
        self.time_limit = limit;
    }

    /// Run every entry rule on `input`; each message becomes a finding at `location`.
    pub fn evaluate(&self, input: &Json, location: &Location) -> Result<Vec<Finding>> {
        Ok(self
            .evaluate_until(input, location, None)?
            .into_iter()
            .map(|f| f.finding)
            .collect())
    }

    /// Run every entry rule on `input`, all of them together within the set's time limit
    /// and, when given, before `deadline` (whichever comes first): each rule gets only
    /// the time that is left, so N slow rules cannot take N times the limit. Running out
    /// of time is [`PolicyError::TimeLimit`]. Each finding keeps its entry rule's kind.
    pub fn evaluate_until(
        &self,
        input: &Json,
        location: &Location,
        deadline: Option<Instant>,
    ) -> Result<Vec<PolicyFinding>> {
        let own = Instant::now() + self.time_limit;
        let deadline = deadline.map_or(own, |d| d.min(own));
        let mut engine = self.engine.clone();
        engine.set_input(regorus::Value::from(input.clone()));
        let mut out = Vec::new();
        for e in &self.entries {
            let path = format!("data.{}.{}", e.package, e.rule);
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(PolicyError::TimeLimit {
                    rule: path,
                    limit_ms: 0,
                });
            }
            engine.set_execution_timer_config(ExecutionTimerConfig {
                limit: left,
                check_interval: NonZeroU32::MIN,
            });
            let v = engine.eval_rule(path.clone()).map_err(|err| {
                // regorus' errors are `anyhow` errors; its limits are typed inside.
                let timed_out = err.chain().any(|e| {
                    matches!(
                        e.downcast_ref::<regorus::LimitError>(),
                        Some(regorus::LimitError::TimeLimitExceeded { .. })
                    )
                });
                if timed_out {
                    PolicyError::TimeLimit {
                        rule: path.clone(),
                        limit_ms: left.as_millis(),
                    }
                } else {
                    PolicyError::Eval {
                        rule: path.clone(),
                        message: err.to_string(),
                    }
                }
            })?;
            if v == regorus::Value::Undefined {
                continue;
            }
            let json = serde_json::to_value(&v).map_err(|err| PolicyError::Eval {
                rule: path.clone(),
                message: err.to_string(),
            })?;
            for msg in messages(json) {
                out.push(PolicyFinding {
                    kind: e.kind,
                    finding: to_finding(e, msg, location),
                });
            }
        }
        Ok(out)
    }

    /// Run every `test_*` rule of every loaded package (Conftest's `verify`, OPA's
    /// `opa test`): a test passes when its rule is `true`.
    pub fn run_tests(&self) -> Vec<TestOutcome> {
        let mut out = Vec::new();
        for t in &self.tests {
            let mut engine = self.engine.clone();
            engine.set_execution_timer_config(ExecutionTimerConfig {
                limit: self.time_limit,
                check_interval: NonZeroU32::MIN,
            });
            engine.set_input(regorus::Value::new_object());
            match engine.eval_rule(t.clone()) {
                Ok(v) => out.push(TestOutcome {
                    name: t.clone(),
                    passed: v == regorus::Value::from(true),
                    error: None,
                }),
                Err(e) => out.push(TestOutcome {
                    name: t.clone(),
                    passed: false,
                    error: Some(e.to_string()),
                }),
            }
        }
        out
    }
}

/// A message's own rule id, always under `policy/` (a policy cannot claim `k8s/…`,
/// `secret/…` or any other built-in area's id).
fn custom_rule_id(id: &str) -> String {
    let id = id.trim();
    if id.starts_with("policy/") {
        id.to_string()
    } else {
        format!("policy/{id}")
    }
}

/// The messages of one entry rule's value: a set/array of messages, or one message.
fn messages(v: Json) -> Vec<Json> {
    match v {
        Json::Array(a) => a,
        Json::Bool(false) | Json::Null => Vec::new(),
        other => vec![other],
    }
}

fn severity_of(v: Option<&Json>) -> Option<Severity> {
    v.and_then(Json::as_str)
        .and_then(|s| Severity::from_str(&s.to_ascii_lowercase()).ok())
}

fn to_finding(e: &EntryRule, msg: Json, location: &Location) -> Finding {
    let mut meta = e.meta();
    let mut props = serde_json::Map::new();
    let message = match &msg {
        Json::String(s) => s.clone(),
        Json::Object(o) => {
            let message = o
                .get("msg")
                .or_else(|| o.get("message"))
                .map(|m| match m {
                    Json::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .unwrap_or_else(|| msg.to_string());
            if let Some(s) = severity_of(o.get("severity")) {
                meta.severity = s;
            }
            if let Some(id) = o
                .get("id")
                .or_else(|| o.get("rule"))
                .or_else(|| o.get("rule_id"))
                .and_then(Json::as_str)
                .filter(|s| !s.trim().is_empty())
            {
                meta.id = custom_rule_id(id);
            }
            if let Some(t) = o.get("title").and_then(Json::as_str) {
                meta.title = t.to_string();
            }
            if let Some(t) = o.get("remediation").and_then(Json::as_str) {
                meta.remediation = t.to_string();
            }
            match o.get("references") {
                Some(Json::Array(a)) => {
                    meta.references = a
                        .iter()
                        .filter_map(|r| r.as_str().map(str::to_string))
                        .collect();
                }
                Some(Json::String(s)) => meta.references = vec![s.clone()],
                _ => {}
            }
            for (k, v) in o {
                if !matches!(
                    k.as_str(),
                    "msg" | "message" | "severity" | "id" | "rule" | "rule_id" | "title"
                ) {
                    props.insert(k.clone(), v.clone());
                }
            }
            message
        }
        Json::Bool(true) => format!("{} is true", e.rule),
        other => other.to_string(),
    };
    let fp = fingerprint(&[
        &meta.id,
        location.path().unwrap_or(""),
        &location_identity(location),
        &message,
    ]);
    let mut f = Finding::new(&meta, message, location.clone(), fp);
    f.properties.insert(
        "policy".into(),
        Json::String(format!("{}.{}", e.package, e.rule)),
    );
    f.properties
        .insert("kind".into(), Json::String(e.kind.as_str().into()));
    if !props.is_empty() {
        f.properties.insert("metadata".into(), Json::Object(props));
    }
    f
}

/// Identity of a location without its line (for fingerprints).
fn location_identity(l: &Location) -> String {
    match l {
        Location::K8sObject { object, .. } => object.display(),
        Location::Image { image, .. } => image.clone(),
        Location::Package {
            ecosystem, name, ..
        } => format!("{ecosystem}/{name}"),
        Location::Url { method, url, .. } => format!("{method} {url}"),
        Location::File { .. } => String::new(),
        #[allow(unreachable_patterns)]
        _ => String::new(),
    }
}

/// Rule metadata reconstructed from a policy finding (for custom `id`s, which the
/// [`PolicySet::metas`] list cannot know in advance).
pub fn meta_from_finding(f: &Finding) -> RuleMeta {
    RuleMeta {
        id: f.rule_id.clone(),
        area: "policy".into(),
        title: f.title.clone(),
        severity: f.severity,
        description: format!("Custom Rego policy: {}", f.title),
        remediation: f.remediation.clone(),
        references: f.references.clone(),
        peers: vec!["conftest".into()],
        tags: vec!["custom".into()],
    }
}

impl rampart_core::scan::Policies for PolicySet {
    fn evaluate(
        &self,
        input: &Json,
        location: &Location,
    ) -> std::result::Result<Vec<Finding>, String> {
        PolicySet::evaluate(self, input, location).map_err(|e| e.to_string())
    }

    fn metas(&self) -> Vec<RuleMeta> {
        PolicySet::metas(self)
    }

    fn meta_of(&self, finding: &Finding) -> RuleMeta {
        meta_from_finding(finding)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn set(src: &str, ns: &[&str]) -> PolicySet {
        let ns: Vec<String> = ns.iter().map(|s| s.to_string()).collect();
        from_sources(vec![("p.rego".into(), src.into())], &ns).unwrap()
    }

    fn loc() -> Location {
        Location::file("x.yaml", None)
    }

    #[test]
    fn v0_and_v1_syntax() {
        let v0 = set(
            "package main\ndeny[msg] { input.a == 1; msg := \"a is one\" }\n",
            &[],
        );
        let f = v0.evaluate(&json!({"a": 1}), &loc()).unwrap();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].message, "a is one");
        assert_eq!(f[0].severity, Severity::High);
        let v1 = set(
            "package main\nwarn contains msg if { input.a == 1; msg := \"w\" }\n",
            &[],
        );
        let f = v1.evaluate(&json!({"a": 1}), &loc()).unwrap();
        assert_eq!(f[0].rule_id, "policy/main/warn");
        assert_eq!(f[0].severity, Severity::Medium);
        assert!(v1.evaluate(&json!({"a": 2}), &loc()).unwrap().is_empty());
    }

    #[test]
    fn prefixes_namespaces_and_metadata() {
        let src = r#"package k8s.extra
deny_latest contains {"msg": "latest tag", "severity": "critical", "id": "no-latest", "title": "No latest"} if { input.tag == "latest" }
violation contains "v" if { input.tag == "latest" }
denylist := 1
"#;
        // Not in `main`: nothing runs by default.
        assert!(set(src, &[]).entries().is_empty());
        let s = set(src, &["k8s.extra"]);
        let rules: Vec<&str> = s.entries().iter().map(|e| e.rule.as_str()).collect();
        assert_eq!(rules, vec!["deny_latest", "violation"]);
        let f = s.evaluate(&json!({"tag": "latest"}), &loc()).unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].rule_id, "policy/no-latest");
        assert_eq!(f[0].severity, Severity::Critical);
        assert_eq!(f[0].title, "No latest");
        assert_eq!(f[1].rule_id, "policy/k8s.extra/violation");
        assert_eq!(set(src, &["*"]).entries().len(), 2);
    }

    #[test]
    fn parse_error_names_file_and_line() {
        let err = from_sources(
            vec![(
                "bad.rego".into(),
                "package main\n\ndeny contains msg if {\n".into(),
            )],
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("bad.rego"), "{err}");
        assert!(err.contains(":3:") || err.contains(":4:"), "{err}");
    }

    #[test]
    fn runaway_policy_is_bounded() {
        let mut s = set(
            "package main\ndeny contains x if { some i in numbers.range(1, 30000); some j in numbers.range(1, 30000); x := i * j; x < 0 }\n",
            &[],
        );
        s.set_time_limit(Duration::from_millis(200));
        let t = std::time::Instant::now();
        let r = s.evaluate(&json!({}), &loc());
        assert!(r.is_err(), "expected a time-limit error");
        assert!(t.elapsed() < Duration::from_secs(10));
    }

    /// Issue 13: a message `id` outside `policy/` could claim a built-in rule id, and the
    /// admission webhook inferred warn/deny from the id's spelling.
    #[test]
    fn custom_ids_stay_in_the_policy_namespace_and_kinds_are_typed() {
        let s = set(
            r#"package main
deny contains {"msg": "d", "id": "k8s/pss-privileged"} if input.a
deny contains {"msg": "d2", "id": "warn-me"} if input.a
warn contains {"msg": "w", "id": "secret/aws-access-key"} if input.a
warn contains {"msg": "w2", "rule": "policy/own"} if input.a
"#,
            &[],
        );
        let f = s.evaluate_until(&json!({"a": true}), &loc(), None).unwrap();
        let got: Vec<(EntryKind, &str)> = f
            .iter()
            .map(|p| (p.kind, p.finding.rule_id.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (EntryKind::Deny, "policy/k8s/pss-privileged"),
                (EntryKind::Deny, "policy/warn-me"),
                (EntryKind::Warn, "policy/secret/aws-access-key"),
                (EntryKind::Warn, "policy/own"),
            ]
        );
        assert!(f
            .iter()
            .all(|p| meta_from_finding(&p.finding).area == "policy"));
        assert_eq!(f[2].finding.properties["kind"], "warn");
    }

    /// Issue 13: every entry rule got the whole time limit, so N slow rules took N times
    /// it; now they share it, and a caller's earlier deadline wins.
    #[test]
    fn entry_rules_share_one_time_limit() {
        let slow = "some i in numbers.range(1, 30000); some j in numbers.range(1, 30000); x := i * j; x < 0";
        let mut s = set(
            &format!("package main\ndeny contains x if {{ {slow} }}\ndeny_b contains x if {{ {slow} }}\nwarn contains x if {{ {slow} }}\n"),
            &[],
        );
        s.set_time_limit(Duration::from_millis(300));
        let t = std::time::Instant::now();
        let err = s.evaluate(&json!({}), &loc()).unwrap_err();
        assert!(matches!(err, PolicyError::TimeLimit { .. }), "{err}");
        assert!(err.to_string().contains("time limit"), "{err}");
        let took = t.elapsed();
        assert!(took < Duration::from_millis(550), "{took:?}");
        s.set_time_limit(Duration::from_secs(5));
        let t = std::time::Instant::now();
        let deadline = t + Duration::from_millis(150);
        let err = s
            .evaluate_until(&json!({}), &loc(), Some(deadline))
            .unwrap_err();
        assert!(matches!(err, PolicyError::TimeLimit { .. }), "{err}");
        assert!(
            t.elapsed() < Duration::from_millis(400),
            "{:?}",
            t.elapsed()
        );
    }

    #[test]
    fn unit_tests_run() {
        let s = set(
            "package main\ndeny contains \"x\" if input.x\ntest_fires if { count(deny) == 1 with input as {\"x\": true} }\ntest_fails if { count(deny) == 2 with input as {\"x\": true} }\n",
            &[],
        );
        let r = s.run_tests();
        assert_eq!(r.len(), 2);
        assert!(r
            .iter()
            .any(|t| t.name == "data.main.test_fires" && t.passed));
        assert!(r
            .iter()
            .any(|t| t.name == "data.main.test_fails" && !t.passed));
    }

    #[test]
    fn is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<PolicySet>();
    }
}
