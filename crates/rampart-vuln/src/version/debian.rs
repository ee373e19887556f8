//! Debian / Ubuntu versions (`[epoch:]upstream[-revision]`), ordered like dpkg's
//! `verrevcmp`: alternating non-digit and digit runs; `~` sorts before everything (even
//! the end of the string), letters before other characters; digit runs numerically.
//! A missing revision equals `0`.

use super::{cmp_digits, is_digits, norm_digits, ord_via_cmp, Scheme, VersionError, VersionScheme};
use std::cmp::Ordering;

/// A Debian version.
#[derive(Debug, Clone)]
pub struct DebianVersion {
    epoch: String,
    upstream: String,
    revision: String,
}

impl VersionScheme for DebianVersion {
    const SCHEME: Scheme = Scheme::Debian;
    fn parse(s: &str) -> Result<Self, VersionError> {
        let t = s.trim();
        let (epoch, rest) = match t.split_once(':') {
            Some((e, r)) => {
                if !is_digits(e) {
                    return Err(VersionError::invalid(
                        Scheme::Debian,
                        s,
                        "the epoch (before `:`) must be a number",
                    ));
                }
                (norm_digits(e), r)
            }
            None => ("0".to_string(), t),
        };
        let (upstream, revision) = match rest.rsplit_once('-') {
            Some((u, r)) => (u.to_string(), r.to_string()),
            None => (rest.to_string(), "0".to_string()),
        };
        Ok(DebianVersion {
            epoch,
            upstream,
            revision,
        })
    }
}

fn weight(c: Option<u8>) -> u32 {
    match c {
        Some(b'~') => 1,
        None => 2,
        Some(c) if c.is_ascii_alphabetic() => u32::from(c),
        Some(c) => u32::from(c) + 122,
    }
}

/// dpkg's `verrevcmp`.
pub(crate) fn verrevcmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    while !a.is_empty() || !b.is_empty() {
        let an = a.iter().position(u8::is_ascii_digit).unwrap_or(a.len());
        let bn = b.iter().position(u8::is_ascii_digit).unwrap_or(b.len());
        let (ap, bp) = (&a[..an], &b[..bn]);
        if ap != bp {
            for i in 0..an.max(bn) {
                let o = weight(ap.get(i).copied()).cmp(&weight(bp.get(i).copied()));
                if o != Ordering::Equal {
                    return o;
                }
            }
        }
        a = &a[an..];
        b = &b[bn..];
        let ad = a
            .iter()
            .position(|c| !c.is_ascii_digit())
            .unwrap_or(a.len());
        let bd = b
            .iter()
            .position(|c| !c.is_ascii_digit())
            .unwrap_or(b.len());
        let o = cmp_digits(
            std::str::from_utf8(&a[..ad]).unwrap_or("0"),
            std::str::from_utf8(&b[..bd]).unwrap_or("0"),
        );
        if o != Ordering::Equal {
            return o;
        }
        a = &a[ad..];
        b = &b[bd..];
    }
    Ordering::Equal
}

impl Ord for DebianVersion {
    fn cmp(&self, o: &Self) -> Ordering {
        cmp_digits(&self.epoch, &o.epoch)
            .then_with(|| verrevcmp(&self.upstream, &o.upstream))
            .then_with(|| verrevcmp(&self.revision, &o.revision))
    }
}
ord_via_cmp!(DebianVersion);

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> DebianVersion {
        DebianVersion::parse(s).unwrap()
    }

    #[test]
    fn basics() {
        assert!(v("1.0~rc1") < v("1.0"));
        assert!(v("1:0.1") > v("9.9"));
        assert_eq!(v("1.0"), v("1.0-0"));
        assert!(v("2.4.2-6") < v("2.4.2-6+lenny1"));
    }
}
