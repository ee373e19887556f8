//! Where a finding is: a file span, a Kubernetes object, an image layer, a package or a URL.

use serde::{Deserialize, Serialize};
use std::path::Path;

/// A 1-based line/column span (defined by the YAML loader, which produces most of them).
pub use rampart_yaml::Span;

/// The start offset of every line of a text, built once (one pass) so that many spans in
/// one file cost a binary search each instead of a scan from the top of the file.
#[derive(Debug, Clone, Default)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    /// Index the lines of `text`.
    pub fn new(text: &[u8]) -> LineIndex {
        let mut starts = Vec::with_capacity(text.len() / 40 + 1);
        starts.push(0);
        starts.extend(memchr::memchr_iter(b'\n', text).map(|i| i + 1));
        LineIndex { starts }
    }

    /// The 1-based line holding byte `off`, and the offset where that line starts.
    pub fn line_of(&self, off: usize) -> (usize, usize) {
        let i = self.starts.partition_point(|&s| s <= off).max(1);
        (i, self.starts[i - 1])
    }

    /// The byte range of 1-based `line`, without its newline (`None` past the end).
    pub fn line_range(&self, text: &[u8], line: usize) -> Option<(usize, usize)> {
        let start = *self.starts.get(line.checked_sub(1)?)?;
        let end = self
            .starts
            .get(line)
            .map_or(text.len(), |next| next.saturating_sub(1));
        let start = start.min(text.len());
        Some((start, end.clamp(start, text.len())))
    }

    /// As [`Span::from_offsets`], in logarithmic time.
    pub fn span(&self, text: &[u8], start: usize, end: usize) -> Span {
        let start = start.min(text.len());
        let end = end.clamp(start, text.len());
        let (start_line, s0) = self.line_of(start);
        let (end_line, e0) = self.line_of(end);
        Span {
            start_line,
            start_column: start - s0 + 1,
            end_line,
            end_column: end - e0 + 1,
        }
    }
}

/// The git commit a finding was introduced in (history scans).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitInfo {
    /// Full commit id.
    pub commit: String,
    /// Author name.
    pub author: String,
    /// Author e-mail.
    pub email: String,
    /// Commit date, RFC 3339.
    pub date: String,
    /// First line of the commit message.
    pub summary: String,
}

/// Identity of a Kubernetes object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct K8sObjectRef {
    /// apiVersion, e.g. `v1` or `apps/v1`.
    pub api_version: String,
    /// kind, e.g. `Secret`.
    pub kind: String,
    /// Namespace, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// metadata.name.
    pub name: String,
}

impl K8sObjectRef {
    /// `kind/namespace/name` (namespace omitted when unset).
    pub fn display(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{}/{}/{}", self.kind, ns, self.name),
            None => format!("{}/{}", self.kind, self.name),
        }
    }
}

/// Where a finding is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Location {
    /// A file (path relative to the scan root, `/`-separated) and a span in it.
    File {
        /// Path relative to the scanned root.
        path: String,
        /// Span, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        span: Option<Span>,
        /// Commit that introduced it (history and staged scans).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        commit: Option<CommitInfo>,
    },
    /// A Kubernetes object, optionally with the file span it came from.
    K8sObject {
        /// The object.
        object: K8sObjectRef,
        /// Field path, e.g. `spec.containers[0].securityContext.privileged`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        field_path: Option<String>,
        /// File it came from.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        path: Option<String>,
        /// Span in that file.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        span: Option<Span>,
    },
    /// A path inside a container image layer.
    Image {
        /// Image reference.
        image: String,
        /// Layer digest.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        layer_digest: Option<String>,
        /// Path in the image file system.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        path: Option<String>,
    },
    /// A package in an inventory.
    Package {
        /// Ecosystem (crates.io, npm, PyPI, Debian …).
        ecosystem: String,
        /// Package name.
        name: String,
        /// Version.
        version: String,
        /// Lockfile or database it was found in.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        found_in: Option<String>,
        /// Span of the package's entry in `found_in`, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        span: Option<Span>,
    },
    /// An HTTP endpoint.
    Url {
        /// HTTP method.
        method: String,
        /// URL.
        url: String,
        /// Parameter, when the finding is about one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parameter: Option<String>,
    },
}

impl Location {
    /// A file location.
    pub fn file(path: impl Into<String>, span: Option<Span>) -> Location {
        Location::File {
            path: path.into(),
            span,
            commit: None,
        }
    }

    /// The file path this location refers to, if any.
    pub fn path(&self) -> Option<&str> {
        match self {
            Location::File { path, .. } => Some(path),
            Location::K8sObject { path, .. } => path.as_deref(),
            Location::Image { path, .. } => path.as_deref(),
            Location::Package { found_in, .. } => found_in.as_deref(),
            Location::Url { .. } => None,
        }
    }

    /// The span in the file, if any.
    pub fn span(&self) -> Option<Span> {
        match self {
            Location::File { span, .. }
            | Location::K8sObject { span, .. }
            | Location::Package { span, .. } => *span,
            _ => None,
        }
    }

    /// The start line, if any.
    pub fn line(&self) -> Option<usize> {
        self.span().map(|s| s.start_line)
    }

    /// A short human-readable form: `path:line`, `Kind/ns/name (path:line)` …
    pub fn display(&self) -> String {
        let file = |path: &str, span: &Option<Span>| match span {
            Some(s) => format!("{path}:{}", s.start_line),
            None => path.to_string(),
        };
        match self {
            Location::File { path, span, commit } => match commit {
                Some(c) => format!("{} @ {}", file(path, span), short_commit(&c.commit)),
                None => file(path, span),
            },
            Location::K8sObject {
                object,
                field_path,
                path,
                span,
            } => {
                let mut s = object.display();
                if let Some(fp) = field_path {
                    s.push_str(&format!(" {fp}"));
                }
                if let Some(p) = path {
                    s.push_str(&format!(" ({})", file(p, span)));
                }
                s
            }
            Location::Image {
                image,
                layer_digest,
                path,
            } => {
                let mut s = image.clone();
                if let Some(p) = path {
                    s.push_str(&format!(":{p}"));
                }
                if let Some(d) = layer_digest {
                    s.push_str(&format!(" (layer {})", short_commit(d)));
                }
                s
            }
            Location::Package {
                ecosystem,
                name,
                version,
                found_in,
                span,
            } => match found_in {
                Some(f) => format!("{ecosystem}/{name}@{version} ({})", file(f, span)),
                None => format!("{ecosystem}/{name}@{version}"),
            },
            Location::Url {
                method,
                url,
                parameter,
            } => match parameter {
                Some(p) => format!("{method} {url} [{p}]"),
                None => format!("{method} {url}"),
            },
        }
    }
}

fn short_commit(c: &str) -> &str {
    let c = c.strip_prefix("sha256:").unwrap_or(c);
    c.get(..12).unwrap_or(c)
}

/// Turn a path under `root` into the report's `/`-separated relative form.
pub fn relative_path(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let s = rel.to_string_lossy().replace('\\', "/");
    if s.is_empty() {
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_index_spans_match_from_offsets() {
        let text = b"one\ntwo key\n\nthree\n";
        let idx = LineIndex::new(text);
        for start in 0..=text.len() {
            for end in start..=text.len() {
                assert_eq!(
                    idx.span(text, start, end),
                    Span::from_offsets(text, start, end),
                    "{start}..{end}"
                );
            }
        }
        assert_eq!(idx.line_range(text, 2), Some((4, 11)));
        assert_eq!(idx.line_range(text, 5), Some((19, 19)));
        assert_eq!(idx.line_range(text, 6), None);
        assert_eq!(idx.line_range(text, 0), None);
    }

    #[test]
    fn span_from_offsets() {
        let text = b"one\ntwo key\nthree";
        let s = Span::from_offsets(text, 8, 11);
        assert_eq!(
            (s.start_line, s.start_column, s.end_line, s.end_column),
            (2, 5, 2, 8)
        );
        let s = Span::from_offsets(text, 4, 15);
        assert_eq!(
            (s.start_line, s.start_column, s.end_line, s.end_column),
            (2, 1, 3, 4)
        );
        let s = Span::from_offsets(text, 0, 0);
        assert_eq!((s.start_line, s.start_column), (1, 1));
    }

    #[test]
    fn displays() {
        let l = Location::file("a/b.txt", Some(Span::line(3)));
        assert_eq!(l.display(), "a/b.txt:3");
        let k = Location::K8sObject {
            object: K8sObjectRef {
                api_version: "v1".into(),
                kind: "Secret".into(),
                namespace: Some("prod".into()),
                name: "db".into(),
            },
            field_path: Some("data.password".into()),
            path: Some("s.yaml".into()),
            span: Some(Span::line(7)),
        };
        assert_eq!(k.display(), "Secret/prod/db data.password (s.yaml:7)");
    }
}
