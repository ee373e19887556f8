//! Redaction: a secret is shown as at most a quarter of its characters (four at most)
//! followed by `…`, so a short password is never given away by its prefix.

/// The most characters redaction ever shows.
const MAX_SHOWN: usize = 4;

/// Redact a secret: its first `min(4, n / 4)` characters then `…` (a 20-character key
/// shows 4, a 9-character password 2, anything under 4 characters nothing).
pub fn redact(secret: &str) -> String {
    let n = secret.chars().count();
    let shown = (n / 4).min(MAX_SHOWN);
    let mut out: String = secret
        .chars()
        .take(shown)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_at_most_a_quarter() {
        assert_eq!(redact("AKIAZ52HGXYRN4WBTEST"), "AKIA…");
        assert_eq!(redact("Tr0ub4dor"), "Tr…");
        assert_eq!(redact("hunter2"), "h…");
        assert_eq!(redact("abc"), "…");
        assert_eq!(redact(""), "…");
        assert_eq!(redact("ééééééééééé"), "éé…");
        assert_eq!(redact("\u{1b}[31mxxxxxxxxxx"), "?[3…");
        for n in 0..64 {
            let s = "x".repeat(n);
            let shown = redact(&s).chars().count() - 1;
            assert!(shown * 4 <= n && shown <= 4, "{n}: {shown}");
        }
    }
}
