//! Small text helpers shared by the renderers.

use std::borrow::Cow;

/// Replace control characters (C0, DEL, C1) by a visible `\u{..}` escape so that scanned
/// content can never move the cursor or recolour a terminal, and can never break a
/// line-oriented format. Tabs become a space and line feeds `↵`.
pub fn visible(s: &str) -> Cow<'_, str> {
    // Fast path: no byte that could start a control character (C0, DEL, or C1, which
    // UTF-8 encodes as 0xC2 0x80..=0x9F), so nothing to escape.
    if s.bytes().all(|b| b >= 0x20 && b != 0x7f && b != 0xc2) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\t' => out.push(' '),
            '\n' => out.push('↵'),
            c if c.is_control() => out.push_str(&c.escape_unicode().to_string()),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// `1234567` → `1.2 MiB`.
pub(crate) fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    #[allow(clippy::cast_precision_loss)] // display only
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// `"1 file"`, `"2 files"`: a count with its noun in the right number.
pub fn count(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// What `--min-severity` left out, for a summary line: `4 below medium (3 low, 1 info)`;
/// `None` without a filter.
pub(crate) fn hidden_note(s: &rampart_core::Summary) -> Option<String> {
    let d = s.display_filter.as_ref()?;
    let total = d.hidden_total();
    if total == 0 {
        return Some(format!("none below {}", d.min_severity));
    }
    let parts: Vec<String> = rampart_core::Severity::ALL_DESC
        .iter()
        .filter_map(|sev| {
            let n = *d.hidden.get(sev)?;
            (n > 0).then(|| format!("{n} {sev}"))
        })
        .collect();
    Some(format!(
        "{total} below {} ({}; --min-severity, still gated)",
        d.min_severity,
        parts.join(", ")
    ))
}

/// The first `http(s)://` reference, if any.
pub(crate) fn first_url(refs: &[String]) -> Option<&str> {
    refs.iter()
        .map(String::as_str)
        .find(|r| r.starts_with("https://") || r.starts_with("http://"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visible_escapes_controls() {
        assert_eq!(visible("a\x1b[31mb\tc\r\n"), "a\\u{1b}[31mb c\\u{d}↵");
        assert_eq!(visible("naïve ✓"), "naïve ✓");
        assert!(matches!(visible("plain text"), Cow::Borrowed(_)));
        // C1 controls (U+0080..U+009F) are escaped too; other U+00xx letters are not.
        assert_eq!(visible("a\u{9b}b é"), "a\\u{9b}b é");
    }

    #[test]
    fn human_bytes_units() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(5 * 1024 * 1024), "5.0 MiB");
    }
}
