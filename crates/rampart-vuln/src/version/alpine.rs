//! Alpine apk versions: `number{.number}…{letter}{_suffix{number}}…{~hash}{-r#}`.
//!
//! Suffixes order `_alpha < _beta < _pre < _rc < (none) < _cvs < _svn < _git < _hg < _p`;
//! number components after the first compare as text when either has a leading zero
//! (apk's "fractional" rule); the hash is ignored. Versions that do not follow the
//! grammar still order (as apk does, leniently); [`is_valid`] checks the grammar.

use super::{cmp_digits, ord_via_cmp, Scheme, VersionError, VersionScheme};
use regex::Regex;
use std::cmp::Ordering;
use std::sync::LazyLock;

static VALID: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"^[0-9]+(\.[0-9]+)*(([a-z][0-9]*)|(\.[a-z][0-9]+))?(_(alpha|beta|pre|rc|cvs|svn|git|hg|p)[0-9]*)*(~[0-9a-f]+)?(-r[0-9]+)?$",
    )
    .ok()
});

static SUFFIX: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"_(alpha|beta|pre|rc|cvs|svn|git|hg|p)(\d*)").ok());

/// Whether `s` follows the apk version grammar (`apk version --check`).
pub fn is_valid(s: &str) -> bool {
    VALID.as_ref().is_some_and(|re| re.is_match(s))
}

#[derive(Debug, Clone)]
struct Num {
    original: String,
    index: usize,
}

/// An Alpine version.
#[derive(Debug, Clone)]
pub struct ApkVersion {
    remainder_empty: bool,
    /// The text, kept only for versions whose leftovers do not start with `-r`.
    invalid: Option<String>,
    components: Vec<Num>,
    letter: Option<u8>,
    suffixes: Vec<(u8, String)>,
    build: String,
}

fn suffix_weight(s: &str) -> u8 {
    match s {
        "alpha" => 0,
        "beta" => 1,
        "pre" => 2,
        "rc" => 3,
        "cvs" => 5,
        "svn" => 6,
        "git" => 7,
        "hg" => 8,
        _ => 9,
    }
}

impl VersionScheme for ApkVersion {
    const SCHEME: Scheme = Scheme::Alpine;
    fn parse(s: &str) -> Result<Self, VersionError> {
        let mut v = ApkVersion {
            remainder_empty: true,
            invalid: None,
            components: Vec::new(),
            letter: None,
            suffixes: Vec::new(),
            build: "0".into(),
        };
        // Number components: `^((\d+)\.?)*`.
        let b = s.as_bytes();
        let mut k = 0;
        while k < b.len() && b[k].is_ascii_digit() {
            while k < b.len() && b[k].is_ascii_digit() {
                k += 1;
            }
            if k < b.len() && b[k] == b'.' {
                k += 1;
            }
        }
        if k > 0 {
            for (i, d) in s[..k].split('.').enumerate() {
                v.components.push(Num {
                    original: if d.is_empty() { "0".into() } else { d.into() },
                    index: i,
                });
            }
        }
        let mut rest = &s[k..];
        if let Some(&c) = rest.as_bytes().first() {
            if c.is_ascii_lowercase() {
                v.letter = Some(c);
                rest = &rest[1..];
            }
        }
        if let Some(re) = SUFFIX.as_ref().filter(|_| rest.contains('_')) {
            let found: Vec<(String, String, String)> = re
                .captures_iter(rest)
                .map(|c| {
                    (
                        c.get(0).map_or("", |m| m.as_str()).to_string(),
                        c.get(1).map_or("", |m| m.as_str()).to_string(),
                        c.get(2).map_or("", |m| m.as_str()).to_string(),
                    )
                })
                .collect();
            for (all, name, num) in found {
                v.suffixes.push((
                    suffix_weight(&name),
                    if num.is_empty() { "0".into() } else { num },
                ));
                rest = rest.strip_prefix(all.as_str()).unwrap_or(rest);
            }
        }
        if let Some(r) = rest.strip_prefix('~') {
            let n = r
                .bytes()
                .take_while(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
                .count();
            if n > 0 {
                rest = &r[n..];
            }
        }
        if !rest.is_empty() {
            // `--r` is read as `-r` (apk 3.x reads both as the revision marker).
            match rest
                .trim_start_matches('-')
                .strip_prefix('r')
                .filter(|_| rest.starts_with('-'))
            {
                Some(r) => {
                    let n = r.bytes().take_while(u8::is_ascii_digit).count();
                    v.build = if n == 0 { "0".into() } else { r[..n].into() };
                    rest = &r[n..];
                }
                None => v.invalid = Some(s.to_string()),
            }
        }
        v.remainder_empty = rest.is_empty();
        Ok(v)
    }
}

fn cmp_num(a: Option<&Num>, b: Option<&Num>) -> Ordering {
    let zero = Num {
        original: "0".into(),
        index: 0,
    };
    let a = a.unwrap_or(&zero);
    let b = b.unwrap_or(&zero);
    if a.index != 0 && b.index != 0 && (a.original.starts_with('0') || b.original.starts_with('0'))
    {
        return a.original.cmp(&b.original);
    }
    cmp_digits(&a.original, &b.original)
}

impl Ord for ApkVersion {
    fn cmp(&self, o: &Self) -> Ordering {
        let n = self.components.len().max(o.components.len());
        for i in 0..n {
            let r = cmp_num(self.components.get(i), o.components.get(i));
            if r != Ordering::Equal {
                return r;
            }
        }
        let r = match (self.letter, o.letter) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(a), Some(b)) => a.cmp(&b),
        };
        if r != Ordering::Equal {
            return r;
        }
        let n = self.suffixes.len().max(o.suffixes.len());
        let none = (4u8, "0".to_string());
        for i in 0..n {
            let a = self.suffixes.get(i).unwrap_or(&none);
            let b = o.suffixes.get(i).unwrap_or(&none);
            let r = a.0.cmp(&b.0).then_with(|| cmp_digits(&a.1, &b.1));
            if r != Ordering::Equal {
                return r;
            }
        }
        let r = cmp_digits(&self.build, &o.build);
        if r != Ordering::Equal {
            return r;
        }
        // A version with unparsed leftovers sorts before a clean one; the leftovers
        // themselves are not compared (as apk, which stops at the first bad token).
        // Malformed versions (apk compares those as text) are kept apart from merely
        // untidy ones, so that the order stays a lexicographic key and thus transitive.
        self.remainder_empty
            .cmp(&o.remainder_empty)
            .then_with(|| self.invalid.cmp(&o.invalid))
    }
}
ord_via_cmp!(ApkVersion);
