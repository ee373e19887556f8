//! The local vulnerability database: one SQLite file.
//!
//! Tables: `vulns` (one row per OSV record: summary, aliases, references, severity and
//! the compact record), `affected` (one row per affected package, indexed by
//! `(ecosystem base, normalised name)`, holding the ranges and versions to evaluate),
//! `aliases` (alias → record) and `meta` (schema version, last import, sources).
//!
//! Imports are atomic: every source is read and checked first, then all rows are
//! written in one transaction; an error (or a crash) before the commit leaves the
//! previous contents untouched (SQLite's rollback journal).

use crate::ecosystem;
use crate::error::DbError;
use crate::import::{self, Collected, ImportOptions, RecordProblem};
use crate::osv::Record;
use crate::severity;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Version of the table layout; a file with another version is refused.
pub const SCHEMA_VERSION: &str = "1";

const DDL_TABLES: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS vulns (
    id TEXT PRIMARY KEY,
    modified TEXT,
    published TEXT,
    summary TEXT,
    aliases TEXT NOT NULL,
    refs TEXT NOT NULL,
    severity TEXT NOT NULL,
    source TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS affected (
    vuln_id TEXT NOT NULL,
    ecosystem TEXT NOT NULL,
    eco_base TEXT NOT NULL,
    name TEXT NOT NULL,
    severity TEXT NOT NULL,
    ranges TEXT NOT NULL,
    versions TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS aliases (alias TEXT NOT NULL, vuln_id TEXT NOT NULL);
";

const DDL_INDEXES: &str = "
CREATE INDEX IF NOT EXISTS affected_pkg ON affected (eco_base, name);
CREATE INDEX IF NOT EXISTS affected_vuln ON affected (vuln_id);
CREATE INDEX IF NOT EXISTS aliases_alias ON aliases (alias);
CREATE INDEX IF NOT EXISTS aliases_vuln ON aliases (vuln_id);
";

/// The default database path: `$XDG_CACHE_HOME/rampart/vuln.db`, else
/// `~/.cache/rampart/vuln.db` (`%LOCALAPPDATA%\rampart\vuln.db` on Windows).
pub fn default_path() -> PathBuf {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let base = env("XDG_CACHE_HOME")
        .or_else(|| env("LOCALAPPDATA"))
        .or_else(|| env("HOME").map(|h| h.join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"));
    base.join("rampart").join("vuln.db")
}

/// What an import did.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ImportReport {
    /// Files (and zip entries) read.
    pub files: usize,
    /// OSV records read (imported, withdrawn or rejected; before merging duplicates).
    pub records_read: usize,
    /// Records written (new or replacing a record with the same id).
    pub imported: usize,
    /// Withdrawn records seen (and removed from the database if present).
    pub withdrawn: usize,
    /// Records rejected, with reasons.
    pub rejected: Vec<RecordProblem>,
    /// Records imported with a warning.
    pub warnings: Vec<RecordProblem>,
    /// Imported records per ecosystem base.
    pub per_ecosystem: BTreeMap<String, usize>,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Of which reading, parsing and validating the sources.
    pub read_seconds: f64,
}

/// Database contents at a glance.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Status {
    /// The file (`None` for an in-memory database).
    pub path: Option<PathBuf>,
    /// File size in bytes.
    pub size_bytes: u64,
    /// Number of records.
    pub vulns: u64,
    /// Per ecosystem base: (records, packages).
    pub ecosystems: BTreeMap<String, EcosystemStatus>,
    /// RFC 3339 time of the last import, if any.
    pub last_import: Option<String>,
    /// Seconds since the last import.
    pub age_seconds: Option<i64>,
    /// The newest `modified` time among records.
    pub newest_record: Option<String>,
    /// Sources of the last import.
    pub sources: Vec<String>,
    /// Per ecosystem fetched by `db update`: URL, validators, import and check times.
    #[serde(default)]
    pub feeds: BTreeMap<String, crate::update::FeedState>,
}

/// Counts for one ecosystem.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EcosystemStatus {
    /// Records affecting a package of this ecosystem.
    pub vulns: u64,
    /// Distinct packages.
    pub packages: u64,
}

/// An open database.
pub struct Db {
    pub(crate) conn: Connection,
    path: Option<PathBuf>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("path", &self.path).finish()
    }
}

impl Db {
    /// Open (creating if needed, with parent directories) the database at `path`.
    pub fn open(path: &Path) -> Result<Db, DbError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| DbError::io(parent, e))?;
        }
        let conn = Connection::open(path)?;
        Db::init(conn, Some(path.to_path_buf()))
    }

    /// Open an existing database read-only; fails if it does not exist.
    pub fn open_existing(path: &Path) -> Result<Db, DbError> {
        if !path.exists() {
            return Err(DbError::NotFound(path.to_path_buf()));
        }
        let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        let db = Db {
            conn,
            path: Some(path.to_path_buf()),
        };
        db.check_version()?;
        Ok(db)
    }

    /// An in-memory database (tests, one-off scans).
    pub fn open_in_memory() -> Result<Db, DbError> {
        Db::init(Connection::open_in_memory()?, None)
    }

    fn init(conn: Connection, path: Option<PathBuf>) -> Result<Db, DbError> {
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.execute_batch(DDL_TABLES)?;
        conn.execute_batch(DDL_INDEXES)?;
        let db = Db { conn, path };
        db.check_version()?;
        db.conn.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?1)",
            [SCHEMA_VERSION],
        )?;
        Ok(db)
    }

    fn check_version(&self) -> Result<(), DbError> {
        let found: Option<String> = self
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        match found {
            Some(v) if v != SCHEMA_VERSION => Err(DbError::SchemaVersion {
                path: self.path.clone().unwrap_or_default(),
                found: v,
                expected: SCHEMA_VERSION.to_string(),
            }),
            _ => Ok(()),
        }
    }

    /// The file, if not in memory.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Import OSV sources (directories, files, `all.zip` archives). Records replace
    /// records with the same id; withdrawn records are removed.
    ///
    /// Atomic: every source is read and checked before anything is written; a file
    /// database is then written as a copy next to it (`<name>.import-<pid>`), synced
    /// and renamed over the original, so a failed, interrupted or out-of-space import
    /// leaves the previous database as it was. In-memory databases use a transaction.
    pub fn import(
        &mut self,
        paths: &[PathBuf],
        opts: &ImportOptions,
    ) -> Result<ImportReport, DbError> {
        let start = Instant::now();
        let collected = import::collect(paths, opts)?;
        let sources: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        self.import_collected(collected, &sources, &[], start)
    }

    /// Write records already read (by [`import::collect`]) in one atomic step, with
    /// extra `meta` rows written in the same transaction (the update's ETags).
    pub(crate) fn import_collected(
        &mut self,
        collected: Collected,
        sources: &[String],
        extra_meta: &[(String, String)],
        start: Instant,
    ) -> Result<ImportReport, DbError> {
        let read_seconds = start.elapsed().as_secs_f64();
        let (rows, withdrawn, mut report) = prepare(collected);
        let w = Write {
            rows: &rows,
            withdrawn: &withdrawn,
            sources,
            extra_meta,
        };
        match self.path.clone() {
            None => {
                let tx = self.conn.transaction()?;
                write_rows(&tx, &w, true, &mut report)?;
                tx.commit()?;
            }
            Some(path) => self.import_via_copy(&path, &w, &mut report)?,
        }
        report.seconds = start.elapsed().as_secs_f64();
        report.read_seconds = read_seconds;
        Ok(report)
    }

    /// `meta` rows whose key starts with `prefix`.
    pub(crate) fn meta_prefixed(&self, prefix: &str) -> Result<Vec<(String, String)>, DbError> {
        let mut st = self.conn.prepare(
            "SELECT key, value FROM meta WHERE substr(key, 1, length(?1)) = ?1 ORDER BY key",
        )?;
        let rows = st.query_map([prefix], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let mut out = Vec::new();
        for r in rows {
            out.push(r?);
        }
        Ok(out)
    }

    fn import_via_copy(
        &mut self,
        path: &Path,
        w: &Write<'_>,
        report: &mut ImportReport,
    ) -> Result<(), DbError> {
        let has_data: bool =
            self.conn
                .query_row("SELECT EXISTS (SELECT 1 FROM vulns)", [], |r| r.get(0))?;
        let mut tmp_name = path
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_default();
        tmp_name.push(format!(".import-{}", std::process::id()));
        let tmp = TempFile(path.with_file_name(tmp_name));
        let _ = std::fs::remove_file(&tmp.0);
        if has_data {
            std::fs::copy(path, &tmp.0).map_err(|e| DbError::io(&tmp.0, e))?;
        }
        {
            let conn = Connection::open(&tmp.0)?;
            // The copy is private until the rename: no journal needed.
            conn.execute_batch(
                "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
                 PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY;",
            )?;
            if has_data {
                conn.execute_batch(DDL_TABLES)?;
                conn.execute_batch(DDL_INDEXES)?;
            } else {
                conn.execute_batch(DDL_TABLES)?;
            }
            let tx = conn.unchecked_transaction()?;
            write_rows(&tx, w, has_data, report)?;
            tx.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?1)",
                [SCHEMA_VERSION],
            )?;
            tx.commit()?;
            if !has_data {
                conn.execute_batch(DDL_INDEXES)?;
            }
            conn.execute_batch("PRAGMA journal_mode = DELETE;")?;
        }
        std::fs::File::open(&tmp.0)
            .and_then(|f| f.sync_all())
            .map_err(|e| DbError::io(&tmp.0, e))?;
        std::fs::rename(&tmp.0, path).map_err(|e| DbError::io(path, e))?;
        if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        self.conn = conn;
        Ok(())
    }

    /// Database contents: per-ecosystem counts and age.
    pub fn status(&self) -> Result<Status, DbError> {
        let vulns: u64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM vulns", [], |r| r.get(0))?;
        let mut ecosystems = BTreeMap::new();
        let mut st = self.conn.prepare(
            "SELECT eco_base, COUNT(DISTINCT vuln_id), COUNT(DISTINCT name) FROM affected GROUP BY eco_base",
        )?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, u64>(1)?,
                r.get::<_, u64>(2)?,
            ))
        })?;
        for row in rows {
            let (e, v, p) = row?;
            ecosystems.insert(
                e,
                EcosystemStatus {
                    vulns: v,
                    packages: p,
                },
            );
        }
        let meta = |k: &str| -> Result<Option<String>, DbError> {
            Ok(self
                .conn
                .query_row("SELECT value FROM meta WHERE key = ?1", [k], |r| r.get(0))
                .optional()?)
        };
        let last_import = meta("last_import")?;
        let age_seconds = last_import.as_deref().and_then(|t| {
            chrono::DateTime::parse_from_rfc3339(t)
                .ok()
                .map(|t| (chrono::Utc::now() - t.with_timezone(&chrono::Utc)).num_seconds())
        });
        let sources = meta("sources")?
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default();
        let newest_record: Option<String> = self
            .conn
            .query_row("SELECT MAX(modified) FROM vulns", [], |r| r.get(0))
            .optional()?
            .flatten();
        let size_bytes = self
            .path
            .as_ref()
            .and_then(|p| std::fs::metadata(p).ok())
            .map_or(0, |m| m.len());
        Ok(Status {
            path: self.path.clone(),
            size_bytes,
            vulns,
            ecosystems,
            last_import,
            age_seconds,
            newest_record,
            sources,
            feeds: self.feeds()?,
        })
    }

    /// Whether the database holds any advisory that packages of `ecosystem` are matched
    /// against (`Debian:12` is matched by `Debian:12` records and by release-less `Debian`
    /// ones, as [`Db::match_packages`] does). A package of an ecosystem without any was
    /// not checked at all.
    pub fn has_ecosystem(&self, ecosystem: &str) -> Result<bool, DbError> {
        Ok(self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM affected WHERE eco_base = ?1
               AND (?2 = eco_base OR ecosystem = eco_base OR ecosystem = ?2))",
            rusqlite::params![ecosystem::base(ecosystem), ecosystem],
            |r| r.get::<_, bool>(0),
        )?)
    }

    /// The stored record with this id (or whose alias this is).
    pub fn get(&self, id: &str) -> Result<Option<Record>, DbError> {
        let text: Option<String> = self
            .conn
            .query_row(
                "SELECT record FROM vulns WHERE id = ?1
                 UNION ALL
                 SELECT v.record FROM aliases a JOIN vulns v ON v.id = a.vuln_id WHERE a.alias = ?1
                 LIMIT 1",
                [id],
                |r| r.get(0),
            )
            .optional()?;
        text.map(|t| {
            serde_json::from_str(&t).map_err(|e| DbError::Corrupt {
                id: id.to_string(),
                message: e.to_string(),
            })
        })
        .transpose()
    }
}

/// Removes the temporary import file unless it was renamed away.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn prepare(c: Collected) -> (Vec<VulnRows>, Vec<String>, ImportReport) {
    use rayon::prelude::*;
    let Collected {
        records,
        withdrawn,
        rejected,
        warnings,
        files,
    } = c;
    let records_read = records.len() + withdrawn.len() + rejected.len();
    let records = merge_same_id(records);
    // Severity and JSON are computed in parallel; rows are written sequentially.
    let rows: Vec<VulnRows> = records
        .par_iter()
        .map(|(source, r)| VulnRows::build(source, r))
        .collect();
    let report = ImportReport {
        files,
        records_read,
        rejected,
        warnings,
        withdrawn: withdrawn.len(),
        ..ImportReport::default()
    };
    (rows, withdrawn, report)
}

/// What one import writes.
#[derive(Clone, Copy)]
struct Write<'a> {
    rows: &'a [VulnRows],
    withdrawn: &'a [String],
    sources: &'a [String],
    extra_meta: &'a [(String, String)],
}

fn write_rows(
    tx: &rusqlite::Transaction<'_>,
    w: &Write<'_>,
    may_exist: bool,
    report: &mut ImportReport,
) -> Result<(), DbError> {
    let Write {
        rows,
        withdrawn,
        sources,
        extra_meta,
    } = *w;
    let mut del_aff = tx.prepare_cached("DELETE FROM affected WHERE vuln_id = ?1")?;
    let mut del_alias = tx.prepare_cached("DELETE FROM aliases WHERE vuln_id = ?1")?;
    let mut del_vuln = tx.prepare_cached("DELETE FROM vulns WHERE id = ?1")?;
    let mut exists = tx.prepare_cached("SELECT 1 FROM vulns WHERE id = ?1")?;
    let mut ins_vuln = tx.prepare_cached(
        "INSERT INTO vulns (id, modified, published, summary, aliases, refs, severity, source, record)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    let mut ins_aff = tx.prepare_cached(
        "INSERT INTO affected (vuln_id, ecosystem, eco_base, name, severity, ranges, versions)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    let mut ins_alias =
        tx.prepare_cached("INSERT INTO aliases (alias, vuln_id) VALUES (?1, ?2)")?;
    let mut remove = |id: &str| -> Result<(), DbError> {
        if exists.exists([id])? {
            del_aff.execute([id])?;
            del_alias.execute([id])?;
            del_vuln.execute([id])?;
        }
        Ok(())
    };
    for id in withdrawn {
        if may_exist {
            remove(id)?;
        }
    }
    for row in rows {
        if may_exist {
            remove(&row.id)?;
        }
        ins_vuln.execute(params![
            row.id,
            row.modified,
            row.published,
            row.summary,
            row.aliases,
            row.refs,
            row.severity,
            row.source,
            row.record
        ])?;
        for a in &row.affected {
            ins_aff.execute(params![
                row.id,
                a.ecosystem,
                a.base,
                a.name,
                a.severity,
                a.ranges,
                a.versions
            ])?;
        }
        let mut bases: Vec<&str> = row.affected.iter().map(|a| a.base.as_str()).collect();
        bases.sort_unstable();
        bases.dedup();
        for b in bases {
            *report.per_ecosystem.entry(b.to_string()).or_default() += 1;
        }
        for al in &row.alias_list {
            ins_alias.execute(params![al, row.id])?;
        }
        report.imported += 1;
    }
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    tx.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('last_import', ?1)",
        [&now],
    )?;
    let src = serde_json::to_string(sources).unwrap_or_default();
    tx.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('sources', ?1)",
        [&src],
    )?;
    for (k, v) in extra_meta {
        tx.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
            [k, v],
        )?;
    }
    Ok(())
}

/// Records with the same id from several files (Alpine secdb releases) are merged;
/// otherwise the last one read wins.
fn merge_same_id(records: Vec<import::SourcedRecord>) -> Vec<(String, Record)> {
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut out: Vec<(String, Record)> = Vec::with_capacity(records.len());
    for s in records {
        let mergeable = s
            .record
            .database_specific
            .as_ref()
            .and_then(|d| d.get("source"))
            .and_then(|v| v.as_str())
            == Some("alpine-secdb");
        match index.get(&s.record.id) {
            Some(&i) if mergeable => out[i].1.affected.extend(s.record.affected),
            Some(&i) => out[i] = (s.source, s.record),
            None => {
                index.insert(s.record.id.clone(), out.len());
                out.push((s.source, s.record));
            }
        }
    }
    out
}

struct AffRow {
    ecosystem: String,
    base: String,
    name: String,
    severity: String,
    ranges: String,
    versions: String,
}

struct VulnRows {
    id: String,
    modified: Option<String>,
    published: Option<String>,
    summary: Option<String>,
    aliases: String,
    alias_list: Vec<String>,
    refs: String,
    severity: String,
    source: String,
    record: String,
    affected: Vec<AffRow>,
}

impl VulnRows {
    fn build(source: &str, r: &Record) -> VulnRows {
        let sev = severity::resolve(r, None);
        let mut alias_list: Vec<String> = r.aliases.clone();
        alias_list.extend(r.upstream.iter().cloned());
        alias_list.sort();
        alias_list.dedup();
        alias_list.retain(|a| a != &r.id);
        let affected = r
            .affected
            .iter()
            .filter_map(|a| {
                let p = a.package.as_ref()?;
                let asev = severity::resolve(r, Some(a));
                Some(AffRow {
                    ecosystem: p.ecosystem.clone(),
                    base: ecosystem::base(&p.ecosystem).to_string(),
                    name: ecosystem::normalize_name(&p.ecosystem, &p.name),
                    severity: to_json(&asev),
                    ranges: to_json(&a.ranges),
                    versions: to_json(&a.versions),
                })
            })
            .collect();
        let refs: Vec<&str> = r.references.iter().map(|x| x.url.as_str()).collect();
        VulnRows {
            id: r.id.clone(),
            modified: r.modified.clone(),
            published: r.published.clone(),
            summary: r.summary.clone(),
            aliases: to_json(&alias_list),
            alias_list,
            refs: to_json(&refs),
            severity: to_json(&sev),
            source: source.to_string(),
            record: to_json(r),
            affected,
        }
    }
}

fn to_json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".to_string())
}

pub(crate) fn from_json<T: for<'de> Deserialize<'de>>(id: &str, s: &str) -> Result<T, DbError> {
    serde_json::from_str(s).map_err(|e| DbError::Corrupt {
        id: id.to_string(),
        message: e.to_string(),
    })
}
