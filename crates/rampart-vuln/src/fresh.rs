//! Whether a database can be trusted for a scan: a database that is empty, older than
//! the allowed age, or holds nothing for an ecosystem of the scanned packages would make
//! a scan report "no findings" for packages it never checked. [`check`] lists every such
//! problem; the caller refuses the scan (fail closed) and shows [`update_command`].

use crate::db::Db;
use crate::ecosystem;
use crate::error::DbError;
use std::collections::BTreeSet;
use std::time::Duration;

/// Default largest database age accepted by scans: 7 days.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);

/// Why a database cannot be used for a scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// No record at all (a failed first update, an empty import).
    Empty,
    /// Last imported or checked with the server longer ago than allowed.
    Stale {
        /// Seconds since the last import or update check.
        age_seconds: u64,
        /// The allowed age in seconds.
        max_seconds: u64,
    },
    /// Never updated or imported (no time recorded).
    NoTime,
    /// No record, and no `db update` feed, for these ecosystems of the inventory.
    MissingEcosystems(Vec<String>),
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Empty => write!(f, "the vulnerability database is empty"),
            Problem::Stale {
                age_seconds,
                max_seconds,
            } => write!(
                f,
                "the vulnerability database was last updated {} ago, more than the allowed {}",
                human(*age_seconds),
                human(*max_seconds)
            ),
            Problem::NoTime => write!(f, "the vulnerability database has no recorded update time"),
            Problem::MissingEcosystems(e) => write!(
                f,
                "the vulnerability database has no data for {} (scanned packages of {} would \
                 not be checked)",
                e.join(", "),
                if e.len() == 1 {
                    "this ecosystem"
                } else {
                    "these ecosystems"
                }
            ),
        }
    }
}

/// A duration for people: `3 days`, `5 h`, `12 min`, `40 s`.
pub fn human(secs: u64) -> String {
    match secs {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s if s < 172_800 => format!("{} h", s / 3600),
        s => format!("{} days", s / 86_400),
    }
}

/// Parse an age: `7d`, `12h`, `30m`, `90s`, `3600` (seconds), or `none`/`off`
/// (no limit).
pub fn parse_max_age(s: &str) -> Result<Option<Duration>, String> {
    let t = s.trim();
    if matches!(t.to_ascii_lowercase().as_str(), "none" | "off" | "never") {
        return Ok(None);
    }
    let (num, unit) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&t[..i], c.to_ascii_lowercase()),
        _ => (t, 's'),
    };
    let mult: u64 = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        _ => {
            return Err(format!(
                "`{s}`: unknown unit (use s, m, h, d or w, or `none`)"
            ))
        }
    };
    num.trim()
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .map(|n| Some(Duration::from_secs(n)))
        .ok_or_else(|| format!("`{s}` is not an age (e.g. 7d, 12h, 3600, none)"))
}

/// Every problem of `db` for a scan of packages of `ecosystems` (OSV names, e.g. `npm`,
/// `PyPI`, `Debian:12`), with `max_age` the allowed age (`None`: any age).
///
/// The age is that of the most recent import or `db update` check (a `304 Not
/// Modified` answer counts: the data was current then). An ecosystem is covered when
/// some record affects a package of its base ecosystem, or `db update` imported its feed
/// (an ecosystem with no advisory at all is still covered then).
pub fn check(
    db: &Db,
    ecosystems: &[String],
    max_age: Option<Duration>,
) -> Result<Vec<Problem>, DbError> {
    let st = db.status()?;
    let mut out = Vec::new();
    if st.vulns == 0 {
        out.push(Problem::Empty);
    }
    let parse = |t: &str| {
        chrono::DateTime::parse_from_rfc3339(t)
            .ok()
            .map(|t| t.with_timezone(&chrono::Utc))
    };
    let newest = st
        .last_import
        .iter()
        .chain(st.feeds.values().filter_map(|f| f.checked.as_ref()))
        .filter_map(|t| parse(t))
        .max();
    if let Some(max) = max_age {
        match newest {
            None if st.vulns > 0 => out.push(Problem::NoTime),
            None => {}
            Some(t) => {
                let age = (chrono::Utc::now() - t).num_seconds().max(0).unsigned_abs();
                if age > max.as_secs() {
                    out.push(Problem::Stale {
                        age_seconds: age,
                        max_seconds: max.as_secs(),
                    });
                }
            }
        }
    }
    let covered: BTreeSet<&str> = st
        .ecosystems
        .keys()
        .map(|e| ecosystem::base(e))
        .chain(
            st.feeds
                .iter()
                .filter(|(_, f)| f.imported.is_some())
                .map(|(e, _)| ecosystem::base(e)),
        )
        .collect();
    let mut missing: Vec<String> = ecosystems
        .iter()
        .filter(|e| !e.trim().is_empty() && !covered.contains(ecosystem::base(e)))
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    missing.dedup_by(|a, b| ecosystem::base(a) == ecosystem::base(b));
    if !missing.is_empty() && st.vulns > 0 {
        out.push(Problem::MissingEcosystems(missing));
    }
    Ok(out)
}

/// The `db update` command that fixes the problems for `ecosystems`: every ecosystem of
/// the scan when the database is empty or stale, else the missing ones.
pub fn update_ecosystems(problems: &[Problem], ecosystems: &[String]) -> Vec<String> {
    let all = problems
        .iter()
        .any(|p| !matches!(p, Problem::MissingEcosystems(_)));
    let out: Vec<String> = if all {
        ecosystems.to_vec()
    } else {
        problems
            .iter()
            .flat_map(|p| match p {
                Problem::MissingEcosystems(e) => e.clone(),
                _ => Vec::new(),
            })
            .collect()
    };
    // The command fetches archives: `Debian:12` is in `Debian/all.zip`.
    let mut out: Vec<String> = out
        .iter()
        .map(|e| crate::update::archive_ecosystem(e).to_string())
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn ages() {
        assert_eq!(
            parse_max_age("7d").unwrap(),
            Some(Duration::from_secs(604_800))
        );
        assert_eq!(parse_max_age("90").unwrap(), Some(Duration::from_secs(90)));
        assert_eq!(parse_max_age("none").unwrap(), None);
        assert!(parse_max_age("7y").is_err());
        assert!(parse_max_age("").is_err());
        assert!(parse_max_age("99999999999999999999d").is_err());
    }

    #[test]
    fn empty_database_is_a_problem() {
        let db = Db::open_in_memory().unwrap();
        let p = check(&db, &["npm".to_string()], Some(DEFAULT_MAX_AGE)).unwrap();
        assert_eq!(p, vec![Problem::Empty]);
        assert_eq!(update_ecosystems(&p, &["npm".into()]), ["npm"]);
    }
}
