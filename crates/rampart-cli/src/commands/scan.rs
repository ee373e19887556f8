//! `rampart scan` and `rampart secrets`.

use crate::args::{ScanCmd, SecretArgs, SecretsCmd};
use crate::exit;
use crate::settings::Settings;
use anyhow::{bail, Context, Result};
use rampart_core::sink::Sink;
use rampart_core::suppress::baseline::Baseline;
use rampart_core::suppress::ignore_file::IgnoreFile;
use rampart_core::{Report, RuleMeta};
use rampart_report::{render, RenderOptions};
use rampart_secrets::rules::RuleSet;
use rampart_secrets::scan::ScanOutput;
use rampart_secrets::{ScanOptions, SecretScanner};
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What to scan.
enum Mode {
    Path(PathBuf),
    Stdin,
    Staged(PathBuf),
    History(PathBuf, Option<String>),
}

/// `rampart scan PATH`: every scanner that exists.
pub fn run_scan(cmd: ScanCmd) -> Result<u8> {
    run(
        Mode::Path(cmd.path.clone()),
        &cmd.common,
        &cmd.secrets,
        &cmd.path,
    )
}

/// `rampart secrets …`.
pub fn run_secrets(cmd: SecretsCmd) -> Result<u8> {
    let mode = if cmd.staged {
        Mode::Staged(cmd.path.clone())
    } else if cmd.git_history {
        Mode::History(cmd.path.clone(), cmd.since.clone())
    } else if cmd.path.as_os_str() == "-" {
        Mode::Stdin
    } else {
        Mode::Path(cmd.path.clone())
    };
    run(mode, &cmd.common, &cmd.secrets, &cmd.path)
}

/// Load the rule set the settings ask for: rule files instead of the built-ins when given.
pub fn load_rules(rule_files: &[PathBuf], disable: &[String]) -> Result<RuleSet> {
    let builtin = RuleSet::builtin().context("built-in rules failed to load")?;
    let mut set = if rule_files.is_empty() {
        builtin
    } else {
        let mut set = RuleSet::default();
        for f in rule_files {
            let loaded = load_rule_file(f, &builtin)?;
            set.merge(loaded)
                .with_context(|| format!("cannot combine rules from {}", f.display()))?;
        }
        set
    };
    set.disable(disable);
    Ok(set)
}

fn load_rule_file(path: &Path, builtin: &RuleSet) -> Result<RuleSet> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if ext == "toml" {
        return rampart_secrets::gitleaks::load_file(path, Some(builtin))
            .with_context(|| format!("cannot load gitleaks rules from {}", path.display()));
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read rule file {}", path.display()))?;
    let rules = rampart_secrets::rules::load_yaml(&text, &path.display().to_string())?;
    Ok(RuleSet {
        rules,
        global_allowlists: Vec::new(),
    })
}

fn run(
    mode: Mode,
    common: &crate::args::CommonArgs,
    secrets: &SecretArgs,
    root: &Path,
) -> Result<u8> {
    let started = Instant::now();
    if !matches!(mode, Mode::Stdin) && !root.exists() {
        bail!("{}: no such file or directory", root.display());
    }
    let settings = Settings::resolve(common, secrets, root)?;
    let set = load_rules(&settings.rules, &settings.disable)?;
    let scanner = SecretScanner::new(
        set,
        ScanOptions {
            show_secrets: settings.show_secrets,
            walk: settings.walk.clone(),
        },
    )?;
    let (target, output, full_scan) = match &mode {
        Mode::Path(p) => (
            p.display().to_string(),
            scanner
                .scan_path(p)
                .with_context(|| format!("cannot scan {}", p.display()))?,
            true,
        ),
        Mode::Stdin => ("-".to_string(), scan_stdin(&scanner, &settings)?, false),
        Mode::Staged(p) => (
            format!("staged:{}", p.display()),
            rampart_secrets::git::scan_staged(&scanner, p)?,
            false,
        ),
        Mode::History(p, since) => (
            match since {
                Some(s) => format!("git-history:{}@{s}..HEAD", p.display()),
                None => format!("git-history:{}", p.display()),
            },
            rampart_secrets::git::scan_history(&scanner, p, since.as_deref())?,
            false,
        ),
    };
    let mut report = Report::new(target, vec!["secrets".into()]);
    output.merge_into(&mut report);

    let ignore_file = match &settings.ignore_file {
        Some(p) if p.is_file() => Some(IgnoreFile::load(p)?),
        Some(p) if settings.ignore_file_explicit => {
            bail!("ignore file {} does not exist", p.display())
        }
        _ => None,
    };
    let baseline = match &settings.baseline {
        Some(p) => Some(Baseline::load(p).context("cannot load baseline")?),
        None => None,
    };
    let metas: HashMap<String, RuleMeta> = scanner
        .metas()
        .into_iter()
        .map(|m| (m.id.clone(), m))
        .collect();
    let sink = Sink {
        severity_overrides: settings.severity.clone(),
        ignore_file,
        baseline,
        fail_on: settings.fail_on,
        report_stale: full_scan,
    };
    report.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    sink.finish(&mut report, |id| metas.get(id).cloned());

    let opts = RenderOptions {
        color: settings.color,
        show_suppressed: settings.show_suppressed,
    };
    for (fmt, path) in &settings.outputs {
        let text = render(
            &report,
            *fmt,
            &RenderOptions {
                color: false,
                ..opts
            },
        )?;
        std::fs::write(path, text)
            .with_context(|| format!("cannot write report {}", path.display()))?;
    }
    for e in &report.errors {
        eprintln!("warning: {e}");
    }
    for s in &report.stale_ignores {
        eprintln!(
            "warning: stale ignore {} ({}): {}",
            s.source, s.rule, s.message
        );
    }
    if !settings.quiet {
        crate::stdout(&render(&report, settings.format, &opts)?)?;
    }
    let stale_gate = settings.fail_on_stale_ignores && !report.stale_ignores.is_empty();
    Ok(if report.summary.gate_failed || stale_gate {
        exit::GATE_FAILED
    } else {
        exit::CLEAN
    })
}

fn scan_stdin(scanner: &SecretScanner, settings: &Settings) -> Result<ScanOutput> {
    let limit = settings.walk.max_file_size;
    let mut buf = Vec::new();
    std::io::stdin()
        .lock()
        .take(limit + 1)
        .read_to_end(&mut buf)
        .context("cannot read standard input")?;
    if buf.len() as u64 > limit {
        bail!("standard input is over the {limit} byte limit (--max-file-size)");
    }
    let (findings, _) = scanner.scan_buffer("<stdin>", &buf, false);
    Ok(ScanOutput {
        findings,
        files_scanned: 1,
        bytes_scanned: buf.len() as u64,
        ..ScanOutput::default()
    })
}
