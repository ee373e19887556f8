//! `package-lock.json` / `npm-shrinkwrap.json`: v1 (nested `dependencies`), v2 (both)
//! and v3 (`packages` only).

use super::{pkg, sri_hashes, JsonIndex, Out, ParseError, Sibling};
use crate::inventory::Package;
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};

/// Names of a JSON object's keys (`dependencies` etc.).
pub(crate) fn keys(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// `license` as a string, or `{ "type": … }`, or a list of those.
pub(crate) fn licenses(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
        Some(Value::Object(o)) => o
            .get("type")
            .and_then(Value::as_str)
            .map(|s| vec![s.to_string()])
            .unwrap_or_default(),
        Some(Value::Array(a)) => a.iter().flat_map(|x| licenses(Some(x))).collect(),
        _ => Vec::new(),
    }
}

/// Direct dependency names from a `package.json` text (`dependencies`,
/// `devDependencies`, `optionalDependencies`, `peerDependencies`), with dev-ness.
pub(crate) fn manifest_direct(text: &str) -> Option<HashMap<String, bool>> {
    let v: Value = serde_json::from_str(text).ok()?;
    Some(root_direct(v.as_object()?))
}

fn root_direct(root: &Map<String, Value>) -> HashMap<String, bool> {
    let mut out = HashMap::new();
    for (field, dev) in [
        ("devDependencies", true),
        ("dependencies", false),
        ("optionalDependencies", false),
        ("peerDependencies", false),
    ] {
        for k in keys(root.get(field)) {
            out.insert(k, dev);
        }
    }
    out
}

pub(crate) fn parse(text: &str, sibling: Sibling<'_>) -> Result<Out, ParseError> {
    let doc: Value = serde_json::from_str(text).map_err(|e| ParseError::json(&e))?;
    let Some(obj) = doc.as_object() else {
        return Err(ParseError::new(Some(1), "not a JSON object"));
    };
    let ix = JsonIndex::build(text);
    let version = obj
        .get("lockfileVersion")
        .and_then(Value::as_u64)
        .unwrap_or(1);
    if let Some(packages) = obj.get("packages").and_then(Value::as_object) {
        let sub = if version >= 3 { "v3" } else { "v2" };
        return Ok((Some(sub), v2(packages, &ix)));
    }
    if let Some(deps) = obj.get("dependencies").and_then(Value::as_object) {
        let direct = sibling("package.json").and_then(|t| manifest_direct(&t));
        let mut out = Vec::new();
        let mut path = vec!["dependencies".to_string()];
        let mut scopes: Vec<&Map<String, Value>> = vec![deps];
        v1(
            deps,
            &mut path,
            &mut scopes,
            &ix,
            direct.as_ref(),
            true,
            &mut out,
        );
        return Ok((Some("v1"), out));
    }
    Ok((Some("v1"), Vec::new()))
}

fn v2(packages: &Map<String, Value>, ix: &JsonIndex) -> Vec<Package> {
    // Direct: what the root and the workspace packages declare.
    let mut direct: HashMap<String, bool> = HashMap::new();
    for (k, v) in packages {
        if k.is_empty() || !k.contains("node_modules/") {
            if let Some(o) = v.as_object() {
                for (n, dev) in root_direct(o) {
                    let e = direct.entry(n).or_insert(dev);
                    *e = *e && dev;
                }
            }
        }
    }
    let present: HashSet<&str> = packages.keys().map(String::as_str).collect();
    let mut out = Vec::new();
    for (k, v) in packages {
        let Some(o) = v.as_object() else { continue };
        let Some(pos) = k.rfind("node_modules/") else {
            continue;
        };
        if o.get("link").and_then(Value::as_bool) == Some(true) {
            continue;
        }
        let name = o
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or(&k[pos + "node_modules/".len()..]);
        let Some(version) = o.get("version").and_then(Value::as_str) else {
            continue;
        };
        let line = ix.line(&["packages", k]);
        let mut p = pkg(name, version, line);
        p.dev = o.get("dev").and_then(Value::as_bool) == Some(true);
        p.licenses = licenses(o.get("license"));
        p.resolved = o
            .get("resolved")
            .and_then(Value::as_str)
            .map(str::to_string);
        p.hashes = o
            .get("integrity")
            .and_then(Value::as_str)
            .map(sri_hashes)
            .unwrap_or_default();
        let top = pos == 0 && !k[13..].contains("/node_modules/");
        p.direct = Some(top && direct.contains_key(name));
        let mut deps = Vec::new();
        for field in ["dependencies", "optionalDependencies", "peerDependencies"] {
            for d in keys(o.get(field)) {
                if let Some(target) = node_resolve(k, &d, &present) {
                    if let Some(t) = packages.get(target).and_then(Value::as_object) {
                        if let Some(tv) = t.get("version").and_then(Value::as_str) {
                            let key = format!("{d}@{tv}");
                            if !deps.contains(&key) {
                                deps.push(key);
                            }
                        }
                    }
                }
            }
        }
        p.dependencies = deps;
        out.push(p);
    }
    out
}

/// Node's lookup: `<from>/node_modules/<dep>`, then each ancestor's `node_modules`.
fn node_resolve<'a>(from: &str, dep: &str, present: &HashSet<&'a str>) -> Option<&'a str> {
    let mut base = from.to_string();
    loop {
        let cand = if base.is_empty() {
            format!("node_modules/{dep}")
        } else {
            format!("{base}/node_modules/{dep}")
        };
        if let Some(hit) = present.get(cand.as_str()) {
            return Some(hit);
        }
        if base.is_empty() {
            return None;
        }
        match base.rfind("/node_modules/") {
            Some(i) => base.truncate(i),
            None => base.clear(),
        }
    }
}

fn v1<'a>(
    deps: &'a Map<String, Value>,
    path: &mut Vec<String>,
    scopes: &mut Vec<&'a Map<String, Value>>,
    ix: &JsonIndex,
    direct: Option<&HashMap<String, bool>>,
    top: bool,
    out: &mut Vec<Package>,
) {
    if path.len() > 200 {
        return;
    }
    for (name, v) in deps {
        let Some(o) = v.as_object() else { continue };
        let Some(version) = o.get("version").and_then(Value::as_str) else {
            continue;
        };
        path.push(name.clone());
        let refs: Vec<&str> = path.iter().map(String::as_str).collect();
        let line = ix.line(&refs);
        let mut p = pkg(name, version, line);
        p.dev = o.get("dev").and_then(Value::as_bool) == Some(true);
        p.resolved = o
            .get("resolved")
            .and_then(Value::as_str)
            .map(str::to_string);
        p.hashes = o
            .get("integrity")
            .and_then(Value::as_str)
            .map(sri_hashes)
            .unwrap_or_default();
        p.direct = direct.map(|d| top && d.contains_key(name));
        let own = o.get("dependencies").and_then(Value::as_object);
        if let Some(own) = own {
            scopes.push(own);
        }
        for r in keys(o.get("requires")) {
            let hit = scopes
                .iter()
                .rev()
                .find_map(|s| s.get(&r))
                .and_then(|x| x.get("version"))
                .and_then(Value::as_str);
            if let Some(v) = hit {
                p.dependencies.push(format!("{r}@{v}"));
            }
        }
        out.push(p);
        if let Some(own) = own {
            path.push("dependencies".into());
            v1(own, path, scopes, ix, direct, false, out);
            path.pop();
            scopes.pop();
        }
        path.pop();
    }
}
