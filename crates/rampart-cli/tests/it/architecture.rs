//! Keeps the dependency directions that docs/architecture.md draws: every `rampart-*`
//! crate in a crate's `[dependencies]` must be listed for it in the document's table.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .and_then(Path::parent)
        .expect("workspace root")
}

/// `| `crate` | `a`, `b` |` rows of the "Dependency directions" table.
fn allowed_edges(doc: &str) -> BTreeMap<String, Option<BTreeSet<String>>> {
    let section = doc
        .split("## Dependency directions")
        .nth(1)
        .expect("docs/architecture.md has a Dependency directions section");
    let mut out = BTreeMap::new();
    for line in section.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 4 || !cells[1].starts_with("`rampart-") {
            continue;
        }
        let name = cells[1].trim_matches('`').to_string();
        let deps = if cells[2].contains("every crate") {
            None
        } else {
            // Every `rampart-…` in backticks; anything else in the cell is a comment.
            Some(
                cells[2]
                    .split('`')
                    .skip(1)
                    .step_by(2)
                    .filter(|s| s.starts_with("rampart-"))
                    .map(str::to_string)
                    .collect(),
            )
        };
        out.insert(name, deps);
    }
    out
}

/// `rampart-*` names in the `[dependencies]` section (not dev- or build-dependencies).
fn declared_deps(manifest: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut in_deps = false;
    for line in manifest.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            in_deps = t == "[dependencies]";
            continue;
        }
        if in_deps && t.starts_with("rampart-") {
            if let Some(name) = t.split(['=', '.', ' ']).next() {
                out.insert(name.to_string());
            }
        }
    }
    out
}

#[test]
fn crate_dependencies_follow_docs_architecture() {
    let root = workspace_root();
    let doc = std::fs::read_to_string(root.join("docs/architecture.md")).expect("read doc");
    let allowed = allowed_edges(&doc);
    assert!(allowed.len() >= 10, "table not found: {allowed:?}");
    let mut problems = Vec::new();
    let mut crates = 0;
    for entry in std::fs::read_dir(root.join("crates")).expect("crates dir") {
        let dir = entry.expect("entry").path();
        let Ok(manifest) = std::fs::read_to_string(dir.join("Cargo.toml")) else {
            continue;
        };
        crates += 1;
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let deps = declared_deps(&manifest);
        match allowed.get(&name) {
            None => problems.push(format!(
                "{name} is not in docs/architecture.md's dependency table"
            )),
            Some(None) => {}
            Some(Some(ok)) => {
                for d in deps.difference(ok) {
                    problems.push(format!(
                        "{name} depends on {d}, which docs/architecture.md does not allow"
                    ));
                }
            }
        }
        if name != "rampart-cli" && deps.contains("rampart-cli") {
            problems.push(format!("{name} depends on the CLI"));
        }
        if !manifest.contains("[lints]") {
            problems.push(format!("{name} does not use the workspace lints"));
        }
    }
    assert!(crates >= 10, "found only {crates} crates");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_table_parser_sees_a_forbidden_edge() {
    // The check must be able to fail: a made-up manifest with an edge the table lacks.
    let doc = "## Dependency directions\n| crate | may |\n|---|---|\n| `rampart-core` | `rampart-yaml` |\n";
    let allowed = allowed_edges(doc);
    let deps = declared_deps("[dependencies]\nrampart-k8s.workspace = true\n[dev-dependencies]\nrampart-cli = { path = \"x\" }\n");
    let ok = allowed["rampart-core"].clone().unwrap_or_default();
    assert_eq!(
        deps.difference(&ok).cloned().collect::<Vec<_>>(),
        vec!["rampart-k8s".to_string()]
    );
}
