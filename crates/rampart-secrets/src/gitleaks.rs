//! Import of gitleaks' TOML rule format.
//!
//! [`load_file`] and [`load_str`] read a gitleaks configuration (the format of
//! `.gitleaks.toml` / upstream `config/gitleaks.toml`) and turn it into a [`RuleSet`]
//! that the [`Engine`](crate::Engine) runs like the built-in rules.
//!
//! # Supported keys
//!
//! - `title`, `description`, `minVersion` (accepted, not used);
//! - `[extend]` with `useDefault`, `path` and `disabledRules`;
//! - `[[rules]]` with `id`, `description`, `regex`, `secretGroup`, `entropy`,
//!   `keywords`, `path`, `tags`, and `[[rules.allowlists]]` (or the older single
//!   `[rules.allowlist]`, not both);
//! - global `[[allowlists]]` (or the older `[allowlist]`, not both), which may carry
//!   `targetRules` to apply only to the listed rules;
//! - allowlists take `description`, `condition` (`OR`/`||`, the default, or `AND`/`&&`),
//!   `commits`, `paths`, `regexTarget` (`secret`, the default, `match` or `line`),
//!   `regexes` and `stopwords`.
//!
//! Keys are matched as gitleaks spells them (camelCase) or all lower-case (viper, which
//! gitleaks uses, is case-insensitive). Unknown keys are rejected instead of silently
//! ignored, so a typo such as `regexs` is reported. Composite rules
//! (`[[rules.required]]`, `skipReport = true`) and `extend.url` are rejected as
//! unsupported.
//!
//! # Validation (as gitleaks `Translate`/`Rule.Validate`)
//!
//! Rejected: a rule without `id`; a rule with neither `regex` nor `path` (after
//! extension, so a rule that only adds an allowlist to a base rule is fine); a
//! `secretGroup` larger than the regex's group count; an allowlist with none of
//! `commits`/`paths`/`regexes`/`stopwords`; an unknown `condition` or `regexTarget`;
//! both the old and the new allowlist form in one table; `targetRules` naming a rule that
//! does not exist; `useDefault` together with `path`; an `[extend] path` that cannot be
//! read; a regex that does not compile ([`SecretsError::Rule`] names the rule and
//! quotes the regex error). gitleaks does not check for `regex`/`path` in a
//! configuration that extends another; there, a new rule with neither (it could never
//! match) is left out instead of rejected.
//!
//! # Extension
//!
//! `[extend] path = "base.toml"` loads another gitleaks file. A relative path is looked
//! up beside the including file, then in each of that directory's ancestors (gitleaks
//! resolves it against the working directory, which is usually the repository root a
//! nested config lives under), then against the working directory. As in gitleaks,
//! extension is followed to a depth of 2 (the file, its base and the base's base); an
//! `[extend]` deeper than that is ignored, which also ends any cycle.
//!
//! `[extend] useDefault = true` extends the `base` rule set passed to
//! [`load_str`]/[`load_file`]. The CLI passes Rampart's built-in rules, so **Rampart's
//! built-in rules play the role of gitleaks' default configuration**. A gitleaks rule id
//! refers to a base rule whose `peers` include `gitleaks:<id>` (every imported rule has
//! that peer, and built-in rules list the gitleaks rule they correspond to).
//!
//! Merging follows gitleaks: a rule whose id matches a base rule is merged into it —
//! `description`, `regex`, `secretGroup`, `entropy` and `path` override when set, `tags`,
//! `keywords` and allowlists are appended; otherwise it is a new rule. `disabledRules`
//! removes base rules (by gitleaks id, or by Rampart id such as `secret/aws-access-key`).
//! Global allowlists are appended.
//!
//! # Imported rules
//!
//! A gitleaks rule `<id>` becomes the [`CompiledRule`] `secret/gitleaks.<id>` (id
//! lower-cased, characters outside `[a-z0-9._-]` replaced by `-`), so imported rules
//! never collide with built-in ids. Title: the first line of the description (or the
//! id); severity high (`generic*` rules: medium); peers `gitleaks:<id>`; tags from the
//! file. Matching follows gitleaks' detector: keywords are a case-insensitive prefilter
//! (no keywords: the rule runs on every buffer); the secret is `secretGroup`, or the
//! first non-empty capture group, or the whole match; a finding is dropped when its
//! Shannon entropy is `<=` the rule's `entropy` (an `entropy` of 0 means no check); rule
//! and global allowlists apply with their conditions. gitleaks has no placeholder or
//! digit heuristics, so neither is enabled for imported rules.
//!
//! # Go regular expressions
//!
//! gitleaks regexes are Go RE2. They are translated before compiling with the Rust
//! `regex` crate (see [`translate_go_regex`]): the Perl classes `\d \w \s` and `\b` are
//! ASCII-only in Go (they are Unicode-aware in Rust); a `{` that does not start a valid
//! repetition is a literal in Go; `[` inside a class is a literal in Go (Rust nests
//! classes) and `&&`/`~~` are not set operators; `\Q…\E` quoting, octal escapes and
//! `\<`/`\>` (literals in Go, word boundaries in Rust) are rewritten. Everything else is
//! the same syntax.

use crate::error::SecretsError;
use crate::rules::{compile_regex, Allowlist, CompiledRule, Condition, RegexTarget, RuleSet};
use rampart_core::{RuleMeta, Severity};
use regex::bytes::Regex;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// How deep `[extend]` is followed (gitleaks' `maxExtendDepth`).
const MAX_EXTEND_DEPTH: usize = 2;

/// Prefix of imported rule ids.
pub const ID_PREFIX: &str = "secret/gitleaks.";

/// Load a gitleaks configuration from a string. `name` is used in errors and rule
/// descriptions; when it names an existing file or directory, a relative
/// `[extend] path` is resolved from its directory (else from the working directory).
/// `base` is the rule set `[extend] useDefault = true` extends (the CLI passes the
/// built-in rules); without it, `useDefault` is an error.
pub fn load_str(text: &str, name: &str, base: Option<&RuleSet>) -> Result<RuleSet, SecretsError> {
    let p = Path::new(name);
    let dir = if p.is_dir() {
        Some(p.to_path_buf())
    } else {
        p.parent()
            .filter(|d| !d.as_os_str().is_empty() && d.is_dir())
            .map(Path::to_path_buf)
    };
    let level = load_level(text, name, dir.as_deref(), base, 0)?;
    finish(level, name)
}

/// Load a gitleaks configuration file (see [`load_str`]).
pub fn load_file(path: &Path, base: Option<&RuleSet>) -> Result<RuleSet, SecretsError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| SecretsError::RuleFile {
        file: name.clone(),
        line: None,
        message: format!("cannot read gitleaks config: {e}"),
    })?;
    let level = load_level(&text, &name, path.parent(), base, 0)?;
    finish(level, &name)
}

// ---------------------------------------------------------------------------------------
// The TOML model.

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct GlConfig {
    #[serde(default, rename = "title")]
    _title: Option<String>,
    #[serde(default, rename = "description")]
    _description: Option<String>,
    #[serde(default, rename = "minVersion", alias = "minversion")]
    _min_version: Option<String>,
    #[serde(default)]
    extend: Option<GlExtend>,
    #[serde(default)]
    rules: Vec<GlRule>,
    #[serde(default)]
    allowlist: Option<GlAllowlist>,
    #[serde(default)]
    allowlists: Vec<GlAllowlist>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct GlExtend {
    #[serde(default, rename = "useDefault", alias = "usedefault")]
    use_default: bool,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default, rename = "disabledRules", alias = "disabledrules")]
    disabled_rules: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct GlRule {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    regex: Option<String>,
    #[serde(default, rename = "secretGroup", alias = "secretgroup")]
    secret_group: Option<usize>,
    #[serde(default)]
    entropy: Option<f64>,
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    allowlist: Option<GlAllowlist>,
    #[serde(default)]
    allowlists: Vec<GlAllowlist>,
    #[serde(default)]
    required: Option<toml::Value>,
    #[serde(default, rename = "skipReport", alias = "skipreport")]
    skip_report: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct GlAllowlist {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    condition: Option<String>,
    #[serde(default)]
    commits: Vec<String>,
    #[serde(default)]
    paths: Vec<String>,
    #[serde(default, rename = "regexTarget", alias = "regextarget")]
    regex_target: Option<String>,
    #[serde(default)]
    regexes: Vec<String>,
    #[serde(default, alias = "stopWords")]
    stopwords: Vec<String>,
    #[serde(default, rename = "targetRules", alias = "targetrules")]
    target_rules: Vec<String>,
}

// ---------------------------------------------------------------------------------------
// Loading.

/// A rule of the file being loaded, as written (fields unset stay unset so they can be
/// merged into a base rule).
#[derive(Debug, Clone)]
struct Partial {
    id: String,
    description: String,
    regex: Option<(String, Regex)>,
    path: Option<Regex>,
    secret_group: usize,
    entropy: f64,
    keywords: Vec<String>,
    tags: Vec<String>,
    allowlists: Vec<Allowlist>,
    file: String,
}

/// A rule while configurations are merged.
#[derive(Debug, Clone)]
enum Work {
    /// Defined in a gitleaks file.
    Gl(Box<Partial>),
    /// Taken from the `useDefault` base set; `gl_ids` are its `gitleaks:` peers.
    Base {
        gl_ids: Vec<String>,
        rule: Box<CompiledRule>,
    },
}

impl Work {
    fn answers_to(&self, gl_id: &str) -> bool {
        match self {
            Work::Gl(p) => p.id == gl_id,
            Work::Base { gl_ids, .. } => gl_ids.iter().any(|g| g.eq_ignore_ascii_case(gl_id)),
        }
    }

    fn disabled_by(&self, id: &str) -> bool {
        self.answers_to(id)
            || match self {
                Work::Gl(p) => imported_id(&p.id) == id,
                Work::Base { rule, .. } => rule.meta.id == id,
            }
    }
}

/// One loaded configuration, merged with what it extends.
#[derive(Debug, Default)]
struct Level {
    rules: Vec<Work>,
    global: Vec<Allowlist>,
    /// Global allowlists with `targetRules`, resolved once everything is merged.
    targeted: Vec<(String, Allowlist)>,
    /// Whether this configuration extended another one.
    extended: bool,
}

fn file_err(file: &str, line: Option<usize>, message: impl Into<String>) -> SecretsError {
    SecretsError::RuleFile {
        file: file.to_string(),
        line,
        message: message.into(),
    }
}

fn rule_err(file: &str, rule: &str, message: impl Into<String>) -> SecretsError {
    SecretsError::Rule {
        file: file.to_string(),
        rule: rule.to_string(),
        message: message.into(),
    }
}

fn load_level(
    text: &str,
    name: &str,
    dir: Option<&Path>,
    base: Option<&RuleSet>,
    depth: usize,
) -> Result<Level, SecretsError> {
    let cfg: GlConfig = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| {
            text.as_bytes()[..s.start.min(text.len())]
                .iter()
                .filter(|b| **b == b'\n')
                .count()
                + 1
        });
        file_err(name, line, e.message().trim().to_string())
    })?;

    // Rules of this file; a later definition of an id replaces an earlier one.
    let mut partials: Vec<Partial> = Vec::new();
    for r in cfg.rules {
        let p = parse_rule(r, name)?;
        match partials.iter_mut().find(|q| q.id == p.id) {
            Some(q) => *q = p,
            None => partials.push(p),
        }
    }

    // Global allowlists.
    let mut lists = cfg.allowlists;
    if let Some(old) = cfg.allowlist {
        if !lists.is_empty() {
            return Err(file_err(
                name,
                None,
                "[allowlist] is deprecated, it cannot be used alongside [[allowlists]]",
            ));
        }
        lists.push(old);
    }
    let mut level = Level::default();
    for a in lists {
        let targets = a.target_rules.clone();
        let al =
            parse_allowlist(a).map_err(|m| file_err(name, None, format!("[[allowlists]] {m}")))?;
        if targets.is_empty() {
            level.global.push(al);
        } else {
            for t in targets {
                level.targeted.push((t, al.clone()));
            }
        }
    }

    // What this file extends.
    let mut disabled: Vec<String> = Vec::new();
    let mut parent = Level::default();
    if let Some(ext) = cfg.extend {
        if ext.url.as_deref().is_some_and(|u| !u.is_empty()) {
            return Err(file_err(
                name,
                None,
                "[extend] url is not supported (gitleaks does not implement it either)",
            ));
        }
        let path = ext.path.filter(|p| !p.is_empty());
        if depth < MAX_EXTEND_DEPTH {
            if ext.use_default && path.is_some() {
                return Err(file_err(
                    name,
                    None,
                    "unable to load config due to extend.path and extend.useDefault being set",
                ));
            }
            if ext.use_default {
                let Some(base) = base else {
                    return Err(file_err(
                        name,
                        None,
                        "[extend] useDefault = true but no default rule set was given to extend",
                    ));
                };
                parent = Level {
                    rules: base
                        .rules
                        .iter()
                        .map(|r| Work::Base {
                            gl_ids: gitleaks_peers(&r.meta),
                            rule: Box::new(r.clone()),
                        })
                        .collect(),
                    global: base.global_allowlists.clone(),
                    targeted: Vec::new(),
                    extended: false,
                };
                level.extended = true;
            } else if let Some(p) = path {
                let Some(file) = resolve_extend(dir, &p) else {
                    return Err(file_err(
                        name,
                        None,
                        format!("failed to load extended config `{p}`: file not found"),
                    ));
                };
                let ext_name = file.display().to_string();
                let ext_text = std::fs::read_to_string(&file).map_err(|e| {
                    file_err(
                        name,
                        None,
                        format!("failed to load extended config `{ext_name}`: {e}"),
                    )
                })?;
                parent = load_level(&ext_text, &ext_name, file.parent(), base, depth + 1)?;
                level.extended = true;
            }
            disabled = ext.disabled_rules;
        }
    }

    // Merge this file into what it extends.
    parent
        .rules
        .retain(|w| !disabled.iter().any(|d| w.disabled_by(d)));
    let mut fresh: Vec<Work> = Vec::new();
    for p in partials {
        let mut merged = false;
        for w in parent.rules.iter_mut().filter(|w| w.answers_to(&p.id)) {
            merge(w, &p);
            merged = true;
        }
        if !merged {
            fresh.push(Work::Gl(Box::new(p)));
        }
    }
    level.rules = parent.rules;
    level.rules.extend(fresh);
    level.global.extend(parent.global);
    level.targeted.extend(parent.targeted);
    Ok(level)
}

/// The `gitleaks:<id>` peers of a rule.
fn gitleaks_peers(meta: &RuleMeta) -> Vec<String> {
    meta.peers
        .iter()
        .filter_map(|p| p.strip_prefix("gitleaks:"))
        .map(str::to_string)
        .collect()
}

/// Find the file an `[extend] path` names (see the module docs).
fn resolve_extend(dir: Option<&Path>, p: &str) -> Option<PathBuf> {
    let rel = Path::new(p);
    if rel.is_absolute() {
        return rel.is_file().then(|| rel.to_path_buf());
    }
    if let Some(d) = dir {
        for a in d.ancestors() {
            let c = a.join(rel);
            if c.is_file() {
                return Some(c);
            }
        }
    }
    rel.is_file().then(|| rel.to_path_buf())
}

fn parse_rule(r: GlRule, file: &str) -> Result<Partial, SecretsError> {
    let id = r.id.unwrap_or_default().trim().to_string();
    let err = |m: String| rule_err(file, if id.is_empty() { "<no id>" } else { &id }, m);
    if r.required.is_some() {
        return Err(err(
            "composite rules ([[rules.required]]) are not supported".into(),
        ));
    }
    if r.skip_report {
        return Err(err("`skipReport` (composite rules) is not supported".into()));
    }
    let regex = match r.regex.filter(|s| !s.is_empty()) {
        Some(s) => {
            let re = compile_go(&s).map_err(|e| err(format!("bad regex `{s}`: {e}")))?;
            Some((s, re))
        }
        None => None,
    };
    let path = match r.path.filter(|s| !s.is_empty()) {
        Some(s) => Some(compile_go(&s).map_err(|e| err(format!("bad path regex `{s}`: {e}")))?),
        None => None,
    };
    let entropy = r.entropy.unwrap_or(0.0);
    if !entropy.is_finite() {
        return Err(err(format!("invalid entropy {entropy}")));
    }
    let mut lists = r.allowlists;
    if let Some(old) = r.allowlist {
        if !lists.is_empty() {
            return Err(err(
                "[rules.allowlist] is deprecated, it cannot be used alongside [[rules.allowlists]]"
                    .into(),
            ));
        }
        lists.push(old);
    }
    let mut allowlists = Vec::with_capacity(lists.len());
    for a in lists {
        if !a.target_rules.is_empty() {
            return Err(err(
                "[[rules.allowlists]] `targetRules` is only valid in global [[allowlists]]".into(),
            ));
        }
        allowlists.push(parse_allowlist(a).map_err(|m| err(format!("[[rules.allowlists]] {m}")))?);
    }
    Ok(Partial {
        description: r.description.unwrap_or_default().trim().to_string(),
        regex,
        path,
        secret_group: r.secret_group.unwrap_or(0),
        entropy,
        keywords: r.keywords.iter().map(|k| k.to_lowercase()).collect(),
        tags: r.tags,
        allowlists,
        file: file.to_string(),
        id,
    })
}

fn parse_allowlist(a: GlAllowlist) -> Result<Allowlist, String> {
    let condition = match a
        .condition
        .as_deref()
        .unwrap_or("")
        .to_ascii_uppercase()
        .as_str()
    {
        "AND" | "&&" => Condition::And,
        "" | "OR" | "||" => Condition::Or,
        _ => {
            return Err(format!(
                "unknown allowlist |condition| '{}' (expected 'and', 'or')",
                a.condition.unwrap_or_default()
            ))
        }
    };
    let target = match a.regex_target.as_deref().unwrap_or("") {
        "" | "secret" => RegexTarget::Secret,
        "match" => RegexTarget::Match,
        "line" => RegexTarget::Line,
        other => {
            return Err(format!(
                "unknown allowlist |regexTarget| '{other}' (expected 'match', 'line')"
            ))
        }
    };
    if a.commits.is_empty() && a.paths.is_empty() && a.regexes.is_empty() && a.stopwords.is_empty()
    {
        return Err(
            "must contain at least one check for: commits, paths, regexes, or stopwords".into(),
        );
    }
    let regexes = a
        .regexes
        .iter()
        .map(|r| compile_go(r).map_err(|e| format!("bad regex `{r}`: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let paths = a
        .paths
        .iter()
        .map(|r| compile_go(r).map_err(|e| format!("bad path regex `{r}`: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let mut commits: Vec<String> = a.commits.iter().map(|c| c.trim().to_lowercase()).collect();
    commits.sort();
    commits.dedup();
    let mut stopwords: Vec<String> = a.stopwords.iter().map(|s| s.to_lowercase()).collect();
    stopwords.sort();
    stopwords.dedup();
    Ok(Allowlist {
        description: a.description.filter(|d| !d.is_empty()),
        condition,
        regexes,
        target,
        stopwords,
        paths,
        commits,
    })
}

/// Merge `o` (a rule of the extending file) into the base rule `w`, as gitleaks does.
fn merge(w: &mut Work, o: &Partial) {
    match w {
        Work::Gl(b) => {
            if !o.description.is_empty() {
                b.description = o.description.clone();
            }
            if o.entropy != 0.0 {
                b.entropy = o.entropy;
            }
            if o.secret_group != 0 {
                b.secret_group = o.secret_group;
            }
            if o.regex.is_some() {
                b.regex = o.regex.clone();
            }
            if o.path.is_some() {
                b.path = o.path.clone();
            }
            b.tags.extend(o.tags.iter().cloned());
            b.keywords.extend(o.keywords.iter().cloned());
            b.allowlists.extend(o.allowlists.iter().cloned());
        }
        Work::Base { rule, .. } => {
            if !o.description.is_empty() {
                rule.meta.title = title_of(&o.description, &o.id);
                rule.meta.description = o.description.clone();
            }
            if o.entropy != 0.0 {
                rule.entropy = Some(o.entropy);
            }
            if o.secret_group != 0 {
                rule.secret_group = Some(o.secret_group);
            }
            if let Some((src, re)) = &o.regex {
                rule.regex = Some(re.clone());
                rule.multiline = looks_multiline(src);
            }
            if o.path.is_some() {
                rule.path = o.path.clone();
            }
            rule.meta.tags.extend(o.tags.iter().cloned());
            for k in &o.keywords {
                if !rule.keywords.contains(k) {
                    rule.keywords.push(k.clone());
                }
            }
            rule.allowlists.extend(o.allowlists.iter().cloned());
        }
    }
}

/// Resolve targeted allowlists, validate, and build the rule set.
fn finish(mut level: Level, name: &str) -> Result<RuleSet, SecretsError> {
    for (target, al) in std::mem::take(&mut level.targeted) {
        let mut found = false;
        for w in level.rules.iter_mut().filter(|w| w.answers_to(&target)) {
            found = true;
            match w {
                Work::Gl(p) => p.allowlists.push(al.clone()),
                Work::Base { rule, .. } => rule.allowlists.push(al.clone()),
            }
        }
        if !found {
            return Err(file_err(
                name,
                None,
                format!("[[allowlists]] target rule ID '{target}' does not exist"),
            ));
        }
    }
    let mut set = RuleSet {
        rules: Vec::with_capacity(level.rules.len()),
        global_allowlists: level.global,
    };
    let mut seen = std::collections::HashSet::new();
    for w in level.rules {
        let rule = match w {
            // gitleaks does not reject a rule with neither `regex` nor `path` in a
            // configuration that extends another (it only validates configurations that
            // do not extend); such a rule can never match, so it is left out.
            Work::Gl(p)
                if level.extended && p.regex.is_none() && p.path.is_none() && !p.id.is_empty() =>
            {
                continue
            }
            Work::Gl(p) => compile_partial(*p)?,
            Work::Base { rule, .. } => {
                let rule = *rule;
                check_group(&rule, &rule.source, &rule.meta.id)?;
                rule
            }
        };
        if !seen.insert(rule.meta.id.clone()) {
            return Err(rule_err(
                &rule.source,
                &rule.meta.id,
                "duplicate rule id after import",
            ));
        }
        set.rules.push(rule);
    }
    Ok(set)
}

fn check_group(rule: &CompiledRule, file: &str, id: &str) -> Result<(), SecretsError> {
    if let (Some(re), Some(g)) = (&rule.regex, rule.secret_group) {
        let max = re.captures_len().saturating_sub(1);
        if g > max {
            return Err(rule_err(
                file,
                id,
                format!("invalid regex secret group {g}, max regex secret group {max}"),
            ));
        }
    }
    Ok(())
}

/// The Rampart id of gitleaks rule `id`.
pub fn imported_id(id: &str) -> String {
    let slug: String = id
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("{ID_PREFIX}{slug}")
}

fn title_of(description: &str, id: &str) -> String {
    description
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or(id)
        .to_string()
}

/// Whether a gitleaks regex is meant to span many lines (private keys): the engine then
/// searches far past the keyword's line instead of the neighbouring lines only.
fn looks_multiline(src: &str) -> bool {
    ["(?s", r"\s\S", r"\S\s", r"\n", r"\r"]
        .iter()
        .any(|m| src.contains(m))
}

fn compile_partial(p: Partial) -> Result<CompiledRule, SecretsError> {
    if p.id.is_empty() {
        let context = if let Some((src, _)) = &p.regex {
            format!(", regex: {src}")
        } else if !p.description.is_empty() {
            format!(", description: {}", p.description)
        } else {
            String::new()
        };
        return Err(rule_err(
            &p.file,
            "<no id>",
            format!("rule |id| is missing or empty{context}"),
        ));
    }
    if p.regex.is_none() && p.path.is_none() {
        return Err(rule_err(
            &p.file,
            &p.id,
            format!(
                "{}: both |regex| and |path| are empty, this rule will have no effect",
                p.id
            ),
        ));
    }
    let id = imported_id(&p.id);
    let generic = p.id.to_ascii_lowercase().starts_with("generic");
    let mut description = if p.description.is_empty() {
        format!("gitleaks rule `{}`.", p.id)
    } else {
        p.description.clone()
    };
    description.push_str(&format!(
        "\n\nImported from gitleaks rule `{}` in `{}`.",
        p.id, p.file
    ));
    let meta = RuleMeta {
        id: id.clone(),
        area: "secret".into(),
        title: title_of(&p.description, &p.id),
        severity: if generic {
            Severity::Medium
        } else {
            Severity::High
        },
        description,
        remediation: format!(
            "Rotate the credential and remove it from the source; see gitleaks rule {}.",
            p.id
        ),
        references: Vec::new(),
        peers: vec![format!("gitleaks:{}", p.id)],
        tags: p.tags,
    };
    if let Some(problem) = meta.problems().into_iter().next() {
        return Err(rule_err(&p.file, &p.id, problem));
    }
    let multiline = p.regex.as_ref().is_some_and(|(s, _)| looks_multiline(s));
    let mut keywords: Vec<String> = Vec::with_capacity(p.keywords.len());
    for k in p.keywords {
        if !k.is_empty() && !keywords.contains(&k) {
            keywords.push(k);
        }
    }
    let rule = CompiledRule {
        meta,
        regex: p.regex.map(|(_, re)| re),
        secret_group: (p.secret_group != 0).then_some(p.secret_group),
        entropy: (p.entropy != 0.0).then_some(p.entropy),
        keywords,
        path: p.path,
        multiline,
        require_digit: false,
        placeholders: false,
        allowlists: p.allowlists,
        examples: Vec::new(),
        negative_examples: Vec::new(),
        source: p.file.clone(),
    };
    check_group(&rule, &p.file, &p.id)?;
    Ok(rule)
}

// ---------------------------------------------------------------------------------------
// Go RE2 → Rust regex.

/// Compile a Go (RE2) regex with the Rust `regex` crate, translating the differences.
pub fn compile_go(pattern: &str) -> Result<Regex, regex::Error> {
    compile_regex(&translate_go_regex(pattern))
}

/// Rewrite a Go regex so the Rust `regex` crate reads it the way Go does:
///
/// - `\d \D \w \W \s \S` → their ASCII classes, `\b \B` → ASCII word boundaries;
/// - `{` that does not start a repetition (`{n}`, `{n,}`, `{n,m}`) → `\{`;
/// - inside a class, `[` that does not start `[:name:]` → `\[`, and `&`, `~` escaped
///   (Rust's class set operators `&&`, `~~`);
/// - `\Q…\E` → escaped literal text; `\0`, `\12` … octal → `\x{…}`;
/// - `\<`, `\>` → the literal characters.
pub fn translate_go_regex(p: &str) -> String {
    let c: Vec<char> = p.chars().collect();
    let mut out = String::with_capacity(p.len() + 16);
    let mut i = 0;
    // Inside a character class? (Go classes do not nest; `[:alpha:]` is copied whole.)
    let mut in_class = false;
    // Position right after the class opener (`[` or `[^`): a `]` there is a literal.
    let mut class_start = 0usize;
    while i < c.len() {
        let ch = c[i];
        if ch == '\\' {
            let Some(&n) = c.get(i + 1) else {
                out.push('\\');
                i += 1;
                continue;
            };
            i += 2;
            match n {
                'd' => out.push_str(if in_class { "0-9" } else { "[0-9]" }),
                'D' => out.push_str(if in_class { "[:^digit:]" } else { "[^0-9]" }),
                'w' => out.push_str(if in_class {
                    "0-9A-Za-z_"
                } else {
                    "[0-9A-Za-z_]"
                }),
                'W' => out.push_str(if in_class {
                    "[:^word:]"
                } else {
                    "[^0-9A-Za-z_]"
                }),
                's' => out.push_str(if in_class {
                    r"\t\n\f\r "
                } else {
                    r"[\t\n\f\r ]"
                }),
                'S' => out.push_str(if in_class {
                    r"[:^space:]"
                } else {
                    r"[^\t\n\f\r ]"
                }),
                'b' if !in_class => out.push_str(r"(?-u:\b)"),
                'B' if !in_class => out.push_str(r"(?-u:\B)"),
                '<' | '>' => out.push(n),
                'Q' => {
                    let mut lit = String::new();
                    while i < c.len() {
                        if c[i] == '\\' && c.get(i + 1) == Some(&'E') {
                            i += 2;
                            break;
                        }
                        lit.push(c[i]);
                        i += 1;
                    }
                    if in_class {
                        for l in lit.chars() {
                            push_class_literal(&mut out, l);
                        }
                    } else {
                        out.push_str(&regex::escape(&lit));
                    }
                }
                '0'..='7' if n == '0' || c.get(i).is_some_and(|d| ('0'..='7').contains(d)) => {
                    let mut v = n.to_digit(8).unwrap_or(0);
                    let mut k = 0;
                    while k < 2 {
                        match c.get(i).and_then(|d| d.to_digit(8)) {
                            Some(d) => {
                                v = v * 8 + d;
                                i += 1;
                                k += 1;
                            }
                            None => break,
                        }
                    }
                    out.push_str(&format!("\\x{{{v:x}}}"));
                }
                _ => {
                    out.push('\\');
                    out.push(n);
                }
            }
            continue;
        }
        if in_class {
            match ch {
                ']' if i != class_start => {
                    in_class = false;
                    out.push(']');
                    i += 1;
                }
                '[' if c.get(i + 1) == Some(&':') => {
                    // POSIX class `[:name:]` (or `[:^name:]`): copy through `:]`.
                    let rest: String = c[i..].iter().collect();
                    if let Some(end) = rest.find(":]").filter(|&e| e > 1) {
                        let name = &rest[2..end];
                        if name.chars().all(|x| x.is_ascii_alphabetic() || x == '^') {
                            out.push_str(&rest[..end + 2]);
                            i += rest[..end + 2].chars().count();
                            continue;
                        }
                    }
                    out.push_str(r"\[");
                    i += 1;
                }
                _ => {
                    if i == class_start && ch == ']' {
                        out.push_str(r"\]");
                    } else {
                        push_class_literal(&mut out, ch);
                    }
                    i += 1;
                }
            }
            continue;
        }
        match ch {
            '[' => {
                in_class = true;
                out.push('[');
                i += 1;
                if c.get(i) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                class_start = i;
            }
            '{' => match repetition_len(&c[i..]) {
                Some(len) => {
                    out.extend(&c[i..i + len]);
                    i += len;
                }
                None => {
                    out.push_str(r"\{");
                    i += 1;
                }
            },
            '}' => {
                // A `}` that closes no repetition is a literal in Go.
                out.push_str(r"\}");
                i += 1;
            }
            _ => {
                out.push(ch);
                i += 1;
            }
        }
    }
    out
}

/// Characters that need escaping inside a Rust class but are plain in a Go class.
fn push_class_literal(out: &mut String, ch: char) {
    match ch {
        '[' | '&' | '~' => {
            out.push('\\');
            out.push(ch);
        }
        _ => out.push(ch),
    }
}

/// The length of a valid repetition (`{n}`, `{n,}`, `{n,m}`) at the start of `c`.
fn repetition_len(c: &[char]) -> Option<usize> {
    if c.first() != Some(&'{') {
        return None;
    }
    let mut i = 1;
    let digits = |i: &mut usize| {
        let s = *i;
        while c.get(*i).is_some_and(char::is_ascii_digit) {
            *i += 1;
        }
        *i > s
    };
    if !digits(&mut i) {
        return None;
    }
    if c.get(i) == Some(&',') {
        i += 1;
        digits(&mut i);
    }
    (c.get(i) == Some(&'}')).then_some(i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translates_go_syntax() {
        assert_eq!(translate_go_regex(r"\d{2}"), r"[0-9]{2}");
        assert_eq!(translate_go_regex(r"[\w.-]"), r"[0-9A-Za-z_.-]");
        assert_eq!(translate_go_regex(r"a{,3}"), r"a\{,3\}");
        assert_eq!(translate_go_regex(r"[[:alnum:]]"), r"[[:alnum:]]");
        assert_eq!(translate_go_regex(r"[[a]"), r"[\[a]");
        assert_eq!(translate_go_regex(r"[]a]"), r"[\]a]");
        assert_eq!(translate_go_regex(r"\Qa.b\E"), r"a\.b");
        assert_eq!(translate_go_regex(r"\012"), r"\x{a}");
        assert_eq!(translate_go_regex(r"\bx\b"), r"(?-u:\b)x(?-u:\b)");
        for p in [
            r"\d{2}",
            r"a{,3}",
            r"[[a]",
            r"[]a]",
            r"[a&&b]",
            r"x{2,}y{1,3}",
        ] {
            assert!(compile_go(p).is_ok(), "{p}");
        }
        let re = compile_go(r"\w+").unwrap();
        assert!(!re.is_match("é".as_bytes()));
    }

    #[test]
    fn ids() {
        assert_eq!(
            imported_id("AWS-Access_Key"),
            "secret/gitleaks.aws-access_key"
        );
        assert_eq!(imported_id("a b/c"), "secret/gitleaks.a-b-c");
    }
}
