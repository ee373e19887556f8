//! HCL → a small tree with line numbers (from `hcl-edit`'s spans, via `hcl-rs`), and the
//! HCL-JSON shape custom policies see.

use hcl::edit::Span as _;
use serde_json::{Map, Value};

/// Deepest bracket nesting accepted (the HCL parser is recursive).
pub const MAX_NESTING: usize = 256;

/// An attribute: key, value as JSON, line.
#[derive(Debug, Clone, PartialEq)]
pub struct Attr {
    /// The key.
    pub key: String,
    /// Literal values as JSON; any other expression as the string `${expr}`.
    pub value: Value,
    /// Line of the attribute (1-based).
    pub line: usize,
    /// The expression, when it is not a literal (what [`super::eval`] evaluates).
    pub expr: Option<Box<hcl::Expression>>,
}

/// A block (the file itself is a block with an empty identifier).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Block {
    /// `resource`, `vpc_config` …
    pub ident: String,
    /// Labels (`aws_eks_cluster`, `main`).
    pub labels: Vec<String>,
    /// Attributes in order.
    pub attrs: Vec<Attr>,
    /// Nested blocks in order.
    pub blocks: Vec<Block>,
    /// First line.
    pub line: usize,
    /// Last line.
    pub end_line: usize,
}

impl Block {
    /// The attribute `key`.
    pub fn attr(&self, key: &str) -> Option<&Attr> {
        self.attrs.iter().find(|a| a.key == key)
    }

    /// The first nested block `ident`.
    pub fn block(&self, ident: &str) -> Option<&Block> {
        self.blocks.iter().find(|b| b.ident == ident)
    }

    /// Every nested block `ident`.
    pub fn blocks_named<'a>(&'a self, ident: &'a str) -> impl Iterator<Item = &'a Block> + 'a {
        self.blocks.iter().filter(move |b| b.ident == ident)
    }

    /// `a.b.c`: blocks `a`, `b`, then attribute `c` (the last step may also be an object
    /// key inside an attribute).
    pub fn get(&self, path: &str) -> Option<&Attr> {
        let mut parts: Vec<&str> = path.split('.').collect();
        let last = parts.pop()?;
        let mut b = self;
        for p in parts {
            b = b.block(p)?;
        }
        b.attr(last)
    }

    /// The deepest block along `path` that exists (for a finding's line when the
    /// attribute is missing).
    pub fn nearest(&self, path: &str) -> &Block {
        let mut b = self;
        for p in path.split('.') {
            match b.block(p) {
                Some(n) => b = n,
                None => break,
            }
        }
        b
    }
}

/// Whether a JSON value is literally `true` (`true` or `"true"`).
pub fn is_true(v: &Value) -> bool {
    matches!(v, Value::Bool(true)) || v.as_str() == Some("true")
}

/// Whether a JSON value is literally `false`.
pub fn is_false(v: &Value) -> bool {
    matches!(v, Value::Bool(false)) || v.as_str() == Some("false")
}

/// Whether a value is an unresolved expression (`${var.x}`).
pub fn is_expr(v: &Value) -> bool {
    v.as_str().is_some_and(|s| s.starts_with("${"))
}

/// Maximum bracket nesting of `text`, ignoring strings and comments roughly.
fn nesting(text: &str) -> usize {
    let (mut d, mut max) = (0usize, 0usize);
    let mut in_str = false;
    let mut prev = '\0';
    for c in text.chars() {
        if in_str {
            if c == '"' && prev != '\\' {
                in_str = false;
            }
        } else {
            match c {
                '"' => in_str = true,
                '{' | '[' | '(' => {
                    d += 1;
                    max = max.max(d);
                }
                '}' | ']' | ')' => d = d.saturating_sub(1),
                _ => {}
            }
        }
        prev = if prev == '\\' && c == '\\' { '\0' } else { c };
    }
    max
}

/// Parse HCL text. Errors carry a line where the parser gives one.
pub fn parse(text: &str) -> Result<Block, (Option<usize>, String)> {
    if nesting(text) > MAX_NESTING {
        return Err((None, format!("nesting deeper than {MAX_NESTING} levels")));
    }
    let body = hcl::edit::parser::parse_body(text).map_err(|e| {
        let line = e.location().line();
        (Some(line), e.message().to_string())
    })?;
    let lines = LineIndex::new(text);
    let mut root = Block {
        line: 1,
        end_line: lines.line_of(text.len()),
        ..Block::default()
    };
    fill(&body, &lines, &mut root);
    Ok(root)
}

struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex { starts }
    }

    fn line_of(&self, off: usize) -> usize {
        match self.starts.binary_search(&off) {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }
}

fn fill(body: &hcl::edit::structure::Body, lines: &LineIndex, out: &mut Block) {
    for s in body.iter() {
        match s {
            hcl::edit::structure::Structure::Attribute(a) => {
                let line = a.span().map_or(out.line, |r| lines.line_of(r.start));
                let expr: hcl::Expression = a.value.clone().into();
                let value = expr_json(&expr);
                out.attrs.push(Attr {
                    key: a.key.as_str().to_string(),
                    expr: (!is_literal(&expr)).then(|| Box::new(expr)),
                    value,
                    line,
                });
            }
            hcl::edit::structure::Structure::Block(b) => {
                let (line, end_line) = b.span().map_or((out.line, out.line), |r| {
                    (
                        lines.line_of(r.start),
                        lines.line_of(r.end.saturating_sub(1)),
                    )
                });
                let mut nb = Block {
                    ident: b.ident.as_str().to_string(),
                    labels: b.labels.iter().map(|l| l.as_str().to_string()).collect(),
                    line,
                    end_line,
                    ..Block::default()
                };
                fill(&b.body, lines, &mut nb);
                out.blocks.push(nb);
            }
        }
    }
}

/// Whether an expression is made of literals only (nothing to evaluate).
fn is_literal(e: &hcl::Expression) -> bool {
    use hcl::Expression as E;
    match e {
        E::Null | E::Bool(_) | E::Number(_) | E::String(_) => true,
        E::Array(a) => a.iter().all(is_literal),
        E::Object(o) => o.iter().all(|(k, v)| {
            matches!(
                k,
                hcl::ObjectKey::Identifier(_) | hcl::ObjectKey::Expression(E::String(_))
            ) && is_literal(v)
        }),
        _ => false,
    }
}

/// An HCL expression as JSON: literals as themselves, anything else as `${…}`.
pub fn expr_json(e: &hcl::Expression) -> Value {
    use hcl::Expression as E;
    match e {
        E::Null => Value::Null,
        E::Bool(b) => Value::Bool(*b),
        E::Number(n) => serde_json::to_value(n).unwrap_or(Value::Null),
        E::String(s) => Value::String(s.clone()),
        E::Array(a) => Value::Array(a.iter().map(expr_json).collect()),
        E::Object(o) => {
            let mut m = Map::new();
            for (k, v) in o {
                let key = match k {
                    hcl::ObjectKey::Identifier(i) => i.as_str().to_string(),
                    hcl::ObjectKey::Expression(E::String(s)) => s.clone(),
                    hcl::ObjectKey::Expression(other) => {
                        hcl::format::to_string(other).unwrap_or_default()
                    }
                    #[allow(unreachable_patterns)]
                    _ => String::new(),
                };
                m.insert(key, expr_json(v));
            }
            Value::Object(m)
        }
        E::Parenthesis(inner) => expr_json(inner),
        E::TemplateExpr(t) => {
            let s = t.to_string();
            let s = s
                .strip_prefix('"')
                .and_then(|s| s.strip_suffix('"'))
                .unwrap_or(&s);
            Value::String(s.to_string())
        }
        other => Value::String(format!(
            "${{{}}}",
            hcl::format::to_string(other).unwrap_or_default()
        )),
    }
}

/// The HCL-JSON shape (as `hcl2json`, which Conftest uses): blocks nest by identifier
/// and labels, and every block body is in an array.
pub fn to_json(b: &Block) -> Value {
    let mut m = Map::new();
    for a in &b.attrs {
        m.insert(a.key.clone(), a.value.clone());
    }
    for nb in &b.blocks {
        let mut keys = vec![nb.ident.clone()];
        keys.extend(nb.labels.iter().cloned());
        insert_block(&mut m, &keys, to_json(nb));
    }
    Value::Object(m)
}

/// Put `body` at `keys` (objects for all but the last key, an array at the last).
fn insert_block(m: &mut Map<String, Value>, keys: &[String], body: Value) {
    let Some((first, rest)) = keys.split_first() else {
        return;
    };
    let slot = m.entry(first.clone()).or_insert(Value::Null);
    if rest.is_empty() {
        if !slot.is_array() {
            *slot = Value::Array(Vec::new());
        }
        if let Value::Array(a) = slot {
            a.push(body);
        }
    } else {
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        if let Value::Object(inner) = slot {
            insert_block(inner, rest, body);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lines_and_values() {
        let t = "resource \"aws_eks_cluster\" \"x\" {\n  name = \"x\"\n  vpc_config {\n    endpoint_public_access = true\n    subnet_ids = var.subnets\n  }\n  tags = { a = \"b\" }\n}\n";
        let root = parse(t).unwrap();
        let r = &root.blocks[0];
        assert_eq!(r.labels, vec!["aws_eks_cluster", "x"]);
        assert_eq!((r.line, r.end_line), (1, 8));
        assert_eq!(
            r.get("vpc_config.endpoint_public_access").map(|a| a.line),
            Some(4)
        );
        assert_eq!(
            r.get("vpc_config.subnet_ids").map(|a| a.value.clone()),
            Some(json!("${var.subnets}"))
        );
        assert_eq!(
            r.attr("tags").map(|a| a.value.clone()),
            Some(json!({"a": "b"}))
        );
        let j = to_json(&root);
        assert_eq!(
            j["resource"]["aws_eks_cluster"]["x"][0]["vpc_config"][0]["endpoint_public_access"],
            json!(true)
        );
    }

    #[test]
    fn errors_have_lines() {
        let e = parse("a = 1\nb = {\n").unwrap_err();
        assert!(e.0.is_some());
        let deep = "a = ".to_string() + &"[".repeat(10_000);
        assert!(parse(&deep).is_err());
    }
}
