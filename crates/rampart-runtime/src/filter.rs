//! Compiled conditions: macros inlined, lists expanded into hash sets, fields resolved to
//! extractors and values pre-parsed (regexes compiled, needles lower-cased), once, at
//! load time. Evaluating an event walks a small operator tree.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use regex::Regex;

use crate::condition::{Ast, FieldRef, Literal, Op, Rhs};
use crate::fields::{Ctx, Extractor, Needs};
use crate::glob::glob_match;

/// A compiled condition.
#[derive(Debug, Clone)]
pub enum Expr {
    /// All of.
    And(Vec<Expr>),
    /// Any of.
    Or(Vec<Expr>),
    /// Negation.
    Not(Box<Expr>),
    /// A field check, with its slot in the per-event memo (identical checks share one).
    Check(u32, Arc<Check>),
    /// A constant (folded at load time: `jevt.rawtime exists` is always true and
    /// `jevt.rawtime = 0` never, since every event has a time).
    Const(bool),
    /// A macro's condition: compiled once and shared by every use (a DAG, not a copy
    /// per use, so macros that use other macros several times stay small).
    Macro(Arc<Expr>),
}

/// One compiled field check.
#[derive(Debug, Clone)]
pub struct Check {
    /// The field.
    pub field: Extractor,
    /// The operator as written.
    pub op: Op,
    matcher: Matcher,
}

#[derive(Debug, Clone)]
enum Matcher {
    Exists,
    Eq(String),
    Ne(String),
    Num(Op, i128),
    Str(Op, String),
    Contains(String),
    IContains(String),
    BContains(Vec<u8>),
    StartsWith(String),
    BStartsWith(Vec<u8>),
    EndsWith(String),
    Glob(String),
    IGlob(String),
    Regex(Regex),
    In(StrSet),
    Intersects(StrSet),
    PMatch(Vec<String>),
    Field(Extractor),
}

/// FxHash: a fast, non-cryptographic hash for the small string sets of `in` checks.
#[derive(Debug, Default, Clone, Copy)]
pub struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A set of strings hashed with [`FxHasher`].
pub type StrSet = HashSet<String, BuildHasherDefault<FxHasher>>;

/// Macro and list definitions a condition is compiled against.
#[derive(Debug, Default)]
pub struct Defs {
    /// Macros: name → parsed condition.
    pub macros: HashMap<String, Ast>,
    /// Lists: name → items (which may name other lists).
    pub lists: HashMap<String, Vec<String>>,
    interned: RefCell<HashMap<String, (u32, Arc<Check>)>>,
    /// Macros compiled so far: the shared expression and its size fully expanded.
    compiled_macros: RefCell<HashMap<String, (Expr, u64)>>,
    /// Expanded size of every condition compiled so far.
    expanded_total: std::cell::Cell<u64>,
}

/// A compile error (unknown field, undefined macro, bad value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError {
    /// Byte offset in the condition it was found in (the macro's, if `in_macro`).
    pub offset: usize,
    /// The macro the error is in, if any.
    pub in_macro: Option<String>,
    /// What went wrong.
    pub message: String,
}

impl std::fmt::Display for CompileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.in_macro {
            Some(m) => write!(f, "in macro '{m}': {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

const MAX_EXPANSION: usize = 64;

/// Most nodes a condition may have with every macro use expanded: evaluating walks the
/// expanded tree, so this bounds the work per event. Falco's own rules stay under a
/// few hundred; macros that each use the previous one twice double it per level.
pub const MAX_EXPANDED_NODES: u64 = 1_000_000;

/// Most nodes all the conditions compiled against one [`Defs`] may have together, with
/// their macros expanded: one shared macro used by many rules is walked once per rule
/// and event.
pub const MAX_TOTAL_EXPANDED_NODES: u64 = 4_000_000;

/// Most strings a list reference may expand to (lists naming lists).
pub const MAX_LIST_ITEMS: usize = 1_000_000;

/// Macros up to this many nodes (expanded) are copied into each use, larger ones shared.
const INLINE_MACRO_NODES: u64 = 64;

impl Defs {
    /// Compile a parsed condition. Each macro is compiled once, on first use, and shared
    /// by every later use (change [`Defs::macros`] before the first compile, not after).
    pub fn compile(&self, ast: &Ast) -> Result<Expr, CompileError> {
        let mut stack = Vec::new();
        let (e, size) = self.compile_in(ast, &mut stack)?;
        let total = self.expanded_total.get().saturating_add(size);
        if total > MAX_TOTAL_EXPANDED_NODES {
            return Err(CompileError {
                offset: 0,
                in_macro: None,
                message: format!(
                    "the conditions loaded so far expand to more than {MAX_TOTAL_EXPANDED_NODES} nodes in total with their macros expanded"
                ),
            });
        }
        self.expanded_total.set(total);
        if size > MAX_EXPANDED_NODES {
            return Err(CompileError {
                offset: 0,
                in_macro: None,
                message: format!(
                    "condition expands to more than {MAX_EXPANDED_NODES} nodes with its macros expanded"
                ),
            });
        }
        Ok(e)
    }

    /// The compiled expression and its size with every macro expanded.
    fn compile_in(&self, ast: &Ast, stack: &mut Vec<String>) -> Result<(Expr, u64), CompileError> {
        let err = |offset: usize, message: String, stack: &Vec<String>| CompileError {
            offset,
            in_macro: stack.last().cloned(),
            message,
        };
        let all =
            |items: &[Ast], stack: &mut Vec<String>| -> Result<(Vec<Expr>, u64), CompileError> {
                let mut out = Vec::with_capacity(items.len());
                let mut size = 1u64;
                for a in items {
                    let (e, n) = self.compile_in(a, stack)?;
                    size = size.saturating_add(n);
                    out.push(e);
                }
                Ok((out, size))
            };
        Ok(match ast {
            Ast::And(items) => {
                let (v, n) = all(items, stack)?;
                (fold_and(v), n)
            }
            Ast::Or(items) => {
                let (v, n) = all(items, stack)?;
                (fold_or(v), n)
            }
            Ast::Not(a) => {
                let (e, n) = self.compile_in(a, stack)?;
                let e = match e {
                    Expr::Const(b) => Expr::Const(!b),
                    e => Expr::Not(Box::new(e)),
                };
                (e, n.saturating_add(1))
            }
            Ast::Macro(name, off) => {
                let Some(m) = self.macros.get(name) else {
                    return Err(err(*off, format!("undefined macro '{name}'"), stack));
                };
                if stack.iter().any(|s| s == name) || stack.len() > MAX_EXPANSION {
                    return Err(err(*off, format!("macro '{name}' refers to itself"), stack));
                }
                if let Some(done) = self.compiled_macros.borrow().get(name) {
                    return Ok(done.clone());
                }
                stack.push(name.clone());
                let r = self.compile_in(m, stack);
                stack.pop();
                let (e, size) = r?;
                if size > MAX_EXPANDED_NODES {
                    return Err(err(
                        *off,
                        format!(
                            "macro '{name}' expands to more than {MAX_EXPANDED_NODES} nodes \
                             with the macros it uses expanded (macros using other macros \
                             several times grow exponentially)"
                        ),
                        stack,
                    ));
                }
                // Small macros are copied into each use (the tree evaluated per event keeps
                // its shape: `and`s flattened, no indirection); larger ones are shared.
                let shared = match e {
                    e @ (Expr::Const(_) | Expr::Check(..) | Expr::Macro(_)) => e,
                    e if size <= INLINE_MACRO_NODES => e,
                    e => Expr::Macro(Arc::new(e)),
                };
                self.compiled_macros
                    .borrow_mut()
                    .insert(name.clone(), (shared.clone(), size));
                (shared, size)
            }
            Ast::Check { field, op, rhs } => {
                let key = format!("{field}\u{1f}{op:?}\u{1f}{rhs:?}");
                if let Some((slot, c)) = self.interned.borrow().get(&key) {
                    return Ok((Expr::Check(*slot, c.clone()), 1));
                }
                let c = self
                    .compile_check(field, *op, rhs)
                    .map_err(|m| err(field.offset, m, stack))?;
                let e = match constant(&c) {
                    Some(b) => Expr::Const(b),
                    None => {
                        let mut interned = self.interned.borrow_mut();
                        let slot = u32::try_from(interned.len()).unwrap_or(u32::MAX);
                        let c = Arc::new(c);
                        interned.insert(key, (slot, c.clone()));
                        Expr::Check(slot, c)
                    }
                };
                (e, 1)
            }
        })
    }

    /// How many distinct checks have been compiled (the size of a per-event memo).
    pub fn check_slots(&self) -> usize {
        self.interned.borrow().len()
    }

    /// Expand list references among `items` (unquoted items naming a list); an error
    /// when one reference expands past [`MAX_LIST_ITEMS`] strings (lists that each name
    /// the previous one twice). Literal items are not counted: they are input text.
    pub fn expand_list(&self, items: &[Literal]) -> Result<Vec<String>, String> {
        let mut out = Vec::new();
        for it in items {
            if it.quoted {
                out.push(it.text.clone());
                continue;
            }
            let from = out.len();
            self.expand_item(&it.text, &mut out, 0, from)
                .map_err(|()| {
                    format!(
                    "list '{}' expands to more than {MAX_LIST_ITEMS} items (lists naming lists)",
                    it.text
                )
                })?;
        }
        Ok(out)
    }

    /// Append `item`, expanded; `Err` once more than [`MAX_LIST_ITEMS`] strings were
    /// appended since `from`.
    fn expand_item(
        &self,
        item: &str,
        out: &mut Vec<String>,
        depth: usize,
        from: usize,
    ) -> Result<(), ()> {
        match self.lists.get(item) {
            Some(items) if depth < MAX_EXPANSION => {
                for i in items {
                    self.expand_item(i, out, depth + 1, from)?;
                }
            }
            _ => out.push(strip_quotes(item).to_string()),
        }
        if out.len() - from > MAX_LIST_ITEMS {
            return Err(());
        }
        Ok(())
    }

    fn compile_check(&self, field: &FieldRef, op: Op, rhs: &Rhs) -> Result<Check, String> {
        let ex = Extractor::resolve(field)?;
        let numeric = ex.is_numeric();
        let canon = |s: &str| -> Result<String, String> {
            if numeric {
                parse_num(s)
                    .map(|n| n.to_string())
                    .ok_or_else(|| format!("field '{field}' is numeric; '{s}' is not a number"))
            } else {
                Ok(s.to_string())
            }
        };
        let matcher = match (op, rhs) {
            (Op::Exists, Rhs::None) => Matcher::Exists,
            (Op::Exists, _) => return Err("'exists' takes no value".into()),
            (_, Rhs::None) => return Err(format!("operator '{}' needs a value", op.as_str())),
            (Op::In | Op::Intersects | Op::PMatch, rhs) => {
                let items = match rhs {
                    Rhs::List(items) => self.expand_list(items)?,
                    Rhs::Value(v) => self.expand_list(std::slice::from_ref(v))?,
                    Rhs::Field(_) => {
                        return Err(format!(
                            "operator '{}' does not take a field value",
                            op.as_str()
                        ))
                    }
                    Rhs::None => Vec::new(),
                };
                match op {
                    Op::PMatch => Matcher::PMatch(
                        items
                            .into_iter()
                            .map(|p| p.trim_end_matches('/').to_string())
                            .collect(),
                    ),
                    _ => {
                        let set = items.iter().map(|s| canon(s)).collect::<Result<_, _>>()?;
                        if op == Op::In {
                            Matcher::In(set)
                        } else {
                            Matcher::Intersects(set)
                        }
                    }
                }
            }
            (_, Rhs::List(_)) => {
                return Err(format!(
                    "operator '{}' takes a single value, not a list",
                    op.as_str()
                ))
            }
            (Op::Regex, Rhs::Field(_)) => return Err("'regex' does not take a field value".into()),
            (_, Rhs::Field(other)) => Matcher::Field(Extractor::resolve(other)?),
            (_, Rhs::Value(v)) => {
                let t = v.text.as_str();
                match op {
                    Op::Eq if numeric => Matcher::Num(Op::Eq, num_or(t, field)?),
                    Op::Ne if numeric => Matcher::Num(Op::Ne, num_or(t, field)?),
                    Op::Lt | Op::Le | Op::Gt | Op::Ge if numeric => {
                        Matcher::Num(op, num_or(t, field)?)
                    }
                    Op::Eq => Matcher::Eq(t.to_string()),
                    Op::Ne => Matcher::Ne(t.to_string()),
                    Op::Lt | Op::Le | Op::Gt | Op::Ge => Matcher::Str(op, t.to_string()),
                    Op::Contains => Matcher::Contains(t.to_string()),
                    Op::IContains => Matcher::IContains(t.to_lowercase()),
                    Op::BContains => Matcher::BContains(hex(t)?),
                    Op::StartsWith => Matcher::StartsWith(t.to_string()),
                    Op::BStartsWith => Matcher::BStartsWith(hex(t)?),
                    Op::EndsWith => Matcher::EndsWith(t.to_string()),
                    Op::Glob => Matcher::Glob(t.to_string()),
                    Op::IGlob => Matcher::IGlob(t.to_lowercase()),
                    Op::Regex => Matcher::Regex(
                        Regex::new(&format!("^(?:{t})$"))
                            .map_err(|e| format!("invalid regex '{t}': {e}"))?,
                    ),
                    Op::In | Op::Intersects | Op::PMatch | Op::Exists => {
                        return Err(format!("operator '{}' is not valid here", op.as_str()))
                    }
                }
            }
        };
        Ok(Check {
            field: ex,
            op,
            matcher,
        })
    }
}

fn constant(c: &Check) -> Option<bool> {
    if !matches!(
        c.field.info.name,
        "jevt.rawtime" | "json.rawtime" | "evt.rawtime"
    ) || !c.field.transformers.is_empty()
    {
        return None;
    }
    match &c.matcher {
        Matcher::Exists => Some(true),
        Matcher::Num(Op::Eq, 0) => Some(false),
        Matcher::Num(Op::Ne, 0) => Some(true),
        _ => None,
    }
}

fn fold_and(items: Vec<Expr>) -> Expr {
    let mut out = Vec::with_capacity(items.len());
    for e in items {
        match e {
            Expr::Const(false) => return Expr::Const(false),
            Expr::Const(true) => {}
            Expr::And(inner) => out.extend(inner),
            e => out.push(e),
        }
    }
    match out.len() {
        0 => Expr::Const(true),
        1 => out.remove(0),
        _ => Expr::And(out),
    }
}

fn fold_or(items: Vec<Expr>) -> Expr {
    let mut out = Vec::with_capacity(items.len());
    for e in items {
        match e {
            Expr::Const(true) => return Expr::Const(true),
            Expr::Const(false) => {}
            Expr::Or(inner) => out.extend(inner),
            e => out.push(e),
        }
    }
    match out.len() {
        0 => Expr::Const(false),
        1 => out.remove(0),
        _ => Expr::Or(out),
    }
}

fn num_or(t: &str, field: &FieldRef) -> Result<i128, String> {
    parse_num(t).ok_or_else(|| format!("field '{field}' is numeric; '{t}' is not a number"))
}

fn parse_num(s: &str) -> Option<i128> {
    let s = s.trim();
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        return i128::from_str_radix(h, 16).ok();
    }
    s.parse::<i128>().ok()
}

fn hex(s: &str) -> Result<Vec<u8>, String> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    if s.len() & 1 == 1 {
        return Err(format!("'{s}' is not an even-length hex string"));
    }
    (0..s.len())
        .step_by(2)
        .map(|i| {
            s.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("'{s}' is not a hex string"))
        })
        .collect()
}

/// Remove one pair of surrounding quotes from a list item (`"foo"` → `foo`).
pub fn strip_quotes(s: &str) -> &str {
    let b = s.as_bytes();
    if b.len() >= 2
        && ((b[0] == b'"' && b[b.len() - 1] == b'"') || (b[0] == b'\'' && b[b.len() - 1] == b'\''))
    {
        &s[1..s.len() - 1]
    } else {
        s
    }
}

fn pmatch(paths: &[String], v: &str) -> bool {
    paths.iter().any(|p| {
        v == p
            || (v.starts_with(p.as_str()) && v.as_bytes().get(p.len()) == Some(&b'/'))
            || p.is_empty() && v.starts_with('/')
    })
}

impl Expr {
    /// Evaluate against an event.
    pub fn eval(&self, ctx: &Ctx<'_>) -> bool {
        match self {
            Expr::And(items) => items.iter().all(|e| e.eval(ctx)),
            Expr::Or(items) => items.iter().any(|e| e.eval(ctx)),
            Expr::Not(e) => !e.eval(ctx),
            Expr::Check(_, c) => c.eval(ctx),
            Expr::Const(b) => *b,
            Expr::Macro(e) => e.eval(ctx),
        }
    }

    /// Evaluate with a per-event memo (one byte per check slot, zeroed for each event):
    /// a check shared by many rules (`kevt`, `ka.verb=create`) runs once per event.
    pub fn eval_memo(&self, ctx: &Ctx<'_>, memo: &mut [u8]) -> bool {
        match self {
            Expr::And(items) => items.iter().all(|e| e.eval_memo(ctx, memo)),
            Expr::Or(items) => items.iter().any(|e| e.eval_memo(ctx, memo)),
            Expr::Not(e) => !e.eval_memo(ctx, memo),
            Expr::Check(slot, c) => match memo.get_mut(*slot as usize) {
                Some(m) if *m != 0 => *m == 2,
                Some(m) => {
                    let r = c.eval(ctx);
                    *m = if r { 2 } else { 1 };
                    r
                }
                None => c.eval(ctx),
            },
            Expr::Const(b) => *b,
            Expr::Macro(e) => e.eval_memo(ctx, memo),
        }
    }

    /// Visit every check.
    pub fn checks<'a>(&'a self, f: &mut dyn FnMut(&'a Check, bool)) {
        self.checks_in(f, false);
    }

    fn checks_in<'a>(&'a self, f: &mut dyn FnMut(&'a Check, bool), negated: bool) {
        match self {
            Expr::And(v) | Expr::Or(v) => v.iter().for_each(|e| e.checks_in(f, negated)),
            Expr::Not(e) => e.checks_in(f, !negated),
            Expr::Check(_, c) => f(c, negated),
            Expr::Const(_) => {}
            Expr::Macro(e) => e.checks_in(f, negated),
        }
    }

    /// The most detailed part of the event any field in this condition reads.
    pub fn needs(&self) -> Needs {
        let mut n = Needs::Metadata;
        self.checks(&mut |c, _| {
            n = n.max(c.field.needs());
            if let Matcher::Field(x) = &c.matcher {
                n = n.max(x.needs());
            }
        });
        n
    }
}

impl Check {
    /// The literal values this check compares with for `=` and `in` (used to derive an
    /// audit policy).
    pub fn values(&self) -> Vec<&str> {
        match &self.matcher {
            Matcher::Eq(s) => vec![s.as_str()],
            Matcher::In(set) | Matcher::Intersects(set) => {
                let mut v: Vec<&str> = set.iter().map(String::as_str).collect();
                v.sort_unstable();
                v
            }
            _ => Vec::new(),
        }
    }

    fn eval(&self, ctx: &Ctx<'_>) -> bool {
        let vals = self.field.extract(ctx);
        let vs = vals.as_slice();
        if vs.is_empty() {
            return false;
        }
        let list = self.field.is_list();
        match &self.matcher {
            Matcher::Exists => true,
            Matcher::In(set) => {
                if list {
                    vs.iter().all(|v| set.contains(v.as_ref()))
                } else {
                    set.contains(vs[0].as_ref())
                }
            }
            Matcher::Intersects(set) => vs.iter().any(|v| set.contains(v.as_ref())),
            Matcher::Field(other) => {
                let ov = other.extract(ctx);
                let Some(rhs) = ov.as_slice().first() else {
                    return false;
                };
                let numeric = self.field.is_numeric() && other.is_numeric();
                vs.iter().any(|v| compare_dynamic(self.op, v, rhs, numeric))
            }
            m => vs.iter().any(|v| single(m, v)),
        }
    }
}

fn compare_dynamic(op: Op, v: &str, rhs: &str, numeric: bool) -> bool {
    if numeric {
        if let (Some(a), Some(b)) = (parse_num(v), parse_num(rhs)) {
            return cmp_ord(op, a.cmp(&b));
        }
    }
    match op {
        Op::Eq => v == rhs,
        Op::Ne => v != rhs,
        Op::Lt | Op::Le | Op::Gt | Op::Ge => cmp_ord(op, v.cmp(rhs)),
        Op::Contains => v.contains(rhs),
        Op::IContains => v.to_lowercase().contains(&rhs.to_lowercase()),
        Op::StartsWith => v.starts_with(rhs),
        Op::EndsWith => v.ends_with(rhs),
        Op::Glob => glob_match(rhs, v),
        Op::IGlob => glob_match(&rhs.to_lowercase(), &v.to_lowercase()),
        Op::BContains => v.contains(rhs),
        Op::BStartsWith => v.starts_with(rhs),
        Op::In | Op::Intersects => v == rhs,
        Op::PMatch => pmatch(&[rhs.trim_end_matches('/').to_string()], v),
        Op::Exists => true,
        Op::Regex => false,
    }
}

fn cmp_ord(op: Op, o: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering::*;
    match op {
        Op::Eq => o == Equal,
        Op::Ne => o != Equal,
        Op::Lt => o == Less,
        Op::Le => o != Greater,
        Op::Gt => o == Greater,
        Op::Ge => o != Less,
        _ => false,
    }
}

fn single(m: &Matcher, v: &str) -> bool {
    match m {
        Matcher::Eq(s) => v == s,
        Matcher::Ne(s) => v != s,
        Matcher::Num(op, n) => parse_num(v).is_some_and(|x| cmp_ord(*op, x.cmp(n))),
        Matcher::Str(op, s) => cmp_ord(*op, v.cmp(s.as_str())),
        Matcher::Contains(s) => v.contains(s.as_str()),
        Matcher::IContains(s) => v.to_lowercase().contains(s.as_str()),
        Matcher::BContains(b) => memmem(v.as_bytes(), b),
        Matcher::StartsWith(s) => v.starts_with(s.as_str()),
        Matcher::BStartsWith(b) => v.as_bytes().starts_with(b),
        Matcher::EndsWith(s) => v.ends_with(s.as_str()),
        Matcher::Glob(p) => glob_match(p, v),
        Matcher::IGlob(p) => glob_match(p, &v.to_lowercase()),
        Matcher::Regex(r) => r.is_match(v),
        Matcher::PMatch(paths) => pmatch(paths, v),
        Matcher::In(set) | Matcher::Intersects(set) => set.contains(v),
        Matcher::Exists => true,
        Matcher::Field(_) => false,
    }
}

fn memmem(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::condition::parse;
    use crate::event::AuditEvent;

    fn run(cond: &str, defs: &Defs, json: &str) -> bool {
        let e = AuditEvent::from_json(json).unwrap();
        let x = defs
            .compile(&parse(cond).unwrap())
            .unwrap_or_else(|e| panic!("{cond}: {e}"));
        x.eval(&Ctx {
            ev: &e,
            num: 1,
            hostname: "h",
            cluster: None,
        })
    }

    const EV: &str = r#"{"auditID":"a","stage":"ResponseComplete","verb":"create","user":{"username":"alice","groups":["g1","g2"]},"requestURI":"/api/v1/namespaces/ns/pods","objectRef":{"resource":"pods","namespace":"ns"},"responseStatus":{"code":201},
      "requestObject":{"spec":{"containers":[{"image":"nginx:1"},{"image":"busybox"}],"volumes":[{"hostPath":{"path":"/etc/kubernetes/x"}}]}},"stageTimestamp":"2020-01-01T00:00:00Z"}"#;

    #[test]
    fn operators() {
        let mut d = Defs::default();
        d.lists
            .insert("imgs".into(), vec!["nginx".into(), "more".into()]);
        d.lists.insert("more".into(), vec!["\"busybox\"".into()]);
        d.macros
            .insert("is_create".into(), parse("ka.verb = create").unwrap());
        for (c, want) in [
            ("is_create", true),
            ("not is_create", false),
            ("ka.verb != create", false),
            ("ka.impuser.name != bob", false), // missing: every comparison is false
            ("not ka.impuser.name exists", true),
            ("ka.response.code startswith 2", true),
            ("ka.response.code > 200", true),
            ("ka.user.name in (bob, alice)", true),
            ("ka.user.name icontains LIC", true),
            ("ka.user.name glob 'a*e'", true),
            ("ka.user.name regex 'al.*'", true),
            ("ka.user.name regex 'l.*'", false),
            ("ka.req.pod.containers.image.repository in (imgs)", true),
            ("ka.req.pod.containers.image.repository in (nginx)", false),
            (
                "ka.req.pod.containers.image.repository intersects (nginx)",
                true,
            ),
            ("ka.user.groups intersects (g2, g3)", true),
            ("ka.req.pod.volumes.hostpath pmatch (/etc/kubernetes)", true),
            ("ka.req.pod.volumes.hostpath pmatch (/etc/kube)", false),
            ("jevt.rawtime > 0", true),
            ("jevt.rawtime = 0", false),
            ("ka.user.name bcontains 6c6963", true),
            ("ka.user.name = val(ka.user.name)", true),
            ("len(ka.user.groups) = 2", true),
            ("tolower(ka.verb) in (create)", true),
            (
                "ka.target.namespace endswith s and (ka.verb = get or ka.verb = create)",
                true,
            ),
        ] {
            assert_eq!(run(c, &d, EV), want, "{c}");
        }
    }

    #[test]
    fn load_time_errors() {
        let d = Defs::default();
        let c = |s: &str| d.compile(&parse(s).unwrap()).map(|_| ()).unwrap_err();
        assert!(c("ka.nope = 1").message.contains("unknown field"));
        assert!(c("nomacro").message.contains("undefined macro"));
        assert!(c("jevt.rawtime = abc").message.contains("not a number"));
        assert!(c("ka.verb regex '('").message.contains("invalid regex"));
        let mut d = Defs::default();
        d.macros.insert("a".into(), parse("b").unwrap());
        d.macros.insert("b".into(), parse("a").unwrap());
        assert!(d
            .compile(&parse("a").unwrap())
            .unwrap_err()
            .message
            .contains("itself"));
    }

    /// A large macro is compiled once and shared by its uses; small ones are copied.
    #[test]
    fn macros_are_compiled_once_and_shared() {
        let mut d = Defs::default();
        let big: Vec<String> = (0..80).map(|i| format!("ka.user.name = u{i}")).collect();
        d.macros
            .insert("big".into(), parse(&big.join(" or ")).unwrap());
        d.macros.insert(
            "small".into(),
            parse("ka.verb = get or ka.verb = list").unwrap(),
        );
        let e = d
            .compile(&parse("big and not big and small").unwrap())
            .unwrap();
        let Expr::And(items) = e else { panic!("{e:?}") };
        let (Expr::Macro(a), Expr::Not(n)) = (&items[0], &items[1]) else {
            panic!("{items:?}")
        };
        let Expr::Macro(b) = n.as_ref() else {
            panic!("{n:?}")
        };
        assert!(Arc::ptr_eq(a, b));
        assert!(matches!(&items[2], Expr::Or(v) if v.len() == 2));
        assert_eq!(d.check_slots(), 82);
    }

    /// Macros that each use the previous one twice: 2^n nodes expanded. Compiling stops at
    /// the budget with the macro that crossed it, in bounded time.
    #[test]
    fn exponential_macro_chains_hit_the_budget() {
        let mut d = Defs::default();
        d.macros
            .insert("m0".into(), parse("ka.verb = create").unwrap());
        for i in 1..64 {
            let p = format!("m{} and m{}", i - 1, i - 1);
            d.macros.insert(format!("m{i}"), parse(&p).unwrap());
        }
        let t = std::time::Instant::now();
        let e = d.compile(&parse("m63").unwrap()).unwrap_err();
        assert!(t.elapsed() < std::time::Duration::from_secs(2));
        assert_eq!(e.in_macro.as_deref(), Some("m20"), "{e}");
        assert!(
            e.message
                .contains("macro 'm19' expands to more than 1000000"),
            "{e}"
        );
        // Lists naming lists grow the same way.
        let mut d = Defs::default();
        d.lists.insert("l0".into(), vec!["a".into(), "b".into()]);
        for i in 1..64 {
            d.lists.insert(
                format!("l{i}"),
                vec![format!("l{}", i - 1), format!("l{}", i - 1)],
            );
        }
        let e = d.compile(&parse("ka.verb in (l63)").unwrap()).unwrap_err();
        assert_eq!(
            e.message,
            "list 'l63' expands to more than 1000000 items (lists naming lists)"
        );
    }

    /// Many conditions using one big shared macro: bounded in total.
    #[test]
    fn total_expansion_is_bounded() {
        let mut d = Defs::default();
        d.macros
            .insert("m0".into(), parse("ka.verb = create").unwrap());
        for i in 1..18 {
            let p = format!("m{} and m{}", i - 1, i - 1);
            d.macros.insert(format!("m{i}"), parse(&p).unwrap());
        }
        let m17 = parse("m17").unwrap();
        for _ in 0..15 {
            d.compile(&m17).unwrap();
        }
        let e = d.compile(&m17).unwrap_err();
        assert!(e.message.contains("in total"), "{e}");
    }

    /// Large but linear conditions are input, not expansion: they compile.
    #[test]
    fn large_linear_conditions_compile() {
        let d = Defs::default();
        let items: Vec<String> = (0..200_000).map(|i| format!("v{i}")).collect();
        let c = format!("ka.verb in ({})", items.join(","));
        assert!(d.compile(&parse(&c).unwrap()).is_ok());
        let mut d = Defs::default();
        let big: Vec<String> = (0..50_000)
            .map(|i| format!("ka.user.name = u{i}"))
            .collect();
        d.macros
            .insert("m".into(), parse(&big.join(" or ")).unwrap());
        assert!(d.compile(&parse("m and m and m and m").unwrap()).is_ok());
        let ands = vec!["ka.verb = get"; 100_000].join(" and ");
        assert!(d.compile(&parse(&ands).unwrap()).is_ok());
    }
}
