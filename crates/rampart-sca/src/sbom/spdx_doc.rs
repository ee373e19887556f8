//! SPDX 2.3 JSON writer.

use super::graph::{build, short_hash, Licence, Node};
use super::{SbomMeta, TOOL_VERSION};
use crate::inventory::Inventory;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

const ROOT_ID: &str = "SPDXRef-RootPackage";

/// `[A-Za-z0-9.-]` only, as SPDX identifiers require.
fn sanitize(s: &str) -> String {
    let t: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let t = t.trim_matches('-');
    if t.is_empty() {
        "x".into()
    } else {
        t.chars().take(80).collect()
    }
}

fn spdx_id(n: &Node<'_>) -> String {
    format!(
        "SPDXRef-Package-{}-{}",
        sanitize(&n.pkg.name),
        short_hash(&n.id)
    )
}

/// SPDX checksum algorithm for a CycloneDX spelling.
fn algorithm(alg: &str) -> Option<&'static str> {
    Some(match alg.to_ascii_uppercase().replace('_', "-").as_str() {
        "SHA-1" | "SHA1" => "SHA1",
        "SHA-256" | "SHA256" => "SHA256",
        "SHA-384" | "SHA384" => "SHA384",
        "SHA-512" | "SHA512" => "SHA512",
        "MD5" => "MD5",
        "SHA3-256" => "SHA3-256",
        "SHA3-384" => "SHA3-384",
        "SHA3-512" => "SHA3-512",
        "BLAKE2B-256" => "BLAKE2b-256",
        "BLAKE2B-384" => "BLAKE2b-384",
        "BLAKE2B-512" => "BLAKE2b-512",
        "BLAKE3" => "BLAKE3",
        _ => return None,
    })
}

/// The inventory as an SPDX 2.3 document (JSON value).
///
/// The document `DESCRIBES` a root package named after `meta`; the root `DEPENDS_ON`
/// the direct dependencies and every package `DEPENDS_ON` its own. Declared licences go
/// in `licenseDeclared` (free text becomes a `LicenseRef-` with the text in
/// `hasExtractedLicensingInfos`); purls are `PACKAGE-MANAGER` external references.
pub fn spdx(inv: &Inventory, meta: &SbomMeta) -> Value {
    let g = build(inv);
    let ids: Vec<String> = g.nodes.iter().map(spdx_id).collect();
    // LicenseRef id → extracted text.
    let mut refs: BTreeMap<String, String> = BTreeMap::new();
    let mut packages = Vec::with_capacity(g.nodes.len() + 1);
    let mut root = Map::new();
    root.insert("name".into(), json!(meta.name));
    root.insert("SPDXID".into(), json!(ROOT_ID));
    if let Some(v) = &meta.version {
        root.insert("versionInfo".into(), json!(v));
    }
    root.insert("downloadLocation".into(), json!("NOASSERTION"));
    root.insert("filesAnalyzed".into(), json!(false));
    root.insert("primaryPackagePurpose".into(), json!("APPLICATION"));
    packages.push(Value::Object(root));
    for (n, id) in g.nodes.iter().zip(&ids) {
        let p = n.pkg;
        let mut o = Map::new();
        o.insert("name".into(), json!(p.name));
        o.insert("SPDXID".into(), json!(id));
        if !p.version.is_empty() {
            o.insert("versionInfo".into(), json!(p.version));
        }
        let download = p
            .resolved
            .as_deref()
            .filter(|r| super::graph::is_download_url(r))
            .unwrap_or("NOASSERTION");
        o.insert("downloadLocation".into(), json!(download));
        o.insert("filesAnalyzed".into(), json!(false));
        let checksums: Vec<Value> = n
            .hashes
            .iter()
            .filter_map(|h| {
                algorithm(&h.alg)
                    .map(|a| json!({"algorithm": a, "checksumValue": h.value.to_ascii_lowercase()}))
            })
            .collect();
        if !checksums.is_empty() {
            o.insert("checksums".into(), Value::Array(checksums));
        }
        o.insert("licenseConcluded".into(), json!("NOASSERTION"));
        o.insert(
            "licenseDeclared".into(),
            json!(declared(&n.licenses, &mut refs)),
        );
        o.insert("copyrightText".into(), json!("NOASSERTION"));
        if let Some(u) = &n.purl {
            o.insert(
                "externalRefs".into(),
                json!([{
                    "referenceCategory": "PACKAGE-MANAGER",
                    "referenceType": "purl",
                    "referenceLocator": u,
                }]),
            );
        }
        o.insert("primaryPackagePurpose".into(), json!("LIBRARY"));
        if !n.found_in.is_empty() {
            let list: Vec<&str> = n.found_in.iter().map(String::as_str).collect();
            o.insert(
                "sourceInfo".into(),
                json!(format!(
                    "{} package found in: {}",
                    p.ecosystem,
                    list.join(", ")
                )),
            );
        }
        packages.push(Value::Object(o));
    }
    let mut relationships = vec![json!({
        "spdxElementId": "SPDXRef-DOCUMENT",
        "relationshipType": "DESCRIBES",
        "relatedSpdxElement": ROOT_ID,
    })];
    for &r in &g.roots {
        relationships.push(json!({
            "spdxElementId": ROOT_ID,
            "relationshipType": "DEPENDS_ON",
            "relatedSpdxElement": ids[r],
        }));
    }
    for (i, n) in g.nodes.iter().enumerate() {
        for &d in &n.deps {
            relationships.push(json!({
                "spdxElementId": ids[i],
                "relationshipType": "DEPENDS_ON",
                "relatedSpdxElement": ids[d],
            }));
        }
    }
    let content = serde_json::to_vec(&(&packages, &relationships)).unwrap_or_default();
    let uuid = meta.uuid(&content);
    let mut doc = Map::new();
    doc.insert("spdxVersion".into(), json!("SPDX-2.3"));
    doc.insert("dataLicense".into(), json!("CC0-1.0"));
    doc.insert("SPDXID".into(), json!("SPDXRef-DOCUMENT"));
    doc.insert("name".into(), json!(meta.name));
    doc.insert(
        "documentNamespace".into(),
        json!(format!(
            "https://spdx.org/spdxdocs/rampart-{}-{uuid}",
            sanitize(&meta.name)
        )),
    );
    doc.insert(
        "creationInfo".into(),
        json!({
            "created": meta.time(),
            "creators": [format!("Tool: rampart-{TOOL_VERSION}")],
        }),
    );
    if !refs.is_empty() {
        doc.insert(
            "hasExtractedLicensingInfos".into(),
            Value::Array(
                refs.into_iter()
                    .map(|(id, text)| json!({"licenseId": id, "name": text, "extractedText": text}))
                    .collect(),
            ),
        );
    }
    doc.insert("packages".into(), Value::Array(packages));
    doc.insert("relationships".into(), Value::Array(relationships));
    Value::Object(doc)
}

/// `licenseDeclared`: the licences joined with `AND`; free text becomes a `LicenseRef-`.
fn declared(ls: &[Licence], refs: &mut BTreeMap<String, String>) -> String {
    if ls.is_empty() {
        return "NOASSERTION".into();
    }
    let parts: Vec<String> = ls
        .iter()
        .map(|l| match l {
            Licence::Id(e) | Licence::Expression(e) => {
                for tok in e.split(|c: char| c.is_whitespace() || c == '(' || c == ')') {
                    if tok.starts_with("LicenseRef-") {
                        let text = match tok {
                            "LicenseRef-Public-Domain" => "Public domain".to_string(),
                            "LicenseRef-UNLICENSED" => {
                                "UNLICENSED: not licensed for use by others (npm)".to_string()
                            }
                            other => other.to_string(),
                        };
                        refs.entry(tok.to_string()).or_insert(text);
                    }
                }
                if matches!(l, Licence::Expression(_)) && ls.len() > 1 {
                    format!("({e})")
                } else {
                    e.clone()
                }
            }
            Licence::Name(t) => {
                let id = format!("LicenseRef-rampart-{}", short_hash(t));
                refs.entry(id.clone()).or_insert_with(|| t.clone());
                id
            }
        })
        .collect();
    parts.join(" AND ")
}
