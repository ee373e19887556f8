//! Generated documentation is committed and must match the registry. Regenerate with
//! `RAMPART_UPDATE_DOCS=1 cargo test -p rampart-cli --test it docs`.

use rampart_secrets::rules::RuleSet;
use rampart_secrets::{ScanOptions, SecretScanner};
use std::path::Path;

#[test]
fn secret_rule_docs_are_fresh() {
    let scanner = SecretScanner::new(RuleSet::builtin().unwrap(), ScanOptions::default()).unwrap();
    let mut metas = scanner.metas();
    metas.sort_by(|a, b| a.id.cmp(&b.id));
    let want = rampart_report::markdown::rule_docs("secret", &metas);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/rules/secret.md");
    if std::env::var("RAMPART_UPDATE_DOCS").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/rules/secret.md is stale: run RAMPART_UPDATE_DOCS=1 cargo test -p rampart-cli --test it docs"
    );
}
