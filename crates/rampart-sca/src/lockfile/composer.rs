//! `composer.lock`: `packages` and `packages-dev` (dev), licences, dist hashes;
//! direct dependencies from the `composer.json` next to it.

use super::{pkg, JsonIndex, Out, ParseError, Sibling};
use crate::inventory::{Hash, Package};
use serde_json::Value;
use std::collections::HashMap;

pub(crate) fn parse(text: &str, sibling: Sibling<'_>) -> Result<Out, ParseError> {
    let doc: Value = serde_json::from_str(text).map_err(|e| ParseError::json(&e))?;
    let ix = JsonIndex::build(text);
    let mut out: Vec<Package> = Vec::new();
    let mut requires: Vec<Vec<String>> = Vec::new();
    for (section, dev) in [("packages", false), ("packages-dev", true)] {
        let Some(list) = doc.get(section).and_then(Value::as_array) else {
            continue;
        };
        for (i, e) in list.iter().enumerate() {
            let name = e.get("name").and_then(Value::as_str).unwrap_or("");
            let version = e.get("version").and_then(Value::as_str).unwrap_or("");
            let idx = i.to_string();
            let mut p = pkg(name, version, ix.line(&[section, &idx]));
            p.dev = dev;
            p.licenses = super::npm::licenses(e.get("license"));
            let dist = e.get("dist");
            p.resolved = dist
                .and_then(|d| d.get("url"))
                .and_then(Value::as_str)
                .map(str::to_string);
            if let Some(sha) = dist
                .and_then(|d| d.get("shasum"))
                .and_then(Value::as_str)
                .filter(|s| s.len() == 40)
            {
                p.hashes.push(Hash {
                    alg: "SHA-1".into(),
                    value: sha.to_ascii_lowercase(),
                });
            }
            requires.push(super::npm::keys(e.get("require")));
            out.push(p);
        }
    }
    super::resolve_by_name(&mut out, &requires);
    if let Some(manifest) = sibling("composer.json") {
        if let Ok(m) = serde_json::from_str::<Value>(&manifest) {
            let mut d: HashMap<String, bool> = HashMap::new();
            for (field, dev) in [("require-dev", true), ("require", false)] {
                for k in super::npm::keys(m.get(field)) {
                    d.insert(k.to_ascii_lowercase(), dev);
                }
            }
            for p in &mut out {
                p.direct = Some(d.contains_key(&p.name.to_ascii_lowercase()));
            }
        }
    }
    Ok((None, out))
}
