//! Read CycloneDX (1.4–1.7) and SPDX (2.2/2.3) JSON SBOMs into an inventory.

use super::purl::package_from_purl;
use super::Error;
use crate::inventory::{Hash, Inventory, Lockfile, Package, SourceRef};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

/// Largest SBOM read (bytes).
pub const MAX_SBOM_SIZE: u64 = 512 * 1024 * 1024;
/// Deepest component nesting followed.
const MAX_DEPTH: usize = 64;

/// Read an SBOM file (CycloneDX or SPDX JSON, detected from the content) into an
/// inventory with one [`Lockfile`] whose path is `path` as given and whose kind is
/// `cyclonedx` or `spdx`. Components without a purl are skipped (counted in no error:
/// they are usually files, the OS or the root). Each package's line is that of its purl.
pub fn read(path: &Path) -> Result<Inventory, Error> {
    let meta = std::fs::metadata(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if meta.len() > MAX_SBOM_SIZE {
        return Err(Error::Format {
            path: path.to_path_buf(),
            message: format!(
                "{} bytes is larger than the {MAX_SBOM_SIZE}-byte limit",
                meta.len()
            ),
        });
    }
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    read_str(&text, path)
}

/// [`read`] from text; `path` names the document in the inventory and in errors.
pub fn read_str(text: &str, path: &Path) -> Result<Inventory, Error> {
    let v: Value = serde_json::from_str(text).map_err(|e| Error::Json {
        path: path.to_path_buf(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    let shown = path.to_string_lossy().replace('\\', "/");
    let lines = purl_lines(text);
    let (kind, mut packages) = if v.get("bomFormat").and_then(Value::as_str) == Some("CycloneDX") {
        ("cyclonedx", cyclonedx(&v))
    } else if v.get("spdxVersion").and_then(Value::as_str).is_some() {
        let ver = v.get("spdxVersion").and_then(Value::as_str).unwrap_or("");
        if !ver.starts_with("SPDX-2.") {
            return Err(Error::Format {
                path: path.to_path_buf(),
                message: format!(
                    "unsupported spdxVersion `{ver}` (expected SPDX-2.2 or SPDX-2.3 JSON)"
                ),
            });
        }
        ("spdx", spdx(&v))
    } else {
        return Err(Error::Format {
            path: path.to_path_buf(),
            message: "neither a CycloneDX JSON BOM (`bomFormat: CycloneDX`) nor an SPDX JSON document (`spdxVersion`)".into(),
        });
    };
    for (p, purl) in &mut packages {
        p.source = Some(SourceRef {
            path: shown.clone(),
            line: lines.get(purl.as_str()).copied(),
        });
    }
    Ok(Inventory {
        lockfiles: vec![Lockfile {
            path: shown,
            kind: kind.into(),
            packages: packages.into_iter().map(|(p, _)| p).collect(),
        }],
        errors: Vec::new(),
    })
}

/// First line of every `"pkg:…"` string in the text (one linear pass).
fn purl_lines(text: &str) -> HashMap<&str, usize> {
    let mut out = HashMap::new();
    let mut line = 1;
    let mut last = 0;
    for (i, _) in text.match_indices("\"pkg:") {
        line += memchr_count(&text.as_bytes()[last..i]);
        last = i;
        let rest = &text[i + 1..];
        if let Some(end) = rest.find('"') {
            out.entry(&rest[..end]).or_insert(line);
        }
    }
    out
}

fn memchr_count(b: &[u8]) -> usize {
    b.iter().filter(|&&c| c == b'\n').count()
}

/// Go module paths are case-sensitive but golang purls are lower-cased: take the
/// component's own name when it is the same path in another case.
fn keep_case(p: &mut Package, name: Option<&str>) {
    if p.ecosystem == "Go" {
        if let Some(n) = name.filter(|n| n.eq_ignore_ascii_case(&p.name)) {
            p.name = n.to_string();
        }
    }
}

fn s<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// CycloneDX hash algorithm names pass through; SPDX ones are mapped (`SHA256` → `SHA-256`).
fn cdx_alg(a: &str) -> String {
    match a {
        "SHA1" => "SHA-1".into(),
        "SHA224" => "SHA-224".into(),
        "SHA256" => "SHA-256".into(),
        "SHA384" => "SHA-384".into(),
        "SHA512" => "SHA-512".into(),
        other => other.to_string(),
    }
}

fn cyclonedx(v: &Value) -> Vec<(Package, String)> {
    // bom-ref → (package index or None for non-package components).
    let mut out: Vec<(Package, String)> = Vec::new();
    let mut by_ref: HashMap<String, Option<usize>> = HashMap::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut stack: Vec<(&Value, usize)> = Vec::new();
    if let Some(cs) = v.get("components").and_then(Value::as_array) {
        stack.extend(cs.iter().rev().map(|c| (c, 0)));
    }
    let root_ref = v
        .pointer("/metadata/component/bom-ref")
        .and_then(Value::as_str)
        .map(str::to_string);
    if let Some(r) = &root_ref {
        by_ref.insert(r.clone(), None);
    }
    while let Some((c, depth)) = stack.pop() {
        if depth < MAX_DEPTH {
            if let Some(cs) = c.get("components").and_then(Value::as_array) {
                stack.extend(cs.iter().rev().map(|c| (c, depth + 1)));
            }
        }
        let bom_ref = s(c, "bom-ref").map(str::to_string);
        let Some(purl) = s(c, "purl") else {
            if let Some(r) = bom_ref {
                by_ref.insert(r, None);
            }
            continue;
        };
        let Some(mut p) = package_from_purl(purl) else {
            if let Some(r) = bom_ref {
                by_ref.insert(r, None);
            }
            continue;
        };
        if p.version.is_empty() {
            if let Some(ver) = s(c, "version") {
                p.version = ver.to_string();
            }
        }
        keep_case(&mut p, s(c, "name"));
        let idx = match seen.get(purl) {
            Some(&i) => i,
            None => {
                if let Some(ls) = c.get("licenses").and_then(Value::as_array) {
                    for l in ls {
                        let text = s(l, "expression")
                            .or_else(|| l.get("license").and_then(|x| s(x, "id")))
                            .or_else(|| l.get("license").and_then(|x| s(x, "name")));
                        if let Some(t) = text {
                            p.licenses.push(t.to_string());
                        }
                    }
                }
                if let Some(hs) = c.get("hashes").and_then(Value::as_array) {
                    for h in hs {
                        if let (Some(a), Some(val)) = (s(h, "alg"), s(h, "content")) {
                            p.hashes.push(Hash {
                                alg: cdx_alg(a),
                                value: val.to_ascii_lowercase(),
                            });
                        }
                    }
                }
                if s(c, "scope") == Some("excluded") {
                    p.dev = true;
                }
                if let Some(refs) = c.get("externalReferences").and_then(Value::as_array) {
                    if let Some(u) = refs
                        .iter()
                        .find(|r| s(r, "type") == Some("distribution"))
                        .and_then(|r| s(r, "url"))
                    {
                        p.resolved = Some(u.to_string());
                    }
                }
                out.push((p, purl.to_string()));
                seen.insert(purl.to_string(), out.len() - 1);
                out.len() - 1
            }
        };
        if let Some(r) = bom_ref {
            by_ref.insert(r, Some(idx));
        }
        // Components are often referenced by purl even without a bom-ref.
        by_ref.entry(purl.to_string()).or_insert(Some(idx));
    }
    // Dependency graph.
    let mut deps: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); out.len()];
    let mut direct: BTreeSet<usize> = BTreeSet::new();
    let mut have_graph = false;
    if let Some(ds) = v.get("dependencies").and_then(Value::as_array) {
        for d in ds {
            let Some(r) = s(d, "ref") else { continue };
            let targets: Vec<usize> = d
                .get("dependsOn")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .filter_map(|t| by_ref.get(t).copied().flatten())
                        .collect()
                })
                .unwrap_or_default();
            match by_ref.get(r) {
                Some(Some(i)) => {
                    deps[*i].extend(targets.into_iter().filter(|t| t != i));
                }
                // The root, or an application / lockfile component (Trivy): what it
                // depends on directly is a direct dependency.
                Some(None) => {
                    have_graph = true;
                    direct.extend(targets);
                }
                None => {}
            }
        }
    }
    let keys: Vec<String> = out.iter().map(|(p, _)| p.key()).collect();
    for (i, (p, _)) in out.iter_mut().enumerate() {
        p.dependencies = deps[i].iter().map(|&j| keys[j].clone()).collect();
        if have_graph {
            p.direct = Some(direct.contains(&i));
        }
    }
    out
}

fn spdx(v: &Value) -> Vec<(Package, String)> {
    let mut out: Vec<(Package, String)> = Vec::new();
    let mut by_id: HashMap<String, Option<usize>> = HashMap::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let empty = Vec::new();
    for pk in v
        .get("packages")
        .and_then(Value::as_array)
        .unwrap_or(&empty)
    {
        let id = s(pk, "SPDXID").unwrap_or("").to_string();
        let purl = pk
            .get("externalRefs")
            .and_then(Value::as_array)
            .and_then(|refs| {
                refs.iter()
                    .find(|r| s(r, "referenceType") == Some("purl"))
                    .and_then(|r| s(r, "referenceLocator"))
            });
        let Some((purl, mut p)) = purl.and_then(|u| package_from_purl(u).map(|p| (u, p))) else {
            by_id.insert(id, None);
            continue;
        };
        if p.version.is_empty() {
            if let Some(ver) = s(pk, "versionInfo") {
                p.version = ver.to_string();
            }
        }
        keep_case(&mut p, s(pk, "name"));
        if let Some(&i) = seen.get(purl) {
            by_id.insert(id, Some(i));
            continue;
        }
        let lic = [s(pk, "licenseDeclared"), s(pk, "licenseConcluded")]
            .into_iter()
            .flatten()
            .find(|l| !matches!(*l, "NOASSERTION" | "NONE"));
        if let Some(l) = lic {
            p.licenses.push(l.to_string());
        }
        if let Some(cs) = pk.get("checksums").and_then(Value::as_array) {
            for c in cs {
                if let (Some(a), Some(val)) = (s(c, "algorithm"), s(c, "checksumValue")) {
                    p.hashes.push(Hash {
                        alg: cdx_alg(a),
                        value: val.to_ascii_lowercase(),
                    });
                }
            }
        }
        if let Some(d) = s(pk, "downloadLocation").filter(|d| d.contains("://")) {
            p.resolved = Some(d.to_string());
        }
        out.push((p, purl.to_string()));
        seen.insert(purl.to_string(), out.len() - 1);
        by_id.insert(id, Some(out.len() - 1));
    }
    let mut deps: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); out.len()];
    let mut described: BTreeSet<String> = v
        .get("documentDescribes")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let rels = v
        .get("relationships")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    for r in rels {
        if s(r, "relationshipType") == Some("DESCRIBES")
            && s(r, "spdxElementId") == Some("SPDXRef-DOCUMENT")
        {
            if let Some(t) = s(r, "relatedSpdxElement") {
                described.insert(t.to_string());
            }
        }
    }
    let mut direct = BTreeSet::new();
    let mut have_graph = false;
    for r in rels {
        let (Some(a), Some(t), Some(b)) = (
            s(r, "spdxElementId"),
            s(r, "relationshipType"),
            s(r, "relatedSpdxElement"),
        ) else {
            continue;
        };
        let (from, to) = match t {
            "DEPENDS_ON" => (a, b),
            "DEPENDENCY_OF" => (b, a),
            _ => continue,
        };
        let to_i = by_id.get(to).copied().flatten();
        match (by_id.get(from).copied().flatten(), to_i) {
            (Some(i), Some(j)) if i != j => {
                deps[i].insert(j);
            }
            (None, Some(j)) if described.contains(from) => {
                have_graph = true;
                direct.insert(j);
            }
            _ => {}
        }
    }
    let keys: Vec<String> = out.iter().map(|(p, _)| p.key()).collect();
    for (i, (p, _)) in out.iter_mut().enumerate() {
        p.dependencies = deps[i].iter().map(|&j| keys[j].clone()).collect();
        if have_graph {
            p.direct = Some(direct.contains(&i));
        }
    }
    out
}
