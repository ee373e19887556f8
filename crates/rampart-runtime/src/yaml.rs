//! A small YAML document model that keeps the line and column of every node, so rule
//! file errors can point at `file:line:column`. Built from the one YAML loader
//! ([`rampart_yaml`]), with its limits: an alias bomb or a 100,000-deep nesting is an
//! error with a line, not gigabytes.

use rampart_core::Span;
use rampart_yaml::{join_index, join_key, Document, Options, Scalars};
use serde_json::Value;

/// A position in a source file (1-based line and column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

impl Pos {
    fn start_of(s: &Span) -> Pos {
        Pos {
            line: s.start_line,
            column: s.start_column,
        }
    }
}

/// A YAML node with its position.
#[derive(Debug, Clone)]
pub struct Node {
    /// Where the node starts.
    pub pos: Pos,
    /// The node's value.
    pub kind: NodeKind,
}

/// The value of a [`Node`].
#[derive(Debug, Clone)]
pub enum NodeKind {
    /// A scalar; `plain` is true when it was written without quotes (so `true`, `15`
    /// and `~` keep their YAML meaning).
    Scalar {
        /// The text.
        value: String,
        /// Whether it was unquoted.
        plain: bool,
    },
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in source order.
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The scalar text, if this is a scalar (a plain `~`/`null` counts as none).
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar { value, plain } => {
                if *plain && (value == "~" || value == "null" || value.is_empty()) {
                    None
                } else {
                    Some(value)
                }
            }
            _ => None,
        }
    }

    /// Whether this is a null scalar.
    pub fn is_null(&self) -> bool {
        matches!(&self.kind, NodeKind::Scalar { value, plain: true } if value == "~" || value == "null" || value.is_empty())
    }

    /// A boolean scalar.
    pub fn as_bool(&self) -> Option<bool> {
        match &self.kind {
            NodeKind::Scalar { value, .. } => match value.as_str() {
                "true" | "True" | "TRUE" | "yes" | "Yes" | "on" => Some(true),
                "false" | "False" | "FALSE" | "no" | "No" | "off" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }

    /// The entries, if this is a mapping.
    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.kind {
            NodeKind::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The items, if this is a sequence.
    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.kind {
            NodeKind::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// Look up a key in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    /// A short name of the node's type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match &self.kind {
            NodeKind::Scalar { .. } if self.is_null() => "null",
            NodeKind::Scalar { .. } => "scalar",
            NodeKind::Seq(_) => "sequence",
            NodeKind::Map(_) => "mapping",
        }
    }
}

/// A YAML syntax error with its position.
#[derive(Debug, Clone)]
pub struct YamlError {
    /// Where.
    pub pos: Pos,
    /// What.
    pub message: String,
}

/// Parse every document of a YAML stream (scalars as text, as yaml-cpp reads them).
///
/// Like yaml-cpp (which Falco uses), this accepts a flow collection whose continuation or
/// closing lines are indented no deeper than its key (`items: [` … `]` at the key's
/// column): such lines are re-indented in one pass over the text and the parse retried
/// (then at most [`MAX_REINDENT_RETRIES`] more times, one line each). Line numbers are
/// unaffected.
pub fn parse(text: &str) -> Result<Vec<Node>, YamlError> {
    let first = match parse_strict(text) {
        Err(e) if e.message.contains("indentation") => e,
        other => return other,
    };
    let mut cur = match reindent_flow_lines(text) {
        Some(fixed) => fixed,
        None => reindent_line(text, first.pos.line).ok_or(first)?,
    };
    for _ in 0..MAX_REINDENT_RETRIES {
        match parse_strict(&cur) {
            Err(e) if e.message.contains("indentation") => {
                let Some(fixed) = reindent_line(&cur, e.pos.line) else {
                    return Err(e);
                };
                cur = fixed;
            }
            other => return other,
        }
    }
    parse_strict(&cur)
}

/// Whole-file re-parses allowed after the one-pass re-indentation (each is linear in the
/// file, so this bounds the work to a small multiple of one parse).
pub const MAX_REINDENT_RETRIES: usize = 16;

/// One pass over `text`: every line that continues a flow collection opened as a value on
/// an earlier line (`items: [`, `- {`) but is indented no deeper than that value's key is
/// indented two columns past the key. `None` when no line changes.
fn reindent_flow_lines(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len() + 64);
    let mut changed = false;
    // The open flow collection: (column of its key, bracket depth), and a quoted scalar
    // left open at the end of the previous line.
    let mut flow: Option<(usize, usize)> = None;
    let mut quote: Option<char> = None;
    for line in text.split_inclusive('\n') {
        let indent = line.len() - line.trim_start_matches(' ').len();
        let body = line.get(indent..).unwrap_or_default();
        let content = !(body.trim().is_empty() || body.starts_with('#'));
        let (key_col, scan_from) = match flow {
            Some((key_col, _)) => {
                if content && quote.is_none() && indent <= key_col {
                    out.extend(std::iter::repeat_n(' ', key_col + 2 - indent));
                    changed = true;
                }
                (key_col, 0)
            }
            None => match flow_value_start(body) {
                Some((key, at)) => (indent + key, at),
                None => {
                    out.push_str(line);
                    continue;
                }
            },
        };
        out.push_str(line);
        let mut depth = flow.map_or(0, |f| f.1);
        let (mut prev, mut escaped) = (' ', false);
        for c in body.get(scan_from..).unwrap_or_default().chars() {
            if let Some(q) = quote {
                if escaped {
                    escaped = false;
                } else if q == '"' && c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
                prev = c;
                continue;
            }
            match c {
                '"' | '\'' if matches!(prev, ' ' | '[' | '{' | ',' | ':') => quote = Some(c),
                '#' if prev == ' ' => break,
                '[' | '{' => depth += 1,
                ']' | '}' => depth = depth.saturating_sub(1),
                _ => {}
            }
            prev = c;
        }
        if depth == 0 {
            quote = None;
        }
        flow = (depth > 0).then_some((key_col, depth));
    }
    changed.then_some(out)
}

/// For a block-context line (without its indentation) whose value starts a flow
/// collection: (column of the key or `-` entry the value belongs to, byte index of the
/// `[` / `{`), both relative to the line's first non-space character.
fn flow_value_start(body: &str) -> Option<(usize, usize)> {
    let mut key = 0;
    while body.get(key..).is_some_and(|r| r.starts_with("- ")) {
        key += 2;
        while body.as_bytes().get(key) == Some(&b' ') {
            key += 1;
        }
    }
    let rest = body.get(key..)?;
    let value = if rest.starts_with(['[', '{']) {
        0
    } else {
        let colon = rest.find(": ")?;
        let after = rest.get(colon + 1..)?;
        colon + 1 + (after.len() - after.trim_start_matches(' ').len())
    };
    rest.get(value..)?
        .starts_with(['[', '{'])
        .then_some((key, key + value))
}

/// Indent line `line` (1-based) by two more spaces if it continues a flow collection
/// (starts with a closing bracket, a quote or a plain item followed by a comma).
fn reindent_line(text: &str, line: usize) -> Option<String> {
    let target = text.split_inclusive('\n').nth(line.checked_sub(1)?)?;
    let body = target.trim_start_matches(' ');
    let first = body.chars().next()?;
    if !matches!(first, ']' | '}' | '"' | '\'' | ',') && !body.trim_end().ends_with(',') {
        return None;
    }
    let mut out = String::with_capacity(text.len() + 2);
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            out.push_str("  ");
        }
        out.push_str(l);
    }
    Some(out)
}

fn parse_strict(text: &str) -> Result<Vec<Node>, YamlError> {
    let opts = Options {
        scalars: Scalars::Text,
        value_spans: true,
        ..Options::default()
    };
    let mut docs = Vec::new();
    for doc in rampart_yaml::load_str(text, &opts) {
        let doc = doc.map_err(|e| YamlError {
            pos: Pos {
                line: e.line.unwrap_or(0),
                column: e.column.unwrap_or(0),
            },
            message: e
                .message
                .strip_prefix("invalid YAML: ")
                .unwrap_or(&e.message)
                .to_string(),
        })?;
        let pos = doc.spans.get("").map(Pos::start_of).unwrap_or_default();
        let Document {
            value,
            spans,
            value_spans,
        } = doc;
        docs.push(to_node(value, "", pos, &spans, &value_spans));
    }
    Ok(docs)
}

/// The node of `value` (at field path `path`, starting at `pos`), its children placed by
/// the loader's spans (in source order; an alias's inner nodes without spans of their
/// own are placed at the alias).
fn to_node(
    value: Value,
    path: &str,
    pos: Pos,
    spans: &std::collections::BTreeMap<String, Span>,
    value_spans: &std::collections::BTreeMap<String, Span>,
) -> Node {
    let scalar = |value: String, plain: bool| Node {
        pos,
        kind: NodeKind::Scalar { value, plain },
    };
    match value {
        Value::Null => scalar(String::new(), true),
        Value::Bool(b) => scalar(b.to_string(), true),
        Value::Number(n) => scalar(n.to_string(), true),
        Value::String(s) => scalar(s, false),
        Value::Array(items) => {
            let items = items
                .into_iter()
                .enumerate()
                .map(|(i, v)| {
                    let p = join_index(path, i);
                    let at = spans.get(&p).map_or(pos, Pos::start_of);
                    to_node(v, &p, at, spans, value_spans)
                })
                .collect();
            Node {
                pos,
                kind: NodeKind::Seq(items),
            }
        }
        Value::Object(map) => {
            let mut entries: Vec<(Node, Node)> = map
                .into_iter()
                .map(|(k, v)| {
                    let p = join_key(path, &k);
                    let key_pos = spans.get(&p).map_or(pos, Pos::start_of);
                    let value_pos = value_spans.get(&p).map_or(key_pos, Pos::start_of);
                    let key = Node {
                        pos: key_pos,
                        kind: NodeKind::Scalar {
                            value: k,
                            plain: false,
                        },
                    };
                    (key, to_node(v, &p, value_pos, spans, value_spans))
                })
                .collect();
            entries.sort_by_key(|(k, _)| (k.pos.line, k.pos.column));
            Node {
                pos,
                kind: NodeKind::Map(entries),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based() {
        let docs = parse("- rule: a\n  condition: x\n- list: b\n  items: [1, \"2\"]\n").unwrap();
        let seq = docs[0].as_seq().unwrap();
        assert_eq!(seq[1].pos.line, 3);
        let items = seq[1].get("items").unwrap().as_seq().unwrap();
        assert_eq!(items[1].as_str(), Some("2"));
        assert_eq!(
            items[0].pos,
            Pos {
                line: 4,
                column: 11
            }
        );
    }

    #[test]
    fn lenient_flow_indentation() {
        let docs =
            parse("- list: a\n  items: [\n    x,\n    y\n  ]\n- list: b\n  items: [z]\n").unwrap();
        let seq = docs[0].as_seq().unwrap();
        assert_eq!(seq[0].get("items").unwrap().as_seq().unwrap().len(), 2);
        assert_eq!(seq[1].pos.line, 6);
    }

    #[test]
    fn lenient_flow_indentation_in_one_pass() {
        // Continuation lines left of the key, nested collections, quotes holding
        // brackets and comments: all fixed without a per-line retry.
        let text =
            "- list: a\n  items: [\n  \"x]\",\n [y, {z: 1}],  # c ]\n]\n- list: b\n  items: [w]\n";
        let fixed = reindent_flow_lines(text).unwrap();
        assert_eq!(
            fixed,
            "- list: a\n  items: [\n    \"x]\",\n    [y, {z: 1}],  # c ]\n    ]\n- list: b\n  items: [w]\n"
        );
        let docs = parse(text).unwrap();
        let seq = docs[0].as_seq().unwrap();
        let items = seq[0].get("items").unwrap().as_seq().unwrap();
        assert_eq!(items[0].as_str(), Some("x]"));
        assert_eq!(items.len(), 2);
        assert_eq!(seq[1].pos.line, 6);
        // A sequence entry's key column counts its `- `.
        let docs = parse("- items: [\n  a,\n  b\n]\n").unwrap();
        assert_eq!(
            docs[0].as_seq().unwrap()[0]
                .get("items")
                .unwrap()
                .as_seq()
                .unwrap()
                .len(),
            2
        );
        // Brackets inside plain scalars of block context are text.
        assert_eq!(reindent_flow_lines("a: b[0]\nc: d\n"), None);
    }

    #[test]
    fn deep_nesting_is_an_error() {
        let text = "[".repeat(100_000) + &"]".repeat(100_000);
        assert!(parse(&text).is_err());
    }

    #[test]
    fn alias_bomb_is_an_error_not_gigabytes() {
        let mut text =
            String::from("- list: l0\n  items: &a0 [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n");
        for i in 1..9 {
            let refs = vec![format!("*a{}", i - 1); 9].join(",");
            text.push_str(&format!("- list: l{i}\n  items: &a{i} [{refs}]\n"));
        }
        let e = parse(&text).unwrap_err();
        assert!(e.message.contains("alias bomb"), "{e:?}");
        assert!(e.pos.line >= 2, "{e:?}");
    }

    #[test]
    fn map_entries_keep_source_order_and_value_positions() {
        let docs = parse("- rule: r\n  desc: d\n  condition: >\n    a and b\n").unwrap();
        let r = &docs[0].as_seq().unwrap()[0];
        let keys: Vec<_> = r
            .as_map()
            .unwrap()
            .iter()
            .map(|(k, _)| k.as_str().unwrap())
            .collect();
        assert_eq!(keys, ["rule", "desc", "condition"]);
        let c = r.get("condition").unwrap();
        assert_eq!(
            c.pos,
            Pos {
                line: 3,
                column: 14
            }
        );
        assert_eq!(r.get("desc").unwrap().pos, Pos { line: 2, column: 9 });
    }

    #[test]
    fn syntax_error_has_position() {
        let e = parse("- a: [1, 2\n- b").unwrap_err();
        assert!(e.pos.line >= 1, "{e:?}");
    }
}
