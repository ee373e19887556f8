//! `rampart rules check` for the built-in rules: they load, their metadata is complete,
//! every example fires its rule and no negative example does; and the generic rules stay
//! quiet on ordinary code.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)]

use rampart_secrets::check::check;
use rampart_secrets::{Engine, RuleSet, ScanOptions, SecretScanner};
use std::collections::HashSet;

#[test]
fn builtin_rules_load_and_are_complete() {
    let set = RuleSet::builtin().unwrap();
    assert!(
        set.rules.len() >= 120,
        "only {} built-in rules",
        set.rules.len()
    );
    let mut ids = HashSet::new();
    let mut problems = Vec::new();
    for r in &set.rules {
        assert!(ids.insert(r.meta.id.clone()), "duplicate id {}", r.meta.id);
        problems.extend(r.meta.problems());
        if r.examples.is_empty() {
            problems.push(format!("{}: no examples", r.meta.id));
        }
        if r.negative_examples.is_empty() {
            problems.push(format!("{}: no negative examples", r.meta.id));
        }
        if r.keywords.is_empty() {
            problems.push(format!("{}: no keywords", r.meta.id));
        }
        if !r.meta.references.iter().any(|x| x == "CWE-798") {
            problems.push(format!("{}: references lack CWE-798", r.meta.id));
        }
        for p in &r.meta.peers {
            if !(p.starts_with("gitleaks:")
                || p.starts_with("detect-secrets:")
                || p.starts_with("trufflehog:"))
            {
                problems.push(format!("{}: unknown peer namespace `{p}`", r.meta.id));
            }
        }
    }
    for p in &problems {
        println!("problem: {p}");
    }
    assert!(problems.is_empty(), "{} problems", problems.len());
}

#[test]
fn rules_check_examples() {
    let engine = Engine::new(RuleSet::builtin().unwrap()).unwrap();
    let (n, failures) = check(&engine);
    for f in &failures {
        println!(
            "FAIL {} ({}): {}: {:?}",
            f.rule, f.source, f.kind, f.example
        );
    }
    println!("{n} examples checked, {} failures", failures.len());
    assert!(n >= 480, "only {n} examples");
    assert!(failures.is_empty(), "{} failures", failures.len());
}

#[test]
fn generic_rules_quiet_on_ordinary_code() {
    let scanner = SecretScanner::new(RuleSet::builtin().unwrap(), ScanOptions::default()).unwrap();
    let lines: &[(&str, &str)] = &[
        ("app.py", "password = get_password()"),
        ("app.py", "token = os.environ[\"TOKEN\"]"),
        ("app.py", "api_key = os.getenv('API_KEY')"),
        ("app.py", "secret = config.get(\"secret\")"),
        ("app.py", "self.password = password"),
        (
            "app.py",
            "auth_token = request.headers.get(\"Authorization\")",
        ),
        ("app.py", "password = None"),
        ("app.py", "if password == confirm_password:"),
        ("config.yaml", "password: ${DB_PASSWORD}"),
        ("config.yaml", "token: \"{{ .Values.token }}\""),
        ("config.yaml", "api_key: <your-api-key>"),
        ("config.yaml", "secret: changeme"),
        ("main.go", "token := os.Getenv(\"GITHUB_TOKEN\")"),
        ("main.go", "password, err := readPassword(ctx)"),
        ("main.rs", "let api_key = std::env::var(\"API_KEY\")?;"),
        ("main.rs", "let token = args.token.clone();"),
        ("index.js", "const secret = process.env.JWT_SECRET;"),
        (
            "index.js",
            "const accessKey = props.accessKey || defaultAccessKey;",
        ),
        (".env.example", "DB_PASSWORD=${DB_PASSWORD}"),
        (
            "deploy.sh",
            "export TOKEN=$(vault read -field=token secret/ci)",
        ),
        ("App.java", "String password = System.getenv(\"PASSWORD\");"),
        (
            "App.java",
            "private static final String PASSWORD_FIELD = \"password\";",
        ),
        ("settings.py", "SECRET_KEY = env(\"DJANGO_SECRET_KEY\")"),
        ("main.tf", "password = var.db_password"),
        ("ci.yml", "token: ${{ secrets.GITHUB_TOKEN }}"),
        (
            "README.md",
            "Set `api_key = \"YOUR_API_KEY\"` in the config.",
        ),
    ];
    let mut noisy = Vec::new();
    for (path, line) in lines {
        let found = scanner.findings_in(path, line.as_bytes(), None);
        if !found.is_empty() {
            let ids: Vec<&str> = found.iter().map(|f| f.rule_id.as_str()).collect();
            noisy.push(format!("{path}: {line} -> {ids:?}"));
        }
    }
    for n in &noisy {
        println!("noisy: {n}");
    }
    assert!(
        noisy.is_empty(),
        "{} ordinary lines produced findings",
        noisy.len()
    );
}
