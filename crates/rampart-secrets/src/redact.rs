//! Redaction: a secret is shown as its first four characters and `…`.

/// Redact a secret: first 4 characters then `…` (shorter secrets show only `…`).
pub fn redact(secret: &str) -> String {
    let n = secret.chars().count();
    if n <= 8 {
        return "…".to_string();
    }
    let head: String = secret.chars().take(4).collect();
    format!("{head}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts() {
        assert_eq!(redact("AKIAZ52HGXYRN4WBTEST"), "AKIA…");
        assert_eq!(redact("short"), "…");
        assert_eq!(redact("ééééééééééé"), "éééé…");
    }
}
