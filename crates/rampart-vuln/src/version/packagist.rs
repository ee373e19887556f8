//! Composer / Packagist versions, ordered like PHP's `version_compare` (which Composer
//! uses): `-`, `_`, `+` become `.`, a `.` is inserted at every digit/letter change, and
//! parts compare numerically or by special-word rank
//! `dev < alpha = a < beta = b < RC = rc < # (number) < pl = p`; a leading `v` is ignored.

use super::{cmp_digits, is_digits, ord_via_cmp, Scheme, VersionError, VersionScheme};
use std::cmp::Ordering;

/// A Packagist version.
#[derive(Debug, Clone)]
pub struct PackagistVersion {
    parts: Vec<String>,
}

fn canonicalize(s: &str) -> String {
    let s = s.strip_prefix('v').unwrap_or(s);
    let s = s.strip_prefix('V').unwrap_or(s);
    let mut out = String::with_capacity(s.len() + 4);
    let mut prev: Option<char> = None;
    for c in s.chars() {
        let c = if matches!(c, '-' | '_' | '+') { '.' } else { c };
        if let Some(p) = prev {
            let p_other = !p.is_ascii_digit() && p != '.';
            let c_other = !c.is_ascii_digit() && c != '.';
            if (p_other && c.is_ascii_digit()) || (p.is_ascii_digit() && c_other) {
                out.push('.');
            }
        }
        out.push(c);
        prev = Some(c);
    }
    out
}

fn special_weight(s: &str) -> u8 {
    if s.starts_with("RC") {
        return 3;
    }
    for (i, w) in ["dev", "a", "b", "rc", "#", "p"].iter().enumerate() {
        if s.starts_with(w) {
            return i as u8;
        }
    }
    0
}

/// Go's `strconv.Atoi` success: optional sign, digits, fits in i64.
fn atoi_ok(s: &str) -> bool {
    s.parse::<i64>().is_ok()
}

fn cmp_parts(a: &[&str], b: &[&str]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let r = match (is_digits(x), is_digits(y)) {
            (true, true) => cmp_digits(x, y),
            (false, false) => special_weight(x).cmp(&special_weight(y)),
            (true, false) => special_weight("#").cmp(&special_weight(y)),
            (false, true) => special_weight(x).cmp(&special_weight("#")),
        };
        if r != Ordering::Equal {
            return r;
        }
    }
    match a.len().cmp(&b.len()) {
        Ordering::Greater => {
            if atoi_ok(a[b.len()]) {
                Ordering::Greater
            } else {
                cmp_parts(&a[b.len()..], &["#"])
            }
        }
        Ordering::Less => {
            if atoi_ok(b[a.len()]) {
                Ordering::Less
            } else {
                cmp_parts(&["#"], &b[a.len()..])
            }
        }
        Ordering::Equal => Ordering::Equal,
    }
}

impl VersionScheme for PackagistVersion {
    const SCHEME: Scheme = Scheme::Packagist;
    fn parse(s: &str) -> Result<Self, VersionError> {
        Ok(PackagistVersion {
            parts: canonicalize(s).split('.').map(str::to_string).collect(),
        })
    }
}

impl Ord for PackagistVersion {
    fn cmp(&self, o: &Self) -> Ordering {
        let a: Vec<&str> = self.parts.iter().map(String::as_str).collect();
        let b: Vec<&str> = o.parts.iter().map(String::as_str).collect();
        cmp_parts(&a, &b)
    }
}
ord_via_cmp!(PackagistVersion);
