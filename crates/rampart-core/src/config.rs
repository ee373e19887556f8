//! `rampart.yaml`: found in the scanned root or given with `--config`. CLI flags win.
//! Unknown keys are errors (with line and column), so typos never silently do nothing.
//!
//! A file found in the scanned root is repository content, and what a scanned tree says
//! is data, never authority: [`Config::restrict_to_repository`] keeps only the
//! repository-policy keys ([`REPOSITORY_KEYS`]) and refuses the runner settings
//! ([`RUNNER_ONLY_KEYS`]: where reports go, the gate, secrets in logs, rule files …), and
//! refuses paths that leave the scanned root.

use crate::severity::{FailOn, FailOnUnknown, Severity};
use crate::{Error, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The file name looked for in the scanned root.
pub const CONFIG_FILE_NAME: &str = "rampart.yaml";

/// The raw configuration file, exactly as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Gate threshold (`critical|high|medium|low|info|none`).
    pub fail_on: Option<FailOn>,
    /// How the gate counts findings of unknown severity
    /// (`critical|high|medium|low|info|ignore`; default high).
    pub fail_on_unknown: Option<FailOnUnknown>,
    /// Default output format on stdout.
    pub format: Option<String>,
    /// Extra outputs, `FORMAT=PATH`.
    #[serde(default)]
    pub output: Vec<String>,
    /// Globs (gitignore syntax) never scanned.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Per-file size limit: bytes, or with a suffix (`512K`, `10M`, `1G`).
    #[serde(default, deserialize_with = "size_opt")]
    pub max_file_size: Option<u64>,
    /// Ignore `.gitignore` files when true.
    pub no_ignore: Option<bool>,
    /// Path of the ignore file (default `.rampartignore.yaml` in the root).
    pub ignore_file: Option<PathBuf>,
    /// A previous JSON report: findings already in it do not count.
    pub baseline: Option<PathBuf>,
    /// Fail (exit 1) when an ignore matched nothing.
    pub fail_on_stale_ignores: Option<bool>,
    /// Print secrets in full (default false: redacted).
    pub show_secrets: Option<bool>,
    /// Worker threads (0 = one per core).
    pub threads: Option<usize>,
    /// Report scan errors (content not checked) as warnings instead of exiting 2.
    pub allow_errors: Option<bool>,
    /// Severity overrides by rule id or glob; `none` switches the rules off.
    #[serde(default)]
    pub severity: BTreeMap<String, SeverityOverride>,
    /// Rule ids or globs (any area) to switch off: their findings are reported as
    /// suppressed (kind `config`).
    #[serde(default)]
    pub disable: Vec<String>,
    /// Dockerfile rules (`rampart iac`, `rampart scan`).
    #[serde(default)]
    pub docker: AreaConfig,
    /// Terraform rules (`rampart iac`, `rampart scan`).
    #[serde(default)]
    pub terraform: AreaConfig,
    /// Image rules (`rampart image`, `rampart scan` on an OCI layout).
    #[serde(default)]
    pub image: AreaConfig,
    /// Secret-scanner settings.
    #[serde(default)]
    pub secrets: SecretsConfig,
    /// Admission webhook settings (`rampart admission serve`).
    #[serde(default)]
    pub admission: AdmissionConfig,
    /// Licence policy for dependencies (`rampart deps`, `rampart scan`).
    #[serde(default)]
    pub license: LicenseConfig,
    /// Kubernetes manifest scanning (`rampart k8s`).
    #[serde(default)]
    pub k8s: K8sConfig,
    /// Vulnerability matching (`rampart deps`, `rampart scan`).
    #[serde(default)]
    pub vuln: VulnConfig,
}

/// A size: bytes (`1048576`) or with a binary suffix `K`, `M`, `G` (`512K`, `10M`,
/// `2G`, also `10MB`, `10MiB`). Zero and overflow are errors.
pub fn parse_size(s: &str) -> std::result::Result<u64, String> {
    let t = s.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, suffix) = t.split_at(digits);
    let mult: u64 = match suffix.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1 << 10,
        "M" | "MB" | "MIB" => 1 << 20,
        "G" | "GB" | "GIB" => 1 << 30,
        _ => {
            return Err(format!(
                "`{s}` is not a size (bytes, or a number with K, M or G: 512K, 10M, 2G)"
            ))
        }
    };
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            format!("`{s}` is not a size (bytes, or a number with K, M or G: 512K, 10M, 2G)")
        })
}

fn size_opt<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        N(u64),
        S(String),
    }
    match Option::<Raw>::deserialize(d)? {
        None => Ok(None),
        Some(Raw::N(n)) => Ok(Some(n)),
        Some(Raw::S(s)) => parse_size(&s).map(Some).map_err(serde::de::Error::custom),
    }
}

/// A `severity:` value: a level, or `none` (also `off`) to switch the rule off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum SeverityOverride {
    /// Report at this severity.
    Level(Severity),
    /// Switch the rule off.
    Off,
}

impl TryFrom<String> for SeverityOverride {
    type Error = String;
    fn try_from(s: String) -> std::result::Result<Self, String> {
        if s.eq_ignore_ascii_case("none") || s.eq_ignore_ascii_case("off") {
            return Ok(SeverityOverride::Off);
        }
        s.parse::<Severity>()
            .map(SeverityOverride::Level)
            .map_err(|e| format!("{e}, or none to switch the rule off"))
    }
}

impl std::fmt::Display for SeverityOverride {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SeverityOverride::Level(s) => write!(f, "{s}"),
            SeverityOverride::Off => f.write_str("none"),
        }
    }
}

/// An area's section (`docker:`, `terraform:`, `image:`): rules to switch off.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AreaConfig {
    /// Rule ids or globs of this area to switch off.
    #[serde(default)]
    pub disable: Vec<String>,
}

/// `vuln:` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VulnConfig {
    /// The kinds of informational advisories (RustSec `unsound`, `unmaintained`,
    /// `notice`) to report; absent: all of them. `[]` turns them all off.
    pub informational: Option<Vec<InformationalKind>>,
}

/// A kind of informational (non-vulnerability) advisory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InformationalKind {
    /// Unsound API (RustSec `informational = "unsound"`).
    Unsound,
    /// The crate is no longer maintained.
    Unmaintained,
    /// Any other informational notice (RustSec `notice`, …).
    Notice,
}

impl InformationalKind {
    /// All kinds.
    pub const ALL: [InformationalKind; 3] = [
        InformationalKind::Unsound,
        InformationalKind::Unmaintained,
        InformationalKind::Notice,
    ];

    /// Lower-case name, as in the `kind` property of a finding.
    pub fn as_str(self) -> &'static str {
        match self {
            InformationalKind::Unsound => "unsound",
            InformationalKind::Unmaintained => "unmaintained",
            InformationalKind::Notice => "notice",
        }
    }
}

impl std::str::FromStr for InformationalKind {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        InformationalKind::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!("informational kind `{s}`: expected unsound, unmaintained or notice")
            })
    }
}

/// `secrets:` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretsConfig {
    /// Extra rule files: gitleaks TOML or Rampart YAML.
    #[serde(default)]
    pub rules: Vec<PathBuf>,
    /// Rule ids (or globs) to turn off.
    #[serde(default)]
    pub disable: Vec<String>,
    /// Drop the built-in rules (use only `rules`).
    #[serde(default)]
    pub no_builtin: bool,
}

/// `license:` section: which dependency licences are acceptable.
///
/// A licence term is allowed when it is not in `deny`, its category is not in
/// `deny_categories`, and (when `allow` is non-empty) it is in `allow`. An SPDX expression
/// is allowed when one `OR` branch is; every `AND` operand must be.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LicenseConfig {
    /// SPDX ids (or `LicenseRef-…`, or `ID WITH EXCEPTION`) that are acceptable. When
    /// non-empty, every other licence is denied.
    #[serde(default)]
    pub allow: Vec<String>,
    /// SPDX ids that are never acceptable (`GPL-3.0` also matches `-only`/`-or-later`).
    #[serde(default)]
    pub deny: Vec<String>,
    /// Denied categories: `permissive`, `weak-copyleft`, `strong-copyleft`,
    /// `network-copyleft`, `proprietary`, `unclassified`. Default:
    /// `[strong-copyleft, network-copyleft]`; `[]` turns category checks off.
    pub deny_categories: Option<Vec<String>>,
    /// `license/…` rule ids or globs to switch off.
    #[serde(default)]
    pub disable: Vec<String>,
    /// Severity of `license/denied` (default `high`).
    pub severity: Option<Severity>,
    /// Severity of `license/unknown` (unrecognised licence text), or `off` (default `low`).
    pub unknown: Option<String>,
    /// Severity for packages that declare no licence at all, or `off` (default `off`).
    pub missing: Option<String>,
    /// Per-package exceptions.
    #[serde(default)]
    pub exceptions: Vec<LicenseException>,
}

/// One `license.exceptions` entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LicenseException {
    /// Package name, `name@version`, or `ecosystem/name` (e.g. `npm/left-pad`).
    pub package: String,
    /// Licences additionally allowed for this package; empty: the package is exempt.
    #[serde(default)]
    pub licenses: Vec<String>,
    /// Why (shown nowhere else; for reviewers).
    pub reason: Option<String>,
}

impl Config {
    /// Parse `rampart.yaml` text; `path` is used in error messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config> {
        if text.trim().is_empty() {
            return Ok(Config::default());
        }
        let cfg: Config = rampart_yaml::from_str(text).map_err(|e| Error::yaml(path, &e))?;
        if let Some(f) = &cfg.format {
            if !crate::config::FORMATS.contains(&f.as_str()) {
                return Err(Error::Invalid {
                    what: format!("{}: format", path.display()),
                    message: format!("`{f}` (expected one of {})", FORMATS.join(", ")),
                });
            }
        }
        Ok(cfg)
    }

    /// Load an explicit config file.
    pub fn load(path: &Path) -> Result<Config> {
        let text = read_limited(path)?;
        Config::parse(&text, path)
    }

    /// Load `rampart.yaml` from `root` (a directory) if it exists, as a repository
    /// configuration ([`Config::restrict_to_repository`]). A `rampart.yaml` that is a
    /// symlink is refused (it could read a file outside the tree).
    pub fn discover(root: &Path) -> Result<Option<(PathBuf, Config, Restriction)>> {
        if !root.is_dir() {
            return Ok(None);
        }
        let path = root.join(CONFIG_FILE_NAME);
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            return Ok(None);
        };
        if !meta.is_file() {
            return Err(Error::Invalid {
                what: path.display().to_string(),
                message: "a repository configuration must be a regular file (not a symlink \
                          or directory); use --config FILE or --no-config"
                    .into(),
            });
        }
        let text = read_limited(&path)?;
        let mut cfg = Config::parse(&text, &path)?;
        let restriction = cfg.restrict_to_repository(&text, &path, root);
        Ok(Some((path, cfg, restriction)))
    }
}

/// The largest configuration file read (a configuration is a few hundred bytes; a
/// repository could plant a huge one).
pub const MAX_CONFIG_SIZE: u64 = 1024 * 1024;

fn read_limited(path: &Path) -> Result<String> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut text = String::new();
    file.take(MAX_CONFIG_SIZE + 1)
        .read_to_string(&mut text)
        .map_err(|e| Error::io(path, e))?;
    if text.len() as u64 > MAX_CONFIG_SIZE {
        return Err(Error::Invalid {
            what: path.display().to_string(),
            message: format!("over the {MAX_CONFIG_SIZE} byte limit of a configuration file"),
        });
    }
    Ok(text)
}

/// Keys a `rampart.yaml` found in the scanned tree may set: repository policy. Every
/// one is listed in the report's `summary.config.applied`.
pub const REPOSITORY_KEYS: &[&str] = &[
    "exclude",
    "severity",
    "disable",
    "docker",
    "terraform",
    "image",
    "ignore_file",
    "baseline",
    "secrets.disable",
    "license",
    "k8s",
    "vuln",
];

/// Keys only whoever runs Rampart may set (flags, `--config FILE`, `RAMPART_CONFIG`),
/// with the reason given when a repository's `rampart.yaml` sets one.
pub const RUNNER_ONLY_KEYS: &[(&str, &str)] = &[
    ("fail_on", "the gate is the runner's"),
    ("fail_on_unknown", "the gate is the runner's"),
    ("fail_on_stale_ignores", "the gate is the runner's"),
    ("allow_errors", "the gate is the runner's"),
    ("format", "the report format is the runner's"),
    ("output", "where reports are written is the runner's"),
    (
        "show_secrets",
        "printing secrets in full is the runner's choice",
    ),
    ("threads", "resources are the runner's"),
    ("max_file_size", "what is scanned is the runner's"),
    ("no_ignore", "what is scanned is the runner's"),
    ("secrets.rules", "rule files replace the built-in rules"),
    (
        "secrets.no_builtin",
        "dropping the built-in rules is the runner's",
    ),
    (
        "admission",
        "the admission webhook is configured by its operator",
    ),
    (
        "k8s.allow_remote",
        "network access (remote Kustomize resources) is the runner's",
    ),
];

/// A setting of a repository configuration that was not applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The key (`output`, `baseline`, `k8s.policies` …).
    pub key: String,
    /// Why.
    pub reason: String,
}

/// What [`Config::restrict_to_repository`] kept and refused.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Restriction {
    /// The repository-policy settings kept, as `key: value`.
    pub applied: Vec<String>,
    /// The settings refused.
    pub refused: Vec<Refusal>,
}

impl Config {
    /// Make this configuration, read from `path` inside the scanned tree `root`, a
    /// repository policy: every runner-only key is reset (and listed as refused when the
    /// file set it), and every path is resolved against the file's directory and kept
    /// only when it stays inside `root` after following symlinks (refused otherwise).
    /// Kept paths are returned absolute.
    pub fn restrict_to_repository(&mut self, text: &str, path: &Path, root: &Path) -> Restriction {
        let mut out = Restriction::default();
        let present = present_keys(text);
        for (key, reason) in RUNNER_ONLY_KEYS {
            if present.iter().any(|k| k == key) {
                out.refused.push(Refusal {
                    key: (*key).to_string(),
                    reason: format!("runner-only setting: {reason}"),
                });
            }
        }
        // Reset whatever the file said, present or not (the reset is the guarantee; the
        // key list above only names what is refused).
        self.fail_on = None;
        self.fail_on_unknown = None;
        self.fail_on_stale_ignores = None;
        self.allow_errors = None;
        self.format = None;
        self.output = Vec::new();
        self.show_secrets = None;
        self.threads = None;
        self.max_file_size = None;
        self.no_ignore = None;
        self.secrets.rules = Vec::new();
        self.secrets.no_builtin = false;
        self.admission = AdmissionConfig::default();
        self.k8s.allow_remote = None;

        let dir = path.parent().unwrap_or(Path::new("."));
        let root_real = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
        let keep = |key: &str, p: &Path, refused: &mut Vec<Refusal>| -> Option<PathBuf> {
            match inside_root(&root_real, dir, p) {
                Ok(abs) => Some(abs),
                Err(why) => {
                    refused.push(Refusal {
                        key: format!("{key}: {}", p.display()),
                        reason: why,
                    });
                    None
                }
            }
        };
        self.ignore_file = self
            .ignore_file
            .take()
            .and_then(|p| keep("ignore_file", &p, &mut out.refused));
        self.baseline = self
            .baseline
            .take()
            .and_then(|p| keep("baseline", &p, &mut out.refused));
        self.k8s.policies = std::mem::take(&mut self.k8s.policies)
            .into_iter()
            .filter_map(|p| keep("k8s.policies", &p, &mut out.refused))
            .collect();
        self.k8s.helm_values = std::mem::take(&mut self.k8s.helm_values)
            .into_iter()
            .filter_map(|p| keep("k8s.helm_values", &p, &mut out.refused))
            .collect();

        let a = &mut out.applied;
        for g in &self.exclude {
            a.push(format!("exclude: {g}"));
        }
        for (rule, sev) in &self.severity {
            a.push(format!("severity.{rule}: {sev}"));
        }
        if let Some(p) = &self.ignore_file {
            a.push(format!("ignore_file: {}", p.display()));
        }
        if let Some(p) = &self.baseline {
            a.push(format!("baseline: {}", p.display()));
        }
        for d in &self.secrets.disable {
            a.push(format!("secrets.disable: {d}"));
        }
        for d in &self.disable {
            a.push(format!("disable: {d}"));
        }
        for (area, c) in [
            ("docker", &self.docker),
            ("terraform", &self.terraform),
            ("image", &self.image),
        ] {
            for d in &c.disable {
                a.push(format!("{area}.disable: {d}"));
            }
        }
        for d in &self.license.disable {
            a.push(format!("license.disable: {d}"));
        }
        if present.iter().any(|k| k == "license") {
            a.push("license: (licence policy)".to_string());
        }
        let k = &self.k8s;
        for (key, v) in [
            ("k8s.pss", &k.pss),
            ("k8s.pss_version", &k.pss_version),
            ("k8s.helm_namespace", &k.helm_namespace),
        ] {
            if let Some(v) = v {
                a.push(format!("{key}: {v}"));
            }
        }
        for d in &k.disable {
            a.push(format!("k8s.disable: {d}"));
        }
        for p in &k.policies {
            a.push(format!("k8s.policies: {}", p.display()));
        }
        for p in &k.helm_values {
            a.push(format!("k8s.helm_values: {}", p.display()));
        }
        if let Some(kinds) = &self.vuln.informational {
            let names: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
            a.push(format!("vuln.informational: [{}]", names.join(", ")));
        }
        out
    }

    /// Resolve the relative paths of a runner's configuration file (`--config`,
    /// `RAMPART_CONFIG`) against the file's directory; a runner's paths may point
    /// anywhere.
    pub fn resolve_paths(&mut self, path: &Path) {
        let dir = path.parent().unwrap_or(Path::new("."));
        let abs = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = dir.join(&*p);
            }
        };
        if let Some(p) = self.ignore_file.as_mut() {
            abs(p);
        }
        if let Some(p) = self.baseline.as_mut() {
            abs(p);
        }
        self.secrets.rules.iter_mut().for_each(abs);
        self.k8s.policies.iter_mut().for_each(abs);
        self.k8s.helm_values.iter_mut().for_each(abs);
        for dirs in self.admission.policy_sets.values_mut() {
            dirs.iter_mut().for_each(abs);
        }
        if let Some(p) = self.admission.client_ca.as_mut() {
            abs(p);
        }
    }
}

/// What a list of `exclude` globs hides under a root.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExcludeCounts {
    /// Regular files under the root (as the walker sees them: `.git` left out,
    /// gitignore honoured when asked, symlinks not followed).
    pub total: u64,
    /// Files matched by at least one glob.
    pub any: u64,
    /// Files matched by each glob, in order.
    pub per_pattern: Vec<u64>,
}

/// Count the files under `root` that `patterns` (gitignore-syntax `exclude` globs) hide,
/// without reading any file.
pub fn count_excluded(
    root: &Path,
    patterns: &[String],
    respect_gitignore: bool,
) -> Result<ExcludeCounts> {
    let matchers = patterns
        .iter()
        .map(|p| crate::walk::ExcludeMatcher::new(root, std::slice::from_ref(p)))
        .collect::<Result<Vec<_>>>()?;
    let mut counts = ExcludeCounts {
        per_pattern: vec![0; patterns.len()],
        ..ExcludeCounts::default()
    };
    let walker = ignore::WalkBuilder::new(root)
        .hidden(false)
        .follow_links(false)
        .git_ignore(respect_gitignore)
        .git_global(respect_gitignore)
        .git_exclude(respect_gitignore)
        .ignore(respect_gitignore)
        .parents(respect_gitignore)
        .require_git(false)
        .filter_entry(|e| e.file_name() != ".git")
        .build();
    for entry in walker.flatten() {
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let Ok(rel) = entry.path().strip_prefix(root) else {
            continue;
        };
        let rel = rel.to_string_lossy().replace('\\', "/");
        counts.total += 1;
        let mut hit = false;
        for (n, m) in counts.per_pattern.iter_mut().zip(&matchers) {
            if m.is_excluded(&rel) {
                *n += 1;
                hit = true;
            }
        }
        counts.any += u64::from(hit);
    }
    Ok(counts)
}

/// The keys a YAML configuration text sets: top-level keys, and `section.key` for the
/// keys of the `secrets` section. Text that does not parse yields nothing (the typed
/// parse reports it).
fn present_keys(text: &str) -> Vec<String> {
    let opts = rampart_yaml::Options {
        scalars: rampart_yaml::Scalars::Core,
        ..rampart_yaml::Options::default()
    };
    let Ok(serde_json::Value::Object(top)) = rampart_yaml::load_one(text, &opts).map(|d| d.value)
    else {
        return Vec::new();
    };
    let mut keys = Vec::new();
    for (k, v) in &top {
        keys.push(k.clone());
        if let (true, serde_json::Value::Object(sub)) = (k == "secrets" || k == "k8s", v) {
            keys.extend(sub.keys().map(|s| format!("{k}.{s}")));
        }
    }
    keys
}

/// `p` (relative to `dir`) as an absolute path inside `root_real` (a canonical path), or
/// why not: absolute paths, `..` that climbs out, and symlinks leading out are refused.
fn inside_root(root_real: &Path, dir: &Path, p: &Path) -> std::result::Result<PathBuf, String> {
    use std::path::Component;
    if p.is_absolute() || p.has_root() {
        return Err("absolute path in a repository configuration".into());
    }
    let dir_real = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let mut joined = dir_real.clone();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                if !joined.pop() || !joined.starts_with(root_real) {
                    return Err("path leaves the scanned root".into());
                }
            }
            Component::Normal(n) => joined.push(n),
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => {
                return Err("absolute path in a repository configuration".into())
            }
        }
    }
    if !joined.starts_with(root_real) {
        return Err("path leaves the scanned root".into());
    }
    // Follow symlinks: the deepest existing ancestor must stay inside too.
    let mut probe = joined.as_path();
    loop {
        if let Ok(real) = std::fs::canonicalize(probe) {
            if !real.starts_with(root_real) {
                return Err(format!(
                    "path leaves the scanned root through a symlink ({})",
                    real.display()
                ));
            }
            break;
        }
        match probe.parent() {
            Some(parent) => probe = parent,
            None => break,
        }
    }
    Ok(joined)
}

/// Report formats known to the CLI.
pub const FORMATS: &[&str] = &["table", "json", "sarif", "junit", "markdown"];

/// `admission:` section (`rampart admission serve`). Levels are `privileged`, `baseline`,
/// `restricted` or the name of a policy set; versions are `latest` or `v1.NN`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdmissionConfig {
    /// Cluster default for `rampart.dev/enforce` (default `baseline`).
    pub enforce: Option<String>,
    /// Cluster default for `rampart.dev/enforce-version` (default `latest`).
    pub enforce_version: Option<String>,
    /// Cluster default for `rampart.dev/warn` (default `restricted`).
    pub warn: Option<String>,
    /// Cluster default for `rampart.dev/warn-version`.
    pub warn_version: Option<String>,
    /// Cluster default for `rampart.dev/audit` (default `privileged`: nothing audited).
    pub audit: Option<String>,
    /// Cluster default for `rampart.dev/audit-version`.
    pub audit_version: Option<String>,
    /// Requests never evaluated.
    #[serde(default)]
    pub exemptions: AdmissionExemptions,
    /// Image policy.
    #[serde(default)]
    pub images: AdmissionImages,
    /// Opt-in mutations applied by `/mutate`.
    #[serde(default)]
    pub mutations: AdmissionMutations,
    /// Named policy sets (directories of Rego policies) usable as a level.
    #[serde(default)]
    pub policy_sets: BTreeMap<String, Vec<PathBuf>>,
    /// Write audit-mode decisions as PolicyReport objects through the API server.
    #[serde(default)]
    pub policy_reports: bool,
    /// PEM CA that client certificates must chain to (mutual TLS; `--client-ca`
    /// overrides it). Relative to the configuration file.
    pub client_ca: Option<PathBuf>,
    /// Per-request evaluation deadline in milliseconds (default 2000).
    pub timeout_ms: Option<u64>,
    /// Answer when evaluation fails (panic, deadline): `deny` (default) or `allow`.
    pub on_error: Option<String>,
    /// Honour `rampart.dev/ignore` exception annotations on admitted objects (off by
    /// default: whoever creates the object would also write its exceptions).
    #[serde(default)]
    pub honor_exceptions: bool,
}

/// `admission.exemptions`: like Pod Security Admission's AdmissionConfiguration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdmissionExemptions {
    /// Namespaces.
    #[serde(default)]
    pub namespaces: Vec<String>,
    /// Authenticated user names.
    #[serde(default)]
    pub usernames: Vec<String>,
    /// Groups of the requesting user.
    #[serde(default)]
    pub groups: Vec<String>,
    /// Pod `runtimeClassName`s.
    #[serde(default)]
    pub runtime_classes: Vec<String>,
}

/// `admission.images`: image policy.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdmissionImages {
    /// Allowed registry/repository patterns (`*` globs, e.g. `ghcr.io/acme/*`); empty = any.
    #[serde(default)]
    pub allowed_registries: Vec<String>,
    /// Require `@sha256:` digests.
    #[serde(default)]
    pub require_digest: bool,
    /// Deny the `latest` tag (and untagged references).
    #[serde(default)]
    pub deny_latest: bool,
    /// Mode of the image rules: `enforce` (default), `warn` or `audit`.
    pub mode: Option<String>,
    /// `/mutate` pins tags to digests when the registry answers.
    #[serde(default)]
    pub resolve_digests: bool,
    /// Registries reached over plain HTTP (`127.0.0.1:5000`).
    #[serde(default)]
    pub insecure_registries: Vec<String>,
    /// Non-public destinations the registry client may reach (`HOST`, `HOST:PORT` or a
    /// CIDR such as `10.0.0.0/8`): in-cluster registries. Everything else on loopback,
    /// private, link-local or metadata addresses is refused.
    #[serde(default)]
    pub private_registries: Vec<String>,
}

/// `admission.mutations`: each one is off unless enabled.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdmissionMutations {
    /// Set `seccompProfile: RuntimeDefault` when no profile is set.
    #[serde(default)]
    pub seccomp_runtime_default: bool,
    /// Set `allowPrivilegeEscalation: false` when unset.
    #[serde(default)]
    pub disallow_privilege_escalation: bool,
    /// Add `ALL` to `capabilities.drop`.
    #[serde(default)]
    pub drop_all_capabilities: bool,
    /// Set `runAsNonRoot: true` when the image (or `runAsUser`) shows a non-root user.
    #[serde(default)]
    pub run_as_non_root: bool,
}

/// `k8s:` section: Kubernetes manifest scanning.
///
/// ```yaml
/// k8s:
///   pss: restricted          # also report the level each workload meets
///   pss_version: v1.29       # Pod Security Standards version (default latest)
///   policies: [policies/]    # Rego policy directories
///   disable: [k8s/pss-sysctls]
///   helm_values: [values-prod.yaml]
///   helm_namespace: shop     # release namespace for helm template
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct K8sConfig {
    /// Pod Security Standards level to check and report (`baseline` or `restricted`).
    pub pss: Option<String>,
    /// Pod Security Standards version (`latest` or `v1.N`).
    pub pss_version: Option<String>,
    /// Rego policy directories.
    #[serde(default)]
    pub policies: Vec<PathBuf>,
    /// Rule ids (or globs) not to run.
    #[serde(default)]
    pub disable: Vec<String>,
    /// `--values` files for `helm template`.
    #[serde(default)]
    pub helm_values: Vec<PathBuf>,
    /// `--helm-namespace`: the release namespace for `helm template`.
    #[serde(default)]
    pub helm_namespace: Option<String>,
    /// `--allow-remote`: let `kubectl kustomize` fetch remote resources (runner-only).
    #[serde(default)]
    pub allow_remote: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects_unknown_keys() {
        let cfg = Config::parse(
            "fail_on: medium\nexclude: [vendor/**]\nsecrets:\n  disable: [secret/jwt]\nseverity:\n  secret/jwt: low\n",
            Path::new("rampart.yaml"),
        )
        .unwrap();
        assert_eq!(cfg.fail_on, Some(FailOn::AtLeast(Severity::Medium)));
        assert_eq!(cfg.secrets.disable, vec!["secret/jwt"]);
        let err = Config::parse("fail_on: high\nfial_on: x\n", Path::new("rampart.yaml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("rampart.yaml:2"), "{err}");
        assert!(err.contains("fial_on"), "{err}");
        assert!(Config::parse("format: pdf\n", Path::new("r.yaml")).is_err());
    }

    #[test]
    fn a_repository_config_keeps_policy_and_refuses_runner_settings() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/base.json"), "{}").unwrap();
        let text = "fail_on: none\noutput: [json=/tmp/x.json]\nshow_secrets: true\n\
                    exclude: [vendor/**]\nseverity: {secret/jwt: low}\n\
                    baseline: sub/base.json\nignore_file: ../../etc/passwd\n\
                    secrets: {rules: [r.toml], disable: [secret/x]}\n\
                    k8s: {policies: [/abs], helm_values: [sub/../sub/v.yaml]}\n";
        let path = root.join(CONFIG_FILE_NAME);
        let mut cfg = Config::parse(text, &path).unwrap();
        let r = cfg.restrict_to_repository(text, &path, root);
        let refused: Vec<&str> = r.refused.iter().map(|x| x.key.as_str()).collect();
        for k in ["fail_on", "output", "show_secrets", "secrets.rules"] {
            assert!(refused.contains(&k), "{k} not refused: {refused:?}");
        }
        assert!(
            refused.iter().any(|k| k.starts_with("ignore_file")),
            "{refused:?}"
        );
        assert!(
            refused.iter().any(|k| k.starts_with("k8s.policies")),
            "{refused:?}"
        );
        assert_eq!(cfg.fail_on, None);
        assert!(cfg.output.is_empty() && cfg.secrets.rules.is_empty());
        assert_eq!(cfg.show_secrets, None);
        assert_eq!(cfg.ignore_file, None);
        assert!(cfg.k8s.policies.is_empty());
        let real = std::fs::canonicalize(root).unwrap();
        assert_eq!(cfg.baseline, Some(real.join("sub/base.json")));
        assert_eq!(cfg.k8s.helm_values, vec![real.join("sub/v.yaml")]);
        assert_eq!(cfg.exclude, vec!["vendor/**"]);
        assert!(
            r.applied.contains(&"severity.secret/jwt: low".to_string()),
            "{:?}",
            r.applied
        );
        assert!(r.applied.contains(&"secrets.disable: secret/x".to_string()));
    }

    /// The fields serde expects in a section, read from its unknown-field error.
    fn fields_of<T: serde::de::DeserializeOwned + std::fmt::Debug>() -> Vec<String> {
        let err = rampart_yaml::from_str::<T>("zz_not_a_key: 1\n")
            .unwrap_err()
            .to_string();
        let list = err
            .split_once("expected one of ")
            .map(|(_, l)| l)
            .unwrap_or_else(|| panic!("{err}"));
        list.split(',')
            .map(|f| f.trim().trim_matches(|c| c == '`' || c == ' ').to_string())
            .map(|f| f.split('`').next().unwrap_or_default().to_string())
            .filter(|f| !f.is_empty())
            .collect()
    }

    /// Every key of `rampart.yaml` is classified: repository policy or runner-only. A
    /// new key must be added to one of the lists (and, if runner-only, reset in
    /// `restrict_to_repository`), so a repository can never set it by default.
    #[test]
    fn every_config_key_is_classified() {
        let runner: Vec<&str> = RUNNER_ONLY_KEYS.iter().map(|(k, _)| *k).collect();
        let classified = |k: &str| REPOSITORY_KEYS.contains(&k) || runner.contains(&k);
        let top = fields_of::<Config>();
        assert!(top.contains(&"fail_on".to_string()), "{top:?}");
        for f in &top {
            if f == "secrets" {
                for s in fields_of::<SecretsConfig>() {
                    let key = format!("secrets.{s}");
                    assert!(
                        classified(&key),
                        "`{key}` is neither repository nor runner-only"
                    );
                }
                continue;
            }
            assert!(classified(f), "`{f}` is neither repository nor runner-only");
        }
        for k in REPOSITORY_KEYS {
            assert!(!runner.contains(k), "`{k}` is in both lists");
        }
    }

    #[test]
    fn sizes_with_suffixes() {
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("1K"), Ok(1024));
        assert_eq!(parse_size("10M"), Ok(10 << 20));
        assert_eq!(parse_size("10mb"), Ok(10 << 20));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        for bad in [
            "",
            "0",
            "0K",
            "10Q",
            "K",
            "-1",
            "1.5M",
            "99999999999999999999G",
        ] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
        let cfg: Config = rampart_yaml::from_str("max_file_size: 10M\n").unwrap();
        assert_eq!(cfg.max_file_size, Some(10 << 20));
        let cfg: Config = rampart_yaml::from_str("max_file_size: 4096\n").unwrap();
        assert_eq!(cfg.max_file_size, Some(4096));
        assert!(rampart_yaml::from_str::<Config>("max_file_size: lots\n").is_err());
        let cfg: Config =
            rampart_yaml::from_str("severity: {\"docker/*\": none, secret/jwt: low}\n").unwrap();
        assert_eq!(cfg.severity["docker/*"], SeverityOverride::Off);
        assert_eq!(
            cfg.severity["secret/jwt"],
            SeverityOverride::Level(Severity::Low)
        );
    }

    #[test]
    fn excludes_are_counted() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["a/x.txt", "a/y.txt", "b/z.txt", "c.txt"] {
            let p = dir.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "x").unwrap();
        }
        let pats = vec![
            "a/**".to_string(),
            "*.txt".to_string(),
            "nothing".to_string(),
        ];
        let c = count_excluded(dir.path(), &pats, true).unwrap();
        assert_eq!(
            c,
            ExcludeCounts {
                total: 4,
                any: 4,
                per_pattern: vec![2, 4, 0]
            }
        );
        let c = count_excluded(dir.path(), &["**".to_string()], true).unwrap();
        assert_eq!((c.total, c.any), (4, 4));
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_out_of_the_root_is_refused() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("base.json"), "{}").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::os::unix::fs::symlink(outside.path(), root.join("link")).unwrap();
        let real = std::fs::canonicalize(root).unwrap();
        let err = inside_root(&real, root, Path::new("link/base.json")).unwrap_err();
        assert!(err.contains("symlink"), "{err}");
        assert!(inside_root(&real, root, Path::new("link/missing/x")).is_err());
        assert!(inside_root(&real, root, Path::new("a/../../x")).is_err());
        assert_eq!(
            inside_root(&real, root, Path::new("./a/../b")).unwrap(),
            real.join("b")
        );
    }
}
