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
    /// Admission webhook settings (`rampart admission serve`).
    #[serde(default)]
    pub admission: AdmissionConfig,
    /// Licence policy for dependencies (`rampart deps`, `rampart scan`).
    #[serde(default)]
    pub license: LicenseConfig,
    /// Kubernetes manifest scanning (`rampart k8s`).
    #[serde(default)]
    pub k8s: K8sConfig,
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
}
