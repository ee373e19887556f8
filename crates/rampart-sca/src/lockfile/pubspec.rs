//! `pubspec.lock` (Dart/Flutter): `packages:` with `dependency: direct main | direct
//! dev | transitive`, `source: hosted | git | sdk | path`, `version`.

use super::{pkg, yaml_key_line, Out, ParseError};
use serde_json::Value;

pub(crate) fn parse(text: &str) -> Result<Out, ParseError> {
    let doc = super::load_yaml(text)?;
    let mut out = Vec::new();
    let Some(pkgs) = doc.value.get("packages").and_then(Value::as_object) else {
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
        let mut p = pkg(name, version, yaml_key_line(&doc, "packages", key));
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    /// Entry lines come from the loader's spans, whatever the indentation (a hand-written
    /// `packages:` line scanner expected exactly two spaces).
    #[test]
    fn entry_lines_with_any_indentation() {
        let text = "packages:\n    http:\n      dependency: \"direct main\"\n      source: hosted\n      version: \"1.2.0\"\n    \"meta\":\n      dependency: transitive\n      source: hosted\n      version: \"1.15.0\"\nsdks:\n  dart: \">=3.0.0 <4.0.0\"\n";
        let (_, pkgs) = super::parse(text).unwrap();
        let lines: Vec<_> = pkgs
            .iter()
            .map(|p| (p.name.as_str(), p.source.as_ref().and_then(|s| s.line)))
            .collect();
        assert_eq!(lines, [("http", Some(2)), ("meta", Some(6))]);
    }
}
