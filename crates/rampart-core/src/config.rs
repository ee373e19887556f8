//! `rampart.yaml`: found in the scanned root or given with `--config`. CLI flags win.
//! Unknown keys are errors (with line and column), so typos never silently do nothing.

use crate::severity::{FailOn, Severity};
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
    /// Default output format on stdout.
    pub format: Option<String>,
    /// Extra outputs, `FORMAT=PATH`.
    #[serde(default)]
    pub output: Vec<String>,
    /// Globs (gitignore syntax) never scanned.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Per-file size limit in bytes.
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
    /// Severity overrides by rule id.
    #[serde(default)]
    pub severity: BTreeMap<String, Severity>,
    /// Secret-scanner settings.
    #[serde(default)]
    pub secrets: SecretsConfig,
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

impl Config {
    /// Parse `rampart.yaml` text; `path` is used in error messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config> {
        if text.trim().is_empty() {
            return Ok(Config::default());
        }
        let cfg: Config = serde_yaml::from_str(text).map_err(|e| Error::yaml(path, &e))?;
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
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Config::parse(&text, path)
    }

    /// Load `rampart.yaml` from `root` (a directory) if it exists.
    pub fn discover(root: &Path) -> Result<Option<(PathBuf, Config)>> {
        if !root.is_dir() {
            return Ok(None);
        }
        let path = root.join(CONFIG_FILE_NAME);
        if !path.is_file() {
            return Ok(None);
        }
        Config::load(&path).map(|c| Some((path, c)))
    }
}

/// Report formats known to the CLI.
pub const FORMATS: &[&str] = &["table", "json", "sarif", "junit", "markdown"];

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
}
