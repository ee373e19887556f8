//! Snapshots of the command-line surface: `--help` texts and the rule list.
//! Update with `INSTA_UPDATE=always cargo test -p rampart-cli --test it help` and review.

#![allow(clippy::unwrap_used)]

use std::process::Command;

fn run(args: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(args)
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn help_texts() {
    insta::assert_snapshot!("help", run(&["--help"]));
    insta::assert_snapshot!("secrets_help", run(&["secrets", "--help"]));
    insta::assert_snapshot!("scan_help", run(&["scan", "--help"]));
    insta::assert_snapshot!("rules_help", run(&["rules", "--help"]));
}

#[test]
fn rules_list_table() {
    insta::assert_snapshot!(
        "rules_list_secret",
        run(&["rules", "list", "--area", "secret"])
    );
}
