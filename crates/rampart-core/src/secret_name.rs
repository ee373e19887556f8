//! The one "does this variable name say it holds a secret?" heuristic, shared by the
//! Kubernetes env/ConfigMap rules, the Dockerfile `ENV`/`ARG` rule and the image-config
//! `ENV` rule.
//!
//! A name is split into lower-case words at `_`, `-`, `.`, other punctuation and
//! camelCase boundaries (`dbPassword` → `db`, `password`). It looks like a secret when
//!
//! * its words, joined, contain one of [`STRONG`] (`password`, `passwd`, `passphrase`,
//!   `secret`, `credential`, `apikey`, `privatekey`, `accesskey`, `authkey`), so
//!   `MYSQL_ROOT_PASSWORD`, `api-key`, `AWS_SECRET_ACCESS_KEY`, `dbPassword` all match;
//! * or a word ends with `token` (`token`, `tokens`, `GITHUB_TOKEN`, `authToken`,
//!   `GITHUBTOKEN`) — but not `tokenizer`;
//! * or a word is one of [`WEAK`] (`pass`, `pwd`, `auth`, `key`): `DB_PASS`,
//!   `STRIPE_KEY`, but not `MONKEY` or `KEYCLOAK_URL`;
//!
//! and it is not
//!
//! * named after something about the secret rather than the secret: the last word is
//!   one of [`BENIGN_LAST`] (`TOKEN_FILE`, `PASSWORD_PATH`, `SECRET_NAME`, `AUTH_URL`,
//!   `AWS_ACCESS_KEY_ID`, `TOKEN_TTL`, …), except `SECRET_ID` (a Vault AppRole
//!   credential);
//! * a public key (`PUBLIC_KEY`, `SSH_PUBLIC_KEY`, `GPG_KEY`), or the shell's `PWD`.
//!
//! Whether the *value* is a real secret (not empty, not a `$VAR` reference, not a
//! placeholder) is each rule's own question.

/// Substrings of the joined words that mark a secret.
pub const STRONG: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "secret",
    "credential",
    "apikey",
    "privatekey",
    "accesskey",
    "authkey",
];

/// Whole words that mark a secret.
pub const WEAK: &[&str] = &["pass", "pwd", "auth", "key"];

/// A last word that names a property of the secret (where it is, how long it lives),
/// not the secret.
pub const BENIGN_LAST: &[&str] = &[
    "algorithm",
    "dir",
    "enabled",
    "endpoint",
    "expiration",
    "expiry",
    "file",
    "fingerprint",
    "header",
    "host",
    "id",
    "len",
    "length",
    "mode",
    "name",
    "path",
    "port",
    "ref",
    "region",
    "server",
    "timeout",
    "ttl",
    "type",
    "uri",
    "url",
    "user",
    "username",
    "version",
];

/// Lower-case words of `name` (split at punctuation and camelCase boundaries).
fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_lowercase() || c.is_numeric();
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Whether a variable (or key) name says it holds a secret (see the module docs).
pub fn looks_like_secret_name(name: &str) -> bool {
    let w = words(name);
    let Some(last) = w.last() else {
        return false;
    };
    let joined: String = w.concat();
    if BENIGN_LAST.contains(&last.as_str()) && !joined.ends_with("secretid") {
        return false;
    }
    if joined == "pwd" || joined.ends_with("publickey") || joined.ends_with("gpgkey") {
        return false;
    }
    STRONG.iter().any(|s| joined.contains(s))
        || w.iter()
            .any(|p| p.ends_with("token") || p == "tokens" || WEAK.contains(&p.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names() {
        for n in [
            // Dockerfile rule fixtures.
            "DB_PASSWORD",
            "API_TOKEN",
            "AWS_SECRET_ACCESS_KEY",
            "GITHUB_TOKEN",
            "MYSQL_ROOT_PASSWORD",
            "SECRET",
            "API_KEY",
            "APIKEY",
            // Kubernetes rule fixtures.
            "password",
            "db-passwd",
            "api-key",
            "CLIENT_SECRET",
            "privateKey",
            "dbPassword",
            "aws_access_key",
            "SERVICE_CREDENTIALS",
            // Image rule fixtures.
            "github_token",
            "AUTH_KEY",
            // Words.
            "DB_PASS",
            "REDIS_PWD",
            "STRIPE_KEY",
            "ENCRYPTION_KEY",
            "authToken",
            "GITHUBTOKEN",
            "REFRESH_TOKENS",
            "VAULT_SECRET_ID",
            "GPG_PASSPHRASE",
            "ssh.private.key",
        ] {
            assert!(looks_like_secret_name(n), "{n} should look secret");
        }
    }

    #[test]
    fn benign_names() {
        for n in [
            "",
            "PATH",
            "PWD",
            "HOME",
            "MONKEY",
            "KEYRING",
            "KEYCLOAK_VERSION",
            "KEYCLOAK_URL",
            "TOKEN_FILE",
            "PASSWORD_FILE",
            "DB_PASSWORD_FILE",
            "KEY_PATH",
            "GPG_KEY",
            "PUBLIC_KEY",
            "SSH_PUBLIC_KEY",
            "AWS_ACCESS_KEY_ID",
            "SECRET_NAME",
            "TOKEN_TTL",
            "AUTH_HEADER",
            "TOKENIZERS_PARALLELISM",
            "tokenizer",
            "DB_USER",
            "__",
        ] {
            assert!(!looks_like_secret_name(n), "{n} should not look secret");
        }
    }

    #[test]
    fn long_names_are_judged_whole() {
        // Linear in the name; nothing after a cut-off goes unseen.
        let n = "a_".repeat(100_000) + "PASSWORD";
        assert!(looks_like_secret_name(&n));
        assert!(looks_like_secret_name(
            &("PASSWORD_".to_string() + &"a".repeat(100_000))
        ));
    }
}
