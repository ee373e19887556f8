//! `rampart scan` and `rampart secrets`.

use crate::args::{ScanCmd, SecretArgs, SecretsCmd};
use crate::commands::part::ScanPart;
use crate::settings::Settings;
use anyhow::{bail, Context, Result};
use rampart_core::walk::Tree;
use rampart_core::{Report, RuleMeta};
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
        Some(&cmd.db),
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
    run(mode, &cmd.common, &cmd.secrets, &cmd.path, None)
}

/// Load the rule set the settings ask for: the built-in rules (unless `with_builtin` is
/// false, `--no-builtin-rules`) plus the rule files, minus the disabled rules.
pub fn load_rules(
    rule_files: &[PathBuf],
    disable: &[String],
    with_builtin: bool,
) -> Result<RuleSet> {
    let mut set = RuleSet::load(rule_files, with_builtin).context("cannot load secret rules")?;
    set.disable(disable);
    Ok(set)
}

fn run(
    mode: Mode,
    common: &crate::args::CommonArgs,
    secrets: &SecretArgs,
    root: &Path,
    all_scanners: Option<&crate::commands::db::DbPath>,
) -> Result<u8> {
    let started = Instant::now();
    if !matches!(mode, Mode::Stdin) && !root.exists() {
        bail!("{}: no such file or directory", root.display());
    }
    let mut settings = Settings::resolve(common, secrets, root)?;
    if let Some(db) = all_scanners {
        settings.db = db.clone();
    }
    let set = load_rules(
        &settings.rules,
        &settings.disable,
        !secrets.no_builtin_rules,
    )?;
    let scanner = SecretScanner::new(
        set,
        ScanOptions {
            show_secrets: settings.show_secrets,
            walk: settings.walk.clone(),
        },
    )?;
    let mut parts = Vec::new();
    let (target, output, full_scan) = match &mode {
        Mode::Path(p) if all_scanners.is_some() => {
            let (output, others) = scan_all(p, &settings, &scanner)?;
            parts = others;
            (p.display().to_string(), output, true)
        }
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
    note_gitignored(&output.ignored);
    output.merge_into(&mut report);

    let mut metas: HashMap<String, RuleMeta> = scanner
        .metas()
        .into_iter()
        .map(|m| (m.id.clone(), m))
        .collect();
    for part in parts {
        merge_part(&mut report, &mut metas, part?);
    }
    report.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    crate::commands::output::finish(report, &settings, full_scan, |id| metas.get(id).cloned())
}

/// Name the untracked paths git ignores that the secret scan skipped (at most 20).
fn note_gitignored(ignored: &[String]) {
    if ignored.is_empty() {
        return;
    }
    let shown: Vec<&str> = ignored.iter().take(20).map(String::as_str).collect();
    let more = ignored.len().saturating_sub(shown.len());
    crate::say!(
        "note: {} untracked path(s) ignored by git not scanned (--no-ignore scans them): {}{}",
        ignored.len(),
        shown.join(", "),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        }
    );
}

/// `rampart scan PATH`: the tree is walked once (git asked once) and every scanner reads
/// the files it wants from that one list, the scanners running side by side on the
/// worker pool (`--threads`). Returns the secret scan and the other scanners' parts, in
/// report order (deps, k8s, iac, image).
fn scan_all(
    root: &Path,
    settings: &Settings,
    secrets: &SecretScanner,
) -> Result<(ScanOutput, Vec<Result<ScanPart>>)> {
    let tree = Tree::collect(root, &settings.walk)
        .with_context(|| format!("cannot scan {}", root.display()))?;
    let work = || {
        let ((output, deps), ((k8s, iac), image)) = rayon::join(
            || {
                rayon::join(
                    || secrets.scan_tree(&tree),
                    || crate::commands::deps::scan_tree_part(&tree, settings),
                )
            },
            || {
                rayon::join(
                    || {
                        rayon::join(
                            || crate::commands::k8s::scan_part(&tree, settings),
                            || Ok(crate::commands::iac::scan_part(&tree)),
                        )
                    },
                    || crate::commands::image::scan_part(root, settings, Some(secrets)),
                )
            },
        );
        (output, vec![deps, k8s, iac, image])
    };
    let threads = settings.walk.threads;
    let out = if threads == 0 {
        work()
    } else {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .context("cannot start the worker threads")?
            .install(work)
    };
    Ok(out)
}

/// Merge one scanner's part into the combined report.
fn merge_part(report: &mut Report, metas: &mut HashMap<String, RuleMeta>, part: ScanPart) {
    report.scanners.push(part.scanner.to_string());
    report.findings.extend(part.findings);
    report.errors.extend(part.errors);
    for m in part.metas {
        metas.entry(m.id.clone()).or_insert(m);
    }
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
    // A Secret manifest on stdin that does not parse was not checked: an error (exit 2).
    let (findings, _, errors) =
        scanner.scan_buffer_checked(rampart_secrets::k8s::STDIN_NAME, &buf, false);
    Ok(ScanOutput {
        findings,
        errors,
        files_scanned: 1,
        bytes_scanned: buf.len() as u64,
        ..ScanOutput::default()
    })
}
