//! The fast path must agree with the yaml-rust2 path on every document it accepts.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use super::{parse_chunk, split_documents, Limits};
use rampart_core::Span;
use rampart_yaml::fast::{parse, spans_only};
use std::collections::BTreeMap;
use std::path::Path;

/// Compare both paths on every document of `text`: (documents the fast path took,
/// bytes it took, bytes it left to yaml-rust2). Panics on the first disagreement.
fn compare(name: &str, text: &str) -> (usize, usize, usize) {
    let limits = Limits::default();
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let (mut docs, mut fast_bytes, mut slow_bytes) = (0, 0, 0);
    for chunk in split_documents(text) {
        let fast = parse(chunk.text, chunk.first_line, &limits.yaml(), true);
        let Some(fast) = fast else {
            slow_bytes += chunk.text.len();
            continue;
        };
        fast_bytes += chunk.text.len();
        let slow = parse_chunk(chunk.text, chunk.first_line, &limits);
        let slow = match slow {
            Ok(s) => s,
            Err(e) => panic!(
                "{name}:{}: fast path accepted a document yaml-rust2 rejects: {e}\n{:?}",
                chunk.first_line, chunk.text
            ),
        };
        match (fast, slow) {
            (None, None) => {}
            (Some((fv, fs)), Some((sv, ss))) => {
                docs += 1;
                assert!(
                    fv == sv,
                    "{name}:{}: values differ\nfast: {fv}\nslow: {sv}\n{:?}",
                    chunk.first_line,
                    chunk.text.chars().take(600).collect::<String>()
                );
                // The lazy spans (computed later without the value) are the same.
                let again = spans_only(chunk.text, chunk.first_line, &limits.yaml(), false);
                assert!(
                    again.as_ref() == Some(&fs),
                    "{name}:{}: spans-only mode differs",
                    chunk.first_line
                );
                let fs: BTreeMap<String, Span> = fs.into_iter().collect();
                if fs != ss {
                    let keys: std::collections::BTreeSet<&String> =
                        fs.keys().chain(ss.keys()).collect();
                    for k in keys {
                        if fs.get(k) != ss.get(k) {
                            panic!(
                                "{name}:{}: span of `{k}` differs: fast {:?} slow {:?}\n{:?}",
                                chunk.first_line,
                                fs.get(k),
                                ss.get(k),
                                chunk.text.chars().take(600).collect::<String>()
                            );
                        }
                    }
                }
            }
            (f, s) => panic!(
                "{name}:{}: fast {:?} vs slow {:?}",
                chunk.first_line,
                f.map(|x| x.0),
                s.map(|x| x.0)
            ),
        }
    }
    (docs, fast_bytes, slow_bytes)
}

fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else if p
            .extension()
            .and_then(|x| x.to_str())
            .is_some_and(|x| matches!(x, "yaml" | "yml"))
        {
            out.push(p);
        }
    }
}

fn compare_dir(dir: &Path) -> (usize, usize, usize, usize) {
    let mut files = Vec::new();
    walk(dir, &mut files);
    files.sort();
    let (mut n, mut d, mut f, mut s) = (0, 0, 0, 0);
    for p in &files {
        let Ok(text) = std::fs::read_to_string(p) else {
            continue;
        };
        let (a, b, c) = compare(&p.display().to_string(), &text);
        n += 1;
        d += a;
        f += b;
        s += c;
    }
    (n, d, f, s)
}

#[test]
fn agrees_with_yaml_rust2_on_the_corpora() {
    for corpus in [
        "k8s-manifests-large/files",
        "k8s-manifests",
        "k8s-checkov",
        "psa-fixtures",
        "k8s-rbac",
        "netpol",
    ] {
        let Some(dir) = rampart_testkit::corpus(corpus) else {
            continue;
        };
        let (files, docs, fast, slow) = compare_dir(&dir);
        eprintln!(
            "fast-path {corpus}: {files} files, {docs} documents on the fast path, {fast} bytes fast, {slow} bytes left to yaml-rust2"
        );
        assert!(files > 0, "{corpus}: no YAML files");
        // Nearly everything in the big corpus is in the subset (the speed target
        // depends on it; `k8s-manifests` also holds unrendered Helm templates).
        assert!(
            corpus != "k8s-manifests-large/files" || slow * 50 < fast + slow,
            "{corpus}: {slow} of {} bytes fell back to yaml-rust2",
            fast + slow
        );
    }
}

#[test]
fn agrees_on_the_crate_fixtures() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let (files, docs, _, _) = compare_dir(&dir);
    assert!(files > 0 && docs > 0);
}

#[test]
fn constructs() {
    let cases: &[&str] = &[
        "a: 1\nb: two\nc: 'q''s'\nd: \"x\\ty\\u00e9\"\n",
        "a:\n- 1\n- b: 2\n  c: 3\n-\n- x\n-\n- - x\n  - y\n-\nz: ~\n",
        "a:\n  b:\n  c: [1, two, {x: 'y', z: []}, {}]\nd: {}\n",
        "s: |\n  line 1\n\n  line 3\n   more\nt: >-\n  folded\n  text\n\n  para\nu: |+\n  keep\n\nv: end\n",
        "p: a plain\n  scalar over\n\n  lines\nq: \"a quoted\n  scalar\"\nr: 'single\n\n  quoted'\n",
        "k: v # comment\n# full line\nlist: # c\n  - a # c\n  - 'b' # c\n",
        "é: ünïcode\nx: [ä, ö]\ny: \"ü\"\n",
        "---\nkind: Pod\n...\n",
        "\"quoted key\": 1\n'other': 2\nurl: http://x:80/y\nt: a:b\n",
        "a:\n  - name: x\n    env:\n    - {name: A, value: \"1\"}\n  - name: y\nb: yes\nc: 0o17\nd: 012\ne: 1e3\nf: .5\n",
        "a: |-\n    x\n      y\n    z\nb: >\n  a\n  b\n",
        "e:\n",
        "e: []\nf:\n  g:\n",
        "a: \"x\\\n  y\"\n",
        "a: |2\n  x\n   y\nb: |\n\n  after empty\n",
        "a:\n  b: |-\n    x\n  c:",
        "a:\n  b: |2-\n\n\n    x\n    y\n  c: 1\n",
        "a:\n  b: >\n\n    x\n    y\n  c: 1\n",
    ];
    for c in cases {
        let (docs, fast, slow) = compare(&format!("{c:?}"), c);
        assert!(
            docs == 1 && slow == 0 && fast > 0,
            "not on the fast path: {c:?}"
        );
    }
    // Outside the subset: the caller falls back.
    for c in [
        "a: &x 1\nb: *x\n",
        "a: !!str 1\n",
        "<<: {a: 1}\n",
        "? a\n: b\n",
        "a:\tb\n",
        "a: b\r\n",
        "a: [1,\n  2]\n",
        "a: 1\na: 2\n",
        "a: |2\n   x\n  y\n",
        "a: b: c\n",
        "just a scalar\n",
        "---\n",
    ] {
        assert!(
            parse(c, 1, &Limits::default().yaml(), true).is_none(),
            "should fall back: {c:?}"
        );
    }
    assert!(matches!(
        parse("# only\n\n", 1, &Limits::default().yaml(), true),
        Some(None)
    ));
}

#[test]
#[ignore]
fn probe() {
    // PROBE=DIR: where the fast path falls back, and the first line it fails at.
    let dir = std::env::var("PROBE").unwrap();
    let mut files = Vec::new();
    walk(Path::new(&dir), &mut files);
    let mut out = Vec::new();
    for f in files {
        let c = std::fs::read_to_string(&f).unwrap();
        for ch in split_documents(&c) {
            if parse(ch.text, ch.first_line, &Limits::default().yaml(), true).is_some() {
                continue;
            }
            let lines: Vec<&str> = ch.text.split_inclusive('\n').collect();
            let mut n = 0;
            let mut acc = String::new();
            for (i, l) in lines.iter().enumerate() {
                acc.push_str(l);
                if parse(&acc, 1, &Limits::default().yaml(), false).is_some() {
                    n = i + 1;
                }
            }
            let bad = lines.get(n).copied().unwrap_or("<end>").trim_end();
            out.push((
                ch.text.len(),
                format!("{}:{} +{n}: {bad}", f.display(), ch.first_line),
            ));
        }
    }
    out.sort();
    for (len, s) in out.iter().rev().take(60) {
        eprintln!("{len} {s}");
    }
}

/// Documents the mutations start from: the shapes real manifests have.
const SEEDS: &[&str] = &[
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web # c\n  labels: {app: web, tier: \"fe\"}\nspec:\n  replicas: 3\n  template:\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.25\n        args: [\"--port\", '8080']\n        env:\n        - name: A\n          value: \"x\\ty\"\n        command:\n        - sh\n        - -c\n        - |\n          echo hi |\n          cat\n      - name: side\n        securityContext:\n          privileged: yes\n",
    "kind: ConfigMap\ndata:\n  a: >-\n    folded\n    text\n\n    more\n  b: 'it''s\n    long'\n  c: plain\n    continued\n  d:\n  e: ~\n",
    "a:\n- b\n-\n- - c\n  - d\n- e: 1\n  f:\n  - g\nh: \"q\\\n  r\"\n",
    "\"k 1\": {a: [1, 2.5, -3], 'b': null}\nk2: |+\n  keep\n\nk3: |2-\n  x\n   y\nk4: >\n\n  lead\n  fold\nk5: 0x1F\nk6: 'é''q'\n",
    "# c\n---\nx:\n  y:\n    - z: 1\n      w: [a, {b: c}]\n    -   spaced: true\n  v: \"\\u00e9\\x41\\n\"\n",
];

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: 5000,
        failure_persistence: None,
        ..proptest::prelude::ProptestConfig::default()
    })]

    /// Mutated documents: whenever the fast path answers, yaml-rust2 agrees.
    #[test]
    fn mutated_documents_agree(
        seed in 0usize..SEEDS.len(),
        edits in proptest::collection::vec((0usize..400, 0usize..4, 0usize..24), 1..8),
    ) {
        const INSERTS: &[&str] = &[
            " ", "  ", ":", ": ", "-", "- ", "#", " #", "\n", "\n  ", "\"", "'", "|", ">",
            "[", "]", "{", "}", ",", "a", "0", "\\", "é", "---\n",
        ];
        let mut text = SEEDS[seed].to_string();
        for (at, del, ins) in edits {
            let mut at = at.min(text.len());
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            let mut end = (at + del).min(text.len());
            while !text.is_char_boundary(end) {
                end += 1;
            }
            text.replace_range(at..end, INSERTS[ins % INSERTS.len()]);
        }
        compare("mutated", &text);
    }
}
