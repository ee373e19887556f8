//! RubyGems `Gem::Version`: segments split at `.` and digit/letter transitions; trailing
//! zero segments are dropped (from the release and the pre-release part separately);
//! a letter segment makes the version a pre-release, so `1.0.a < 1.0`; numbers beat
//! letters, letters compare as text.

use super::{cmp_digits, is_digits, ord_via_cmp, Scheme, VersionError, VersionScheme};
use std::cmp::Ordering;

/// A RubyGems version.
#[derive(Debug, Clone)]
pub struct GemVersion {
    segments: Vec<String>,
}

fn canonicalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    let mut check_prev = false;
    let mut prev_digit = true;
    for c in s.chars() {
        if c == '.' {
            check_prev = false;
            out.push('.');
            continue;
        }
        let d = c.is_ascii_digit();
        if check_prev && prev_digit != d {
            out.push('.');
        }
        out.push(c);
        prev_digit = d;
        check_prev = true;
    }
    out
}

fn remove_zeros(mut v: Vec<String>) -> Vec<String> {
    while v.last().is_some_and(|s| s == "0") {
        v.pop();
    }
    v
}

impl GemVersion {
    /// Whether this is a pre-release (contains a letter segment).
    pub fn is_prerelease(&self) -> bool {
        self.segments.iter().any(|s| !is_digits(s))
    }
}

impl VersionScheme for GemVersion {
    const SCHEME: Scheme = Scheme::RubyGems;
    fn parse(s: &str) -> Result<Self, VersionError> {
        let canon = canonicalize(s.trim());
        let mut numbers = Vec::new();
        let mut build = Vec::new();
        for seg in canon.split('.') {
            if !build.is_empty() || !is_digits(seg) {
                build.push(seg.to_string());
            } else {
                numbers.push(seg.to_string());
            }
        }
        let mut segments = remove_zeros(numbers);
        segments.extend(remove_zeros(build));
        Ok(GemVersion { segments })
    }
}

impl Ord for GemVersion {
    fn cmp(&self, o: &Self) -> Ordering {
        let n = self.segments.len().max(o.segments.len());
        for i in 0..n {
            let a = self.segments.get(i).map_or("0", String::as_str);
            let b = o.segments.get(i).map_or("0", String::as_str);
            let r = match (is_digits(a), is_digits(b)) {
                (true, true) => cmp_digits(a, b),
                (false, false) => a.cmp(b),
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
            };
            if r != Ordering::Equal {
                return r;
            }
        }
        Ordering::Equal
    }
}
ord_via_cmp!(GemVersion);
