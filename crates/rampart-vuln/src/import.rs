//! Reading import sources: directories of OSV JSON (or OSV YAML) files, osv.dev
//! `all.zip` archives, RustSec advisories in their native Markdown+TOML format, and
//! Alpine secdb YAML. Each record is parsed, linted and validated against the OSV JSON
//! Schema on its own (in parallel); a bad record is reported and skipped, never fatal.
//! Unreadable sources (missing path, truncated zip) fail the whole import before
//! anything is written.

use crate::error::DbError;
use crate::osv::{RangeType, Record};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

/// The OSV JSON Schema (ossf/osv-schema `validation/schema.json`, Apache-2.0).
const OSV_SCHEMA: &str = include_str!("../schema/osv-schema.json");

static VALIDATOR: LazyLock<Option<jsonschema::Validator>> = LazyLock::new(|| {
    let schema: serde_json::Value = serde_json::from_str(OSV_SCHEMA).ok()?;
    jsonschema::options()
        .should_validate_formats(false)
        .build(&schema)
        .ok()
});

/// Import options.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Validate each OSV JSON record against the OSV JSON Schema (default on).
    pub validate_schema: bool,
    /// Reject records with any linter finding, including `RNG:002` (the same version
    /// in two events of a range). Off by default: such records are real advisories
    /// (e.g. `introduced: 0.10.0` + `fixed: 0.10.0`, an empty interval) and are
    /// imported with a warning; their events are evaluated in the order given when
    /// versions tie, which is what their authors meant.
    pub strict: bool,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            validate_schema: true,
            strict: false,
        }
    }
}

/// A problem with one record (or one file that held no record).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordProblem {
    /// The file (or `archive.zip!entry`).
    pub source: String,
    /// The record id, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// A stable code: `JSON`, `YAML`, `TOML`, `OSV:000` (not a record), `OSV:001`
    /// (does not match the model), `SCHEMA` (JSON Schema), `RNG:001` (a range without
    /// `introduced`), `RNG:002` (the same version in two events of a range), `GIT`
    /// (schema problem confined to a GIT range: imported, range ignored), `SKIP` (not
    /// imported on purpose: a non-OSV JSON document, a Rust toolchain advisory).
    pub code: String,
    /// Human explanation.
    pub message: String,
}

/// A record read from a source.
#[derive(Debug, Clone)]
pub struct SourcedRecord {
    /// Where it came from.
    pub source: String,
    /// The record.
    pub record: Record,
}

/// What reading the sources produced.
#[derive(Debug, Default)]
pub struct Collected {
    /// Records to store (withdrawn ones excluded).
    pub records: Vec<SourcedRecord>,
    /// Ids of withdrawn records (to be removed from the database).
    pub withdrawn: Vec<String>,
    /// Records rejected, with the reason.
    pub rejected: Vec<RecordProblem>,
    /// Records imported with a warning.
    pub warnings: Vec<RecordProblem>,
    /// Files looked at.
    pub files: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Json,
    Yaml,
    Markdown,
}

struct Input {
    source: String,
    kind: Kind,
    bytes: Vec<u8>,
}

enum Outcome {
    Records(Vec<(Record, Vec<RecordProblem>)>),
    Withdrawn(String),
    Rejected(RecordProblem),
    /// Not imported on purpose; reported as a warning.
    Skipped(RecordProblem),
    Skip,
}

fn kind_of(name: &str) -> Option<Kind> {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".json") {
        Some(Kind::Json)
    } else if lower.ends_with(".yaml") || lower.ends_with(".yml") {
        Some(Kind::Yaml)
    } else if lower.ends_with(".md") {
        Some(Kind::Markdown)
    } else {
        None
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), DbError> {
    let rd = std::fs::read_dir(dir).map_err(|e| DbError::io(dir, e))?;
    let mut entries: Vec<(PathBuf, bool)> = Vec::new();
    for e in rd {
        let e = e.map_err(|e| DbError::io(dir, e))?;
        // The directory entry's type needs no extra stat, except for symlinks (and
        // file systems that do not report types), which are followed.
        let is_dir = match e.file_type() {
            Ok(t) if t.is_dir() => true,
            Ok(t) if t.is_file() => false,
            _ => e.path().is_dir(),
        };
        entries.push((e.path(), is_dir));
    }
    entries.sort();
    for (p, is_dir) in entries {
        if is_dir {
            walk(&p, out)?;
        } else {
            out.push(p);
        }
    }
    Ok(())
}

fn read_zip(path: &Path, inputs: &mut Vec<Input>) -> Result<(), DbError> {
    let zerr = |e: &dyn std::fmt::Display| DbError::Zip {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let f = std::fs::File::open(path).map_err(|e| DbError::io(path, e))?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(f)).map_err(|e| zerr(&e))?;
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|e| zerr(&e))?;
        if entry.is_dir() {
            continue;
        }
        let name = entry.name().to_string();
        let Some(kind) = kind_of(&name) else {
            continue;
        };
        let mut bytes = Vec::with_capacity(usize::try_from(entry.size()).unwrap_or(0));
        entry
            .read_to_end(&mut bytes)
            .map_err(|e| zerr(&format!("{name}: {e}")))?;
        inputs.push(Input {
            source: format!("{}!{name}", path.display()),
            kind,
            bytes,
        });
    }
    Ok(())
}

/// Read, parse, lint and validate every record under `paths`.
pub fn collect(paths: &[PathBuf], opts: &ImportOptions) -> Result<Collected, DbError> {
    let mut inputs = Vec::new();
    let mut plain: Vec<(PathBuf, Kind)> = Vec::new();
    for p in paths {
        if !p.exists() {
            return Err(DbError::NotFound(p.clone()));
        }
        let mut files = Vec::new();
        if p.is_dir() {
            walk(p, &mut files)?;
        } else {
            files.push(p.clone());
        }
        for f in files {
            let name = f.to_string_lossy();
            if name.to_ascii_lowercase().ends_with(".zip") {
                read_zip(&f, &mut inputs)?;
                continue;
            }
            if let Some(kind) = kind_of(&name) {
                plain.push((f, kind));
            }
        }
    }
    // Files are read in parallel too (many small files: the syscalls dominate), while
    // the schema validator (about 0.2 s to build) is compiled alongside.
    let warm = || {
        if opts.validate_schema {
            let _ = VALIDATOR.is_some();
        }
    };
    let (read, ()) = rayon::join(|| read_all(&plain), warm);
    inputs.extend(read?);
    let outcomes: Vec<(String, Outcome)> = inputs
        .par_iter()
        .flat_map_iter(|i| process(i, opts).into_iter().map(|o| (i.source.clone(), o)))
        .collect();
    let mut c = Collected {
        files: inputs.len(),
        ..Collected::default()
    };
    for (source, o) in outcomes {
        match o {
            Outcome::Records(rs) => {
                for (record, warnings) in rs {
                    c.warnings.extend(warnings);
                    c.records.push(SourcedRecord {
                        source: source.clone(),
                        record,
                    });
                }
            }
            Outcome::Withdrawn(id) => c.withdrawn.push(id),
            Outcome::Rejected(p) => c.rejected.push(p),
            Outcome::Skipped(p) => c.warnings.push(p),
            Outcome::Skip => {}
        }
    }
    Ok(c)
}

fn read_all(plain: &[(PathBuf, Kind)]) -> Result<Vec<Input>, DbError> {
    plain
        .par_iter()
        .map(|(f, kind)| {
            std::fs::read(f)
                .map(|bytes| Input {
                    source: f.display().to_string(),
                    kind: *kind,
                    bytes,
                })
                .map_err(|e| DbError::io(f, e))
        })
        .collect()
}

fn problem(
    source: &str,
    id: Option<&str>,
    code: &str,
    message: impl Into<String>,
) -> RecordProblem {
    RecordProblem {
        source: source.to_string(),
        id: id.map(str::to_string),
        code: code.to_string(),
        message: message.into(),
    }
}

fn process(input: &Input, opts: &ImportOptions) -> Vec<Outcome> {
    match input.kind {
        Kind::Json => match serde_json::from_slice::<serde_json::Value>(&input.bytes) {
            Ok(serde_json::Value::Array(items)) => items
                .into_iter()
                .map(|v| process_value(&input.source, v, None, opts))
                .collect(),
            Ok(v) => vec![process_value(&input.source, v, None, opts)],
            Err(e) => vec![Outcome::Rejected(problem(
                &input.source,
                None,
                "JSON",
                format!("not valid JSON: {e}"),
            ))],
        },
        Kind::Yaml => process_yaml(input, opts),
        Kind::Markdown => match std::str::from_utf8(&input.bytes) {
            Ok(text) if text.trim_start().starts_with("```toml") => {
                match crate::rustsec::parse_advisory(text) {
                    Ok(Some(r)) => vec![finish(&input.source, r, Vec::new())],
                    Ok(None) => vec![Outcome::Skipped(problem(
                        &input.source,
                        None,
                        "SKIP",
                        "Rust toolchain advisory (not a crates.io package); not imported",
                    ))],
                    Err(e) => vec![Outcome::Rejected(problem(&input.source, None, "TOML", e))],
                }
            }
            _ => vec![Outcome::Skip],
        },
    }
}

fn process_yaml(input: &Input, opts: &ImportOptions) -> Vec<Outcome> {
    let text = String::from_utf8_lossy(&input.bytes);
    // OSV in YAML, through the one YAML loader (bounded in depth, nodes and size):
    // deserialise into the model with YAML 1.2 core scalars; when that fails, again with
    // every scalar kept as written (a version `3.10` is a string, not the number 3.1);
    // then validate the JSON form.
    let first = rampart_yaml::from_str::<Record>(&text).or_else(|e| {
        rampart_yaml::from_str_with::<Record>(
            &text,
            &rampart_yaml::Options {
                scalars: rampart_yaml::Scalars::Text,
                reject_duplicate_keys: true,
                ..rampart_yaml::Options::default()
            },
        )
        .map_err(|_| e)
    });
    if let Ok(r) = first {
        // The JSON form is only needed for validation: the parsed record is kept.
        return match serde_json::to_value(&r) {
            Ok(v) => vec![process_value(&input.source, v, Some(r), opts)],
            Err(e) => vec![Outcome::Rejected(problem(
                &input.source,
                Some(&r.id),
                "OSV:001",
                e.to_string(),
            ))],
        };
    }
    let probe_opts = rampart_yaml::Options {
        scalars: rampart_yaml::Scalars::Core,
        ..rampart_yaml::Options::default()
    };
    let probe: serde_json::Value = match rampart_yaml::load_one(&text, &probe_opts) {
        Ok(d) => d.value,
        Err(e) => {
            return vec![Outcome::Rejected(problem(
                &input.source,
                None,
                "YAML",
                format!("not valid YAML: {e}"),
            ))]
        }
    };
    // Alpine secdb files have `packages:` and no `id:`.
    if probe.get("id").is_none() && probe.get("distroversion").is_some() {
        return match crate::secdb::parse(&text) {
            Ok(records) => records
                .into_iter()
                .map(|r| finish(&input.source, r, Vec::new()))
                .collect(),
            Err(e) => vec![Outcome::Rejected(problem(&input.source, None, "YAML", e))],
        };
    }
    let why = match first {
        Err(e) => e.to_string(),
        Ok(_) => String::new(),
    };
    vec![Outcome::Rejected(problem(
        &input.source,
        probe.get("id").and_then(|v| v.as_str()),
        if probe.get("id").is_none() {
            "OSV:000"
        } else {
            "OSV:001"
        },
        if probe.get("id").is_none() {
            "not an OSV record (no string `id` field)".to_string()
        } else {
            format!("does not match the OSV model: {why}")
        },
    ))]
}

/// Check one JSON value as an OSV record. `parsed` is the same record already in the
/// model (read from YAML), which saves converting the value back.
fn process_value(
    source: &str,
    v: serde_json::Value,
    parsed: Option<Record>,
    opts: &ImportOptions,
) -> Outcome {
    if let Some(why) = not_osv(&v) {
        return Outcome::Skipped(problem(source, None, "SKIP", why));
    }
    let id = v.get("id").and_then(|x| x.as_str()).map(str::to_string);
    let Some(id) = id.filter(|_| v.is_object()) else {
        return Outcome::Rejected(problem(
            source,
            None,
            "OSV:000",
            "not an OSV record (no string `id` field)",
        ));
    };
    // Validate on the JSON value first, then move it into the model (no string copies).
    let mut schema_errors: Vec<(String, String)> = Vec::new();
    if opts.validate_schema {
        if let Some(validator) = VALIDATOR.as_ref() {
            if !validator.is_valid(&v) {
                for e in validator.iter_errors(&v) {
                    schema_errors.push((e.instance_path.as_str().to_string(), e.to_string()));
                }
            }
        }
    }
    let converted = match parsed {
        Some(r) => Ok(r),
        None => serde_json::from_value(v),
    };
    let record: Record = match converted {
        Ok(r) => r,
        Err(e) => {
            return Outcome::Rejected(problem(
                source,
                Some(&id),
                "OSV:001",
                format!("does not match the OSV model: {e}"),
            ))
        }
    };
    let mut warnings = Vec::new();
    if let Some(p) = lint(source, &record) {
        if p.code != "RNG:002" || opts.strict {
            return Outcome::Rejected(p);
        }
        warnings.push(p);
    }
    let mut errors = Vec::new();
    for (path, e) in schema_errors {
        if in_git_range(&record, &path) {
            warnings.push(problem(
                source,
                Some(&id),
                "GIT",
                format!("{path}: {e} (GIT ranges are not evaluated; imported)"),
            ));
        } else {
            errors.push(format!(
                "{}: {e}",
                if path.is_empty() { "/" } else { &path }
            ));
        }
    }
    if !errors.is_empty() {
        errors.truncate(5);
        return Outcome::Rejected(problem(
            source,
            Some(&id),
            "SCHEMA",
            format!(
                "does not validate against the OSV schema: {}",
                errors.join("; ")
            ),
        ));
    }
    finish(source, record, warnings)
}

/// Why a JSON document is not an attempt at an OSV record at all (a JSON Schema, a
/// GitHub advisory in the GitHub API's format, any other JSON file in the tree): such
/// files are skipped with a note, not rejected. A document with an `id`, `affected` or
/// `schema_version` field is taken as an OSV record and checked as one.
fn not_osv(v: &serde_json::Value) -> Option<String> {
    let serde_json::Value::Object(m) = v else {
        return Some("not an OSV record (a JSON value that is not an object); skipped".into());
    };
    if ["id", "affected", "schema_version"]
        .iter()
        .any(|k| m.contains_key(*k))
    {
        return None;
    }
    Some(if m.contains_key("$schema") {
        "a JSON Schema, not an OSV record; skipped".into()
    } else if m.contains_key("ghsaId") || m.contains_key("ghsa_id") {
        "a GitHub advisory in the GitHub API's format, not OSV (use the OSV form from the advisory database); skipped".into()
    } else {
        "not an OSV record (no `id`, `affected` or `schema_version` field); skipped".into()
    })
}

fn finish(_source: &str, record: Record, warnings: Vec<RecordProblem>) -> Outcome {
    if record.is_withdrawn() {
        return Outcome::Withdrawn(record.id);
    }
    Outcome::Records(vec![(record, warnings)])
}

/// Whether a JSON pointer (`/affected/0/ranges/1/...`) lies inside a GIT range.
fn in_git_range(r: &Record, pointer: &str) -> bool {
    let mut parts = pointer.split('/').skip(1);
    if parts.next() != Some("affected") {
        return false;
    }
    let (Some(a), Some("ranges"), Some(g)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let (Ok(a), Ok(g)) = (a.parse::<usize>(), g.parse::<usize>()) else {
        return false;
    };
    r.affected
        .get(a)
        .and_then(|x| x.ranges.get(g))
        .is_some_and(|x| x.kind == RangeType::Git)
}

/// The osv-linter range rules: RNG:001 (every range needs an `introduced` event) and
/// RNG:002 (a version may appear in only one event of a range). RNG:001 comes first:
/// a record is reported under its most serious finding.
fn lint(source: &str, r: &Record) -> Option<RecordProblem> {
    for (ai, a) in r.affected.iter().enumerate() {
        for (ri, range) in a.ranges.iter().enumerate() {
            if !range.events.iter().any(|e| e.introduced.is_some()) {
                return Some(problem(
                    source,
                    Some(&r.id),
                    "RNG:001",
                    format!("affected[{ai}].ranges[{ri}] has no `introduced` event"),
                ));
            }
        }
    }
    for (ai, a) in r.affected.iter().enumerate() {
        for (ri, range) in a.ranges.iter().enumerate() {
            let mut seen: Vec<&str> = Vec::new();
            for e in &range.events {
                for v in [&e.introduced, &e.fixed, &e.last_affected, &e.limit]
                    .into_iter()
                    .flatten()
                {
                    if seen.contains(&v.as_str()) {
                        return Some(problem(
                            source,
                            Some(&r.id),
                            "RNG:002",
                            format!(
                                "affected[{ai}].ranges[{ri}]: `{v}` appears in more than one event (events must be distinct)"
                            ),
                        ));
                    }
                    seen.push(v);
                }
            }
        }
    }
    None
}

/// Benchmark helper: build the schema validator now (it is otherwise built lazily on
/// first use); returns whether it is available.
#[doc(hidden)]
pub fn warm_up() -> bool {
    VALIDATOR.is_some()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    fn yaml(text: &str) -> Vec<Outcome> {
        let input = Input {
            source: "r.yaml".into(),
            kind: Kind::Yaml,
            bytes: text.as_bytes().to_vec(),
        };
        process_yaml(&input, &ImportOptions::default())
    }

    /// An unquoted version that reads as a number stays as written (`3.10`, not 3.1).
    #[test]
    fn osv_yaml_versions_stay_as_written() {
        let out = yaml(
            "id: PYSEC-0000-1\nmodified: 2024-01-01T00:00:00Z\naffected:\n  - package: {ecosystem: PyPI, name: x}\n    ranges:\n      - type: ECOSYSTEM\n        events:\n          - introduced: 3.10\n          - fixed: 3.12\n",
        );
        let Some(Outcome::Records(recs)) = out.first() else {
            panic!("not imported");
        };
        let events = &recs[0].0.affected[0].ranges[0].events;
        assert_eq!(events[0].introduced.as_deref(), Some("3.10"));
        assert_eq!(events[1].fixed.as_deref(), Some("3.12"));
    }

    /// Deep nesting is a `YAML` rejection with its line, quickly.
    #[test]
    fn deep_osv_yaml_is_rejected() {
        let text = format!(
            "id: X-1\naffected: {}{}\n",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        let started = std::time::Instant::now();
        let out = yaml(&text);
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        let Some(Outcome::Rejected(p)) = out.first() else {
            panic!("not rejected");
        };
        assert_eq!(p.code, "YAML");
        assert!(p.message.contains("line 2"), "{}", p.message);
    }
}
