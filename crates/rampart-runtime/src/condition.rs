//! The Falco condition language: parsing into an AST.
//!
//! Grammar (the same as libsinsp's):
//!
//! ```text
//! expr   := and ("or" and)*
//! and    := not ("and" not)*
//! not    := "not" not | "(" expr ")" | check | macro
//! check  := lhs "exists" | lhs op value | lhs listop list
//! lhs    := field | transformer "(" lhs ")"
//! field  := name ("[" arg "]")?
//! value  := bare | "quoted" | 'quoted' | "val(" field ")"
//! list   := "(" (value ("," value)*)? ")" | bare
//! ```
//!
//! Parsing is independent of the event source, so rules of sources Rampart does not
//! ingest (syscalls) are still checked for syntax.

use std::fmt;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// `=` / `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `contains`
    Contains,
    /// `icontains`
    IContains,
    /// `bcontains` (hex bytes)
    BContains,
    /// `startswith`
    StartsWith,
    /// `bstartswith` (hex bytes)
    BStartsWith,
    /// `endswith`
    EndsWith,
    /// `glob`
    Glob,
    /// `iglob`
    IGlob,
    /// `in`
    In,
    /// `intersects`
    Intersects,
    /// `pmatch`
    PMatch,
    /// `exists`
    Exists,
    /// `regex`
    Regex,
}

impl Op {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Contains => "contains",
            Op::IContains => "icontains",
            Op::BContains => "bcontains",
            Op::StartsWith => "startswith",
            Op::BStartsWith => "bstartswith",
            Op::EndsWith => "endswith",
            Op::Glob => "glob",
            Op::IGlob => "iglob",
            Op::In => "in",
            Op::Intersects => "intersects",
            Op::PMatch => "pmatch",
            Op::Exists => "exists",
            Op::Regex => "regex",
        }
    }

    /// Parse an operator written as a word or symbol (as in exception `comps`).
    pub fn parse(s: &str) -> Option<Op> {
        Some(match s {
            "=" | "==" => Op::Eq,
            "!=" => Op::Ne,
            "<" => Op::Lt,
            "<=" => Op::Le,
            ">" => Op::Gt,
            ">=" => Op::Ge,
            "contains" => Op::Contains,
            "icontains" => Op::IContains,
            "bcontains" => Op::BContains,
            "startswith" => Op::StartsWith,
            "bstartswith" => Op::BStartsWith,
            "endswith" => Op::EndsWith,
            "glob" => Op::Glob,
            "iglob" => Op::IGlob,
            "in" => Op::In,
            "intersects" => Op::Intersects,
            "pmatch" => Op::PMatch,
            "exists" => Op::Exists,
            "regex" => Op::Regex,
            _ => return None,
        })
    }

    /// Whether the right-hand side is a list.
    pub fn takes_list(self) -> bool {
        matches!(self, Op::In | Op::Intersects | Op::PMatch)
    }
}

/// A field transformer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transformer {
    /// `tolower(f)`
    ToLower,
    /// `toupper(f)`
    ToUpper,
    /// `b64(f)`: base64-decode
    B64,
    /// `basename(f)`
    Basename,
    /// `len(f)`: length of a string or number of values of a list
    Len,
}

impl Transformer {
    fn parse(s: &str) -> Option<Transformer> {
        Some(match s {
            "tolower" => Transformer::ToLower,
            "toupper" => Transformer::ToUpper,
            "b64" => Transformer::B64,
            "basename" => Transformer::Basename,
            "len" => Transformer::Len,
            _ => return None,
        })
    }

    /// The name as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Transformer::ToLower => "tolower",
            Transformer::ToUpper => "toupper",
            Transformer::B64 => "b64",
            Transformer::Basename => "basename",
            Transformer::Len => "len",
        }
    }
}

/// A field reference, possibly wrapped in transformers (outermost first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRef {
    /// Transformers, outermost first.
    pub transformers: Vec<Transformer>,
    /// The field name, e.g. `ka.uri.param`.
    pub name: String,
    /// The argument between brackets, e.g. `command` in `ka.uri.param[command]`.
    pub arg: Option<String>,
    /// Byte offset in the condition.
    pub offset: usize,
}

impl fmt::Display for FieldRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for t in &self.transformers {
            write!(f, "{}(", t.as_str())?;
        }
        f.write_str(&self.name)?;
        if let Some(a) = &self.arg {
            write!(f, "[{a}]")?;
        }
        for _ in &self.transformers {
            f.write_str(")")?;
        }
        Ok(())
    }
}

/// A literal value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Literal {
    /// The text (quotes removed, escapes resolved).
    pub text: String,
    /// Whether it was quoted (quoted words are never list names).
    pub quoted: bool,
}

/// The right-hand side of a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rhs {
    /// No value (`exists`).
    None,
    /// One value.
    Value(Literal),
    /// A parenthesised list (or a bare list name).
    List(Vec<Literal>),
    /// Another field: `val(field)`.
    Field(FieldRef),
}

/// A parsed condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ast {
    /// All of.
    And(Vec<Ast>),
    /// Any of.
    Or(Vec<Ast>),
    /// Negation.
    Not(Box<Ast>),
    /// A macro reference, with its byte offset.
    Macro(String, usize),
    /// A field check.
    Check {
        /// The field.
        field: FieldRef,
        /// The operator.
        op: Op,
        /// The value(s).
        rhs: Rhs,
    },
}

impl Ast {
    /// Visit every node.
    pub fn walk<'a>(&'a self, f: &mut dyn FnMut(&'a Ast)) {
        f(self);
        match self {
            Ast::And(v) | Ast::Or(v) => v.iter().for_each(|a| a.walk(f)),
            Ast::Not(a) => a.walk(f),
            _ => {}
        }
    }
}

/// A syntax error in a condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Byte offset in the condition.
    pub offset: usize,
    /// What was expected.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at offset {}", self.message, self.offset)
    }
}

/// Parse a condition.
pub fn parse(src: &str) -> Result<Ast, ParseError> {
    let mut p = P {
        s: src,
        b: src.as_bytes(),
        i: 0,
        depth: 0,
    };
    p.ws();
    if p.i >= p.b.len() {
        return Err(p.err("expected a condition, found end of input"));
    }
    let ast = p.or_expr()?;
    p.ws();
    if p.i < p.b.len() {
        return Err(p.err(&format!(
            "expected 'and', 'or' or end of condition, found {}",
            p.found()
        )));
    }
    Ok(ast)
}

/// Parse a field reference standing alone (as in output format or exception `fields`).
pub fn parse_field(src: &str) -> Result<FieldRef, ParseError> {
    let mut p = P {
        s: src,
        b: src.as_bytes(),
        i: 0,
        depth: 0,
    };
    p.ws();
    let f = p.lhs()?;
    p.ws();
    if p.i < p.b.len() {
        return Err(p.err(&format!("unexpected {} after field", p.found())));
    }
    Ok(f)
}

const MAX_DEPTH: usize = 200;

struct P<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
    depth: usize,
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || c == b'-'
}

impl<'a> P<'a> {
    fn err(&self, msg: &str) -> ParseError {
        ParseError {
            offset: self.i,
            message: msg.to_string(),
        }
    }

    fn found(&self) -> String {
        if self.i >= self.b.len() {
            return "end of input".into();
        }
        let rest = &self.s[self.i..];
        let word: String = rest
            .chars()
            .take_while(|c| !c.is_whitespace())
            .take(20)
            .collect();
        format!("'{word}'")
    }

    fn ws(&mut self) {
        while self.i < self.b.len() && self.b[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    /// Whether the keyword `kw` starts here (followed by a non-identifier character).
    fn at_kw(&self, kw: &str) -> bool {
        let end = self.i + kw.len();
        self.s[self.i..].starts_with(kw)
            && self.b.get(end).is_none_or(|c| !is_ident(*c) && *c != b'[')
    }

    fn or_expr(&mut self) -> Result<Ast, ParseError> {
        let mut items = vec![self.and_expr()?];
        loop {
            self.ws();
            if self.at_kw("or") {
                self.i += 2;
                items.push(self.and_expr()?);
            } else {
                break;
            }
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Ast::Or(items)
        })
    }

    fn and_expr(&mut self) -> Result<Ast, ParseError> {
        let mut items = vec![self.not_expr()?];
        loop {
            self.ws();
            if self.at_kw("and") {
                self.i += 3;
                items.push(self.not_expr()?);
            } else {
                break;
            }
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Ast::And(items)
        })
    }

    fn not_expr(&mut self) -> Result<Ast, ParseError> {
        self.ws();
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err("condition nested too deeply"));
        }
        let r = self.not_expr_inner();
        self.depth -= 1;
        r
    }

    fn not_expr_inner(&mut self) -> Result<Ast, ParseError> {
        if self.at_kw("not") {
            self.i += 3;
            let inner = self.not_expr()?;
            return Ok(Ast::Not(Box::new(inner)));
        }
        match self.peek() {
            Some(b'(') => {
                self.i += 1;
                let inner = self.or_expr()?;
                self.ws();
                if self.peek() != Some(b')') {
                    return Err(self.err(&format!("expected ')', found {}", self.found())));
                }
                self.i += 1;
                Ok(inner)
            }
            Some(c) if is_ident_start(c) => self.check_or_macro(),
            _ => Err(self.err(&format!(
                "expected a field check, a macro name, 'not' or '(', found {}",
                self.found()
            ))),
        }
    }

    fn ident(&mut self) -> &'a str {
        let start = self.i;
        while self.i < self.b.len() && is_ident(self.b[self.i]) {
            self.i += 1;
        }
        &self.s[start..self.i]
    }

    fn check_or_macro(&mut self) -> Result<Ast, ParseError> {
        let start = self.i;
        let name = self.ident();
        // Transformer call?
        if Transformer::parse(name).is_some() && self.peek() == Some(b'(') {
            self.i = start;
            let field = self.lhs()?;
            return self.check_rest(field);
        }
        let has_arg = self.peek() == Some(b'[');
        if !has_arg && !name.contains('.') {
            // A macro, unless an operator follows (fields without dots are unusual, but
            // libsinsp decides the same way: by what follows).
            let save = self.i;
            self.ws();
            let op_follows = self.peek_op().is_some();
            self.i = save;
            if !op_follows {
                return Ok(Ast::Macro(name.to_string(), start));
            }
        }
        self.i = start;
        let field = self.lhs()?;
        self.check_rest(field)
    }

    fn lhs(&mut self) -> Result<FieldRef, ParseError> {
        let start = self.i;
        if !self.peek().is_some_and(is_ident_start) {
            return Err(self.err(&format!("expected a field name, found {}", self.found())));
        }
        let name = self.ident();
        if let Some(t) = Transformer::parse(name) {
            if self.peek() == Some(b'(') {
                self.i += 1;
                self.ws();
                let mut inner = self.lhs()?;
                self.ws();
                if self.peek() != Some(b')') {
                    return Err(self.err(&format!(
                        "expected ')' closing {}(, found {}",
                        t.as_str(),
                        self.found()
                    )));
                }
                self.i += 1;
                inner.transformers.insert(0, t);
                inner.offset = start;
                return Ok(inner);
            }
        }
        let name = name.to_string();
        let mut arg = None;
        if self.peek() == Some(b'[') {
            self.i += 1;
            let astart = self.i;
            // Arguments may be quoted; otherwise they run to the closing bracket.
            if matches!(self.peek(), Some(b'"') | Some(b'\'')) {
                let lit = self.quoted()?;
                if self.peek() != Some(b']') {
                    return Err(self.err("expected ']' after field argument"));
                }
                self.i += 1;
                arg = Some(lit);
            } else {
                while self.i < self.b.len() && self.b[self.i] != b']' {
                    self.i += 1;
                }
                if self.i >= self.b.len() {
                    self.i = astart;
                    return Err(self.err("expected ']' closing the field argument"));
                }
                arg = Some(self.s[astart..self.i].to_string());
                self.i += 1;
            }
        }
        Ok(FieldRef {
            transformers: Vec::new(),
            name,
            arg,
            offset: start,
        })
    }

    fn peek_op(&self) -> Option<(Op, usize)> {
        let rest = &self.s[self.i..];
        for (sym, op) in [
            ("==", Op::Eq),
            ("!=", Op::Ne),
            ("<=", Op::Le),
            (">=", Op::Ge),
        ] {
            if rest.starts_with(sym) {
                return Some((op, 2));
            }
        }
        for (sym, op) in [("=", Op::Eq), ("<", Op::Lt), (">", Op::Gt)] {
            if rest.starts_with(sym) {
                return Some((op, 1));
            }
        }
        for w in [
            "contains",
            "icontains",
            "bcontains",
            "startswith",
            "bstartswith",
            "endswith",
            "glob",
            "iglob",
            "intersects",
            "in",
            "pmatch",
            "exists",
            "regex",
        ] {
            if self.at_kw(w) {
                return Op::parse(w).map(|op| (op, w.len()));
            }
        }
        None
    }

    fn check_rest(&mut self, field: FieldRef) -> Result<Ast, ParseError> {
        self.ws();
        let Some((op, len)) = self.peek_op() else {
            return Err(self.err(&format!(
                "expected an operator after field '{}', found {}",
                field,
                self.found()
            )));
        };
        self.i += len;
        if op == Op::Exists {
            return Ok(Ast::Check {
                field,
                op,
                rhs: Rhs::None,
            });
        }
        self.ws();
        if op.takes_list() {
            if self.peek() == Some(b'(') {
                let list = self.list()?;
                return Ok(Ast::Check {
                    field,
                    op,
                    rhs: Rhs::List(list),
                });
            }
            let v = self.value()?;
            return Ok(Ast::Check { field, op, rhs: v });
        }
        let v = self.value()?;
        Ok(Ast::Check { field, op, rhs: v })
    }

    fn list(&mut self) -> Result<Vec<Literal>, ParseError> {
        // at '('
        self.i += 1;
        let mut items = Vec::new();
        self.ws();
        if self.peek() == Some(b')') {
            self.i += 1;
            return Ok(items);
        }
        loop {
            self.ws();
            let lit = self.literal(true)?;
            items.push(lit);
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b')') => {
                    self.i += 1;
                    return Ok(items);
                }
                _ => {
                    return Err(self.err(&format!(
                        "expected ',' or ')' in list, found {}",
                        self.found()
                    )))
                }
            }
        }
    }

    fn value(&mut self) -> Result<Rhs, ParseError> {
        if self.s[self.i..].starts_with("val(") {
            self.i += 4;
            self.ws();
            let f = self.lhs()?;
            self.ws();
            if self.peek() != Some(b')') {
                return Err(self.err("expected ')' closing val("));
            }
            self.i += 1;
            return Ok(Rhs::Field(f));
        }
        Ok(Rhs::Value(self.literal(false)?))
    }

    fn literal(&mut self, in_list: bool) -> Result<Literal, ParseError> {
        match self.peek() {
            Some(b'"') | Some(b'\'') => Ok(Literal {
                text: self.quoted()?,
                quoted: true,
            }),
            None => Err(self.err("expected a value, found end of input")),
            Some(_) => {
                let start = self.i;
                let mut depth = 0usize;
                while self.i < self.b.len() {
                    let c = self.b[self.i];
                    if c.is_ascii_whitespace() || c == b',' && in_list {
                        break;
                    }
                    if c == b'(' {
                        depth += 1;
                    } else if c == b')' {
                        if depth == 0 {
                            break;
                        }
                        depth -= 1;
                    }
                    self.i += 1;
                }
                if self.i == start {
                    return Err(self.err(&format!("expected a value, found {}", self.found())));
                }
                Ok(Literal {
                    text: self.s[start..self.i].to_string(),
                    quoted: false,
                })
            }
        }
    }

    fn quoted(&mut self) -> Result<String, ParseError> {
        let start = self.i;
        let q = self.b[self.i];
        self.i += 1;
        let mut out = String::new();
        let mut chars = self.s[self.i..].char_indices();
        while let Some((off, c)) = chars.next() {
            if c as u32 == u32::from(q) {
                self.i += off + 1;
                return Ok(out);
            }
            if c == '\\' {
                match chars.next() {
                    Some((_, 'n')) => out.push('\n'),
                    Some((_, 't')) => out.push('\t'),
                    Some((_, 'r')) => out.push('\r'),
                    Some((_, e)) if e as u32 == u32::from(q) || e == '\\' => out.push(e),
                    Some((_, e)) => {
                        out.push('\\');
                        out.push(e);
                    }
                    None => break,
                }
            } else {
                out.push(c);
            }
        }
        self.i = start;
        Err(self.err("unterminated quoted string"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(src: &str) -> Ast {
        parse(src).unwrap_or_else(|e| panic!("{src}: {e}"))
    }

    #[test]
    fn precedence_and_macros() {
        let a = check("kevt and not pod or (x.y = 1 and z)");
        match a {
            Ast::Or(v) => {
                assert!(matches!(&v[0], Ast::And(w) if matches!(&w[1], Ast::Not(_))));
                assert!(matches!(&v[1], Ast::And(_)));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn values_args_and_lists() {
        let a = check("jevt.value[/stage]=ResponseStarted");
        assert!(matches!(a, Ast::Check { op: Op::Eq, .. }));
        let a = check("ka.uri startswith /healthz? and ka.target.name!=\"system:coredns\"");
        let Ast::And(v) = a else { panic!() };
        let Ast::Check {
            rhs: Rhs::Value(l), ..
        } = &v[0]
        else {
            panic!()
        };
        assert_eq!(l.text, "/healthz?");
        let a = check("ka.verb in (create, 'update',patch) and x.y intersects (\"*\")");
        let Ast::And(v) = a else { panic!() };
        let Ast::Check {
            rhs: Rhs::List(l), ..
        } = &v[0]
        else {
            panic!()
        };
        assert_eq!(l.len(), 3);
        assert_eq!(l[1].text, "update");
        check("ka.req.pod.containers.image[0] exists");
        check("tolower(ka.user.name) = admin");
        check("ka.user.name = val(ka.impuser.name)");
        check("evt.dir=< and fd.name glob '/etc/*' and proc.aname[2] in (sh)");
        check("a.b in ()");
        check("not(a.b exists)");
    }

    #[test]
    fn errors_have_offsets() {
        let e = parse("kevt and (ka.verb = get").unwrap_err();
        assert_eq!(e.offset, 23);
        assert!(e.message.contains("')'"), "{e}");
        let e = parse("ka.verb get").unwrap_err();
        assert!(e.message.contains("operator"), "{e}");
        assert!(parse("a and").is_err());
        assert!(parse("").is_err());
        assert!(parse("x.y = \"abc").is_err());
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let s = "(".repeat(5000) + "a" + &")".repeat(5000);
        assert!(parse(&s).is_err());
        let s = "not ".repeat(5000) + "a";
        assert!(parse(&s).is_err());
    }
}
