//! CycloneDX 1.6 JSON writer.

use super::graph::{build, Licence, Node};
use super::{SbomMeta, TOOL_VERSION};
use crate::inventory::Inventory;
use serde_json::{json, Map, Value};

/// Bom-ref of the root component.
const ROOT_REF: &str = "rampart:root";

/// The inventory as a CycloneDX 1.6 BOM (JSON value; serialise with `serde_json`).
///
/// Components are deduplicated by purl; `bom-ref` is the purl. Licences are one
/// `expression` when any is compound, else `license` objects (`id` for SPDX ids, `name`
/// for free text). The root component depends on the direct dependencies (or, when the
/// lockfile does not say, on the packages nothing else depends on).
pub fn cyclonedx(inv: &Inventory, meta: &SbomMeta) -> Value {
    let g = build(inv);
    let components: Vec<Value> = g.nodes.iter().map(component).collect();
    let mut dependencies = vec![json!({
        "ref": ROOT_REF,
        "dependsOn": g.roots.iter().map(|&i| g.nodes[i].id.clone()).collect::<Vec<_>>(),
    })];
    for n in &g.nodes {
        dependencies.push(json!({
            "ref": n.id,
            "dependsOn": n.deps.iter().map(|&i| g.nodes[i].id.clone()).collect::<Vec<_>>(),
        }));
    }
    let content = serde_json::to_vec(&(&components, &dependencies)).unwrap_or_default();
    let serial = meta.uuid(&content);
    let mut root = Map::new();
    root.insert("type".into(), json!(meta.root_type));
    root.insert("bom-ref".into(), json!(ROOT_REF));
    root.insert("name".into(), json!(meta.name));
    if let Some(v) = &meta.version {
        root.insert("version".into(), json!(v));
    }
    json!({
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": format!("urn:uuid:{serial}"),
        "version": 1,
        "metadata": {
            "timestamp": meta.time(),
            "tools": {
                "components": [{
                    "type": "application",
                    "name": "rampart",
                    "version": TOOL_VERSION,
                }]
            },
            "component": Value::Object(root),
        },
        "components": components,
        "dependencies": dependencies,
    })
}

fn component(n: &Node<'_>) -> Value {
    let p = n.pkg;
    let mut c = Map::new();
    c.insert("type".into(), json!("library"));
    c.insert("bom-ref".into(), json!(n.id));
    // Maven group and npm scope go in `group`, as cyclonedx tools write them.
    let (group, name) = match p.ecosystem.as_str() {
        "Maven" => match p.name.split_once(':') {
            Some((g, a)) => (Some(g), a),
            None => (None, p.name.as_str()),
        },
        "npm" if p.name.starts_with('@') => match p.name.split_once('/') {
            Some((g, a)) => (Some(g), a),
            None => (None, p.name.as_str()),
        },
        _ => (None, p.name.as_str()),
    };
    if let Some(g) = group {
        c.insert("group".into(), json!(g));
    }
    c.insert("name".into(), json!(name));
    if !p.version.is_empty() {
        c.insert("version".into(), json!(p.version));
    }
    if n.dev {
        c.insert("scope".into(), json!("excluded"));
    }
    if !n.hashes.is_empty() {
        c.insert(
            "hashes".into(),
            Value::Array(
                n.hashes
                    .iter()
                    .map(|h| json!({"alg": h.alg, "content": h.value.to_ascii_lowercase()}))
                    .collect(),
            ),
        );
    }
    if let Some(l) = licenses(&n.licenses) {
        c.insert("licenses".into(), l);
    }
    if let Some(u) = &n.purl {
        c.insert("purl".into(), json!(u));
    }
    if let Some(r) = p
        .resolved
        .as_deref()
        .filter(|r| super::graph::is_download_url(r))
    {
        c.insert(
            "externalReferences".into(),
            json!([{"type": "distribution", "url": r}]),
        );
    }
    let mut props = vec![json!({"name": "rampart:ecosystem", "value": p.ecosystem})];
    for f in &n.found_in {
        props.push(json!({"name": "rampart:found_in", "value": f}));
    }
    c.insert("properties".into(), Value::Array(props));
    Value::Object(c)
}

/// CycloneDX `licenses`: either exactly one `expression`, or `license` objects.
fn licenses(ls: &[Licence]) -> Option<Value> {
    if ls.is_empty() {
        return None;
    }
    let any_expr = ls.iter().any(|l| matches!(l, Licence::Expression(_)));
    let any_name = ls.iter().any(|l| matches!(l, Licence::Name(_)));
    if any_expr && !any_name {
        let parts: Vec<String> = ls
            .iter()
            .map(|l| match l {
                Licence::Expression(e) if ls.len() > 1 => format!("({e})"),
                Licence::Expression(e) | Licence::Id(e) | Licence::Name(e) => e.clone(),
            })
            .collect();
        return Some(json!([{"expression": parts.join(" AND ")}]));
    }
    Some(Value::Array(
        ls.iter()
            .map(|l| match l {
                Licence::Id(id)
                    if !id.starts_with("LicenseRef-") && spdx::license_id(id).is_some() =>
                {
                    json!({"license": {"id": id}})
                }
                Licence::Id(t) | Licence::Expression(t) | Licence::Name(t) => {
                    json!({"license": {"name": t}})
                }
            })
            .collect(),
    ))
}
