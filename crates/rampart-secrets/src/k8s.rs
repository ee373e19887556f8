//! Kubernetes awareness: findings inside a manifest name the object (kind/namespace/name);
//! `kind: Secret` objects have their `data` values base64-decoded and scanned, and a Secret
//! with literal values committed to the tree is reported by a rule of its own.

use crate::scan::SecretScanner;
use base64::Engine as _;
use rampart_core::fingerprint::{fingerprint, secret_digest};
use rampart_core::location::LineIndex;
use rampart_core::{CommitInfo, Finding, K8sObjectRef, Location, RuleMeta, ScanError, Severity};
use serde_json::Value;
use std::collections::HashMap;

/// Id of the code-defined rule for committed Secret manifests.
pub const MANIFEST_RULE_ID: &str = "secret/kubernetes-secret-manifest";

/// Metadata of [`MANIFEST_RULE_ID`].
pub fn manifest_rule_meta() -> RuleMeta {
    RuleMeta {
        id: MANIFEST_RULE_ID.into(),
        area: "secret".into(),
        title: "Kubernetes Secret manifest with literal values".into(),
        severity: Severity::Medium,
        description: "A `kind: Secret` manifest in the source tree carries literal `data` or \
`stringData` values. Base64 is an encoding, not encryption: anyone who can read the \
repository can read the secret."
            .into(),
        remediation: "Remove the values from the repository and rotate them. Deliver secrets with \
Sealed Secrets, SOPS, External Secrets Operator or the CSI secrets-store driver instead."
            .into(),
        references: vec![
            "https://kubernetes.io/docs/concepts/configuration/secret/#information-security-for-secrets".into(),
            "CWE-312".into(),
        ],
        peers: vec!["gitleaks:kubernetes-secret-yaml".into()],
        tags: vec!["Kubernetes".into()],
    }
}

/// The name findings on standard input carry (`rampart secrets -`).
pub const STDIN_NAME: &str = "<stdin>";

/// A cheap test before parsing: a YAML/JSON file (or standard input) that mentions `kind`
/// and `apiVersion`.
pub fn looks_like_manifest(rel: &str, content: &[u8]) -> bool {
    let lower = rel.to_ascii_lowercase();
    // Standard input has no name to go by (`kubectl get secret -o yaml | rampart secrets -`):
    // its content decides. Only a document that fails to load *and* reads like a Secret is
    // a problem, so other text on stdin costs a parse attempt, never an error.
    (lower.ends_with(".yaml")
        || lower.ends_with(".yml")
        || lower.ends_with(".json")
        || rel == STDIN_NAME)
        && memchr::memmem::find(content, b"kind").is_some()
        && memchr::memmem::find(content, b"apiVersion").is_some()
}

/// One YAML document of a file with its byte range and object identity.
struct Doc {
    start: usize,
    end: usize,
    object: K8sObjectRef,
    value: Value,
}

/// The manifest documents of `content`, split and parsed by the one YAML loader (bounded
/// in size, depth and alias expansion; a `-----BEGIN` line does not split a document;
/// layouts go-yaml accepts and yaml-rust2 does not are read by its libyaml fallback).
///
/// A document that does not load and reads like a Secret (a `kind: Secret` line, not a
/// `{{ … }}` template) is a problem: its data values could not be decoded and checked.
fn documents(rel: &str, content: &[u8]) -> (Vec<Doc>, Vec<ScanError>) {
    let mut docs = Vec::new();
    let mut problems = Vec::new();
    let Ok(text) = std::str::from_utf8(content) else {
        return (docs, problems);
    };
    let opts = rampart_yaml::Options::default();
    if text.len() > opts.limits.max_file_bytes {
        return (docs, problems);
    }
    for chunk in rampart_yaml::split_documents(text) {
        // The loader's fast path for block YAML first (CRD bodies skimmed: only the
        // object's identity and a Secret's data are read here), then the full parser.
        let fast =
            rampart_yaml::fast::parse_for_load(chunk.text, chunk.first_line, &opts.limits, true);
        let value = match fast {
            Some(None) => continue,
            Some(Some((value, _))) => value,
            None => match rampart_yaml::parse_document_lenient(chunk.text, chunk.first_line, &opts)
            {
                Ok(Some(parsed)) => parsed.value,
                Ok(None) => continue,
                Err(e) => {
                    if reads_like_secret(chunk.text) {
                        problems.push(ScanError {
                            path: rel.to_string(),
                            line: e.line.or(Some(chunk.first_line)),
                            message: format!(
                                "Secret manifest not parsed ({}); its data values were not decoded and checked",
                                e.message.chars().take(200).collect::<String>()
                            ),
                        });
                    }
                    continue;
                }
            },
        };
        let get = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let (Some(kind), Some(api_version)) = (get(&value, "kind"), get(&value, "apiVersion"))
        else {
            continue;
        };
        let meta = value.get("metadata").cloned().unwrap_or(Value::Null);
        let object = K8sObjectRef {
            api_version,
            kind,
            namespace: get(&meta, "namespace"),
            name: get(&meta, "name").unwrap_or_default(),
        };
        docs.push(Doc {
            start: chunk.offset,
            end: chunk.offset + chunk.text.len(),
            object,
            value,
        });
    }
    (docs, problems)
}

/// A `kind: Secret` line in a document that is not a template.
fn reads_like_secret(text: &str) -> bool {
    !text.contains("{{")
        && text.lines().any(|l| {
            let t = l.trim_start();
            let t = t
                .strip_prefix("kind:")
                .or_else(|| t.strip_prefix("\"kind\":"));
            t.is_some_and(|v| matches!(v.trim().trim_matches(['"', '\'', ',']), "Secret"))
        })
}

/// Byte offset of each `key:` (or `"key":`) line below the `section:` line of the
/// document (the first line for a key met twice), found in one pass so a Secret with many
/// keys costs linear time.
fn key_offsets(content: &[u8], doc: &Doc, section: &str) -> HashMap<String, usize> {
    let text = &content[doc.start..doc.end];
    let mut out = HashMap::new();
    let Some(sec) = find_key(text, 0, section) else {
        return out;
    };
    let mut pos = sec;
    while pos < text.len() {
        let end = memchr::memchr(b'\n', &text[pos..]).map_or(text.len(), |i| pos + i);
        let line = &text[pos..end];
        let at = line
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .unwrap_or(line.len());
        let rest = &line[at..];
        let key = match rest.strip_prefix(b"\"") {
            Some(q) => memchr::memchr(b'"', q).map(|i| &q[..i]),
            None => memchr::memchr(b':', rest).map(|i| &rest[..i]),
        };
        if let Some(k) = key.and_then(|k| std::str::from_utf8(k).ok()) {
            out.entry(k.to_string()).or_insert(doc.start + pos + at);
        }
        pos = end + 1;
    }
    out
}

fn find_key(text: &[u8], from: usize, key: &str) -> Option<usize> {
    let plain = format!("{key}:");
    let quoted = format!("\"{key}\"");
    let mut pos = from;
    while pos < text.len() {
        let end = memchr::memchr(b'\n', &text[pos..]).map_or(text.len(), |i| pos + i);
        let line = &text[pos..end];
        let trimmed_at = line
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .unwrap_or(line.len());
        let rest = &line[trimmed_at..];
        if rest.starts_with(plain.as_bytes()) || rest.starts_with(quoted.as_bytes()) {
            return Some(pos + trimmed_at);
        }
        pos = end + 1;
    }
    None
}

/// Add object identity to findings inside manifests, scan decoded Secret data, and report
/// Secret manifests with literal values. Returns the Secret documents that could not be
/// checked.
pub(crate) fn enrich(
    scanner: &SecretScanner,
    rel: &str,
    content: &[u8],
    commit: Option<&CommitInfo>,
    findings: &mut Vec<Finding>,
    keys: &mut Vec<String>,
) -> Vec<ScanError> {
    let (docs, problems) = documents(rel, content);
    if docs.is_empty() {
        return problems;
    }
    let lines = LineIndex::new(content);
    for f in findings.iter_mut() {
        let Some(span) = f.location.span() else {
            continue;
        };
        let off = lines
            .line_range(content, span.start_line)
            .map_or(content.len(), |(s, _)| s);
        if let Some(doc) = docs
            .iter()
            .find(|d| d.start <= off && off < d.end.max(d.start + 1))
        {
            f.location = Location::K8sObject {
                object: doc.object.clone(),
                field_path: None,
                path: Some(rel.to_string()),
                span: Some(span),
            };
            if let Some(c) = commit {
                f.properties
                    .insert("commit".into(), serde_json::json!(c.commit));
            }
        }
    }
    for doc in docs.iter().filter(|d| d.object.kind == "Secret") {
        let mut literal_keys = Vec::new();
        let mut first_offset = None;
        for section in ["data", "stringData"] {
            let Some(map) = doc.value.get(section).and_then(Value::as_object) else {
                continue;
            };
            let offsets = key_offsets(content, doc, section);
            // In document order (the loaded map is sorted by key): the first literal key
            // names the finding and enters its fingerprint.
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by_key(|(k, _)| offsets.get(k.as_str()).copied().unwrap_or(usize::MAX));
            for (k, v) in entries {
                let (key, Some(raw)) = (k.as_str(), v.as_str()) else {
                    continue;
                };
                let decoded = if section == "data" {
                    match base64::engine::general_purpose::STANDARD.decode(raw.trim()) {
                        Ok(d) => d,
                        Err(_) => continue,
                    }
                } else {
                    raw.as_bytes().to_vec()
                };
                if decoded.is_empty() || crate::placeholder::is_placeholder(&decoded) {
                    continue;
                }
                let off = offsets.get(key).copied().unwrap_or(doc.start);
                if literal_keys.is_empty() {
                    first_offset = Some(off);
                }
                literal_keys.push((section, key.to_string(), decoded.clone()));
                if section != "data" {
                    continue; // stringData is plain text, already scanned in place.
                }
                let span = lines.span(content, off, off + key.len());
                let inner = format!("{rel}#{section}.{key}");
                let matches =
                    scanner
                        .engine()
                        .scan(&inner, &decoded, commit.map(|c| c.commit.as_str()));
                let (decoded_findings, decoded_keys) =
                    scanner.build(&inner, &inner, &decoded, matches, commit);
                keys.extend(decoded_keys);
                for mut f in decoded_findings {
                    f.message = format!("{} (base64-decoded from data.{key})", f.message);
                    f.location = Location::K8sObject {
                        object: doc.object.clone(),
                        field_path: Some(format!("{section}.{key}")),
                        path: Some(rel.to_string()),
                        span: Some(span),
                    };
                    f.properties
                        .insert("decoded_from".into(), serde_json::json!("base64"));
                    findings.push(f);
                }
            }
        }
        if let Some((section, key, value)) = literal_keys.first() {
            let off = first_offset.unwrap_or(doc.start);
            let span = lines.span(content, off, off + key.len());
            let meta = manifest_rule_meta();
            // Named up to a bound: the message must not quote a whole Secret back.
            let mut key_names: Vec<String> = literal_keys
                .iter()
                .take(10)
                .map(|(s, k, _)| format!("{s}.{}", k.chars().take(64).collect::<String>()))
                .collect();
            if literal_keys.len() > key_names.len() {
                key_names.push(format!("{} more", literal_keys.len() - key_names.len()));
            }
            let digest = secret_digest(value);
            let mut f = Finding::new(
                &meta,
                format!(
                    "Secret {} has literal values in {}",
                    match &doc.object.namespace {
                        Some(ns) => format!("{ns}/{}", doc.object.name),
                        None => doc.object.name.clone(),
                    },
                    key_names.join(", ")
                ),
                Location::K8sObject {
                    object: doc.object.clone(),
                    field_path: Some(format!("{section}.{key}")),
                    path: Some(rel.to_string()),
                    span: Some(span),
                },
                // The object and the first literal key identify it; the value stays out.
                fingerprint(&[
                    MANIFEST_RULE_ID,
                    rel,
                    &doc.object.display(),
                    &format!("{section}.{key}"),
                ]),
            );
            f.evidence = Some(scanner.show(&String::from_utf8_lossy(value)));
            keys.push(fingerprint(&[
                MANIFEST_RULE_ID,
                rel,
                &doc.object.display(),
                &digest,
            ]));
            findings.push(f);
        }
    }
    problems
}
