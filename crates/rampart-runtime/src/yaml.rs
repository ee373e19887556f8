//! A small YAML document model that keeps the line and column of every node, so rule
//! file errors can point at `file:line:column`.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// A position in a source file (1-based line and column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

impl Pos {
    fn from_marker(m: Marker) -> Pos {
        Pos {
            line: m.line(),
            column: m.col() + 1,
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

enum Frame {
    Seq(Pos, usize, Vec<Node>),
    Map(Pos, usize, Vec<(Node, Node)>, Option<Node>),
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    docs: Vec<Node>,
    anchors: HashMap<usize, Node>,
    error: Option<YamlError>,
    overflow: usize,
}

const MAX_DEPTH: usize = 256;

impl Builder {
    fn push_value(&mut self, node: Node) {
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some(Frame::Seq(_, _, items)) => items.push(node),
            Some(Frame::Map(_, _, entries, key)) => match key.take() {
                None => *key = Some(node),
                Some(k) => entries.push((k, node)),
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let pos = Pos::from_marker(mark);
        match ev {
            Event::Scalar(value, style, anchor, _tag) => {
                let node = Node {
                    pos,
                    kind: NodeKind::Scalar {
                        value,
                        plain: style == TScalarStyle::Plain,
                    },
                };
                if anchor > 0 {
                    self.anchors.insert(anchor, node.clone());
                }
                self.push_value(node);
            }
            Event::SequenceStart(..) | Event::MappingStart(..) if self.stack.len() >= MAX_DEPTH => {
                if self.error.is_none() {
                    self.error = Some(YamlError {
                        pos,
                        message: format!("nested deeper than {MAX_DEPTH} levels"),
                    });
                }
                self.overflow += 1;
            }
            Event::SequenceEnd | Event::MappingEnd if self.overflow > 0 => self.overflow -= 1,
            Event::SequenceStart(anchor, _) => self.stack.push(Frame::Seq(pos, anchor, Vec::new())),
            Event::MappingStart(anchor, _) => {
                self.stack.push(Frame::Map(pos, anchor, Vec::new(), None))
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let node = match self.stack.pop() {
                    Some(Frame::Seq(p, anchor, items)) => {
                        let n = Node {
                            pos: p,
                            kind: NodeKind::Seq(items),
                        };
                        if anchor > 0 {
                            self.anchors.insert(anchor, n.clone());
                        }
                        n
                    }
                    Some(Frame::Map(p, anchor, entries, _)) => {
                        // Block mappings are reported where their first key starts.
                        let p = entries.first().map_or(p, |(k, _)| k.pos);
                        let n = Node {
                            pos: p,
                            kind: NodeKind::Map(entries),
                        };
                        if anchor > 0 {
                            self.anchors.insert(anchor, n.clone());
                        }
                        n
                    }
                    None => return,
                };
                self.push_value(node);
            }
            Event::Alias(id) => match self.anchors.get(&id).cloned() {
                Some(n) => self.push_value(n),
                None => {
                    if self.error.is_none() {
                        self.error = Some(YamlError {
                            pos,
                            message: "unknown alias".into(),
                        });
                    }
                    self.push_value(Node {
                        pos,
                        kind: NodeKind::Scalar {
                            value: String::new(),
                            plain: true,
                        },
                    });
                }
            },
            _ => {}
        }
    }
}

/// Parse every document of a YAML stream.
///
/// Like yaml-cpp (which Falco uses), this accepts a flow collection whose closing line is
/// indented no deeper than its key (`items: [` … `]` at the key's column): such lines are
/// re-indented and the parse retried. Line numbers are unaffected.
pub fn parse(text: &str) -> Result<Vec<Node>, YamlError> {
    let mut owned: Option<String> = None;
    for _ in 0..10_000 {
        let cur = owned.as_deref().unwrap_or(text);
        match parse_strict(cur) {
            Err(e) if e.message.contains("indentation") => {
                let Some(fixed) = reindent_line(cur, e.pos.line) else {
                    return Err(e);
                };
                owned = Some(fixed);
            }
            other => return other,
        }
    }
    parse_strict(owned.as_deref().unwrap_or(text))
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
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut builder, true).map_err(|e| YamlError {
        pos: Pos::from_marker(*e.marker()),
        message: e.info().to_string(),
    })?;
    if let Some(e) = builder.error {
        return Err(e);
    }
    Ok(builder.docs)
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
    fn deep_nesting_is_an_error() {
        let text = "[".repeat(100_000) + &"]".repeat(100_000);
        assert!(parse(&text).is_err());
    }

    #[test]
    fn syntax_error_has_position() {
        let e = parse("- a: [1, 2\n- b").unwrap_err();
        assert!(e.pos.line >= 1, "{e:?}");
    }
}
