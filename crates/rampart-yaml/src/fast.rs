//! The fast path of the loader: a hand-written parser for the block-style YAML that
//! Kubernetes manifests are written in (block mappings and sequences, plain, quoted and
//! `|`/`>` block scalars, comments, one-line flow collections).
//!
//! yaml-rust2 tokenises at about 100 MB/s here and the event builder on top of it
//! halves that; a generated CRD bundle is megabytes of such YAML. This parser reads the
//! same documents in one pass over lines, builds the [`Value`] directly, and records
//! spans only when asked to.
//!
//! It is a *fast path*, not a second YAML implementation: anything outside the subset it
//! knows (anchors, aliases, tags, merge keys, `?` keys, tabs, CR line ends, multi-line
//! flow collections, explicit indentation indicators, duplicate keys, a construct it
//! would have to guess about) makes it answer `None`, and the caller parses the document
//! with yaml-rust2 as before — which also produces every error message. When it does
//! answer, the value and the spans equal what the yaml-rust2 path builds: the tests in
//! `fast_tests.rs` check that on every document of the corpora and on mutated ones.

use crate::{join_index, join_key, resolve_plain, Limits, Span};
use serde_json::{Map, Value};

/// A parsed document: its value and (when asked for) the span of every field.
pub type FastDoc = (Value, Vec<(String, Span)>);

/// A parsed document: its value, its spans (when asked for), and whether a CRD body was
/// left out.
type Parsed = (Value, Vec<(String, Span)>, bool);

/// Parse one document chunk. `None`: outside the fast subset (use [`crate::parse_document`]).
/// `Some(None)`: the chunk holds no document (comments, blank lines, a bare `---`).
pub fn parse(
    text: &str,
    first_line: usize,
    limits: &Limits,
    want_spans: bool,
) -> Option<Option<FastDoc>> {
    parse_with(text, first_line, limits, false, want_spans, true).map(|d| d.map(|(v, s, _)| (v, s)))
}

/// What a loader keeps of a document: its value, and whether the body (`spec`) of a
/// Kubernetes CustomResourceDefinition was left out (with `skim_crd_bodies`: its
/// OpenAPI schema, most of the bytes of an operator's manifests, is still parsed and
/// checked, but not built).
pub fn parse_for_load(
    text: &str,
    first_line: usize,
    limits: &Limits,
    skim_crd_bodies: bool,
) -> Option<Option<(Value, bool)>> {
    parse_with(text, first_line, limits, skim_crd_bodies, false, true)
        .map(|d| d.map(|(v, _, skimmed)| (v, skimmed)))
}

/// The spans of a document [`parse`] accepted, without building its value again.
pub fn spans_only(
    text: &str,
    first_line: usize,
    limits: &Limits,
    skim_crd_bodies: bool,
) -> Option<Vec<(String, Span)>> {
    parse_with(text, first_line, limits, skim_crd_bodies, true, false)?.map(|(_, spans, _)| spans)
}

fn parse_with(
    text: &str,
    first_line: usize,
    limits: &Limits,
    skim_crd_bodies: bool,
    want_spans: bool,
    values: bool,
) -> Option<Option<Parsed>> {
    let b = text.as_bytes();
    if memchr::memchr2(b'\t', b'\r', b).is_some() {
        return None;
    }
    let ascii = text.is_ascii();
    if !ascii
        && ["\u{feff}", "\u{85}", "\u{2028}", "\u{2029}"]
            .iter()
            .any(|c| memchr::memmem::find(b, c.as_bytes()).is_some())
    {
        return None; // a BOM or a Unicode line break inside the text
    }
    // Line tables, reused from document to document (a CRD bundle's are megabytes).
    let (mut ls, mut ind) = SCRATCH.with(|s| s.take());
    ls.clear();
    ind.clear();
    ls.push(0usize);
    ls.extend(memchr::memchr_iter(b'\n', b).map(|i| i + 1));
    ind.extend(ls.iter().map(|s| {
        b.get(*s..)
            .map_or(0, |t| t.iter().take_while(|c| **c == b' ').count())
    }));
    let mut p = P {
        b,
        s: text,
        ascii,
        ls,
        ind,
        first_line,
        spans: want_spans.then(Vec::new),
        values,
        skim_crds: skim_crd_bodies,
        skimmed: false,
        nodes: 0,
        max_nodes: limits.max_nodes,
        max_depth: limits.max_depth.saturating_sub(2),
    };
    // Without a final line break, yaml-rust2's end-of-text position after a trailing
    // comment or blank line is its own (and the spans of an empty last value use it).
    let odd_end = p.ls.last().and_then(|s| b.get(*s..)).is_some_and(|last| {
        !last.is_empty() && (last.contains(&b'#') || last.iter().all(|c| *c == b' '))
    });
    let out = if odd_end { None } else { p.document() };
    let (ls, ind) = (std::mem::take(&mut p.ls), std::mem::take(&mut p.ind));
    // Keep small tables only: a huge document's are not held for the thread's lifetime.
    if ls.capacity() <= 1 << 20 {
        SCRATCH.with(|s| s.replace((ls, ind)));
    }
    out
}

thread_local! {
    /// Line starts and indentations of the last document parsed on this thread.
    static SCRATCH: std::cell::Cell<(Vec<usize>, Vec<usize>)> = const { std::cell::Cell::new((Vec::new(), Vec::new())) };
}

struct P<'a> {
    b: &'a [u8],
    s: &'a str,
    ascii: bool,
    /// Byte offset of the start of each line (0-based lines).
    ls: Vec<usize>,
    /// Indentation (leading spaces) of each line.
    ind: Vec<usize>,
    first_line: usize,
    spans: Option<Vec<(String, Span)>>,
    /// Build the value (off when only the spans of a parsed document are wanted).
    values: bool,
    /// Leave out the `spec` of a CustomResourceDefinition (parsed, not built).
    skim_crds: bool,
    /// A `spec` was left out.
    skimmed: bool,
    nodes: usize,
    max_nodes: usize,
    max_depth: usize,
}

/// (value, span, the line to continue from).
type Node = (Value, Span, usize);

const NOT_PLAIN_START: &[u8] = b",[]{}#&*!|>'\"%@`";

impl P<'_> {
    fn document(&mut self) -> Option<Option<Parsed>> {
        let mut l = 0;
        let mut marker = false;
        loop {
            if l >= self.ls.len() {
                // A bare `---` is an empty (null) document to yaml-rust2: let it say so.
                return if marker { None } else { Some(None) };
            }
            if self.trivia(l) {
                l += 1;
                continue;
            }
            let p = self.content_start(l);
            if self.indent(l) == 0 && self.b.get(p..p + 3) == Some(b"---") {
                let q = self.skip_spaces(l, p + 3);
                if q == p + 3 && !self.eol(l, q) {
                    return None; // `---x`
                }
                if !self.eol_or_comment(l, q) {
                    return None; // content on the `---` line
                }
                marker = true;
                l += 1;
                continue;
            }
            if self.byte(p) == b'%' {
                return None;
            }
            break;
        }
        let p = self.content_start(l);
        let (value, span, next) = if self.is_seq_entry(l, p) {
            self.block_seq(l, self.indent(l), "", 0)?
        } else if let Some(k) = self.key_at(l, p)? {
            self.block_map(l, p, self.indent(l), Some(k), "", 0)?
        } else {
            return None; // a document that is a bare scalar
        };
        if self.next_content(next).is_some() {
            return None;
        }
        let mut spans = self.spans.take().unwrap_or_default();
        spans.push((String::new(), span));
        Some(Some((value, spans, self.skimmed)))
    }

    // ---- lines and positions ----

    fn byte(&self, i: usize) -> u8 {
        self.b.get(i).copied().unwrap_or(b'\n')
    }

    fn lstart(&self, l: usize) -> usize {
        self.ls.get(l).copied().unwrap_or(self.b.len())
    }

    /// End of line `l` (the offset of its `\n`, or the end of the text).
    fn lend(&self, l: usize) -> usize {
        self.ls
            .get(l + 1)
            .map_or(self.b.len(), |n| n.saturating_sub(1))
    }

    fn indent(&self, l: usize) -> usize {
        self.ind.get(l).copied().unwrap_or(0)
    }

    fn content_start(&self, l: usize) -> usize {
        self.lstart(l) + self.indent(l)
    }

    fn eol(&self, l: usize, i: usize) -> bool {
        i >= self.lend(l)
    }

    /// Blank, or a comment line.
    fn trivia(&self, l: usize) -> bool {
        let p = self.content_start(l);
        self.eol(l, p) || self.byte(p) == b'#'
    }

    fn blank(&self, l: usize) -> bool {
        self.eol(l, self.content_start(l))
    }

    fn next_content(&self, from: usize) -> Option<usize> {
        (from..self.ls.len()).find(|l| !self.trivia(*l))
    }

    fn skip_spaces(&self, l: usize, mut i: usize) -> usize {
        let e = self.lend(l);
        while i < e && self.byte(i) == b' ' {
            i += 1;
        }
        i
    }

    /// At the end of the line, or at a comment (a `#` after at least one space).
    fn eol_or_comment(&self, l: usize, i: usize) -> bool {
        self.eol(l, i) || (self.byte(i) == b'#' && i > 0 && self.byte(i - 1) == b' ')
    }

    fn str(&self, from: usize, to: usize) -> Option<&str> {
        self.s.get(from..to)
    }

    /// 1-based char column of byte `i` on line `l`.
    fn col(&self, l: usize, i: usize) -> usize {
        let s = self.lstart(l);
        if self.ascii {
            i.saturating_sub(s) + 1
        } else {
            self.s.get(s..i).map_or(1, |t| t.chars().count() + 1)
        }
    }

    fn at(&self, l: usize, i: usize) -> (usize, usize) {
        if self.spans.is_none() {
            return (0, 0); // positions are only needed for spans
        }
        (l + self.first_line, self.col(l, i))
    }

    /// Exclusive end column of line `l`.
    fn line_end_col(&self, l: usize) -> usize {
        if self.spans.is_none() {
            return 0;
        }
        self.col(l, self.lend(l))
    }

    /// Where yaml-rust2 marks an empty node: the next token, or the end of the text.
    /// The next item of the sequence the node is an item of (`seq_item`: its `-`
    /// column) is marked after its `-` and spaces.
    fn next_mark(&self, from: usize, seq_item: Option<usize>) -> (usize, usize) {
        match self.next_content(from) {
            Some(l) => {
                let p = self.content_start(l);
                if seq_item == Some(self.indent(l)) && self.is_seq_entry(l, p) {
                    let q = self.skip_spaces(l, p + 1);
                    let q = if self.eol_or_comment(l, q) {
                        self.lend(l)
                    } else {
                        q
                    };
                    self.at(l, q)
                } else {
                    self.at(l, p)
                }
            }
            // yaml-rust2 ends the text with a line break of its own when it has none.
            None if self.b.last() == Some(&b'\n') => (self.ls.len() - 1 + self.first_line, 1),
            None => (self.ls.len() + self.first_line, 1),
        }
    }

    fn span(start: (usize, usize), end: (usize, usize)) -> Span {
        Span {
            start_line: start.0,
            start_column: start.1,
            end_line: end.0,
            end_column: end.1,
        }
    }

    fn count(&mut self, n: usize) -> Option<()> {
        self.nodes += n;
        (self.nodes <= self.max_nodes).then_some(())
    }

    /// A plain scalar on one line starting at `start`: its value and span.
    fn one_line_plain(&self, start: (usize, usize), text: &str) -> (Value, Span) {
        let n = if self.ascii || self.spans.is_none() {
            text.len()
        } else {
            text.chars().count()
        };
        let end = (start.0, start.1 + n);
        (
            self.plain_value(|| text.to_string()),
            Self::span(start, end),
        )
    }

    /// A plain scalar's value (not built in spans-only mode).
    fn plain_value(&self, text: impl FnOnce() -> String) -> Value {
        if self.values {
            resolve_plain(text())
        } else {
            Value::Null
        }
    }

    fn record(&mut self, path: String, span: Span) {
        if let Some(s) = &mut self.spans {
            s.push((path, span));
        }
    }

    fn child_key(&self, path: &str, key: &str) -> String {
        if self.spans.is_some() {
            join_key(path, key)
        } else {
            String::new()
        }
    }

    fn child_index(&self, path: &str, i: usize) -> String {
        if self.spans.is_some() {
            join_index(path, i)
        } else {
            String::new()
        }
    }

    fn is_seq_entry(&self, l: usize, p: usize) -> bool {
        self.byte(p) == b'-' && (self.eol(l, p + 1) || self.byte(p + 1) == b' ')
    }

    // ---- block structure ----

    /// The node that starts on a line at or after `l`, for a parent at indentation
    /// `parent` (`seq_at_parent`: a sequence at the parent's own indentation belongs to
    /// it, as after a mapping key). No such node: an empty (null) value.
    fn block_node(
        &mut self,
        l: usize,
        parent: usize,
        seq_at_parent: bool,
        path: &str,
        depth: usize,
    ) -> Option<Node> {
        if let Some(l2) = self.next_content(l) {
            let ind = self.indent(l2);
            let p = self.content_start(l2);
            if ind > parent {
                if self.is_seq_entry(l2, p) {
                    return self.block_seq(l2, ind, path, depth);
                }
                if let Some(k) = self.key_at(l2, p)? {
                    return self.block_map(l2, p, ind, Some(k), path, depth);
                }
                return self.inline_value(l2, p, parent, path, depth);
            }
            if ind == parent && seq_at_parent && self.is_seq_entry(l2, p) {
                return self.block_seq(l2, ind, path, depth);
            }
        }
        self.count(1)?;
        let m = self.next_mark(l, (!seq_at_parent).then_some(parent));
        Some((Value::Null, Self::span(m, m), l))
    }

    /// A block mapping whose first key is at byte `p` of line `l`; its keys sit at
    /// column `indent` (0-based).
    fn block_map(
        &mut self,
        mut l: usize,
        mut p: usize,
        indent: usize,
        mut pending: Option<(String, usize)>,
        path: &str,
        depth: usize,
    ) -> Option<Node> {
        if depth > self.max_depth {
            return None;
        }
        self.count(1)?;
        let start = self.at(l, p);
        let mut map = Map::new();
        let mut end;
        loop {
            let (key, after) = match pending.take() {
                Some(k) => k,
                None => self.key_at(l, p)??,
            };
            if key == "<<" {
                return None;
            }
            self.count(1)?;
            let key_at = self.at(l, p);
            let child = self.child_key(path, &key);
            let v = self.skip_spaces(l, after);
            // A CRD's schema (megabytes in operator bundles) is parsed but not built
            // when no consumer reads it; `kind` comes before `spec` in practice.
            let top_spec = depth == 0 && key == "spec";
            if top_spec && self.skimmed {
                return None; // a second `spec`
            }
            let skim = top_spec
                && self.skim_crds
                && self.values
                && map.get("kind").and_then(Value::as_str) == Some("CustomResourceDefinition");
            self.values &= !skim;
            let (value, vspan, next) = if self.eol_or_comment(l, v) {
                self.block_node(l + 1, indent, true, &child, depth + 1)?
            } else {
                self.inline_value(l, v, indent, &child, depth + 1)?
            };
            self.values |= skim;
            end = (vspan.end_line, vspan.end_column);
            self.record(child, Self::span(key_at, end));
            if skim {
                self.skimmed = true;
            } else if self.values && map.insert(key, value).is_some() {
                return None; // duplicate key
            }
            match self.next_content(next) {
                Some(l2) if self.indent(l2) == indent => {
                    let p2 = self.content_start(l2);
                    if self.is_seq_entry(l2, p2) {
                        return None;
                    }
                    l = l2;
                    p = p2;
                }
                Some(l2) if self.indent(l2) > indent => return None,
                Some(l2) => return Some((Value::Object(map), Self::span(start, end), l2)),
                None => return Some((Value::Object(map), Self::span(start, end), self.ls.len())),
            }
        }
    }

    /// A block sequence whose first `-` is the first content of line `l`... or, for a
    /// compact nested sequence, at column `indent` of line `l`.
    fn block_seq(&mut self, mut l: usize, indent: usize, path: &str, depth: usize) -> Option<Node> {
        if depth > self.max_depth {
            return None;
        }
        self.count(1)?;
        let mut p = self.lstart(l) + indent;
        let start = self.at(l, p);
        let mut items = Vec::new();
        let mut count = 0usize;
        let mut end;
        loop {
            let child = self.child_index(path, count);
            let q = self.skip_spaces(l, p + 1);
            let (value, span, next) = if self.eol_or_comment(l, q) {
                self.block_node(l + 1, indent, false, &child, depth + 1)?
            } else if self.is_seq_entry(l, q) {
                let col = q - self.lstart(l);
                self.block_seq(l, col, &child, depth + 1)?
            } else if let Some(k) = self.key_at(l, q)? {
                let col = q - self.lstart(l);
                self.block_map(l, q, col, Some(k), &child, depth + 1)?
            } else {
                self.inline_value(l, q, indent, &child, depth + 1)?
            };
            end = (span.end_line, span.end_column);
            self.record(child, span);
            if self.values {
                items.push(value);
            }
            count += 1;
            match self.next_content(next) {
                Some(l2) if self.indent(l2) == indent => {
                    let p2 = self.content_start(l2);
                    if !self.is_seq_entry(l2, p2) {
                        return Some((Value::Array(items), Self::span(start, end), l2));
                    }
                    l = l2;
                    p = p2;
                }
                Some(l2) if self.indent(l2) > indent => return None,
                Some(l2) => return Some((Value::Array(items), Self::span(start, end), l2)),
                None => return Some((Value::Array(items), Self::span(start, end), self.ls.len())),
            }
        }
    }

    /// Whether a mapping key starts at byte `p` of line `l`: `Some(Some((key, offset
    /// just after its colon)))`; `Some(None)`: not a key; `None`: cannot tell (fall back).
    #[allow(clippy::option_option)]
    fn key_at(&self, l: usize, p: usize) -> Option<Option<(String, usize)>> {
        let c = self.byte(p);
        if c == b'"' || c == b'\'' {
            let Some((k, kl, after)) = self.quoted(l, p, usize::MAX) else {
                return Some(None);
            };
            if kl != l {
                return Some(None);
            }
            let q = self.skip_spaces(l, after);
            if self.byte(q) == b':' && (self.eol(l, q + 1) || self.byte(q + 1) == b' ') {
                return Some(Some((k, q + 1)));
            }
            return Some(None);
        }
        if matches!(c, b'-' | b'?' | b':') && (self.eol(l, p + 1) || self.byte(p + 1) == b' ') {
            return if c == b'-' { Some(None) } else { None };
        }
        if NOT_PLAIN_START.contains(&c) {
            return if matches!(c, b'[' | b'{' | b'#' | b'|' | b'>') {
                Some(None)
            } else {
                None
            };
        }
        let e = self.lend(l);
        let mut i = p;
        while let Some(j) = self
            .b
            .get(i..e)
            .and_then(|t| memchr::memchr2(b':', b'#', t))
        {
            i += j;
            let c = self.byte(i);
            if c == b':' && (i + 1 >= e || self.byte(i + 1) == b' ') {
                let key = self.str(p, i)?.trim_end_matches(' ');
                if key.len() > 1024 {
                    return None;
                }
                return Some(Some((key.to_string(), i + 1)));
            }
            if c == b'#' && self.byte(i.wrapping_sub(1)) == b' ' {
                return Some(None);
            }
            i += 1;
        }
        Some(None)
    }

    /// A scalar or flow collection starting at byte `p` of line `l`, inside a block node
    /// at indentation `parent`.
    fn inline_value(
        &mut self,
        l: usize,
        p: usize,
        parent: usize,
        path: &str,
        depth: usize,
    ) -> Option<Node> {
        if depth > self.max_depth {
            return None;
        }
        self.count(1)?;
        let c = self.byte(p);
        match c {
            b'|' | b'>' => self.block_scalar(l, p, parent),
            b'"' | b'\'' => {
                let (s, el, after) = self.quoted(l, p, parent)?;
                let q = self.skip_spaces(el, after);
                if !self.eol_or_comment(el, q) {
                    return None;
                }
                let span = Self::span(self.at(l, p), self.at(el, after));
                Some((Value::String(s), span, el + 1))
            }
            b'[' | b'{' => {
                self.nodes -= 1; // counted again by flow_node
                let (v, span, after) = self.flow_node(l, p, path, depth)?;
                let q = self.skip_spaces(l, after);
                if !self.eol_or_comment(l, q) {
                    return None;
                }
                Some((v, span, l + 1))
            }
            _ if NOT_PLAIN_START.contains(&c) => None,
            b'-' | b'?' | b':' if self.eol(l, p + 1) || self.byte(p + 1) == b' ' => None,
            _ => self.plain(l, p, parent),
        }
    }

    /// A plain scalar, possibly continued on more-indented lines.
    fn plain(&self, l: usize, p: usize, parent: usize) -> Option<Node> {
        let (text, comment) = self.plain_line(l, p)?;
        let start = self.at(l, p);
        let mut last = l;
        let mut folded: Option<String> = None;
        if !comment {
            let mut k = l + 1;
            let mut empties = 0usize;
            while k < self.ls.len() {
                if self.blank(k) {
                    empties += 1;
                    k += 1;
                    continue;
                }
                if self.indent(k) <= parent {
                    break;
                }
                let cs = self.content_start(k);
                let c = self.byte(cs);
                if c == b'#' || matches!(c, b'-' | b'?' | b':') && self.byte(cs + 1) == b' ' {
                    return None;
                }
                let (t, comment) = self.plain_line(k, cs)?;
                if comment {
                    return None;
                }
                let f = folded.get_or_insert_with(|| text.to_string());
                if empties == 0 {
                    f.push(' ');
                } else {
                    f.extend(std::iter::repeat_n('\n', empties));
                }
                f.push_str(t);
                empties = 0;
                last = k;
                k += 1;
            }
        }
        match folded {
            None => {
                let (value, span) = self.one_line_plain(start, text);
                Some((value, span, l + 1))
            }
            Some(f) => {
                let end = (last + self.first_line, self.line_end_col(last));
                Some((self.plain_value(|| f), Self::span(start, end), last + 1))
            }
        }
    }

    /// The plain text on line `l` from `p`: (text without trailing spaces, whether a
    /// comment follows). `None` for `: ` inside (an error in YAML) or a trailing `:`.
    fn plain_line(&self, l: usize, p: usize) -> Option<(&str, bool)> {
        let e = self.lend(l);
        let mut i = p;
        let mut comment = false;
        loop {
            match self
                .b
                .get(i..e)
                .and_then(|t| memchr::memchr2(b':', b'#', t))
            {
                None => {
                    i = e;
                    break;
                }
                Some(j) => i += j,
            }
            let c = self.byte(i);
            if c == b':' && (i + 1 >= e || self.byte(i + 1) == b' ') {
                return None;
            }
            if c == b'#' && i > p && self.byte(i - 1) == b' ' {
                comment = true;
                break;
            }
            i += 1;
        }
        let t = self.str(p, i)?.trim_end_matches(' ');
        if t.is_empty() {
            return None;
        }
        Some((t, comment))
    }

    /// A quoted scalar starting at byte `p` of line `l`: (text, line of the closing
    /// quote, offset just after it). Continuation lines must be indented past `parent`.
    fn quoted(&self, l: usize, p: usize, parent: usize) -> Option<(String, usize, usize)> {
        let q = self.byte(p);
        let double = q == b'"';
        let mut out = String::new();
        let mut line = l;
        let mut i = p + 1;
        'lines: loop {
            let e = self.lend(line);
            let mut seg = i;
            while i < e {
                let c = self.byte(i);
                if c == q {
                    if !double && self.byte(i + 1) == b'\'' {
                        out.push_str(self.str(seg, i + 1)?);
                        i += 2;
                        seg = i;
                        continue;
                    }
                    out.push_str(self.str(seg, i)?);
                    return Some((out, line, i + 1));
                }
                if double && c == b'\\' {
                    out.push_str(self.str(seg, i)?);
                    if i + 1 >= e {
                        // Escaped line break: nothing is inserted, the next line's
                        // leading spaces are dropped.
                        line += 1;
                        if line >= self.ls.len() || self.blank(line) || self.indent(line) <= parent
                        {
                            return None;
                        }
                        i = self.content_start(line);
                        continue 'lines;
                    }
                    i = self.escape(i + 1, &mut out)?;
                    seg = i;
                    continue;
                }
                i += 1;
            }
            out.push_str(self.str(seg, e)?.trim_end_matches(' '));
            if e >= self.b.len() {
                return None; // unterminated
            }
            // Fold the line break.
            let mut empties = 0usize;
            line += 1;
            while line < self.ls.len() && self.blank(line) {
                empties += 1;
                line += 1;
            }
            if line >= self.ls.len() || self.indent(line) <= parent {
                return None;
            }
            if empties == 0 {
                out.push(' ');
            } else {
                out.extend(std::iter::repeat_n('\n', empties));
            }
            i = self.content_start(line);
        }
    }

    /// One escape sequence after a backslash at `i - 1`; returns the offset after it.
    fn escape(&self, i: usize, out: &mut String) -> Option<usize> {
        let c = self.byte(i);
        let simple = match c {
            b'0' => Some('\0'),
            b'a' => Some('\u{7}'),
            b'b' => Some('\u{8}'),
            b't' => Some('\t'),
            b'n' => Some('\n'),
            b'v' => Some('\u{b}'),
            b'f' => Some('\u{c}'),
            b'r' => Some('\r'),
            b'e' => Some('\u{1b}'),
            b' ' => Some(' '),
            b'"' => Some('"'),
            b'/' => Some('/'),
            b'\\' => Some('\\'),
            b'N' => Some('\u{85}'),
            b'_' => Some('\u{a0}'),
            b'L' => Some('\u{2028}'),
            b'P' => Some('\u{2029}'),
            _ => None,
        };
        if let Some(ch) = simple {
            out.push(ch);
            return Some(i + 1);
        }
        let n = match c {
            b'x' => 2,
            b'u' => 4,
            b'U' => 8,
            _ => return None,
        };
        let hex = self.str(i + 1, i + 1 + n)?;
        let code = u32::from_str_radix(hex, 16).ok()?;
        out.push(char::from_u32(code)?);
        Some(i + 1 + n)
    }

    /// A `|` or `>` block scalar whose indicator is at byte `p` of line `l`.
    fn block_scalar(&self, l: usize, p: usize, parent: usize) -> Option<Node> {
        let literal = self.byte(p) == b'|';
        // Header: a chomping indicator (-1 strip, 0 clip, 1 keep) and an indentation
        // indicator, in either order.
        let chomping = |c: u8| match c {
            b'-' => Some(-1i8),
            b'+' => Some(1),
            _ => None,
        };
        let mut i = p + 1;
        let mut chomp = chomping(self.byte(i)).unwrap_or(0);
        i += usize::from(chomp != 0);
        let mut explicit = None;
        if let Some(d @ b'1'..=b'9') = self.b.get(i).copied() {
            explicit = Some(usize::from(d - b'0'));
            i += 1;
            if let (0, Some(c)) = (chomp, chomping(self.byte(i))) {
                chomp = c;
                i += 1;
            }
        }
        let q = self.skip_spaces(l, i);
        if !(self.eol(l, q) || (q > i && self.byte(q) == b'#')) {
            return None;
        }
        // Leading empty lines, then the first line with text sets the indentation.
        let mut first = l + 1;
        let mut leading = 0usize;
        let mut widest = 0usize;
        while first < self.ls.len() && self.blank(first) {
            widest = widest.max(self.lend(first) - self.lstart(first));
            leading += 1;
            first += 1;
        }
        if first >= self.ls.len() || self.indent(first) <= parent {
            return None; // an empty block scalar
        }
        let ci = match explicit {
            Some(d) => parent + d,
            None => self.indent(first),
        };
        // (With an explicit indicator, only the plain case where the first line sits at
        // that indentation: yaml-rust2's spans measure from the first line.)
        if self.indent(first) != ci || widest > ci {
            return None;
        }
        // Content lines: (start of text after the indentation, end) or blank.
        let mut out = String::new();
        out.extend(std::iter::repeat_n('\n', leading));
        let mut last = first;
        let mut empties = 0usize;
        let mut k = first;
        let mut any = false;
        // The empty "line" after a final line break is not a line.
        let lines = if self.b.last() == Some(&b'\n') {
            self.ls.len() - 1
        } else {
            self.ls.len()
        };
        while k < lines {
            let s = self.lstart(k);
            let e = self.lend(k);
            if self.blank(k) {
                if e - s > ci {
                    return None; // spaces beyond the indentation on an empty line
                }
                empties += 1;
                k += 1;
                continue;
            }
            if self.indent(k) < ci {
                break;
            }
            let text = self.str(s + ci, e)?;
            if any {
                if literal {
                    out.extend(std::iter::repeat_n('\n', empties + 1));
                } else if empties == 0 {
                    out.push(' ');
                } else {
                    out.extend(std::iter::repeat_n('\n', empties));
                }
            }
            if !literal && text.starts_with(' ') {
                return None; // more-indented lines in a folded scalar
            }
            out.push_str(text);
            any = true;
            empties = 0;
            last = k;
            k += 1;
        }
        match chomp {
            -1 => {}
            0 => out.push('\n'),
            _ => out.extend(std::iter::repeat_n('\n', empties + 1)),
        }
        let span = Self::span(
            self.at(l, p),
            (last + self.first_line, self.line_end_col(last)),
        );
        Some((Value::String(out), span, last + 1))
    }

    // ---- flow collections (on one line) ----

    /// A flow node at byte `i` of line `l`: (value, span, offset after it).
    fn flow_node(
        &mut self,
        l: usize,
        i: usize,
        path: &str,
        depth: usize,
    ) -> Option<(Value, Span, usize)> {
        if depth > self.max_depth {
            return None;
        }
        let c = self.byte(i);
        match c {
            b'[' => {
                self.count(1)?;
                let start = self.at(l, i);
                let mut items = Vec::new();
                let mut count = 0usize;
                let mut j = self.skip_spaces(l, i + 1);
                if self.byte(j) == b']' {
                    let end = self.at(l, j + 1);
                    return Some((Value::Array(items), Self::span(start, end), j + 1));
                }
                let mut end;
                loop {
                    let child = self.child_index(path, count);
                    let (v, s, after) = self.flow_node(l, j, &child, depth + 1)?;
                    end = (s.end_line, s.end_column);
                    self.record(child, s);
                    if self.values {
                        items.push(v);
                    }
                    count += 1;
                    match self.flow_next(l, after, b']')? {
                        Ok(next) => j = next,
                        Err(done) => {
                            return Some((Value::Array(items), Self::span(start, end), done))
                        }
                    }
                }
            }
            b'{' => {
                self.count(1)?;
                let start = self.at(l, i);
                let mut map = Map::new();
                let mut j = self.skip_spaces(l, i + 1);
                if self.byte(j) == b'}' {
                    let end = self.at(l, j + 1);
                    return Some((Value::Object(map), Self::span(start, end), j + 1));
                }
                let mut end;
                loop {
                    let key_at = self.at(l, j);
                    let (key, after) = match self.byte(j) {
                        b'"' | b'\'' => {
                            let (k, kl, after) = self.quoted(l, j, usize::MAX)?;
                            (kl == l).then_some((k, after))?
                        }
                        _ => {
                            let (k, after) = self.flow_plain(l, j)?;
                            (k.to_string(), after)
                        }
                    };
                    if key == "<<" {
                        return None;
                    }
                    self.count(1)?;
                    let k = self.skip_spaces(l, after);
                    if self.byte(k) != b':' || self.byte(k + 1) != b' ' {
                        return None;
                    }
                    let v = self.skip_spaces(l, k + 1);
                    if matches!(self.byte(v), b',' | b'}') || self.eol(l, v) {
                        return None;
                    }
                    let child = self.child_key(path, &key);
                    let (value, s, after) = self.flow_node(l, v, &child, depth + 1)?;
                    end = (s.end_line, s.end_column);
                    self.record(child, Self::span(key_at, end));
                    if self.values && map.insert(key, value).is_some() {
                        return None;
                    }
                    match self.flow_next(l, after, b'}')? {
                        Ok(next) => j = next,
                        Err(done) => {
                            return Some((Value::Object(map), Self::span(start, end), done))
                        }
                    }
                }
            }
            b'"' | b'\'' => {
                self.count(1)?;
                let (s, sl, after) = self.quoted(l, i, usize::MAX)?;
                if sl != l {
                    return None;
                }
                let span = Self::span(self.at(l, i), self.at(l, after));
                Some((Value::String(s), span, after))
            }
            _ => {
                self.count(1)?;
                let (t, after) = self.flow_plain(l, i)?;
                let (value, span) = self.one_line_plain(self.at(l, i), t);
                Some((value, span, after))
            }
        }
    }

    /// After an item of a flow collection ending at `after`: `Ok(start of the next item)`
    /// after a comma, `Err(offset after the collection)` at its `close` bracket; `None`
    /// for anything else (including an empty item or a trailing comma).
    fn flow_next(&self, l: usize, after: usize, close: u8) -> Option<Result<usize, usize>> {
        let j = self.skip_spaces(l, after);
        match self.byte(j) {
            b',' => {
                let next = self.skip_spaces(l, j + 1);
                let c = self.byte(next);
                (c != close && c != b',').then_some(Ok(next))
            }
            c if c == close => Some(Err(j + 1)),
            _ => None,
        }
    }

    /// A plain scalar inside a flow collection: (text, offset after it).
    fn flow_plain(&self, l: usize, i: usize) -> Option<(&str, usize)> {
        let c = self.byte(i);
        if NOT_PLAIN_START.contains(&c)
            || matches!(c, b'-' | b'?' | b':')
                && matches!(
                    self.byte(i + 1),
                    b' ' | b',' | b'[' | b']' | b'{' | b'}' | b'\n'
                )
        {
            return None;
        }
        let e = self.lend(l);
        let mut j = i;
        while j < e {
            let c = self.byte(j);
            if matches!(c, b',' | b'[' | b']' | b'{' | b'}') {
                break;
            }
            if c == b':' && matches!(self.byte(j + 1), b' ' | b',' | b']' | b'}' | b'\n') {
                break;
            }
            if c == b'#' && self.byte(j.wrapping_sub(1)) == b' ' {
                return None;
            }
            j += 1;
        }
        if j >= e {
            return None; // runs to the end of the line: the collection is not closed here
        }
        let t = self.str(i, j)?.trim_end_matches(' ');
        if t.is_empty() {
            return None;
        }
        Some((t, i + t.len()))
    }
}
