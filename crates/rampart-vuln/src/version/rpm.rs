//! RPM versions (`[epoch:]version[-release]`) ordered by `rpmvercmp`: alphanumeric
//! runs compared segment by segment (numbers beat letters, numbers numerically),
//! separators ignored, `~` sorts before anything and `^` after the end.

use super::{ord_via_cmp, Scheme, VersionError, VersionScheme};
use std::cmp::Ordering;

/// An RPM version.
#[derive(Debug, Clone)]
pub struct RpmVersion {
    epoch: String,
    version: String,
    release: String,
}

impl VersionScheme for RpmVersion {
    const SCHEME: Scheme = Scheme::Rpm;
    fn parse(s: &str) -> Result<Self, VersionError> {
        let (epoch, vr) = match s.split_once(':') {
            Some((e, r)) if e.bytes().all(|b| b.is_ascii_digit()) => (e, r),
            _ => ("", s),
        };
        let (version, release) = match vr.split_once('-') {
            Some((v, r)) => (v.to_string(), format!("-{r}")),
            None => (vr.to_string(), String::new()),
        };
        Ok(RpmVersion {
            epoch: if epoch.is_empty() {
                "0".into()
            } else {
                epoch.into()
            },
            version,
            release,
        })
    }
}

fn skip(b: u8) -> bool {
    !b.is_ascii_alphanumeric() && b != b'~' && b != b'^'
}

/// `rpmvercmp` (with the empty-string rule of osv-scalibr: empty < non-empty).
pub(crate) fn rpmvercmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    match (a.is_empty(), b.is_empty()) {
        (true, false) => return Ordering::Less,
        (false, true) => return Ordering::Greater,
        _ => {}
    }
    let (mut i, mut j) = (0usize, 0usize);
    loop {
        while i < a.len() && skip(a[i]) {
            i += 1;
        }
        while j < b.len() && skip(b[j]) {
            j += 1;
        }
        let at = a.get(i) == Some(&b'~');
        let bt = b.get(j) == Some(&b'~');
        if at && bt {
            i += 1;
            j += 1;
            continue;
        }
        if at {
            return Ordering::Less;
        }
        if bt {
            return Ordering::Greater;
        }
        let ac = a.get(i) == Some(&b'^');
        let bc = b.get(j) == Some(&b'^');
        if ac && bc {
            i += 1;
            j += 1;
            continue;
        }
        if ac {
            return if j == b.len() {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        if bc {
            return if i == a.len() {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        if i == a.len() || j == b.len() {
            break;
        }
        let digit = a[i].is_ascii_digit();
        let run = |s: &[u8], mut k: usize| {
            let start = k;
            while k < s.len()
                && (if digit {
                    s[k].is_ascii_digit()
                } else {
                    s[k].is_ascii_alphabetic()
                })
            {
                k += 1;
            }
            (start, k)
        };
        let (as_, ae) = run(a, i);
        let (bs, be) = run(b, j);
        i = ae;
        j = be;
        if bs == be {
            return if digit {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let (mut x, mut y) = (&a[as_..ae], &b[bs..be]);
        if digit {
            while x.first() == Some(&b'0') {
                x = &x[1..];
            }
            while y.first() == Some(&b'0') {
                y = &y[1..];
            }
            let o = x.len().cmp(&y.len());
            if o != Ordering::Equal {
                return o;
            }
        }
        let o = x.cmp(y);
        if o != Ordering::Equal {
            return o;
        }
    }
    (a.len() - i).cmp(&(b.len() - j))
}

impl Ord for RpmVersion {
    fn cmp(&self, o: &Self) -> Ordering {
        rpmvercmp(&self.epoch, &o.epoch)
            .then_with(|| rpmvercmp(&self.version, &o.version))
            .then_with(|| rpmvercmp(&self.release, &o.release))
    }
}
ord_via_cmp!(RpmVersion);
