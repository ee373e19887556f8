//! Terraform's JSON syntax (`*.tf.json`, what CDKTF and generators write) → the same
//! [`Block`] tree as HCL, with lines, so every Terraform rule applies unchanged.
//!
//! The mapping follows Terraform's JSON configuration syntax: top-level `resource` and
//! `data` nest `TYPE → NAME → body`; `provider`, `module`, `variable` and `output` nest
//! `NAME → body`; `locals` and `terraform` are bodies; a body may also be an array of
//! bodies (repeated blocks). Inside a body Terraform decides block or attribute by the
//! provider schema, which Rampart does not have, so: an object is a nested block and an
//! array of objects is a repeated block, except maps of plain values under known map
//! attribute names (`labels`, `tags`, `selector` …), which stay attributes. Keys named
//! `//` are comments and skipped. Strings keep `${…}` interpolation as is, which the
//! rules already treat as unresolved expressions.

use super::hcl::{Attr, Block, MAX_NESTING};
use serde_json::Value;

/// A JSON value with the line of each object key and array element.
enum Node {
    Obj(Vec<(String, usize, Node)>, usize),
    Arr(Vec<(usize, Node)>),
    Scalar(Value),
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
}

type Error = (Option<usize>, String);

impl Parser<'_> {
    fn ws(&mut self) {
        let b = self.text.as_bytes();
        while let Some(&c) = b.get(self.pos) {
            match c {
                b'\n' => self.line += 1,
                b' ' | b'\t' | b'\r' => {}
                _ => break,
            }
            self.pos += 1;
        }
    }

    fn err(&self, what: &str) -> Error {
        (Some(self.line), format!("invalid JSON: {what}"))
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn eat(&mut self, c: u8) -> Result<(), Error> {
        self.ws();
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.err(&format!("expected `{}`", c as char)))
        }
    }

    /// The end of the string token starting at `self.pos` (on its opening quote).
    fn string_end(&self) -> Result<usize, Error> {
        let b = self.text.as_bytes();
        let mut i = self.pos + 1;
        while let Some(&c) = b.get(i) {
            match c {
                b'"' => return Ok(i + 1),
                b'\\' => i += 2,
                _ => i += 1,
            }
        }
        Err(self.err("unterminated string"))
    }

    fn string(&mut self) -> Result<String, Error> {
        self.ws();
        if self.peek() != Some(b'"') {
            return Err(self.err("expected a string"));
        }
        let end = self.string_end()?;
        let s = serde_json::from_str::<String>(&self.text[self.pos..end])
            .map_err(|e| self.err(&e.to_string()))?;
        self.pos = end;
        Ok(s)
    }

    fn value(&mut self, depth: usize) -> Result<Node, Error> {
        if depth > MAX_NESTING {
            return Err(self.err(&format!("nesting deeper than {MAX_NESTING} levels")));
        }
        self.ws();
        match self.peek() {
            Some(b'{') => {
                self.pos += 1;
                let mut members = Vec::new();
                self.ws();
                if self.peek() == Some(b'}') {
                    self.pos += 1;
                    return Ok(Node::Obj(members, self.line));
                }
                loop {
                    self.ws();
                    let line = self.line;
                    let key = self.string()?;
                    self.eat(b':')?;
                    let v = self.value(depth + 1)?;
                    members.push((key, line, v));
                    self.ws();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b'}') => {
                            self.pos += 1;
                            return Ok(Node::Obj(members, self.line));
                        }
                        _ => return Err(self.err("expected `,` or `}`")),
                    }
                }
            }
            Some(b'[') => {
                self.pos += 1;
                let mut items = Vec::new();
                self.ws();
                if self.peek() == Some(b']') {
                    self.pos += 1;
                    return Ok(Node::Arr(items));
                }
                loop {
                    self.ws();
                    let line = self.line;
                    items.push((line, self.value(depth + 1)?));
                    self.ws();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(Node::Arr(items));
                        }
                        _ => return Err(self.err("expected `,` or `]`")),
                    }
                }
            }
            Some(b'"') => Ok(Node::Scalar(Value::String(self.string()?))),
            Some(_) => {
                let b = self.text.as_bytes();
                let start = self.pos;
                while b.get(self.pos).is_some_and(|c| {
                    !matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n')
                }) {
                    self.pos += 1;
                }
                serde_json::from_str::<Value>(&self.text[start..self.pos])
                    .map(Node::Scalar)
                    .map_err(|_| self.err("expected a value"))
            }
            None => Err(self.err("unexpected end of input")),
        }
    }
}

impl Node {
    fn to_json(&self) -> Value {
        match self {
            Node::Obj(m, _) => Value::Object(
                m.iter()
                    .filter(|(k, _, _)| k != "//")
                    .map(|(k, _, v)| (k.clone(), v.to_json()))
                    .collect(),
            ),
            Node::Arr(a) => Value::Array(a.iter().map(|(_, v)| v.to_json()).collect()),
            Node::Scalar(v) => v.clone(),
        }
    }
}

/// Attribute names whose value is a map with user keys, in the providers' schemas.
fn is_map_attr(key: &str) -> bool {
    matches!(
        key,
        "labels"
            | "annotations"
            | "tags"
            | "tags_all"
            | "default_tags"
            | "resource_labels"
            | "node_labels"
            | "node_selector"
            | "match_labels"
            | "selector"
            | "limits"
            | "requests"
            | "data"
            | "binary_data"
            | "string_data"
            | "metadata_options"
            | "environment"
            | "variables"
            | "parameters"
            | "values"
    )
}

/// Whether `v` is a map of plain values (an attribute, not a block).
fn is_plain_map(key: &str, members: &[(String, usize, Node)]) -> bool {
    is_map_attr(key) && members.iter().all(|(_, _, v)| matches!(v, Node::Scalar(_)))
}

/// Fill `out` from a body object.
fn body(node: &Node, out: &mut Block) {
    let Node::Obj(members, end) = node else {
        return;
    };
    out.end_line = (*end).max(out.line);
    for (key, line, v) in members {
        if key == "//" {
            continue;
        }
        match v {
            Node::Obj(m, _) if !is_plain_map(key, m) => {
                out.blocks.push(block(key, Vec::new(), *line, v));
            }
            Node::Arr(items)
                if !items.is_empty() && items.iter().all(|(_, i)| matches!(i, Node::Obj(..))) =>
            {
                for (l, item) in items {
                    out.blocks.push(block(key, Vec::new(), *l, item));
                }
            }
            _ => {
                let value = v.to_json();
                out.attrs.push(Attr {
                    key: key.clone(),
                    expr: super::eval::json_expr(&value),
                    value,
                    line: *line,
                })
            }
        }
    }
}

fn block(ident: &str, labels: Vec<String>, line: usize, node: &Node) -> Block {
    let mut b = Block {
        ident: ident.to_string(),
        labels,
        line,
        end_line: line,
        ..Block::default()
    };
    body(node, &mut b);
    b
}

/// Blocks for `node` (a body or an array of bodies).
fn bodies(ident: &str, labels: Vec<String>, line: usize, node: &Node, out: &mut Block) {
    match node {
        Node::Arr(items) => {
            for (l, item) in items {
                out.blocks.push(block(ident, labels.clone(), *l, item));
            }
        }
        _ => out.blocks.push(block(ident, labels, line, node)),
    }
}

/// Parse a `.tf.json` file into the HCL block tree.
pub fn parse(text: &str) -> Result<Block, (Option<usize>, String)> {
    // serde_json first: its messages and positions are the precise ones.
    if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(text) {
        return Err((Some(e.line()), format!("invalid JSON: {e}")));
    }
    let mut p = Parser {
        text,
        pos: 0,
        line: 1,
    };
    let root = p.value(0)?;
    let Node::Obj(members, end) = &root else {
        return Err((Some(1), "a Terraform JSON file must hold an object".into()));
    };
    let mut out = Block {
        line: 1,
        end_line: *end,
        ..Block::default()
    };
    for (key, line, v) in members {
        match (key.as_str(), v) {
            ("//", _) => {}
            ("resource" | "data", Node::Obj(types, _)) => {
                for (rtype, _, names) in types {
                    if let Node::Obj(names, _) = names {
                        for (name, l, b) in names {
                            bodies(key, vec![rtype.clone(), name.clone()], *l, b, &mut out);
                        }
                    }
                }
            }
            ("provider" | "module" | "variable" | "output", Node::Obj(names, _)) => {
                for (name, l, b) in names {
                    bodies(key, vec![name.clone()], *l, b, &mut out);
                }
            }
            ("locals" | "terraform", _) => bodies(key, Vec::new(), *line, v, &mut out),
            _ => out.attrs.push(Attr {
                key: key.clone(),
                value: v.to_json(),
                line: *line,
                expr: None,
            }),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const EKS: &str = r#"{
  "//": "generated by cdktf",
  "provider": {"aws": [{"region": "eu-west-1"}]},
  "resource": {
    "aws_eks_cluster": {
      "main": {
        "name": "prod",
        "role_arn": "${aws_iam_role.eks.arn}",
        "tags": {"team": "platform"},
        "vpc_config": {
          "subnet_ids": ["subnet-1", "subnet-2"],
          "endpoint_public_access": true
        },
        "encryption_config": [
          {"resources": ["secrets"], "provider": {"key_arn": "arn:aws:kms:k"}}
        ]
      }
    }
  }
}"#;

    #[test]
    fn blocks_attributes_and_lines() {
        let root = parse(EKS).unwrap();
        let provider = root.blocks_named("provider").next().unwrap();
        assert_eq!(provider.labels, ["aws"]);
        assert_eq!(provider.line, 3);
        let res = root.blocks_named("resource").next().unwrap();
        assert_eq!(res.labels, ["aws_eks_cluster", "main"]);
        assert_eq!((res.line, res.end_line), (6, 17));
        assert_eq!(
            res.attr("role_arn").unwrap().value,
            "${aws_iam_role.eks.arn}"
        );
        // A map of plain values under a map-attribute name stays an attribute.
        assert_eq!(res.attr("tags").unwrap().value["team"], "platform");
        assert!(res.block("tags").is_none());
        let public = res.get("vpc_config.endpoint_public_access").unwrap();
        assert_eq!((public.value.clone(), public.line), (Value::Bool(true), 12));
        let enc = res.block("encryption_config").unwrap();
        assert_eq!(enc.line, 15, "the element's line");
        assert_eq!(enc.attr("resources").unwrap().value[0], "secrets");
        assert_eq!(enc.get("provider.key_arn").unwrap().value, "arn:aws:kms:k");
        assert!(root.attrs.is_empty(), "`//` is a comment");
    }

    #[test]
    fn errors_have_lines_and_nothing_panics() {
        let e = parse("{\n  \"resource\": {\n    \"x\": [1,\n  }\n}").unwrap_err();
        assert_eq!(e.0, Some(4), "{e:?}");
        assert!(e.1.starts_with("invalid JSON"), "{e:?}");
        assert!(parse("[1, 2]").is_err());
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse(&deep).is_err());
        for text in [
            "",
            "{",
            "{\"a\":",
            "\"x\"",
            "{\"resource\": 3}",
            "{\"resource\": {\"t\": 1}}",
        ] {
            let _ = parse(text);
        }
    }
}
