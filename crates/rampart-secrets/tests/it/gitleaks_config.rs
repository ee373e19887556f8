//! gitleaks configuration import: upstream's config fixtures (valid ones load, invalid
//! ones are rejected for the reason upstream rejects them) and the semantics of
//! extension and allowlists.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)]

use rampart_secrets::gitleaks::{load_file, load_str};
use rampart_secrets::rules::{Condition, RegexTarget};
use rampart_secrets::{CompiledRule, Engine, RuleSet, SecretsError};
use rampart_testkit::corpus;
use std::path::{Path, PathBuf};

/// Upstream's default config: the base for `useDefault` in the fixtures, as in gitleaks.
fn default_config() -> Option<RuleSet> {
    let p = corpus("secrets/gitleaks/gitleaks.toml")?;
    Some(load_file(&p, None).unwrap())
}

fn fixtures(dir: &str) -> Option<Vec<PathBuf>> {
    let d = corpus(&format!("secrets/gitleaks/testdata/config/{dir}"))?;
    let mut v: Vec<PathBuf> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    v.sort();
    Some(v)
}

fn fixture(rel: &str) -> Option<PathBuf> {
    corpus(&format!("secrets/gitleaks/testdata/config/{rel}"))
}

fn rule<'a>(set: &'a RuleSet, gitleaks_id: &str) -> &'a CompiledRule {
    set.rules
        .iter()
        .find(|r| {
            r.meta
                .peers
                .iter()
                .any(|p| p == &format!("gitleaks:{gitleaks_id}"))
        })
        .unwrap_or_else(|| panic!("no rule for gitleaks id {gitleaks_id}"))
}

fn ids(set: &RuleSet) -> Vec<String> {
    let mut v: Vec<String> = set.rules.iter().map(|r| r.meta.id.clone()).collect();
    v.sort();
    v
}

/// Number of matches of the rules of `set` in `text` scanned as file `path`.
fn hits(set: &RuleSet, path: &str, text: &str, commit: Option<&str>) -> usize {
    Engine::new(set.clone())
        .unwrap()
        .scan(path, text.as_bytes(), commit)
        .len()
}

fn load(text: &str) -> Result<RuleSet, SecretsError> {
    load_str(text, "inline.toml", None)
}

#[test]
fn valid_fixtures_load() {
    let (Some(files), Some(default)) = (fixtures("valid"), default_config()) else {
        return;
    };
    assert!(files.len() >= 30);
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let res = load_file(f, Some(&default));
        match name.as_str() {
            // Bases of the `extend.toml` chain. Loaded on their own, their chain continues
            // to `../testdata/config/extend_3.toml`, which does not exist; gitleaks rejects
            // them the same way (they are only ever loaded at depth 1 and 2, where the
            // depth limit stops before that missing file).
            "extend_base_1.toml" | "extend_base_2.toml" => {
                let e = res.expect_err(&name).to_string();
                assert!(
                    e.contains("extend_3.toml") && e.contains("not found"),
                    "{name}: {e}"
                );
            }
            _ => {
                let set = res.unwrap_or_else(|e| panic!("{name}: {e}"));
                // Every loaded set builds an engine and scans.
                Engine::new(set).unwrap().scan("a.py", b"aws_key = 1", None);
            }
        }
    }
    // The other top-level fixtures upstream loads (composite rules are not supported).
    for name in [
        "simple.toml",
        "generic.toml",
        "generic_with_py_path.toml",
        "encoded.toml",
        "archives.toml",
    ] {
        let f = fixture(name).unwrap();
        load_file(&f, None).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let e = load_file(&fixture("composite.toml").unwrap(), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("not supported"), "{e}");
}

#[test]
fn invalid_fixtures_are_rejected() {
    let (Some(files), Some(default)) = (fixtures("invalid"), default_config()) else {
        return;
    };
    // What each fixture tests, as the substring of the message expected.
    let expected: &[(&str, &str)] = &[
        (
            "allowlist_global_empty.toml",
            "[[allowlists]] must contain at least one check for",
        ),
        (
            "allowlist_global_old_and_new.toml",
            "[allowlist] is deprecated, it cannot be used alongside [[allowlists]]",
        ),
        (
            "allowlist_global_regextarget.toml",
            "unknown allowlist |regexTarget| 'mtach'",
        ),
        (
            "allowlist_global_target_rule_id.toml",
            "target rule ID 'github-pat' does not exist",
        ),
        (
            "allowlist_rule_empty.toml",
            "[[rules.allowlists]] must contain at least one check for",
        ),
        (
            "allowlist_rule_old_and_new.toml",
            "[rules.allowlist] is deprecated",
        ),
        (
            "allowlist_rule_regextarget.toml",
            "unknown allowlist |regexTarget| 'mtach'",
        ),
        ("extend_invalid_base.toml", "failed to load extended config"),
        (
            "extend_invalid_ruleid.toml",
            "rule |id| is missing or empty",
        ),
        (
            "rule_bad_entropy_group.toml",
            "invalid regex secret group 5, max regex secret group 3",
        ),
        (
            "rule_missing_id.toml",
            "rule |id| is missing or empty, regex: (?i)(discord",
        ),
        (
            "rule_no_regex_or_path.toml",
            "both |regex| and |path| are empty",
        ),
    ];
    assert_eq!(
        files.len(),
        expected.len(),
        "a new invalid fixture needs an expected message"
    );
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let err = load_file(f, Some(&default)).expect_err(&name).to_string();
        let want = expected
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("no expectation for {name}"))
            .1;
        assert!(err.contains(want), "{name}: got `{err}`, want `{want}`");
        // The message names the file it is about.
        assert!(err.contains(".toml"), "{name}: {err}");
    }
}

#[test]
fn extend_path_chain_stops_at_depth_two() {
    let Some(f) = fixture("valid/extend.toml") else {
        return;
    };
    let set = load_file(&f, None).unwrap();
    assert_eq!(
        ids(&set),
        [
            "secret/gitleaks.aws-access-key",
            "secret/gitleaks.aws-secret-key",
            "secret/gitleaks.aws-secret-key-again"
        ]
    );
}

#[test]
fn extend_disabled_rules() {
    let Some(f) = fixture("valid/extend_disabled.toml") else {
        return;
    };
    let set = load_file(&f, None).unwrap();
    assert_eq!(
        ids(&set),
        [
            "secret/gitleaks.aws-secret-key",
            "secret/gitleaks.pypi-upload-token"
        ]
    );
    // A new rule with neither regex nor path in an extending config has no effect in
    // gitleaks (which does not validate extending configs); it is left out.
    let Some(f) = fixture("valid/extend_rule_new.toml") else {
        return;
    };
    let set = load_file(&f, None).unwrap();
    assert_eq!(ids(&set), ["secret/gitleaks.aws-secret-key-again-again"]);
    // Without `[extend]` the same rule is an error.
    let e = load("[[rules]]\nid = 'x'\nkeywords = ['cms']\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("both |regex| and |path| are empty"), "{e}");
}

#[test]
fn extend_overrides_fields() {
    let Some(dir) = fixture("valid") else { return };
    let get = |name: &str| {
        let set = load_file(&dir.join(name), None).unwrap();
        rule(&set, "aws-access-key").clone()
    };
    let r = get("extend_rule_override_description.toml");
    assert_eq!(r.meta.title, "Puppy Doggy");
    assert!(r.meta.description.starts_with("Puppy Doggy"));
    assert_eq!(
        get("extend_rule_override_entropy.toml").entropy,
        Some(999.0)
    );
    let r = get("extend_rule_override_keywords.toml");
    assert_eq!(r.keywords, ["puppy"]);
    assert_eq!(r.meta.title, "AWS Access Key");
    let r = get("extend_rule_override_path.toml");
    assert!(r.path.as_ref().unwrap().is_match(b"puppy.txt"));
    assert!(r.regex.as_ref().unwrap().is_match(b"AKIAIMNOJVGFDXXXE4OA"));
    assert_eq!(
        get("extend_rule_override_regex.toml")
            .regex
            .unwrap()
            .as_str(),
        "(?:a)"
    );
    let r = get("extend_rule_override_secret_group.toml");
    assert_eq!(r.secret_group, Some(2));
    assert_eq!(
        get("extend_rule_override_tags.toml").meta.tags,
        ["key", "AWS", "puppy"]
    );

    // Keywords are appended to the base rule's.
    let set = load_file(
        &dir.join("extend_base_rule_including_keywords_with_attribute.toml"),
        None,
    )
    .unwrap();
    let r = rule(&set, "aws-secret-key-again-again");
    assert_eq!(r.keywords, ["aws"]);
    assert_eq!(r.meta.title, "A new description");
    assert_eq!(r.allowlists.len(), 1);

    // A rule that only adds an allowlist to a base rule.
    let set = load_file(&dir.join("extend_rule_no_regexpath.toml"), None).unwrap();
    let r = rule(&set, "aws-secret-key-again-again");
    assert!(r.regex.is_some());
    assert_eq!(
        r.allowlists[0].description.as_deref(),
        Some("False positive. Keys used for colors match the rule, and should be excluded.")
    );
}

#[test]
fn extend_rule_allowlists_and_or() {
    let Some(dir) = fixture("valid") else { return };
    let or = load_file(&dir.join("extend_rule_allowlist_or.toml"), None).unwrap();
    let and = load_file(&dir.join("extend_rule_allowlist_and.toml"), None).unwrap();
    let (ro, ra) = (
        rule(&or, "aws-secret-key-again-again"),
        rule(&and, "aws-secret-key-again-again"),
    );
    assert_eq!(ro.allowlists.len(), 2);
    assert_eq!(ro.allowlists[1].condition, Condition::Or);
    assert_eq!(ra.allowlists[1].condition, Condition::And);
    assert_eq!(ra.allowlists[1].target, RegexTarget::Line);
    assert_eq!(ra.allowlists[1].commits, ["abcdefg1"]);

    // `aws_` + `=` + 41 characters: the secret is the first non-empty group, `=x`… — so
    // use texts whose secret carries the stop word.
    let key = "aws_example=\"AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcd\"";
    // OR: the stop word alone allows; AND: all four criteria are needed.
    assert_eq!(hits(&or, "a.txt", key, None), 0);
    assert_eq!(hits(&and, "a.txt", key, None), 1);
    let line = format!("{key} // foo and bar");
    assert_eq!(hits(&and, "ignore.xaml", &line, Some("abcdefg1")), 0);
    assert_eq!(hits(&and, "ignore.xaml", &line, Some("0000000")), 1);
    assert_eq!(hits(&and, "other.xaml", &line, Some("abcdefg1")), 1);
    assert_eq!(hits(&and, "ignore.xaml", key, Some("abcdefg1")), 1);
}

#[test]
fn use_default_extends_the_given_base() {
    let Some(default) = default_config() else {
        return;
    };
    let Some(f) = fixture("valid/allowlist_rule_extend_default.toml") else {
        return;
    };
    let set = load_file(&f, Some(&default)).unwrap();
    assert_eq!(set.rules.len(), default.rules.len());
    let generic = rule(&set, "generic-api-key");
    let base = rule(&default, "generic-api-key");
    assert_eq!(generic.allowlists.len(), base.allowlists.len() + 1);
    let one = RuleSet {
        rules: vec![generic.clone()],
        global_allowlists: set.global_allowlists.clone(),
    };
    let text = "api_key = \"Xk92mPq7Lr4tVz8wN3bH6jYc\"";
    assert_eq!(hits(&one, "src/app.js", text, None), 1);
    assert_eq!(
        hits(&one, "path/to/your/problematic/file.js", text, None),
        0
    );
}

#[test]
fn use_default_with_builtin_rules() {
    let builtin = RuleSet::builtin().unwrap();
    let aws = builtin
        .rules
        .iter()
        .find(|r| {
            r.meta
                .peers
                .iter()
                .any(|p| p == "gitleaks:aws-access-token")
        })
        .map(|r| r.meta.id.clone())
        .unwrap();
    let key = "aws_access_key_id = AKIAZ52HGXYRN4WBTEST";

    // Merge into the built-in rule that claims the gitleaks id.
    let cfg = r#"
[extend]
useDefault = true
[[rules]]
id = "aws-access-token"
[[rules.allowlists]]
paths = ['''^fixtures/''']
[[rules]]
id = "internal-token"
description = "Internal token"
regex = '''itk_[a-z0-9]{16}'''
keywords = ["ITK_"]
"#;
    let set = load_str(cfg, "inline.toml", Some(&builtin)).unwrap();
    assert_eq!(set.rules.len(), builtin.rules.len() + 1);
    let merged = set.rules.iter().find(|r| r.meta.id == aws).unwrap();
    assert!(merged.placeholders, "built-in behaviour is kept");
    assert_eq!(hits(&set, "src/a.env", key, None), 1);
    assert_eq!(hits(&set, "fixtures/a.env", key, None), 0);
    let new = set
        .rules
        .iter()
        .find(|r| r.meta.id == "secret/gitleaks.internal-token")
        .unwrap();
    assert_eq!(new.keywords, ["itk_"]);
    assert_eq!(hits(&set, "a", "x = itk_0123456789abcdef", None), 1);

    // Disable by gitleaks id or by Rampart id.
    for disabled in ["aws-access-token", aws.as_str()] {
        let cfg = format!("[extend]\nuseDefault = true\ndisabledRules = [\"{disabled}\"]\n");
        let set = load_str(&cfg, "inline.toml", Some(&builtin)).unwrap();
        assert!(set.rules.iter().all(|r| r.meta.id != aws), "{disabled}");
        assert_eq!(hits(&set, "src/a.env", key, None), 0);
    }

    // No base given.
    let e = load_str("[extend]\nuseDefault = true\n", "inline.toml", None).unwrap_err();
    assert!(e.to_string().contains("useDefault"), "{e}");
    let e = load_str(
        "[extend]\nuseDefault = true\npath = 'x.toml'\n",
        "inline.toml",
        Some(&builtin),
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("extend.path and extend.useDefault"),
        "{e}"
    );
}

#[test]
fn global_allowlists_condition_paths_stopwords() {
    let Some(f) = fixture("valid/allowlist_global_multiple.toml") else {
        return;
    };
    let set = load_file(&f, None).unwrap();
    assert_eq!(set.global_allowlists.len(), 2);
    assert_eq!(
        hits(&set, "src/a.txt", r#"token = "changeit""#, None),
        0,
        "regex, OR"
    );
    assert_eq!(
        hits(&set, "src/a.txt", r#"token = "s3cr3t-value""#, None),
        1
    );
    // AND: path and stop word together.
    assert_eq!(hits(&set, "src/a.txt", r#"token = "mock-s3cr3t""#, None), 1);
    assert_eq!(
        hits(&set, "node_modules/a.js", r#"token = "s3cr3t-value""#, None),
        1
    );
    assert_eq!(
        hits(&set, "node_modules/a.js", r#"token = "mock-s3cr3t""#, None),
        0
    );
}

#[test]
fn global_allowlist_target_rules() {
    let Some(f) = fixture("valid/allowlist_global_target_rules.toml") else {
        return;
    };
    let set = load_file(&f, None).unwrap();
    assert_eq!(set.global_allowlists.len(), 1);
    assert_eq!(rule(&set, "github-app-token").allowlists.len(), 1);
    assert_eq!(rule(&set, "github-pat").allowlists.len(), 1);
    assert!(rule(&set, "github-oauth").allowlists.is_empty());
    let tail = "Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9St0UvWxYz";
    let readme = "node_modules/@octokit/auth-token/README.md";
    assert_eq!(hits(&set, readme, &format!("ghp_{tail}"), None), 0);
    assert_eq!(hits(&set, readme, &format!("gho_{tail}"), None), 1);
    assert_eq!(hits(&set, "src/a.js", &format!("ghp_{tail}"), None), 1);
    // Global `.*fake.*`.
    assert_eq!(
        hits(
            &set,
            "src/a.js",
            "gho_fakeCd2Ef3Gh4Ij5Kl6Mn7Op8Qr9St0UvWxYz",
            None
        ),
        0
    );
}

#[test]
fn rule_allowlists_commit_path_regex_old_form() {
    let Some(dir) = fixture("valid") else { return };
    let key = "key = AKIAZ52HGXYRN4WBTEST";
    let set = load_file(&dir.join("allowlist_rule_commit.toml"), None).unwrap();
    assert_eq!(hits(&set, "a", key, None), 1);
    assert_eq!(hits(&set, "a", key, Some("0123abc")), 1);
    assert_eq!(hits(&set, "a", key, Some("allowthiscommit")), 0);
    let set = load_file(&dir.join("allowlist_rule_path.toml"), None).unwrap();
    assert_eq!(hits(&set, "main.go", key, None), 0);
    assert_eq!(hits(&set, "main.rs", key, None), 1);
    let set = load_file(&dir.join("allowlist_rule_regex.toml"), None).unwrap();
    assert_eq!(hits(&set, "a", "AKIALALEMEL33243OLIA", None), 0);
    assert_eq!(hits(&set, "a", key, None), 1);
    let set = load_file(&dir.join("allowlist_rule_old_compat.toml"), None).unwrap();
    assert_eq!(hits(&set, "a", "example123", None), 0);
    assert_eq!(hits(&set, "a", "example45", None), 1);
    let set = load_file(&dir.join("allowlist_global_old_compat.toml"), None).unwrap();
    assert_eq!(
        set.global_allowlists[0].stopwords,
        ["0989c462-69c9-49fa-b7d2-30dc5c576a97"]
    );
}

#[test]
fn regex_target_secret_match_line() {
    let cfg = |target: &str, re: &str| {
        format!(
            "[[rules]]\nid = 't'\nregex = '''secret=([a-z0-9]{{8,}})'''\n[[rules.allowlists]]\nregexTarget = '{target}'\nregexes = ['''{re}''']\n"
        )
    };
    let text = "secret=abcd1234 # nosec";
    let line = load(&cfg("line", "nosec")).unwrap();
    assert_eq!(hits(&line, "a", text, None), 0);
    assert_eq!(hits(&line, "a", "secret=abcd1234", None), 1);
    let on_match = load(&cfg("match", "^secret=abcd")).unwrap();
    assert_eq!(hits(&on_match, "a", text, None), 0);
    let on_secret = load(&cfg("secret", "^secret=abcd")).unwrap();
    assert_eq!(hits(&on_secret, "a", text, None), 1);
    let on_secret = load(&cfg("secret", "^abcd")).unwrap();
    assert_eq!(hits(&on_secret, "a", text, None), 0);
    // Stop words look at the secret, case-insensitively.
    let sw = load("[[rules]]\nid = 't'\nregex = '''secret=([a-zA-Z0-9]{8,})'''\n[[rules.allowlists]]\nstopwords = ['DUMMY']\n").unwrap();
    assert_eq!(hits(&sw, "a", "secret=xxdummyxx1", None), 0);
    assert_eq!(hits(&sw, "a", "secret=xxdumbxx12", None), 1);
}

#[test]
fn secret_group_entropy_and_path_only() {
    let Some(dir) = fixture("valid") else { return };
    let set = load_file(&dir.join("rule_entropy_group.toml"), None).unwrap();
    let r = rule(&set, "discord-api-key");
    assert_eq!((r.secret_group, r.entropy), (Some(3), Some(3.5)));
    let hex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let text = format!("discord_key = \"{hex}\"");
    let m = Engine::new(set.clone())
        .unwrap()
        .scan("a", text.as_bytes(), None);
    assert_eq!(m.len(), 1);
    assert_eq!(&text.as_bytes()[m[0].start..m[0].end], hex.as_bytes());
    // Entropy at or below the threshold drops the finding (`<=`, as gitleaks).
    let low = format!("discord_key = \"{}\"", "ab".repeat(32));
    assert_eq!(hits(&set, "a", &low, None), 0);

    // Without secretGroup: the first non-empty group, else the whole match.
    let set = load("[[rules]]\nid = 't'\nregex = '''k(x)?=(v+)'''\n").unwrap();
    let m = Engine::new(set).unwrap().scan("a", b"k=vvv", None);
    assert_eq!((m[0].start, m[0].end), (2, 5));
    let set = load("[[rules]]\nid = 't'\nregex = '''tok_[0-9]{4}'''\n").unwrap();
    let m = Engine::new(set).unwrap().scan("a", b"a tok_1234", None);
    assert_eq!((m[0].start, m[0].end), (2, 10));

    let set = load_file(&dir.join("rule_path_only.toml"), None).unwrap();
    assert_eq!(hits(&set, "src/app.py", "anything", None), 1);
    assert_eq!(hits(&set, "src/app.rs", "anything", None), 0);
}

#[test]
fn imported_rule_metadata() {
    let set = load(
        "[[rules]]\nid = 'My_Token'\ndescription = \"My token\\nsecond line\"\nregex = '''mt_[0-9]{8}'''\ntags = ['a', 'b']\nkeywords = ['MT_']\n\n[[rules]]\nid = 'generic-thing'\nregex = '''gt_[0-9]{8}'''\n",
    )
    .unwrap();
    let r = &set.rules[0];
    assert_eq!(r.meta.id, "secret/gitleaks.my_token");
    assert_eq!(r.meta.area, "secret");
    assert_eq!(r.meta.title, "My token");
    assert_eq!(r.meta.severity, rampart_core::Severity::High);
    assert!(r.meta.description.contains("inline.toml"));
    assert_eq!(
        r.meta.remediation,
        "Rotate the credential and remove it from the source; see gitleaks rule My_Token."
    );
    assert_eq!(r.meta.peers, ["gitleaks:My_Token"]);
    assert_eq!(r.meta.tags, ["a", "b"]);
    assert_eq!(r.keywords, ["mt_"]);
    assert!(r.meta.problems().is_empty());
    let g = &set.rules[1];
    assert_eq!(g.meta.title, "generic-thing");
    assert_eq!(g.meta.severity, rampart_core::Severity::Medium);
    assert!(g.keywords.is_empty());
    // No keywords: runs on every buffer.
    assert_eq!(hits(&set, "a", "x gt_12345678", None), 1);
}

#[test]
fn errors_are_clear() {
    let e = load("[[rules]]\nid = 'bad'\nregex = '''(unclosed'''\n").unwrap_err();
    match &e {
        SecretsError::Rule { rule, message, .. } => {
            assert_eq!(rule, "bad");
            assert!(
                message.contains("(unclosed") && message.contains("unclosed group"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    let e = load("[[rules]]\nid = 'x'\nregexs = ['a']\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("unknown field `regexs`") && e.contains("inline.toml:"),
        "{e}"
    );
    let e = load("[[rules]]\nid = 'x'\nregex = 'a'\n[[rules.allowlists]]\ncondition = 'XOR'\nregexes = ['a']\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown allowlist |condition| 'XOR'"), "{e}");
    let e = load("[extend]\nurl = 'https://example.invalid/x.toml'\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("url"), "{e}");
    let e = load("[[rules]]\nid = 'x'\nregex = 'a'\n[[rules.allowlists]]\ntargetRules = ['x']\nregexes = ['a']\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("targetRules"), "{e}");
    // Lower-case keys (viper is case-insensitive) are accepted.
    let set = load("[[rules]]\nid = 'x'\nregex = '''(a)(b)'''\nsecretgroup = 2\n").unwrap();
    assert_eq!(set.rules[0].secret_group, Some(2));
}

#[test]
fn extend_path_is_relative_to_the_file_and_cycles_end() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    write(
        "a.toml",
        "[extend]\npath = 'sub/b.toml'\n[[rules]]\nid = 'a'\nregex = 'aaa'\n",
    );
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    // Relative to the including file first, then its ancestors (gitleaks: the working
    // directory, usually the repository root).
    write(
        "sub/b.toml",
        "[extend]\npath = 'sub/c.toml'\n[[rules]]\nid = 'b'\nregex = 'bbb'\n",
    );
    write(
        "sub/c.toml",
        "[extend]\npath = 'a.toml'\n[[rules]]\nid = 'c'\nregex = 'ccc'\n",
    );
    let set = load_file(&dir.path().join("a.toml"), None).unwrap();
    assert_eq!(
        ids(&set),
        [
            "secret/gitleaks.a",
            "secret/gitleaks.b",
            "secret/gitleaks.c"
        ]
    );
    // A self-cycle ends at the depth limit too.
    write(
        "self.toml",
        "[extend]\npath = 'self.toml'\n[[rules]]\nid = 's'\nregex = 'sss'\n",
    );
    let set = load_file(&dir.path().join("self.toml"), None).unwrap();
    assert_eq!(ids(&set), ["secret/gitleaks.s"]);
    // load_str resolves from the directory of `name`.
    let name = dir.path().join("inline.toml");
    // inline (0) → sub/c (1) → a (2, whose `[extend]` is beyond the limit).
    let set = load_str(
        "[extend]\npath = 'sub/c.toml'\n",
        &name.to_string_lossy(),
        None,
    )
    .unwrap();
    assert_eq!(ids(&set), ["secret/gitleaks.a", "secret/gitleaks.c"]);
    assert!(Path::new(&set.rules[0].source).is_absolute());
}
