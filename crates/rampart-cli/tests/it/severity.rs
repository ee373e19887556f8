//! Vulnerability severity through the real binary, against databases built from real
//! OSV records of the corpus: a record with no severity anywhere is `unknown` (never a
//! silent medium) and fails the default gate; `fail_on_unknown` (runner-only) decides;
//! a severity is looked up in alias/related records first; RustSec informational
//! advisories keep their kind, are low, and can be turned off by kind; the `deps` table
//! groups advisories by package with the smallest upgrade that fixes all of them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};

fn rampart(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(args)
        .env_remove("RAMPART_DB")
        .env_remove("RAMPART_CONFIG")
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

struct Fx {
    dir: tempfile::TempDir,
    db: PathBuf,
    repo: PathBuf,
}

/// A database of `records` (paths relative to the OSV corpus; a directory imports all
/// of it) and an empty repository; `None` without the corpus.
fn fixture(records: &[&str]) -> Option<Fx> {
    let osv = rampart_testkit::corpus("osv")?;
    let dir = tempfile::tempdir().unwrap();
    let recs = dir.path().join("records");
    std::fs::create_dir_all(&recs).unwrap();
    let mut args = vec!["db".to_string(), "import".to_string()];
    for r in records {
        let src = osv.join(r);
        if src.is_dir() {
            args.push(src.to_str().unwrap().to_string());
        } else {
            std::fs::copy(&src, recs.join(src.file_name().unwrap())).unwrap();
        }
    }
    args.push(recs.to_str().unwrap().to_string());
    let db = dir.path().join("vuln.db");
    args.extend(["--db".to_string(), db.to_str().unwrap().to_string()]);
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = rampart(&a);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    Some(Fx { dir, db, repo })
}

impl Fx {
    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.repo.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    /// A runner configuration file (outside the repository).
    fn runner_config(&self, text: &str) -> PathBuf {
        let p = self.dir.path().join("runner.yaml");
        std::fs::write(&p, text).unwrap();
        p
    }

    fn run(&self, extra: &[&str]) -> (Option<i32>, String, String) {
        let mut args = vec![
            "deps",
            self.repo.to_str().unwrap(),
            "--db",
            self.db.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let out = rampart(&args);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn json(&self, extra: &[&str]) -> (Option<i32>, Value) {
        let mut a = vec!["--format", "json"];
        a.extend_from_slice(extra);
        let (code, out, err) = self.run(&a);
        let v = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
        (code, v)
    }
}

fn findings(v: &Value) -> &Vec<Value> {
    v["findings"].as_array().unwrap()
}

fn finding<'a>(v: &'a Value, rule: &str) -> &'a Value {
    findings(v)
        .iter()
        .find(|f| f["rule_id"] == rule)
        .unwrap_or_else(|| panic!("no {rule} in {v:#}"))
}

/// PYSEC-2021-98 (django, real record: no severity, no rating, and its GHSA/CVE
/// aliases are not in the database) is unknown and fails the default gate.
#[test]
fn a_record_without_severity_is_unknown_and_fails_the_default_gate() {
    let Some(fx) = fixture(&["mixed-osv-scanner-samples/PyPI/PYSEC-2021-98.json"]) else {
        return;
    };
    fx.write("requirements.txt", "django==3.2.1\n");
    let (code, v) = fx.json(&[]);
    let f = finding(&v, "vuln/PYSEC-2021-98");
    assert_eq!(f["severity"], "unknown", "{f:#}");
    assert_eq!(code, Some(1), "unknown counts as high by default");
    assert_eq!(f["properties"]["severity_source"]["kind"], "unknown");

    let (code, table, _) = fx.run(&[]);
    assert_eq!(code, Some(1));
    assert!(table.contains("UNKNOWN"), "{table}");
    assert!(!table.contains("MEDIUM"), "{table}");

    // The runner decides.
    let (code, v) = fx.json(&["--fail-on-unknown", "ignore"]);
    assert_eq!(code, Some(0), "{v:#}");
    assert_eq!(v["summary"]["fail_on_unknown"], "ignore");
    let cfg = fx.runner_config("fail_on_unknown: ignore\n");
    let (code, _) = fx.json(&["--config", cfg.to_str().unwrap()]);
    assert_eq!(code, Some(0));
    let cfg = fx.runner_config("fail_on_unknown: medium\n");
    let (code, _) = fx.json(&["--config", cfg.to_str().unwrap()]);
    assert_eq!(code, Some(0), "unknown as medium passes fail-on high");
    let (code, _) = fx.json(&["--config", cfg.to_str().unwrap(), "--fail-on", "medium"]);
    assert_eq!(code, Some(1), "unknown as medium fails fail-on medium");

    // A repository's rampart.yaml cannot wave unknowns through.
    fx.write("rampart.yaml", "fail_on_unknown: ignore\n");
    let (code, v) = fx.json(&[]);
    assert_eq!(code, Some(1), "{:#}", v["summary"]["config"]);
    let refused = v["summary"]["config"]["refused"].to_string();
    assert!(refused.contains("fail_on_unknown"), "{refused}");

    // A bad value is a clear error.
    let (code, _, err) = fx.run(&["--fail-on-unknown", "sometimes"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--fail-on-unknown"), "{err}");
}

/// GO-2024-2687 (golang.org/x/net, no severity in the record) takes the CVSS of
/// RHSA-2024:4546, a real Red Hat record that names it as related and shares its CVE.
#[test]
fn severity_is_looked_up_in_related_records_before_unknown() {
    let Some(fx) = fixture(&[
        "Go/GO-2024-2687.json",
        "osv-schema/redhat-osv/RHSA-2024_4546.json",
    ]) else {
        return;
    };
    fx.write(
        "go.mod",
        "module example.com/m\n\ngo 1.21\n\nrequire golang.org/x/net v0.17.0\n",
    );
    let (code, v) = fx.json(&[]);
    let f = finding(&v, "vuln/GO-2024-2687");
    assert_eq!(f["severity"], "high", "{f:#}");
    assert_eq!(f["properties"]["severity_from"], "RHSA-2024:4546");
    assert_eq!(f["properties"]["cvss_score"], 7.5);
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("(from RHSA-2024:4546)"),
        "{}",
        f["message"]
    );
    assert_eq!(code, Some(1));
}

/// RUSTSEC-2018-0017 (tempdir, `informational = "unmaintained"`, real record) is an
/// informational advisory: kind kept, low, and `vuln.informational` turns it off.
#[test]
fn informational_advisories_keep_their_kind_are_low_and_can_be_turned_off() {
    let Some(fx) = fixture(&[
        "RustSec/RUSTSEC-2018-0017.json",
        "RustSec/RUSTSEC-2020-0071.json",
    ]) else {
        return;
    };
    let lockfiles =
        rampart_testkit::workspace_root().join("crates/rampart-sca/tests/fixtures/lockfiles");
    std::fs::copy(
        lockfiles.join("cargo/Cargo.lock"),
        fx.repo.join("Cargo.lock"),
    )
    .unwrap();
    let (_, v) = fx.json(&[]);
    let f = finding(&v, "vuln/RUSTSEC-2018-0017");
    assert_eq!(f["severity"], "low", "{f:#}");
    assert_eq!(f["properties"]["kind"], "unmaintained");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("informational advisory (unmaintained)"),
        "{}",
        f["message"]
    );
    let time = finding(&v, "vuln/RUSTSEC-2020-0071");
    assert!(time["properties"].get("kind").is_none(), "{time:#}");
    assert_ne!(time["severity"], "low");

    // Off by kind (repository policy, or the runner's).
    fx.write("rampart.yaml", "vuln:\n  informational: [unsound]\n");
    let (_, v) = fx.json(&[]);
    assert!(
        findings(&v)
            .iter()
            .all(|f| f["rule_id"] != "vuln/RUSTSEC-2018-0017"),
        "{v:#}"
    );
    finding(&v, "vuln/RUSTSEC-2020-0071");
    std::fs::remove_file(fx.repo.join("rampart.yaml")).unwrap();
    let (_, v) = fx.json(&["--skip-informational", "unmaintained"]);
    assert!(findings(&v)
        .iter()
        .all(|f| f["rule_id"] != "vuln/RUSTSEC-2018-0017"));
    let (code, _, err) = fx.run(&["--skip-informational", "abandoned"]);
    assert_eq!(code, Some(2), "{err}");
}

/// Django 3.2.1 and Pillow 8.0.0 against every PyPI record of the corpus (the issue's
/// case: dozens of advisories without severity, exit 0 before): the gate fails, and
/// the table groups the advisories by package with the upgrade that fixes all.
#[test]
fn django_and_pillow_fail_the_gate_and_the_table_groups_by_package() {
    let Some(fx) = fixture(&["PyPI"]) else { return };
    fx.write("requirements.txt", "django==3.2.1\npillow==8.0.0\n");
    let (code, v) = fx.json(&[]);
    assert_eq!(code, Some(1), "{:#}", v["summary"]);
    let n = findings(&v).len();
    assert!(n > 20, "{n}");
    assert!(findings(&v).iter().any(|f| f["severity"] == "unknown"));
    assert!(findings(&v).iter().all(|f| f["severity"] != "medium"));

    let (code, table, _) = fx.run(&[]);
    assert_eq!(code, Some(1));
    let grouped: String = table
        .lines()
        .take_while(|l| *l != "summary")
        .collect::<Vec<_>>()
        .join("\n");
    let django = grouped
        .lines()
        .find(|l| l.trim_start().starts_with("django 3.2.1:"))
        .unwrap_or_else(|| panic!("{grouped}"));
    assert!(
        django.contains("advisories (") && django.contains("unknown"),
        "{django}"
    );
    assert!(
        django.contains("upgrade to ") && django.contains(" fixes all")
            || django.contains("no single fix"),
        "{django}"
    );
    insta::assert_snapshot!("deps_table_grouped_django_pillow", grouped);
}

/// SARIF levels follow the run's gate: an unknown advisory is `error` while it fails the
/// gate (default), and `note` when the runner ignores unknowns.
#[test]
fn sarif_level_of_unknown_follows_fail_on_unknown() {
    let Some(fx) = fixture(&["mixed-osv-scanner-samples/PyPI/PYSEC-2021-98.json"]) else {
        return;
    };
    fx.write("requirements.txt", "django==3.2.1\n");
    let levels = |extra: &[&str]| -> Vec<(String, String)> {
        let mut a = vec!["--format", "sarif"];
        a.extend_from_slice(extra);
        let (_, out, err) = fx.run(&a);
        let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {err}"));
        let run = &v["runs"][0];
        let rule = &run["tool"]["driver"]["rules"][0];
        vec![
            (
                run["results"][0]["level"].as_str().unwrap().to_string(),
                rule["defaultConfiguration"]["level"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            ),
            (
                rule["properties"]["security-severity"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                String::new(),
            ),
        ]
    };
    assert_eq!(
        levels(&[]),
        vec![
            ("error".into(), "error".into()),
            ("8.0".into(), String::new())
        ]
    );
    assert_eq!(
        levels(&["--fail-on-unknown", "ignore"]),
        vec![
            ("note".into(), "note".into()),
            ("0.0".into(), String::new())
        ]
    );
    assert_eq!(
        levels(&["--fail-on-unknown", "medium"]),
        vec![
            ("warning".into(), "warning".into()),
            ("5.5".into(), String::new())
        ]
    );
}
