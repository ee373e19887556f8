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
use rampart_core::{Report, RuleMeta, ScanError};
use rampart_sca::scan::{findings, meta_of, scan_dir_detailed, MatchOptions, ScanOutput};
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

fn scan(root: &Path, settings: &Settings, raise_limit: bool) -> Result<ScanOutput> {
    let mut walk = settings.walk.clone();
    if raise_limit {
        walk.max_file_size = walk
            .max_file_size
            .max(rampart_sca::lockfile::MAX_LOCKFILE_SIZE);
    }
    scan_dir_detailed(root, &walk).with_context(|| format!("cannot scan {}", root.display()))
}

/// Run `rampart deps`.
pub fn run(cmd: DepsCmd) -> Result<u8> {
    let started = Instant::now();
    if !cmd.path.exists() {
        bail!("{}: no such file or directory", cmd.path.display());
    }
    let settings = Settings::resolve(&cmd.common, &SecretArgs::default(), &cmd.path)?;
    let out = match &cmd.sbom {
        Some(sbom) => ScanOutput {
            inventory: rampart_sca::sbom::read(sbom)
                .with_context(|| format!("cannot read SBOM {}", sbom.display()))?,
            notes: Vec::new(),
            files_scanned: 1,
        },
        None => scan(&cmd.path, &settings, cmd.common.max_file_size.is_none())?,
    };
    if !settings.quiet {
        for n in &out.notes {
            crate::say!("note: {n}");
        }
    }
    if cmd.list {
        return list(&out, &cmd.common);
    }
    let vex = load_vex(&cmd.vex)?;
    let db_path = cmd.db.resolve();
    if !db_path.exists() {
        crate::say!("error: {}", no_db_message(&db_path));
        return Ok(exit::ERROR);
    }
    let db = cmd.db.open_for_scan(&ecosystems_of(&out.inventory))?;
    let opts = MatchOptions {
        ignore_unfixed: cmd.ignore_unfixed,
        vex,
    };
    let mut found = findings(&db, &out.inventory, &opts)?;
    keep_informational(&mut found, &settings.informational, &cmd.skip_informational);
    let mut metas: HashMap<String, RuleMeta> = found
        .iter()
        .map(|f| (f.rule_id.clone(), meta_of(f)))
        .collect();
    let enrich = cmd.sbom.is_none().then_some(cmd.path.as_path());
    found.extend(license_findings(&out.inventory, enrich, &settings)?);
    for m in rampart_sca::license::metas() {
        metas.entry(m.id.clone()).or_insert(m);
    }
    let target = match &cmd.sbom {
        Some(s) => format!("sbom:{}", s.display()),
        None => cmd.path.display().to_string(),
    };
    let mut report = Report::new(target, vec!["deps".into()]);
    report.findings = found;
    report.errors = out.inventory.errors.clone();
    report.summary.files_scanned = out.files_scanned;
    report.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    crate::commands::output::finish(report, &settings, true, |id| metas.get(id).cloned())
}

/// Drop informational advisories (findings with a `kind` property: `unmaintained` …)
/// whose kind is not in `keep` or is in `skip`. Vulnerabilities are never dropped here.
fn keep_informational(
    found: &mut Vec<rampart_core::Finding>,
    keep: &[rampart_core::config::InformationalKind],
    skip: &[rampart_core::config::InformationalKind],
) {
    found.retain(|f| {
        let Some(kind) = f.properties.get("kind").and_then(|k| k.as_str()) else {
            return true;
        };
        let listed =
            |l: &[rampart_core::config::InformationalKind]| l.iter().any(|k| k.as_str() == kind);
        // A kind Rampart does not know is kept (never silently dropped).
        let known = rampart_core::config::InformationalKind::ALL
            .iter()
            .any(|k| k.as_str() == kind);
        !known || (listed(keep) && !listed(skip))
    });
}

/// The ecosystems of the inventory's packages (OSV names).
fn ecosystems_of(inv: &rampart_sca::inventory::Inventory) -> Vec<String> {
    let mut e: Vec<String> = inv
        .lockfiles
        .iter()
        .flat_map(|l| l.packages.iter().map(|p| p.ecosystem.clone()))
        .collect();
    e.sort();
    e.dedup();
    e
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

/// What `rampart scan` gets from dependency scanning. Without a vulnerability database
/// the packages are still parsed (lockfile errors are reported) and one entry in
/// `errors` says that vulnerability matching was skipped and how to create a database
/// (so the run exits 2 unless `--allow-errors`: the packages were not checked). A tree
/// without packages needs no database.
pub fn scan_part(root: &Path, settings: &Settings) -> Result<ScanPart> {
    let out = scan(root, settings, false)?;
    let mut errors = out.inventory.errors.clone();
    let licences = license_findings(&out.inventory, Some(root), settings)?;
    let db_path = settings.db.resolve();
    let has_packages = out
        .inventory
        .lockfiles
        .iter()
        .any(|l| !l.packages.is_empty());
    if !has_packages {
        // Nothing to match: no database needed, nothing left unchecked.
        return Ok(ScanPart {
            scanner: "deps",
            findings: licences,
            errors,
            metas: rampart_sca::license::metas(),
        });
    }
    if !db_path.exists() {
        errors.push(ScanError {
            path: db_path.display().to_string(),
            line: None,
            message: format!(
                "dependency vulnerabilities not checked: {}",
                no_db_message(&db_path)
            ),
        });
        return Ok(ScanPart {
            scanner: "deps",
            findings: licences,
            errors,
            metas: rampart_sca::license::metas(),
        });
    }
    let db = match settings.db.open_for_scan(&ecosystems_of(&out.inventory)) {
        Ok(db) => db,
        Err(e) => {
            // Not checked is an error (exit 2 unless --allow-errors), never "no findings".
            errors.push(ScanError {
                path: db_path.display().to_string(),
                line: None,
                message: format!("dependency vulnerabilities not checked: {e:#}"),
            });
            return Ok(ScanPart {
                scanner: "deps",
                findings: licences,
                errors,
                metas: rampart_sca::license::metas(),
            });
        }
    };
    let mut found = findings(&db, &out.inventory, &MatchOptions::default())?;
    keep_informational(&mut found, &settings.informational, &[]);
    found.extend(licences);
    let mut metas: Vec<RuleMeta> = rampart_sca::license::metas();
    let mut seen = std::collections::HashSet::new();
    for f in &found {
        if seen.insert(f.rule_id.clone()) {
            metas.push(meta_of(f));
        }
    }
    Ok(ScanPart {
        scanner: "deps",
        findings: found,
        errors,
        metas,
    })
}

/// Licence-policy findings (`license:` in rampart.yaml) for an inventory. With `root`,
/// licences missing from the lockfiles are filled in from installed metadata under it
/// (node_modules, site-packages) and from the cargo registry, as `rampart sbom` does;
/// packages found only in installed metadata are checked too.
fn license_findings(
    inventory: &rampart_sca::inventory::Inventory,
    root: Option<&Path>,
    settings: &Settings,
) -> Result<Vec<rampart_core::Finding>> {
    use rampart_sca::installed;
    let mut inv = inventory.clone();
    if let Some(root) = root {
        if root.is_dir() {
            let found = installed::scan_installed(root, installed::Limits::default());
            installed::merge(&mut inv, found);
        }
        if let Some(home) = installed::cargo_home() {
            installed::fill_from_cargo_registry(&mut inv, &home);
        }
    }
    if let Some(root) = root {
        // The walker honours `exclude`; installed metadata is read by its own reader.
        let matcher = rampart_core::walk::ExcludeMatcher::new(root, &settings.walk.exclude)?;
        for l in &mut inv.lockfiles {
            l.packages.retain(|p| {
                p.source
                    .as_ref()
                    .is_none_or(|s| !matcher.is_excluded(&s.path))
            });
        }
    }
    rampart_sca::license::checked_findings(&inv, &settings.license)
        .map_err(|e| anyhow::anyhow!("license policy in rampart.yaml: {e}"))
}
