//! `Gemfile.lock`: the `GEM` section's specs (4-space indent) and their dependencies
//! (6-space), `DEPENDENCIES` for direct ones. `GIT` and `PATH` gems are not registry
//! packages and are skipped.

use super::{pkg, resolve_by_name, Out, ParseError};
use crate::inventory::Package;
use std::collections::HashSet;

fn name_of(s: &str) -> &str {
    s.split([' ', '(', '!']).next().unwrap_or(s).trim()
}

pub(crate) fn parse(text: &str) -> Result<Out, ParseError> {
    let mut section = String::new();
    let mut out: Vec<Package> = Vec::new();
    let mut deps: Vec<Vec<String>> = Vec::new();
    let mut direct: HashSet<String> = HashSet::new();
    let mut in_specs = false;
    let mut current: Option<usize> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        if line.trim().is_empty() {
            continue;
        }
        let lead = line.len() - line.trim_start_matches(' ').len();
        let body = line.trim();
        if lead == 0 {
            section = body.to_string();
            in_specs = false;
            current = None;
            continue;
        }
        match (section.as_str(), lead) {
            ("GEM", 2) => in_specs = body == "specs:",
            ("GEM", 4) if in_specs => {
                let name = name_of(body);
                let Some(ver) = body.split_once('(').and_then(|(_, r)| r.strip_suffix(')')) else {
                    return Err(ParseError::new(
                        Some(i + 1),
                        format!("expected `name (version)`, found `{body}`"),
                    ));
                };
                // `1.11.7-x86_64-linux`: the platform is not part of the version.
                let ver = ver.split('-').next().unwrap_or(ver);
                out.push(pkg(name, ver, Some(i + 1)));
                deps.push(Vec::new());
                current = Some(out.len() - 1);
            }
            ("GEM", 6) if in_specs => {
                if let Some(c) = current {
                    deps[c].push(name_of(body).to_string());
                }
            }
            ("DEPENDENCIES", 2) => {
                direct.insert(name_of(body).to_string());
            }
            _ => {}
        }
    }
    resolve_by_name(&mut out, &deps);
    if !direct.is_empty() {
        for p in &mut out {
            p.direct = Some(direct.contains(&p.name));
        }
    }
    Ok((None, out))
}
