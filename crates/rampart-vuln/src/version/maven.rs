//! Maven versions, ordered like `org.apache.maven.artifact.versioning.ComparableVersion`.
//!
//! The string is split into tokens at `.`, `-` and digit/letter transitions (a
//! transition counts as `-`); each token remembers its separator. Trailing "null"
//! tokens (`0`, ``, `final`, `ga`, `release`) are trimmed before each `-`. Known
//! qualifiers order `alpha < beta < milestone < rc = cr < snapshot < "" = ga = final <
//! sp`, unknown qualifiers after them alphabetically, numbers after qualifiers;
//! `a1`/`b1`/`m1` abbreviate alpha/beta/milestone. Comparison is case-insensitive.

use super::{cmp_digits, is_digits, norm_digits, ord_via_cmp, Scheme, VersionError, VersionScheme};
use std::cmp::Ordering;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sep {
    Start,
    Dot,
    Dash,
}

#[derive(Debug, Clone)]
struct Token {
    sep: Sep,
    value: String,
    null: bool,
}

impl Token {
    fn same(&self, o: &Token) -> bool {
        self.sep == o.sep && self.value == o.value
    }

    fn should_trim(&self) -> bool {
        matches!(self.value.as_str(), "0" | "" | "final" | "ga")
    }

    /// `.qualifier < -qualifier < -number < .number`.
    fn sep_order(&self) -> u8 {
        let num = is_digits(&self.value);
        match (self.sep, num) {
            (Sep::Dash, true) => 2,
            (Sep::Dot | Sep::Start, true) => 3,
            (Sep::Dash, false) => 1,
            (Sep::Dot | Sep::Start, false) => 0,
        }
    }

    /// The padding token used against `other` when this side has run out.
    fn null_for(other: &Token) -> Token {
        match other.sep {
            Sep::Dash => Token {
                sep: Sep::Dash,
                value: String::new(),
                null: true,
            },
            Sep::Dot | Sep::Start => Token {
                sep: other.sep,
                value: if other.value == "sp" {
                    String::new()
                } else {
                    "0".to_string()
                },
                null: true,
            },
        }
    }

    fn less(&self, o: &Token) -> bool {
        if self.sep == o.sep {
            let (an, bn) = (is_digits(&self.value), is_digits(&o.value));
            if an && bn {
                return cmp_digits(&self.value, &o.value) == Ordering::Less;
            }
            if an && !self.null {
                return false;
            }
            if bn && !o.null {
                return true;
            }
            let (li, ri) = (keyword_order(&self.value), keyword_order(&o.value));
            if li == KEYWORDS.len() && ri == KEYWORDS.len() {
                return self.value < o.value;
            }
            return li < ri;
        }
        self.sep_order() < o.sep_order()
    }
}

const KEYWORDS: [&str; 7] = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];

fn keyword_order(k: &str) -> usize {
    KEYWORDS
        .iter()
        .position(|x| *x == k)
        .unwrap_or(KEYWORDS.len())
}

/// A Maven version.
#[derive(Debug, Clone)]
pub struct MavenVersion {
    tokens: Vec<Token>,
}

/// Split `s` at digit/non-digit transitions.
fn split_transitions(s: &str) -> Vec<&str> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..b.len() {
        if b[i].is_ascii_digit() != b[i - 1].is_ascii_digit() {
            out.push(&s[start..i]);
            start = i;
        }
    }
    out.push(&s[start..]);
    out
}

impl VersionScheme for MavenVersion {
    const SCHEME: Scheme = Scheme::Maven;
    fn parse(s: &str) -> Result<Self, VersionError> {
        let mut tokens = Vec::new();
        let mut sep = Sep::Start;
        let mut rest = s;
        loop {
            let (raw, next) = match rest.find(['.', '-']) {
                Some(i) => (&rest[..i], Some((&rest[i..=i], &rest[i + 1..]))),
                None => (rest, None),
            };
            let pieces = split_transitions(raw);
            let n = pieces.len();
            for (j, piece) in pieces.into_iter().enumerate() {
                let tok_sep = if j > 0 { Sep::Dash } else { sep };
                let mut cur = piece.to_lowercase();
                if cur.is_empty() {
                    cur = "0".into();
                }
                if cur == "cr" {
                    cur = "rc".into();
                }
                if matches!(cur.as_str(), "ga" | "final" | "release") {
                    cur.clear();
                }
                if j + 1 < n {
                    match cur.as_str() {
                        "a" => cur = "alpha".into(),
                        "b" => cur = "beta".into(),
                        "m" => cur = "milestone".into(),
                        _ => {}
                    }
                }
                if is_digits(&cur) {
                    cur = norm_digits(&cur);
                }
                tokens.push(Token {
                    sep: tok_sep,
                    value: cur,
                    null: false,
                });
            }
            match next {
                Some((d, r)) => {
                    sep = if d == "-" { Sep::Dash } else { Sep::Dot };
                    rest = r;
                }
                None => break,
            }
        }
        // Trim trailing nulls, then again before each remaining `-`.
        let mut i = tokens.len() as isize - 1;
        while i > 0 {
            let iu = i as usize;
            if tokens[iu].should_trim() {
                tokens.remove(iu);
                i -= 1;
                continue;
            }
            while i >= 0 && tokens[i as usize].sep != Sep::Dash {
                i -= 1;
            }
            i -= 1;
        }
        Ok(MavenVersion { tokens })
    }
}

impl MavenVersion {
    fn same(&self, o: &Self) -> bool {
        self.tokens.len() == o.tokens.len()
            && self.tokens.iter().zip(&o.tokens).all(|(a, b)| a.same(b))
    }

    fn less(&self, o: &Self) -> bool {
        let n = self.tokens.len().max(o.tokens.len());
        for i in 0..n {
            let (l, r) = match (self.tokens.get(i), o.tokens.get(i)) {
                (Some(l), Some(r)) => (l.clone(), r.clone()),
                (None, Some(r)) => (Token::null_for(r), r.clone()),
                (Some(l), None) => (l.clone(), Token::null_for(l)),
                (None, None) => return false,
            };
            if l.same(&r) {
                continue;
            }
            return l.less(&r);
        }
        false
    }
}

impl Ord for MavenVersion {
    fn cmp(&self, o: &Self) -> Ordering {
        if self.same(o) {
            Ordering::Equal
        } else if self.less(o) {
            Ordering::Less
        } else {
            Ordering::Greater
        }
    }
}
ord_via_cmp!(MavenVersion);

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> MavenVersion {
        MavenVersion::parse(s).unwrap()
    }

    #[test]
    fn basics() {
        assert_eq!(v("1.0"), v("1"));
        assert_eq!(v("1.0-final"), v("1"));
        assert!(v("1.0-alpha1") < v("1.0-beta"));
        assert!(v("1.0-SNAPSHOT") < v("1.0"));
        assert!(v("1.0") < v("1.0-sp"));
        assert!(v("1.0.RC1") < v("1.0"));
        assert!(v("2.0.0.Final") > v("2.0.0.CR1"));
    }
}
