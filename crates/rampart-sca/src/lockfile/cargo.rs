//! `Cargo.lock` (v1–v4).

use super::{pkg, Out, ParseError};
use crate::inventory::{Hash, Package};
use std::collections::HashMap;

/// Lines of every `[[package]]` header, in order.
pub(crate) fn header_lines(text: &str, header: &str) -> Vec<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.trim() == header)
        .map(|(i, _)| i + 1)
        .collect()
}

pub(crate) fn parse(text: &str) -> Result<Out, ParseError> {
    let doc: toml::Table = toml::from_str(text).map_err(|e| ParseError::toml(text, &e))?;
    let version = doc.get("version").and_then(toml::Value::as_integer);
    let lines = header_lines(text, "[[package]]");
    let entries = doc
        .get("package")
        .and_then(toml::Value::as_array)
        .cloned()
        .unwrap_or_default();
    // v1 keeps checksums in [metadata]: "checksum name version (source)" = "hex".
    let meta = doc.get("metadata").and_then(toml::Value::as_table);
    let mut all: Vec<(Package, bool, Vec<String>)> = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let Some(t) = e.as_table() else { continue };
        let s = |k: &str| t.get(k).and_then(toml::Value::as_str).unwrap_or("");
        let (name, ver) = (s("name"), s("version"));
        if name.is_empty() || ver.is_empty() {
            return Err(ParseError::new(
                lines.get(i).copied(),
                "[[package]] without name or version",
            ));
        }
        let mut p = pkg(name, ver, lines.get(i).copied());
        let source = t.get("source").and_then(toml::Value::as_str);
        if let Some(src) = source {
            p.resolved = Some(src.to_string());
        }
        let checksum = t
            .get("checksum")
            .and_then(toml::Value::as_str)
            .map(str::to_string)
            .or_else(|| {
                let key = format!("checksum {name} {ver} ({})", source.unwrap_or(""));
                meta.and_then(|m| m.get(&key))
                    .and_then(toml::Value::as_str)
                    .map(str::to_string)
            });
        if let Some(c) = checksum.filter(|c| c.len() == 64) {
            p.hashes.push(Hash {
                alg: "SHA-256".into(),
                value: c.to_ascii_lowercase(),
            });
        }
        let deps: Vec<String> = t
            .get("dependencies")
            .and_then(toml::Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(toml::Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        all.push((p, source.is_none(), deps));
    }
    // Dependencies are "name", "name version" or "name version (source)".
    let mut versions: HashMap<String, Vec<String>> = HashMap::new();
    for (p, _, _) in &all {
        versions
            .entry(p.name.clone())
            .or_default()
            .push(p.version.clone());
    }
    let resolve = |d: &str| -> Option<String> {
        let mut it = d.split_whitespace();
        let name = it.next()?;
        match it.next() {
            Some(v) => Some(format!("{name}@{v}")),
            None => {
                let vs = versions.get(name)?;
                (vs.len() == 1).then(|| format!("{name}@{}", vs[0]))
            }
        }
    };
    let mut direct: Vec<String> = Vec::new();
    for (_, local, deps) in &all {
        if *local {
            direct.extend(deps.iter().filter_map(|d| resolve(d)));
        }
    }
    let any_local = all.iter().any(|(_, l, _)| *l);
    let mut out = Vec::new();
    for (mut p, local, deps) in all {
        // Workspace members and path dependencies have no source: they are the project,
        // not third-party packages.
        if local {
            continue;
        }
        p.dependencies = deps.iter().filter_map(|d| resolve(d)).collect();
        p.direct = any_local.then(|| direct.contains(&p.key()));
        out.push(p);
    }
    let sub = match version {
        Some(v) if v >= 3 => Some(if v == 3 { "v3" } else { "v4" }),
        _ => None,
    };
    Ok((sub, out))
}
