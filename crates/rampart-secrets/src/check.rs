//! `rampart rules check`: every example of every rule fires that rule, and no negative
//! example does.

use crate::engine::Engine;

/// One failed expectation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckFailure {
    /// Rule id.
    pub rule: String,
    /// Where the rule is defined.
    pub source: String,
    /// `missing` (example did not fire) or `noisy` (negative example fired).
    pub kind: &'static str,
    /// The example text (truncated).
    pub example: String,
}

/// Check every rule's examples; returns (examples checked, failures).
pub fn check(engine: &Engine) -> (usize, Vec<CheckFailure>) {
    let mut failures = Vec::new();
    let mut n = 0;
    for (ri, rule) in engine.rules().iter().enumerate() {
        let run = |text: &str, path: &Option<String>| {
            let p = path.as_deref().unwrap_or("example.txt");
            engine
                .scan(p, text.as_bytes(), None)
                .iter()
                .any(|m| m.rule == ri)
        };
        for (text, path) in &rule.examples {
            n += 1;
            if !run(text, path) {
                failures.push(failure(rule, "missing", text));
            }
        }
        for (text, path) in &rule.negative_examples {
            n += 1;
            if run(text, path) {
                failures.push(failure(rule, "noisy", text));
            }
        }
    }
    (n, failures)
}

fn failure(rule: &crate::rules::CompiledRule, kind: &'static str, text: &str) -> CheckFailure {
    let example: String = text.chars().take(80).collect();
    CheckFailure {
        rule: rule.meta.id.clone(),
        source: rule.source.clone(),
        kind,
        example,
    }
}
