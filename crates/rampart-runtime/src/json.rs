//! A compact, borrowed JSON document for audit events: strings point into the input
//! (unless they had escapes), objects are vectors in document order. Decoding one is
//! several times cheaper than building a `serde_json::Value` (no map nodes, no string
//! copies), which matters at hundreds of thousands of events per second.

use std::borrow::Cow;
use std::fmt::{self, Write as _};

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// A JSON number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    /// Unsigned integer.
    U(u64),
    /// Negative integer.
    I(i64),
    /// Anything else.
    F(f64),
}

/// A JSON value borrowing from its source text.
#[derive(Debug, Clone, PartialEq)]
pub enum J<'a> {
    /// `null`
    Null,
    /// `true`/`false`
    Bool(bool),
    /// A number.
    Num(Num),
    /// A string.
    Str(Cow<'a, str>),
    /// An array.
    Arr(Vec<J<'a>>),
    /// An object, in document order.
    Obj(Vec<(Cow<'a, str>, J<'a>)>),
}

impl<'a> J<'a> {
    /// A member of an object.
    pub fn get(&self, key: &str) -> Option<&J<'a>> {
        match self {
            J::Obj(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            J::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            J::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// Follow pre-split, unescaped JSON pointer tokens.
    pub fn pointer(&self, tokens: &[String]) -> Option<&J<'a>> {
        let mut cur = self;
        for t in tokens {
            cur = match cur {
                J::Obj(_) => cur.get(t)?,
                J::Arr(a) => a.get(t.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(cur)
    }

    /// Compact JSON text.
    pub fn write_json(&self, out: &mut String) {
        match self {
            J::Null => out.push_str("null"),
            J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            J::Num(Num::U(n)) => {
                let _ = write!(out, "{n}");
            }
            J::Num(Num::I(n)) => {
                let _ = write!(out, "{n}");
            }
            J::Num(Num::F(n)) => out.push_str(&serde_json::Value::from(*n).to_string()),
            J::Str(s) => write_str(out, s),
            J::Arr(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write_json(out);
                }
                out.push(']');
            }
            J::Obj(m) => {
                out.push('{');
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_str(out, k);
                    out.push(':');
                    v.write_json(out);
                }
                out.push('}');
            }
        }
    }

    /// Convert to a `serde_json::Value`.
    pub fn to_value(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            J::Null => Value::Null,
            J::Bool(b) => Value::Bool(*b),
            J::Num(Num::U(n)) => Value::from(*n),
            J::Num(Num::I(n)) => Value::from(*n),
            J::Num(Num::F(n)) => Value::from(*n),
            J::Str(s) => Value::String(s.to_string()),
            J::Arr(a) => Value::Array(a.iter().map(J::to_value).collect()),
            J::Obj(m) => Value::Object(
                m.iter()
                    .map(|(k, v)| (k.to_string(), v.to_value()))
                    .collect(),
            ),
        }
    }
}

impl fmt::Display for J<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        self.write_json(&mut s);
        f.write_str(&s)
    }
}

fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

struct Key<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Key<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for J<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = J<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(J::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(J::Null)
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(J::Bool(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(J::Num(Num::U(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(if v >= 0 {
                    J::Num(Num::U(v.unsigned_abs()))
                } else {
                    J::Num(Num::I(v))
                })
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(J::Num(Num::F(v)))
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(J::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(J::Str(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(J::Str(Cow::Owned(v)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut v = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
                while let Some(x) = seq.next_element::<J<'de>>()? {
                    v.push(x);
                }
                Ok(J::Arr(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut m = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
                while let Some(Key(k)) = map.next_key::<Key<'de>>()? {
                    let v = map.next_value::<J<'de>>()?;
                    m.push((k, v));
                }
                Ok(J::Obj(m))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borrows_and_roundtrips() {
        let text = r#"{"a":"x","b":[1,-2,1.5,true,null],"c":{"d":"e\"f"},"a~b/c":0}"#;
        let j: J<'_> = serde_json::from_str(text).unwrap();
        assert!(matches!(j.get("a"), Some(J::Str(Cow::Borrowed("x")))));
        assert_eq!(j.get("c").unwrap().get("d").unwrap().as_str(), Some("e\"f"));
        assert_eq!(j.to_string(), text);
        assert_eq!(
            j.pointer(&["b".into(), "2".into()]),
            Some(&J::Num(Num::F(1.5)))
        );
        assert_eq!(j.pointer(&["a~b/c".into()]), Some(&J::Num(Num::U(0))));
        let v: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(j.to_value(), v);
    }
}
