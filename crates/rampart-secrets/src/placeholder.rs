//! Placeholders and documentation examples that look like secrets but are not:
//! `AKIAIOSFODNN7EXAMPLE`, `xxxxxxxx`, `${VAR}`, `<token>`, `{{ .Values.x }}`, `changeme` …

/// Whether a candidate secret is an obvious placeholder.
pub fn is_placeholder(secret: &[u8]) -> bool {
    let s = String::from_utf8_lossy(secret);
    let t = s.trim_matches(|c: char| c == '"' || c == '\'' || c.is_whitespace());
    if t.is_empty() {
        return true;
    }
    // Templating and variable references.
    if t.contains("${")
        || t.contains("{{")
        || t.contains("$(")
        || t.starts_with('$')
        || t.starts_with('%') && t.ends_with('%')
        || (t.starts_with('<') && t.ends_with('>'))
        || (t.starts_with('[') && t.ends_with(']'))
    {
        return true;
    }
    let lower = t.to_ascii_lowercase();
    const WORDS: &[&str] = &[
        "example",
        "changeme",
        "change_me",
        "change-me",
        "placeholder",
        "your_",
        "your-",
        "yourkey",
        "yourtoken",
        "yoursecret",
        "redacted",
        "dummy",
        "insert_",
        "replace_me",
        "replaceme",
        "sample_",
        "xxxxxxxx",
        "********",
        "••••",
        "00000000-0000-0000-0000-000000000000",
        // The alphabet typed out: documentation filler, not key material.
        "abcdefghijklmnop",
    ];
    if WORDS.iter().any(|w| lower.contains(w)) {
        return true;
    }
    // One character repeated (xxxx, 0000, ****), ignoring a recognisable prefix.
    let body = lower
        .rsplit(['_', '-', ':', '.'])
        .next()
        .unwrap_or(&lower)
        .to_string();
    let mut chars = body.chars();
    if let Some(first) = chars.next() {
        if body.len() >= 6 && chars.all(|c| c == first) {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders() {
        for p in [
            "AKIAIOSFODNN7EXAMPLE",
            "xxxxxxxxxxxxxxxx",
            "${GITHUB_TOKEN}",
            "<token>",
            "{{ .Values.password }}",
            "changeme",
            "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "$SECRET",
            "AIzaSyabcdefghijklmnopqrstuvwxyz1234567",
            "sk_abcdefghijklmnopqrstuvwxyz123",
        ] {
            assert!(is_placeholder(p.as_bytes()), "{p}");
        }
        for s in [
            "AKIAZ52HGXYRN4WBTEST",
            "ghp_1a2b3c4d5e6f7g8h9i0jklmnopqrstuvwxyz",
            "p8s$Wz!k2",
            // Short alphabet runs occur in real keys by chance.
            "abcd1234abcd1234abcd1234abcd1234abcd1234abcd1234abcd1234abcd1234",
        ] {
            assert!(!is_placeholder(s.as_bytes()), "{s}");
        }
    }
}
