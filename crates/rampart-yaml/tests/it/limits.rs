//! The loader's limits against hostile inputs (the reproducers R2–R4 of the fuzzing
//! round, 2026-12-07), and the options other crates rely on.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use rampart_yaml::{load_one, load_str, Options, Scalars};
use std::time::{Duration, Instant};

fn timed<T>(limit: Duration, f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let r = f();
    assert!(t.elapsed() < limit, "took {:?}", t.elapsed());
    r
}

/// R2: nine levels of nine aliases each: 9^9 nodes if expanded.
#[test]
fn alias_bomb_is_an_error_with_a_line() {
    let mut text = String::from("- list: l0\n  items: &a0 [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n");
    for i in 1..9 {
        let refs = vec![format!("*a{}", i - 1); 9].join(",");
        text.push_str(&format!("- list: l{i}\n  items: &a{i} [{refs}]\n"));
    }
    let docs = timed(Duration::from_secs(5), || {
        load_str(&text, &Options::default())
    });
    let e = docs[0].as_ref().unwrap_err();
    assert!(e.message.contains("alias bomb"), "{e}");
    assert!(e.line.is_some_and(|l| l > 2), "{e:?}");
}

/// R3: a flow sequence nested 100,000 deep is rejected at once, not in quadratic time.
#[test]
fn deep_nesting_is_rejected_quickly() {
    let text = format!(
        "lockfileVersion: '9.0'\npackages: {}{}\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let e = timed(Duration::from_secs(2), || {
        load_one(&text, &Options::default())
    })
    .unwrap_err();
    assert!(e.message.contains("nesting"), "{e}");
    assert_eq!(e.line, Some(2));
}

/// R4: unused anchors (9^7 nodes if expanded) plus an unterminated deep sequence.
#[test]
fn unused_anchors_and_unterminated_nesting() {
    let mut text = String::from("a0: &a0 [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n");
    for i in 1..8 {
        let refs = vec![format!("*a{}", i - 1); 9].join(",");
        text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    text.push_str(&format!("dependencies:\n  x: {}\n", "[".repeat(7848)));
    let e = timed(Duration::from_secs(2), || {
        load_one(&text, &Options::default())
    })
    .unwrap_err();
    assert!(
        e.message.contains("alias bomb") || e.message.contains("nesting"),
        "{e}"
    );
}

#[test]
fn oversized_input_is_one_error() {
    let opts = Options {
        limits: rampart_yaml::Limits {
            max_file_bytes: 10,
            ..Default::default()
        },
        ..Options::default()
    };
    let docs = load_str("a: 1\nb: 2\nc: 3\n", &opts);
    assert_eq!(docs.len(), 1);
    assert!(docs[0]
        .as_ref()
        .unwrap_err()
        .message
        .contains("larger than 10 bytes"));
}

#[test]
fn text_scalars_stay_as_written() {
    let opts = Options {
        scalars: Scalars::Text,
        ..Options::default()
    };
    let d = load_one("v: 1.10\nb: yes\nn: ~\nq: \"~\"\no: 010\n", &opts).unwrap();
    assert_eq!(d.value["v"], "1.10");
    assert_eq!(d.value["b"], "yes");
    assert!(d.value["n"].is_null());
    assert_eq!(d.value["q"], "~");
    assert_eq!(d.value["o"], "010");
    let k = load_one("b: yes\no: 010\n", &Options::default()).unwrap();
    assert_eq!(k.value["b"], true);
    assert_eq!(k.value["o"], 8);
}

#[test]
fn value_spans_point_at_values() {
    let opts = Options {
        value_spans: true,
        ..Options::default()
    };
    let d = load_one("key:   value\nlist:\n  - a\n", &opts).unwrap();
    assert_eq!(d.spans["key"].start_column, 1);
    assert_eq!(d.value_spans["key"].start_column, 8);
    assert_eq!(d.value_spans["list"].start_line, 3);
    assert_eq!(d.spans["list[0]"].start_line, 3);
}

#[test]
fn documents_split_with_lines_and_errors_per_document() {
    let docs = load_str(
        "a: 1\n---\nb: [\n---\nc: |\n  ---x\n  y\n",
        &Options::default(),
    );
    assert_eq!(docs.len(), 3);
    assert_eq!(docs[0].as_ref().unwrap().value["a"], 1);
    assert_eq!(docs[1].as_ref().unwrap_err().line, Some(3));
    let c = docs[2].as_ref().unwrap();
    assert_eq!(c.value["c"], "---x\ny\n");
    assert_eq!(c.spans["c"].start_line, 5);
    assert!(load_one("a: 1\n---\nb: 2\n", &Options::default()).is_err());
}

#[test]
fn core_schema_scalars() {
    let opts = Options {
        scalars: Scalars::Core,
        ..Options::default()
    };
    let d = load_one(
        "b: yes\nt: true\no: 010\nh: 0x1F\nf: 1.5\nn: ~\ns: '12'\nv: 1.2.3\n",
        &opts,
    )
    .unwrap();
    assert_eq!(d.value["b"], "yes");
    assert_eq!(d.value["t"], true);
    assert_eq!(d.value["o"], 10);
    assert_eq!(d.value["h"], 31);
    assert_eq!(d.value["f"], 1.5);
    assert!(d.value["n"].is_null());
    assert_eq!(d.value["s"], "12");
    assert_eq!(d.value["v"], "1.2.3");
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Cfg {
    name: String,
    #[serde(default)]
    ports: Vec<u16>,
}

#[test]
fn typed_loads_point_at_the_bad_field() {
    let c: Cfg = rampart_yaml::from_str("name: web\nports: [80, 0x1bb]\n").unwrap();
    assert_eq!(c.ports, [80, 443]);
    let e = rampart_yaml::from_str::<Cfg>("name: web\nports:\n  - 80\n  - high\n").unwrap_err();
    assert_eq!(e.line, Some(4), "{e}");
    assert!(e.message.starts_with("ports[1]: invalid type"), "{e}");
    let e = rampart_yaml::from_str::<Cfg>("name: web\nports: []\nname: db\n").unwrap_err();
    assert_eq!(
        (e.line, e.message.as_str()),
        (Some(3), "duplicate key `name`")
    );
    let e = rampart_yaml::from_str::<Cfg>("name: web\nnmae: x\n").unwrap_err();
    assert!(e.message.contains("unknown field `nmae`"), "{e}");
    // The typed loader has the same limits.
    let deep = format!("name: {}{}\n", "[".repeat(50_000), "]".repeat(50_000));
    let e = rampart_yaml::from_str::<Cfg>(&deep).unwrap_err();
    assert!(e.message.contains("nesting"), "{e}");
}
