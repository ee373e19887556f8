//! `mix.lock` (Elixir): `"name": {:hex, :package, "version", "hash", [...], [deps], "repo", "hash"}`.
//! `:git` / `:path` entries are not Hex packages and are skipped.

use super::{pkg, resolve_by_name, Out, ParseError};
use crate::inventory::Hash;

/// The quoted strings of `s`, in order.
fn quoted(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(a) = rest.find('"') {
        let after = &rest[a + 1..];
        let Some(b) = after.find('"') else { break };
        out.push(&after[..b]);
        rest = &after[b + 1..];
    }
    out
}

pub(crate) fn parse(text: &str) -> Result<Out, ParseError> {
    let mut out = Vec::new();
    let mut deps = Vec::new();
    let trimmed = text.trim_start();
    if !trimmed.is_empty() && !trimmed.starts_with("%{") {
        return Err(ParseError::new(
            Some(1),
            "expected `%{` at the start of mix.lock",
        ));
    }
    for (i, raw) in text.lines().enumerate() {
        let l = raw.trim();
        let Some(pos) = l.find(": {:hex, :") else {
            continue;
        };
        let rest = &l[pos + ": {:hex, :".len()..];
        let Some((name, after)) = rest.split_once(',') else {
            return Err(ParseError::new(Some(i + 1), "truncated :hex entry"));
        };
        let q = quoted(after);
        let [version, hash, ..] = q[..] else {
            return Err(ParseError::new(
                Some(i + 1),
                format!("{name}: expected a version and a hash"),
            ));
        };
        let mut p = pkg(name.trim(), version, Some(i + 1));
        if hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            p.hashes.push(Hash {
                alg: "SHA-256".into(),
                value: hash.to_ascii_lowercase(),
            });
        }
        let names: Vec<String> = after
            .match_indices("{:")
            .filter_map(|(j, _)| {
                let r = &after[j + 2..];
                let end = r.find(',')?;
                Some(r[..end].trim().to_string())
            })
            .collect();
        deps.push(names);
        out.push(p);
    }
    resolve_by_name(&mut out, &deps);
    Ok((None, out))
}
