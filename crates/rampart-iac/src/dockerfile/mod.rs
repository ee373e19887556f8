//! Dockerfiles: parser, rules and the Conftest-shaped JSON input for custom policies.

pub mod parse;
pub mod rules;

use crate::meta::meta;
use parse::{key_values, shell_words, Dockerfile};
use rampart_core::fingerprint::fingerprint;
use rampart_core::{Finding, Location, ScanError, Span};
use serde_json::{json, Value};

/// Whether a file name is a Dockerfile: `Dockerfile`, `Containerfile`, `*.Dockerfile`,
/// `Dockerfile.*` (case-insensitive), `*.dockerfile`.
pub fn is_dockerfile(file_name: &str) -> bool {
    let n = file_name.to_ascii_lowercase();
    n == "dockerfile"
        || n == "containerfile"
        || n.ends_with(".dockerfile")
        || n.ends_with(".containerfile")
        || (n.starts_with("dockerfile.") && !n.ends_with(".dockerignore"))
        || n.starts_with("containerfile.")
}

/// Run every Dockerfile rule on `text`; findings point at `path` (relative, `/`-separated).
pub fn check(path: &str, text: &str) -> (Vec<Finding>, Vec<ScanError>) {
    let df = parse::parse(text);
    let errors = df
        .problems
        .iter()
        .map(|p| ScanError {
            path: path.to_string(),
            line: Some(p.line),
            message: p.message.clone(),
        })
        .collect();
    (check_parsed(path, &df), errors)
}

/// Run every Dockerfile rule on a parsed Dockerfile.
pub fn check_parsed(path: &str, df: &Dockerfile) -> Vec<Finding> {
    // Fragments without FROM (templates, ONBUILD snippets) still get the per-instruction
    // rules; the stage rules need a FROM and stay quiet.
    let mut out = Vec::new();
    for r in rules::rules() {
        let mut hits = Vec::new();
        (r.check)(df, &mut hits);
        if hits.is_empty() {
            continue;
        }
        let m = meta(&r.spec, "docker");
        for h in hits {
            let span = Span {
                start_line: h.line,
                start_column: 1,
                end_line: h.end_line.max(h.line),
                end_column: 1,
            };
            let fp = fingerprint(&[&m.id, path, &h.identity]);
            let mut f = Finding::new(&m, h.message, Location::file(path, Some(span)), fp);
            f.properties.insert("line".into(), json!(h.line));
            out.push(f);
        }
    }
    out.sort_by(|a, b| (a.location.line(), &a.rule_id).cmp(&(b.location.line(), &b.rule_id)));
    out
}

/// The Dockerfile as Conftest presents it to Rego: an array of
/// `{"Cmd": "run", "Flags": [...], "Value": [...], "Stage": n, "SubCmd": "", "JSON": bool, "Original": "...", "Line": n}`.
pub fn conftest_input(df: &Dockerfile) -> Value {
    let items: Vec<Value> = df
        .instructions
        .iter()
        .map(|i| {
            let value: Vec<String> = match (&i.exec, i.keyword.as_str()) {
                (Some(v), _) => v.clone(),
                (None, "ENV" | "ARG" | "LABEL") => key_values(&i.keyword, &i.args)
                    .into_iter()
                    .flat_map(|(k, v)| std::iter::once(k).chain(v))
                    .collect(),
                (
                    None,
                    "FROM" | "COPY" | "ADD" | "EXPOSE" | "VOLUME" | "USER" | "WORKDIR"
                    | "STOPSIGNAL",
                ) => shell_words(&i.args),
                (None, _) => vec![i.shell_text()],
            };
            let flags: Vec<String> = i
                .flags
                .iter()
                .map(|(k, v)| {
                    if v.is_empty() {
                        format!("--{k}")
                    } else {
                        format!("--{k}={v}")
                    }
                })
                .collect();
            json!({
                "Cmd": i.keyword.to_ascii_lowercase(),
                "Flags": flags,
                "Value": value,
                "Stage": i.stage.unwrap_or(0),
                "SubCmd": "",
                "JSON": i.is_exec_form(),
                "Original": format!("{} {}", i.keyword, i.args).trim().to_string(),
                "Line": i.line,
            })
        })
        .collect();
    Value::Array(items)
}
