//! The libyaml fallback, for documents yaml-rust2 rejects but Kubernetes' go-yaml (a port
//! of libyaml) accepts: a quoted scalar continued at a lesser indentation
//! (`note: "a⏎-----BEGIN …⏎b"`), a flow collection closed left of its key, and similar
//! layouts real manifests use (of the 87 documents of the k8s corpora yaml-rust2 rejects,
//! libyaml reads 4; the others are unrendered Helm templates, which it rejects too).
//!
//! Why libyaml through `serde_norway` (and not `serde_yaml`, nor a stricter-only loader):
//! - `serde_yaml` is unmaintained (archived by its author in 2024, issue 14);
//! - `serde_norway` is a maintained fork of it (MIT OR Apache-2.0) on
//!   `unsafe-libyaml-norway`, a maintained fork of the libyaml port (fixes still land
//!   there); `serde_yaml_ng` also continues `serde_yaml` but is MIT only and still on the
//!   original `unsafe-libyaml`;
//! - teaching yaml-rust2 these layouts means patching its scanner: the fallback reads
//!   them as go-yaml does, with less code of ours.
//!
//! Bounded as the main path: input size ([`Limits::max_file_bytes`]); nesting depth (the
//! deserializer's own recursion limit of 128 levels, and [`Limits::max_depth`] checked on
//! the value); nodes after alias expansion ([`Limits::max_nodes`], checked on the value,
//! and the deserializer's repetition limit before). And time: libyaml's scanner looks at
//! every open flow level for every token, so its work grows as tokens × flow depth (a
//! 100,000-deep `[[[…`, 200 KB, took 43 s) and its recursion limit only applies after
//! the scan. Before libyaml runs, [`scan_cost_bound`] bounds that product from the text
//! (each byte × the `[`/`{` seen before it: never below the real cost, whatever quotes
//! and comments say) and a document over [`MAX_SCAN_COST`] is not given to libyaml: it
//! keeps yaml-rust2's error. The loaded document has one span, the whole chunk (`""`).
//!
//! Scalars resolve by YAML 1.2's core schema (`yes` stays a string), whatever
//! [`Options::scalars`] says.

use crate::{parse_document, split_documents, Document, Limits, Options, Span, YamlError};
use serde_json::Value;
use std::collections::BTreeMap;

/// [`parse_document`], and for a document it rejects as invalid YAML, the libyaml reading
/// ([`parse_libyaml`]); when both fail, the first error (yaml-rust2's, with its line).
pub fn parse_document_lenient(
    text: &str,
    first_line: usize,
    opts: &Options,
) -> Result<Option<Document>, YamlError> {
    match parse_document(text, first_line, opts) {
        Err(e) if e.message.starts_with("invalid YAML") => {
            parse_libyaml(text, first_line, &opts.limits).map_err(|_| e)
        }
        other => other,
    }
}

/// [`crate::load_one`] with [`parse_document_lenient`]: a stream that must hold at most
/// one document (a kustomization), its value (null when empty) or the first error.
pub fn load_one_lenient(text: &str, opts: &Options) -> Result<Document, YamlError> {
    if text.len() > opts.limits.max_file_bytes {
        return Err(YamlError {
            line: None,
            column: None,
            message: format!(
                "input is larger than {} bytes; not loaded",
                opts.limits.max_file_bytes
            ),
        });
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut found: Option<Document> = None;
    for chunk in split_documents(text) {
        if let Some(d) = parse_document_lenient(chunk.text, chunk.first_line, opts)? {
            if found.is_some() {
                return Err(YamlError {
                    line: Some(chunk.first_line),
                    column: None,
                    message: "more than one YAML document".into(),
                });
            }
            found = Some(d);
        }
    }
    Ok(found.unwrap_or_default())
}

/// Load one document's text with libyaml, bounded by `limits`; `Ok(None)` for a chunk
/// without content. The only span is the document's (`""`: the whole chunk).
pub fn parse_libyaml(
    text: &str,
    first_line: usize,
    limits: &Limits,
) -> Result<Option<Document>, YamlError> {
    let fail = |message: String| YamlError {
        line: Some(first_line),
        column: None,
        message,
    };
    if text.len() > limits.max_file_bytes {
        return Err(fail(format!(
            "document is larger than {} bytes; not loaded",
            limits.max_file_bytes
        )));
    }
    if scan_cost_bound(text) > MAX_SCAN_COST {
        return Err(fail(
            "too many flow collections (`[`, `{`) for the lenient reader; not loaded".into(),
        ));
    }
    let value: Value = serde_norway::from_str(text).map_err(|e| YamlError {
        line: e.location().map(|l| l.line() + first_line - 1),
        column: e.location().map(|l| l.column()),
        message: format!("invalid YAML: {e}"),
    })?;
    if value.is_null()
        && text.lines().all(|l| {
            let t = l.trim();
            t.is_empty() || t.starts_with('#') || t == "---" || t == "..." || t.starts_with('%')
        })
    {
        return Ok(None);
    }
    let (nodes, depth) = measure(&value);
    if depth > limits.max_depth {
        return Err(fail(format!(
            "nesting deeper than {} levels",
            limits.max_depth
        )));
    }
    if nodes > limits.max_nodes {
        return Err(fail(format!(
            "document expands to more than {} nodes (alias bomb?)",
            limits.max_nodes
        )));
    }
    let lines = text.lines().count().max(1);
    let span = Span {
        start_line: first_line,
        start_column: 1,
        end_line: first_line + lines - 1,
        end_column: 1,
    };
    Ok(Some(Document {
        value,
        spans: BTreeMap::from([(String::new(), span)]),
        value_spans: BTreeMap::new(),
    }))
}

/// Most libyaml scanning work allowed for one document, in [`scan_cost_bound`] units
/// (about 0.3 s: 1.5e10 units took 43 s).
pub const MAX_SCAN_COST: u64 = 100_000_000;

/// An upper bound on libyaml's scanning work for `text`: the sum over its bytes of the
/// number of `[` and `{` before each (tokens ≤ bytes, flow depth ≤ openers so far).
pub fn scan_cost_bound(text: &str) -> u64 {
    let mut openers = 0u64;
    let mut cost = 0u64;
    for b in text.bytes() {
        if b == b'[' || b == b'{' {
            openers += 1;
        }
        cost = cost.saturating_add(openers);
    }
    cost
}

/// Nodes and nesting depth of a value (without recursion).
fn measure(v: &Value) -> (usize, usize) {
    let mut nodes = 0;
    let mut deepest = 0;
    let mut stack = vec![(v, 0usize)];
    while let Some((v, d)) = stack.pop() {
        nodes += 1;
        match v {
            Value::Array(a) => {
                deepest = deepest.max(d + 1);
                stack.extend(a.iter().map(|x| (x, d + 1)));
            }
            Value::Object(m) => {
                deepest = deepest.max(d + 1);
                stack.extend(m.values().map(|x| (x, d + 1)));
            }
            _ => {}
        }
    }
    (nodes, deepest)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const LENIENT: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: tls\nnote: \"certificate:\n-----BEGIN NOTHING-----\n  x\"\nstringData:\n  password: p\n";

    #[test]
    fn quoted_scalar_continued_at_column_zero_loads() {
        let opts = Options::default();
        assert!(parse_document(LENIENT, 3, &opts).is_err());
        let d = parse_document_lenient(LENIENT, 3, &opts).unwrap().unwrap();
        assert_eq!(d.value["stringData"]["password"], "p");
        assert_eq!(d.spans[""].start_line, 3);
        assert_eq!(d.spans[""].end_line, 11);
    }

    #[test]
    fn deep_nesting_is_an_error_quickly() {
        let n = 100_000;
        let text = format!("{LENIENT}x: {}{}\n", "[".repeat(n), "]".repeat(n));
        let started = std::time::Instant::now();
        let e = parse_document_lenient(&text, 1, &Options::default()).unwrap_err();
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        assert!(e.line.is_some(), "{e}");
    }

    #[test]
    fn many_flat_flow_collections_still_load() {
        // 2,000 small flow maps in a 30 KB document: under the scan budget.
        let mut text = String::from(LENIENT);
        text.push_str("items:\n");
        for i in 0..2000 {
            text.push_str(&format!("- {{a: {i}}}\n"));
        }
        assert!(scan_cost_bound(&text) < MAX_SCAN_COST);
        let d = parse_document_lenient(&text, 1, &Options::default())
            .unwrap()
            .unwrap();
        assert_eq!(d.value["items"][1999]["a"], 1999);
    }

    #[test]
    fn depth_and_node_limits_hold_on_the_fallback() {
        let limits = Limits {
            max_depth: 3,
            max_nodes: 20,
            ..Limits::default()
        };
        let e = parse_libyaml("a: [[[[1]]]]\n", 1, &limits).unwrap_err();
        assert_eq!(e.line, Some(1));
        assert!(e.message.contains("nesting deeper than 3"), "{e}");
        let bomb = "a: &a [1, 1, 1, 1]\nb: &b [*a, *a, *a, *a]\nc: [*b, *b]\n";
        let shallow = Limits {
            max_depth: 10,
            ..limits
        };
        let e = parse_libyaml(bomb, 1, &shallow).unwrap_err();
        assert!(e.message.contains("more than 20 nodes"), "{e}");
        assert!(parse_libyaml("# only a comment\n", 1, &limits)
            .unwrap()
            .is_none());
    }
}
