//! `rampart db import|update|status`: the local vulnerability database.

use crate::exit;
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use rampart_vuln::db::default_path;
use rampart_vuln::import::RecordProblem;
use rampart_vuln::update::{EcosystemUpdate, UpdateOptions, UpdateStatus};
use rampart_vuln::{Db, ImportOptions, ImportReport};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `rampart db …`.
#[derive(Debug, Subcommand)]
pub enum DbCmd {
    /// Import OSV records: directories of OSV JSON/YAML files, osv.dev `all.zip`
    /// archives, RustSec advisories (Markdown) or Alpine secdb YAML. Atomic: on error the
    /// database is left as it was. A rejected record is reported and the rest imported
    /// (exit 0; exit 2 with --strict, or when nothing was imported); JSON that is not an
    /// OSV record is skipped with a note.
    Import {
        /// Directories, files or `.zip` archives.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Database location.
        #[command(flatten)]
        db: DbPath,
        /// Exit 2 when any record is rejected, and also reject records with linter
        /// warnings (RNG:002, same version in two events).
        #[arg(long)]
        strict: bool,
        /// Skip OSV JSON Schema validation (faster; malformed records may import).
        #[arg(long)]
        no_schema: bool,
        /// `text` or `json`.
        #[arg(long, default_value = "text")]
        format: String,
    },
    /// Download osv.dev's per-ecosystem `all.zip` archives and import them. Unchanged
    /// ecosystems (ETag / Last-Modified) are not downloaded again. Each ecosystem is
    /// imported atomically; a failing one is reported, the others continue (exit 2).
    Update {
        /// Base URL; archives are fetched from `{base}/{ecosystem}/all.zip`.
        #[arg(long, value_name = "URL", default_value = rampart_vuln::update::DEFAULT_BASE_URL)]
        base_url: String,
        /// OSV ecosystem to fetch (repeatable or comma-separated; default: what the
        /// scanners need: crates.io, Go, Hex, Maven, npm, NuGet, Packagist, Pub, PyPI,
        /// RubyGems and the distributions `rampart image` recognises: AlmaLinux, Alpine,
        /// Azure Linux, Chainguard, Debian, Photon OS, Red Hat, Rocky Linux, SUSE,
        /// Ubuntu, Wolfi, openSUSE).
        #[arg(long = "ecosystem", value_name = "NAME", value_delimiter = ',')]
        ecosystems: Vec<String>,
        /// With the default list: only the language ecosystems, no distributions (enough
        /// for `rampart deps`/`scan`; images' OS packages are then reported unchecked).
        #[arg(long, conflicts_with = "ecosystems")]
        languages_only: bool,
        /// Largest archive accepted per ecosystem (bytes; K, M, G suffixes).
        #[arg(long, value_name = "SIZE", default_value = "2G", value_parser = parse_size)]
        max_size: u64,
        /// Give up on one ecosystem's download after this many seconds.
        #[arg(long, value_name = "SECS", default_value_t = 1800)]
        timeout: u64,
        /// Download every ecosystem again, ignoring stored ETags.
        #[arg(long)]
        force: bool,
        /// CA certificates (PEM) trusted for HTTPS instead of the system's (a mirror
        /// behind a corporate CA).
        #[arg(long, value_name = "FILE")]
        ca_file: Option<std::path::PathBuf>,
        /// Database location.
        #[command(flatten)]
        db: DbPath,
        /// Also reject records with linter warnings (RNG:002).
        #[arg(long)]
        strict: bool,
        /// Skip OSV JSON Schema validation.
        #[arg(long)]
        no_schema: bool,
        /// `text` or `json`.
        #[arg(long, default_value = "text")]
        format: String,
    },
    /// Show the database: ecosystems, record counts and age.
    Status {
        /// Database location.
        #[command(flatten)]
        db: DbPath,
        /// `text` or `json`.
        #[arg(long, default_value = "text")]
        format: String,
    },
}

/// Where the database is.
#[derive(Debug, Args, Clone, Default)]
pub struct DbPath {
    /// Database file (default: $RAMPART_DB, else $XDG_CACHE_HOME/rampart/vuln.db or
    /// ~/.cache/rampart/vuln.db).
    #[arg(long = "db", value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Largest database age a scan accepts (7d, 12h, 3600, or `none`; default: 7d, or
    /// $RAMPART_MAX_DB_AGE). An older database is an error: update it.
    #[arg(long = "max-db-age", value_name = "AGE")]
    pub max_db_age: Option<String>,
}

impl DbPath {
    /// The database file to use.
    pub fn resolve(&self) -> PathBuf {
        self.db
            .clone()
            .or_else(|| {
                std::env::var_os("RAMPART_DB")
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from)
            })
            .unwrap_or_else(default_path)
    }

    /// The largest database age a scan accepts (`None`: any).
    pub fn max_age(&self) -> Result<Option<Duration>> {
        let spec = self.max_db_age.clone().or_else(|| {
            std::env::var("RAMPART_MAX_DB_AGE")
                .ok()
                .filter(|v| !v.trim().is_empty())
        });
        match spec {
            None => Ok(Some(rampart_vuln::fresh::DEFAULT_MAX_AGE)),
            Some(s) => rampart_vuln::fresh::parse_max_age(&s)
                .map_err(|e| anyhow::anyhow!("--max-db-age: {e}")),
        }
    }

    /// Open the database for a scan of packages of `ecosystems`, refusing one that is
    /// empty, older than the allowed age or without data for one of them: the error names
    /// what is wrong and the `rampart db update` command that fixes it.
    pub fn open_for_scan(&self, ecosystems: &[String]) -> Result<Db> {
        let path = self.resolve();
        let max_age = self.max_age()?;
        let db =
            Db::open_existing(&path).with_context(|| format!("cannot open {}", path.display()))?;
        let problems = rampart_vuln::fresh::check(&db, ecosystems, max_age)?;
        if problems.is_empty() {
            return Ok(db);
        }
        let what: Vec<String> = problems.iter().map(ToString::to_string).collect();
        let ecos = rampart_vuln::fresh::update_ecosystems(&problems, ecosystems);
        let mut cmd = String::from("rampart db update");
        if !ecos.is_empty() {
            cmd.push_str(&format!(" --ecosystem {}", ecos.join(",")));
        }
        if self.db.is_some() {
            cmd.push_str(&format!(" --db {}", path.display()));
        }
        bail!(
            "{} ({}): run `{cmd}`{}",
            what.join("; "),
            path.display(),
            if problems
                .iter()
                .any(|p| matches!(p, rampart_vuln::fresh::Problem::Stale { .. }))
            {
                " (or accept an older database with --max-db-age)"
            } else {
                ""
            }
        )
    }
}

/// Run a `db` subcommand.
pub fn run(cmd: DbCmd) -> Result<u8> {
    match cmd {
        DbCmd::Import {
            paths,
            db,
            strict,
            no_schema,
            format,
        } => import(&paths, &db.resolve(), strict, no_schema, &format),
        DbCmd::Update {
            base_url,
            ecosystems,
            languages_only,
            max_size,
            timeout,
            force,
            ca_file,
            db,
            strict,
            no_schema,
            format,
        } => {
            let mut opts = UpdateOptions {
                base_url,
                max_bytes: max_size,
                total_timeout: Duration::from_secs(timeout.max(1)),
                force,
                ca_file,
                import: ImportOptions {
                    validate_schema: !no_schema,
                    strict,
                },
                ..UpdateOptions::default()
            };
            if languages_only {
                opts.ecosystems = rampart_vuln::update::LANGUAGE_ECOSYSTEMS
                    .iter()
                    .map(|s| s.to_string())
                    .collect();
            }
            if !ecosystems.is_empty() {
                opts.ecosystems = ecosystems;
            }
            update(&opts, &db.resolve(), &format)
        }
        DbCmd::Status { db, format } => status(&db.resolve(), db.max_age()?, &format),
    }
}

/// `512M`, `2G`, `1048576` (one parser for every size the CLI and config take).
fn parse_size(s: &str) -> Result<u64, String> {
    rampart_core::config::parse_size(s)
}

fn update(opts: &UpdateOptions, path: &Path, format: &str) -> Result<u8> {
    if !matches!(format, "text" | "json") {
        bail!("--format: unknown `{format}` (expected text or json)");
    }
    let text = format == "text";
    let report = rampart_vuln::update::update_file(path, opts, &mut |e| {
        if text {
            crate::say!("{}", describe(e));
            if let Some(r) = &e.import {
                print_problems(r, false);
            }
        }
    })?;
    let failed = report.failed().count();
    let code = if failed == 0 {
        exit::CLEAN
    } else {
        exit::ERROR
    };
    if !text {
        crate::stdout(&serde_json::to_string_pretty(&report)?)?;
        return Ok(code);
    }
    let count = |st: UpdateStatus| report.ecosystems.iter().filter(|e| e.status == st).count();
    let imported: usize = report
        .ecosystems
        .iter()
        .filter_map(|e| e.import.as_ref())
        .map(|r| r.imported)
        .sum();
    crate::stdout(&format!(
        "{} updated ({imported} records imported), {} not modified, {failed} failed in {:.1} s; database {}{}\n",
        count(UpdateStatus::Updated),
        count(UpdateStatus::NotModified),
        report.seconds,
        path.display(),
        if path.exists() { "" } else { " not created (nothing imported)" }
    ))?;
    Ok(code)
}

fn describe(e: &EcosystemUpdate) -> String {
    match e.status {
        UpdateStatus::Updated => {
            let (n, rej) = e
                .import
                .as_ref()
                .map_or((0, 0), |r| (r.imported, r.rejected.len()));
            format!(
                "{}: updated: {} bytes, {n} records imported{} ({:.1} s)",
                e.ecosystem,
                e.bytes,
                if rej > 0 {
                    format!(", {rej} rejected")
                } else {
                    String::new()
                },
                e.seconds
            )
        }
        UpdateStatus::NotModified => format!("{}: not modified, skipped", e.ecosystem),
        UpdateStatus::Failed => format!(
            "{}: failed: {} ({})",
            e.ecosystem,
            e.error.as_deref().unwrap_or("unknown error"),
            e.url
        ),
    }
}

fn print_problems(report: &ImportReport, with_warnings: bool) {
    for p in &report.rejected {
        crate::say!("rejected: {}", problem_line(p));
    }
    if with_warnings {
        for p in &report.warnings {
            crate::say!("warning: {}", problem_line(p));
        }
    } else if !report.warnings.is_empty() {
        crate::say!(
            "  ({} records imported with warnings or skipped; `rampart db import` lists them)",
            report.warnings.len()
        );
    }
}

fn problem_line(p: &RecordProblem) -> String {
    format!(
        "{}{}: {} {}",
        p.source,
        p.id.as_deref()
            .map(|i| format!(" ({i})"))
            .unwrap_or_default(),
        p.code,
        p.message
    )
}

fn import(
    paths: &[PathBuf],
    path: &Path,
    strict: bool,
    no_schema: bool,
    format: &str,
) -> Result<u8> {
    if !matches!(format, "text" | "json") {
        bail!("--format: unknown `{format}` (expected text or json)");
    }
    let opts = ImportOptions {
        validate_schema: !no_schema,
        strict,
    };
    // A new database appears only when something was imported.
    let report = rampart_vuln::update::import_file(path, paths, &opts)?;
    let nothing = report.imported + report.withdrawn == 0;
    let code = if (strict && !report.rejected.is_empty()) || nothing {
        exit::ERROR
    } else {
        exit::CLEAN
    };
    if format == "json" {
        crate::stdout(&serde_json::to_string_pretty(&report)?)?;
        return Ok(code);
    }
    print_problems(&report, true);
    if nothing {
        crate::say!(
            "error: no OSV record imported from {}",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    } else if strict && !report.rejected.is_empty() {
        crate::say!(
            "error: {} records rejected (--strict)",
            report.rejected.len()
        );
    }
    let mut s = String::new();
    let _ = writeln!(
        s,
        "imported {} ({} withdrawn, {} rejected, {} with warnings) from {} in {:.2} s into {}",
        rampart_report::count(report.imported as u64, "record", "records"),
        report.withdrawn,
        report.rejected.len(),
        report.warnings.len(),
        rampart_report::count(report.files as u64, "file", "files"),
        report.seconds,
        path.display()
    );
    for (eco, n) in &report.per_ecosystem {
        let _ = writeln!(s, "  {eco:<16} {n}");
    }
    crate::stdout(&s)?;
    Ok(code)
}

fn status(path: &Path, max_age: Option<Duration>, format: &str) -> Result<u8> {
    if !matches!(format, "text" | "json") {
        bail!("--format: unknown `{format}` (expected text or json)");
    }
    if !path.exists() {
        bail!(
            "no vulnerability database at {} (run `rampart db import PATH`)",
            path.display()
        );
    }
    let db = Db::open_existing(path).with_context(|| format!("opening {}", path.display()))?;
    let st = db.status()?;
    if format == "json" {
        crate::stdout(&serde_json::to_string_pretty(&st)?)?;
        return Ok(exit::CLEAN);
    }
    let mut s = String::new();
    let _ = writeln!(s, "database  {} ({} bytes)", path.display(), st.size_bytes);
    let _ = writeln!(s, "records   {}", st.vulns);
    match (&st.last_import, st.age_seconds) {
        (Some(t), Some(age)) => {
            let _ = writeln!(s, "imported  {t} ({} ago)", human_age(age));
        }
        _ => {
            let _ = writeln!(s, "imported  never");
        }
    }
    // What scans (deps, image, scan) will say about it.
    let problems = rampart_vuln::fresh::check(&db, &[], max_age)?;
    let limit = max_age.map_or("no limit".to_string(), |m| {
        format!("limit {}", rampart_vuln::fresh::human(m.as_secs()))
    });
    if problems.is_empty() {
        let _ = writeln!(s, "fresh     yes ({limit})");
    } else {
        for p in &problems {
            let _ = writeln!(
                s,
                "fresh     NO: {p} ({limit}); scans refuse it: run `rampart db update`"
            );
        }
    }
    if let Some(n) = &st.newest_record {
        let _ = writeln!(s, "newest    {n}");
    }
    if !st.sources.is_empty() {
        let _ = writeln!(s, "sources   {}", st.sources.join(", "));
    }
    for (eco, f) in &st.feeds {
        let _ = writeln!(
            s,
            "update    {eco}: imported {}, last checked {}",
            f.imported.as_deref().unwrap_or("never"),
            f.checked.as_deref().unwrap_or("never")
        );
    }
    let _ = writeln!(s, "{:<16} {:>8} {:>9}", "ecosystem", "records", "packages");
    for (eco, e) in &st.ecosystems {
        let _ = writeln!(s, "{eco:<16} {:>8} {:>9}", e.vulns, e.packages);
    }
    crate::stdout(&s)?;
    Ok(exit::CLEAN)
}

fn human_age(secs: i64) -> String {
    let secs = secs.max(0);
    match secs {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s if s < 172_800 => format!("{} h", s / 3600),
        s => format!("{} days", s / 86_400),
    }
}
