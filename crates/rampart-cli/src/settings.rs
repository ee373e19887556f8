//! Effective settings: the configuration file merged with command-line flags (flags win).
//! A `rampart.yaml` found in the scanned tree is repository content: it may set
//! repository policy only (docs/config.md has the table of keys).

use crate::args::{ColorChoice, CommonArgs, SecretArgs};
use anyhow::{bail, Context, Result};
use rampart_core::config::Config;
use rampart_core::config::SeverityOverride;
use rampart_core::report::{ConfigSummary, ExcludeEffect, RefusedSetting};
use rampart_core::rule::{RuleAction, RuleSelection};
use rampart_core::severity::{FailOn, FailOnUnknown, Severity};
use rampart_core::suppress::ignore_file::IGNORE_FILE_NAME;
use rampart_core::walk::WalkOptions;
use rampart_report::Format;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// Everything a scanning command needs.
#[derive(Debug)]
pub struct Settings {
    /// Gate.
    pub fail_on: FailOn,
    /// How the gate counts findings of unknown severity (runner-only).
    pub fail_on_unknown: FailOnUnknown,
    /// Informational advisory kinds to report (`vuln.informational`; default all).
    pub informational: Vec<rampart_core::config::InformationalKind>,
    /// Stdout format.
    pub format: Format,
    /// Extra outputs.
    pub outputs: Vec<(Format, PathBuf)>,
    /// Walker options.
    pub walk: WalkOptions,
    /// Ignore file to load, if it exists.
    pub ignore_file: Option<PathBuf>,
    /// Whether the ignore file was named explicitly (then it must exist).
    pub ignore_file_explicit: bool,
    /// The default ignore file was refused (a symlink out of the scanned root): reported
    /// as a scan error.
    pub ignore_file_error: Option<rampart_core::ScanError>,
    /// Baseline report.
    pub baseline: Option<PathBuf>,
    /// Exit 1 on stale ignores.
    pub fail_on_stale_ignores: bool,
    /// Show secrets in full.
    pub show_secrets: bool,
    /// Rule selection: severity overrides and rules switched off (flags and config).
    pub selection: RuleSelection,
    /// Rule files replacing the built-ins.
    pub rules: Vec<PathBuf>,
    /// Rules to disable.
    pub disable: Vec<String>,
    /// Print nothing on stdout.
    pub quiet: bool,
    /// Show suppressed findings in the table.
    pub show_suppressed: bool,
    /// Display filter (`--min-severity`): never changes the gate or the JSON report.
    pub min_severity: Option<Severity>,
    /// Markdown size limit (`--markdown-max-chars`; `None`: no limit).
    pub markdown_max_chars: Option<usize>,
    /// Colour the table.
    pub color: bool,
    /// The config file used, if any.
    pub config_path: Option<PathBuf>,
    /// Which config file was read, how far it was trusted, what it changed and what it
    /// was refused (copied into the report's summary).
    pub config_summary: Option<ConfigSummary>,
    /// Report errors as warnings; the exit code follows the gate alone.
    pub allow_errors: bool,
    /// `k8s:` section, paths resolved (and, for a repository config, kept inside the root).
    pub k8s: rampart_core::config::K8sConfig,
    /// The vulnerability database `rampart scan` uses for its deps and image parts
    /// (`scan --db`, else `RAMPART_DB`, else the cache).
    pub db: crate::commands::db::DbPath,
    /// Licence policy (`license:` in rampart.yaml), for `rampart_sca::license`.
    pub license: rampart_core::config::LicenseConfig,
}

/// Parse `FORMAT=PATH` or `PATH` (format from the extension).
pub fn parse_output(spec: &str, default: Format) -> Result<(Format, PathBuf)> {
    if let Some((f, p)) = spec.split_once('=') {
        if let Ok(fmt) = f.parse::<Format>() {
            return Ok((fmt, PathBuf::from(p)));
        }
        if !f.contains(['/', '.']) {
            bail!("--output `{spec}`: unknown format `{f}` (expected table, json, sarif, junit or markdown)");
        }
    }
    let p = PathBuf::from(spec);
    let ext = p
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let fmt = match ext.as_str() {
        "sarif" => Format::Sarif,
        "json" => Format::Json,
        "xml" => Format::Junit,
        "md" | "markdown" => Format::Markdown,
        "txt" | "log" => Format::Table,
        _ => default,
    };
    Ok((fmt, p))
}

/// The environment variable naming a runner's configuration file (as `--config`).
pub const CONFIG_ENV: &str = "RAMPART_CONFIG";

/// Which configuration file to read and how far to trust it.
fn load_config(
    common: &CommonArgs,
    config_root: &Path,
) -> Result<(Option<PathBuf>, Config, Option<ConfigSummary>)> {
    if common.no_config {
        return Ok((None, Config::default(), None));
    }
    let runner = common.config.clone().or_else(|| {
        std::env::var_os(CONFIG_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    });
    if let Some(p) = runner {
        let mut cfg = Config::load(&p).with_context(|| "cannot load configuration")?;
        cfg.resolve_paths(&p);
        let summary = ConfigSummary {
            path: p.display().to_string(),
            source: "runner".into(),
            ..ConfigSummary::default()
        };
        return Ok((Some(p), cfg, Some(summary)));
    }
    let Some((p, cfg, restriction)) =
        Config::discover(config_root).with_context(|| "cannot load configuration")?
    else {
        return Ok((None, Config::default(), None));
    };
    let summary = ConfigSummary {
        path: p.display().to_string(),
        source: "repository".into(),
        applied: restriction.applied,
        refused: restriction
            .refused
            .into_iter()
            .map(|r| RefusedSetting {
                key: r.key,
                reason: r.reason,
            })
            .collect(),
        excludes: Vec::new(),
    };
    Ok((Some(p), cfg, Some(summary)))
}

/// Count what a repository configuration's `exclude` globs hide; when together they hide
/// every file, refuse them all (the tree is scanned whole): a pull request must not be
/// able to switch the gate off by excluding everything.
fn weigh_repository_excludes(
    cfg: &mut Config,
    summary: &mut ConfigSummary,
    root: &Path,
    respect_gitignore: bool,
) -> Result<()> {
    if cfg.exclude.is_empty() || !root.is_dir() {
        return Ok(());
    }
    let counts = rampart_core::config::count_excluded(root, &cfg.exclude, respect_gitignore)
        .with_context(|| format!("{}: exclude", summary.path))?;
    let hides_all = counts.total > 0 && counts.any == counts.total;
    summary.excludes = cfg
        .exclude
        .iter()
        .zip(&counts.per_pattern)
        .map(|(g, n)| ExcludeEffect {
            pattern: g.clone(),
            files: *n,
            applied: !hides_all,
        })
        .collect();
    if hides_all {
        summary.applied.retain(|a| !a.starts_with("exclude: "));
        for g in std::mem::take(&mut cfg.exclude) {
            summary.refused.push(RefusedSetting {
                key: format!("exclude: {g}"),
                reason: format!(
                    "the repository's excludes together hide every file ({} of {}); \
                     refused, the whole tree is scanned",
                    counts.any, counts.total
                ),
            });
        }
    }
    Ok(())
}

/// Tell the runner, on standard error, what a repository configuration was refused and
/// what its excludes hid.
fn announce(summary: &ConfigSummary) {
    for r in &summary.refused {
        crate::say!(
            "warning: {} (repository config): `{}` ignored: {} (pass --config FILE to trust a file)",
            summary.path,
            r.key,
            r.reason
        );
    }
    for e in summary.excludes.iter().filter(|e| e.applied && e.files > 0) {
        crate::say!(
            "note: {} (repository config): exclude `{}` hides {} file(s) from every scanner",
            summary.path,
            e.pattern,
            e.files
        );
    }
}

/// Why `path`, a file the repository provides by default, may not be read: it is a
/// symlink whose target is outside `root` (or cannot be resolved). `None`: not a
/// symlink, absent, or a symlink that stays inside.
fn escapes_root(path: &Path, root: &Path) -> Option<String> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.file_type().is_symlink() {
        return None;
    }
    let root_real = std::fs::canonicalize(root).ok()?;
    match std::fs::canonicalize(path) {
        Ok(real) if real.starts_with(&root_real) => None,
        Ok(real) => Some(format!(
            "a symlink to {}, outside the scanned root",
            real.display()
        )),
        Err(e) => Some(format!("a symlink that cannot be resolved ({e})")),
    }
}

/// The rule selection of a run: the configuration's `severity:` (globs, `none`),
/// `disable:`, `<area>.disable:`, `secrets.disable` and `k8s.disable`, then
/// `--skip-rule` and `--only-rule`. Patterns are checked against the known rules later
/// ([`crate::commands::output::finish`]).
fn rule_selection(
    common: &CommonArgs,
    cfg: &Config,
    config_path: Option<&Path>,
) -> Result<RuleSelection> {
    let file = config_path
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "configuration".into());
    let mut sel = RuleSelection::new();
    let mut add = |pattern: &str, action: RuleAction, source: String, area: Option<&str>| {
        sel.add(pattern, action, &source, area)
            .map_err(anyhow::Error::msg)
    };
    for (pattern, sev) in &cfg.severity {
        let action = match sev {
            SeverityOverride::Level(s) => RuleAction::Severity(*s),
            SeverityOverride::Off => RuleAction::Off,
        };
        add(pattern, action, format!("{file}: severity"), None)?;
    }
    for d in &cfg.disable {
        add(d, RuleAction::Off, format!("{file}: disable"), None)?;
    }
    for (area, list) in [
        ("docker", &cfg.docker.disable),
        ("terraform", &cfg.terraform.disable),
        ("image", &cfg.image.disable),
        ("license", &cfg.license.disable),
    ] {
        for d in list {
            add(
                d,
                RuleAction::Off,
                format!("{file}: {area}.disable"),
                Some(area),
            )?;
        }
    }
    // `k8s.disable` may also name custom policies' `policy/…` rules.
    for d in &cfg.k8s.disable {
        add(d, RuleAction::Off, format!("{file}: k8s.disable"), None)?;
    }
    for d in &cfg.secrets.disable {
        add(d, RuleAction::Off, format!("{file}: secrets.disable"), None)?;
    }
    for d in &common.skip_rule {
        add(d, RuleAction::Off, "--skip-rule".to_string(), None)?;
    }
    for d in &common.only_rule {
        sel.add_only(d, "--only-rule").map_err(anyhow::Error::msg)?;
    }
    Ok(sel)
}

/// Whether `sel` leaves no rule able to fail the gate `fail_on`: every known rule is
/// switched off or lowered below the gate.
fn neutralises_every_rule(sel: &RuleSelection, known: &[&str], fail_on: FailOn) -> bool {
    // Runtime and admission rules never fire in a repository scan: they do not count.
    let scanned: Vec<&&str> = known
        .iter()
        .filter(|id| !id.starts_with("runtime/") && !id.starts_with("admission/"))
        .collect();
    !scanned.is_empty()
        && scanned.iter().all(|id| {
            sel.off(id).is_some()
                || sel
                    .severity(id)
                    .is_some_and(|s| s != Severity::Unknown && !fail_on.trips(s))
        })
}

/// Refuse a repository configuration's rule selection (`disable`, `<area>.disable`,
/// `severity`) whole: together it would leave no rule able to fail the gate, and the
/// gate is the runner's.
fn refuse_repository_selection(cfg: &mut Config, summary: &mut ConfigSummary) {
    let mut keys: Vec<String> = Vec::new();
    for (pattern, sev) in std::mem::take(&mut cfg.severity) {
        keys.push(format!("severity.{pattern}: {sev}"));
    }
    for d in std::mem::take(&mut cfg.disable) {
        keys.push(format!("disable: {d}"));
    }
    for (area, list) in [
        ("docker", &mut cfg.docker.disable),
        ("terraform", &mut cfg.terraform.disable),
        ("image", &mut cfg.image.disable),
        ("license", &mut cfg.license.disable),
        ("k8s", &mut cfg.k8s.disable),
        ("secrets", &mut cfg.secrets.disable),
    ] {
        for d in std::mem::take(list) {
            keys.push(format!("{area}.disable: {d}"));
        }
    }
    summary.applied.retain(|a| !keys.contains(a));
    for key in keys {
        crate::say!(
            "warning: {} (repository config): `{key}` ignored: together with the file's other \
             rule selections it switches every rule off or below the gate; refused, every rule runs",
            summary.path
        );
        summary.refused.push(RefusedSetting {
            key,
            reason: "the repository's rule selections together switch every rule off or \
                     below the gate; refused, every rule runs"
                .into(),
        });
    }
}

impl Settings {
    /// Resolve settings for a scan rooted at `root` (a directory, a file, or `-`).
    ///
    /// The configuration is `--config FILE` or `RAMPART_CONFIG` (the runner's: every key
    /// applies), else `rampart.yaml` in the scanned root (the repository's: policy keys
    /// only, see [`rampart_core::config::REPOSITORY_KEYS`]), else none (`--no-config`).
    pub fn resolve(common: &CommonArgs, secrets: &SecretArgs, root: &Path) -> Result<Settings> {
        let config_root = if root.as_os_str() == "-" {
            PathBuf::from(".")
        } else if root.is_dir() {
            root.to_path_buf()
        } else {
            root.parent().map(Path::to_path_buf).unwrap_or_default()
        };
        let (config_path, mut cfg, mut config_summary) = load_config(common, &config_root)?;
        let respect_gitignore = !(common.no_ignore || cfg.no_ignore.unwrap_or(false));
        if let Some(summary) = config_summary.as_mut() {
            if summary.source == "repository" {
                weigh_repository_excludes(&mut cfg, summary, &config_root, respect_gitignore)?;
                announce(summary);
            }
        }

        let fail_on = match &common.fail_on {
            Some(s) => s
                .parse::<FailOn>()
                .map_err(|e| anyhow::anyhow!("--fail-on: {e}"))?,
            None => cfg.fail_on.unwrap_or_default(),
        };
        let fail_on_unknown = match &common.fail_on_unknown {
            Some(s) => s
                .parse::<FailOnUnknown>()
                .map_err(|e| anyhow::anyhow!("--fail-on-unknown: {e}"))?,
            None => cfg.fail_on_unknown.unwrap_or_default(),
        };
        let informational = cfg
            .vuln
            .informational
            .clone()
            .unwrap_or_else(|| rampart_core::config::InformationalKind::ALL.to_vec());
        let format_name = common
            .format
            .clone()
            .or(cfg.format.clone())
            .unwrap_or_else(|| "table".into());
        let format: Format = format_name
            .parse()
            .map_err(|e| anyhow::anyhow!("--format: {e}"))?;
        let mut outputs = Vec::new();
        let specs: Vec<String> = if common.output.is_empty() {
            cfg.output.clone()
        } else {
            common.output.clone()
        };
        for spec in &specs {
            outputs.push(parse_output(spec, format)?);
        }
        let mut walk = WalkOptions {
            respect_gitignore,
            max_file_size: common
                .max_file_size
                .or(cfg.max_file_size)
                .unwrap_or(rampart_core::walk::DEFAULT_MAX_FILE_SIZE),
            exclude: cfg.exclude.clone(),
            threads: common.threads.or(cfg.threads).unwrap_or(0),
        };
        walk.exclude.extend(common.exclude.iter().cloned());
        let (ignore_file, ignore_file_explicit) = match (&common.ignore_file, &cfg.ignore_file) {
            (Some(p), _) => (Some(p.clone()), true),
            (None, Some(p)) => (Some(p.clone()), true),
            (None, None) => (Some(config_root.join(IGNORE_FILE_NAME)), false),
        };
        // The default ignore file is repository content: a symlink out of the tree is
        // not read (and the run says so, as an error).
        let mut ignore_file_error = None;
        let ignore_file = match ignore_file {
            Some(p) if !ignore_file_explicit => match escapes_root(&p, &config_root) {
                Some(why) => {
                    ignore_file_error = Some(rampart_core::ScanError {
                        path: IGNORE_FILE_NAME.to_string(),
                        line: None,
                        message: format!("not read: {why}"),
                    });
                    None
                }
                None => Some(p),
            },
            other => other,
        };
        let rules = if secrets.rules.is_empty() {
            cfg.secrets.rules.clone()
        } else {
            secrets.rules.clone()
        };
        let color = match common.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            }
        };
        let min_severity = match &common.min_severity {
            Some(s) => match s.parse::<Severity>() {
                Ok(Severity::Unknown) | Err(_) => bail!(
                    "--min-severity: unknown severity `{s}` (expected critical, high, medium, low or info)"
                ),
                Ok(sev) => Some(sev),
            },
            None => None,
        };
        let mut selection = rule_selection(common, &cfg, config_path.as_deref())?;
        if !selection.is_empty() {
            // Checked before scanning: a typo is a configuration error, not a quiet no-op.
            let known = crate::commands::rules::known_rule_ids(&rules)?;
            let known: Vec<&str> = known.iter().map(String::as_str).collect();
            selection
                .check(&known)
                .map_err(|e| anyhow::anyhow!("rule selection: {e}"))?;
            if let Some(summary) = config_summary.as_mut().filter(|s| s.source == "repository") {
                let repo = rule_selection(&CommonArgs::default(), &cfg, config_path.as_deref())?;
                if neutralises_every_rule(&repo, &known, fail_on) {
                    refuse_repository_selection(&mut cfg, summary);
                    selection = rule_selection(common, &cfg, config_path.as_deref())?;
                }
            }
        }
        Ok(Settings {
            selection,
            min_severity,
            markdown_max_chars: match common.markdown_max_chars {
                Some(0) => None,
                Some(n) => Some(n),
                None => Some(rampart_report::markdown::GITHUB_COMMENT_LIMIT),
            },
            fail_on,
            fail_on_unknown,
            informational,
            format,
            outputs,
            walk,
            ignore_file,
            ignore_file_explicit,
            ignore_file_error,
            baseline: common.baseline.clone().or(cfg.baseline.clone()),
            fail_on_stale_ignores: common.fail_on_stale_ignores
                || cfg.fail_on_stale_ignores.unwrap_or(false),
            show_secrets: secrets.show_secrets || cfg.show_secrets.unwrap_or(false),
            allow_errors: common.allow_errors || cfg.allow_errors.unwrap_or(false),
            rules,
            disable: cfg.secrets.disable.clone(),
            quiet: common.quiet,
            show_suppressed: common.show_suppressed,
            color,
            config_path,
            config_summary,
            db: crate::commands::db::DbPath::default(),
            license: cfg.license.clone(),
            k8s: cfg.k8s,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_specs() {
        assert_eq!(
            parse_output("sarif=out.sarif", Format::Table).unwrap(),
            (Format::Sarif, PathBuf::from("out.sarif"))
        );
        assert_eq!(
            parse_output("r.xml", Format::Table).unwrap().0,
            Format::Junit
        );
        assert_eq!(parse_output("r.bin", Format::Json).unwrap().0, Format::Json);
        assert!(parse_output("pdf=x.pdf", Format::Table).is_err());
    }
}
