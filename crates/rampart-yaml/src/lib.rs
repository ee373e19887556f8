//! The one YAML loader: YAML text → [`serde_json::Value`] with a source [`Span`] for
//! every field, bounded in size, depth and alias expansion.
//!
//! Every crate that reads YAML (Kubernetes manifests, Falco rules, lockfiles) loads it
//! here, so the limits and the position bookkeeping exist once:
//!
//! - [`split_documents`] splits a stream at `---` / `...` lines (a malformed document is
//!   reported with its line and the rest of the stream still loads);
//! - [`parse_document`] builds one document with yaml-rust2's event parser: every map
//!   entry (from its key to the end of its value) and every sequence item gets a
//!   [`Span`] keyed by field path ([`join_key`] / [`join_index`] syntax; the empty path
//!   is the whole document). Lines and columns are 1-based; columns count characters;
//!   `end_column` is exclusive;
//! - anchors and aliases are expanded (fields of an alias keep the spans of the anchored
//!   text), merge keys (`<<`) are honoured;
//! - scalars resolve as Kubernetes' YAML reader does ([`Scalars::Kubernetes`]: YAML 1.1
//!   booleans `yes/no/on/off` for plain scalars, quoted scalars stay strings) or stay
//!   text ([`Scalars::Text`], as yaml-cpp and lockfile readers want them);
//! - bounded ([`Limits`]): input size (32 MiB), nesting depth (128) and nodes per
//!   document after alias expansion (500,000: the billion-laughs bomb is an error, not
//!   gigabytes).
//!
//! ```
//! let docs = rampart_yaml::load_str("a: &x [1, 2]\nb: *x\n", &rampart_yaml::Options::default());
//! let doc = docs[0].as_ref().unwrap();
//! assert_eq!(doc.value["b"][1], 2);
//! assert_eq!(doc.spans["b"].start_line, 2);
//! ```

pub mod fast;
mod lenient;
mod span;
pub use lenient::{load_one_lenient, parse_document_lenient, parse_libyaml};
use serde_json::{Map, Number, Value};
pub use span::Span;
use std::collections::{BTreeMap, HashMap};
use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Resource bounds for one input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest input read, in bytes.
    pub max_file_bytes: usize,
    /// Deepest nesting of maps and sequences.
    pub max_depth: usize,
    /// Most nodes one document may expand to (aliases included).
    pub max_nodes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_file_bytes: 32 * 1024 * 1024,
            max_depth: 128,
            max_nodes: 500_000,
        }
    }
}

/// How plain (unquoted) scalars become values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scalars {
    /// As Kubernetes' YAML reader (go-yaml v2 via sigs.k8s.io/yaml): `yes`/`on` are
    /// booleans, `010` is octal, numbers are numbers; `!!str` and friends are honoured.
    #[default]
    Kubernetes,
    /// Every scalar is a string with its text as written, except a plain empty scalar,
    /// `~` or `null`, which is null (yaml-cpp's reading, which Falco uses; lockfile
    /// versions such as `1.10` stay `1.10`).
    Text,
    /// YAML 1.2's core schema (serde_yaml's reading, for typed configuration):
    /// `true`/`false`, `null`/`~`, decimal, `0x`/`0o` integers and floats; `yes` and `010`
    /// stay a string and a decimal number.
    Core,
}

/// What to load and how.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Bounds.
    pub limits: Limits,
    /// Scalar resolution.
    pub scalars: Scalars,
    /// Also record the span of every map *value* (in [`Document::value_spans`]), for
    /// callers that point at a value rather than at its entry.
    pub value_spans: bool,
    /// A key written twice in one mapping is an error (`serde_yaml`'s behaviour, right for
    /// configuration); otherwise the last one wins (Kubernetes' API server behaviour).
    pub reject_duplicate_keys: bool,
}

/// A document that could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", line.map(|l| format!("line {l}: ")).unwrap_or_default())]
pub struct YamlError {
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// What went wrong.
    pub message: String,
}

/// One loaded document.
#[derive(Debug, Clone, Default)]
pub struct Document {
    /// The value.
    pub value: Value,
    /// The span of every map entry and sequence item, by field path (`""`: the document).
    pub spans: BTreeMap<String, Span>,
    /// With [`Options::value_spans`]: the span of every map value, by field path.
    pub value_spans: BTreeMap<String, Span>,
}

/// Load every document of a YAML stream; one result per document (empty documents are
/// left out). An input over [`Limits::max_file_bytes`] is one error.
pub fn load_str(text: &str, opts: &Options) -> Vec<Result<Document, YamlError>> {
    if text.len() > opts.limits.max_file_bytes {
        return vec![Err(YamlError {
            line: None,
            column: None,
            message: format!(
                "input is larger than {} bytes; not loaded",
                opts.limits.max_file_bytes
            ),
        })];
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    for chunk in split_documents(text) {
        match parse_document(chunk.text, chunk.first_line, opts) {
            Ok(None) => {}
            Ok(Some(d)) => out.push(Ok(d)),
            Err(e) => out.push(Err(e)),
        }
    }
    out
}

/// Load a stream that must hold at most one document (a lockfile, a config file): its
/// value (null when empty), or the first error.
pub fn load_one(text: &str, opts: &Options) -> Result<Document, YamlError> {
    let mut docs = load_str(text, opts).into_iter();
    let first = docs.next().unwrap_or_else(|| Ok(Document::default()))?;
    if let Some(second) = docs.next() {
        let line = match &second {
            Ok(d) => d.spans.get("").map(|s| s.start_line),
            Err(e) => e.line,
        };
        return Err(YamlError {
            line,
            column: None,
            message: "more than one YAML document".into(),
        });
    }
    Ok(first)
}

/// Load one YAML document into a typed value, as `serde_yaml::from_str` did but with
/// the loader's limits: YAML 1.2 core scalars ([`Scalars::Core`]), default [`Limits`],
/// duplicate keys rejected.
/// A value of the wrong type is reported at its field's line (`line 7: spec.replicas:
/// invalid type: …`).
///
/// ```
/// #[derive(Debug, serde::Deserialize)]
/// struct Config { name: String, port: u16 }
/// let c: Config = rampart_yaml::from_str("name: web\nport: 8080\n").unwrap();
/// assert_eq!(c.port, 8080);
/// let e = rampart_yaml::from_str::<Config>("name: web\nport: high\n").unwrap_err();
/// assert_eq!(e.line, Some(2));
/// ```
pub fn from_str<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    from_str_with(
        text,
        &Options {
            scalars: Scalars::Core,
            reject_duplicate_keys: true,
            ..Options::default()
        },
    )
}

/// [`from_str`] with explicit options.
pub fn from_str_with<T: serde::de::DeserializeOwned>(
    text: &str,
    opts: &Options,
) -> Result<T, YamlError> {
    let doc = load_one(text, opts)?;
    let Document { value, spans, .. } = doc;
    serde_path_to_error::deserialize(value).map_err(|e| {
        let mut path = String::new();
        for seg in e.path().iter() {
            path = match seg {
                serde_path_to_error::Segment::Seq { index } => join_index(&path, *index),
                serde_path_to_error::Segment::Map { key } => join_key(&path, key),
                serde_path_to_error::Segment::Enum { variant } => join_key(&path, variant),
                serde_path_to_error::Segment::Unknown => path,
            };
        }
        // The field's own span, or the nearest enclosing one that has a span.
        let mut at = path.as_str();
        let span = loop {
            if let Some(s) = spans.get(at) {
                break Some(*s);
            }
            if at.is_empty() {
                break None;
            }
            at = at.rfind(['.', '[']).and_then(|i| at.get(..i)).unwrap_or("");
        };
        let inner = e.into_inner();
        YamlError {
            line: span.map(|s| s.start_line),
            column: span.map(|s| s.start_column),
            message: if path.is_empty() {
                inner.to_string()
            } else {
                format!("{path}: {inner}")
            },
        }
    })
}

/// Append a map key to a field path: `a.b` for plain keys, `a["x.y"]` otherwise.
pub fn join_key(base: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-');
    match (base.is_empty(), plain) {
        (true, true) => key.to_string(),
        (false, true) => {
            // Built by hand: this runs for every map entry the loader reads.
            let mut s = String::with_capacity(base.len() + 1 + key.len());
            s.push_str(base);
            s.push('.');
            s.push_str(key);
            s
        }
        (_, false) => format!("{base}[{}]", serde_json::Value::from(key)),
    }
}

/// Append a list index to a field path.
pub fn join_index(base: &str, i: usize) -> String {
    let mut digits = [0u8; 20];
    let mut n = i;
    let mut at = digits.len();
    loop {
        at -= 1;
        // `n % 10` is below 10, so the cast cannot truncate.
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let mut s = String::with_capacity(base.len() + 2 + digits.len() - at);
    s.push_str(base);
    s.push('[');
    for d in &digits[at..] {
        s.push(char::from(*d));
    }
    s.push(']');
    s
}

/// One document's text in a stream.
#[derive(Debug, Clone, Copy)]
pub struct Chunk<'a> {
    /// The text.
    pub text: &'a str,
    /// Byte offset of `text` in the stream.
    pub offset: usize,
    /// 1-based line of the chunk's first line in the stream.
    pub first_line: usize,
}

/// Split at `---` (document start, kept in the next chunk) and `...` (document end,
/// dropped) lines. Leading directive/comment-only chunks join the following document.
pub fn split_documents(text: &str) -> Vec<Chunk<'_>> {
    fn push<'a>(chunks: &mut Vec<Chunk<'a>>, text: &'a str, from: usize, to: usize, line: usize) {
        if let Some(t) = text.get(from..to) {
            chunks.push(Chunk {
                text: t,
                offset: from,
                first_line: line,
            });
        }
    }
    let b = text.as_bytes();
    // Marker lines (`---`, `...`): found with a substring search, not line by line.
    let is_marker_line = |at: usize| -> Option<(bool, usize)> {
        let line = b.get(at..)?;
        let end = memchr::memchr(b'\n', line).map_or(b.len(), |i| at + i + 1);
        let mut body = b.get(at..end)?;
        while let [rest @ .., b'\n' | b'\r'] = body {
            body = rest;
        }
        if body.starts_with(b"---") && matches!(body.get(3), None | Some(b' ' | b'\t')) {
            return Some((true, end));
        }
        if body == b"..." || body.starts_with(b"... ") {
            return Some((false, end));
        }
        None
    };
    let mut candidates: Vec<usize> = memchr::memmem::find_iter(b, b"\n---")
        .chain(memchr::memmem::find_iter(b, b"\n..."))
        .map(|i| i + 1)
        .collect();
    candidates.push(0);
    candidates.sort_unstable();
    let mut chunks = Vec::new();
    let mut start = 0usize;
    let mut start_line = 1usize;
    // Line number of `counted` (a line start), kept up to date as markers are met.
    let (mut counted, mut counted_line) = (0usize, 1usize);
    let mut line_of = |at: usize| -> usize {
        counted_line += memchr::memchr_iter(b'\n', b.get(counted..at).unwrap_or_default()).count();
        counted = at;
        counted_line
    };
    for at in candidates {
        let Some((is_start, next)) = is_marker_line(at) else {
            continue;
        };
        let line_no = line_of(at);
        if is_start {
            // A chunk of directives and comments only belongs to the next document.
            let chunk = text.get(start..at).unwrap_or_default();
            if at > start && !chunk_is_directives(chunk) {
                push(&mut chunks, text, start, at, start_line);
                start = at;
                start_line = line_no;
            } else if at == start {
                start = at;
                start_line = line_no;
            }
        } else {
            if at > start {
                push(&mut chunks, text, start, at, start_line);
            }
            start = next;
            start_line = line_no + 1;
        }
    }
    if start < text.len() {
        push(&mut chunks, text, start, text.len(), start_line);
    }
    chunks
}

/// Whether a chunk holds only directives (`%YAML`), comments and blank lines, with at
/// least one directive (so it belongs to the following document).
fn chunk_is_directives(s: &str) -> bool {
    let mut any = false;
    for l in s.lines() {
        let t = l.trim();
        if t.starts_with('%') {
            any = true;
        } else if !(t.is_empty() || t.starts_with('#')) {
            return false;
        }
    }
    any
}

struct Builder<'a> {
    events: Vec<(Event, Marker)>,
    pos: usize,
    /// The chunk's text.
    text: &'a str,
    /// The chunk as chars (for scalar end positions), when it is not ASCII (an ASCII
    /// chunk is indexed by byte: a char index is a byte index there).
    chars: Option<Vec<char>>,
    /// Length of the chunk in chars.
    n_chars: usize,
    /// Char index of the start of each line of the chunk.
    line_starts: Vec<usize>,
    first_line: usize,
    limits: &'a Limits,
    scalars: Scalars,
    /// Spans of map values, when asked for.
    value_spans: Option<BTreeMap<String, Span>>,
    reject_duplicate_keys: bool,
    nodes: usize,
    spans: BTreeMap<String, Span>,
    anchors: HashMap<usize, Anchored>,
    /// A non-scalar map key was built (its spans must be dropped).
    complex_keys: bool,
    /// Spans copied for aliases so far.
    alias_spans: usize,
    /// The last [`Builder::block_bounds`] answer, keyed by the marker's char index.
    last_block: std::cell::Cell<Option<(usize, BlockBounds)>>,
}

/// (last content line, (indicator line, indicator column)) of a block scalar.
type BlockBounds = (usize, (usize, usize));

struct Anchored {
    value: Value,
    /// Spans relative to the anchored node (`""` is the node itself).
    spans: BTreeMap<String, Span>,
    nodes: usize,
}

fn err_at(m: Option<&Marker>, first_line: usize, message: String) -> YamlError {
    YamlError {
        line: m.map(|m| m.line() + first_line - 1),
        column: m.map(|m| m.col() + 1),
        message,
    }
}

/// Parse one document's text (a [`Chunk`] of [`split_documents`]; `first_line` is its
/// line in the stream). `Ok(None)` for a chunk without content.
pub fn parse_document(
    text: &str,
    first_line: usize,
    opts: &Options,
) -> Result<Option<Document>, YamlError> {
    let limits = &opts.limits;
    let mut parser = Parser::new_from_str(text).keep_tags(true);
    // About one event per 10 bytes of manifest YAML: sized once, not regrown (capped, so
    // a huge document does not reserve memory up front).
    let mut events = Vec::with_capacity((text.len() / 10 + 8).min(16_384));
    let mut depth = 0usize;
    loop {
        match parser.next_token() {
            Ok((ev, m)) => {
                match ev {
                    Event::MappingStart(..) | Event::SequenceStart(..) => {
                        depth += 1;
                        if depth > limits.max_depth {
                            return Err(err_at(
                                Some(&m),
                                first_line,
                                format!("nesting deeper than {} levels", limits.max_depth),
                            ));
                        }
                    }
                    Event::MappingEnd | Event::SequenceEnd => depth = depth.saturating_sub(1),
                    _ => {}
                }
                let end = matches!(ev, Event::StreamEnd);
                events.push((ev, m));
                if end {
                    break;
                }
                if events.len() > limits.max_nodes.saturating_mul(2) {
                    return Err(err_at(Some(&m), first_line, "document too large".into()));
                }
            }
            Err(e) => {
                // Errors at end of input point at the last line of the document.
                let lines = text.trim_end_matches(['\n', '\r']).lines().count().max(1);
                let m = e.marker();
                let (line, column) = if m.line() > lines {
                    (lines, None)
                } else {
                    (m.line(), Some(m.col() + 1))
                };
                return Err(YamlError {
                    line: Some(line + first_line - 1),
                    column,
                    message: if e.info().contains("recursion limit") {
                        format!("nesting deeper than the YAML parser allows ({})", e.info())
                    } else {
                        format!("invalid YAML: {}", e.info())
                    },
                });
            }
        }
    }
    let mut line_starts = Vec::with_capacity(text.len() / 24 + 2);
    line_starts.push(0usize);
    let (chars, n_chars) = if text.is_ascii() {
        for (i, c) in text.bytes().enumerate() {
            if c == b'\n' {
                line_starts.push(i + 1);
            }
        }
        (None, text.len())
    } else {
        let chars: Vec<char> = text.chars().collect();
        for (i, c) in chars.iter().enumerate() {
            if *c == '\n' {
                line_starts.push(i + 1);
            }
        }
        let n = chars.len();
        (Some(chars), n)
    };
    let mut b = Builder {
        events,
        pos: 0,
        text,
        chars,
        n_chars,
        line_starts,
        first_line,
        limits,
        scalars: opts.scalars,
        value_spans: opts.value_spans.then(BTreeMap::new),
        reject_duplicate_keys: opts.reject_duplicate_keys,
        nodes: 0,
        spans: BTreeMap::new(),
        anchors: HashMap::new(),
        complex_keys: false,
        alias_spans: 0,
        last_block: std::cell::Cell::new(None),
    };
    // Skip to the first document.
    while let Some((ev, _)) = b.events.get(b.pos) {
        match ev {
            Event::DocumentStart => {
                b.pos += 1;
                break;
            }
            Event::StreamEnd => return Ok(None),
            _ => b.pos += 1,
        }
    }
    if matches!(
        b.events.get(b.pos),
        Some((Event::DocumentEnd | Event::StreamEnd, _)) | None
    ) {
        return Ok(None);
    }
    let (value, span) = b.node("", 0)?;
    b.spans.insert(String::new(), span);
    // Anything after the first document in a chunk (only possible with `---` inside a
    // flow context or odd spacing) is a second document we do not expect here.
    if let Some((Event::DocumentStart, m)) = b.events.get(b.pos + 1) {
        return Err(err_at(
            Some(m),
            first_line,
            "unexpected second document without a `---` line".into(),
        ));
    }
    Ok(Some(Document {
        value,
        spans: b.spans,
        value_spans: b.value_spans.unwrap_or_default(),
    }))
}

impl Builder<'_> {
    /// The char at char index `i` of the chunk.
    fn ch(&self, i: usize) -> Option<char> {
        match &self.chars {
            Some(c) => c.get(i).copied(),
            None => self.text.as_bytes().get(i).map(|b| char::from(*b)),
        }
    }

    fn pos_of(&self, m: &Marker) -> (usize, usize) {
        (m.line() + self.first_line - 1, m.col() + 1)
    }

    fn span_from(&self, m: &Marker, end: (usize, usize)) -> Span {
        let (l, c) = self.pos_of(m);
        Span {
            start_line: l,
            start_column: c,
            end_line: end.0,
            end_column: end.1,
        }
    }

    /// (line, column) just after the scalar that starts at `m`.
    fn scalar_end(&self, m: &Marker, style: TScalarStyle, value: &str) -> (usize, usize) {
        let (line, col) = self.pos_of(m);
        // Char index of the scalar's first char, from its line and column (yaml-rust2's
        // own `index` drifts from the char count after some non-ASCII text).
        let idx = self
            .line_starts
            .get(m.line().wrapping_sub(1))
            .map_or(m.index(), |s| s + m.col());
        let line_end = |l: usize| -> usize {
            // exclusive end column of chunk line `l` (1-based within the chunk)
            let s = self.line_starts.get(l - 1).copied().unwrap_or(0);
            let e = self
                .line_starts
                .get(l)
                .map(|n| n.saturating_sub(1))
                .unwrap_or(self.n_chars);
            let mut e = e.max(s);
            while e > s && matches!(self.ch(e - 1), Some('\r')) {
                e -= 1;
            }
            e - s + 1
        };
        match style {
            TScalarStyle::Plain => {
                // A plain scalar continued on more lines ends with the last line whose
                // text it holds: walk the lines, consuming the folded value.
                let first = m.line();
                let t = self.line_text(first);
                let from = t.char_indices().nth(m.col()).map_or(t.len(), |(i, _)| i);
                let head = t.get(from..).unwrap_or_default();
                let head = match head.find(" #") {
                    Some(i) => head.get(..i).unwrap_or_default(),
                    None => head,
                }
                .trim_end_matches([' ', '\n', '\r']);
                let mut rest = value.strip_prefix(head).unwrap_or_default();
                let mut last = first;
                let mut l = first + 1;
                while !rest.is_empty() && l <= self.line_starts.len() {
                    let lt = self.line_text(l);
                    let lt = lt.trim();
                    l += 1;
                    if lt.is_empty() {
                        continue;
                    }
                    let r = rest.trim_start_matches([' ', '\n']);
                    match r.strip_prefix(lt) {
                        Some(r) => {
                            rest = r;
                            last = l - 1;
                        }
                        None => break,
                    }
                }
                if last == first {
                    (line, col + value.chars().count())
                } else {
                    (last + self.first_line - 1, line_end(last))
                }
            }
            TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted => {
                let q = if style == TScalarStyle::DoubleQuoted {
                    '"'
                } else {
                    '\''
                };
                let mut i = idx + 1;
                let mut l = m.line();
                let mut lc = m.col() + 1; // column of chars[i] in chunk line l (0-based)
                while let Some(c) = self.ch(i) {
                    if c == '\\' && q == '"' {
                        if self.ch(i + 1) == Some('\n') {
                            // An escaped line break.
                            i += 2;
                            l += 1;
                            lc = 0;
                            continue;
                        }
                        i += 2;
                        lc += 2;
                        continue;
                    }
                    if c == q {
                        if q == '\'' && self.ch(i + 1) == Some('\'') {
                            i += 2;
                            lc += 2;
                            continue;
                        }
                        return (l + self.first_line - 1, lc + 2);
                    }
                    if c == '\n' {
                        l += 1;
                        lc = 0;
                    } else {
                        lc += 1;
                    }
                    i += 1;
                }
                (line, line_end(m.line()))
            }
            TScalarStyle::Literal | TScalarStyle::Folded => {
                let (l, _) = self.block_bounds(m, value.trim().is_empty());
                (l + self.first_line - 1, line_end(l))
            }
        }
    }

    fn line_text(&self, l: usize) -> std::borrow::Cow<'_, str> {
        let s = self
            .line_starts
            .get(l.wrapping_sub(1))
            .copied()
            .unwrap_or(0);
        let e = self.line_starts.get(l).copied().unwrap_or(self.n_chars);
        match &self.chars {
            None => std::borrow::Cow::Borrowed(self.text.get(s..e).unwrap_or_default()),
            Some(chars) => std::borrow::Cow::Owned(
                chars
                    .get(s..e)
                    .map(|c| c.iter().collect())
                    .unwrap_or_default(),
            ),
        }
    }

    /// For a block scalar whose event marker `m` is at its first content line:
    /// (last content line, (indicator line, indicator column)), chunk-relative.
    fn block_bounds(&self, m: &Marker, empty: bool) -> (usize, (usize, usize)) {
        // Asked twice per block scalar (its end, then its start): computed once.
        if let Some((idx, r)) = self.last_block.get() {
            if idx == m.index() {
                return r;
            }
        }
        let r = self.block_bounds_uncached(m, empty);
        self.last_block.set(Some((m.index(), r)));
        r
    }

    fn block_bounds_uncached(&self, m: &Marker, empty: bool) -> (usize, (usize, usize)) {
        let indent_of = |t: &str| t.chars().take_while(|c| *c == ' ').count();
        let first = m.line().min(self.line_starts.len()).max(1);
        // The indicator (`|`, `>-`, `|+2` …) is on the nearest line above the first
        // content line (a content line may end in `>` or `|` itself: HTML, pipes).
        let mut ind_line = first;
        let mut ind_col = m.col() + 1;
        let mut l = if empty { first } else { first - 1 };
        while l >= 1 {
            let t = self.line_text(l);
            let code = match t.as_bytes().windows(2).position(|w| w == b" #") {
                Some(i) => t.get(..i).unwrap_or_default(),
                None => &t,
            }
            .trim_end();
            let ind = code.trim_end_matches(|c: char| c == '-' || c == '+' || c.is_ascii_digit());
            if ind.ends_with('|') || ind.ends_with('>') {
                ind_line = l;
                ind_col = ind.chars().count();
                break;
            }
            l -= 1;
        }
        if ind_line == first {
            // Empty block (`key: |` followed by a less indented line).
            return (first, (ind_line, ind_col));
        }
        let content_indent = indent_of(&self.line_text(first));
        let mut end = first;
        let mut l = first;
        while l <= self.line_starts.len() {
            let t = self.line_text(l);
            if t.trim().is_empty() {
                l += 1;
                continue;
            }
            if indent_of(&t) < content_indent || content_indent == 0 && l > first {
                break;
            }
            end = l;
            l += 1;
        }
        (end, (ind_line, ind_col))
    }

    fn count_nodes(&mut self, n: usize, m: &Marker) -> Result<(), YamlError> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > self.limits.max_nodes {
            return Err(err_at(
                Some(m),
                self.first_line,
                format!(
                    "document expands to more than {} nodes (alias bomb?); not loaded",
                    self.limits.max_nodes
                ),
            ));
        }
        Ok(())
    }

    fn next(&mut self) -> Result<(Event, Marker), YamlError> {
        let Some((ev, m)) = self
            .events
            .get_mut(self.pos)
            .map(|(e, m)| (std::mem::replace(e, Event::Nothing), *m))
        else {
            return Err(err_at(
                None,
                self.first_line,
                "unexpected end of document".into(),
            ));
        };
        self.pos += 1;
        Ok((ev, m))
    }

    /// Build the node at the cursor, recording spans under `path`.
    fn node(&mut self, path: &str, depth: usize) -> Result<(Value, Span), YamlError> {
        if depth > self.limits.max_depth {
            return Err(err_at(
                self.events.get(self.pos).map(|e| &e.1),
                self.first_line,
                format!("nesting deeper than {} levels", self.limits.max_depth),
            ));
        }
        let (ev, m) = self.next()?;
        match ev {
            Event::Scalar(s, style, anchor, tag) => {
                self.count_nodes(1, &m)?;
                let end = self.scalar_end(&m, style, &s);
                let mut span = self.span_from(&m, end);
                if matches!(style, TScalarStyle::Literal | TScalarStyle::Folded) {
                    let (_, (l, c)) = self.block_bounds(&m, s.trim().is_empty());
                    span.start_line = l + self.first_line - 1;
                    span.start_column = c;
                }
                let v = match self.scalars {
                    Scalars::Kubernetes => resolve_scalar(s, style, tag.as_ref()),
                    Scalars::Text => text_scalar(s, style),
                    Scalars::Core => core_scalar(s, style, tag.as_ref()),
                };
                if anchor > 0 {
                    self.anchors.insert(
                        anchor,
                        Anchored {
                            value: v.clone(),
                            spans: BTreeMap::from([(String::new(), span)]),
                            nodes: 1,
                        },
                    );
                }
                Ok((v, span))
            }
            Event::Alias(id) => {
                let Some(a) = self.anchors.get(&id) else {
                    return Err(err_at(
                        Some(&m),
                        self.first_line,
                        "alias to an unknown anchor".into(),
                    ));
                };
                let n = a.nodes;
                self.count_nodes(n, &m)?;
                let Some(a) = self.anchors.get(&id) else {
                    return Err(err_at(
                        Some(&m),
                        self.first_line,
                        "alias to an unknown anchor".into(),
                    ));
                };
                let value = a.value.clone();
                // Inner spans are copied for small anchors only (a few thousand fields
                // per document), so repeated large aliases stay cheap.
                let copy = a.spans.len() <= 4096 && self.alias_spans + a.spans.len() <= 65_536;
                let rel: Vec<(String, Span)> = if copy {
                    a.spans
                        .iter()
                        .filter(|(k, _)| !k.is_empty())
                        .map(|(k, s)| (k.clone(), *s))
                        .collect()
                } else {
                    Vec::new()
                };
                self.alias_spans += rel.len();
                let end = self.pos_of(&m);
                let span = self.span_from(&m, (end.0, end.1 + 1));
                for (k, s) in rel {
                    let key = if path.is_empty() {
                        k.strip_prefix('.').unwrap_or(&k).to_string()
                    } else {
                        format!("{path}{k}")
                    };
                    self.spans.insert(key, s);
                }
                Ok((value, span))
            }
            Event::SequenceStart(anchor, _) => {
                self.count_nodes(1, &m)?;
                let nodes_before = self.nodes;
                let mut items = Vec::new();
                let mut last_end = self.pos_of(&m);
                loop {
                    if matches!(self.events.get(self.pos), Some((Event::SequenceEnd, _))) {
                        let (_, em) = self.next()?;
                        if items.is_empty() {
                            let p = self.pos_of(&em);
                            last_end = (p.0, p.1 + 1);
                        }
                        break;
                    }
                    let p = join_index(path, items.len());
                    let (v, s) = self.node(&p, depth + 1)?;
                    self.spans.insert(p, s);
                    last_end = (s.end_line, s.end_column);
                    items.push(v);
                }
                let span = self.span_from(&m, last_end);
                let v = Value::Array(items);
                if anchor > 0 {
                    self.remember(anchor, path, &v, span, self.nodes - nodes_before + 1);
                }
                Ok((v, span))
            }
            Event::MappingStart(anchor, _) => {
                self.count_nodes(1, &m)?;
                let nodes_before = self.nodes;
                let mut map = Map::new();
                let mut merges: Vec<(Value, Span)> = Vec::new();
                let mut last_end = self.pos_of(&m);
                // Block mappings are announced at their first `:`; start at the first key.
                let mut first_key: Option<(usize, usize)> = None;
                loop {
                    if matches!(self.events.get(self.pos), Some((Event::MappingEnd, _))) {
                        let (_, em) = self.next()?;
                        if map.is_empty() && merges.is_empty() {
                            let p = self.pos_of(&em);
                            last_end = (p.0, p.1 + 1);
                        }
                        break;
                    }
                    // Key: scalar text (complex keys are rendered as JSON text).
                    let key_marker = self.events.get(self.pos).map(|e| e.1);
                    let is_merge = matches!(
                        self.events.get(self.pos),
                        Some((Event::Scalar(k, TScalarStyle::Plain, _, _), _)) if k == "<<"
                    );
                    // Scalar keys keep their text (`y:`, `on:` stay strings, as every
                    // Kubernetes field name is); complex keys are rendered as JSON text.
                    let key =
                        if let Some((Event::Scalar(k, ..), km)) = self.events.get_mut(self.pos) {
                            let (k, km) = (std::mem::take(k), *km);
                            self.pos += 1;
                            self.count_nodes(1, &km)?;
                            k
                        } else {
                            self.complex_keys = true;
                            let (kv, _) = self.node("\u{0}key", depth + 1)?;
                            match kv {
                                Value::String(s) => s,
                                Value::Null => String::new(),
                                other => other.to_string(),
                            }
                        };
                    let p = join_key(path, &key);
                    let (v, s) = self.node(&p, depth + 1)?;
                    if let Some(vs) = &mut self.value_spans {
                        vs.insert(p.clone(), s);
                    }
                    let start = key_marker
                        .map(|km| self.pos_of(&km))
                        .unwrap_or((s.start_line, s.start_column));
                    let entry = Span {
                        start_line: start.0,
                        start_column: start.1,
                        end_line: s.end_line,
                        end_column: s.end_column,
                    };
                    last_end = (s.end_line, s.end_column);
                    if first_key.is_none() {
                        first_key = Some(start);
                    }
                    if is_merge {
                        merges.push((v, entry));
                        continue;
                    }
                    if self.reject_duplicate_keys && map.contains_key(&key) {
                        return Err(err_at(
                            key_marker.as_ref(),
                            self.first_line,
                            format!("duplicate key `{key}`"),
                        ));
                    }
                    self.spans.insert(p, entry);
                    map.insert(key, v);
                }
                // Merge keys: entries of the merged maps that the map does not set.
                for (mv, mspan) in merges {
                    let sources = match mv {
                        Value::Object(o) => vec![o],
                        Value::Array(a) => a
                            .into_iter()
                            .filter_map(|x| match x {
                                Value::Object(o) => Some(o),
                                _ => None,
                            })
                            .collect(),
                        _ => Vec::new(),
                    };
                    for src in sources {
                        for (k, v) in src {
                            if !map.contains_key(&k) {
                                let p = join_key(path, &k);
                                self.spans.entry(p).or_insert(mspan);
                                map.insert(k, v);
                            }
                        }
                    }
                }
                // Drop spans recorded for complex keys themselves.
                if self.complex_keys {
                    self.spans.retain(|k, _| !k.starts_with('\u{0}'));
                    self.complex_keys = false;
                }
                let mut span = self.span_from(&m, last_end);
                if let Some((l, c)) = first_key {
                    if (l, c) < (span.start_line, span.start_column) {
                        span.start_line = l;
                        span.start_column = c;
                    }
                }
                let v = Value::Object(map);
                if anchor > 0 {
                    self.remember(anchor, path, &v, span, self.nodes - nodes_before + 1);
                }
                Ok((v, span))
            }
            other => Err(err_at(
                Some(&m),
                self.first_line,
                format!("unexpected YAML event {other:?}"),
            )),
        }
    }

    fn remember(&mut self, anchor: usize, path: &str, v: &Value, span: Span, nodes: usize) {
        let mut rel = if path.is_empty() {
            self.spans
                .iter()
                .map(|(k, s)| {
                    (
                        if k.starts_with('[') {
                            k.clone()
                        } else {
                            format!(".{k}")
                        },
                        *s,
                    )
                })
                .collect::<BTreeMap<_, _>>()
        } else {
            let mut r = BTreeMap::new();
            for (k, s) in self.spans.range(path.to_string()..) {
                let Some(rest) = k.strip_prefix(path) else {
                    break;
                };
                if rest.starts_with('.') || rest.starts_with('[') {
                    r.insert(rest.to_string(), *s);
                }
            }
            r
        };
        rel.insert(String::new(), span);
        self.anchors.insert(
            anchor,
            Anchored {
                value: v.clone(),
                spans: rel,
                nodes,
            },
        );
    }
}

/// A scalar in [`Scalars::Text`] mode.
fn text_scalar(s: String, style: TScalarStyle) -> Value {
    if style == TScalarStyle::Plain && matches!(s.as_str(), "" | "~" | "null") {
        Value::Null
    } else {
        Value::String(s)
    }
}

/// A scalar in [`Scalars::Core`] mode (YAML 1.2 core schema).
fn core_scalar(s: String, style: TScalarStyle, tag: Option<&Tag>) -> Value {
    if let Some(t) = tag {
        if (t.handle == "!!" || t.handle == "tag:yaml.org,2002:") && t.suffix == "str" {
            return Value::String(s);
        }
    }
    if style != TScalarStyle::Plain {
        return Value::String(s);
    }
    match s.as_str() {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let (neg, digits) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(&s)),
    };
    let int = if let Some(h) = digits.strip_prefix("0x") {
        i64::from_str_radix(h, 16).ok()
    } else if let Some(o) = digits.strip_prefix("0o") {
        i64::from_str_radix(o, 8).ok()
    } else if !digits.is_empty() && digits.bytes().all(|c| c.is_ascii_digit()) {
        digits.parse::<i64>().ok()
    } else {
        None
    };
    if let Some(n) = int {
        return Value::Number(Number::from(if neg { -n } else { n }));
    }
    let float_like = digits.bytes().any(|c| c.is_ascii_digit())
        && digits
            .bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'-' | b'+'));
    if float_like {
        if let Some(n) = s.parse::<f64>().ok().and_then(Number::from_f64) {
            return Value::Number(n);
        }
    }
    Value::String(s)
}

/// Resolve a scalar as Kubernetes' YAML reader (go-yaml v2 via sigs.k8s.io/yaml) does.
fn resolve_scalar(s: String, style: TScalarStyle, tag: Option<&Tag>) -> Value {
    if let Some(t) = tag {
        if t.handle == "!!" || t.handle == "tag:yaml.org,2002:" {
            match t.suffix.as_str() {
                "str" => return Value::String(s),
                "null" => return Value::Null,
                "bool" | "int" | "float" => return resolve_plain(s),
                _ => {}
            }
        }
        return Value::String(s);
    }
    if style != TScalarStyle::Plain {
        return Value::String(s);
    }
    resolve_plain(s)
}

/// Resolve a plain scalar's text as Kubernetes' YAML reader does (YAML 1.1 booleans,
/// octal, hex, floats; everything else a string).
#[inline]
pub fn resolve_plain(s: String) -> Value {
    match s.as_str() {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" | "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => {
            return Value::Bool(true)
        }
        "false" | "False" | "FALSE" | "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => {
            return Value::Bool(false)
        }
        _ => {}
    }
    let b = s.as_bytes();
    let first = b.first().copied().unwrap_or(b'x');
    if !(first.is_ascii_digit() || first == b'-' || first == b'+' || first == b'.') {
        return Value::String(s);
    }
    let clean: std::borrow::Cow<'_, str> = if s.contains('_') {
        s.chars().filter(|c| *c != '_').collect::<String>().into()
    } else {
        s.as_str().into()
    };
    let (neg, digits) = match clean.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, clean.strip_prefix('+').unwrap_or(clean.as_ref())),
    };
    let parsed = if let Some(h) = digits.strip_prefix("0x") {
        i64::from_str_radix(h, 16).ok()
    } else if let Some(o) = digits.strip_prefix("0o") {
        i64::from_str_radix(o, 8).ok()
    } else if digits.len() > 1
        && digits.starts_with('0')
        && digits.bytes().all(|c| c.is_ascii_digit())
    {
        i64::from_str_radix(digits, 8).ok()
    } else if !digits.is_empty() && digits.bytes().all(|c| c.is_ascii_digit()) {
        digits.parse::<i64>().ok()
    } else {
        None
    };
    if let Some(n) = parsed {
        return Value::Number(Number::from(if neg { -n } else { n }));
    }
    if !digits.is_empty() && digits.bytes().all(|c| c.is_ascii_digit()) {
        // Too large for i64: keep as float like go-yaml.
        if let Ok(f) = clean.parse::<f64>() {
            if let Some(n) = Number::from_f64(f) {
                return Value::Number(n);
            }
        }
    }
    let looks_float = digits
        .bytes()
        .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'-' | b'+'))
        && digits.bytes().any(|c| c.is_ascii_digit());
    if looks_float {
        if let Ok(f) = clean.parse::<f64>() {
            if let Some(n) = Number::from_f64(f) {
                return Value::Number(n);
            }
        }
    }
    Value::String(s)
}
