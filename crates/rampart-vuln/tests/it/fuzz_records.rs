//! Fuzz: real OSV records from `shared/corpora/osv/`, mutated (structurally: a value
//! anywhere in the tree replaced by arbitrary JSON; and as bytes: cut, spliced,
//! overwritten), then imported and matched. Import must never panic nor fail as a
//! whole: every file ends up imported, withdrawn, rejected with a reason, or skipped.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use rampart_vuln::{Db, ImportOptions, Package};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::LazyLock;

/// A few dozen real records of every shape in the corpus.
static SEEDS: LazyLock<Vec<Value>> = LazyLock::new(|| {
    let mut out = Vec::new();
    for (dir, n) in [
        ("Go", 8),
        ("RustSec", 8),
        ("PyPI", 8),
        ("osv-schema/linter-testdata", 20),
        ("osv-schema/redhat-osv", 2),
        ("mixed-osv-scanner-samples", 30),
        ("mixed-osv-dev-samples", 3),
    ] {
        let Some(d) = rampart_testkit::corpus(&format!("osv/{dir}")) else {
            continue;
        };
        let mut files: Vec<PathBuf> = walk(&d);
        files.sort();
        for f in files.into_iter().take(n) {
            if let Ok(v) = serde_json::from_slice::<Value>(&std::fs::read(&f).unwrap()) {
                out.push(v);
            }
        }
    }
    out
});

fn walk(d: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(d).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
    out
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "\\PC{0,12}".prop_map(Value::String),
        prop::sample::select(vec![
            "0",
            "1.0.0",
            "",
            "v1",
            "0:1-1",
            "GIT",
            "SEMVER",
            "ECOSYSTEM",
            "introduced",
            "fixed",
            "npm",
            "PyPI",
            "crates.io",
            "Debian:12",
            "CVSS:3.1/AV:N"
        ])
        .prop_map(|s| Value::String(s.to_string())),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(("[a-z_]{1,10}", inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// Replace the `pick`-th node (pre-order, modulo the node count) with `new`.
fn replace_nth(v: &mut Value, pick: usize, new: Value) {
    fn count(v: &Value) -> usize {
        1 + match v {
            Value::Array(a) => a.iter().map(count).sum(),
            Value::Object(m) => m.values().map(count).sum(),
            _ => 0,
        }
    }
    fn go(v: &mut Value, n: &mut usize, new: &mut Option<Value>) {
        if *n == 0 {
            if let Some(x) = new.take() {
                *v = x;
            }
            return;
        }
        *n -= 1;
        match v {
            Value::Array(a) => a.iter_mut().for_each(|x| go(x, n, new)),
            Value::Object(m) => m.values_mut().for_each(|x| go(x, n, new)),
            _ => {}
        }
    }
    let total = count(v);
    let mut n = pick % total;
    go(v, &mut n, &mut Some(new));
}

fn import_and_match(files: &[(String, Vec<u8>)]) {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in files {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    let mut db = Db::open_in_memory().unwrap();
    let r = db
        .import(&[dir.path().to_path_buf()], &ImportOptions::default())
        .expect("a bad record must never fail the whole import");
    for p in &r.rejected {
        assert!(!p.message.is_empty() && !p.code.is_empty());
    }
    // Match something for every package the mutated records name.
    let mut pkgs = Vec::new();
    for (_, bytes) in files {
        if let Ok(v) = serde_json::from_slice::<Value>(bytes) {
            for a in v["affected"].as_array().into_iter().flatten() {
                let (Some(e), Some(n)) = (
                    a["package"]["ecosystem"].as_str(),
                    a["package"]["name"].as_str(),
                ) else {
                    continue;
                };
                for ver in ["0", "1.0.0", "0:1-1", "", "999"] {
                    pkgs.push(Package::new(e, n, ver));
                }
            }
        }
    }
    let reports = db.match_packages(&pkgs).unwrap();
    for r in &reports {
        let _ = r.findings();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn structurally_mutated_records_never_panic(
        seed in any::<prop::sample::Index>(),
        mutations in prop::collection::vec((any::<usize>(), any_json()), 1..4),
    ) {
        if SEEDS.is_empty() {
            return Ok(());
        }
        let mut v = SEEDS[seed.index(SEEDS.len())].clone();
        for (pick, new) in mutations {
            replace_nth(&mut v, pick, new);
        }
        import_and_match(&[("r.json".into(), serde_json::to_vec(&v).unwrap())]);
    }

    #[test]
    fn byte_mutated_records_never_panic(
        seed in any::<prop::sample::Index>(),
        cut in any::<prop::sample::Index>(),
        len in 0usize..40,
        splice in prop::collection::vec(any::<u8>(), 0..12),
    ) {
        if SEEDS.is_empty() {
            return Ok(());
        }
        let text = serde_json::to_vec(&SEEDS[seed.index(SEEDS.len())]).unwrap();
        let at = cut.index(text.len());
        let end = (at + len).min(text.len());
        let mut m = text[..at].to_vec();
        m.extend_from_slice(&splice);
        m.extend_from_slice(&text[end..]);
        // The same bytes as JSON and as YAML (YAML is a superset of JSON).
        import_and_match(&[("r.json".into(), m.clone()), ("r.yaml".into(), m)]);
    }
}
