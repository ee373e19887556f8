//! Falco rules files: `rule`, `macro`, `list`, `required_engine_version` and
//! `required_plugin_versions` items; `append: true` and `override:` forms; several files
//! loaded in order, later ones changing earlier definitions.
//!
//! Loading only collects definitions (like Falco's rule collector); [`crate::Engine`]
//! compiles them once every file is in.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;

use crate::yaml::{self, Node, Pos};

/// Falco's priorities, most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Priority {
    /// Emergency.
    Emergency,
    /// Alert.
    Alert,
    /// Critical.
    Critical,
    /// Error.
    Error,
    /// Warning.
    Warning,
    /// Notice.
    Notice,
    /// Informational.
    Informational,
    /// Debug.
    Debug,
}

impl Priority {
    /// Parse a priority as rules files write it (case-insensitive; `info` accepted).
    pub fn parse(s: &str) -> Option<Priority> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "emergency" => Priority::Emergency,
            "alert" => Priority::Alert,
            "critical" => Priority::Critical,
            "error" => Priority::Error,
            "warning" | "warn" => Priority::Warning,
            "notice" => Priority::Notice,
            "informational" | "info" => Priority::Informational,
            "debug" => Priority::Debug,
            _ => return None,
        })
    }

    /// The name as Falco prints it in alerts (`Warning`, `Informational`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Emergency => "Emergency",
            Priority::Alert => "Alert",
            Priority::Critical => "Critical",
            Priority::Error => "Error",
            Priority::Warning => "Warning",
            Priority::Notice => "Notice",
            Priority::Informational => "Informational",
            Priority::Debug => "Debug",
        }
    }

    /// Whether this priority is at least as severe as `min`.
    pub fn at_least(self, min: Priority) -> bool {
        self <= min
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a definition came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The file (as given).
    pub file: Arc<str>,
    /// The position in it.
    pub pos: Pos,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Line 0: the whole file or directory (cannot read it, skipped, nothing in it).
        if self.pos.line == 0 {
            return write!(f, "{}", self.file);
        }
        write!(f, "{}:{}:{}", self.file, self.pos.line, self.pos.column)
    }
}

/// A rules-file error, pointing at `file:line:column`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}: {}{message}", context.as_deref().map(|c| format!("{c}: ")).unwrap_or_default())]
pub struct LoadError {
    /// Where.
    pub origin: Origin,
    /// Which item (`rule 'X'`, `macro 'y'`).
    pub context: Option<String>,
    /// What went wrong (and what was expected).
    pub message: String,
}

/// Several load or compile errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
pub struct LoadErrors(pub Vec<LoadError>);

/// A value of an exception: a scalar or a list (for `in`-style comparisons or tuples).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExcValue {
    /// One value.
    Scalar(String),
    /// A list of values.
    List(Vec<ExcValue>),
}

/// One or several strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OneOrMany {
    /// A single string.
    One(String),
    /// A list.
    Many(Vec<String>),
}

/// A rule exception (Falco's `exceptions:` entries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExceptionDef {
    /// Its name.
    pub name: String,
    /// The fields compared.
    pub fields: Option<OneOrMany>,
    /// The comparison operators (default `=` per field, or `in` for a single field).
    pub comps: Option<OneOrMany>,
    /// The values (tuples when `fields` is a list).
    pub values: Vec<ExcValue>,
    /// Where it was defined.
    pub origin: Origin,
}

/// A rule as collected from the files.
#[derive(Debug, Clone)]
pub struct RuleDef {
    /// Name (unique).
    pub name: String,
    /// Description.
    pub desc: String,
    /// Condition text (with appends).
    pub condition: String,
    /// Output format.
    pub output: String,
    /// Priority.
    pub priority: Priority,
    /// Event source (`syscall` when not given).
    pub source: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Whether enabled.
    pub enabled: bool,
    /// Exceptions.
    pub exceptions: Vec<ExceptionDef>,
    /// Where it was (first) defined.
    pub origin: Origin,
    /// Where its condition was (last) written.
    pub condition_origin: Origin,
    /// Where each piece of the condition was written: (byte offset in `condition`, origin
    /// of that piece), one per definition or append.
    pub condition_parts: Vec<(usize, Origin)>,
    /// `skip-if-unknown-filter: true`: a condition using an unknown field disables the
    /// rule instead of failing the load.
    pub skip_if_unknown_filter: bool,
}

/// A macro as collected.
#[derive(Debug, Clone)]
pub struct MacroDef {
    /// Name.
    pub name: String,
    /// Condition text (with appends).
    pub condition: String,
    /// Where.
    pub origin: Origin,
    /// Where each piece of the condition was written (see [`RuleDef::condition_parts`]).
    pub condition_parts: Vec<(usize, Origin)>,
}

/// A list as collected.
#[derive(Debug, Clone)]
pub struct ListDef {
    /// Name.
    pub name: String,
    /// Items (which may name other lists).
    pub items: Vec<String>,
    /// Where.
    pub origin: Origin,
}

/// A `required_plugin_versions` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginRequirement {
    /// Plugin name.
    pub name: String,
    /// Minimum version.
    pub version: String,
    /// Alternative plugins that satisfy it (name, version).
    pub alternatives: Vec<(String, String)>,
}

/// Everything collected from one or more rules files, in load order.
#[derive(Debug, Clone, Default)]
pub struct Ruleset {
    /// Rules, in order of first definition.
    pub rules: Vec<RuleDef>,
    /// Macros.
    pub macros: Vec<MacroDef>,
    /// Lists.
    pub lists: Vec<ListDef>,
    /// The highest `required_engine_version` seen.
    pub required_engine_version: Option<String>,
    /// Every `required_plugin_versions` entry.
    pub required_plugin_versions: Vec<PluginRequirement>,
    /// Non-fatal problems (unknown keys, legacy forms).
    pub warnings: Vec<LoadError>,
    /// The files loaded, in order.
    pub files: Vec<String>,
    /// Rule, macro and list items read (definitions, appends and overrides alike).
    items: usize,
    sources: HashMap<Arc<str>, Arc<str>>,
    rule_idx: HashMap<String, usize>,
    macro_idx: HashMap<String, usize>,
    list_idx: HashMap<String, usize>,
}

const RULE_KEYS: &[&str] = &[
    "rule",
    "desc",
    "condition",
    "output",
    "priority",
    "source",
    "tags",
    "enabled",
    "exceptions",
    "append",
    "override",
    "warn_evttypes",
    "skip-if-unknown-filter",
    "capture",
    "capture_duration",
];

impl Ruleset {
    /// An empty ruleset.
    pub fn new() -> Ruleset {
        Ruleset::default()
    }

    /// Load Rampart's built-in rules ([`crate::DEFAULT_RULES`]).
    pub fn load_builtin(&mut self) -> Result<(), LoadError> {
        self.load_str(crate::DEFAULT_RULES_NAME, crate::DEFAULT_RULES)
    }

    /// Load a rules file, or a directory the way Falco reads one (`-r DIR`, a
    /// `rules_files` entry): the files directly in it, in name order (byte order, so
    /// `00-base.yaml` before `10-local.yaml`); Falco does not descend into
    /// subdirectories and neither does this. Entries that are not `*.yaml`/`*.yml`
    /// files, hidden files (`.name`) and subdirectories are skipped, each named in
    /// [`Ruleset::warnings`]. A path that yields no rule, macro or list (an empty file, a
    /// directory without rules files) is an error: it was meant to add rules and adds
    /// nothing.
    pub fn load_path(&mut self, path: &Path) -> Result<(), LoadError> {
        /// More entries than this in a rules directory is an error, not a long walk.
        const MAX_DIR_ENTRIES: usize = 10_000;
        let at = |f: &Path, m: String| LoadError {
            origin: Origin {
                file: Arc::from(f.display().to_string()),
                pos: Pos::default(),
            },
            context: None,
            message: m,
        };
        let before = self.items;
        if path.is_dir() {
            let mut files = Vec::new();
            let mut skipped = Vec::new();
            let entries = std::fs::read_dir(path)
                .map_err(|e| at(path, format!("cannot read directory: {e}")))?;
            for (n, e) in entries.enumerate() {
                if n >= MAX_DIR_ENTRIES {
                    return Err(at(
                        path,
                        format!("more than {MAX_DIR_ENTRIES} entries in a rules directory"),
                    ));
                }
                let e = e.map_err(|e| at(path, format!("cannot read directory: {e}")))?;
                let p = e.path();
                let name = e.file_name().to_string_lossy().into_owned();
                let yaml = p.extension().is_some_and(|x| x == "yaml" || x == "yml");
                // `is_dir`/`is_file` follow symlinks: `rules.d/x.yaml -> ../rules.available/x.yaml`.
                let why = if name.starts_with('.') {
                    Some("hidden file")
                } else if p.is_dir() {
                    Some("subdirectory (Falco does not load subdirectories)")
                } else if !p.is_file() {
                    Some("not a regular file")
                } else if !yaml {
                    Some("not a .yaml/.yml file")
                } else {
                    None
                };
                match why {
                    Some(w) => skipped.push((p, w)),
                    None => files.push(p),
                }
            }
            files.sort();
            skipped.sort();
            for (p, why) in &skipped {
                self.warnings
                    .push(at(p, format!("skipped: {why}, not loaded as rules")));
            }
            if files.is_empty() {
                let names: Vec<String> = skipped
                    .iter()
                    .filter_map(|(p, _)| p.file_name())
                    .map(|n| n.to_string_lossy().into_owned())
                    .collect();
                return Err(at(
                    path,
                    if names.is_empty() {
                        "empty rules directory: no *.yaml/*.yml file to load".to_string()
                    } else {
                        format!(
                            "no *.yaml/*.yml rules file directly in this directory \
                             (skipped: {})",
                            names.join(", ")
                        )
                    },
                ));
            }
            for f in files {
                let text = std::fs::read_to_string(&f)
                    .map_err(|e| at(&f, format!("cannot read file: {e}")))?;
                self.load_text(&f.display().to_string(), &text, true)?;
            }
        } else {
            let text = std::fs::read_to_string(path)
                .map_err(|e| at(path, format!("cannot read file: {e}")))?;
            self.load_str(&path.display().to_string(), &text)?;
        }
        if self.items == before {
            return Err(at(
                path,
                "no k8s_audit rule (no rule, macro or list at all) loaded from it: it adds nothing"
                    .to_string(),
            ));
        }
        Ok(())
    }

    /// Load rules from text; `name` is used in error messages.
    pub fn load_str(&mut self, name: &str, text: &str) -> Result<(), LoadError> {
        self.load_text(name, text, false)
    }

    /// `in_dir`: the file was found by walking a directory, so a Kubernetes object in it
    /// (an audit `Policy` kept beside the rules) is skipped with a warning.
    fn load_text(&mut self, name: &str, text: &str, in_dir: bool) -> Result<(), LoadError> {
        let file: Arc<str> = Arc::from(name);
        let docs = yaml::parse(text).map_err(|e| LoadError {
            origin: Origin {
                file: file.clone(),
                pos: e.pos,
            },
            context: None,
            message: format!("invalid YAML: {}", e.message),
        })?;
        if in_dir
            && docs
                .iter()
                .any(|d| d.get("kind").is_some() && d.get("apiVersion").is_some())
        {
            self.warnings.push(LoadError {
                origin: Origin {
                    file,
                    pos: Pos::default(),
                },
                context: None,
                message: "a Kubernetes object, not a rules file; skipped".into(),
            });
            return Ok(());
        }
        self.files.push(name.to_string());
        self.sources.insert(file.clone(), Arc::from(text));
        for doc in docs {
            if doc.is_null() {
                continue;
            }
            let Some(items) = doc.as_seq() else {
                return Err(LoadError {
                    origin: Origin {
                        file: file.clone(),
                        pos: doc.pos,
                    },
                    context: None,
                    message: format!(
                        "expected a sequence of rules, macros and lists, found a {}",
                        doc.type_name()
                    ),
                });
            };
            for item in items {
                self.load_item(&file, item)?;
            }
        }
        Ok(())
    }

    fn load_item(&mut self, file: &Arc<str>, item: &Node) -> Result<(), LoadError> {
        let origin = Origin {
            file: file.clone(),
            pos: item.pos,
        };
        if item.is_null() {
            return Ok(());
        }
        if item.as_map().is_none() {
            return Err(LoadError {
                origin,
                context: None,
                message: format!(
                    "expected a mapping (rule, macro, list, required_engine_version, ...), found a {}",
                    item.type_name()
                ),
            });
        }
        if let Some(v) = item.get("required_engine_version") {
            let v = v.as_str().unwrap_or_default().to_string();
            if self
                .required_engine_version
                .as_ref()
                .is_none_or(|cur| version_lt(cur, &v))
            {
                self.required_engine_version = Some(v);
            }
            return Ok(());
        }
        if let Some(v) = item.get("required_plugin_versions") {
            return self.load_plugin_versions(&origin, v);
        }
        if item.get("rule").is_some() {
            self.items += 1;
            return self.load_rule(origin, item);
        }
        if item.get("macro").is_some() {
            self.items += 1;
            return self.load_macro(origin, item);
        }
        if item.get("list").is_some() {
            self.items += 1;
            return self.load_list(origin, item);
        }
        let keys: Vec<&str> = item
            .as_map()
            .unwrap_or_default()
            .iter()
            .filter_map(|(k, _)| k.as_str())
            .collect();
        self.warnings.push(LoadError {
            origin,
            context: None,
            message: format!("unknown top-level item with keys {keys:?}; ignored"),
        });
        Ok(())
    }

    fn load_plugin_versions(&mut self, origin: &Origin, v: &Node) -> Result<(), LoadError> {
        let err = |pos: Pos, m: &str| LoadError {
            origin: Origin {
                file: origin.file.clone(),
                pos,
            },
            context: Some("required_plugin_versions".into()),
            message: m.to_string(),
        };
        let Some(seq) = v.as_seq() else {
            return Err(err(v.pos, "expected a sequence of {name, version}"));
        };
        for e in seq {
            let name = e.get("name").and_then(Node::as_str);
            let version = e.get("version").and_then(Node::as_str);
            let (Some(name), Some(version)) = (name, version) else {
                return Err(err(e.pos, "each entry needs 'name' and 'version'"));
            };
            let alternatives = e
                .get("alternatives")
                .and_then(Node::as_seq)
                .unwrap_or_default()
                .iter()
                .filter_map(|a| {
                    Some((
                        a.get("name")?.as_str()?.to_string(),
                        a.get("version")?.as_str()?.to_string(),
                    ))
                })
                .collect();
            self.required_plugin_versions.push(PluginRequirement {
                name: name.to_string(),
                version: version.to_string(),
                alternatives,
            });
        }
        Ok(())
    }

    fn load_list(&mut self, origin: Origin, item: &Node) -> Result<(), LoadError> {
        let name = req_str(item, "list", &origin, "list")?;
        let ctx = Some(format!("list '{name}'"));
        let err = |pos: Pos, m: String| LoadError {
            origin: Origin {
                file: origin.file.clone(),
                pos,
            },
            context: ctx.clone(),
            message: m,
        };
        self.warn_unknown_keys(
            item,
            &["list", "items", "append", "override"],
            &origin,
            &ctx,
        );
        let items = match item.get("items") {
            Some(n) if n.is_null() => Vec::new(),
            Some(n) => match n.as_seq() {
                Some(seq) => seq
                    .iter()
                    .map(|i| {
                        i.as_str().map(str::to_string).ok_or_else(|| {
                            err(
                                i.pos,
                                format!("list items must be scalars, found a {}", i.type_name()),
                            )
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?,
                None => {
                    return Err(err(
                        n.pos,
                        format!("'items' must be a sequence, found a {}", n.type_name()),
                    ))
                }
            },
            None => return Err(err(item.pos, "missing key 'items'".into())),
        };
        let mode = self.mode(item, &origin, &ctx, &["items"], &["items"])?;
        let existing = self.list_idx.get(&name).copied();
        match (mode, existing) {
            (Mode::Define, Some(i)) => {
                self.lists[i] = ListDef {
                    name,
                    items,
                    origin,
                };
            }
            (Mode::Define, None) => {
                self.list_idx.insert(name.clone(), self.lists.len());
                self.lists.push(ListDef {
                    name,
                    items,
                    origin,
                });
            }
            (Mode::Change(ch), Some(i)) => {
                let l = &mut self.lists[i];
                if ch.get("items") == Some(&true) {
                    l.items.extend(items);
                } else {
                    l.items = items;
                }
            }
            (Mode::Change(_), None) => {
                return Err(err(
                    item.pos,
                    "list has 'append'/'override' but no list by that name is defined yet".into(),
                ))
            }
        }
        Ok(())
    }

    fn load_macro(&mut self, origin: Origin, item: &Node) -> Result<(), LoadError> {
        let name = req_str(item, "macro", &origin, "macro")?;
        let ctx = Some(format!("macro '{name}'"));
        self.warn_unknown_keys(
            item,
            &["macro", "condition", "append", "override"],
            &origin,
            &ctx,
        );
        let cond = req_str(item, "condition", &origin, &format!("macro '{name}'"))?;
        let mode = self.mode(item, &origin, &ctx, &["condition"], &["condition"])?;
        let existing = self.macro_idx.get(&name).copied();
        let cond_origin = item
            .get("condition")
            .map(|n| Origin {
                file: origin.file.clone(),
                pos: n.pos,
            })
            .unwrap_or_else(|| origin.clone());
        let parts = vec![(0, cond_origin.clone())];
        match (mode, existing) {
            (Mode::Define, Some(i)) => {
                self.macros[i] = MacroDef {
                    name,
                    condition: cond,
                    origin,
                    condition_parts: parts,
                }
            }
            (Mode::Define, None) => {
                self.macro_idx.insert(name.clone(), self.macros.len());
                self.macros.push(MacroDef {
                    name,
                    condition: cond,
                    origin,
                    condition_parts: parts,
                });
            }
            (Mode::Change(ch), Some(i)) => {
                let m = &mut self.macros[i];
                if ch.get("condition") == Some(&true) {
                    m.condition_parts.push((m.condition.len() + 1, cond_origin));
                    m.condition = format!("{} {}", m.condition, cond);
                } else {
                    m.condition_parts = parts;
                    m.condition = cond;
                }
            }
            (Mode::Change(_), None) => {
                return Err(LoadError {
                    origin,
                    context: ctx,
                    message:
                        "macro has 'append'/'override' but no macro by that name is defined yet"
                            .into(),
                })
            }
        }
        Ok(())
    }

    fn load_rule(&mut self, origin: Origin, item: &Node) -> Result<(), LoadError> {
        let name = req_str(item, "rule", &origin, "rule")?;
        let ctx = Some(format!("rule '{name}'"));
        let err = |pos: Pos, m: String| LoadError {
            origin: Origin {
                file: origin.file.clone(),
                pos,
            },
            context: ctx.clone(),
            message: m,
        };
        self.warn_unknown_keys(item, RULE_KEYS, &origin, &ctx);
        let mode = self.mode(
            item,
            &origin,
            &ctx,
            &["condition", "output", "desc", "tags", "exceptions"],
            &[
                "condition",
                "output",
                "desc",
                "priority",
                "tags",
                "exceptions",
                "enabled",
                "warn_evttypes",
                "skip-if-unknown-filter",
                "source",
                "capture",
                "capture_duration",
            ],
        )?;
        let existing = self.rule_idx.get(&name).copied();
        let opt_str = |k: &str| -> Result<Option<String>, LoadError> {
            match item.get(k) {
                None => Ok(None),
                Some(n) if n.is_null() => Ok(Some(String::new())),
                Some(n) => n.as_str().map(|s| Some(s.to_string())).ok_or_else(|| {
                    err(
                        n.pos,
                        format!("'{k}' must be a string, found a {}", n.type_name()),
                    )
                }),
            }
        };
        let enabled = match item.get("enabled") {
            None => None,
            Some(n) => Some(
                n.as_bool()
                    .ok_or_else(|| err(n.pos, "'enabled' must be true or false".into()))?,
            ),
        };
        let tags = match item.get("tags") {
            None => None,
            Some(n) if n.is_null() => Some(Vec::new()),
            Some(n) => Some(
                n.as_seq()
                    .ok_or_else(|| err(n.pos, "'tags' must be a sequence".into()))?
                    .iter()
                    .filter_map(|t| t.as_str().map(str::to_string))
                    .collect::<Vec<_>>(),
            ),
        };
        let priority = match item.get("priority") {
            None => None,
            Some(n) => {
                let s = n.as_str().unwrap_or_default();
                Some(Priority::parse(s).ok_or_else(|| {
                    err(n.pos, format!("invalid priority '{s}' (expected emergency, alert, critical, error, warning, notice, informational or debug)"))
                })?)
            }
        };
        let exceptions = match item.get("exceptions") {
            None => None,
            Some(n) => Some(parse_exceptions(n, &origin.file).map_err(|(pos, m)| err(pos, m))?),
        };
        let condition = opt_str("condition")?;
        let cond_origin = item
            .get("condition")
            .map(|n| Origin {
                file: origin.file.clone(),
                pos: n.pos,
            })
            .unwrap_or_else(|| origin.clone());
        match (mode, existing) {
            (Mode::Change(ch), Some(i)) => {
                let r = &mut self.rules[i];
                let append = |k: &str| ch.get(k) == Some(&true);
                if let Some(c) = condition {
                    if append("condition") {
                        r.condition_parts
                            .push((r.condition.len() + 1, cond_origin.clone()));
                        r.condition = format!("{} {}", r.condition, c);
                    } else {
                        r.condition_parts = vec![(0, cond_origin.clone())];
                        r.condition = c;
                    }
                    r.condition_origin = cond_origin;
                }
                if let Some(o) = opt_str("output")? {
                    r.output = if append("output") {
                        format!("{} {}", r.output, o)
                    } else {
                        o
                    };
                }
                if let Some(d) = opt_str("desc")? {
                    r.desc = if append("desc") {
                        format!("{} {}", r.desc, d)
                    } else {
                        d
                    };
                }
                if let Some(p) = priority {
                    r.priority = p;
                }
                if let Some(t) = tags {
                    if append("tags") {
                        r.tags.extend(t);
                    } else {
                        r.tags = t;
                    }
                }
                if let Some(e) = enabled {
                    r.enabled = e;
                }
                if let Some(b) = item.get("skip-if-unknown-filter").and_then(Node::as_bool) {
                    r.skip_if_unknown_filter = b;
                }
                if let Some(s) = opt_str("source")? {
                    r.source = s;
                }
                if let Some(excs) = exceptions {
                    if append("exceptions") {
                        merge_exceptions(&mut r.exceptions, excs).map_err(|(p, m)| err(p, m))?;
                    } else {
                        r.exceptions = excs;
                    }
                }
            }
            (Mode::Change(_), None) => {
                return Err(err(
                    item.pos,
                    "rule has 'append'/'override' but no rule by that name is defined yet".into(),
                ))
            }
            (Mode::Define, existing) => {
                if condition.is_none() {
                    // Legacy form: `- rule: X` + `enabled: false` toggles an existing rule.
                    if let (Some(i), Some(e)) = (existing, enabled) {
                        self.rules[i].enabled = e;
                        self.warnings.push(LoadError {
                            origin: origin.clone(),
                            context: ctx.clone(),
                            message: "changing 'enabled' without 'override' is deprecated; use override: {enabled: replace}".into(),
                        });
                        return Ok(());
                    }
                    return Err(err(item.pos, "missing key 'condition'".into()));
                }
                let output = opt_str("output")?
                    .ok_or_else(|| err(item.pos, "missing key 'output'".into()))?;
                let priority =
                    priority.ok_or_else(|| err(item.pos, "missing key 'priority'".into()))?;
                let desc = opt_str("desc")?.unwrap_or_default();
                let rule = RuleDef {
                    name: name.clone(),
                    desc,
                    condition: condition.unwrap_or_default(),
                    output,
                    priority,
                    source: opt_str("source")?.unwrap_or_else(|| "syscall".into()),
                    tags: tags.unwrap_or_default(),
                    enabled: enabled.unwrap_or(true),
                    exceptions: exceptions.unwrap_or_default(),
                    origin: origin.clone(),
                    condition_parts: vec![(0, cond_origin.clone())],
                    condition_origin: cond_origin,
                    skip_if_unknown_filter: item
                        .get("skip-if-unknown-filter")
                        .and_then(Node::as_bool)
                        .unwrap_or(false),
                };
                match existing {
                    Some(i) => self.rules[i] = rule,
                    None => {
                        self.rule_idx.insert(name, self.rules.len());
                        self.rules.push(rule);
                    }
                }
            }
        }
        Ok(())
    }

    /// Decide between a plain definition and a change (`append: true` or `override:`).
    /// A change maps each changed key to whether it appends (true) or replaces (false).
    fn mode(
        &self,
        item: &Node,
        origin: &Origin,
        ctx: &Option<String>,
        appendable: &[&str],
        replaceable: &[&str],
    ) -> Result<Mode, LoadError> {
        let err = |pos: Pos, m: String| LoadError {
            origin: Origin {
                file: origin.file.clone(),
                pos,
            },
            context: ctx.clone(),
            message: m,
        };
        let append = match item.get("append") {
            None => false,
            Some(n) => n
                .as_bool()
                .ok_or_else(|| err(n.pos, "'append' must be true or false".into()))?,
        };
        let over = item.get("override");
        match (append, over) {
            (true, Some(o)) => Err(err(
                o.pos,
                "'override' and 'append: true' cannot be used together".into(),
            )),
            (true, None) => Ok(Mode::Change(
                appendable
                    .iter()
                    .map(|k| ((*k).to_string(), true))
                    .collect(),
            )),
            (false, None) => Ok(Mode::Define),
            (false, Some(o)) => {
                let Some(entries) = o.as_map() else {
                    return Err(err(
                        o.pos,
                        "'override' must be a mapping of key: append|replace".into(),
                    ));
                };
                let mut ch = HashMap::new();
                for (k, v) in entries {
                    let key = k.as_str().unwrap_or_default();
                    let how = v.as_str().unwrap_or_default();
                    let ok = match how {
                        "append" => appendable.contains(&key),
                        "replace" => replaceable.contains(&key),
                        _ => {
                            return Err(err(
                                v.pos,
                                format!(
                                "override of '{key}' must be 'append' or 'replace', found '{how}'"
                            ),
                            ))
                        }
                    };
                    if !ok {
                        return Err(err(
                            k.pos,
                            format!("key '{key}' cannot be overridden with '{how}'"),
                        ));
                    }
                    if item.get(key).is_none() {
                        return Err(err(
                            k.pos,
                            format!("override of '{key}' but the item has no '{key}' key"),
                        ));
                    }
                    ch.insert(key.to_string(), how == "append");
                }
                // Keys present but not named in `override:` are not allowed either.
                Ok(Mode::Change(ch))
            }
        }
    }

    fn warn_unknown_keys(
        &mut self,
        item: &Node,
        known: &[&str],
        origin: &Origin,
        ctx: &Option<String>,
    ) {
        for (k, _) in item.as_map().unwrap_or_default() {
            let key = k.as_str().unwrap_or_default();
            if !known.contains(&key) {
                self.warnings.push(LoadError {
                    origin: Origin {
                        file: origin.file.clone(),
                        pos: k.pos,
                    },
                    context: ctx.clone(),
                    message: format!("unknown key '{key}'; ignored"),
                });
            }
        }
    }

    /// The exact position of byte `offset` of a condition made of `parts` (see
    /// [`RuleDef::condition_parts`]), found by walking the YAML source from where the
    /// piece starts; `None` when the source cannot be aligned (escapes in a quoted scalar).
    pub fn locate(
        &self,
        parts: &[(usize, Origin)],
        condition: &str,
        offset: usize,
    ) -> Option<Origin> {
        let (start, origin) = parts.iter().rev().find(|(s, _)| *s <= offset)?;
        let text = self.sources.get(&origin.file)?;
        let piece = condition.get(*start..offset)?;
        // Byte index of the node in the source.
        let mut idx = 0;
        for _ in 1..origin.pos.line {
            idx += text.get(idx..)?.find('\n')? + 1;
        }
        let line = text.get(idx..)?;
        let col_bytes: usize = line
            .chars()
            .take(origin.pos.column.saturating_sub(1))
            .map(char::len_utf8)
            .sum();
        idx += col_bytes;
        let src = text.get(idx..)?;
        let mut it = src.char_indices().peekable();
        // Skip a block-scalar header (`>`, `|-`, …) or an opening quote.
        match src.chars().next() {
            Some('>') | Some('|') => {
                for (_, c) in it.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            Some('"') | Some('\'') => {
                it.next();
            }
            _ => {}
        }
        let skip_ws = |it: &mut std::iter::Peekable<std::str::CharIndices<'_>>| {
            while let Some((_, c)) = it.peek() {
                if c.is_whitespace() {
                    it.next();
                } else {
                    break;
                }
            }
        };
        for c in piece.chars().filter(|c| !c.is_whitespace()) {
            skip_ws(&mut it);
            match it.next() {
                Some((_, s)) if s == c => {}
                _ => return None,
            }
        }
        // At the end of the input, point just after the last token.
        if !condition.get(offset..).unwrap_or("").trim().is_empty() {
            skip_ws(&mut it);
        }
        let at = idx + it.peek().map_or(src.len(), |(i, _)| *i);
        let before = text.get(..at)?;
        let line_no = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before.get(line_start..)?.chars().count() + 1;
        Some(Origin {
            file: origin.file.clone(),
            pos: Pos {
                line: line_no,
                column,
            },
        })
    }

    /// Look up a rule by name.
    pub fn rule(&self, name: &str) -> Option<&RuleDef> {
        self.rule_idx.get(name).map(|i| &self.rules[*i])
    }

    /// Look up a macro by name.
    pub fn macro_def(&self, name: &str) -> Option<&MacroDef> {
        self.macro_idx.get(name).map(|i| &self.macros[*i])
    }

    /// Look up a list by name.
    pub fn list(&self, name: &str) -> Option<&ListDef> {
        self.list_idx.get(name).map(|i| &self.lists[*i])
    }
}

enum Mode {
    Define,
    Change(HashMap<String, bool>),
}

fn req_str(item: &Node, key: &str, origin: &Origin, what: &str) -> Result<String, LoadError> {
    match item.get(key) {
        Some(n) => match n.as_str() {
            Some(s) if !s.trim().is_empty() || key != what => Ok(s.to_string()),
            _ => Err(LoadError {
                origin: Origin {
                    file: origin.file.clone(),
                    pos: n.pos,
                },
                context: Some(what.to_string()),
                message: format!(
                    "'{key}' must be a non-empty string, found a {}",
                    n.type_name()
                ),
            }),
        },
        None => Err(LoadError {
            origin: origin.clone(),
            context: Some(what.to_string()),
            message: format!("missing key '{key}'"),
        }),
    }
}

fn one_or_many(n: &Node) -> Option<OneOrMany> {
    if let Some(s) = n.as_str() {
        return Some(OneOrMany::One(s.to_string()));
    }
    n.as_seq().map(|seq| {
        OneOrMany::Many(
            seq.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect(),
        )
    })
}

fn exc_value(n: &Node) -> ExcValue {
    match n.as_seq() {
        Some(seq) => ExcValue::List(seq.iter().map(exc_value).collect()),
        None => ExcValue::Scalar(n.as_str().unwrap_or_default().to_string()),
    }
}

fn parse_exceptions(n: &Node, file: &Arc<str>) -> Result<Vec<ExceptionDef>, (Pos, String)> {
    if n.is_null() {
        return Ok(Vec::new());
    }
    let seq = n
        .as_seq()
        .ok_or((n.pos, "'exceptions' must be a sequence".to_string()))?;
    let mut out = Vec::new();
    for e in seq {
        let name = e
            .get("name")
            .and_then(Node::as_str)
            .ok_or((e.pos, "each exception needs a 'name'".to_string()))?
            .to_string();
        for (k, _) in e.as_map().unwrap_or_default() {
            let key = k.as_str().unwrap_or_default();
            if !["name", "fields", "comps", "values"].contains(&key) {
                return Err((k.pos, format!("exception '{name}': unknown key '{key}'")));
            }
        }
        let values = match e.get("values") {
            None => Vec::new(),
            Some(v) if v.is_null() => Vec::new(),
            Some(v) => v
                .as_seq()
                .ok_or((
                    v.pos,
                    format!("exception '{name}': 'values' must be a sequence"),
                ))?
                .iter()
                .map(exc_value)
                .collect(),
        };
        out.push(ExceptionDef {
            name,
            fields: e.get("fields").and_then(one_or_many),
            comps: e.get("comps").and_then(one_or_many),
            values,
            origin: Origin {
                file: file.clone(),
                pos: e.pos,
            },
        });
    }
    Ok(out)
}

fn merge_exceptions(
    into: &mut Vec<ExceptionDef>,
    new: Vec<ExceptionDef>,
) -> Result<(), (Pos, String)> {
    for e in new {
        match into.iter_mut().find(|x| x.name == e.name) {
            Some(x) => x.values.extend(e.values),
            None => {
                if e.fields.is_none() {
                    return Err((
                        e.origin.pos,
                        format!("exception '{}' is new and needs 'fields'", e.name),
                    ));
                }
                into.push(e);
            }
        }
    }
    Ok(())
}

/// Compare dotted versions (`15` < `0.31.0` is false: plain integers are engine versions
/// of the old scheme and compare as `0.N.0`).
fn version_lt(a: &str, b: &str) -> bool {
    let parts = |s: &str| -> Vec<u64> {
        let v: Vec<u64> = s
            .split('.')
            .map(|p| p.trim().parse().unwrap_or(0))
            .collect();
        if v.len() == 1 {
            vec![0, v[0], 0]
        } else {
            v
        }
    };
    parts(a) < parts(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(files: &[&str]) -> Result<Ruleset, LoadError> {
        let mut rs = Ruleset::new();
        for (i, f) in files.iter().enumerate() {
            rs.load_str(&format!("f{i}.yaml"), f)?;
        }
        Ok(rs)
    }

    const BASE: &str = r#"
- required_engine_version: 15
- list: users
  items: [a, "b"]
- macro: m
  condition: ka.verb=get
- rule: R
  desc: d
  condition: m
  output: o %ka.user.name
  priority: WARNING
  source: k8s_audit
  tags: [k8s]
  exceptions:
    - name: e1
      fields: [ka.user.name]
      comps: [=]
      values: [[x]]
"#;

    #[test]
    fn append_and_override() {
        let rs = load(&[
            BASE,
            r#"
- list: users
  items: [c]
  append: true
- macro: m
  condition: or ka.verb=list
  append: true
- rule: R
  condition: and ka.user.name=z
  append: true
- rule: R
  priority: ERROR
  exceptions:
    - name: e1
      values: [[y]]
    - name: e2
      fields: ka.user.name
      values: [q]
  override:
    priority: replace
    exceptions: append
- list: users
  items: [only]
  override:
    items: replace
- required_engine_version: 0.31.0
"#,
        ])
        .unwrap();
        assert_eq!(rs.list("users").unwrap().items, ["only"]);
        assert_eq!(
            rs.macro_def("m").unwrap().condition,
            "ka.verb=get or ka.verb=list"
        );
        let r = rs.rule("R").unwrap();
        assert_eq!(r.condition, "m and ka.user.name=z");
        assert_eq!(r.priority, Priority::Error);
        assert_eq!(r.exceptions.len(), 2);
        assert_eq!(r.exceptions[0].values.len(), 2);
        assert_eq!(rs.required_engine_version.as_deref(), Some("0.31.0"));
    }

    #[test]
    fn redefinition_replaces_and_legacy_enable() {
        let rs = load(&[
            BASE,
            "- rule: R\n  enabled: false\n- macro: m\n  condition: ka.verb=create\n",
        ])
        .unwrap();
        assert!(!rs.rule("R").unwrap().enabled);
        assert_eq!(rs.macro_def("m").unwrap().condition, "ka.verb=create");
        assert_eq!(rs.warnings.len(), 1);
    }

    #[test]
    fn errors_point_at_file_line_column() {
        let e = load(&[BASE, "- list: nope\n  items: [x]\n  append: true\n"]).unwrap_err();
        assert_eq!(e.origin.file.as_ref(), "f1.yaml");
        assert_eq!(e.origin.pos.line, 1);
        assert!(
            e.to_string().starts_with("f1.yaml:1:3: list 'nope': "),
            "{e}"
        );
        let e = load(&["- rule: X\n  condition: a\n  output: o\n  priority: LOUD\n"]).unwrap_err();
        assert_eq!(
            e.origin.pos,
            Pos {
                line: 4,
                column: 13
            }
        );
        assert!(e.message.contains("invalid priority"));
        let e = load(&["- rule: X\n  condition: [a\n"]).unwrap_err();
        assert!(e.message.contains("invalid YAML"), "{e}");
        let e = load(&["- rule: X\n  condition: a\n  priority: INFO\n"]).unwrap_err();
        assert!(e.message.contains("'output'"));
        let e = load(&[
            BASE,
            "- rule: R\n  condition: x\n  append: true\n  override:\n    condition: append\n",
        ])
        .unwrap_err();
        assert!(e.message.contains("cannot be used together"));
        let e = load(&[
            BASE,
            "- rule: R\n  priority: INFO\n  override:\n    priority: append\n",
        ])
        .unwrap_err();
        assert!(e.message.contains("cannot be overridden"));
    }

    #[test]
    fn priorities_order() {
        assert!(Priority::Critical.at_least(Priority::Warning));
        assert!(!Priority::Notice.at_least(Priority::Warning));
        assert_eq!(Priority::parse("INFO"), Some(Priority::Informational));
    }
}
