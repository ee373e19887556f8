//! Effective settings: `rampart.yaml` merged with command-line flags (flags win).

use crate::args::{ColorChoice, CommonArgs, SecretArgs};
use anyhow::{bail, Context, Result};
use rampart_core::config::Config;
use rampart_core::severity::{FailOn, Severity};
use rampart_core::suppress::ignore_file::IGNORE_FILE_NAME;
use rampart_core::walk::WalkOptions;
use rampart_report::Format;
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// Everything a scanning command needs.
#[derive(Debug)]
pub struct Settings {
    /// Gate.
    pub fail_on: FailOn,
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
    /// Baseline report.
    pub baseline: Option<PathBuf>,
    /// Exit 1 on stale ignores.
    pub fail_on_stale_ignores: bool,
    /// Show secrets in full.
    pub show_secrets: bool,
    /// Severity overrides.
    pub severity: BTreeMap<String, Severity>,
    /// Rule files replacing the built-ins.
    pub rules: Vec<PathBuf>,
    /// Rules to disable.
    pub disable: Vec<String>,
    /// Print nothing on stdout.
    pub quiet: bool,
    /// Show suppressed findings in the table.
    pub show_suppressed: bool,
    /// Colour the table.
    pub color: bool,
    /// The config file used, if any.
    pub config_path: Option<PathBuf>,
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

impl Settings {
    /// Resolve settings for a scan rooted at `root` (a directory, a file, or `-`).
    pub fn resolve(common: &CommonArgs, secrets: &SecretArgs, root: &Path) -> Result<Settings> {
        let config_root = if root.as_os_str() == "-" {
            PathBuf::from(".")
        } else if root.is_dir() {
            root.to_path_buf()
        } else {
            root.parent().map(Path::to_path_buf).unwrap_or_default()
        };
        let (config_path, cfg) = match &common.config {
            Some(p) => (
                Some(p.clone()),
                Config::load(p).with_context(|| "cannot load configuration")?,
            ),
            None => match Config::discover(&config_root)? {
                Some((p, c)) => (Some(p), c),
                None => (None, Config::default()),
            },
        };
        // Relative paths in the config file are relative to the file.
        let cfg_dir = config_path
            .as_deref()
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_else(|| config_root.clone());
        let rel = |p: &PathBuf| {
            if p.is_absolute() {
                p.clone()
            } else {
                cfg_dir.join(p)
            }
        };

        let fail_on = match &common.fail_on {
            Some(s) => s
                .parse::<FailOn>()
                .map_err(|e| anyhow::anyhow!("--fail-on: {e}"))?,
            None => cfg.fail_on.unwrap_or_default(),
        };
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
            respect_gitignore: !(common.no_ignore || cfg.no_ignore.unwrap_or(false)),
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
            (None, Some(p)) => (Some(rel(p)), true),
            (None, None) => (Some(config_root.join(IGNORE_FILE_NAME)), false),
        };
        let rules = if secrets.rules.is_empty() {
            cfg.secrets.rules.iter().map(rel).collect()
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
        Ok(Settings {
            fail_on,
            format,
            outputs,
            walk,
            ignore_file,
            ignore_file_explicit,
            baseline: common.baseline.clone().or(cfg.baseline.as_ref().map(rel)),
            fail_on_stale_ignores: common.fail_on_stale_ignores
                || cfg.fail_on_stale_ignores.unwrap_or(false),
            show_secrets: secrets.show_secrets || cfg.show_secrets.unwrap_or(false),
            severity: cfg.severity.clone(),
            rules,
            disable: cfg.secrets.disable.clone(),
            quiet: common.quiet,
            show_suppressed: common.show_suppressed,
            color,
            config_path,
            license: cfg.license.clone(),
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
