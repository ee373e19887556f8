//! `yarn.lock`: classic (v1, its own format) and berry (v2+, YAML), read line by line so
//! every entry keeps its header line.

use super::npm::manifest_direct;
use super::{pkg, sri_hashes, Out, ParseError, Sibling};
use crate::inventory::{Hash, Package};
use std::collections::HashMap;

#[derive(Default)]
struct Entry {
    line: usize,
    specs: Vec<String>,
    fields: HashMap<String, String>,
    deps: Vec<(String, String)>,
}

fn unquote(s: &str) -> &str {
    let s = s.trim();
    s.strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .or_else(|| s.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')))
        .unwrap_or(s)
}

/// `name@range` → (`name`, `range`); scoped names keep their leading `@`.
pub(crate) fn split_spec(spec: &str) -> Option<(&str, &str)> {
    let at = spec.get(1..)?.find('@')? + 1;
    Some((&spec[..at], &spec[at + 1..]))
}

/// A `key value` (classic) or `key: value` (berry) field line.
fn field(body: &str) -> Option<(String, String)> {
    let body = body.trim();
    let (k, v) = if let Some(rest) = body.strip_prefix('"') {
        let end = rest.find('"')?;
        (&rest[..end], rest[end + 1..].trim_start_matches(':'))
    } else {
        let end = body.find([' ', ':'])?;
        (&body[..end], body[end..].trim_start_matches(':'))
    };
    Some((k.to_string(), unquote(v).to_string()))
}

pub(crate) fn parse(text: &str, sibling: Sibling<'_>) -> Result<Out, ParseError> {
    let berry = text.contains("\n__metadata:") || text.starts_with("__metadata:");
    let mut entries: Vec<Entry> = Vec::new();
    let mut in_deps = false;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let lead = line.len() - line.trim_start_matches(' ').len();
        if lead == 0 {
            let Some(h) = line.strip_suffix(':') else {
                return Err(ParseError::new(
                    Some(i + 1),
                    format!("expected an entry header ending in `:`, found `{line}`"),
                ));
            };
            let specs = h
                .split(", ")
                .map(|s| unquote(s).to_string())
                .filter(|s| !s.is_empty())
                .collect();
            entries.push(Entry {
                line: i + 1,
                specs,
                ..Entry::default()
            });
            in_deps = false;
            continue;
        }
        let Some(e) = entries.last_mut() else {
            return Err(ParseError::new(
                Some(i + 1),
                "indented line before any entry",
            ));
        };
        if lead == 2 {
            let body = line.trim();
            in_deps = matches!(
                body.trim_end_matches(':'),
                "dependencies" | "optionalDependencies"
            ) && body.ends_with(':');
            if !in_deps {
                if let Some((k, v)) = field(body) {
                    e.fields.insert(k, v);
                }
            }
        } else if in_deps && lead >= 4 {
            if let Some((k, v)) = field(line) {
                e.deps.push((k, v));
            }
        }
    }
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (n, e) in entries.iter().enumerate() {
        for s in &e.specs {
            index.insert(s.as_str(), n);
        }
    }
    let mut out: Vec<Option<Package>> = Vec::with_capacity(entries.len());
    let mut roots: Vec<usize> = Vec::new();
    for (n, e) in entries.iter().enumerate() {
        let Some(spec) = e.specs.first() else {
            out.push(None);
            continue;
        };
        if spec == "__metadata" {
            out.push(None);
            continue;
        }
        let resolution = e.fields.get("resolution").map(String::as_str);
        let (name, range) = match resolution.and_then(split_spec) {
            Some(x) => x,
            None => match split_spec(spec) {
                Some(x) => x,
                None => {
                    out.push(None);
                    continue;
                }
            },
        };
        if berry && !range.starts_with("npm:") {
            if range.starts_with("workspace:") {
                roots.push(n);
            }
            out.push(None);
            continue;
        }
        let Some(version) = e.fields.get("version") else {
            out.push(None);
            continue;
        };
        let mut p = pkg(name, version, Some(e.line));
        if let Some(r) = e.fields.get("resolved") {
            p.resolved = Some(r.clone());
        }
        if let Some(i) = e.fields.get("integrity") {
            p.hashes = sri_hashes(i);
        } else if let Some(c) = e.fields.get("checksum") {
            let hex = c.rsplit('/').next().unwrap_or(c);
            if hex.len() == 128 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                p.hashes.push(Hash {
                    alg: "SHA-512".into(),
                    value: hex.to_ascii_lowercase(),
                });
            }
        }
        out.push(Some(p));
    }
    let lookup = |name: &str, range: &str| -> Option<usize> {
        index
            .get(format!("{name}@{range}").as_str())
            .or_else(|| index.get(format!("{name}@npm:{range}").as_str()))
            .copied()
    };
    let keys: Vec<Option<String>> = out.iter().map(|p| p.as_ref().map(Package::key)).collect();
    let mut direct: HashMap<usize, bool> = HashMap::new();
    for &r in &roots {
        for (d, range) in &entries[r].deps {
            if let Some(t) = lookup(d, range) {
                direct.insert(t, false);
            }
        }
    }
    let manifest = if berry {
        None
    } else {
        sibling("package.json").and_then(|t| manifest_direct(&t))
    };
    for (n, e) in entries.iter().enumerate() {
        let deps: Vec<String> = e
            .deps
            .iter()
            .filter_map(|(d, r)| lookup(d, r))
            .filter_map(|t| keys.get(t).cloned().flatten())
            .collect();
        if let Some(Some(p)) = out.get_mut(n) {
            p.dependencies = deps;
            if berry {
                p.direct = (!roots.is_empty()).then(|| direct.contains_key(&n));
            } else if let Some(m) = &manifest {
                let dev = e
                    .specs
                    .iter()
                    .filter_map(|s| split_spec(s))
                    .find_map(|(nm, _)| m.get(nm).copied());
                p.direct = Some(dev.is_some());
                p.dev = dev == Some(true);
            }
        }
    }
    let sub = if berry { "berry" } else { "classic" };
    Ok((Some(sub), out.into_iter().flatten().collect()))
}
