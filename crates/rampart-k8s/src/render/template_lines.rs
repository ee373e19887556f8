//! Lines of a Helm template for fields of its rendered output.
//!
//! `helm template` output has no source positions, so a rendered field is matched to
//! the template by its line's text, and only where the match is unambiguous: the k-th
//! occurrence of a line in the rendered document maps to the k-th occurrence in the
//! template when both hold it the same number of times. A line is matched whole when the
//! template has it verbatim (no `{{ }}`), else by its key (`image:`, `- name:`), since
//! templated values differ from what they render to. Fields with no such match get no
//! span of their own, so a finding falls back to the nearest mapped parent field, never
//! to a wrong line.

use rampart_core::Span;
use std::collections::{BTreeMap, HashMap};

/// A line's key prefix: `image:` for `image: "x"`, `- name:` for `- name: app`.
fn key_prefix(line: &str) -> Option<&str> {
    let body = line.strip_prefix("- ").unwrap_or(line);
    let offset = line.len() - body.len();
    let end = body
        .find(": ")
        .or_else(|| body.ends_with(':').then(|| body.len() - 1))?;
    let key = &body[..end];
    // Keys with template actions or flow syntax are not comparable.
    if key.is_empty() || key.contains("{{") || key.contains(['{', '[', '"', '\'']) {
        return None;
    }
    Some(&line[..offset + end + 1])
}

/// Where each trimmed line text and each key occurs (0-based line indexes, in order).
#[derive(Default)]
struct Occurrences<'a> {
    lines: HashMap<&'a str, Vec<usize>>,
    keys: HashMap<&'a str, Vec<usize>>,
}

impl<'a> Occurrences<'a> {
    /// Index `lines`; `verbatim` says which lines count as whole-line matches.
    fn new(lines: &[&'a str], verbatim: impl Fn(&str) -> bool) -> Occurrences<'a> {
        let mut o = Occurrences::default();
        for (i, l) in lines.iter().enumerate() {
            let l = l.trim();
            if verbatim(l) {
                o.lines.entry(l).or_default().push(i);
            }
            if let Some(k) = key_prefix(l) {
                o.keys.entry(k).or_default().push(i);
            }
        }
        o
    }
}

/// The k-th of `template` for the rendered line `r` that is the k-th of `rendered`,
/// when both hold the same number.
fn pick(rendered: Option<&Vec<usize>>, template: Option<&Vec<usize>>, r: usize) -> Option<usize> {
    let (rendered, template) = (rendered?, template?);
    if rendered.len() != template.len() {
        return None;
    }
    let k = rendered.iter().position(|&i| i == r)?;
    template.get(k).copied()
}

/// The template line (0-based) for rendered line `r` (0-based), if unambiguous.
fn template_line(
    rendered: &[&str],
    ro: &Occurrences<'_>,
    to: &Occurrences<'_>,
    r: usize,
) -> Option<usize> {
    let line = rendered.get(r)?.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    pick(ro.lines.get(line), to.lines.get(line), r).or_else(|| {
        let key = key_prefix(line)?;
        pick(ro.keys.get(key), to.keys.get(key), r)
    })
}

/// Spans of `spans` (lines of `rendered`) moved onto `template`; unmatched ones dropped.
/// Each kept span covers its template line from the same key.
pub(super) fn map_spans(
    spans: &BTreeMap<String, Span>,
    rendered: &str,
    template: &str,
) -> BTreeMap<String, Span> {
    let rendered: Vec<&str> = rendered.lines().collect();
    let template: Vec<&str> = template.lines().collect();
    let ro = Occurrences::new(&rendered, |_| true);
    let to = Occurrences::new(&template, |l| !l.contains("{{"));
    let mut memo: BTreeMap<usize, Option<usize>> = BTreeMap::new();
    let mut out = BTreeMap::new();
    for (field, span) in spans {
        let r = span.start_line.saturating_sub(1);
        let Some(t) = *memo
            .entry(r)
            .or_insert_with(|| template_line(&rendered, &ro, &to, r))
        else {
            continue;
        };
        let text = template.get(t).copied().unwrap_or("");
        let indent = text.len() - text.trim_start().len();
        let rendered_indent = rendered
            .get(r)
            .map_or(0, |l| l.len() - l.trim_start().len());
        let column = (indent + span.start_column.saturating_sub(rendered_indent)).max(1);
        out.insert(
            field.clone(),
            Span {
                start_line: t + 1,
                start_column: column.min(text.len() + 1),
                end_line: t + 1,
                end_column: text.len() + 1,
            },
        );
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn span(line: usize, col: usize) -> Span {
        Span {
            start_line: line,
            start_column: col,
            end_line: line,
            end_column: col + 1,
        }
    }

    #[test]
    fn keys() {
        assert_eq!(key_prefix("image: \"nginx:1\""), Some("image:"));
        assert_eq!(key_prefix("- name: app"), Some("- name:"));
        assert_eq!(key_prefix("securityContext:"), Some("securityContext:"));
        assert_eq!(key_prefix("- a"), None);
        assert_eq!(key_prefix("{{ .Values.k }}: v"), None);
        assert_eq!(key_prefix("\"quoted\": v"), None);
    }

    #[test]
    fn maps_verbatim_keyed_and_drops_ambiguous() {
        let template = "kind: Pod\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  containers:\n  - name: a\n    image: \"nginx:{{ .Chart.AppVersion }}\"\n    {{- if .Values.p }}\n    securityContext:\n      privileged: true\n    {{- end }}\n  {{- range .Values.extra }}\n  - name: {{ . }}\n  {{- end }}\n";
        let rendered = "\n# Source: c/templates/pod.yaml\nkind: Pod\nmetadata:\n  name: rel\nspec:\n  containers:\n  - name: a\n    image: \"nginx:1.25\"\n    securityContext:\n      privileged: true\n  - name: x\n  - name: y\n";
        let mut spans = BTreeMap::new();
        spans.insert("kind".to_string(), span(3, 1));
        spans.insert("metadata.name".to_string(), span(5, 3));
        spans.insert("spec.containers[0].image".to_string(), span(9, 5));
        spans.insert(
            "spec.containers[0].securityContext.privileged".to_string(),
            span(11, 7),
        );
        spans.insert("spec.containers[1].name".to_string(), span(12, 5));
        let m = map_spans(&spans, rendered, template);
        assert_eq!(m["kind"].start_line, 1);
        assert_eq!(m["metadata.name"].start_line, 3);
        assert_eq!(m["spec.containers[0].image"].start_line, 7);
        assert_eq!(m["spec.containers[0].image"].start_column, 5);
        assert_eq!(
            m["spec.containers[0].securityContext.privileged"].start_line,
            10
        );
        // `- name:` occurs 3 times rendered, twice in the template: no line.
        assert!(!m.contains_key("spec.containers[1].name"));
    }
}
