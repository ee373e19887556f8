//! Dev-only test helpers.
//!
//! Corpora live in `../shared/corpora` beside the checkout (override with
//! `RAMPART_CORPORA`). When they are absent a test skips with a printed notice, unless
//! `RAMPART_REQUIRE_CORPORA=1` (set by `.ci/run`), in which case absence is a failure.

#![allow(clippy::print_stderr, clippy::panic)]

pub mod bounded;

use std::path::{Path, PathBuf};

/// The workspace root (two levels above this crate's manifest).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The shared folder (`../shared` beside the checkout, or `RAMPART_SHARED`).
pub fn shared_dir() -> PathBuf {
    std::env::var_os("RAMPART_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("..").join("shared"))
}

/// The corpora root (`RAMPART_CORPORA` or `<shared>/corpora`).
pub fn corpora_root() -> PathBuf {
    std::env::var_os("RAMPART_CORPORA")
        .map(PathBuf::from)
        .unwrap_or_else(|| shared_dir().join("corpora"))
}

/// Whether missing corpora must fail the test.
pub fn corpora_required() -> bool {
    std::env::var("RAMPART_REQUIRE_CORPORA").is_ok_and(|v| v == "1")
}

/// `<corpora>/<rel>` if it exists. When absent: panics if corpora are required, else
/// prints a skip notice and returns `None`.
pub fn corpus(rel: &str) -> Option<PathBuf> {
    resolve(corpora_root().join(rel), rel)
}

/// `<shared>/<rel>` (schemas, peers) with the same skip/require behaviour as [`corpus`].
pub fn shared(rel: &str) -> Option<PathBuf> {
    resolve(shared_dir().join(rel), rel)
}

fn resolve(p: PathBuf, rel: &str) -> Option<PathBuf> {
    if p.exists() {
        return Some(p);
    }
    if corpora_required() {
        panic!(
            "required test data `{rel}` not found at {} (RAMPART_REQUIRE_CORPORA=1)",
            p.display()
        );
    }
    eprintln!(
        "notice: skipping: test data `{rel}` not found at {} (set RAMPART_CORPORA / RAMPART_SHARED)",
        p.display()
    );
    None
}

/// Whether a missing external tool must fail the test (`RAMPART_REQUIRE_TOOLS=1`, set by
/// `.ci/run`).
pub fn tools_required() -> bool {
    std::env::var("RAMPART_REQUIRE_TOOLS").is_ok_and(|v| v == "1")
}

/// An external program a test drives: the path in `$env` if set, else `name` on PATH.
/// When absent: panics if tools are required, else prints a skip notice (with how to
/// install it) and returns `None`.
pub fn tool(env: &str, name: &str, install: &str) -> Option<PathBuf> {
    let found = std::env::var_os(env)
        .map(PathBuf::from)
        .filter(|p| p.is_file())
        .or_else(|| {
            std::env::var_os("PATH").and_then(|path| {
                std::env::split_paths(&path)
                    .map(|d| d.join(name))
                    .find(|p| p.is_file())
            })
        });
    if found.is_none() {
        if tools_required() {
            panic!(
                "required tool `{name}` not found (set {env}; {install}) (RAMPART_REQUIRE_TOOLS=1)"
            );
        }
        eprintln!("notice: skipping: `{name}` not found (set {env}; {install})");
    }
    found
}
