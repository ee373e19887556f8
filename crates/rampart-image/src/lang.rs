//! Language packages installed in the image: Python metadata, Node package manifests,
//! Ruby gemspecs.

use crate::packages::{ImagePackage, PackageKind};

/// A Python `METADATA` / `PKG-INFO` file (RFC 822 headers up to the first blank line).
pub fn parse_python(text: &str, path: &str) -> Option<ImagePackage> {
    let mut name = None;
    let mut version = None;
    let mut license = None;
    let mut line_no = None;
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            let v = v.trim();
            match k {
                "Name" if name.is_none() => {
                    name = Some(v.to_string());
                    line_no = Some(i + 1);
                }
                "Version" if version.is_none() => version = Some(v.to_string()),
                "License-Expression" => license = Some(v.to_string()),
                "License"
                    if license.is_none() && !v.is_empty() && v != "UNKNOWN" && v.len() < 100 =>
                {
                    license = Some(v.to_string())
                }
                _ => {}
            }
        }
    }
    let (name, version) = (name?, version?);
    if name.is_empty() || version.is_empty() {
        return None;
    }
    let mut p = ImagePackage::new(PackageKind::Python, "PyPI", name, version, path);
    p.line = line_no;
    p.licenses.extend(license);
    Some(p)
}

/// A Node package's own `package.json` under `node_modules`.
pub fn parse_node(bytes: &[u8], path: &str) -> Option<ImagePackage> {
    let v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let name = v.get("name")?.as_str()?.trim();
    let version = v.get("version")?.as_str()?.trim();
    if name.is_empty() || version.is_empty() {
        return None;
    }
    let mut p = ImagePackage::new(PackageKind::Npm, "npm", name, version, path);
    match v.get("license") {
        Some(serde_json::Value::String(s)) => p.licenses.push(s.clone()),
        Some(serde_json::Value::Object(o)) => {
            if let Some(t) = o.get("type").and_then(|t| t.as_str()) {
                p.licenses.push(t.to_string());
            }
        }
        _ => {}
    }
    Some(p)
}

/// A Ruby `specifications/*.gemspec` (as RubyGems writes them: `s.name = "x".freeze`).
pub fn parse_gemspec(text: &str, path: &str) -> Option<ImagePackage> {
    let mut name = None;
    let mut version = None;
    let mut licenses = Vec::new();
    for line in text.lines() {
        let l = line.trim();
        let Some((lhs, rhs)) = l.split_once('=') else {
            continue;
        };
        let key = lhs.trim();
        let val = first_quoted(rhs);
        match key.rsplit('.').next() {
            Some("name") if name.is_none() => name = val,
            Some("version") if version.is_none() => version = val,
            Some("licenses") | Some("license") => licenses.extend(val),
            _ => {}
        }
    }
    // Fall back to the file name: `name-1.2.3.gemspec`.
    let file = path
        .rsplit('/')
        .next()
        .unwrap_or(path)
        .trim_end_matches(".gemspec");
    let (fname, fver) = file.rsplit_once('-').unwrap_or((file, ""));
    let name = name.unwrap_or_else(|| fname.to_string());
    let version = version.unwrap_or_else(|| fver.to_string());
    if name.is_empty() || version.is_empty() {
        return None;
    }
    let mut p = ImagePackage::new(PackageKind::Gem, "RubyGems", name, version, path);
    p.licenses = licenses;
    Some(p)
}

fn first_quoted(s: &str) -> Option<String> {
    let s = s.trim();
    let q = s.chars().find(|c| *c == '"' || *c == '\'')?;
    let start = s.find(q)? + 1;
    let end = s[start..].find(q)? + start;
    Some(s[start..end].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python() {
        let p = parse_python("Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\nLicense: Apache 2.0\n\nName: body\n", "x/METADATA").unwrap();
        assert_eq!(
            (p.name.as_str(), p.version.as_str(), p.line),
            ("requests", "2.31.0", Some(2))
        );
        assert_eq!(p.licenses, vec!["Apache 2.0".to_string()]);
        assert!(parse_python("Name: x\n", "m").is_none());
    }

    #[test]
    fn node() {
        let p = parse_node(
            br#"{"name":"lodash","version":"4.17.20","license":"MIT"}"#,
            "p",
        )
        .unwrap();
        assert_eq!((p.name.as_str(), p.licenses.len()), ("lodash", 1));
        assert!(parse_node(b"{", "p").is_none());
        assert!(parse_node(br#"{"name":"x"}"#, "p").is_none());
    }

    #[test]
    fn gemspec() {
        let s = "Gem::Specification.new do |s|\n  s.name = \"rake\".freeze\n  s.version = \"13.0.6\"\n  s.licenses = [\"MIT\".freeze]\nend\n";
        let p = parse_gemspec(
            s,
            "usr/lib/ruby/gems/3.1.0/specifications/rake-13.0.6.gemspec",
        )
        .unwrap();
        assert_eq!((p.name.as_str(), p.version.as_str()), ("rake", "13.0.6"));
        assert_eq!(p.licenses, vec!["MIT".to_string()]);
        let p = parse_gemspec("", "specifications/json-2.6.1.gemspec").unwrap();
        assert_eq!((p.name.as_str(), p.version.as_str()), ("json", "2.6.1"));
    }
}
