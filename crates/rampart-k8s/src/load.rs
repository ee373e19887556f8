//! Loading Kubernetes manifests (YAML and JSON) into [`Object`]s with a source span for
//! every field, on top of the one YAML loader ([`rampart_yaml`]: document splitting,
//! limits, spans) plus a fast path for the block YAML manifests are written in.
//!
//! - A file is split into documents at `---` / `...` lines first, so a malformed
//!   document is reported with its line and the rest of the file still loads.
//! - Every map entry (from its key to the end of its value) and every sequence item gets
//!   a [`Span`] keyed by field path ([`join_key`] / [`join_index`] syntax); the empty
//!   path is the whole document. Lines and columns are 1-based; columns count
//!   characters; `end_column` is exclusive.
//! - Anchors and aliases are expanded (fields of an alias keep the spans of the anchored
//!   text), merge keys (`<<`) are honoured, `List` kinds (`v1/List`, `*List`) are
//!   flattened into their items.
//! - Scalars resolve as Kubernetes' YAML reader does (YAML 1.1 booleans `yes/no/on/off`
//!   included for plain scalars; quoted scalars stay strings).
//! - Bounded: file size (32 MiB), nesting depth (128), and nodes per document after alias expansion (500,000)
//!   (billion laughs) — see [`Limits`].

use crate::object::{join_index, Object, SpanSource};
use rampart_core::Span;
use rampart_yaml::{fast, split_documents, Scalars};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Resource bounds for one file.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest file read, in bytes.
    pub max_file_bytes: usize,
    /// Deepest nesting of maps and sequences.
    pub max_depth: usize,
    /// Most nodes one document may expand to (aliases included).
    pub max_nodes: usize,
    /// Leave the `spec` of CustomResourceDefinitions out of [`Object::value`] (it is
    /// still parsed and checked; [`Object::body_skipped`] tells). No built-in rule reads
    /// a CRD's schema, which is most of the bytes of an operator's manifests; custom
    /// policies do, so `rampart k8s` turns this on only without `--policy`.
    pub skim_crd_bodies: bool,
}

impl Limits {
    /// The bounds the YAML loader applies.
    pub fn yaml(&self) -> rampart_yaml::Limits {
        rampart_yaml::Limits {
            max_file_bytes: self.max_file_bytes,
            max_depth: self.max_depth,
            max_nodes: self.max_nodes,
        }
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_file_bytes: 32 * 1024 * 1024,
            max_depth: 128,
            max_nodes: 500_000,
            skim_crd_bodies: false,
        }
    }
}

/// A document that could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", line.map(|l| format!("line {l}: ")).unwrap_or_default())]
pub struct LoadError {
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// Index of the document in the file.
    pub doc_index: usize,
    /// What went wrong.
    pub message: String,
}

/// The result of loading one file: its objects and the documents that failed.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// Kubernetes objects (documents with `apiVersion` and `kind`; `List`s flattened).
    pub objects: Vec<Object>,
    /// Documents that parsed but are not Kubernetes objects (no apiVersion/kind).
    pub other_documents: usize,
    /// Per-document errors.
    pub errors: Vec<LoadError>,
}

/// Whether a value looks like a Kubernetes object (`apiVersion` and `kind` strings).
pub fn is_k8s_value(v: &Value) -> bool {
    v.get("apiVersion").is_some_and(Value::is_string) && v.get("kind").is_some_and(Value::is_string)
}

/// Workload kinds whose pod spec must be present and well-typed.
const WORKLOAD_KINDS: &[&str] = &[
    "Pod",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "Job",
    "CronJob",
    "ReplicationController",
    "PodTemplate",
];

/// Type problems that stop an object from being checked properly: a workload of a
/// known kind without a pod spec whose `containers` is a list, a non-string name, or a
/// non-map `metadata`/`spec`. Returns `(field path, message)`.
pub fn shape_problems(obj: &Object) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let v = &obj.value;
    for key in ["metadata", "spec"] {
        if let Some(x) = v.get(key) {
            if !x.is_object() && !x.is_null() {
                out.push((key.to_string(), format!("`{key}` must be a map")));
            }
        }
    }
    if let Some(n) = v.get("metadata").and_then(|m| m.get("name")) {
        if !n.is_string() {
            out.push((
                "metadata.name".into(),
                "`metadata.name` must be a string".into(),
            ));
        }
    }
    let kind = obj.kind();
    if WORKLOAD_KINDS.contains(&kind) && crate::podspec::pod_spec(v).is_none() {
        let want = match kind {
            "Pod" => "spec.containers",
            "PodTemplate" => "template.spec.containers",
            "CronJob" => "spec.jobTemplate.spec.template.spec.containers",
            _ => "spec.template.spec.containers",
        };
        out.push((
            want.to_string(),
            format!("{kind} has no `{want}` list; its pod spec was not checked"),
        ));
    }
    out
}

/// Load every document of `text` (YAML or JSON). `path` is recorded in the objects.
pub fn load_str(text: &str, path: Option<&str>) -> Loaded {
    load_str_with(text, path, &Limits::default())
}

/// [`load_str`] with explicit limits.
pub fn load_str_with(text: &str, path: Option<&str>, limits: &Limits) -> Loaded {
    let mut out = Loaded::default();
    if text.len() > limits.max_file_bytes {
        out.errors.push(LoadError {
            line: None,
            column: None,
            doc_index: 0,
            message: format!(
                "file is larger than {} bytes; not loaded",
                limits.max_file_bytes
            ),
        });
        return out;
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut doc_index = 0usize;
    // The file's text, shared by the objects whose spans are computed when first needed.
    let mut shared: Option<Arc<str>> = None;
    for chunk in split_documents(text) {
        // The fast path first (without spans: they are recomputed from the text for the
        // objects that need one); yaml-rust2 for everything outside its subset.
        match fast::parse_for_load(
            chunk.text,
            chunk.first_line,
            &limits.yaml(),
            limits.skim_crd_bodies,
        ) {
            Some(None) => continue,
            Some(Some((value, skimmed))) => {
                let text = shared.get_or_insert_with(|| Arc::from(text)).clone();
                let source = SpanSource {
                    text,
                    range: chunk.offset..chunk.offset + chunk.text.len(),
                    first_line: chunk.first_line,
                    limits: *limits,
                    item: None,
                    skimmed,
                };
                push_value(value, Spans::Lazy(source), path, doc_index, &mut out);
                doc_index += 1;
                continue;
            }
            None => {}
        }
        match parse_chunk(chunk.text, chunk.first_line, limits) {
            Ok(None) => continue,
            Ok(Some((value, spans))) => {
                push_value(value, Spans::Eager(spans), path, doc_index, &mut out);
            }
            Err(mut e) => {
                // yaml-rust2 is stricter than Kubernetes' go-yaml on some layouts (e.g. a
                // quoted scalar continued left of its key). Fall back to libyaml (the
                // parser go-yaml was ported from; rampart_yaml's lenient module says why
                // that crate and how it is bounded): the document loads with a span for
                // the document only.
                if e.message.starts_with("invalid YAML") {
                    if let Some((value, span)) =
                        fallback_parse(chunk.text, chunk.first_line, limits)
                    {
                        let spans = BTreeMap::from([(String::new(), span)]);
                        push_value(value, Spans::Eager(spans), path, doc_index, &mut out);
                        doc_index += 1;
                        continue;
                    }
                }
                e.doc_index = doc_index;
                out.errors.push(e);
            }
        }
        doc_index += 1;
    }
    out
}

/// A document's spans: built, or to be computed from its text when first needed.
enum Spans {
    Eager(BTreeMap<String, Span>),
    Lazy(SpanSource),
}

/// The spans of a document loaded on the fast path, recomputed from its text.
pub(crate) fn spans_from_source(src: &SpanSource) -> BTreeMap<String, Span> {
    let Some(text) = src.text.get(src.range.clone()) else {
        return BTreeMap::new();
    };
    match fast::spans_only(
        text,
        src.first_line,
        &src.limits.yaml(),
        src.limits.skim_crd_bodies,
    ) {
        Some(spans) => {
            let map: BTreeMap<String, Span> = spans.into_iter().collect();
            match src.item {
                Some(i) => rebase(&map, &join_index("items", i), ""),
                None => map,
            }
        }
        _ => BTreeMap::new(),
    }
}

fn push_value(value: Value, spans: Spans, path: Option<&str>, doc_index: usize, out: &mut Loaded) {
    if !is_k8s_value(&value) {
        if !value.is_null() {
            out.other_documents += 1;
        }
        return;
    }
    let kind = value.get("kind").and_then(Value::as_str).unwrap_or("");
    if kind == "List" || (kind.ends_with("List") && value.get("items").is_some_and(Value::is_array))
    {
        let Value::Object(mut m) = value else { return };
        let items = match m.remove("items") {
            Some(Value::Array(a)) => a,
            _ => Vec::new(),
        };
        for (i, item) in items.into_iter().enumerate() {
            if !is_k8s_value(&item) {
                continue;
            }
            let item_spans = match &spans {
                Spans::Eager(map) => Spans::Eager(rebase(map, &join_index("items", i), "")),
                Spans::Lazy(src) => Spans::Lazy(SpanSource {
                    item: Some(i),
                    ..src.clone()
                }),
            };
            out.objects.push(object(item, item_spans, path, doc_index));
        }
        return;
    }
    out.objects.push(object(value, spans, path, doc_index));
}

fn object(value: Value, spans: Spans, path: Option<&str>, doc_index: usize) -> Object {
    let path = path.map(str::to_string);
    match spans {
        Spans::Eager(map) => {
            let mut o = Object::from_value(value);
            o.path = path;
            o.doc_index = doc_index;
            o.set_spans(map);
            o
        }
        Spans::Lazy(src) => Object::with_source(value, path, doc_index, Arc::new(src)),
    }
}

/// The spans under `from` (inclusive), re-keyed under `to`.
fn rebase(spans: &BTreeMap<String, Span>, from: &str, to: &str) -> BTreeMap<String, Span> {
    let mut out = BTreeMap::new();
    for (k, s) in spans.range(from.to_string()..) {
        let Some(rest) = k.strip_prefix(from) else {
            break;
        };
        if !(rest.is_empty() || rest.starts_with('.') || rest.starts_with('[')) {
            continue;
        }
        let key = if to.is_empty() {
            rest.strip_prefix('.').unwrap_or(rest).to_string()
        } else {
            format!("{to}{rest}")
        };
        out.insert(key, *s);
    }
    out
}

/// Parse a document yaml-rust2 rejected: as JSON when it looks like JSON, else with the
/// one loader's libyaml fallback ([`rampart_yaml::parse_libyaml`], bounded like the main
/// path); the span covers the whole chunk.
fn fallback_parse(text: &str, first_line: usize, limits: &Limits) -> Option<(Value, Span)> {
    let lines = text.lines().count().max(1);
    let whole = Span {
        start_line: first_line,
        start_column: 1,
        end_line: first_line + lines - 1,
        end_column: 1,
    };
    let t = text.trim_start();
    if t.starts_with('{') || t.starts_with('[') {
        if let Ok(v) = serde_json::from_str::<Value>(text) {
            return Some((v, whole));
        }
    }
    let doc = rampart_yaml::parse_libyaml(text, first_line, &limits.yaml()).ok()??;
    let span = doc.spans.get("").copied().unwrap_or(whole);
    Some((doc.value, span))
}

type Parsed = (Value, BTreeMap<String, Span>);

/// Parse one document chunk with the YAML loader. `Ok(None)` for a chunk without content.
fn parse_chunk(
    text: &str,
    first_line: usize,
    limits: &Limits,
) -> Result<Option<Parsed>, LoadError> {
    let opts = rampart_yaml::Options {
        limits: limits.yaml(),
        scalars: Scalars::Kubernetes,
        value_spans: false,
        // Kubernetes' API server keeps the last of duplicate keys.
        reject_duplicate_keys: false,
    };
    match rampart_yaml::parse_document(text, first_line, &opts) {
        Ok(d) => Ok(d.map(|d| (d.value, d.spans))),
        Err(e) => Err(LoadError {
            line: e.line,
            column: e.column,
            doc_index: 0,
            message: e.message,
        }),
    }
}

#[cfg(test)]
mod fast_tests;
#[cfg(test)]
mod tests;
