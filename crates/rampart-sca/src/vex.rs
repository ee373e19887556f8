//! OpenVEX (v0.0.x and v0.2.0) documents: statements that say a product is
//! `not_affected` by (or has `fixed`) a vulnerability suppress the matching findings,
//! with the justification recorded.
//!
//! A statement applies to a package when the vulnerability name or one of its aliases
//! is one of the finding's ids, and one of its products is the package (a purl of the
//! same type and name, with no version or the same version), or has the package among
//! its `subcomponents`, or is the scanned product itself (a product that is not a
//! package purl of a lockfile ecosystem, e.g. `pkg:oci/…`, `pkg:github/…`, a URL, and
//! has no subcomponents). Later statements override earlier ones.

use serde_json::Value;
use std::path::Path;

/// The VEX status of a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// `not_affected`.
    NotAffected,
    /// `affected`.
    Affected,
    /// `fixed`.
    Fixed,
    /// `under_investigation`.
    UnderInvestigation,
}

impl Status {
    /// As OpenVEX spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::NotAffected => "not_affected",
            Status::Affected => "affected",
            Status::Fixed => "fixed",
            Status::UnderInvestigation => "under_investigation",
        }
    }

    /// Whether findings covered by the statement are suppressed.
    pub fn suppresses(self) -> bool {
        matches!(self, Status::NotAffected | Status::Fixed)
    }
}

/// A package as a purl names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurlRef {
    /// OSV ecosystem.
    pub ecosystem: String,
    /// Name as the ecosystem spells it (`@scope/name`, `group:artifact`, module path).
    pub name: String,
    /// Version, if the purl has one.
    pub version: Option<String>,
}

/// One product of a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    /// The product's id (purl or other IRI).
    pub id: String,
    /// The package, when the id is a package purl of a lockfile ecosystem.
    pub package: Option<PurlRef>,
    /// Subcomponents (packages inside the product).
    pub subcomponents: Vec<PurlRef>,
}

/// One statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// Vulnerability name and aliases.
    pub vulnerabilities: Vec<String>,
    /// Products.
    pub products: Vec<Product>,
    /// Status.
    pub status: Status,
    /// `justification` (machine-readable label), if any.
    pub justification: Option<String>,
    /// `impact_statement` / `status_notes` / `action_statement`, if any.
    pub statement: Option<String>,
    /// `file#index` for the report.
    pub source: String,
}

/// A VEX file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum VexError {
    /// Unreadable.
    #[error("cannot read VEX file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Not OpenVEX JSON.
    #[error("{path}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Invalid {
        /// The file.
        path: String,
        /// Line, when known.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
}

/// purl type → OSV ecosystem.
fn ecosystem_of(purl_type: &str) -> Option<&'static str> {
    Some(match purl_type {
        "cargo" => "crates.io",
        "npm" => "npm",
        "pypi" => "PyPI",
        "golang" => "Go",
        "maven" => "Maven",
        "gem" => "RubyGems",
        "composer" => "Packagist",
        "nuget" => "NuGet",
        "hex" => "Hex",
        "pub" => "Pub",
        _ => return None,
    })
}

fn pct_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
            if let Ok(v) = u8::from_str_radix(hex, 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parse a package purl of a lockfile ecosystem.
pub fn parse_purl(purl: &str) -> Option<PurlRef> {
    let rest = purl.strip_prefix("pkg:")?;
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    let (ty, path) = rest.split_once('/')?;
    let ecosystem = ecosystem_of(&ty.to_ascii_lowercase())?;
    let (path, version) = match path.rfind('@') {
        Some(i) if i > 0 => (&path[..i], Some(pct_decode(&path[i + 1..]))),
        _ => (path, None),
    };
    let segs: Vec<String> = path.split('/').map(pct_decode).collect();
    let name = match ecosystem {
        "Maven" if segs.len() == 2 => format!("{}:{}", segs[0], segs[1]),
        _ => segs.join("/"),
    };
    if name.is_empty() {
        return None;
    }
    Some(PurlRef {
        ecosystem: ecosystem.to_string(),
        name,
        version: version.filter(|v| !v.is_empty()),
    })
}

impl PurlRef {
    fn matches(&self, ecosystem: &str, name: &str, version: &str) -> bool {
        use rampart_core::package::ecosystem::{base, normalize_name};
        if base(ecosystem) != self.ecosystem {
            return false;
        }
        if normalize_name(ecosystem, name) != normalize_name(ecosystem, &self.name) {
            return false;
        }
        match &self.version {
            None => true,
            Some(v) => v == version || v.trim_start_matches('v') == version.trim_start_matches('v'),
        }
    }
}

impl Statement {
    /// Whether this statement covers a finding with these ids on this package.
    pub fn applies(&self, ids: &[&str], ecosystem: &str, name: &str, version: &str) -> bool {
        let id_hit = self
            .vulnerabilities
            .iter()
            .any(|v| ids.iter().any(|i| i.eq_ignore_ascii_case(v)));
        if !id_hit {
            return false;
        }
        if self.products.is_empty() {
            return true;
        }
        self.products.iter().any(|p| {
            if !p.subcomponents.is_empty() {
                return p
                    .subcomponents
                    .iter()
                    .any(|s| s.matches(ecosystem, name, version));
            }
            match &p.package {
                Some(pk) => pk.matches(ecosystem, name, version),
                None => true,
            }
        })
    }
}

/// Read an OpenVEX JSON file.
pub fn load(path: &Path) -> Result<Vec<Statement>, VexError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| VexError::Io {
        path: shown.clone(),
        source,
    })?;
    parse(&text, &shown)
}

fn ids_of(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Object(o) => {
            let mut out = Vec::new();
            for k in ["name", "@id"] {
                if let Some(s) = o.get(k).and_then(Value::as_str) {
                    out.push(s.to_string());
                }
            }
            if let Some(a) = o.get("aliases").and_then(Value::as_array) {
                out.extend(a.iter().filter_map(Value::as_str).map(str::to_string));
            }
            out
        }
        _ => Vec::new(),
    }
}

fn component_id(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o
            .get("identifiers")
            .and_then(|i| i.get("purl"))
            .or_else(|| o.get("@id"))
            .and_then(Value::as_str)
            .map(str::to_string),
        _ => None,
    }
}

/// Parse OpenVEX JSON text; `source` names it in errors and suppressions.
pub fn parse(text: &str, source: &str) -> Result<Vec<Statement>, VexError> {
    let invalid = |line: Option<usize>, message: String| VexError::Invalid {
        path: source.to_string(),
        line,
        message,
    };
    let doc: Value = serde_json::from_str(text)
        .map_err(|e| invalid(Some(e.line()), format!("invalid JSON: {e}")))?;
    let ctx = doc.get("@context").and_then(Value::as_str).unwrap_or("");
    if !ctx.contains("openvex") {
        return Err(invalid(
            None,
            "not an OpenVEX document (no `@context` naming openvex.dev)".into(),
        ));
    }
    let Some(stmts) = doc.get("statements").and_then(Value::as_array) else {
        return Err(invalid(None, "no `statements` array".into()));
    };
    let mut out = Vec::new();
    for (i, s) in stmts.iter().enumerate() {
        let vulnerabilities = s.get("vulnerability").map(ids_of).unwrap_or_default();
        if vulnerabilities.is_empty() {
            return Err(invalid(None, format!("statement {i}: no vulnerability")));
        }
        let status = match s.get("status").and_then(Value::as_str) {
            Some("not_affected") => Status::NotAffected,
            Some("affected") => Status::Affected,
            Some("fixed") => Status::Fixed,
            Some("under_investigation") => Status::UnderInvestigation,
            other => {
                return Err(invalid(
                    None,
                    format!("statement {i}: unknown status {other:?}"),
                ))
            }
        };
        // v0.0.x: `products` are strings and `subcomponents` sit on the statement.
        let stmt_subs: Vec<PurlRef> = s
            .get("subcomponents")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(component_id)
                    .filter_map(|id| parse_purl(&id))
                    .collect()
            })
            .unwrap_or_default();
        let mut products = Vec::new();
        for p in s
            .get("products")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            let Some(id) = component_id(p) else { continue };
            let mut subs: Vec<PurlRef> = p
                .get("subcomponents")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(component_id)
                        .filter_map(|id| parse_purl(&id))
                        .collect()
                })
                .unwrap_or_default();
            subs.extend(stmt_subs.iter().cloned());
            products.push(Product {
                package: parse_purl(&id),
                id,
                subcomponents: subs,
            });
        }
        let text_of = |k: &str| s.get(k).and_then(Value::as_str).map(str::to_string);
        out.push(Statement {
            vulnerabilities,
            products,
            status,
            justification: text_of("justification"),
            statement: text_of("impact_statement")
                .or_else(|| text_of("status_notes"))
                .or_else(|| text_of("action_statement")),
            source: format!("{source}#statements[{i}]"),
        });
    }
    Ok(out)
}

/// The last statement of `statements` that covers the finding (ids + package).
pub fn find<'a>(
    statements: &'a [Statement],
    ids: &[&str],
    ecosystem: &str,
    name: &str,
    version: &str,
) -> Option<&'a Statement> {
    statements
        .iter()
        .rev()
        .find(|s| s.applies(ids, ecosystem, name, version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purls() {
        let p = parse_purl("pkg:npm/%40babel/core@7.0.0").unwrap();
        assert_eq!(
            (p.ecosystem.as_str(), p.name.as_str()),
            ("npm", "@babel/core")
        );
        assert_eq!(p.version.as_deref(), Some("7.0.0"));
        let m = parse_purl("pkg:maven/org.apache/commons-text@1.9?type=jar").unwrap();
        assert_eq!(m.name, "org.apache:commons-text");
        let g = parse_purl("pkg:golang/github.com/gin-gonic/gin").unwrap();
        assert_eq!(
            (g.name.as_str(), g.version),
            ("github.com/gin-gonic/gin", None)
        );
        assert!(parse_purl("pkg:oci/app@sha256:abc").is_none());
        assert!(parse_purl("https://x").is_none());
    }

    #[test]
    fn statements_v02_and_v00() {
        let v02 = r#"{"@context":"https://openvex.dev/ns/v0.2.0","statements":[
          {"vulnerability":{"name":"CVE-2021-1","aliases":["GHSA-x"]},
           "products":[{"@id":"pkg:github/acme/app","subcomponents":[{"@id":"pkg:npm/lodash@4.17.20"}]}],
           "status":"not_affected","justification":"vulnerable_code_not_in_execute_path"}]}"#;
        let s = parse(v02, "v.json").unwrap();
        assert!(s[0].applies(&["GHSA-x"], "npm", "lodash", "4.17.20"));
        assert!(!s[0].applies(&["GHSA-x"], "npm", "lodash", "4.17.21"));
        assert!(!s[0].applies(&["CVE-2021-2"], "npm", "lodash", "4.17.20"));
        let v00 = r#"{"@context":"https://openvex.dev/ns","statements":[
          {"vulnerability":"CVE-2021-1","products":["pkg:pypi/Django"],"status":"affected"}]}"#;
        let s = parse(v00, "v.json").unwrap();
        assert!(s[0].applies(&["CVE-2021-1"], "PyPI", "django", "3.2"));
        assert!(!s[0].status.suppresses());
        assert!(parse("{}", "x").is_err());
        assert!(parse("{", "x").is_err());
    }
}
