//! Scan arbitrary bytes with the built-in rules (plus a gitleaks config named by
//! `RAMPART_FUZZ_GITLEAKS`, e.g. the upstream default config from the test corpora).
//! The first byte picks the file path, so path filters and allowlists are reached too.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_secrets::{gitleaks, Engine, RuleSet};
use std::sync::OnceLock;

const PATHS: &[&str] = &[
    "config.yaml",
    "src/main.py",
    "nuget.config",
    "main.tf",
    "cert.p12",
    "node_modules/a.js",
    ".env",
    "",
];

fn engine() -> Option<&'static Engine> {
    static ENGINE: OnceLock<Option<Engine>> = OnceLock::new();
    ENGINE
        .get_or_init(|| {
            let mut set = RuleSet::builtin().ok()?;
            if let Some(p) = std::env::var_os("RAMPART_FUZZ_GITLEAKS") {
                set.merge(gitleaks::load_file(std::path::Path::new(&p), None).ok()?)
                    .ok()?;
            }
            Engine::new(set).ok()
        })
        .as_ref()
}

fuzz_target!(|data: &[u8]| {
    let Some(engine) = engine() else { return };
    let (path, content) = match data.split_first() {
        Some((b, rest)) => (PATHS[usize::from(*b) % PATHS.len()], rest),
        None => ("", data),
    };
    for m in engine.scan(path, content, Some("0123456789abcdef")) {
        assert!(m.match_start <= m.start && m.start <= m.end && m.end <= m.match_end);
        assert!(m.match_end <= content.len());
    }
});
