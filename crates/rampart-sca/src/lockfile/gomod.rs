//! `go.mod` (+ `go.sum` next to it for hashes): `require` lines and blocks,
//! `// indirect`, `replace` directives (module → module or → local path), `toolchain`.

use super::{pkg, Out, ParseError, Sibling};
use crate::inventory::{Hash, Package};
use rampart_core::ScanError;

fn strip_comment(l: &str) -> (&str, bool) {
    match l.find("//") {
        Some(i) => (&l[..i], l[i..].contains("indirect")),
        None => (l, false),
    }
}

fn unquote(s: &str) -> &str {
    s.trim_matches('"').trim_matches('`')
}

pub(crate) fn parse(
    text: &str,
    sibling: Sibling<'_>,
    notes: &mut Vec<ScanError>,
) -> Result<Out, ParseError> {
    let mut out: Vec<Package> = Vec::new();
    let mut replaces: Vec<(usize, Vec<String>, Vec<String>)> = Vec::new();
    let mut block: Option<String> = None;
    let mut saw_module = false;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let (body, indirect) = strip_comment(raw);
        let body = body.trim();
        if body.is_empty() {
            continue;
        }
        let (verb, rest) = match &block {
            Some(b) => {
                if body == ")" {
                    block = None;
                    continue;
                }
                (b.clone(), body.to_string())
            }
            None => {
                let (v, r) = body.split_once(char::is_whitespace).unwrap_or((body, ""));
                let r = r.trim();
                if r == "(" {
                    block = Some(v.to_string());
                    continue;
                }
                (v.to_string(), r.to_string())
            }
        };
        let toks: Vec<&str> = rest.split_whitespace().map(unquote).collect();
        match verb.as_str() {
            "module" => saw_module = true,
            "require" => {
                let [path, version, ..] = toks[..] else {
                    return Err(ParseError::new(
                        Some(line),
                        format!("require: expected `module version`, found `{rest}`"),
                    ));
                };
                let mut p = pkg(path, version, Some(line));
                p.direct = Some(!indirect);
                out.push(p);
            }
            "replace" => {
                let Some(arrow) = toks.iter().position(|t| *t == "=>") else {
                    return Err(ParseError::new(
                        Some(line),
                        format!("replace: expected `=>` in `{rest}`"),
                    ));
                };
                replaces.push((
                    line,
                    toks[..arrow].iter().map(|s| s.to_string()).collect(),
                    toks[arrow + 1..].iter().map(|s| s.to_string()).collect(),
                ));
            }
            "toolchain" => {
                if let Some(v) = toks.first().and_then(|t| t.strip_prefix("go")) {
                    let mut p = pkg("stdlib", v, Some(line));
                    p.direct = Some(true);
                    out.push(p);
                }
            }
            "go" | "exclude" | "retract" | "godebug" | "tool" | "ignore" => {}
            other => {
                return Err(ParseError::new(
                    Some(line),
                    format!("unknown go.mod directive `{other}`"),
                ))
            }
        }
    }
    if !saw_module && out.is_empty() {
        return Err(ParseError::new(
            Some(1),
            "no `module` directive: not a go.mod",
        ));
    }
    for (line, old, new) in replaces {
        let (Some(old_path), Some(new_path)) = (old.first(), new.first()) else {
            continue;
        };
        let old_ver = old.get(1);
        let local = new_path.starts_with('.') || new_path.starts_with('/');
        let mut removed = false;
        out.retain_mut(|p| {
            if &p.name != old_path || old_ver.is_some_and(|v| *v != p.version) {
                return true;
            }
            if local {
                removed = true;
                return false;
            }
            p.name = new_path.clone();
            if let Some(v) = new.get(1) {
                p.version = v.clone();
            }
            if let Some(s) = p.source.as_mut() {
                s.line = Some(line);
            }
            true
        });
        if removed {
            notes.push(ScanError {
                path: String::new(),
                line: Some(line),
                message: format!(
                    "{old_path} is replaced by the local directory {new_path}; not checked"
                ),
            });
        }
    }
    if let Some(sum) = sibling("go.sum") {
        add_sums(&mut out, &sum);
    }
    Ok((None, out))
}

/// `module version h1:<base64 SHA-256>` lines (not the `/go.mod` ones).
fn add_sums(out: &mut [Package], sum: &str) {
    use base64::Engine as _;
    let mut map = std::collections::HashMap::new();
    for l in sum.lines() {
        let t: Vec<&str> = l.split_whitespace().collect();
        if let [m, v, h] = t[..] {
            if v.ends_with("/go.mod") {
                continue;
            }
            if let Some(b) = h.strip_prefix("h1:") {
                if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(b) {
                    map.insert((m.to_string(), v.to_string()), hex::encode(bytes));
                }
            }
        }
    }
    for p in out {
        if let Some(h) = map.get(&(p.name.clone(), p.version.clone())) {
            p.hashes.push(Hash {
                alg: "SHA-256".into(),
                value: h.clone(),
            });
        }
    }
}
