//! What Terraform would evaluate before planning, as far as a scanner can without
//! providers or state: input variables (`default`, then `terraform.tfvars`, then
//! `*.auto.tfvars` in name order), `locals` (in dependency order), `jsonencode`, string
//! templates, conditionals, comparisons and `count`/`for_each` over those. Anything else
//! (resource attributes, data sources, most functions, a value too large) stays an unknown
//! `${…}` expression, so a rule never fails on a value it does not know.
//!
//! Bounded: a variable or local larger than [`MAX_VALUE_BYTES`] (as JSON) is unknown,
//! `for` expressions nested in `for` expressions, template directives (`%{…}`) and
//! arithmetic (which can overflow to a number hcl-rs panics on) are not evaluated, and
//! locals are resolved in at most [`MAX_LOCAL_ROUNDS`] rounds.

use super::hcl::{expr_json, Attr, Block};
use hcl::eval::{Context, Evaluate, FuncArgs, FuncDef, ParamType};
use hcl::{Expression, Value};
use serde_json::Value as Json;
use std::collections::BTreeMap;

/// Largest variable or local value kept (serialised as JSON); larger ones are unknown.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;
/// Rounds of local resolution (a chain of locals deeper than this stays unknown).
pub const MAX_LOCAL_ROUNDS: usize = 64;
/// Variable references in one expression beyond which it is not evaluated.
pub const MAX_REFERENCES: usize = 256;
/// All variables and locals of a module together (as JSON) beyond which further locals
/// are unknown.
pub const MAX_SCOPE_BYTES: usize = 1024 * 1024;
/// Instances one `count`/`for_each` may expand to; more (or an unknown count) leave the
/// resource as one unexpanded instance.
pub const MAX_INSTANCES: usize = 256;
/// Copying budget for expanding instances in one module (instances x scope size).
const EXPANSION_BUDGET: usize = 256 * 1024 * 1024;

/// The values one module's expressions can see.
pub struct Scope {
    ctx: Context<'static>,
    bytes: usize,
    budget: std::cell::Cell<usize>,
}

/// One instance of a resource: its index (`[0]`, `["key"]`) when `count` or `for_each`
/// was expanded, and its evaluated block.
#[derive(Debug)]
pub struct Instance {
    /// `[0]`, `["a"]`, or empty.
    pub index: String,
    /// The evaluated block.
    pub block: Block,
}

impl std::fmt::Debug for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Scope")
    }
}

fn jsonencode(args: FuncArgs) -> Result<Value, String> {
    let v = args.first().ok_or("jsonencode: one argument")?;
    serde_json::to_string(v)
        .map(Value::String)
        .map_err(|e| e.to_string())
}

fn lower(args: FuncArgs) -> Result<Value, String> {
    match args.first() {
        Some(Value::String(s)) => Ok(Value::String(s.to_lowercase())),
        _ => Err("lower: a string".into()),
    }
}

fn concat(args: FuncArgs) -> Result<Value, String> {
    let mut out = Vec::new();
    for a in args.iter() {
        match a {
            Value::Array(v) => out.extend(v.iter().cloned()),
            _ => return Err("concat: lists".into()),
        }
    }
    Ok(Value::Array(out))
}

fn merge(args: FuncArgs) -> Result<Value, String> {
    let mut out = hcl::Map::new();
    for a in args.iter() {
        match a {
            Value::Object(o) => out.extend(o.iter().map(|(k, v)| (k.clone(), v.clone()))),
            Value::Null => {}
            _ => return Err("merge: objects".into()),
        }
    }
    Ok(Value::Object(out))
}

/// `toset`/`tolist`: a list stays a list (a set's order does not matter to the rules).
fn as_list(args: FuncArgs) -> Result<Value, String> {
    match args.first() {
        Some(v @ Value::Array(_)) => Ok(v.clone()),
        _ => Err("a list".into()),
    }
}

fn base_context() -> Context<'static> {
    let mut ctx = Context::new();
    ctx.declare_func(
        "concat",
        FuncDef::builder()
            .variadic_param(ParamType::Any)
            .build(concat),
    );
    ctx.declare_func(
        "merge",
        FuncDef::builder()
            .variadic_param(ParamType::Any)
            .build(merge),
    );
    for name in ["toset", "tolist"] {
        ctx.declare_func(
            name,
            FuncDef::builder().param(ParamType::Any).build(as_list),
        );
    }
    ctx.declare_func(
        "jsonencode",
        FuncDef::builder().param(ParamType::Any).build(jsonencode),
    );
    ctx.declare_func(
        "lower",
        FuncDef::builder().param(ParamType::String).build(lower),
    );
    ctx
}

fn size(v: &Value) -> Option<usize> {
    serde_json::to_vec(v)
        .ok()
        .map(|b| b.len())
        .filter(|n| *n <= MAX_VALUE_BYTES)
}

/// Whether an expression is safe to evaluate (see the module docs).
fn evaluable(e: &Expression) -> bool {
    let mut refs = 0usize;
    walk_ok(e, 0, &mut refs) && refs <= MAX_REFERENCES
}

/// Whether evaluating could change anything: a reference to `var`, `local`, `count` or
/// `each`, or an operation, call, conditional, template or `for`. A bare reference to
/// another resource (`aws_kms_key.k.arn`, the common case) is skipped without cloning.
fn worth_evaluating(e: &Expression) -> bool {
    use Expression as E;
    match e {
        E::Null | E::Bool(_) | E::Number(_) | E::String(_) => false,
        E::Variable(v) => matches!(v.as_str(), "var" | "local" | "count" | "each"),
        E::Traversal(t) => worth_evaluating(&t.expr),
        E::Array(a) => a.iter().any(worth_evaluating),
        E::Object(o) => o.iter().any(|(k, v)| {
            matches!(k, hcl::ObjectKey::Expression(x) if worth_evaluating(x)) || worth_evaluating(v)
        }),
        E::Parenthesis(x) => worth_evaluating(x),
        _ => true,
    }
}

fn walk_ok(e: &Expression, fors: usize, refs: &mut usize) -> bool {
    use Expression as E;
    match e {
        E::Null | E::Bool(_) | E::Number(_) | E::String(_) => true,
        E::Variable(_) => {
            *refs += 1;
            true
        }
        E::Traversal(t) => {
            *refs += 1;
            walk_ok(&t.expr, fors, refs)
        }
        E::TemplateExpr(t) => {
            // References inside a template count roughly by their `${`.
            let s = t.to_string();
            *refs += s.matches("${").count();
            !s.contains("%{")
        }
        E::Array(a) => a.iter().all(|x| walk_ok(x, fors, refs)),
        E::Object(o) => o.iter().all(|(k, v)| {
            let key_ok = match k {
                hcl::ObjectKey::Expression(x) => walk_ok(x, fors, refs),
                _ => true,
            };
            key_ok && walk_ok(v, fors, refs)
        }),
        E::Parenthesis(x) => walk_ok(x, fors, refs),
        E::FuncCall(f) => f.args.iter().all(|x| walk_ok(x, fors, refs)),
        E::Conditional(c) => {
            walk_ok(&c.cond_expr, fors, refs)
                && walk_ok(&c.true_expr, fors, refs)
                && walk_ok(&c.false_expr, fors, refs)
        }
        // Comparisons and logic only: arithmetic can overflow to a non-finite number,
        // which hcl-rs refuses with a panic. A negated literal (`-1`) is fine.
        E::Operation(op) => match op.as_ref() {
            hcl::expr::Operation::Unary(u) => match u.operator {
                hcl::expr::UnaryOperator::Not => walk_ok(&u.expr, fors, refs),
                hcl::expr::UnaryOperator::Neg => matches!(u.expr, E::Number(_)),
            },
            hcl::expr::Operation::Binary(b) => {
                use hcl::expr::BinaryOperator as B;
                !matches!(b.operator, B::Plus | B::Minus | B::Mul | B::Div | B::Mod)
                    && walk_ok(&b.lhs_expr, fors, refs)
                    && walk_ok(&b.rhs_expr, fors, refs)
            }
        },
        E::ForExpr(f) => {
            fors == 0
                && walk_ok(&f.collection_expr, fors + 1, refs)
                && f.key_expr
                    .as_ref()
                    .is_none_or(|k| walk_ok(k, fors + 1, refs))
                && walk_ok(&f.value_expr, fors + 1, refs)
                && f.cond_expr
                    .as_ref()
                    .is_none_or(|c| walk_ok(c, fors + 1, refs))
        }
        _ => false,
    }
}

/// The expression of a value in Terraform's JSON syntax, where every string is a
/// template (`"${var.acl}"`, `"${jsonencode({...})}"`): `None` when no string in it
/// interpolates anything (a literal).
pub fn json_expr(v: &Json) -> Option<Box<Expression>> {
    fn interpolates(v: &Json) -> bool {
        match v {
            Json::String(s) => s.contains("${"),
            Json::Array(a) => a.iter().any(interpolates),
            Json::Object(o) => o.values().any(interpolates),
            _ => false,
        }
    }
    fn conv(v: &Json) -> Expression {
        match v {
            Json::String(s) if s.contains("${") => {
                Expression::TemplateExpr(Box::new(hcl::TemplateExpr::QuotedString(s.clone())))
            }
            Json::Array(a) => Expression::Array(a.iter().map(conv).collect()),
            Json::Object(o) => Expression::Object(
                o.iter()
                    .map(|(k, v)| {
                        (
                            hcl::ObjectKey::Expression(Expression::String(k.clone())),
                            conv(v),
                        )
                    })
                    .collect(),
            ),
            other => serde_json::from_value(other.clone()).unwrap_or(Expression::Null),
        }
    }
    interpolates(v).then(|| Box::new(conv(v)))
}

/// A JSON value (a literal attribute) as an HCL value.
fn from_json(v: &Json) -> Value {
    serde_json::from_value(v.clone()).unwrap_or(Value::Null)
}

/// The value of an attribute if it evaluates completely.
fn full_value(a: &Attr, ctx: &Context<'_>) -> Option<Value> {
    let v = match &a.expr {
        None => from_json(&a.value),
        Some(e) if evaluable(e) => e.evaluate(ctx).ok()?,
        Some(_) => return None,
    };
    size(&v).is_some().then_some(v)
}

impl Scope {
    /// The scope of one module: its files' `variable` and `locals` blocks, and the
    /// `.tfvars` files Terraform loads on its own (`terraform.tfvars`, then
    /// `*.auto.tfvars`, in the order given: the caller sorts them).
    pub fn new(files: &[&Block], tfvars: &[&Block]) -> Scope {
        let mut ctx = base_context();
        let empty = base_context();
        let mut vars: BTreeMap<String, Value> = BTreeMap::new();
        for f in files {
            for v in f.blocks_named("variable") {
                let (Some(name), Some(d)) = (v.labels.first(), v.attr("default")) else {
                    continue;
                };
                if let Some(val) = full_value(d, &empty) {
                    vars.insert(name.clone(), val);
                }
            }
        }
        for t in tfvars {
            for a in &t.attrs {
                match full_value(a, &empty) {
                    Some(val) => {
                        vars.insert(a.key.clone(), val);
                    }
                    // A tfvars value that cannot be evaluated overrides the default
                    // with an unknown.
                    None => {
                        vars.remove(&a.key);
                    }
                }
            }
        }
        let mut bytes = 0usize;
        vars.retain(|_, v| {
            let n = size(v).unwrap_or(usize::MAX);
            if bytes.saturating_add(n) <= MAX_SCOPE_BYTES {
                bytes += n;
                true
            } else {
                false
            }
        });
        let var_value = Value::Object(vars.into_iter().collect());
        ctx.declare_var("var", var_value.clone());
        let mut pending: Vec<&Attr> = files
            .iter()
            .flat_map(|f| f.blocks_named("locals"))
            .flat_map(|l| l.attrs.iter())
            .collect();
        let mut locals: BTreeMap<String, Value> = BTreeMap::new();
        for _ in 0..MAX_LOCAL_ROUNDS {
            let mut ready = base_context();
            ready.declare_var("var", var_value.clone());
            ready.declare_var(
                "local",
                Value::Object(locals.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
            );
            let before = pending.len();
            pending.retain(|a| match full_value(a, &ready) {
                Some(v) => {
                    let n = size(&v).unwrap_or(usize::MAX);
                    if bytes.saturating_add(n) <= MAX_SCOPE_BYTES {
                        bytes += n;
                        locals.insert(a.key.clone(), v);
                        false
                    } else {
                        true
                    }
                }
                None => true,
            });
            if pending.len() == before || pending.is_empty() {
                break;
            }
        }
        ctx.declare_var("local", Value::Object(locals.into_iter().collect()));
        Scope {
            ctx,
            bytes,
            budget: std::cell::Cell::new(EXPANSION_BUDGET),
        }
    }

    /// The instances of a resource block: `count` and `for_each` expanded when they
    /// evaluate (to at most [`MAX_INSTANCES`]), with `count.index`, `each.key` and
    /// `each.value` known in each; otherwise one instance with an empty index. A `count`
    /// of 0 or an empty `for_each` means no instance, as in Terraform.
    pub fn instances(&self, b: &Block) -> Vec<Instance> {
        let single = || {
            vec![Instance {
                index: String::new(),
                block: self.apply(b),
            }]
        };
        let keys: Vec<(String, Vec<(&str, Value)>)> = if let Some(c) = b.attr("count") {
            let Some(n) = full_value(c, &self.ctx).and_then(|v| v.as_u64()) else {
                return single();
            };
            if n as usize > MAX_INSTANCES {
                return single();
            }
            (0..n)
                .map(|i| {
                    let mut count = hcl::Map::new();
                    count.insert("index".to_string(), Value::from(i));
                    (format!("[{i}]"), vec![("count", Value::Object(count))])
                })
                .collect()
        } else if let Some(f) = b.attr("for_each") {
            let pairs: Vec<(String, Value)> = match full_value(f, &self.ctx) {
                Some(Value::Object(o)) => o.into_iter().collect(),
                Some(Value::Array(a)) => {
                    let keys: Option<Vec<String>> =
                        a.iter().map(|v| v.as_str().map(str::to_string)).collect();
                    match keys {
                        Some(k) => k
                            .into_iter()
                            .map(|k| (k.clone(), Value::String(k)))
                            .collect(),
                        None => return single(),
                    }
                }
                _ => return single(),
            };
            if pairs.len() > MAX_INSTANCES {
                return single();
            }
            pairs
                .into_iter()
                .map(|(k, v)| {
                    let mut each = hcl::Map::new();
                    each.insert("key".to_string(), Value::String(k.clone()));
                    each.insert("value".to_string(), v);
                    let index = serde_json::to_string(&k).unwrap_or_default();
                    (format!("[{index}]"), vec![("each", Value::Object(each))])
                })
                .collect()
        } else {
            return single();
        };
        let cost = keys.len().saturating_mul(self.bytes.max(1024));
        if cost > self.budget.get() {
            return single();
        }
        self.budget.set(self.budget.get() - cost);
        keys.into_iter()
            .map(|(index, extra)| {
                let mut ctx = self.ctx.clone();
                for (name, v) in extra {
                    ctx.declare_var(name, v);
                }
                let mut block = b.clone();
                apply_in(&ctx, &mut block);
                Instance { index, block }
            })
            .collect()
    }

    /// A copy of `b` with every attribute evaluated as far as it goes (unknown parts stay
    /// `${…}`).
    pub fn apply(&self, b: &Block) -> Block {
        let mut out = b.clone();
        apply_in(&self.ctx, &mut out);
        out
    }
}

fn apply_in(ctx: &Context<'_>, b: &mut Block) {
    for a in &mut b.attrs {
        let Some(e) = &a.expr else { continue };
        if !worth_evaluating(e) || !evaluable(e) {
            continue;
        }
        let mut e = (**e).clone();
        // Errors only mean that part stays unknown.
        let _ = e.evaluate_in_place(ctx);
        a.value = match &e {
            // `jsonencode({... unknown parts ...})`: the document with its unknown parts
            // as `${…}` (what a policy rule can still read), not one opaque expression.
            Expression::FuncCall(f)
                if f.name.name.as_str() == "jsonencode" && f.args.len() == 1 =>
            {
                expr_json(&f.args[0])
            }
            _ => expr_json(&e),
        };
    }
    for nb in &mut b.blocks {
        apply_in(ctx, nb);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope_for(src: &str, tfvars: &str) -> (Scope, Block) {
        let root = super::super::hcl::parse(src).unwrap();
        let tv = super::super::hcl::parse(tfvars).unwrap();
        (Scope::new(&[&root], &[&tv]), root)
    }

    #[test]
    fn variables_locals_tfvars_and_templates() {
        let (s, root) = scope_for(
            r#"
variable "acl" { default = "private" }
variable "port" { default = 22 }
variable "nodefault" {}
locals {
  name = "${local.prefix}-logs"
  prefix = "acme"
  open = var.port == 22 ? ["0.0.0.0/0"] : []
}
resource "x" "y" {
  acl = var.acl
  name = local.name
  cidrs = local.open
  kms = aws_kms_key.k.arn
  other = var.nodefault
  policy = jsonencode({ Effect = "Allow", Action = "*" })
  tags = { a = var.acl, b = aws_x.y.id }
}
"#,
            "acl = \"public-read\"\n",
        );
        let r = s.apply(root.blocks.last().unwrap());
        assert_eq!(r.attr("acl").unwrap().value, json!("public-read"));
        assert_eq!(r.attr("name").unwrap().value, json!("acme-logs"));
        assert_eq!(r.attr("cidrs").unwrap().value, json!(["0.0.0.0/0"]));
        assert_eq!(r.attr("kms").unwrap().value, json!("${aws_kms_key.k.arn}"));
        assert_eq!(r.attr("other").unwrap().value, json!("${var.nodefault}"));
        assert_eq!(
            r.attr("policy").unwrap().value,
            json!("{\"Effect\":\"Allow\",\"Action\":\"*\"}")
        );
        assert_eq!(
            r.attr("tags").unwrap().value,
            json!({"a": "public-read", "b": "${aws_x.y.id}"})
        );
    }

    #[test]
    fn cyclic_and_huge_locals_stay_unknown() {
        let mut src =
            String::from("locals {\n a = local.b\n b = local.a\n l0 = [\"xxxxxxxxxxxxxxxx\"]\n");
        for i in 1..40 {
            src.push_str(&format!(" l{i} = [local.l{p}, local.l{p}]\n", p = i - 1));
        }
        src.push_str(
            "}\nresource \"x\" \"y\" {\n a = local.a\n big = local.l39\n ok = local.l3\n}\n",
        );
        let (s, root) = scope_for(&src, "");
        let start = std::time::Instant::now();
        let r = s.apply(root.blocks.last().unwrap());
        assert!(start.elapsed().as_secs() < 5);
        assert_eq!(r.attr("a").unwrap().value, json!("${local.a}"));
        assert_eq!(r.attr("big").unwrap().value, json!("${local.l39}"));
        assert!(r.attr("ok").unwrap().value.is_array());
    }

    #[test]
    fn count_and_for_each_expand() {
        let (s, root) = scope_for(
            "variable \"n\" { default = 2 }\nlocals {\n m = { a = \"22\", b = \"80\" }\n}\nresource \"x\" \"c\" {\n count = var.n\n i = count.index\n}\nresource \"x\" \"f\" {\n for_each = local.m\n p = each.value\n k = \"${each.key}-x\"\n}\nresource \"x\" \"u\" {\n count = length(aws_x.y)\n}\nresource \"x\" \"big\" {\n count = 100000\n}\n",
            "",
        );
        let c = s.instances(&root.blocks[2]);
        assert_eq!(c.len(), 2);
        assert_eq!(c[1].index, "[1]");
        assert_eq!(c[1].block.attr("i").unwrap().value, json!(1));
        let f = s.instances(&root.blocks[3]);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].index, "[\"a\"]");
        assert_eq!(f[1].block.attr("p").unwrap().value, json!("80"));
        assert_eq!(f[0].block.attr("k").unwrap().value, json!("a-x"));
        assert_eq!(s.instances(&root.blocks[4]).len(), 1);
        assert_eq!(s.instances(&root.blocks[4])[0].index, "");
        assert_eq!(s.instances(&root.blocks[5]).len(), 1);
    }

    #[test]
    fn arithmetic_edge_cases_do_not_panic() {
        let (s, root) = scope_for(
            "variable \"big\" { default = 1e308 }\nlocals {\n z = 0\n}\nresource \"x\" \"y\" {\n a = 1 / local.z\n b = var.big * 10\n c = -9223372036854775808 - 1\n d = 5 % local.z\n e = \"${var.big}\" + 1\n count = 1 / local.z\n}\n",
            "",
        );
        let b = root.blocks.last().unwrap();
        let _ = s.apply(b);
        let _ = s.instances(b);
        // A literal too large for a float is the parser's business, and not a panic.
        let _ = crate::scan_file(
            "big.tf",
            b"resource \"x\" \"y\" {\n a = 1e999\n b = var.x == 1e999\n}\n",
        );
    }

    #[test]
    fn nested_for_is_not_evaluated() {
        let (s, root) = scope_for(
            "variable \"l\" { default = [1, 2, 3] }\nresource \"x\" \"y\" {\n a = [for i in var.l : [for j in var.l : i * j]]\n b = [for i in var.l : \"p${i}\"]\n}\n",
            "",
        );
        let r = s.apply(root.blocks.last().unwrap());
        assert!(r.attr("a").unwrap().value.is_string());
        assert_eq!(r.attr("b").unwrap().value, json!(["p1", "p2", "p3"]));
    }
}
