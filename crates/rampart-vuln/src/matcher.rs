//! Matching packages against the database.
//!
//! The inventory side (lockfile parsers, SBOMs, image package databases) produces
//! [`Package`]s; [`Db::match_packages`] returns, per package, the vulnerabilities that
//! affect its version — aliases merged into one [`VulnMatch`] — with the fixed
//! versions and the smallest upgrade that fixes all of them; [`PackageReport::findings`]
//! turns that into `rampart_core::Finding`s (`vuln/<id>`, `Location::Package`).

use crate::db::{from_json, Db};
use crate::ecosystem;
use crate::error::DbError;
use crate::osv::{Affected, PackageId, RangeNote, RangeType};
use crate::severity::VulnSeverity;
use crate::version::Version;
use rampart_core::fingerprint::fingerprint;
use rampart_core::{Finding, Location, RuleMeta};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};

/// A package to check: the package model of `rampart_core` (build it with
/// [`Package::new`], [`Package::with_found_in`], [`Package::with_line`]).
pub use rampart_core::package::Package;

/// One vulnerability affecting a package (records that alias each other merged).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VulnMatch {
    /// The primary id (GHSA, else the ecosystem's own id, CVE last).
    pub id: String,
    /// Every other id of the same vulnerability (merged records and their aliases).
    pub aliases: Vec<String>,
    /// The database records merged into this match.
    pub records: Vec<String>,
    /// One-line summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// The highest severity among the merged records.
    pub severity: VulnSeverity,
    /// Versions that fix it (from the ranges that affect the installed version).
    pub fixed: Vec<String>,
    /// Reference URLs.
    pub references: Vec<String>,
    /// Newest `modified` of the merged records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
}

/// The result for one package.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PackageReport {
    /// The package.
    pub package: Package,
    /// Vulnerabilities affecting it.
    pub vulns: Vec<VulnMatch>,
    /// The smallest version above the installed one that no matched record affects,
    /// among the known fixed versions (`None`: no fix known for at least one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smallest_fix: Option<String>,
    /// What could not be evaluated (unparseable version, GIT-only records …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Summary, aliases, references and `modified` of a stored record.
type VulnInfo = (Option<String>, Vec<String>, Vec<String>, Option<String>);

struct Hit {
    id: String,
    aliases: Vec<String>,
    summary: Option<String>,
    refs: Vec<String>,
    modified: Option<String>,
    severity: VulnSeverity,
    fixed: Vec<String>,
    entry: Affected,
    listed: VersionList,
}

/// An affected entry's explicit `versions` list, kept as the stored JSON text: a
/// version is looked up as its JSON string (no parsing of long lists); only entries
/// without an evaluable range fall back to comparing by version equality.
struct VersionList(String);

impl VersionList {
    fn contains(
        &self,
        id: &str,
        raw: &str,
        parsed: Option<&Version>,
        entry: &Affected,
    ) -> Result<bool, DbError> {
        list_contains(id, &self.0, raw, parsed, entry)
    }
}

/// Whether the stored `versions` JSON list holds `raw` (see [`VersionList`]).
fn list_contains(
    id: &str,
    list: &str,
    raw: &str,
    parsed: Option<&Version>,
    entry: &Affected,
) -> Result<bool, DbError> {
    {
        if list == "[]" {
            return Ok(false);
        }
        let quoted = serde_json::to_string(raw).unwrap_or_default();
        if list.contains(&quoted) {
            return Ok(true);
        }
        let evaluable = entry.ranges.iter().any(|r| {
            r.kind != RangeType::Git && !matches!(r.kind, crate::osv::RangeType::Other(_))
        });
        match parsed {
            Some(p) if !evaluable => {
                let list: Vec<String> = from_json(id, list)?;
                Ok(list
                    .iter()
                    .any(|v| Version::parse(p.scheme(), v).is_ok_and(|x| &x == p)))
            }
            _ => Ok(false),
        }
    }
}

/// Rank of an id for choosing the primary one.
fn id_rank(id: &str) -> u8 {
    match id.split('-').next().unwrap_or("") {
        "GHSA" => 0,
        "CVE" => 3,
        "ALPINE" | "DLA" | "DSA" | "DEBIAN" | "UBUNTU" | "USN" => 2,
        _ => 1,
    }
}

impl Db {
    /// Match packages; results come back in the input order, one per package.
    ///
    /// Large inventories of a file database are matched in parallel, one read-only
    /// connection per worker.
    pub fn match_packages(&self, packages: &[Package]) -> Result<Vec<PackageReport>, DbError> {
        use rayon::prelude::*;
        const CHUNK: usize = 512;
        let workers = rayon::current_num_threads();
        match self.path() {
            Some(path) if packages.len() > CHUNK && workers > 1 => {
                let per = packages.len().div_ceil(workers).max(CHUNK);
                let parts: Vec<Result<Vec<PackageReport>, DbError>> = packages
                    .par_chunks(per)
                    .map(|chunk| {
                        let conn = rusqlite::Connection::open_with_flags(
                            path,
                            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                                | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
                        )?;
                        match_with(&conn, chunk)
                    })
                    .collect();
                let mut out = Vec::with_capacity(packages.len());
                for p in parts {
                    out.extend(p?);
                }
                Ok(out)
            }
            _ => match_with(&self.conn, packages),
        }
    }
}

fn match_with(
    conn: &rusqlite::Connection,
    packages: &[Package],
) -> Result<Vec<PackageReport>, DbError> {
    {
        let mut stmt = conn.prepare_cached(
            "SELECT a.vuln_id, a.ecosystem, a.severity, a.ranges, a.versions FROM affected a
             WHERE a.eco_base = ?1 AND a.name = ?2
               AND (?3 = a.eco_base OR a.ecosystem = a.eco_base OR a.ecosystem = ?3)",
        )?;
        let mut vuln_stmt = conn
            .prepare_cached("SELECT summary, aliases, refs, modified FROM vulns WHERE id = ?1")?;
        let mut vuln_cache: HashMap<String, VulnInfo> = HashMap::new();
        let mut unknown_cache: HashMap<(String, String), VulnSeverity> = HashMap::new();
        let mut out: Vec<PackageReport> = Vec::with_capacity(packages.len());
        let mut seen: HashMap<(String, String, String), usize> = HashMap::new();
        for pkg in packages {
            let key = (
                ecosystem::base(&pkg.ecosystem).to_string(),
                ecosystem::normalize_name(&pkg.ecosystem, &pkg.name),
                pkg.version.clone(),
            );
            if let Some(&i) = seen.get(&key) {
                if ecosystem::base(&out[i].package.ecosystem) == key.0
                    && out[i].package.ecosystem == pkg.ecosystem
                {
                    let mut r = out[i].clone();
                    r.package = pkg.clone();
                    out.push(r);
                    continue;
                }
            }
            seen.insert(key, out.len());
            let base = ecosystem::base(&pkg.ecosystem);
            let name = ecosystem::normalize_name(&pkg.ecosystem, &pkg.name);
            let scheme = ecosystem::scheme(&pkg.ecosystem);
            let mut notes = Vec::new();
            let parsed = match scheme.map(|s| Version::parse(s, &pkg.version)) {
                Some(Ok(v)) => Some(v),
                Some(Err(e)) => {
                    notes.push(format!(
                        "version not understood ({e}); only exact `versions` lists were checked"
                    ));
                    None
                }
                None => {
                    notes.push(format!(
                        "ecosystem `{}` has no version scheme in Rampart; only exact `versions` lists were checked",
                        pkg.ecosystem
                    ));
                    None
                }
            };
            let mut rows = stmt.query(rusqlite::params![base, name, pkg.ecosystem])?;
            let mut hits: Vec<Hit> = Vec::new();
            while let Some(row) = rows.next()? {
                // Borrow the row's text; allocate only for hits.
                let text = |i: usize| -> Result<&str, DbError> {
                    row.get_ref(i)?.as_str().map_err(|e| DbError::Corrupt {
                        id: format!("affected row of {name}"),
                        message: e.to_string(),
                    })
                };
                let (id, eco, ranges, versions) = (text(0)?, text(1)?, text(3)?, text(4)?);
                if !ecosystem::covers(eco, &pkg.ecosystem) {
                    continue;
                }
                let entry = Affected {
                    package: Some(PackageId {
                        ecosystem: eco.to_string(),
                        name: String::new(),
                        purl: None,
                    }),
                    severity: Vec::new(),
                    ranges: from_json(id, ranges)?,
                    versions: Vec::new(),
                    ecosystem_specific: None,
                    database_specific: None,
                };
                let mut ev = entry.evaluate(&pkg.version, parsed.as_ref());
                if !ev.affected {
                    ev.affected =
                        list_contains(id, versions, &pkg.version, parsed.as_ref(), &entry)?;
                }
                let git_only = !entry.ranges.is_empty()
                    && versions == "[]"
                    && entry.ranges.iter().all(|r| r.kind == RangeType::Git);
                if git_only && !ev.affected {
                    notes.push(format!(
                        "{id}: only GIT (commit) ranges, which are not evaluated"
                    ));
                }
                for n in &ev.notes {
                    if let RangeNote::BadEventVersion(v) = n {
                        notes.push(format!("{id}: event version `{v}` not understood; ignored"));
                    }
                }
                let id = id.to_string();
                let listed = VersionList(versions.to_string());
                let sev = text(2)?.to_string();
                if !ev.affected {
                    continue;
                }
                if !vuln_cache.contains_key(&id) {
                    let v = vuln_stmt.query_row([&id], |r| {
                        Ok((
                            r.get::<_, Option<String>>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, Option<String>>(3)?,
                        ))
                    })?;
                    let aliases: Vec<String> = from_json(&id, &v.1)?;
                    let refs: Vec<String> = from_json(&id, &v.2)?;
                    vuln_cache.insert(id.clone(), (v.0, aliases, refs, v.3));
                }
                let Some((summary, aliases, refs, modified)) = vuln_cache.get(&id).cloned() else {
                    continue;
                };
                let severity = {
                    let stored: VulnSeverity = from_json("severity", &sev)?;
                    let stored = stored.normalized();
                    if stored.is_unknown() {
                        let key = (id.clone(), name.clone());
                        match unknown_cache.get(&key) {
                            Some(s) => s.clone(),
                            None => {
                                let s = refine_unknown(conn, &id, &name, &pkg.ecosystem, &aliases)?
                                    .unwrap_or(stored);
                                unknown_cache.insert(key, s.clone());
                                s
                            }
                        }
                    } else {
                        stored
                    }
                };
                hits.push(Hit {
                    id,
                    aliases,
                    summary,
                    refs,
                    modified,
                    severity,
                    fixed: ev.fixed,
                    entry,
                    listed,
                });
            }
            notes.sort();
            notes.dedup();
            let vulns = merge(&hits);
            let smallest_fix = smallest_fix(&hits, parsed.as_ref());
            out.push(PackageReport {
                package: pkg.clone(),
                vulns,
                smallest_fix,
                notes,
            });
        }
        Ok(out)
    }
}

/// At most this many other records are consulted for the severity of one record.
const MAX_SEVERITY_PEERS: usize = 64;

/// The severity of a record stored without one: first the record itself again (rows
/// written by older versions lack the informational kind), then the highest known
/// severity among the records it names (aliases, upstream, related) and the records that
/// name it or one of its aliases. `None`: still unknown.
fn refine_unknown(
    conn: &rusqlite::Connection,
    id: &str,
    name: &str,
    pkg_ecosystem: &str,
    aliases: &[String],
) -> Result<Option<VulnSeverity>, DbError> {
    use rusqlite::OptionalExtension;
    let record: Option<String> = conn
        .prepare_cached("SELECT record FROM vulns WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    let record: Option<crate::osv::Record> = match record {
        Some(t) => Some(from_json(id, &t)?),
        None => None,
    };
    if let Some(r) = &record {
        let entry = r.affected.iter().find(|a| {
            a.package.as_ref().is_some_and(|p| {
                ecosystem::covers(&p.ecosystem, pkg_ecosystem)
                    && ecosystem::normalize_name(&p.ecosystem, &p.name) == name
            })
        });
        let s = crate::severity::resolve(r, entry);
        if !s.is_unknown() {
            return Ok(Some(s));
        }
    }
    let mut names: Vec<&str> = aliases.iter().map(String::as_str).collect();
    if let Some(r) = &record {
        names.extend(r.related.iter().map(String::as_str));
        names.extend(r.upstream.iter().map(String::as_str));
    }
    names.push(id);
    names.sort_unstable();
    names.dedup();
    let mut stmt = conn.prepare_cached(
        "SELECT id, severity FROM vulns WHERE id = ?1
         UNION
         SELECT v.id, v.severity FROM aliases a JOIN vulns v ON v.id = a.vuln_id WHERE a.alias = ?1
         UNION
         SELECT f.vuln_id, f.severity FROM aliases a JOIN affected f ON f.vuln_id = a.vuln_id
           WHERE a.alias = ?1
         UNION
         SELECT vuln_id, severity FROM affected WHERE vuln_id = ?1",
    )?;
    let mut best: Option<VulnSeverity> = None;
    let mut seen = 0usize;
    for n in names {
        let mut rows = stmt.query([n])?;
        while let Some(row) = rows.next()? {
            let peer: String = row.get(0)?;
            if peer == id {
                continue;
            }
            seen += 1;
            if seen > MAX_SEVERITY_PEERS {
                return Ok(best);
            }
            let text: String = row.get(1)?;
            let s: VulnSeverity = from_json(&peer, &text)?;
            let s = s.normalized();
            if s.is_unknown() || s.informational.is_some() {
                continue;
            }
            let better = best.as_ref().is_none_or(|b| {
                s.severity
                    .cmp(&b.severity)
                    .then_with(|| s.score.unwrap_or(0.0).total_cmp(&b.score.unwrap_or(0.0)))
                    .is_gt()
            });
            if better {
                best = Some(VulnSeverity {
                    via: Some(peer),
                    ..s
                });
            }
        }
    }
    Ok(best)
}

/// Sort rank: `Unknown` next to `High`, where the default gate counts it.
fn display_rank(s: rampart_core::Severity) -> (u8, u8) {
    use rampart_core::Severity as S;
    match s {
        S::Unknown => (S::High as u8, 0),
        other => (other as u8, 1),
    }
}

/// Group hits that share an id or alias (union-find) into one match each.
fn merge(hits: &[Hit]) -> Vec<VulnMatch> {
    let n = hits.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn find(p: &mut [usize], mut i: usize) -> usize {
        while p[i] != i {
            p[i] = p[p[i]];
            i = p[i];
        }
        i
    }
    let mut owner: HashMap<&str, usize> = HashMap::new();
    for (i, h) in hits.iter().enumerate() {
        for k in std::iter::once(&h.id).chain(h.aliases.iter()) {
            match owner.get(k.as_str()) {
                Some(&j) => {
                    let (a, b) = (find(&mut parent, i), find(&mut parent, j));
                    parent[a] = b;
                }
                None => {
                    owner.insert(k, i);
                }
            }
        }
    }
    let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
    for i in 0..n {
        let r = find(&mut parent, i);
        match groups.iter_mut().find(|(root, _)| *root == r) {
            Some((_, g)) => g.push(i),
            None => groups.push((r, vec![i])),
        }
    }
    let mut out: Vec<VulnMatch> = groups
        .into_iter()
        .map(|(_, members)| {
            let mut ids: BTreeSet<String> = BTreeSet::new();
            let mut records: BTreeSet<String> = BTreeSet::new();
            let mut fixed: Vec<String> = Vec::new();
            let mut refs: Vec<String> = Vec::new();
            for &m in &members {
                let h = &hits[m];
                records.insert(h.id.clone());
                ids.insert(h.id.clone());
                ids.extend(h.aliases.iter().cloned());
                for f in &h.fixed {
                    if !fixed.contains(f) {
                        fixed.push(f.clone());
                    }
                }
                for r in &h.refs {
                    if !refs.contains(r) {
                        refs.push(r.clone());
                    }
                }
            }
            // Primary: the best-ranked id among the records themselves.
            let primary = records
                .iter()
                .min_by(|a, b| id_rank(a).cmp(&id_rank(b)).then_with(|| a.cmp(b)))
                .cloned()
                .unwrap_or_default();
            let lead = members.iter().map(|&m| &hits[m]).find(|h| h.id == primary);
            let severity = members
                .iter()
                .map(|&m| &hits[m].severity)
                .max_by(|a, b| {
                    a.severity
                        .cmp(&b.severity)
                        .then_with(|| a.score.unwrap_or(0.0).total_cmp(&b.score.unwrap_or(0.0)))
                })
                .cloned()
                .unwrap_or_else(|| hits[members[0]].severity.clone());
            let summary = lead
                .and_then(|h| h.summary.clone())
                .or_else(|| members.iter().find_map(|&m| hits[m].summary.clone()));
            let modified = members
                .iter()
                .filter_map(|&m| hits[m].modified.clone())
                .max();
            ids.remove(&primary);
            VulnMatch {
                id: primary,
                aliases: ids.into_iter().collect(),
                records: records.into_iter().collect(),
                summary,
                severity,
                fixed,
                references: refs,
                modified,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        display_rank(b.severity.severity)
            .cmp(&display_rank(a.severity.severity))
            .then_with(|| a.id.cmp(&b.id))
    });
    out
}

/// The smallest known fixed version above the installed one that none of the matched
/// entries affects.
fn smallest_fix(hits: &[Hit], installed: Option<&Version>) -> Option<String> {
    if hits.is_empty() {
        return None;
    }
    let installed = installed?;
    let parse = |f: &String| Version::parse(installed.scheme(), f).ok();
    // Each vulnerability needs at least its own first fix above the installed version,
    // so the answer is at least the largest of those: start there.
    let mut floor: Option<Version> = None;
    for h in hits {
        let first = h
            .fixed
            .iter()
            .filter_map(parse)
            .filter(|v| v > installed)
            .min()?;
        if floor.as_ref().is_none_or(|f| &first > f) {
            floor = Some(first);
        }
    }
    let floor = floor?;
    let mut candidates: Vec<Version> = hits
        .iter()
        .flat_map(|h| h.fixed.iter())
        .filter_map(parse)
        .filter(|v| v >= &floor)
        .collect();
    candidates.sort();
    candidates.dedup();
    candidates
        .into_iter()
        .find(|c| {
            hits.iter().all(|h| {
                !h.entry.evaluate(c.as_str(), Some(c)).affected
                    && !h
                        .listed
                        .contains(&h.id, c.as_str(), Some(c), &h.entry)
                        .unwrap_or(false)
            })
        })
        .map(|c| c.as_str().to_string())
}

impl PackageReport {
    /// The rule metadata of each vulnerability's finding (same order as `vulns`): id
    /// `vuln/<advisory id>` in the advisory's own spelling, title, severity, remediation
    /// and references. Every one passes `RuleMeta::problems`.
    pub fn rule_metas(&self) -> Vec<RuleMeta> {
        self.vulns.iter().map(|v| self.rule_meta(v)).collect()
    }

    fn rule_meta(&self, v: &VulnMatch) -> RuleMeta {
        let p = &self.package;
        let rule_id = format!("vuln/{}", v.id);
        let title = v
            .summary
            .clone()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| format!("{} in {}", v.id, p.name));
        let remediation = match (&self.smallest_fix, v.fixed.first()) {
            (Some(all), _) => format!(
                "Upgrade {} to {all} or later (fixes all {} known vulnerabilities of this package).",
                p.name,
                self.vulns.len()
            ),
            (None, Some(f)) => format!(
                "Upgrade {} to {f} or later; no single known version fixes every vulnerability of this package.",
                p.name
            ),
            (None, None) => format!(
                "No fixed version of {} is known; consider removing or replacing it, or mitigating per the advisory.",
                p.name
            ),
        };
        let mut references = v.references.clone();
        references.extend(v.aliases.iter().cloned());
        RuleMeta {
            id: rule_id,
            area: "vuln".to_string(),
            title: title
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .map_or_else(|| format!("{} in {}", v.id, p.name), str::to_string),
            severity: v.severity.severity,
            description: v
                .summary
                .clone()
                .filter(|s| !s.trim().is_empty())
                .unwrap_or_else(|| format!("{} affects {} ({}).", v.id, p.name, p.ecosystem)),
            remediation,
            references,
            peers: Vec::new(),
            tags: Vec::new(),
        }
    }

    /// One finding per vulnerability: rule `vuln/<id>`, location `Location::Package`.
    pub fn findings(&self) -> Vec<Finding> {
        let p = &self.package;
        self.vulns
            .iter()
            .map(|v| {
                let meta = self.rule_meta(v);
                let rule_id = meta.id.clone();
                let mut message = match &v.severity.informational {
                    Some(kind) => format!(
                        "{} {} has an informational advisory ({kind}): {}",
                        p.name, p.version, v.id
                    ),
                    None => format!("{} {} is affected by {}", p.name, p.version, v.id),
                };
                if !v.aliases.is_empty() {
                    message.push_str(&format!(" ({})", v.aliases.join(", ")));
                }
                if v.fixed.is_empty() {
                    message.push_str("; no fixed version known");
                } else {
                    message.push_str(&format!("; fixed in {}", v.fixed.join(", ")));
                }
                message.push_str(&format!("; severity {}", v.severity.describe()));
                let location = Location::Package {
                    ecosystem: p.ecosystem.clone(),
                    name: p.name.clone(),
                    version: p.version.clone(),
                    found_in: p.found_in().map(str::to_string),
                    span: p.line().map(rampart_core::Span::line),
                };
                let fp = fingerprint(&[
                    &rule_id,
                    ecosystem::base(&p.ecosystem),
                    &ecosystem::normalize_name(&p.ecosystem, &p.name),
                    p.found_in().unwrap_or(""),
                ]);
                let mut f = Finding::new(&meta, message, location, fp);
                let props = [
                    ("aliases", serde_json::json!(v.aliases)),
                    ("records", serde_json::json!(v.records)),
                    ("installed_version", serde_json::json!(p.version)),
                    ("fixed_versions", serde_json::json!(v.fixed)),
                    ("smallest_fix", serde_json::json!(self.smallest_fix)),
                    ("severity_source", serde_json::json!(v.severity.source)),
                    ("cvss_score", serde_json::json!(v.severity.score)),
                ];
                for (k, val) in props {
                    f.properties.insert(k.to_string(), val);
                }
                if let Some(kind) = &v.severity.informational {
                    f.properties
                        .insert("kind".to_string(), serde_json::json!(kind));
                }
                if let Some(via) = &v.severity.via {
                    f.properties
                        .insert("severity_from".to_string(), serde_json::json!(via));
                }
                f
            })
            .collect()
    }
}

impl PackageReport {
    /// The report as matcher hits: one per vulnerability, with its finding, every id
    /// (primary, aliases, merged records) and whether a fix is known.
    pub fn hits(&self) -> Vec<rampart_core::package::VulnHit> {
        self.findings()
            .into_iter()
            .zip(&self.vulns)
            .map(|(finding, v)| {
                let mut ids = Vec::with_capacity(1 + v.aliases.len() + v.records.len());
                ids.push(v.id.clone());
                ids.extend(v.aliases.iter().cloned());
                ids.extend(v.records.iter().cloned());
                rampart_core::package::VulnHit {
                    finding,
                    ids,
                    has_fix: !v.fixed.is_empty(),
                }
            })
            .collect()
    }
}

/// The local database as the inventory pipeline's matcher.
impl rampart_core::package::VulnMatcher for Db {
    fn match_packages(
        &self,
        packages: &[Package],
    ) -> Result<Vec<Vec<rampart_core::package::VulnHit>>, rampart_core::package::MatchError> {
        let reports =
            Db::match_packages(self, packages).map_err(rampart_core::package::MatchError::new)?;
        Ok(reports.iter().map(PackageReport::hits).collect())
    }
}
