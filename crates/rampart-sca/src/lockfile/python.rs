//! Python lockfiles: `poetry.lock`, `Pipfile.lock`, `uv.lock`, `pdm.lock`. Direct
//! dependencies come from the lockfile where it records the project (uv) and otherwise
//! from the manifest next to it (`pyproject.toml`, `Pipfile`).

use super::cargo::header_lines;
use super::{pep503, pkg, prefixed_hash, resolve_by_name, JsonIndex, Out, ParseError, Sibling};
use crate::inventory::{Hash, Package};
use std::collections::HashMap;
use toml::Value;

/// The name at the start of a PEP 508 requirement string.
fn req_name(s: &str) -> &str {
    let s = s.trim();
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(s.len());
    &s[..end]
}

fn str_list(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn table_keys(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_table)
        .map(|t| t.keys().cloned().collect())
        .unwrap_or_default()
}

/// Direct dependencies declared in a `pyproject.toml` (PEP 621, poetry, pdm, uv,
/// PEP 735 dependency groups): PEP 503 name → dev.
pub(crate) fn pyproject_direct(text: &str) -> Option<HashMap<String, bool>> {
    let doc: toml::Table = toml::from_str(text).ok()?;
    let mut out: HashMap<String, bool> = HashMap::new();
    let mut add = |name: &str, dev: bool| {
        let n = pep503(name);
        if n.is_empty() || n == "python" {
            return;
        }
        let e = out.entry(n).or_insert(dev);
        *e = *e && dev;
    };
    let project = doc.get("project");
    for r in str_list(project.and_then(|p| p.get("dependencies"))) {
        add(req_name(&r), false);
    }
    if let Some(opt) = project
        .and_then(|p| p.get("optional-dependencies"))
        .and_then(Value::as_table)
    {
        for v in opt.values() {
            for r in str_list(Some(v)) {
                add(req_name(&r), false);
            }
        }
    }
    if let Some(groups) = doc.get("dependency-groups").and_then(Value::as_table) {
        for v in groups.values() {
            for r in str_list(Some(v)) {
                add(req_name(&r), true);
            }
        }
    }
    let tool = doc.get("tool");
    let poetry = tool.and_then(|t| t.get("poetry"));
    for k in table_keys(poetry.and_then(|p| p.get("dependencies"))) {
        add(&k, false);
    }
    for k in table_keys(poetry.and_then(|p| p.get("dev-dependencies"))) {
        add(&k, true);
    }
    if let Some(groups) = poetry
        .and_then(|p| p.get("group"))
        .and_then(Value::as_table)
    {
        for g in groups.values() {
            for k in table_keys(g.get("dependencies")) {
                add(&k, true);
            }
        }
    }
    if let Some(dev) = tool
        .and_then(|t| t.get("pdm"))
        .and_then(|p| p.get("dev-dependencies"))
        .and_then(Value::as_table)
    {
        for v in dev.values() {
            for r in str_list(Some(v)) {
                add(req_name(&r), true);
            }
        }
    }
    for r in str_list(
        tool.and_then(|t| t.get("uv"))
            .and_then(|u| u.get("dev-dependencies")),
    ) {
        add(req_name(&r), true);
    }
    Some(out)
}

fn apply_direct(packages: &mut [Package], direct: Option<&HashMap<String, bool>>) {
    let Some(d) = direct.filter(|d| !d.is_empty()) else {
        return;
    };
    for p in packages {
        p.direct = Some(d.contains_key(&pep503(&p.name)));
    }
}

fn file_hashes(v: Option<&Value>) -> Vec<Hash> {
    let mut out: Vec<Hash> = Vec::new();
    for f in v.and_then(Value::as_array).into_iter().flatten() {
        if let Some(h) = f
            .get("hash")
            .and_then(Value::as_str)
            .and_then(prefixed_hash)
        {
            if !out.contains(&h) {
                out.push(h);
            }
        }
    }
    out
}

fn packages_of(doc: &toml::Table) -> Vec<toml::Table> {
    doc.get("package")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|v| v.as_table().cloned()).collect())
        .unwrap_or_default()
}

fn s<'a>(t: &'a toml::Table, k: &str) -> &'a str {
    t.get(k).and_then(Value::as_str).unwrap_or("")
}

pub(crate) fn poetry(text: &str, sibling: Sibling<'_>) -> Result<Out, ParseError> {
    let doc: toml::Table = toml::from_str(text).map_err(|e| ParseError::toml(text, &e))?;
    let lines = header_lines(text, "[[package]]");
    let old_files = doc
        .get("metadata")
        .and_then(|m| m.get("files"))
        .and_then(Value::as_table);
    let mut out = Vec::new();
    let mut deps = Vec::new();
    for (i, t) in packages_of(&doc).iter().enumerate() {
        let mut p = pkg(s(t, "name"), s(t, "version"), lines.get(i).copied());
        let groups = str_list(t.get("groups"));
        p.dev = s(t, "category") == "dev"
            || (!groups.is_empty() && !groups.iter().any(|g| g == "main"));
        p.hashes = file_hashes(t.get("files"));
        if p.hashes.is_empty() {
            p.hashes = file_hashes(old_files.and_then(|f| f.get(&p.name)));
        }
        if let Some(src) = t.get("source").and_then(Value::as_table) {
            p.resolved = src.get("url").and_then(Value::as_str).map(str::to_string);
        }
        deps.push(table_keys(t.get("dependencies")));
        out.push(p);
    }
    resolve_by_name(&mut out, &deps);
    let direct = sibling("pyproject.toml").and_then(|t| pyproject_direct(&t));
    apply_direct(&mut out, direct.as_ref());
    Ok((None, out))
}

pub(crate) fn pdm(text: &str, sibling: Sibling<'_>) -> Result<Out, ParseError> {
    let doc: toml::Table = toml::from_str(text).map_err(|e| ParseError::toml(text, &e))?;
    let lines = header_lines(text, "[[package]]");
    let mut out = Vec::new();
    let mut deps = Vec::new();
    for (i, t) in packages_of(&doc).iter().enumerate() {
        let mut p = pkg(s(t, "name"), s(t, "version"), lines.get(i).copied());
        let groups = str_list(t.get("groups"));
        p.dev = !groups.is_empty() && !groups.iter().any(|g| g == "default");
        p.hashes = file_hashes(t.get("files"));
        deps.push(
            str_list(t.get("dependencies"))
                .iter()
                .map(|r| req_name(r).to_string())
                .collect(),
        );
        out.push(p);
    }
    resolve_by_name(&mut out, &deps);
    let direct = sibling("pyproject.toml").and_then(|t| pyproject_direct(&t));
    apply_direct(&mut out, direct.as_ref());
    Ok((None, out))
}

pub(crate) fn uv(text: &str) -> Result<Out, ParseError> {
    let doc: toml::Table = toml::from_str(text).map_err(|e| ParseError::toml(text, &e))?;
    let lines = header_lines(text, "[[package]]");
    let dep_names = |v: Option<&Value>| -> Vec<(String, Option<String>)> {
        v.and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|d| {
                        let n = d.get("name")?.as_str()?.to_string();
                        let v = d.get("version").and_then(Value::as_str).map(str::to_string);
                        Some((n, v))
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    let mut deps: Vec<Vec<String>> = Vec::new();
    let mut direct: HashMap<String, bool> = HashMap::new();
    let mut versioned: Vec<(usize, String)> = Vec::new();
    for (i, t) in packages_of(&doc).iter().enumerate() {
        let src = t.get("source").and_then(Value::as_table);
        let local = src.is_some_and(|s| {
            s.contains_key("editable")
                || s.contains_key("virtual")
                || s.contains_key("path") && s.len() == 1
        });
        let mut names: Vec<(String, Option<String>)> = dep_names(t.get("dependencies"));
        if let Some(opt) = t.get("optional-dependencies").and_then(Value::as_table) {
            for v in opt.values() {
                names.extend(dep_names(Some(v)));
            }
        }
        if local {
            for (n, _) in &names {
                let e = direct.entry(pep503(n)).or_insert(false);
                *e = false;
            }
            if let Some(dev) = t.get("dev-dependencies").and_then(Value::as_table) {
                for v in dev.values() {
                    for (n, _) in dep_names(Some(v)) {
                        direct.entry(pep503(&n)).or_insert(true);
                    }
                }
            }
            continue;
        }
        let mut p = pkg(s(t, "name"), s(t, "version"), lines.get(i).copied());
        if let Some(src) = src {
            p.resolved = src
                .get("registry")
                .or_else(|| src.get("git"))
                .or_else(|| src.get("url"))
                .and_then(Value::as_str)
                .map(str::to_string);
        }
        let mut hashes = Vec::new();
        if let Some(h) = t
            .get("sdist")
            .and_then(|x| x.get("hash"))
            .and_then(Value::as_str)
            .and_then(prefixed_hash)
        {
            hashes.push(h);
        }
        for h in file_hashes(t.get("wheels")) {
            if !hashes.contains(&h) {
                hashes.push(h);
            }
        }
        p.hashes = hashes;
        let idx = out.len();
        let mut plain = Vec::new();
        for (n, v) in names {
            match v {
                Some(v) => versioned.push((idx, format!("{n}@{v}"))),
                None => plain.push(n),
            }
        }
        deps.push(plain);
        out.push(p);
    }
    resolve_by_name(&mut out, &deps);
    for (i, k) in versioned {
        if let Some(p) = out.get_mut(i) {
            p.dependencies.push(k);
        }
    }
    if !direct.is_empty() {
        for p in &mut out {
            match direct.get(&pep503(&p.name)) {
                Some(dev) => {
                    p.direct = Some(true);
                    p.dev = *dev;
                }
                None => p.direct = Some(false),
            }
        }
    }
    Ok((None, out))
}

pub(crate) fn pipfile(text: &str, sibling: Sibling<'_>) -> Result<Out, ParseError> {
    let doc: serde_json::Value = serde_json::from_str(text).map_err(|e| ParseError::json(&e))?;
    let ix = JsonIndex::build(text);
    let mut out = Vec::new();
    for (section, dev) in [("default", false), ("develop", true)] {
        let Some(m) = doc.get(section).and_then(serde_json::Value::as_object) else {
            continue;
        };
        for (name, v) in m {
            let Some(ver) = v.get("version").and_then(serde_json::Value::as_str) else {
                continue;
            };
            let ver = ver.trim_start_matches("===").trim_start_matches("==");
            let mut p = pkg(name, ver, ix.line(&[section, name]));
            p.dev = dev;
            p.hashes = v
                .get("hashes")
                .and_then(serde_json::Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(serde_json::Value::as_str)
                        .filter_map(prefixed_hash)
                        .collect()
                })
                .unwrap_or_default();
            out.push(p);
        }
    }
    if let Some(pipfile) = sibling("Pipfile") {
        if let Ok(doc) = toml::from_str::<toml::Table>(&pipfile) {
            let mut d: HashMap<String, bool> = HashMap::new();
            for k in table_keys(doc.get("dev-packages")) {
                d.insert(pep503(&k), true);
            }
            for k in table_keys(doc.get("packages")) {
                d.insert(pep503(&k), false);
            }
            apply_direct(&mut out, Some(&d));
        }
    }
    Ok((None, out))
}
