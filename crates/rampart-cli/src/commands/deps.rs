//! `rampart deps`: lockfiles → packages → known vulnerabilities (local OSV database),
//! with VEX suppressions; `--list` prints the inventory without a database.

#![allow(clippy::print_stderr)]

use crate::args::{CommonArgs, SecretArgs};
use crate::commands::db::DbPath;
use crate::commands::part::ScanPart;
use crate::exit;
use crate::settings::Settings;
use anyhow::{bail, Context, Result};
use clap::Args;
use rampart_core::package::VulnMatcher;
use rampart_core::walk::Tree;
use rampart_core::{Report, RuleMeta, ScanError};
use rampart_sca::deps::{self as pipeline, DepsOptions};
use rampart_sca::scan::{MatchOptions, ScanOutput};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// `rampart deps`.
#[derive(Debug, Args)]
pub struct DepsCmd {
    /// Directory (searched for lockfiles) or one lockfile.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Database location.
    #[command(flatten)]
    pub db: DbPath,
    /// Leave out vulnerabilities that have no fixed version.
    #[arg(long)]
    pub ignore_unfixed: bool,
    /// OpenVEX JSON document; `not_affected` and `fixed` statements suppress the
    /// matching findings (justification kept in the report). Repeatable.
    #[arg(long, value_name = "FILE")]
    pub vex: Vec<PathBuf>,
    /// Scan this CycloneDX or SPDX JSON SBOM (e.g. made by syft or Trivy) instead of
    /// searching PATH for lockfiles.
    #[arg(long, value_name = "FILE")]
    pub sbom: Option<PathBuf>,
    /// Leave out informational advisories of this kind (`unsound`, `unmaintained`,
    /// `notice`; RustSec). Repeatable; `vuln.informational` in rampart.yaml lists the
    /// kinds to keep.
    #[arg(long, value_name = "KIND")]
    pub skip_informational: Vec<rampart_core::config::InformationalKind>,
    /// Print the package inventory (table, or JSON with `--format json`) and stop; no
    /// database needed.
    #[arg(long)]
    pub list: bool,
    /// Report options.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Message when the database file does not exist.
fn no_db_message(path: &Path) -> String {
    format!(
        "no vulnerability database at {}: create one with `rampart db update` (downloads the OSV \
         data) or `rampart db import PATH...` (OSV JSON directories or all.zip archives), or \
         point --db / RAMPART_DB at an existing one",
        path.display()
    )
}

/// The pipeline's options from the settings (`raise_limit`: lockfiles may be larger than
/// the walk's default file-size limit when the user did not set one).
fn options(settings: &Settings, raise_limit: bool, matching: MatchOptions) -> DepsOptions {
    DepsOptions {
        walk: settings.walk.clone(),
        raise_size_limit: raise_limit,
        matching,
        informational: settings.informational.clone(),
        skip_informational: Vec::new(),
        license: settings.license.clone(),
    }
}

/// Run `rampart deps`.
pub fn run(cmd: DepsCmd) -> Result<u8> {
    let started = Instant::now();
    if !cmd.path.exists() {
        bail!("{}: no such file or directory", cmd.path.display());
    }
    let settings = Settings::resolve(&cmd.common, &SecretArgs::default(), &cmd.path)?;
    let mut opts = options(
        &settings,
        cmd.common.max_file_size.is_none(),
        MatchOptions {
            ignore_unfixed: cmd.ignore_unfixed,
            vex: Vec::new(),
        },
    );
    opts.skip_informational = cmd.skip_informational.clone();
    let out = match &cmd.sbom {
        Some(sbom) => ScanOutput {
            inventory: rampart_sca::sbom::read(sbom)
                .with_context(|| format!("cannot read SBOM {}", sbom.display()))?,
            notes: Vec::new(),
            files_scanned: 1,
        },
        None => pipeline::inventory(&cmd.path, &opts.walk, opts.raise_size_limit)
            .with_context(|| format!("cannot scan {}", cmd.path.display()))?,
    };
    if !settings.quiet {
        for n in &out.notes {
            crate::say!("note: {n}");
        }
    }
    if cmd.list {
        return list(&out, &cmd.common);
    }
    opts.matching.vex = load_vex(&cmd.vex)?;
    let db_path = cmd.db.resolve();
    if !db_path.exists() {
        crate::say!("error: {}", no_db_message(&db_path));
        return Ok(exit::ERROR);
    }
    // `rampart deps` insists on a usable database even for an empty inventory.
    let db = cmd
        .db
        .open_for_scan(&pipeline::ecosystems(&out.inventory))?;
    let enrich = cmd.sbom.is_none().then_some(cmd.path.as_path());
    let part = pipeline::part_of(&out.inventory, enrich, &opts, &|_| {
        Ok(Box::new(&db) as Box<dyn VulnMatcher + '_>)
    })?;
    let metas: HashMap<String, RuleMeta> =
        part.metas.into_iter().map(|m| (m.id.clone(), m)).collect();
    let target = match &cmd.sbom {
        Some(s) => format!("sbom:{}", s.display()),
        None => cmd.path.display().to_string(),
    };
    let mut report = Report::new(target, vec!["deps".into()]);
    report.findings = part.findings;
    report.errors = part.errors;
    report.summary.files_scanned = out.files_scanned;
    report.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    crate::commands::output::finish(report, &settings, true, |id| metas.get(id).cloned())
}

fn load_vex(files: &[PathBuf]) -> Result<Vec<rampart_sca::vex::Statement>> {
    let mut out = Vec::new();
    for f in files {
        out.extend(rampart_sca::vex::load(f)?);
    }
    Ok(out)
}

fn list(out: &ScanOutput, common: &CommonArgs) -> Result<u8> {
    for e in &out.inventory.errors {
        crate::say!("warning: {e}");
    }
    match common.format.as_deref() {
        Some("json") => {
            let mut v = serde_json::json!({ "lockfiles": out.inventory.lockfiles });
            if !out.inventory.errors.is_empty() {
                v["errors"] = serde_json::to_value(&out.inventory.errors)?;
            }
            if !out.notes.is_empty() {
                v["notes"] = serde_json::to_value(&out.notes)?;
            }
            let text = serde_json::to_string_pretty(&v)?;
            crate::stdout(&text)?;
        }
        None | Some("table") => {
            let mut s = String::new();
            for l in &out.inventory.lockfiles {
                let paths = rampart_sca::graph::Paths::of(l);
                let _ = writeln!(s, "{} ({}, {} packages)", l.path, l.kind, l.packages.len());
                for p in &l.packages {
                    let line = p
                        .source
                        .as_ref()
                        .and_then(|s| s.line)
                        .map(|l| l.to_string())
                        .unwrap_or_else(|| "-".into());
                    let rel = match p.direct {
                        Some(true) => "direct".to_string(),
                        Some(false) => match paths.via(&p.key()) {
                            Some(v) => format!("via {v}"),
                            None => "transitive".to_string(),
                        },
                        None => String::new(),
                    };
                    let dev = if p.dev { " [dev]" } else { "" };
                    let _ = writeln!(
                        s,
                        "  {line:>5}  {:<10} {} {}  {rel}{dev}",
                        p.ecosystem, p.name, p.version
                    );
                }
            }
            let total: usize = out
                .inventory
                .lockfiles
                .iter()
                .map(|l| l.packages.len())
                .sum();
            let _ = write!(
                s,
                "{} packages in {} lockfiles",
                total,
                out.inventory.lockfiles.len()
            );
            crate::stdout(&s)?;
        }
        Some(other) => bail!("--list: format `{other}` is not supported (table or json)"),
    }
    if !out.inventory.errors.is_empty() && !common.allow_errors {
        crate::say!(
            "error: {} lockfile problem(s): the inventory is incomplete; exiting 2 \
             (--allow-errors to accept)",
            out.inventory.errors.len()
        );
        return Ok(exit::ERROR);
    }
    Ok(exit::CLEAN)
}

/// What `rampart scan` gets from dependency scanning, on the tree it walked once.
/// Without a vulnerability database the packages are still parsed (lockfile errors are
/// reported) and one entry in `errors` says that vulnerability matching was skipped and
/// how to create a database (so the run exits 2 unless `--allow-errors`: the packages
/// were not checked). A tree without packages needs no database.
pub fn scan_tree_part(tree: &Tree, settings: &Settings) -> Result<ScanPart> {
    let opts = options(settings, false, MatchOptions::default());
    Ok(pipeline::scan_tree(tree, &opts, &db_opener(settings))?)
}

/// Opens the database for the ecosystems found; a missing or unusable database is the
/// error "dependency vulnerabilities not checked" (exit 2 unless --allow-errors), never
/// "no findings".
fn db_opener<'a>(
    settings: &'a Settings,
) -> impl Fn(&[String]) -> Result<Box<dyn VulnMatcher + 'a>, ScanError> + 'a {
    move |ecosystems: &[String]| {
        let db_path = settings.db.resolve();
        let not_checked = |message: String| ScanError {
            path: db_path.display().to_string(),
            line: None,
            message: format!("dependency vulnerabilities not checked: {message}"),
        };
        if !db_path.exists() {
            return Err(not_checked(no_db_message(&db_path)));
        }
        match settings.db.open_for_scan(ecosystems) {
            Ok(db) => Ok(Box::new(db) as Box<dyn VulnMatcher + 'a>),
            Err(e) => Err(not_checked(format!("{e:#}"))),
        }
    }
}
