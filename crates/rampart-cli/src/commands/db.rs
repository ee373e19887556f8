//! `rampart db import|status`: the local vulnerability database.

use crate::exit;
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use rampart_vuln::db::default_path;
use rampart_vuln::{Db, ImportOptions};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// `rampart db …`.
#[derive(Debug, Subcommand)]
pub enum DbCmd {
    /// Import OSV records: directories of OSV JSON/YAML files, osv.dev `all.zip`
    /// archives, RustSec advisories (Markdown) or Alpine secdb YAML. Atomic: on error the
    /// database is left as it was. Exit 2 when a record was rejected (the others are
    /// imported).
    Import {
        /// Directories, files or `.zip` archives.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Database location.
        #[command(flatten)]
        db: DbPath,
        /// Also reject records with linter warnings (RNG:002, same version in two events).
        #[arg(long)]
        strict: bool,
        /// Skip OSV JSON Schema validation (faster; malformed records may import).
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
        DbCmd::Status { db, format } => status(&db.resolve(), &format),
    }
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
    let mut db = Db::open(path).with_context(|| format!("opening {}", path.display()))?;
    let opts = ImportOptions {
        validate_schema: !no_schema,
        strict,
    };
    let report = db.import(paths, &opts)?;
    let code = if report.rejected.is_empty() {
        exit::CLEAN
    } else {
        exit::ERROR
    };
    if format == "json" {
        crate::stdout(&serde_json::to_string_pretty(&report)?)?;
        return Ok(code);
    }
    for p in &report.rejected {
        eprintln!(
            "rejected: {}{}: {} {}",
            p.source,
            p.id.as_deref()
                .map(|i| format!(" ({i})"))
                .unwrap_or_default(),
            p.code,
            p.message
        );
    }
    for p in &report.warnings {
        eprintln!(
            "warning: {}{}: {} {}",
            p.source,
            p.id.as_deref()
                .map(|i| format!(" ({i})"))
                .unwrap_or_default(),
            p.code,
            p.message
        );
    }
    let mut s = String::new();
    let _ = writeln!(
        s,
        "imported {} records ({} withdrawn, {} rejected, {} with warnings) from {} files in {:.2} s into {}",
        report.imported,
        report.withdrawn,
        report.rejected.len(),
        report.warnings.len(),
        report.files,
        report.seconds,
        path.display()
    );
    for (eco, n) in &report.per_ecosystem {
        let _ = writeln!(s, "  {eco:<16} {n}");
    }
    crate::stdout(&s)?;
    Ok(code)
}

fn status(path: &Path, format: &str) -> Result<u8> {
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
    if let Some(n) = &st.newest_record {
        let _ = writeln!(s, "newest    {n}");
    }
    if !st.sources.is_empty() {
        let _ = writeln!(s, "sources   {}", st.sources.join(", "));
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
