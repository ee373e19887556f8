//! The secret-rule data format and its compilation.
//!
//! Built-in rules live in `rules/<provider>.yaml`, one file per provider, embedded at
//! build time. Each rule carries its metadata, a regex `pattern`, `keywords` for the
//! prefilter, an optional `entropy` threshold, allowlists, `examples` that must fire and
//! `negative_examples` that must not:
//!
//! ```yaml
//! provider: GitHub
//! rules:
//!   - id: secret/github-pat
//!     title: GitHub personal access token (classic)
//!     severity: critical
//!     description: A classic GitHub personal access token grants API access as its owner.
//!     remediation: Revoke the token at https://github.com/settings/tokens and use a secret store.
//!     keywords: [ghp_]
//!     pattern: '\b(ghp_[0-9a-zA-Z]{36})\b'
//!     entropy: 3.0
//!     peers: [gitleaks:github-pat, detect-secrets:github_token]
//!     examples: ['token = "ghp_1a2b3c4d5e6f7g8h9i0jklmnopqrstuvwxyz"']
//!     negative_examples: ['ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx']
//! ```

use crate::error::SecretsError;
use rampart_core::{RuleMeta, Severity};
use regex::bytes::{Regex, RegexBuilder};
use serde::Deserialize;

/// One provider file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    /// Provider name (tag added to every rule).
    pub provider: String,
    /// The rules.
    pub rules: Vec<RuleDef>,
}

/// One rule as written in YAML.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDef {
    /// `secret/<slug>`.
    pub id: String,
    /// One-line title.
    pub title: String,
    /// Severity.
    pub severity: Severity,
    /// What and why.
    pub description: String,
    /// How to fix.
    pub remediation: String,
    /// URLs.
    #[serde(default)]
    pub references: Vec<String>,
    /// Peer ids: `gitleaks:<id>`, `detect-secrets:<plugin>`, `trufflehog:<detector>`.
    #[serde(default)]
    pub peers: Vec<String>,
    /// Prefilter keywords (case-insensitive). Required for built-in rules.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// The regex (Rust `regex` syntax, RE2-compatible).
    pub pattern: String,
    /// Capture group holding the secret (default: 1 when the pattern has a group, else 0).
    pub secret_group: Option<usize>,
    /// Minimum Shannon entropy of the secret.
    pub entropy: Option<f64>,
    /// Only files whose path matches this regex.
    pub path: Option<String>,
    /// The pattern may span lines (private keys): search far past the keyword's line.
    #[serde(default)]
    pub multiline: bool,
    /// Require at least one digit in the secret (generic rules).
    #[serde(default)]
    pub require_digit: bool,
    /// Allowlist.
    #[serde(default)]
    pub allowlist: Option<AllowlistDef>,
    /// Texts that must fire.
    #[serde(default)]
    pub examples: Vec<ExampleDef>,
    /// Texts that must not fire.
    #[serde(default)]
    pub negative_examples: Vec<ExampleDef>,
}

/// An example: plain text, or text scanned as a file at `path`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ExampleDef {
    /// Text only.
    Text(String),
    /// Text scanned as a file named `path`.
    WithPath {
        /// The text.
        text: String,
        /// The file path it is scanned as.
        path: String,
    },
}

/// Allowlist as written in YAML.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowlistDef {
    /// Regexes; a match on `target` allows the finding.
    #[serde(default)]
    pub regexes: Vec<String>,
    /// `secret` (default), `match` or `line`.
    #[serde(default)]
    pub target: Option<String>,
    /// Words; a secret containing one (case-insensitive) is allowed.
    #[serde(default)]
    pub stopwords: Vec<String>,
    /// Path regexes.
    #[serde(default)]
    pub paths: Vec<String>,
}

/// What an allowlist regex is matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegexTarget {
    /// The secret (capture group).
    Secret,
    /// The whole regex match.
    Match,
    /// The whole line(s) of the match.
    Line,
}

/// How allowlist criteria combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// Any criterion allows.
    Or,
    /// Every given criterion must match.
    And,
}

/// A compiled allowlist.
#[derive(Debug, Clone)]
pub struct Allowlist {
    /// Description (gitleaks).
    pub description: Option<String>,
    /// How criteria combine.
    pub condition: Condition,
    /// Regexes.
    pub regexes: Vec<Regex>,
    /// Regex target.
    pub target: RegexTarget,
    /// Lower-cased stopwords.
    pub stopwords: Vec<String>,
    /// Path regexes.
    pub paths: Vec<Regex>,
    /// Commit ids (history scans).
    pub commits: Vec<String>,
}

impl Default for Allowlist {
    fn default() -> Self {
        Allowlist {
            description: None,
            condition: Condition::Or,
            regexes: Vec::new(),
            target: RegexTarget::Secret,
            stopwords: Vec::new(),
            paths: Vec::new(),
            commits: Vec::new(),
        }
    }
}

/// The parts of a candidate an allowlist looks at.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    /// The secret.
    pub secret: &'a [u8],
    /// The full regex match.
    pub full: &'a [u8],
    /// The line(s) containing the match.
    pub line: &'a [u8],
    /// File path (may be empty for stdin).
    pub path: &'a str,
    /// Commit id, in history scans.
    pub commit: Option<&'a str>,
}

impl Allowlist {
    /// Whether this allowlist allows (drops) the candidate.
    pub fn allows(&self, c: &Candidate<'_>) -> bool {
        let mut checks: Vec<bool> = Vec::with_capacity(4);
        if !self.commits.is_empty() {
            checks.push(
                c.commit
                    .is_some_and(|id| self.commits.iter().any(|k| k == id)),
            );
        }
        if !self.paths.is_empty() {
            checks.push(self.paths.iter().any(|r| r.is_match(c.path.as_bytes())));
        }
        if !self.regexes.is_empty() {
            let target = match self.target {
                RegexTarget::Secret => c.secret,
                RegexTarget::Match => c.full,
                RegexTarget::Line => c.line,
            };
            checks.push(self.regexes.iter().any(|r| r.is_match(target)));
        }
        if !self.stopwords.is_empty() {
            let lower = String::from_utf8_lossy(c.secret).to_ascii_lowercase();
            checks.push(self.stopwords.iter().any(|w| lower.contains(w.as_str())));
        }
        match self.condition {
            Condition::Or => checks.iter().any(|b| *b),
            Condition::And => !checks.is_empty() && checks.iter().all(|b| *b),
        }
    }
}

/// A rule ready to run.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    /// Metadata (registry, reports).
    pub meta: RuleMeta,
    /// The regex; `None` for path-only rules (gitleaks allows them).
    pub regex: Option<Regex>,
    /// Capture group of the secret (0 = whole match; `None` = first non-empty group, or
    /// the whole match when the pattern has no group, as gitleaks does).
    pub secret_group: Option<usize>,
    /// Minimum entropy.
    pub entropy: Option<f64>,
    /// Lower-cased keywords; empty means the rule runs on every file.
    pub keywords: Vec<String>,
    /// Path filter.
    pub path: Option<Regex>,
    /// Search far beyond the keyword's line.
    pub multiline: bool,
    /// Require a digit in the secret.
    pub require_digit: bool,
    /// Drop obvious placeholders (built-in rules; off for imported gitleaks rules).
    pub placeholders: bool,
    /// Allowlists; any that allows drops the candidate.
    pub allowlists: Vec<Allowlist>,
    /// Examples that must fire: (text, path).
    pub examples: Vec<(String, Option<String>)>,
    /// Examples that must not fire.
    pub negative_examples: Vec<(String, Option<String>)>,
    /// Where the rule was defined.
    pub source: String,
}

/// A set of rules plus the allowlists that apply to all of them.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    /// The rules.
    pub rules: Vec<CompiledRule>,
    /// Global allowlists (gitleaks `[allowlist]`).
    pub global_allowlists: Vec<Allowlist>,
}

/// Compile a regex the way every rule does: multi-line `^`/`$` off (as gitleaks/RE2) and
/// ASCII classes (`\w`, `\d`, `\s`, `\b`, `(?i)` are ASCII-only, as in RE2 by default),
/// which keeps the automata small: Unicode `\w{0,50}` alone compiles to megabytes. A
/// pattern that needs Unicode (a `\p{..}` class) falls back to Unicode mode.
pub fn compile_regex(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern)
        .unicode(false)
        .size_limit(32 << 20)
        .build()
        .or_else(|_| RegexBuilder::new(pattern).size_limit(64 << 20).build())
}

fn to_example(e: ExampleDef) -> (String, Option<String>) {
    match e {
        ExampleDef::Text(t) => (t, None),
        ExampleDef::WithPath { text, path } => (text, Some(path)),
    }
}

impl RuleSet {
    /// The built-in rules.
    pub fn builtin() -> Result<RuleSet, SecretsError> {
        let mut set = RuleSet::default();
        for (name, text) in crate::BUILTIN_RULE_FILES {
            set.rules.extend(load_yaml(text, name)?);
        }
        set.check_unique()?;
        Ok(set)
    }

    /// Append rules, rejecting duplicate ids.
    pub fn merge(&mut self, other: RuleSet) -> Result<(), SecretsError> {
        self.rules.extend(other.rules);
        self.global_allowlists.extend(other.global_allowlists);
        self.check_unique()
    }

    fn check_unique(&self) -> Result<(), SecretsError> {
        let mut seen = std::collections::HashSet::new();
        for r in &self.rules {
            if !seen.insert(r.meta.id.as_str()) {
                return Err(SecretsError::Rule {
                    file: r.source.clone(),
                    rule: r.meta.id.clone(),
                    message: "duplicate rule id".into(),
                });
            }
        }
        Ok(())
    }

    /// Remove rules whose id equals or glob-matches one of `patterns`.
    pub fn disable(&mut self, patterns: &[String]) {
        let globs: Vec<globset::GlobMatcher> = patterns
            .iter()
            .filter_map(|p| globset::Glob::new(p).ok().map(|g| g.compile_matcher()))
            .collect();
        self.rules.retain(|r| {
            !patterns.iter().any(|p| p == &r.meta.id)
                && !globs.iter().any(|g| g.is_match(&r.meta.id))
        });
    }

    /// The rules a scan runs: the built-in rules (unless `with_builtin` is false) plus
    /// every rule file (gitleaks TOML by the `.toml` extension, else Rampart YAML). A
    /// rule file adds rules; a rule with a built-in rule's id overrides that one, and an
    /// id defined by two files is an error. A gitleaks file with `[extend] useDefault = true` carries its own
    /// version of the built-in rules (extended, some disabled): that version takes their
    /// place. Without built-in rules and without files there is nothing to scan with,
    /// which is an error.
    pub fn load(files: &[std::path::PathBuf], with_builtin: bool) -> Result<RuleSet, SecretsError> {
        let builtin = RuleSet::builtin()?;
        if !with_builtin && files.is_empty() {
            return Err(SecretsError::RuleFile {
                file: "<rules>".into(),
                line: None,
                message: "no rules: built-in rules are off and no rule file was given".into(),
            });
        }
        let builtin_ids: std::collections::HashSet<String> =
            builtin.rules.iter().map(|r| r.meta.id.clone()).collect();
        let mut set = if with_builtin {
            builtin.clone()
        } else {
            RuleSet::default()
        };
        for f in files {
            let name = f.display().to_string();
            let is_toml = f
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("toml"));
            let loaded = if is_toml {
                crate::gitleaks::load_file(f, Some(&builtin))?
            } else {
                let text = std::fs::read_to_string(f).map_err(|e| SecretsError::RuleFile {
                    file: name.clone(),
                    line: None,
                    message: format!("cannot read: {e}"),
                })?;
                RuleSet {
                    rules: load_yaml(&text, &name)?,
                    global_allowlists: Vec::new(),
                }
            };
            let from_builtin = |r: &CompiledRule| {
                builtin
                    .rules
                    .iter()
                    .any(|b| b.meta.id == r.meta.id && b.source == r.source)
            };
            if is_toml && loaded.rules.iter().any(from_builtin) {
                // `useDefault`: this file's version of the built-ins replaces them.
                set.rules.retain(|r| !builtin_ids.contains(&r.meta.id));
            } else {
                // A file's rule with a built-in rule's id overrides that built-in.
                let ids: std::collections::HashSet<&str> =
                    loaded.rules.iter().map(|r| r.meta.id.as_str()).collect();
                set.rules.retain(|r| {
                    !(builtin_ids.contains(&r.meta.id) && ids.contains(r.meta.id.as_str()))
                });
            }
            set.merge(loaded)?;
        }
        Ok(set)
    }

    /// Metadata of every rule.
    pub fn metas(&self) -> impl Iterator<Item = &RuleMeta> {
        self.rules.iter().map(|r| &r.meta)
    }
}

/// Load a Rampart YAML rule file (`name` is used in errors).
pub fn load_yaml(text: &str, name: &str) -> Result<Vec<CompiledRule>, SecretsError> {
    let file: RuleFile = rampart_yaml::from_str(text).map_err(|e| SecretsError::RuleFile {
        file: name.to_string(),
        line: e.line,
        message: e.message,
    })?;
    file.rules
        .into_iter()
        .map(|def| compile_def(def, &file.provider, name))
        .collect()
}

fn compile_def(def: RuleDef, provider: &str, file: &str) -> Result<CompiledRule, SecretsError> {
    let err = |message: String| SecretsError::Rule {
        file: file.to_string(),
        rule: def.id.clone(),
        message,
    };
    let regex = compile_regex(&def.pattern).map_err(|e| err(format!("bad pattern: {e}")))?;
    let secret_group = match def.secret_group {
        Some(g) if g >= regex.captures_len() => {
            return Err(err(format!(
                "secret_group {g} but the pattern has {} groups",
                regex.captures_len() - 1
            )))
        }
        other => other,
    };
    if def.keywords.is_empty() {
        return Err(err("built-in rules need at least one keyword".into()));
    }
    let path = def
        .path
        .as_deref()
        .map(compile_regex)
        .transpose()
        .map_err(|e| err(format!("bad path regex: {e}")))?;
    let mut allowlists = Vec::new();
    if let Some(a) = def.allowlist {
        let target = match a.target.as_deref() {
            None | Some("secret") => RegexTarget::Secret,
            Some("match") => RegexTarget::Match,
            Some("line") => RegexTarget::Line,
            Some(o) => return Err(err(format!("unknown allowlist target `{o}`"))),
        };
        let regexes = a
            .regexes
            .iter()
            .map(|r| compile_regex(r))
            .collect::<Result<_, _>>()
            .map_err(|e| err(format!("bad allowlist regex: {e}")))?;
        let paths = a
            .paths
            .iter()
            .map(|r| compile_regex(r))
            .collect::<Result<_, _>>()
            .map_err(|e| err(format!("bad allowlist path: {e}")))?;
        allowlists.push(Allowlist {
            regexes,
            target,
            stopwords: a.stopwords.iter().map(|s| s.to_ascii_lowercase()).collect(),
            paths,
            ..Allowlist::default()
        });
    }
    let area = def.id.split('/').next().unwrap_or_default().to_string();
    if area != "secret" {
        return Err(err("secret rule ids start with `secret/`".into()));
    }
    let meta = RuleMeta {
        id: def.id.clone(),
        area,
        title: def.title,
        severity: def.severity,
        description: def.description.trim().to_string(),
        remediation: def.remediation.trim().to_string(),
        references: def.references,
        peers: def.peers,
        tags: vec![provider.to_string()],
    };
    if let Some(p) = meta.problems().into_iter().next() {
        return Err(err(p));
    }
    Ok(CompiledRule {
        meta,
        regex: Some(regex),
        secret_group,
        entropy: def.entropy,
        keywords: def
            .keywords
            .iter()
            .map(|k| k.to_ascii_lowercase())
            .collect(),
        path,
        multiline: def.multiline,
        require_digit: def.require_digit,
        placeholders: true,
        allowlists,
        examples: def.examples.into_iter().map(to_example).collect(),
        negative_examples: def.negative_examples.into_iter().map(to_example).collect(),
        source: file.to_string(),
    })
}
