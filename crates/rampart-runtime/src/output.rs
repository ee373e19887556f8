//! Rule output formats: `%field` (and `%field[arg]`, `%tolower(field)`) substitution,
//! resolved at load time. Missing values print as `<NA>`; list values as `(a,b)`.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::condition::parse_field;
use crate::fields::{Ctx, Extractor, Vals};

/// What Falco prints for a value that is not available.
pub const NA: &str = "<NA>";

#[derive(Debug, Clone)]
enum Part {
    Lit(String),
    Field(String, Extractor),
}

/// A compiled output format.
#[derive(Debug, Clone)]
pub struct Format {
    parts: Vec<Part>,
}

fn is_field_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'.'
}

impl Format {
    /// Compile a format; unknown fields are errors.
    pub fn parse(s: &str) -> Result<Format, String> {
        let b = s.as_bytes();
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut i = 0;
        let mut last = 0;
        while i < b.len() {
            if b[i] != b'%' {
                i += 1;
                continue;
            }
            let start = i + 1;
            if b.get(start) == Some(&b'%') {
                lit.push_str(&s[last..i]);
                lit.push('%');
                i += 2;
                last = i;
                continue;
            }
            if !b.get(start).is_some_and(|c| c.is_ascii_alphabetic()) {
                i += 1;
                continue;
            }
            let mut j = start;
            while j < b.len() && is_field_char(b[j]) {
                j += 1;
            }
            // Transformer call: %tolower(ka.user.name)
            if b.get(j) == Some(&b'(') {
                if let Some(close) = s[j..].find(')') {
                    let text = &s[start..j + close + 1];
                    if let Ok(r) = parse_field(text) {
                        if !r.transformers.is_empty() {
                            let ex = Extractor::resolve(&r)?;
                            lit.push_str(&s[last..i]);
                            parts.push(Part::Lit(std::mem::take(&mut lit)));
                            parts.push(Part::Field(text.to_string(), ex));
                            i = j + close + 1;
                            last = i;
                            continue;
                        }
                    }
                }
            }
            // A trailing dot ends the sentence, not the field.
            while j > start && b[j - 1] == b'.' {
                j -= 1;
            }
            if b.get(j) == Some(&b'[') {
                if let Some(close) = s[j..].find(']') {
                    j += close + 1;
                }
            }
            let text = &s[start..j];
            let r = parse_field(text)
                .map_err(|e| format!("invalid output field '%{text}': {}", e.message))?;
            let ex = Extractor::resolve(&r).map_err(|e| format!("invalid output: {e}"))?;
            lit.push_str(&s[last..i]);
            parts.push(Part::Lit(std::mem::take(&mut lit)));
            parts.push(Part::Field(text.to_string(), ex));
            i = j;
            last = j;
        }
        lit.push_str(&s[last..]);
        parts.push(Part::Lit(lit));
        parts.retain(|p| !matches!(p, Part::Lit(l) if l.is_empty()));
        Ok(Format { parts })
    }

    /// Render for one event.
    pub fn render(&self, ctx: &Ctx<'_>) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Lit(l) => out.push_str(l),
                Part::Field(_, ex) => out.push_str(&display(&ex.extract(ctx), ex.is_list())),
            }
        }
        out
    }

    /// The fields this format prints, with their values (`null` when not available).
    pub fn fields(&self, ctx: &Ctx<'_>) -> BTreeMap<String, Value> {
        let mut m = BTreeMap::new();
        for p in &self.parts {
            if let Part::Field(name, ex) = p {
                let v = ex.extract(ctx);
                let val = if v.is_empty() {
                    Value::Null
                } else {
                    Value::String(display(&v, ex.is_list()))
                };
                m.insert(name.clone(), val);
            }
        }
        m
    }

    /// The extractors used (for audit-policy derivation).
    pub fn extractors(&self) -> impl Iterator<Item = &Extractor> {
        self.parts.iter().filter_map(|p| match p {
            Part::Field(_, e) => Some(e),
            Part::Lit(_) => None,
        })
    }
}

fn display(v: &Vals<'_>, list: bool) -> String {
    match v {
        Vals::None => NA.to_string(),
        Vals::Many(items) if items.is_empty() => NA.to_string(),
        Vals::One(s) if list => format!("({s})"),
        Vals::One(s) => s.to_string(),
        Vals::Many(items) if list || items.len() != 1 => {
            let inner: Vec<&str> = items.iter().map(AsRef::as_ref).collect();
            format!("({})", inner.join(","))
        }
        Vals::Many(items) => items[0].to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::AuditEvent;

    #[test]
    fn substitutes_fields() {
        let e = AuditEvent::from_json(
            r#"{"auditID":"a","stage":"ResponseComplete","verb":"get","user":{"username":"bob"},"requestURI":"/x?command=ls","requestObject":{"spec":{"containers":[{"image":"a"},{"image":"b"}]}}}"#,
        )
        .unwrap();
        let ctx = Ctx {
            ev: &e,
            num: 1,
            hostname: "h",
            cluster: None,
        };
        let f = Format::parse(
            "user=%ka.user.name. img=%ka.req.pod.containers.image ns=%ka.target.namespace cmd=%ka.uri.param[command] %% %tolower(ka.verb) 50%",
        )
        .unwrap();
        assert_eq!(
            f.render(&ctx),
            "user=bob. img=(a,b) ns=<NA> cmd=ls % get 50%"
        );
        let fields = f.fields(&ctx);
        assert_eq!(fields["ka.target.namespace"], Value::Null);
        assert_eq!(fields["ka.uri.param[command]"], "ls");
        assert!(Format::parse("x=%ka.nope")
            .unwrap_err()
            .contains("unknown field"));
    }
}
