//! PEP 440 versions (PyPI): epochs, release, pre/post/dev segments and local labels.
//!
//! Strings that are not PEP 440 are parsed as "legacy" versions the way `packaging`
//! before 22 did (`LegacyVersion`): they sort before every PEP 440 version, and among
//! themselves by setuptools' old part-wise rules. PyPI still serves such versions.

use super::{
    cmp_components, cmp_digits, is_digits, norm_digits, ord_via_cmp, Scheme, VersionError,
    VersionScheme,
};
use regex::Regex;
use std::cmp::Ordering;
use std::sync::LazyLock;

static PEP440: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"^\s*v?(?:(?:(?P<epoch>[0-9]+)!)?(?P<release>[0-9]+(?:\.[0-9]+)*)(?P<pre>[-_\.]?(?P<pre_l>alpha|beta|preview|pre|a|b|c|rc)[-_\.]?(?P<pre_n>[0-9]+)?)?(?P<post>(?:-(?P<post_n1>[0-9]+))|(?:[-_\.]?(?P<post_l>post|rev|r)[-_\.]?(?P<post_n2>[0-9]+)?))?(?P<dev>[-_\.]?(?P<dev_l>dev)[-_\.]?(?P<dev_n>[0-9]+)?)?)(?:\+(?P<local>[a-z0-9]+(?:[-_\.][a-z0-9]+)*))?\s*$",
    )
    .ok()
});

static LEGACY_PARTS: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"\d+|[a-z]+|\.|-").ok());

/// A phase letter (normalised: `a`, `b`, `rc`, `post`, `dev`) and its number.
#[derive(Debug, Clone, Default)]
struct Phase {
    present: bool,
    letter: u8,
    number: String,
}

/// A PyPI version.
#[derive(Debug, Clone)]
pub struct Pep440 {
    legacy: Option<String>,
    epoch: String,
    release: Vec<String>,
    pre: Phase,
    post: Phase,
    dev: Phase,
    local: Vec<String>,
}

impl Pep440 {
    /// Whether the string is a valid PEP 440 version (not a legacy one).
    pub fn is_pep440(&self) -> bool {
        self.legacy.is_none()
    }

    /// Whether this is a pre- or dev-release.
    pub fn is_prerelease(&self) -> bool {
        self.legacy.is_none() && (self.pre.present || self.dev.present)
    }
}

fn phase(letter: Option<&str>, number: Option<&str>) -> Phase {
    match (letter, number) {
        (Some(l), n) => {
            let l = match l {
                "alpha" | "a" => b'a',
                "beta" | "b" => b'b',
                "c" | "pre" | "preview" | "rc" => b'r',
                "rev" | "r" | "post" => b'p',
                _ => b'd',
            };
            Phase {
                present: true,
                letter: l,
                number: norm_digits(n.unwrap_or("0")),
            }
        }
        (None, Some(n)) => Phase {
            present: true,
            letter: b'p',
            number: norm_digits(n),
        },
        (None, None) => Phase::default(),
    }
}

fn legacy_key(s: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    let Some(re) = LEGACY_PARTS.as_ref() else {
        return s.to_string();
    };
    let found = re
        .find_iter(s)
        .map(|m| m.as_str())
        .chain(std::iter::once("final"));
    for part in found {
        if part.is_empty() || part == "." {
            continue;
        }
        let part = match part {
            "pre" | "preview" | "rc" => "c",
            "-" => "final-",
            "dev" => "@",
            p => p,
        };
        let part = if part.as_bytes()[0].is_ascii_digit() {
            format!("{part:0>8}")
        } else {
            format!("*{part}")
        };
        if part.starts_with('*') {
            if part.as_str() < "*final" {
                while parts.last().is_some_and(|p| p == "*final-") {
                    parts.pop();
                }
            }
            while parts.last().is_some_and(|p| p == "00000000") {
                parts.pop();
            }
        }
        parts.push(part);
    }
    parts.concat()
}

impl VersionScheme for Pep440 {
    const SCHEME: Scheme = Scheme::Pep440;
    fn parse(s: &str) -> Result<Self, VersionError> {
        let lower = s.to_ascii_lowercase();
        let caps = PEP440.as_ref().and_then(|re| re.captures(&lower));
        let Some(c) = caps else {
            return Ok(Pep440 {
                legacy: Some(legacy_key(&lower)),
                epoch: "0".into(),
                release: Vec::new(),
                pre: Phase::default(),
                post: Phase::default(),
                dev: Phase::default(),
                local: Vec::new(),
            });
        };
        let g = |n: &str| c.name(n).map(|m| m.as_str());
        let release = g("release")
            .unwrap_or("0")
            .split('.')
            .map(norm_digits)
            .collect();
        let post_n = g("post_n1").or(g("post_n2"));
        let local = g("local")
            .map(|l| l.split(['.', '_', '-']).map(str::to_string).collect())
            .unwrap_or_default();
        Ok(Pep440 {
            legacy: None,
            epoch: norm_digits(g("epoch").unwrap_or("0")),
            release,
            pre: phase(g("pre_l"), g("pre_n")),
            post: phase(g("post_l"), post_n),
            dev: phase(g("dev_l"), g("dev_n")),
            local,
        })
    }
}

impl Pep440 {
    /// 1.0.dev0 sorts before 1.0a0: a dev release without pre/post sorts first.
    fn pre_trick(&self) -> bool {
        !self.pre.present && !self.post.present && self.dev.present
    }

    fn cmp_pre(&self, o: &Self) -> Ordering {
        match (self.pre_trick(), o.pre_trick()) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            _ => {}
        }
        match (self.pre.present, o.pre.present) {
            (false, false) => Ordering::Equal,
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (true, true) => self
                .pre
                .letter
                .cmp(&o.pre.letter)
                .then_with(|| cmp_digits(&self.pre.number, &o.pre.number)),
        }
    }

    fn cmp_post(&self, o: &Self) -> Ordering {
        match (self.post.present, o.post.present) {
            (false, false) => Ordering::Equal,
            (false, true) => Ordering::Less,
            (true, false) => Ordering::Greater,
            (true, true) => cmp_digits(&self.post.number, &o.post.number),
        }
    }

    fn cmp_dev(&self, o: &Self) -> Ordering {
        match (self.dev.present, o.dev.present) {
            (false, false) => Ordering::Equal,
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (true, true) => cmp_digits(&self.dev.number, &o.dev.number),
        }
    }

    fn cmp_local(&self, o: &Self) -> Ordering {
        for (a, b) in self.local.iter().zip(&o.local) {
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
        self.local.len().cmp(&o.local.len())
    }
}

impl Ord for Pep440 {
    fn cmp(&self, o: &Self) -> Ordering {
        match (&self.legacy, &o.legacy) {
            (Some(a), Some(b)) => return a.cmp(b),
            (Some(_), None) => return Ordering::Less,
            (None, Some(_)) => return Ordering::Greater,
            (None, None) => {}
        }
        cmp_digits(&self.epoch, &o.epoch)
            .then_with(|| cmp_components(&self.release, &o.release))
            .then_with(|| self.cmp_pre(o))
            .then_with(|| self.cmp_post(o))
            .then_with(|| self.cmp_dev(o))
            .then_with(|| self.cmp_local(o))
    }
}
ord_via_cmp!(Pep440);

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Pep440 {
        Pep440::parse(s).unwrap()
    }

    #[test]
    fn basics() {
        assert!(v("1!1.0") > v("2.0"));
        assert!(v("1.0.dev0") < v("1.0a0"));
        assert!(v("1.0") < v("1.0.post1"));
        assert_eq!(v("1.0-1"), v("1.0.post1"));
        assert!(v("1.0+local") > v("1.0"));
        assert!(v("0.1-bulbasaur") < v("0.0.1"));
        assert!(!v("0.1-bulbasaur").is_pep440());
        assert!(v("1.0rc1").is_prerelease());
    }
}
