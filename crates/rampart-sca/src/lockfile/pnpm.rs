//! `pnpm-lock.yaml`: v5 (`/name/1.0.0`), v6 (`/name@1.0.0`) and v9 (`name@1.0.0`, with
//! the graph under `snapshots`).

use super::{pkg, sri_hashes, yaml_key_line, Out, ParseError};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};

fn s(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

type Mapping = Map<String, Value>;

fn get<'a>(m: &'a Mapping, k: &str) -> Option<&'a Value> {
    m.get(k)
}

/// Strip the peer-dependency suffix: `1.0.0(react@18.0.0)` / `1.0.0_react@18.0.0`.
fn strip_peers(v: &str, v5: bool) -> &str {
    let v = v.split('(').next().unwrap_or(v);
    if v5 {
        v.split('_').next().unwrap_or(v)
    } else {
        v
    }
}

/// A `packages` key → (name, version).
fn split_key(key: &str, v5: bool) -> Option<(String, String)> {
    let k = key.strip_prefix('/').unwrap_or(key);
    let k = strip_peers(k, v5);
    let (name, version) = if v5 {
        let i = k.rfind('/')?;
        (&k[..i], &k[i + 1..])
    } else {
        let i = k.get(1..)?.rfind('@')? + 1;
        (&k[..i], &k[i + 1..])
    };
    if name.is_empty() || version.is_empty() {
        return None;
    }
    Some((name.to_string(), version.to_string()))
}

/// A dependency's resolved version → the key of the package, if it is a registry one.
fn dep_key(name: &str, version: &str, v5: bool) -> Option<String> {
    if version.starts_with("link:") || version.starts_with("file:") {
        return None;
    }
    if version.starts_with('/') || version.contains('@') && !version.starts_with('(') {
        // An alias: `/other@1.0.0` or `other@1.0.0`.
        let v = version.split('(').next().unwrap_or(version);
        if let Some((n, ver)) = split_key(v, v5) {
            return Some(format!("{n}@{ver}"));
        }
    }
    Some(format!("{name}@{}", strip_peers(version, v5)))
}

pub(crate) fn parse(text: &str) -> Result<Out, ParseError> {
    let doc = super::load_yaml(text)?;
    let Some(root) = doc.value.as_object() else {
        return Ok((None, Vec::new()));
    };
    let lv = get(root, "lockfileVersion").and_then(s).unwrap_or_default();
    let major: u32 = lv
        .split('.')
        .next()
        .and_then(|x| x.parse().ok())
        .unwrap_or(5);
    let v5 = major < 6;

    // Direct dependencies from the importers (or the top level for one project).
    let mut direct: HashMap<String, bool> = HashMap::new();
    let mut importers: Vec<&Mapping> = Vec::new();
    if let Some(imp) = get(root, "importers").and_then(Value::as_object) {
        importers.extend(imp.values().filter_map(Value::as_object));
    } else {
        importers.push(root);
    }
    for im in importers {
        for (field, dev) in [
            ("dependencies", false),
            ("optionalDependencies", false),
            ("devDependencies", true),
        ] {
            let Some(deps) = get(im, field).and_then(Value::as_object) else {
                continue;
            };
            for (k, v) in deps {
                let name = k.clone();
                let ver = match v {
                    Value::Object(m) => get(m, "version").and_then(s),
                    other => s(other),
                };
                if let Some(key) = ver.and_then(|v| dep_key(&name, &v, v5)) {
                    let e = direct.entry(key).or_insert(dev);
                    *e = *e && dev;
                }
            }
        }
    }

    // Dependencies per package key (v9: from `snapshots`).
    let mut graph: HashMap<String, Vec<String>> = HashMap::new();
    let mut add_deps = |key: &str, m: &Mapping| {
        let Some((n, v)) = split_key(key, v5) else {
            return;
        };
        let deps = graph.entry(format!("{n}@{v}")).or_default();
        for field in ["dependencies", "optionalDependencies"] {
            if let Some(ds) = get(m, field).and_then(Value::as_object) {
                for (dk, dv) in ds {
                    if let (dn, Some(dver)) = (dk.as_str(), s(dv)) {
                        if let Some(k) = dep_key(dn, &dver, v5) {
                            if !deps.contains(&k) {
                                deps.push(k);
                            }
                        }
                    }
                }
            }
        }
    };
    if let Some(snaps) = get(root, "snapshots").and_then(Value::as_object) {
        for (k, v) in snaps {
            if let Some(m) = v.as_object() {
                add_deps(k, m);
            }
        }
    }
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    if let Some(pkgs) = get(root, "packages").and_then(Value::as_object) {
        for (k, v) in pkgs {
            let Some(m) = v.as_object() else {
                continue;
            };
            let key = k.clone();
            if major < 9 {
                add_deps(&key, m);
            }
            let parsed = split_key(&key, v5);
            let name = get(m, "name").and_then(s).or(parsed.clone().map(|x| x.0));
            let version = get(m, "version")
                .and_then(s)
                .or(parsed.clone().map(|x| x.1));
            let (Some(name), Some(version)) = (name, version) else {
                continue;
            };
            let gkey = parsed.map(|(n, v)| format!("{n}@{v}"));
            let mut p = pkg(&name, &version, yaml_key_line(&doc, "packages", &key));
            if !seen.insert(p.key()) {
                continue;
            }
            if let Some(res) = get(m, "resolution").and_then(Value::as_object) {
                if let Some(i) = get(res, "integrity").and_then(s) {
                    p.hashes = sri_hashes(&i);
                }
                p.resolved = get(res, "tarball").and_then(s);
            }
            p.dev = get(m, "dev").and_then(Value::as_str) == Some("true");
            if !direct.is_empty() {
                p.direct = Some(direct.contains_key(&p.key()));
            }
            if let Some(l) = get(m, "license").and_then(s) {
                p.licenses.push(l);
            }
            out.push((p, gkey));
        }
    }
    let out = out
        .into_iter()
        .map(|(mut p, g)| {
            if let Some(d) = g.and_then(|g| graph.get(&g)) {
                p.dependencies = d.clone();
            }
            p
        })
        .collect();
    let sub = match major {
        0..=5 => "v5",
        6..=8 => "v6",
        _ => "v9",
    };
    Ok((Some(sub), out))
}
