//! `requirements*.txt`: pinned `name==version` lines (with extras, markers and
//! `--hash` options), line continuations, comments, `-r`/`-c` includes (relative to
//! the including file, cycles and depth bounded) and pip-compile's `# via` comments
//! (which tell direct from transitive). Unpinned lines are not packages; they become
//! notes.
//!
//! Includes are read through the sibling reader, which only reads inside the scanned
//! root (see `scan.rs`). Notes never echo a line: they quote at most a short excerpt
//! with control characters escaped ([`excerpt`]).

use super::{pkg, prefixed_hash, Out, ParseError, Sibling};
use crate::inventory::Package;
use rampart_core::ScanError;
use std::collections::HashSet;

const MAX_DEPTH: usize = 16;

/// Longest excerpt of a line quoted in a note (characters).
const EXCERPT: usize = 40;

/// A short, escaped excerpt of scanned text for a message: at most [`EXCERPT`]
/// characters, control characters and quotes escaped, `…` when cut.
pub(crate) fn excerpt(s: &str) -> String {
    let mut out: String = s
        .chars()
        .take(EXCERPT)
        .collect::<String>()
        .escape_debug()
        .to_string();
    if s.chars().nth(EXCERPT).is_some() {
        out.push('…');
    }
    out
}

/// Join `base_dir` and `rel` and normalise `.` / `..` (`/`-separated).
pub(crate) fn join_norm(base_dir: &str, rel: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    let joined = if rel.starts_with('/') || base_dir.is_empty() {
        rel.to_string()
    } else {
        format!("{base_dir}/{rel}")
    };
    for seg in joined.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let s = parts.join("/");
    if rel.starts_with('/') {
        format!("/{s}")
    } else {
        s
    }
}

fn dir_of(p: &str) -> &str {
    p.rfind('/').map_or("", |i| &p[..i])
}

struct Ctx<'a> {
    top_dir: String,
    sibling: Sibling<'a>,
    visited: HashSet<String>,
    out: Vec<Package>,
    /// Per package: names from `# via` (pip-compile), if any.
    via: Vec<Option<Vec<String>>>,
    notes: Vec<ScanError>,
}

pub(crate) fn parse(
    rel: &str,
    text: &str,
    sibling: Sibling<'_>,
    notes: &mut Vec<ScanError>,
) -> Result<Out, ParseError> {
    let mut ctx = Ctx {
        top_dir: dir_of(rel).to_string(),
        sibling,
        visited: HashSet::from([join_norm("", rel)]),
        out: Vec::new(),
        via: Vec::new(),
        notes: Vec::new(),
    };
    file(&mut ctx, rel, text, 0);
    let any_via = ctx.via.iter().any(Option::is_some);
    let mut out = ctx.out;
    if any_via {
        // pip-compile: `# via -r requirements.in` = direct; `# via flask` = flask's dependency.
        let keys: Vec<(String, String)> = out
            .iter()
            .map(|p| (super::pep503(&p.name), p.key()))
            .collect();
        let mut edges: Vec<(usize, String)> = Vec::new();
        for (i, via) in ctx.via.iter().enumerate() {
            let Some(via) = via else { continue };
            out[i].direct = Some(via.iter().any(|v| v.starts_with('-')));
            for parent in via.iter().filter(|v| !v.starts_with('-')) {
                let pn = super::pep503(parent);
                if let Some(pi) = keys.iter().position(|(n, _)| *n == pn) {
                    edges.push((pi, keys[i].1.clone()));
                }
            }
        }
        for (pi, k) in edges {
            if !out[pi].dependencies.contains(&k) {
                out[pi].dependencies.push(k);
            }
        }
    } else {
        for p in &mut out {
            p.direct = Some(true);
        }
    }
    notes.append(&mut ctx.notes);
    Ok((None, out))
}

/// Logical lines: (first physical line, text) with `\` continuations joined.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut cur: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let (start, mut acc) = cur.take().unwrap_or((i + 1, String::new()));
        let trimmed = raw.trim_end();
        if let Some(body) = trimmed.strip_suffix('\\') {
            acc.push_str(body);
            acc.push(' ');
            cur = Some((start, acc));
        } else {
            acc.push_str(trimmed);
            out.push((start, acc));
        }
    }
    if let Some(c) = cur {
        out.push(c);
    }
    out
}

fn strip_comment(s: &str) -> &str {
    if s.trim_start().starts_with('#') {
        return "";
    }
    match s.find(" #").or_else(|| s.find("\t#")) {
        Some(i) => &s[..i],
        None => s,
    }
}

fn file(ctx: &mut Ctx<'_>, rel: &str, text: &str, depth: usize) {
    let dev = {
        let name = rel.rsplit('/').next().unwrap_or(rel).to_ascii_lowercase();
        name.contains("dev") || name.contains("test")
    };
    let mut last_pkg: Option<usize> = None;
    let mut in_via = false;
    for (line, l) in logical_lines(text) {
        let t = l.trim();
        // pip-compile annotations.
        if let Some(c) = t.strip_prefix('#') {
            let c = c.trim();
            if let Some(i) = last_pkg {
                if let Some(rest) = c.strip_prefix("via") {
                    in_via = true;
                    let v = ctx.via[i].get_or_insert_with(Vec::new);
                    let rest = rest.trim();
                    if !rest.is_empty() {
                        v.push(rest.to_string());
                    }
                } else if in_via && !c.is_empty() && !c.starts_with('(') {
                    if let Some(v) = ctx.via[i].as_mut() {
                        v.push(c.to_string());
                    }
                }
            }
            continue;
        }
        in_via = false;
        let t = strip_comment(t).trim();
        if t.is_empty() {
            continue;
        }
        last_pkg = None;
        if t.starts_with('-') {
            option(ctx, rel, t, line, depth);
            continue;
        }
        match requirement(t) {
            Ok((name, version, hashes)) => {
                let mut p = pkg(&name, &version, Some(line));
                if let Some(s) = p.source.as_mut() {
                    s.path = rel.to_string();
                }
                p.hashes = hashes;
                p.dev = dev;
                ctx.out.push(p);
                ctx.via.push(None);
                last_pkg = Some(ctx.out.len() - 1);
            }
            Err(why) => ctx.notes.push(ScanError {
                path: rel.to_string(),
                line: Some(line),
                message: why,
            }),
        }
    }
}

fn option(ctx: &mut Ctx<'_>, rel: &str, t: &str, line: usize, depth: usize) {
    let (opt, arg) = match t.split_once(['=', ' ', '\t']) {
        Some((o, a)) => (o, a.trim()),
        None => (t, ""),
    };
    match opt {
        "-r" | "--requirement" | "-c" | "--constraint" => {
            if arg.is_empty() || arg.contains("://") {
                ctx.notes.push(ScanError {
                    path: rel.to_string(),
                    line: Some(line),
                    message: format!("`{}`: only local include files are read", excerpt(t)),
                });
                return;
            }
            let target = join_norm(dir_of(rel), arg);
            if depth >= MAX_DEPTH || !ctx.visited.insert(target.clone()) {
                ctx.notes.push(ScanError {
                    path: rel.to_string(),
                    line: Some(line),
                    message: format!(
                        "`{}`: {} already included (cycle), skipped",
                        excerpt(t),
                        excerpt(&target)
                    ),
                });
                return;
            }
            // The sibling reader is relative to the top file's directory.
            let rel_to_top = relative_to(&ctx.top_dir, &target);
            match (ctx.sibling)(&rel_to_top) {
                Some(text) => file(ctx, &target, &text, depth + 1),
                None => ctx.notes.push(ScanError {
                    path: rel.to_string(),
                    line: Some(line),
                    message: format!(
                        "`{}`: {} not read (missing, not a regular file, too large, or \
                         outside the scanned root)",
                        excerpt(t),
                        excerpt(&target)
                    ),
                }),
            }
        }
        "-e" | "--editable" => ctx.notes.push(ScanError {
            path: rel.to_string(),
            line: Some(line),
            message: format!(
                "editable requirement `{}` is not a pinned package",
                excerpt(arg)
            ),
        }),
        _ => {}
    }
}

/// `target` (normalised, relative to the scan root) relative to `dir`.
fn relative_to(dir: &str, target: &str) -> String {
    if dir.is_empty() {
        return target.to_string();
    }
    match target.strip_prefix(&format!("{dir}/")) {
        Some(r) => r.to_string(),
        None => {
            let ups = dir.split('/').count();
            format!("{}{target}", "../".repeat(ups))
        }
    }
}

/// `name[extras]==version ; marker --hash=…` → (name, version, hashes), or why not.
fn requirement(t: &str) -> Result<(String, String, Vec<crate::inventory::Hash>), String> {
    let mut hashes = Vec::new();
    let mut spec = String::new();
    for tok in t.split_whitespace() {
        if let Some(h) = tok
            .strip_prefix("--hash=")
            .or_else(|| tok.strip_prefix("--hash:"))
        {
            if let Some(h) = prefixed_hash(h) {
                hashes.push(h);
            }
        } else if tok.starts_with("--") {
        } else {
            spec.push_str(tok);
            spec.push(' ');
        }
    }
    let spec = spec.split(';').next().unwrap_or("").trim();
    let name_end = spec
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(spec.len());
    let name = &spec[..name_end];
    if name.is_empty() {
        return Err(format!("`{}`: not a requirement", excerpt(t)));
    }
    let mut rest = spec[name_end..].trim_start();
    if rest.starts_with('[') {
        rest = rest.find(']').map_or("", |i| rest[i + 1..].trim_start());
    }
    if rest.starts_with('@') {
        return Err(format!(
            "{}: a direct URL reference, not a pinned version",
            excerpt(name)
        ));
    }
    let pinned = rest
        .strip_prefix("===")
        .or_else(|| rest.strip_prefix("=="))
        .map(str::trim);
    match pinned {
        Some(v) if !v.is_empty() && !v.contains([',', '*', '<', '>', '!', '~', ' ']) => {
            Ok((name.to_string(), v.to_string(), hashes))
        }
        _ if rest.is_empty() => Err(format!(
            "{}: not pinned (no version), not checked",
            excerpt(name)
        )),
        _ => Err(format!(
            "{}: not pinned (`{}`), not checked",
            excerpt(name),
            excerpt(rest)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins() {
        assert_eq!(join_norm("a/b", "../c.txt"), "a/c.txt");
        assert_eq!(join_norm("", "./x/y.txt"), "x/y.txt");
        assert_eq!(join_norm("", "../y.txt"), "../y.txt");
        assert_eq!(relative_to("a", "a/b/c.txt"), "b/c.txt");
        assert_eq!(relative_to("a/b", "c.txt"), "../../c.txt");
    }

    #[test]
    fn excerpts_are_short_and_escaped() {
        assert_eq!(excerpt("flask>=2"), "flask>=2");
        let long = format!("SECRET=\u{1b}[31m{}", "x".repeat(100));
        let e = excerpt(&long);
        assert!(e.starts_with("SECRET=\\u{1b}[31m"), "{e}");
        assert!(e.ends_with('…') && e.chars().count() < 60, "{e}");
        let err = requirement(&format!("HOME=/root\0PATH=/bin\0{}", "A".repeat(500))).unwrap_err();
        assert!(err.len() < 120 && !err.contains('\0'), "{err}");
    }

    #[test]
    fn requirement_lines() {
        let (n, v, h) =
            requirement("Django[argon2]==3.2.1 ; python_version >= '3.6' --hash=sha256:ab12")
                .unwrap();
        assert_eq!((n.as_str(), v.as_str(), h.len()), ("Django", "3.2.1", 1));
        assert!(requirement("flask>=2").is_err());
        assert!(requirement("flask==2.*").is_err());
        assert!(requirement("pkg @ https://x/y.whl").is_err());
    }
}
