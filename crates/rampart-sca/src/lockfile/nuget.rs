//! NuGet `packages.lock.json`: per target framework, `Direct` / `Transitive` /
//! `CentralTransitive` packages (`Project` references are skipped).

use super::{pkg, JsonIndex, Out, ParseError};
use crate::inventory::{Hash, Package};
use serde_json::Value;
use std::collections::HashMap;

pub(crate) fn parse(text: &str) -> Result<Out, ParseError> {
    use base64::Engine as _;
    let doc: Value = serde_json::from_str(text).map_err(|e| ParseError::json(&e))?;
    let ix = JsonIndex::build(text);
    let mut out: Vec<Package> = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let Some(fws) = doc.get("dependencies").and_then(Value::as_object) else {
        return Err(ParseError::new(
            Some(1),
            "no `dependencies` object: not a packages.lock.json",
        ));
    };
    for (fw, pkgs) in fws {
        let Some(pkgs) = pkgs.as_object() else {
            continue;
        };
        for (name, e) in pkgs {
            let kind = e.get("type").and_then(Value::as_str).unwrap_or("");
            if kind == "Project" {
                continue;
            }
            let Some(version) = e.get("resolved").and_then(Value::as_str) else {
                continue;
            };
            let key = format!("{}@{version}", name.to_ascii_lowercase());
            if let Some(&i) = seen.get(&key) {
                if kind == "Direct" {
                    out[i].direct = Some(true);
                }
                continue;
            }
            let mut p = pkg(name, version, ix.line(&["dependencies", fw, name]));
            p.direct = Some(kind == "Direct");
            if let Some(h) = e.get("contentHash").and_then(Value::as_str) {
                if let Ok(b) = base64::engine::general_purpose::STANDARD.decode(h) {
                    p.hashes.push(Hash {
                        alg: "SHA-512".into(),
                        value: hex::encode(b),
                    });
                }
            }
            // Dependencies are ranges (`[1.0.0, )`); resolve by name within the framework.
            for d in super::npm::keys(e.get("dependencies")) {
                if let Some(v) = pkgs
                    .get(&d)
                    .and_then(|x| x.get("resolved"))
                    .and_then(Value::as_str)
                {
                    p.dependencies.push(format!("{d}@{v}"));
                }
            }
            seen.insert(key, out.len());
            out.push(p);
        }
    }
    Ok((None, out))
}
