//! The lockfile parsers never panic: arbitrary text for every format, and random
//! mutations (truncation, byte edits, line drops/duplications) of every fixture.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use rampart_sca::lockfile::{detect, no_siblings, parse, Kind};
use std::path::Path;

fn fixtures() -> Vec<(Kind, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lockfiles");
    let mut out = Vec::new();
    for dir in std::fs::read_dir(&root).unwrap() {
        let dir = dir.unwrap().path();
        for f in std::fs::read_dir(&dir).unwrap() {
            let f = f.unwrap().path();
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            if let Some(kind) = detect(&name) {
                out.push((kind, std::fs::read_to_string(&f).unwrap()));
            }
        }
    }
    assert!(out.len() >= 20, "fixtures missing: {}", out.len());
    out
}

/// Every sibling lookup returns the same (hostile) text: includes of includes must
/// still terminate.
fn echo_sibling(_: &str) -> Option<String> {
    Some("-r x.txt\n-r ../x.txt\nfoo==1\n".to_string())
}

#[derive(Debug, Clone)]
enum Edit {
    Truncate(usize),
    SetByte(usize, u8),
    DropLine(usize),
    DupLine(usize),
    Insert(usize, String),
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for e in edits {
        let n = bytes.len().max(1);
        match e {
            Edit::Truncate(i) => bytes.truncate(i % n),
            Edit::SetByte(i, b) => {
                if !bytes.is_empty() {
                    let i = i % bytes.len();
                    bytes[i] = *b;
                }
            }
            Edit::DropLine(i) | Edit::DupLine(i) => {
                let s = String::from_utf8_lossy(&bytes).into_owned();
                let mut lines: Vec<&str> = s.lines().collect();
                if !lines.is_empty() {
                    let k = i % lines.len();
                    if matches!(e, Edit::DropLine(_)) {
                        lines.remove(k);
                    } else {
                        lines.insert(k, lines[k]);
                    }
                }
                bytes = lines.join("\n").into_bytes();
            }
            Edit::Insert(i, s) => {
                let i = i % n;
                let i = i.min(bytes.len());
                bytes.splice(i..i, s.bytes());
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        any::<usize>().prop_map(Edit::Truncate),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::SetByte(i, b)),
        any::<usize>().prop_map(Edit::DropLine),
        any::<usize>().prop_map(Edit::DupLine),
        (
            any::<usize>(),
            prop_oneof![
                Just("{".to_string()),
                Just("\"".to_string()),
                Just("[[".to_string()),
                Just(":\n  ".to_string()),
                Just("${".to_string()),
                Just("<dependency>".to_string()),
                Just("(".to_string()),
                Just("\\\n".to_string()),
                "\\PC{0,8}",
            ]
        )
            .prop_map(|(i, s)| Edit::Insert(i, s)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn mutated_fixtures_never_panic(edits in proptest::collection::vec(edit(), 1..6)) {
        for (kind, text) in fixtures() {
            let mutated = apply(&text, &edits);
            let _ = parse(kind, "x/lock", &mutated, &no_siblings);
            let _ = parse(kind, "x/lock", &mutated, &echo_sibling);
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
        for kind in Kind::ALL {
            let _ = parse(kind, "lock", &text, &no_siblings);
        }
    }
}

#[test]
fn deep_nesting_is_bounded() {
    let deep = format!("{}{}", "{\"dependencies\":".repeat(5000), "}".repeat(5000));
    for kind in [
        Kind::NpmLock,
        Kind::ComposerLock,
        Kind::NugetLock,
        Kind::PipfileLock,
    ] {
        let _ = parse(kind, "lock", &deep, &no_siblings);
    }
    let toml = format!("a = {}{}", "[".repeat(5000), "]".repeat(5000));
    for kind in [
        Kind::CargoLock,
        Kind::PoetryLock,
        Kind::UvLock,
        Kind::PdmLock,
    ] {
        let _ = parse(kind, "lock", &toml, &no_siblings);
    }
    let yaml = format!("packages: {}{}", "[".repeat(5000), "]".repeat(5000));
    for kind in [Kind::PnpmLock, Kind::PubspecLock] {
        let _ = parse(kind, "lock", &yaml, &no_siblings);
    }
    let xml = format!("<project>{}", "<a>".repeat(10_000));
    assert!(parse(Kind::Pom, "pom.xml", &xml, &no_siblings).is_err());
}
