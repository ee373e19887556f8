//! Hostile YAML through the real binary, bounded in time and memory: the reproducers
//! R1–R4 of the black-box fuzzing round (../shared/repro/README.md, 2026-12-07). Each
//! used to take seconds to minutes and gigabytes; each must now end with a clear error
//! naming the file (and line) within a few seconds and a few hundred MB.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)]

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Peak resident memory allowed for one run.
const MAX_RSS_MB: u64 = 400;
/// Wall time allowed for one run (debug build, shared CI machine).
const MAX_SECONDS: u64 = 10;

struct Run {
    out: Output,
    rss_mb: Option<u64>,
    elapsed: Duration,
}

impl Run {
    fn text(&self) -> String {
        format!(
            "{}{}",
            String::from_utf8_lossy(&self.out.stdout),
            String::from_utf8_lossy(&self.out.stderr)
        )
    }

    fn assert_bounded(&self) {
        assert!(
            self.elapsed < Duration::from_secs(MAX_SECONDS),
            "took {:?}:\n{}",
            self.elapsed,
            self.text()
        );
        if let Some(mb) = self.rss_mb {
            assert!(mb < MAX_RSS_MB, "peak RSS {mb} MB:\n{}", self.text());
        }
    }
}

/// Run `rampart ARGS` in `dir`, killed after twice the time bound and limited to 4 GB of
/// address space (so a regression fails the test instead of the machine); the peak RSS
/// comes from GNU time when it is installed. `RAMPART_BIN` runs another build (e.g. an
/// older release, to see these tests fail on it).
fn bounded(dir: &Path, args: &[&str]) -> Run {
    let bin = std::env::var("RAMPART_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_rampart").into());
    let bin = bin.as_str();
    let gnu_time = Path::new("/usr/bin/time").exists();
    let rss_file = dir.join("rss.txt");
    let mut cmd = if gnu_time {
        let mut c = Command::new("/usr/bin/time");
        c.arg("-f").arg("%M").arg("-o").arg(&rss_file);
        c.arg("timeout");
        c
    } else {
        eprintln!("note: /usr/bin/time missing; peak memory not checked");
        Command::new("timeout")
    };
    cmd.args(["-s", "KILL", &(2 * MAX_SECONDS).to_string()]);
    cmd.args(["prlimit", "--as=4294967296", "--", bin]);
    cmd.args(args).current_dir(dir).env("NO_COLOR", "1");
    let start = Instant::now();
    let out = cmd.output().unwrap();
    let elapsed = start.elapsed();
    let rss_mb = gnu_time.then(|| {
        let t = std::fs::read_to_string(&rss_file).unwrap();
        let kb: u64 = t
            .lines()
            .rev()
            .find_map(|l| l.trim().parse().ok())
            .unwrap_or_else(|| panic!("no RSS figure in {t:?}"));
        kb / 1024
    });
    eprintln!("rampart {args:?}: {elapsed:?}, peak RSS {rss_mb:?} MB");
    Run {
        out,
        rss_mb,
        elapsed,
    }
}

/// R1: 40 macros, each using the previous one twice (2^39 checks if inlined).
#[test]
fn r1_macro_chain_is_a_budget_error_naming_the_macro() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("- macro: m0\n  condition: ka.verb=create\n");
    for i in 1..40 {
        text.push_str(&format!(
            "- macro: m{i}\n  condition: m{} and m{}\n",
            i - 1,
            i - 1
        ));
    }
    text.push_str(
        "- rule: r\n  desc: d\n  condition: m39\n  output: o\n  priority: WARNING\n  source: k8s_audit\n",
    );
    std::fs::write(dir.path().join("macro_chain.yaml"), text).unwrap();
    let run = bounded(dir.path(), &["monitor", "check", "-r", "macro_chain.yaml"]);
    run.assert_bounded();
    let text = run.text();
    assert_eq!(run.out.status.code(), Some(2), "{text}");
    assert!(text.contains("expands to more than"), "{text}");
    assert!(text.contains("macro 'm"), "{text}");
    assert!(text.contains("macro_chain.yaml:"), "{text}");
}

/// R1, the sound case: the same chain kept under the budget loads, and each macro is
/// compiled once (a shared subtree), not copied per use.
#[test]
fn r1_macro_chain_under_the_budget_loads() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("- macro: m0\n  condition: ka.verb=create\n");
    for i in 1..12 {
        text.push_str(&format!(
            "- macro: m{i}\n  condition: m{} and m{}\n",
            i - 1,
            i - 1
        ));
    }
    text.push_str(
        "- rule: r\n  desc: d\n  condition: m11\n  output: o\n  priority: WARNING\n  source: k8s_audit\n",
    );
    std::fs::write(dir.path().join("chain.yaml"), text).unwrap();
    let run = bounded(dir.path(), &["monitor", "check", "-r", "chain.yaml"]);
    run.assert_bounded();
    assert_eq!(run.out.status.code(), Some(0), "{}", run.text());
}

/// R2: nine levels of nine aliases in a rules file (558 bytes, 9^9 nodes expanded).
#[test]
fn r2_alias_bomb_in_rules_is_an_error_with_a_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("- list: l0\n  items: &a0 [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n");
    for i in 1..9 {
        let refs = vec![format!("*a{}", i - 1); 9].join(",");
        text.push_str(&format!("- list: l{i}\n  items: &a{i} [{refs}]\n"));
    }
    std::fs::write(dir.path().join("alias_bomb_rules.yaml"), text).unwrap();
    let run = bounded(
        dir.path(),
        &["monitor", "check", "-r", "alias_bomb_rules.yaml"],
    );
    run.assert_bounded();
    let text = run.text();
    assert_eq!(run.out.status.code(), Some(2), "{text}");
    assert!(text.contains("alias bomb"), "{text}");
    assert!(text.contains("alias_bomb_rules.yaml:"), "{text}");
}

fn pnpm_dir(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("app")).unwrap();
    std::fs::write(dir.path().join("app/pnpm-lock.yaml"), text).unwrap();
    dir
}

/// R3: a lockfile nested 100,000 deep.
#[test]
fn r3_deep_pnpm_lockfile_is_rejected_quickly() {
    let dir = pnpm_dir(&format!(
        "lockfileVersion: '9.0'\npackages: {}{}\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    ));
    let run = bounded(dir.path(), &["deps", "app", "--list"]);
    run.assert_bounded();
    let text = run.text();
    assert!(text.contains("pnpm-lock.yaml"), "{text}");
    assert!(text.contains("nesting deeper than"), "{text}");
}

/// R4: unused anchors plus an unterminated deep sequence.
#[test]
fn r4_bomb_pnpm_lockfile_is_rejected_quickly() {
    let mut text = String::from("a0: &a0 [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n");
    for i in 1..8 {
        let refs = vec![format!("*a{}", i - 1); 9].join(",");
        text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    text.push_str(&format!("dependencies:\n  x: {}\n", "[".repeat(7848)));
    let dir = pnpm_dir(&text);
    let run = bounded(dir.path(), &["deps", "app", "--list"]);
    run.assert_bounded();
    let text = run.text();
    assert!(text.contains("pnpm-lock.yaml"), "{text}");
    assert!(
        text.contains("nesting deeper than") || text.contains("alias bomb"),
        "{text}"
    );
}

/// Flow collections closed at (or left of) their key's indentation, which yaml-cpp and so
/// Falco accept, 2,000 times in one rules file (60 KB): re-indented in one pass, not one
/// whole-file re-parse per line (26 s in a debug build before).
#[test]
fn rules_with_many_lenient_flow_lists_load_in_linear_time() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for i in 0..2000 {
        text.push_str(&format!("- list: l{i}\n  items: [\n    x,\n    y\n]\n"));
    }
    text.push_str(
        "- rule: r\n  desc: d\n  condition: ka.verb in (l1999)\n  output: o\n  priority: WARNING\n  source: k8s_audit\n",
    );
    std::fs::write(dir.path().join("lenient.yaml"), text).unwrap();
    let run = bounded(dir.path(), &["monitor", "check", "-r", "lenient.yaml"]);
    run.assert_bounded();
    assert_eq!(run.out.status.code(), Some(0), "{}", run.text());
}
