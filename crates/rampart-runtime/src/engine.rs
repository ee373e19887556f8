//! The rule engine: a [`Ruleset`] compiled once for the `k8s_audit` source, then applied
//! to each event.

use std::collections::BTreeMap;
use std::path::Path;

use crate::alert::Alert;
use crate::condition::{self, Ast, FieldRef, Literal, Op, Rhs};
use crate::event::AuditEvent;
use crate::fields::{format_time, Ctx, Needs, TimeStyle};
use crate::filter::{Defs, Expr};
use crate::output::Format;
use crate::rules::{
    ExcValue, ExceptionDef, LoadError, LoadErrors, OneOrMany, Origin, Priority, RuleDef, Ruleset,
};

thread_local! {
    static MEMO: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The event source Rampart ingests.
pub const K8S_AUDIT_SOURCE: &str = "k8s_audit";

/// Engine options.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Host name reported in alerts and `evt.hostname`.
    pub hostname: String,
    /// Cluster name for `ka.cluster.name`.
    pub cluster: Option<String>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            hostname: hostname(),
            cluster: None,
        }
    }
}

/// This machine's host name (from `HOSTNAME`, `/proc/sys/kernel/hostname` or
/// `/etc/hostname`).
pub fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// A rule compiled for the `k8s_audit` source.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    /// Name.
    pub name: String,
    /// Description.
    pub desc: String,
    /// Priority.
    pub priority: Priority,
    /// Tags.
    pub tags: Vec<String>,
    /// Whether enabled (disabled rules are compiled, so they are checked, but not run).
    pub enabled: bool,
    /// Where it was defined.
    pub origin: Origin,
    /// The condition (with exceptions folded in).
    pub expr: Expr,
    /// The output format.
    pub output: Format,
}

impl CompiledRule {
    /// The most detailed part of an event this rule reads (condition and output).
    pub fn needs(&self) -> Needs {
        self.output
            .extractors()
            .map(|e| e.needs())
            .fold(self.expr.needs(), Needs::max)
    }
}

/// The compiled rules.
#[derive(Debug, Clone)]
pub struct Engine {
    rules: Vec<CompiledRule>,
    active: Vec<usize>,
    skipped: BTreeMap<String, usize>,
    opts: EngineOptions,
    slots: usize,
    /// Warnings from loading (unknown keys, legacy forms).
    pub warnings: Vec<LoadError>,
}

impl Engine {
    /// Load rules files (or directories) in order and compile them.
    pub fn from_paths<P: AsRef<Path>>(
        paths: &[P],
        opts: EngineOptions,
    ) -> Result<Engine, LoadErrors> {
        let mut rs = Ruleset::new();
        for p in paths {
            rs.load_path(p.as_ref()).map_err(|e| LoadErrors(vec![e]))?;
        }
        Engine::compile(&rs, opts)
    }

    /// Compile a ruleset. Every macro and every rule condition is parsed (whatever its
    /// source); rules of the `k8s_audit` source are compiled, with unknown fields,
    /// undefined macros and bad values reported as errors; rules of other sources are
    /// counted in [`Engine::skipped`].
    pub fn compile(rs: &Ruleset, opts: EngineOptions) -> Result<Engine, LoadErrors> {
        let mut errors = Vec::new();
        let mut defs = Defs::default();
        for m in &rs.macros {
            match condition::parse(&m.condition) {
                Ok(ast) => {
                    defs.macros.insert(m.name.clone(), ast);
                }
                Err(e) => errors.push(LoadError {
                    origin: rs
                        .locate(&m.condition_parts, &m.condition, e.offset)
                        .unwrap_or_else(|| m.origin.clone()),
                    context: Some(format!("macro '{}'", m.name)),
                    message: describe_parse_error(&m.condition, &e),
                }),
            }
        }
        for l in &rs.lists {
            defs.lists.insert(l.name.clone(), l.items.clone());
        }
        let mut rules = Vec::new();
        let mut skipped = BTreeMap::new();
        for r in &rs.rules {
            let ctx = Some(format!("rule '{}'", r.name));
            let ast = match condition::parse(&r.condition) {
                Ok(a) => a,
                Err(e) => {
                    errors.push(LoadError {
                        origin: rs
                            .locate(&r.condition_parts, &r.condition, e.offset)
                            .unwrap_or_else(|| r.condition_origin.clone()),
                        context: ctx,
                        message: describe_parse_error(&r.condition, &e),
                    });
                    continue;
                }
            };
            if r.source != K8S_AUDIT_SOURCE {
                *skipped.entry(r.source.clone()).or_insert(0) += 1;
                continue;
            }
            match compile_rule(r, ast, &defs, rs) {
                Ok(c) => rules.push(c),
                // `skip-if-unknown-filter: true`: the rule is skipped, not an error.
                Err((_, message))
                    if r.skip_if_unknown_filter && message.contains("unknown field") =>
                {
                    *skipped.entry("unknown filter".to_string()).or_insert(0) += 1;
                }
                // A macro that failed to parse was reported already.
                Err((_, message))
                    if message
                        .strip_prefix("undefined macro '")
                        .and_then(|m| m.split('\'').next())
                        .is_some_and(|m| rs.macro_def(m).is_some()) => {}
                Err((origin, message)) => errors.push(LoadError {
                    origin,
                    context: ctx,
                    message,
                }),
            }
        }
        if !errors.is_empty() {
            return Err(LoadErrors(errors));
        }
        let slots = defs.check_slots();
        // Rules whose condition folds to false (off by default through a macro such as
        // `k8s_audit_never_true`) are compiled but never run.
        let active = (0..rules.len())
            .filter(|i| rules[*i].enabled && !matches!(rules[*i].expr, Expr::Const(false)))
            .collect();
        Ok(Engine {
            rules,
            active,
            skipped,
            opts,
            slots,
            warnings: rs.warnings.clone(),
        })
    }

    /// Every compiled rule (enabled or not).
    pub fn rules(&self) -> &[CompiledRule] {
        &self.rules
    }

    /// The rules that can fire: enabled, and with a condition that is not constant false.
    pub fn enabled_rules(&self) -> impl Iterator<Item = &CompiledRule> {
        self.active.iter().map(|i| &self.rules[*i])
    }

    /// Rules skipped because Rampart does not ingest their source: source → count.
    pub fn skipped(&self) -> &BTreeMap<String, usize> {
        &self.skipped
    }

    /// A one-line summary of skipped rules, if any.
    pub fn skipped_summary(&self) -> Option<String> {
        if self.skipped.is_empty() {
            return None;
        }
        let total: usize = self.skipped.values().sum();
        let parts: Vec<String> = self
            .skipped
            .iter()
            .map(|(s, n)| format!("{s}: {n}"))
            .collect();
        Some(format!(
            "skipped {total} rule(s) rampart does not run (by event source, or unknown filter: {}); parsed, not run",
            parts.join(", ")
        ))
    }

    /// The options in force.
    pub fn options(&self) -> &EngineOptions {
        &self.opts
    }

    /// Run every enabled rule on an event (`num` is its 1-based sequence number), pushing
    /// an alert per matching rule.
    pub fn process_into(&self, ev: &AuditEvent, num: u64, out: &mut Vec<Alert>) {
        let ctx = Ctx {
            ev,
            num,
            hostname: &self.opts.hostname,
            cluster: self.opts.cluster.as_deref(),
        };
        MEMO.with(|m| {
            let mut memo = m.borrow_mut();
            memo.clear();
            memo.resize(self.slots, 0);
            for &i in &self.active {
                let r = &self.rules[i];
                if r.expr.eval_memo(&ctx, &mut memo) {
                    out.push(self.alert(r, &ctx));
                }
            }
        });
    }

    /// Run every enabled rule on an event.
    pub fn process(&self, ev: &AuditEvent, num: u64) -> Vec<Alert> {
        let mut out = Vec::new();
        self.process_into(ev, num, &mut out);
        out
    }

    /// Count matches without building alerts (for benchmarks).
    pub fn count_matches(&self, ev: &AuditEvent, num: u64) -> usize {
        let ctx = Ctx {
            ev,
            num,
            hostname: &self.opts.hostname,
            cluster: self.opts.cluster.as_deref(),
        };
        self.active
            .iter()
            .filter(|&&i| self.rules[i].expr.eval(&ctx))
            .count()
    }

    fn alert(&self, r: &CompiledRule, ctx: &Ctx<'_>) -> Alert {
        let t = ctx.ev.time_ns();
        let message = r.output.render(ctx);
        let mut output_fields = r.output.fields(ctx);
        output_fields.insert("evt.time".into(), serde_json::Value::from(t));
        Alert {
            time: format_time(t, TimeStyle::Iso),
            rule: r.name.clone(),
            priority: r.priority,
            output: format!(
                "{}: {} {}",
                format_time(t, TimeStyle::Hms),
                r.priority,
                message
            ),
            output_fields,
            source: K8S_AUDIT_SOURCE.into(),
            tags: r.tags.clone(),
            hostname: self.opts.hostname.clone(),
            message,
        }
    }
}

fn compile_rule(
    r: &RuleDef,
    ast: Ast,
    defs: &Defs,
    rs: &Ruleset,
) -> Result<CompiledRule, (Origin, String)> {
    let mut clauses = Vec::new();
    for e in &r.exceptions {
        if let Some(c) = exception_ast(e).map_err(|m| (e.origin.clone(), m))? {
            // Checked on its own first, so its errors point at the exception.
            defs.compile(&c)
                .map_err(|x| (e.origin.clone(), format!("exception '{}': {x}", e.name)))?;
            clauses.push(c);
        }
    }
    let full = if clauses.is_empty() {
        ast
    } else {
        let not = Ast::Not(Box::new(if clauses.len() == 1 {
            clauses.remove(0)
        } else {
            Ast::Or(clauses)
        }));
        Ast::And(vec![ast, not])
    };
    let expr = defs.compile(&full).map_err(|e| match &e.in_macro {
        Some(name) => {
            let origin = rs.macro_def(name).and_then(|m| {
                rs.locate(&m.condition_parts, &m.condition, e.offset)
                    .or_else(|| Some(m.origin.clone()))
            });
            (
                origin.unwrap_or_else(|| r.condition_origin.clone()),
                e.to_string(),
            )
        }
        None => {
            let origin = rs
                .locate(&r.condition_parts, &r.condition, e.offset)
                .unwrap_or_else(|| r.condition_origin.clone());
            (
                origin,
                format!("{} ({})", e.message, excerpt(&r.condition, e.offset)),
            )
        }
    })?;
    let output = Format::parse(&r.output).map_err(|m| (r.origin.clone(), m))?;
    Ok(CompiledRule {
        name: r.name.clone(),
        desc: r.desc.clone(),
        priority: r.priority,
        tags: r.tags.clone(),
        enabled: r.enabled,
        origin: r.origin.clone(),
        expr,
        output,
    })
}

/// Falco's exception semantics: each value tuple becomes `(f1 c1 v1 and f2 c2 v2 …)`,
/// tuples are or-ed, and the rule gets `and not (…)`. A single field (not a list) takes a
/// list of values compared with its one operator (default `in`).
fn exception_ast(e: &ExceptionDef) -> Result<Option<Ast>, String> {
    let name = &e.name;
    let fields = e
        .fields
        .as_ref()
        .ok_or_else(|| format!("exception '{name}' has no 'fields'"))?;
    if e.values.is_empty() {
        return Ok(None);
    }
    let field = |f: &str| -> Result<FieldRef, String> {
        condition::parse_field(f)
            .map_err(|x| format!("exception '{name}': invalid field '{f}': {}", x.message))
    };
    let op_of = |c: &str| -> Result<Op, String> {
        Op::parse(c).ok_or_else(|| format!("exception '{name}': unknown comparison operator '{c}'"))
    };
    let lit = |s: &str, quoted: bool| Literal {
        text: s.to_string(),
        quoted,
    };
    let check = |f: FieldRef, op: Op, v: &ExcValue| -> Result<Ast, String> {
        let rhs = match (op.takes_list(), v) {
            (_, _) if op == Op::Exists => Rhs::None,
            // A scalar for a list operator names a list (or is a single value).
            (true, ExcValue::Scalar(s)) => Rhs::List(vec![lit(s, false)]),
            (true, ExcValue::List(items)) => Rhs::List(
                items
                    .iter()
                    .map(|i| match i {
                        ExcValue::Scalar(s) => Ok(lit(s, false)),
                        ExcValue::List(_) => Err(format!("exception '{name}': nested list value")),
                    })
                    .collect::<Result<_, _>>()?,
            ),
            (false, ExcValue::Scalar(s)) => Rhs::Value(lit(s, true)),
            (false, ExcValue::List(_)) => {
                return Err(format!(
                    "exception '{name}': operator '{}' takes a single value, found a list",
                    op.as_str()
                ))
            }
        };
        Ok(Ast::Check { field: f, op, rhs })
    };
    match fields {
        OneOrMany::One(f) => {
            let op = match &e.comps {
                None => Op::In,
                Some(OneOrMany::One(c)) => op_of(c)?,
                Some(OneOrMany::Many(_)) => {
                    return Err(format!(
                    "exception '{name}': 'fields' is one field, so 'comps' must be one operator"
                ))
                }
            };
            let f = field(f)?;
            if op.takes_list() {
                let items = ExcValue::List(e.values.clone());
                Ok(Some(check(f, op, &items)?))
            } else {
                let ors = e
                    .values
                    .iter()
                    .map(|v| check(f.clone(), op, v))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Some(Ast::Or(ors)))
            }
        }
        OneOrMany::Many(fs) => {
            let ops: Vec<Op> = match &e.comps {
                None => vec![Op::Eq; fs.len()],
                Some(OneOrMany::Many(cs)) => {
                    if cs.len() != fs.len() {
                        return Err(format!(
                            "exception '{name}': {} fields but {} comps",
                            fs.len(),
                            cs.len()
                        ));
                    }
                    cs.iter().map(|c| op_of(c)).collect::<Result<_, _>>()?
                }
                Some(OneOrMany::One(_)) => {
                    return Err(format!(
                        "exception '{name}': 'fields' is a list, so 'comps' must be a list"
                    ))
                }
            };
            let refs = fs.iter().map(|f| field(f)).collect::<Result<Vec<_>, _>>()?;
            let mut ors = Vec::new();
            for v in &e.values {
                let ExcValue::List(tuple) = v else {
                    return Err(format!(
                        "exception '{name}': each value must be a list of {} items",
                        fs.len()
                    ));
                };
                if tuple.len() != fs.len() {
                    return Err(format!(
                        "exception '{name}': value has {} items but there are {} fields",
                        tuple.len(),
                        fs.len()
                    ));
                }
                let ands = refs
                    .iter()
                    .zip(&ops)
                    .zip(tuple)
                    .map(|((f, op), v)| check(f.clone(), *op, v))
                    .collect::<Result<Vec<_>, _>>()?;
                ors.push(Ast::And(ands));
            }
            Ok(Some(Ast::Or(ors)))
        }
    }
}

fn excerpt(cond: &str, offset: usize) -> String {
    let flat: String = cond
        .chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .collect();
    let mut start = offset.saturating_sub(30);
    while start > 0 && !flat.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = (offset + 30).min(flat.len());
    while end < flat.len() && !flat.is_char_boundary(end) {
        end += 1;
    }
    let caret = offset.saturating_sub(start);
    let pre = if start > 0 { "…" } else { "" };
    format!(
        "at offset {offset}: `{pre}{}` ^ column {}",
        &flat[start..end],
        caret + 1 + pre.chars().count()
    )
}

fn describe_parse_error(cond: &str, e: &condition::ParseError) -> String {
    format!(
        "invalid condition: {} ({})",
        e.message,
        excerpt(cond, e.offset)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> Vec<LoadError> {
        let mut rs = Ruleset::new();
        rs.load_str("r.yaml", text).unwrap();
        Engine::compile(&rs, EngineOptions::default())
            .unwrap_err()
            .0
    }

    #[test]
    fn skip_if_unknown_filter() {
        let mut rs = Ruleset::new();
        rs.load_str(
            "r.yaml",
            "- rule: R\n  desc: d\n  condition: ka.nope = 1\n  output: o\n  priority: INFO\n  source: k8s_audit\n  skip-if-unknown-filter: true\n",
        )
        .unwrap();
        let e = Engine::compile(&rs, EngineOptions::default()).unwrap();
        assert!(e.rules().is_empty());
        assert_eq!(e.skipped().get("unknown filter"), Some(&1));
    }

    #[test]
    fn condition_errors_point_at_the_token() {
        let e = errors(
            "- macro: m\n  condition: >\n    ka.verb = get and\n    (ka.user.name = x\n- rule: R\n  desc: d\n  condition: >\n    m and\n      ka.nope = 1\n  output: o\n  priority: INFO\n  source: k8s_audit\n",
        );
        let msgs: Vec<String> = e.iter().map(ToString::to_string).collect();
        assert!(
            msgs.iter()
                .any(|m| m.starts_with("r.yaml:4:22: macro 'm': invalid condition: expected ')'")),
            "{msgs:?}"
        );
        assert_eq!(msgs.len(), 1, "{msgs:?}");
        let e = errors(
            "- rule: R\n  desc: d\n  condition: ka.verb = get and\n    ka.nope = 1\n  output: o\n  priority: INFO\n  source: k8s_audit\n",
        );
        assert_eq!(
            e[0].origin.pos,
            crate::yaml::Pos { line: 4, column: 5 },
            "{}",
            e[0]
        );
        assert!(e[0].message.contains("unknown field 'ka.nope'"), "{}", e[0]);
        let e = errors(
            "- rule: R\n  desc: d\n  condition: ka.verb = get\n  output: o\n  priority: INFO\n  source: k8s_audit\n  exceptions:\n    - name: bad\n      fields: [ka.nope]\n      values: [[x]]\n",
        );
        assert_eq!(e[0].origin.pos.line, 8, "{}", e[0]);
        assert!(e[0].message.contains("exception 'bad'"), "{}", e[0]);
    }
}
