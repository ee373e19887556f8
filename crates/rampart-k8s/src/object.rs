//! One Kubernetes object, as loaded from a file (with spans) or received by the webhook.

use rampart_core::{K8sObjectRef, Location, Span};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

/// One Kubernetes object.
#[derive(Debug, Clone, Default)]
pub struct Object {
    /// The object as JSON.
    pub value: Value,
    /// File it came from (relative to the scan root, `/`-separated), if any.
    pub path: Option<String>,
    /// Index of the YAML document in that file (0-based).
    pub doc_index: usize,
    /// Source span of each field ([`Object::spans`]).
    spans: Spans,
}

/// The span of each field: given when the object is made, or computed from the source
/// document the first time one is asked for (most objects of a large scan never are:
/// a CRD bundle has hundreds of thousands of fields and no findings).
#[derive(Clone, Default)]
struct Spans {
    map: OnceLock<BTreeMap<String, Span>>,
    source: Option<Arc<SpanSource>>,
}

impl std::fmt::Debug for Spans {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.map.get() {
            Some(m) => f.debug_map().entries(m.iter()).finish(),
            None => f.write_str("(from source, not computed yet)"),
        }
    }
}

/// Where an object's spans can be recomputed from: its document's text.
#[derive(Clone)]
pub(crate) struct SpanSource {
    /// The file's text.
    pub text: Arc<str>,
    /// The document's bytes in `text`.
    pub range: std::ops::Range<usize>,
    /// 1-based line of the document's first line in the file.
    pub first_line: usize,
    /// Limits the document was loaded with.
    pub limits: crate::load::Limits,
    /// For an item of a `List`: its index in `items`.
    pub item: Option<usize>,
    /// The document's `spec` was left out of the value ([`crate::load::Limits::skim_crd_bodies`]).
    pub skimmed: bool,
}

impl Object {
    /// An object without a source file (the admission webhook's case).
    pub fn from_value(value: Value) -> Object {
        Object {
            value,
            ..Object::default()
        }
    }

    /// An object whose spans are recomputed from its source document when first needed.
    pub(crate) fn with_source(
        value: Value,
        path: Option<String>,
        doc_index: usize,
        source: Arc<SpanSource>,
    ) -> Object {
        Object {
            value,
            path,
            doc_index,
            spans: Spans {
                map: OnceLock::new(),
                source: Some(source),
            },
        }
    }

    /// Source span of each field, keyed by field path (`spec.containers[0].image`; the
    /// empty path is the whole document). Empty for objects not read from a file.
    pub fn spans(&self) -> &BTreeMap<String, Span> {
        self.spans.map.get_or_init(|| match &self.spans.source {
            Some(src) => crate::load::spans_from_source(src),
            None => BTreeMap::new(),
        })
    }

    /// Whether the loader left this CustomResourceDefinition's `spec` out of
    /// [`Object::value`] (see [`crate::load::Limits::skim_crd_bodies`]).
    pub fn body_skipped(&self) -> bool {
        self.spans.source.as_ref().is_some_and(|s| s.skimmed)
    }

    /// Replace the spans.
    pub fn set_spans(&mut self, spans: BTreeMap<String, Span>) {
        self.spans = Spans {
            map: OnceLock::from(spans),
            source: None,
        };
    }

    /// Drop the spans (findings then carry the file only).
    pub fn clear_spans(&mut self) {
        self.set_spans(BTreeMap::new());
    }

    /// `kind`, or `""`.
    pub fn kind(&self) -> &str {
        self.value.get("kind").and_then(Value::as_str).unwrap_or("")
    }

    /// `apiVersion`, or `""`.
    pub fn api_version(&self) -> &str {
        self.value
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// `metadata.name` (or `metadata.generateName`), or `""`.
    pub fn name(&self) -> &str {
        let m = self.value.get("metadata");
        m.and_then(|m| m.get("name"))
            .or_else(|| m.and_then(|m| m.get("generateName")))
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// `metadata.namespace`, if set.
    pub fn namespace(&self) -> Option<&str> {
        self.value
            .get("metadata")
            .and_then(|m| m.get("namespace"))
            .and_then(Value::as_str)
    }

    /// `metadata.annotations[key]`, if set.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.value
            .get("metadata")
            .and_then(|m| m.get("annotations"))
            .and_then(|a| a.get(key))
            .and_then(Value::as_str)
    }

    /// The reference used in finding locations.
    pub fn object_ref(&self) -> K8sObjectRef {
        K8sObjectRef {
            api_version: self.api_version().to_string(),
            kind: self.kind().to_string(),
            namespace: self.namespace().map(str::to_string),
            name: self.name().to_string(),
        }
    }

    /// The span of `field_path`, or of its nearest ancestor that has one.
    pub fn span(&self, field_path: &str) -> Option<Span> {
        let spans = self.spans();
        let mut p = field_path;
        loop {
            if let Some(s) = spans.get(p) {
                return Some(*s);
            }
            if p.is_empty() {
                return None;
            }
            p = parent_path(p);
        }
    }

    /// A finding location for `field_path` in this object.
    pub fn location(&self, field_path: &str) -> Location {
        Location::K8sObject {
            object: self.object_ref(),
            field_path: (!field_path.is_empty()).then(|| field_path.to_string()),
            path: self.path.clone(),
            span: self.span(field_path),
        }
    }
}

/// `a.b[0].c` → `a.b[0]` → `a.b` → `a` → ``.
pub fn parent_path(p: &str) -> &str {
    match p.rfind(['.', '[']) {
        Some(i) => &p[..i],
        None => "",
    }
}

/// Field-path syntax: [`join_key`] appends a map key, [`join_index`] a list index (the
/// YAML loader's paths).
pub use rampart_yaml::{join_index, join_key};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(parent_path("a.b[0].c"), "a.b[0]");
        assert_eq!(parent_path("a.b[0]"), "a.b");
        assert_eq!(parent_path("a"), "");
        assert_eq!(join_key("", "spec"), "spec");
        assert_eq!(join_key("spec", "containers"), "spec.containers");
        assert_eq!(
            join_key("metadata.annotations", "a/b"),
            "metadata.annotations[\"a/b\"]"
        );
        assert_eq!(join_index("spec.containers", 2), "spec.containers[2]");
        assert_eq!(join_index("", 0), "[0]");
        assert_eq!(join_index("a", 1234567), "a[1234567]");
        assert_eq!(join_index("a", usize::MAX), format!("a[{}]", usize::MAX));
    }

    #[test]
    fn span_falls_back_to_ancestor() {
        let mut o = Object::from_value(serde_json::json!({"kind": "Pod"}));
        o.set_spans(BTreeMap::from([("spec".to_string(), Span::line(4))]));
        assert_eq!(o.span("spec.containers[0].image"), Some(Span::line(4)));
        assert_eq!(o.span("metadata"), None);
    }
}
