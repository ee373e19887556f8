//! Property tests for the YAML loader: no panic on arbitrary input, and spans of
//! generated documents point at exactly the text of each field.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use rampart_k8s::load::{load_str, load_str_with, Limits};
use rampart_k8s::object::{join_index, join_key};

#[derive(Debug, Clone)]
enum Node {
    Scalar(String),
    Map(Vec<(String, Node)>),
    Seq(Vec<String>),
}

fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9]{0,8}",
        (0u32..100000).prop_map(|n| n.to_string()),
        "[a-z]{1,5}-[a-z0-9]{1,5}",
    ]
}

fn node() -> impl Strategy<Value = Node> {
    let leaf = prop_oneof![
        scalar().prop_map(Node::Scalar),
        prop::collection::vec(scalar(), 1..4).prop_map(Node::Seq),
    ];
    leaf.prop_recursive(4, 40, 5, |inner| {
        prop::collection::vec(("[a-z][a-zA-Z0-9]{0,6}", inner), 1..5).prop_map(|kv| {
            let mut seen = std::collections::HashSet::new();
            Node::Map(
                kv.into_iter()
                    .filter(|(k, _)| seen.insert(k.clone()))
                    .collect(),
            )
        })
    })
}

/// Render block YAML, recording (path, line, column, text) of every scalar field.
fn render(
    entries: &[(String, Node)],
    indent: usize,
    path: &str,
    out: &mut String,
    line: &mut usize,
    expect: &mut Vec<(String, usize, usize, String)>,
) {
    for (k, v) in entries {
        let p = join_key(path, k);
        let pad = " ".repeat(indent);
        match v {
            Node::Scalar(s) => {
                let text = format!("{k}: {s}");
                expect.push((p, *line, indent + 1, text.clone()));
                out.push_str(&format!("{pad}{text}\n"));
                *line += 1;
            }
            Node::Seq(items) => {
                out.push_str(&format!("{pad}{k}:\n"));
                *line += 1;
                for (i, s) in items.iter().enumerate() {
                    expect.push((join_index(&p, i), *line, indent + 3, s.clone()));
                    out.push_str(&format!("{pad}- {s}\n"));
                    *line += 1;
                }
            }
            Node::Map(m) => {
                out.push_str(&format!("{pad}{k}:\n"));
                *line += 1;
                render(m, indent + 2, &p, out, line, expect);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn never_panics_on_arbitrary_text(s in "\\PC{0,400}") {
        let _ = load_str(&s, Some("x.yaml"));
    }

    #[test]
    fn never_panics_on_yamlish_text(s in "([-:{}\\[\\],&*!|>'\"#%. a-z0-9]|\n|\t){0,300}") {
        let limits = Limits { max_nodes: 10_000, max_depth: 32, ..Limits::default() };
        let _ = load_str_with(&format!("apiVersion: v1\nkind: X\n{s}"), None, &limits);
    }

    #[test]
    fn spans_point_at_each_field(entries in prop::collection::vec(("[a-z][a-zA-Z0-9]{0,6}", node()), 1..6)) {
        let mut seen = std::collections::HashSet::new();
        let entries: Vec<(String, Node)> = entries
            .into_iter()
            .filter(|(k, _)| k != "apiVersion" && k != "kind" && seen.insert(k.clone()))
            .collect();
        let mut text = String::from("# generated\napiVersion: v1\nkind: Thing\n");
        let mut line = 4;
        let mut expect = Vec::new();
        render(&entries, 0, "", &mut text, &mut line, &mut expect);
        let loaded = load_str(&text, Some("g.yaml"));
        prop_assert!(loaded.errors.is_empty(), "{:?}\n{}", loaded.errors, text);
        prop_assert_eq!(loaded.objects.len(), 1);
        let obj = &loaded.objects[0];
        let lines: Vec<&str> = text.lines().collect();
        for (path, l, c, t) in expect {
            let s = obj.spans().get(&path);
            prop_assert!(s.is_some(), "no span for {}\n{}", path, text);
            let s = s.unwrap();
            prop_assert_eq!((s.start_line, s.start_column, s.end_line), (l, c, l), "{} {:?}", path, s);
            let src: String = lines[l - 1].chars().skip(c - 1).take(s.end_column - s.start_column).collect();
            prop_assert_eq!(src, t, "{}", path);
        }
    }
}
