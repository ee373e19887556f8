//! `pubspec.lock` (Dart/Flutter): `packages:` with `dependency: direct main | direct
//! dev | transitive`, `source: hosted | git | sdk | path`, `version`.

use super::{pkg, yaml_keys, Out, ParseError};
use serde_json::Value;

pub(crate) fn parse(text: &str) -> Result<Out, ParseError> {
    let doc = super::load_yaml(text)?;
    let lines = yaml_keys(text, "packages", 2);
    let mut out = Vec::new();
    let Some(pkgs) = doc.get("packages").and_then(Value::as_object) else {
        return Ok((None, out));
    };
    for (k, v) in pkgs {
        let key = k.as_str();
        let source = v.get("source").and_then(Value::as_str).unwrap_or("");
        if matches!(source, "sdk" | "path") {
            continue;
        }
        let Some(version) = v.get("version").and_then(Value::as_str) else {
            continue;
        };
        let name = v
            .get("description")
            .and_then(|d| d.get("name"))
            .and_then(Value::as_str)
            .unwrap_or(key);
        let mut p = pkg(name, version, lines.get(key).copied());
        let dep = v.get("dependency").and_then(Value::as_str).unwrap_or("");
        if !dep.is_empty() {
            p.direct = Some(dep.starts_with("direct"));
            p.dev = dep == "direct dev";
        }
        p.resolved = v
            .get("description")
            .and_then(|d| d.get("url"))
            .and_then(Value::as_str)
            .map(str::to_string);
        if let Some(h) = v
            .get("description")
            .and_then(|d| d.get("sha256"))
            .and_then(Value::as_str)
            .and_then(|h| super::prefixed_hash(&format!("sha256:{h}")))
        {
            p.hashes.push(h);
        }
        out.push(p);
    }
    Ok((None, out))
}
