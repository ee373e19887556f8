//! Load arbitrary text as a gitleaks configuration (extending the built-in rules when it
//! asks for `useDefault`); when it loads, build an engine and scan the text itself.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_secrets::{gitleaks, Engine, RuleSet};
use std::sync::OnceLock;

fn builtin() -> Option<&'static RuleSet> {
    static SET: OnceLock<Option<RuleSet>> = OnceLock::new();
    SET.get_or_init(|| RuleSet::builtin().ok()).as_ref()
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // A name that is no existing path: `[extend] path` resolves from the working
    // directory only.
    let Ok(set) = gitleaks::load_str(text, "<fuzz>/gitleaks.toml", builtin()) else {
        return;
    };
    if let Ok(engine) = Engine::new(set) {
        let _ = engine.scan("fuzz.txt", data, None);
    }
});
