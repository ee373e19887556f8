//! RustSec advisories in their native format (Markdown with a leading ```` ```toml ````
//! front-matter block) converted to OSV records, the way the RustSec `osv` export does:
//! the `patched` and `unaffected` Cargo version requirements are the safe intervals;
//! everything else is affected (SEMVER events).

use crate::osv::{Affected, Event, PackageId, Range, RangeType, Record, Reference, SeverityEntry};
use crate::version::semver::SemVer;
use crate::version::VersionScheme;
use serde::Deserialize;
use std::cmp::Ordering;

#[derive(Debug, Deserialize)]
struct Front {
    advisory: Adv,
    #[serde(default)]
    versions: Versions,
    #[serde(default)]
    affected: Option<toml::Value>,
}

#[derive(Debug, Deserialize)]
struct Adv {
    id: String,
    package: String,
    date: Option<String>,
    url: Option<String>,
    #[serde(default)]
    references: Vec<String>,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    related: Vec<String>,
    cvss: Option<String>,
    #[serde(default)]
    categories: Vec<String>,
    #[serde(default)]
    keywords: Vec<String>,
    informational: Option<String>,
    withdrawn: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Versions {
    #[serde(default)]
    patched: Vec<String>,
    #[serde(default)]
    unaffected: Vec<String>,
}

/// A version as three numbers and a pre-release tag.
#[derive(Debug, Clone, PartialEq, Eq)]
struct V {
    n: [u64; 3],
    pre: String,
}

impl V {
    fn text(&self) -> String {
        let [a, b, c] = self.n;
        if self.pre.is_empty() {
            format!("{a}.{b}.{c}")
        } else {
            format!("{a}.{b}.{c}-{}", self.pre)
        }
    }
    fn cmp(&self, o: &V) -> Ordering {
        match (SemVer::parse(&self.text()), SemVer::parse(&o.text())) {
            (Ok(a), Ok(b)) => a.cmp(&b),
            _ => self.n.cmp(&o.n),
        }
    }
    fn zero() -> V {
        V {
            n: [0, 0, 0],
            pre: String::new(),
        }
    }
}

/// A bound: the version and whether it is included.
type Bound = Option<(V, bool)>;

/// Parse `1`, `1.2`, `1.2.3`, `1.2.3-rc.1` → (version, number of given parts).
fn partial(s: &str) -> Result<(V, usize), String> {
    let s = s.trim().trim_start_matches('v');
    let (core, pre) = match s.split_once('-') {
        Some((c, p)) => (c, p.split('+').next().unwrap_or("").to_string()),
        None => (s.split('+').next().unwrap_or(""), String::new()),
    };
    let parts: Vec<&str> = core.split('.').collect();
    if parts.is_empty() || parts.len() > 3 {
        return Err(format!("bad version `{s}`"));
    }
    let mut n = [0u64; 3];
    for (i, p) in parts.iter().enumerate() {
        if *p == "*" || p.eq_ignore_ascii_case("x") {
            return Ok((V { n, pre }, i));
        }
        n[i] = p.parse().map_err(|_| format!("bad version `{s}`"))?;
    }
    Ok((V { n, pre }, parts.len()))
}

fn bump(v: &V, at: usize) -> V {
    let mut n = v.n;
    n[at] = n[at].saturating_add(1);
    for x in n.iter_mut().skip(at + 1) {
        *x = 0;
    }
    V {
        n,
        pre: String::new(),
    }
}

/// One requirement (`>= 1.2, < 1.5`, `^0.3`, `1.2.3`) as the interval [lo, hi).
fn interval(req: &str) -> Result<(Bound, Bound), String> {
    let mut lo: Bound = None;
    let mut hi: Bound = None;
    let tighten_lo = |lo: &mut Bound, b: (V, bool)| {
        if lo
            .as_ref()
            .is_none_or(|(v, _)| b.0.cmp(v) == Ordering::Greater)
        {
            *lo = Some(b);
        }
    };
    let tighten_hi = |hi: &mut Bound, b: (V, bool)| {
        if hi
            .as_ref()
            .is_none_or(|(v, _)| b.0.cmp(v) == Ordering::Less)
        {
            *hi = Some(b);
        }
    };
    for c in req.split(',') {
        let c = c.trim();
        if c.is_empty() || c == "*" {
            continue;
        }
        let (op, rest) = [">=", "<=", ">", "<", "=", "^", "~"]
            .iter()
            .find_map(|op| c.strip_prefix(op).map(|r| (*op, r)))
            .unwrap_or(("^", c));
        let (v, given) = partial(rest)?;
        let upper_of_partial = |v: &V| {
            if given == 0 {
                None
            } else {
                Some(bump(v, given - 1))
            }
        };
        match op {
            ">=" => tighten_lo(&mut lo, (v, true)),
            ">" => match given {
                3 => tighten_lo(&mut lo, (v, false)),
                _ => {
                    if let Some(u) = upper_of_partial(&v) {
                        tighten_lo(&mut lo, (u, true));
                    }
                }
            },
            "<" => tighten_hi(&mut hi, (v, false)),
            "<=" => match given {
                3 => tighten_hi(&mut hi, (v, true)),
                _ => {
                    if let Some(u) = upper_of_partial(&v) {
                        tighten_hi(&mut hi, (u, false));
                    }
                }
            },
            "=" => {
                if given == 3 {
                    tighten_lo(&mut lo, (v.clone(), true));
                    tighten_hi(&mut hi, (v, true));
                } else {
                    if let Some(u) = upper_of_partial(&v) {
                        tighten_hi(&mut hi, (u, false));
                    }
                    tighten_lo(&mut lo, (v, true));
                }
            }
            "~" => {
                let at = if given >= 2 { 1 } else { 0 };
                let u = bump(&v, at);
                tighten_lo(&mut lo, (v, true));
                tighten_hi(&mut hi, (u, false));
            }
            _ => {
                // caret
                let at = if v.n[0] > 0 || given <= 1 {
                    0
                } else if v.n[1] > 0 || given == 2 {
                    1
                } else {
                    2
                };
                let u = bump(&v, at);
                tighten_lo(&mut lo, (v, true));
                tighten_hi(&mut hi, (u, false));
            }
        }
    }
    Ok((lo, hi))
}

/// The affected ranges: the complement of the union of the safe requirements.
fn events(safe: &[String]) -> Result<Vec<Event>, String> {
    let mut ivs: Vec<(V, bool, Bound)> = Vec::new();
    for r in safe {
        let (lo, hi) = interval(r)?;
        let (lv, linc) = lo.unwrap_or((V::zero(), true));
        ivs.push((lv, linc, hi));
    }
    ivs.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = Vec::new();
    // `cursor`: the first version that may be affected (None = everything covered).
    let mut cursor: Option<V> = Some(V::zero());
    for (lo, linc, hi) in ivs {
        let Some(cur) = cursor.clone() else { break };
        if lo.cmp(&cur) == Ordering::Greater || (lo == cur && !linc) {
            out.push(Event {
                introduced: Some(if cur == V::zero() {
                    "0".into()
                } else {
                    cur.text()
                }),
                ..Event::default()
            });
            if linc {
                out.push(Event {
                    fixed: Some(lo.text()),
                    ..Event::default()
                });
            } else {
                out.push(Event {
                    last_affected: Some(lo.text()),
                    ..Event::default()
                });
            }
        }
        cursor = match hi {
            None => None,
            Some((h, false)) => Some(if h.cmp(&cur) == Ordering::Greater {
                h
            } else {
                cur
            }),
            Some((h, true)) => Some({
                let next = bump(&h, 2);
                if next.cmp(&cur) == Ordering::Greater {
                    next
                } else {
                    cur
                }
            }),
        };
    }
    if let Some(cur) = cursor {
        out.push(Event {
            introduced: Some(if cur == V::zero() {
                "0".into()
            } else {
                cur.text()
            }),
            ..Event::default()
        });
    }
    Ok(out)
}

/// Parse a RustSec advisory file. Advisories of the Rust toolchain collection
/// (`rust/…`, ids such as `CVE-2019-16760` for `cargo` or `std`) are not about crates.io
/// packages: they give `Ok(None)` (RustSec's own OSV export leaves them out too).
pub fn parse_advisory(text: &str) -> Result<Option<Record>, String> {
    let body = text.trim_start();
    let rest = body
        .strip_prefix("```toml")
        .ok_or("RustSec advisory: no ```toml front matter")?;
    let (toml_text, markdown) = rest
        .split_once("\n```")
        .ok_or("RustSec advisory: unterminated ```toml block")?;
    let front: Front =
        toml::from_str(toml_text).map_err(|e| format!("RustSec advisory front matter: {e}"))?;
    let a = front.advisory;
    if !a.id.starts_with("RUSTSEC-") {
        return Ok(None);
    }
    let markdown = markdown.trim_start_matches('`').trim();
    let (summary, details) = match markdown.strip_prefix("# ") {
        Some(m) => match m.split_once('\n') {
            Some((t, d)) => (Some(t.trim().to_string()), Some(d.trim().to_string())),
            None => (Some(m.trim().to_string()), None),
        },
        None => (None, Some(markdown.to_string())),
    };
    let mut safe = front.versions.patched.clone();
    safe.extend(front.versions.unaffected.iter().cloned());
    let evs = events(&safe)?;
    let mut references: Vec<Reference> = vec![Reference {
        kind: "PACKAGE".into(),
        url: format!("https://crates.io/crates/{}", a.package),
    }];
    references.push(Reference {
        kind: "ADVISORY".into(),
        url: format!("https://rustsec.org/advisories/{}.html", a.id),
    });
    for u in a.url.iter().chain(a.references.iter()) {
        references.push(Reference {
            kind: "WEB".into(),
            url: u.clone(),
        });
    }
    let published = a.date.as_ref().map(|d| format!("{d}T12:00:00Z"));
    Ok(Some(Record {
        schema_version: Some("1.6.0".into()),
        id: a.id.clone(),
        modified: published.clone(),
        published,
        withdrawn: a.withdrawn.map(|w| format!("{w}T12:00:00Z")),
        aliases: a.aliases,
        related: a.related,
        upstream: Vec::new(),
        summary,
        details,
        severity: a
            .cvss
            .iter()
            .map(|c| SeverityEntry {
                kind: if c.starts_with("CVSS:4") {
                    "CVSS_V4"
                } else {
                    "CVSS_V3"
                }
                .into(),
                score: c.clone(),
            })
            .collect(),
        affected: vec![Affected {
            package: Some(PackageId {
                ecosystem: "crates.io".into(),
                name: a.package.clone(),
                purl: Some(format!("pkg:cargo/{}", a.package)),
            }),
            severity: Vec::new(),
            ranges: vec![Range {
                kind: RangeType::Semver,
                repo: None,
                events: evs,
                database_specific: None,
            }],
            versions: Vec::new(),
            ecosystem_specific: front
                .affected
                .and_then(|v| serde_json::to_value(v).ok())
                .map(|v| serde_json::json!({"affects": v})),
            database_specific: None,
        }],
        references,
        credits: Vec::new(),
        database_specific: Some(serde_json::json!({
            "categories": a.categories,
            "keywords": a.keywords,
            "informational": a.informational,
            "cvss": a.cvss,
            "source": "rustsec-native",
        })),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(safe: &[&str]) -> Vec<String> {
        events(&safe.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .unwrap()
            .into_iter()
            .map(|e| {
                if let Some(v) = e.introduced {
                    format!("i{v}")
                } else if let Some(v) = e.fixed {
                    format!("f{v}")
                } else {
                    format!("l{}", e.last_affected.unwrap_or_default())
                }
            })
            .collect()
    }

    #[test]
    fn requirement_algebra() {
        assert_eq!(ev(&[">= 0.9.1"]), ["i0", "f0.9.1"]);
        assert_eq!(ev(&[]), ["i0"]);
        assert_eq!(
            ev(&["^0.8.5", ">= 0.9.2"]),
            ["i0", "f0.8.5", "i0.9.0", "f0.9.2"]
        );
        assert_eq!(ev(&["< 0.2.0", ">= 0.3.1"]), ["i0.2.0", "f0.3.1"]);
        assert_eq!(ev(&["> 1.2.3"]), ["i0", "l1.2.3"]);
        assert_eq!(
            ev(&[">= 1.0.0, < 1.2.0", ">= 1.2.5"]),
            ["i0", "f1.0.0", "i1.2.0", "f1.2.5"]
        );
    }
}

#[cfg(test)]
mod informational_tests {
    use super::parse_advisory;
    use crate::severity::{resolve, SeveritySource};
    use rampart_core::Severity;

    /// A native advisory's `informational = "unmaintained"` (record-level after the
    /// conversion) is kept as its kind, low by default; an ordinary one has no kind.
    #[test]
    fn native_informational_kind_is_kept() {
        let text = "```toml\n[advisory]\nid = \"RUSTSEC-2022-0057\"\npackage = \"badge\"\n\
                    date = \"2022-08-31\"\ninformational = \"unmaintained\"\n\n[versions]\n\
                    patched = []\n```\n# badge is Unmaintained\n";
        let r = parse_advisory(text).unwrap().unwrap();
        let s = resolve(&r, r.affected.first());
        assert_eq!(s.severity, Severity::Low);
        assert_eq!(s.informational.as_deref(), Some("unmaintained"));
        assert!(matches!(s.source, SeveritySource::Informational { .. }));
        let plain = text.replace("informational = \"unmaintained\"\n", "");
        let r = parse_advisory(&plain).unwrap().unwrap();
        let s = resolve(&r, r.affected.first());
        assert_eq!((s.severity, s.informational), (Severity::Unknown, None));
    }
}
