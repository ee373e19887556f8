//! Robustness: the gitleaks loader, the Go-regex translation and the engine never panic,
//! whatever they are fed. (The cargo-fuzz targets in `fuzz/` do the same, longer.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use rampart_secrets::gitleaks::{compile_go, load_file, load_str, translate_go_regex};
use rampart_secrets::{Engine, RuleSet};
use std::sync::OnceLock;

fn builtin() -> &'static RuleSet {
    static SET: OnceLock<RuleSet> = OnceLock::new();
    SET.get_or_init(|| RuleSet::builtin().unwrap())
}

/// The built-in rules plus upstream gitleaks' default rules (when the corpus is there).
fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut set = builtin().clone();
        if let Some(p) = rampart_testkit::corpus("secrets/gitleaks/gitleaks.toml") {
            set.merge(load_file(&p, None).unwrap()).unwrap();
        }
        Engine::new(set).unwrap()
    })
}

/// Fragments that trigger keywords and multi-line rules, mixed with noise.
fn chunk() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..40),
        Just(b"\n".to_vec()),
        Just(b"curl -u ".to_vec()),
        Just(b" -H 'Authorization: Bearer ".to_vec()),
        Just(b"kind: Secret\n".to_vec()),
        Just(b"data:\n  password: ".to_vec()),
        Just(b"-----BEGIN RSA PRIVATE KEY-----\n".to_vec()),
        Just(b"-----END RSA PRIVATE KEY-----".to_vec()),
        Just(b"api_key = \"".to_vec()),
        Just(b"AKIA".to_vec()),
        Just(b"ghp_".to_vec()),
        Just(b"xoxb-".to_vec()),
        Just("é€\u{1F600}".as_bytes().to_vec()),
        "[A-Za-z0-9+/=_-]{0,64}".prop_map(String::into_bytes),
    ]
}

fn buffer() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(chunk(), 0..24).prop_map(|v| v.concat())
}

/// Go-regex-ish text heavy in the characters the translation treats specially.
fn go_regex() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            "[\\\\\\[\\]{}(),:^$a-z0-9?*+|.&~<>QE-]",
            Just("\\Q".to_string()),
            Just("\\E".to_string()),
            Just("[[:alpha:]]".to_string()),
            Just("{2,3}".to_string()),
            Just("\\d".to_string()),
            Just("\\0".to_string()),
            Just("(?i)".to_string()),
            Just("é".to_string()),
        ],
        0..30,
    )
    .prop_map(|v| v.concat())
}

/// TOML that mostly parses, with arbitrary values in the interesting places.
fn gitleaks_toml() -> impl Strategy<Value = String> {
    // Mostly valid regexes (so the engine runs them), sometimes anything.
    let regex = || {
        prop_oneof![
            4 => Just(r"(?i)(?:key|token)\s*[:=]\s*['\x22]?([\w.-]{8,})".to_string()),
            4 => Just(r"\bghp_[0-9a-zA-Z]{36}\b".to_string()),
            4 => Just(r"(a)(b)?([[:alnum:]]{2,})".to_string()),
            4 => Just(r"-----BEGIN[\s\S]{0,64}?-----END".to_string()),
            3 => go_regex(),
        ]
    };
    (
        prop_oneof![6 => "[a-zA-Z0-9_-]{1,12}", 1 => "[a-zA-Z0-9_ -]{0,12}"],
        regex(),
        proptest::option::of(0usize..4),
        proptest::option::of(-1.0f64..8.0),
        proptest::collection::vec("[a-zA-Z_-]{0,6}", 0..3),
        prop_oneof![3 => Just(""), 2 => Just("secret"), 2 => Just("match"), 2 => Just("line"), 1 => Just("mtach")],
        prop_oneof![3 => Just(""), 2 => Just("AND"), 2 => Just("or"), 1 => Just("xor")],
        regex(),
        any::<bool>(),
    )
        .prop_map(|(id, re, group, entropy, kws, target, cond, al, use_default)| {
            let mut s = String::new();
            if use_default {
                s.push_str("[extend]\nuseDefault = true\ndisabledRules = ['aws-access-token']\n");
            }
            s.push_str(&format!("[[rules]]\nid = '{id}'\nregex = '''{re}'''\n"));
            if let Some(g) = group {
                s.push_str(&format!("secretGroup = {g}\n"));
            }
            if let Some(e) = entropy {
                s.push_str(&format!("entropy = {e}\n"));
            }
            let kws: Vec<String> = kws.iter().map(|k| format!("'{k}'")).collect();
            s.push_str(&format!("keywords = [{}]\n", kws.join(", ")));
            s.push_str(&format!(
                "[[rules.allowlists]]\nregexTarget = '{target}'\ncondition = '{cond}'\nregexes = ['''{al}''']\n"
            ));
            s.push_str(&format!("[[allowlists]]\ntargetRules = ['{id}']\nstopwords = ['x']\n"));
            s
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn load_str_never_panics(text in "\\PC{0,200}") {
        let _ = load_str(&text, "prop.toml", Some(builtin()));
    }

    #[test]
    fn structured_configs_never_panic(text in gitleaks_toml(), data in buffer()) {
        if let Ok(set) = load_str(&text, "prop.toml", Some(builtin())) {
            let engine = Engine::new(set).unwrap();
            let _ = engine.scan("prop.txt", &data, None);
        }
    }

    #[test]
    fn go_regex_translation_never_panics(re in go_regex()) {
        let translated = translate_go_regex(&re);
        let _ = compile_go(&re);
        // Plain text without special characters passes through unchanged.
        if re.chars().all(|c| c.is_ascii_alphanumeric() && c != 'Q' && c != 'E') {
            prop_assert_eq!(translated, re);
        }
    }

    #[test]
    fn engine_scan_never_panics(data in buffer(), path in "[a-z/._-]{0,20}") {
        for m in engine().scan(&path, &data, Some("0123456789abcdef")) {
            prop_assert!(m.start <= m.end && m.end <= data.len());
            prop_assert!(m.match_start <= m.start && m.end <= m.match_end);
        }
    }

    #[test]
    fn engine_scan_arbitrary_bytes(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = engine().scan("a.yaml", &data, None);
    }
}

/// The structured generator must produce loadable configs often enough for the
/// properties above to reach the engine.
#[test]
fn structured_generator_reaches_the_engine() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = gitleaks_toml();
    let loaded = (0..300)
        .filter(|_| {
            let text = strategy.new_tree(&mut runner).unwrap().current();
            load_str(&text, "prop.toml", Some(builtin())).is_ok()
        })
        .count();
    assert!(loaded >= 60, "only {loaded}/300 generated configs load");
}
