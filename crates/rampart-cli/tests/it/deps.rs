//! `rampart deps` through the real binary: a fixture repository (Cargo.lock,
//! package-lock.json v3, requirements.txt with an include) against a database built
//! from real OSV records of the corpus.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const RECORDS: [&str; 4] = [
    "RustSec/RUSTSEC-2020-0071.json",
    "RustSec/RUSTSEC-2018-0017.json",
    "mixed-osv-scanner-samples/npm/GHSA-whgm-jr23-g3j9.json",
    "mixed-osv-scanner-samples/PyPI/PYSEC-2021-98.json",
];

fn rampart(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(args)
        .env_remove("RAMPART_DB")
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let t = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &t);
        } else {
            std::fs::copy(e.path(), t).unwrap();
        }
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    repo: PathBuf,
    db: PathBuf,
}

/// The repository and a database with the four records; `None` without the corpus.
fn fixture() -> Option<Fixture> {
    let osv = rampart_testkit::corpus("osv")?;
    let dir = tempfile::tempdir().unwrap();
    let recs = dir.path().join("records");
    std::fs::create_dir_all(&recs).unwrap();
    for r in RECORDS {
        let src = osv.join(r);
        std::fs::copy(&src, recs.join(src.file_name().unwrap())).unwrap();
    }
    let db = dir.path().join("vuln.db");
    let out = rampart(&[
        "db",
        "import",
        recs.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lockfiles =
        rampart_testkit::workspace_root().join("crates/rampart-sca/tests/fixtures/lockfiles");
    let repo = dir.path().join("repo");
    for d in ["cargo", "npm-v3", "requirements"] {
        copy_dir(&lockfiles.join(d), &repo.join(d));
    }
    Some(Fixture {
        _dir: dir,
        repo,
        db,
    })
}

impl Fixture {
    fn deps(&self, extra: &[&str]) -> (Option<i32>, Value, String) {
        let mut args = vec![
            "deps",
            self.repo.to_str().unwrap(),
            "--db",
            self.db.to_str().unwrap(),
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        let out = rampart(&args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let v: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}\n{stderr}", String::from_utf8_lossy(&out.stdout)));
        (out.status.code(), v, stderr)
    }
}

/// (rule, lockfile, line, fixed versions, suppressed) of every finding, sorted.
fn summary(report: &Value) -> Vec<(String, String, u64, String, bool)> {
    let mut v: Vec<_> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_string(),
                f["location"]["found_in"].as_str().unwrap().to_string(),
                f["location"]["span"]["start_line"].as_u64().unwrap(),
                f["properties"]["fixed_versions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_str().unwrap())
                    .collect::<Vec<_>>()
                    .join(","),
                f.get("suppression").is_some_and(|s| !s.is_null()),
            )
        })
        .collect();
    v.sort();
    v
}

fn row(
    rule: &str,
    file: &str,
    line: u64,
    fixed: &str,
    suppressed: bool,
) -> (String, String, u64, String, bool) {
    (rule.into(), file.into(), line, fixed.into(), suppressed)
}

#[test]
fn findings_with_lines_paths_and_fixes() {
    let Some(fx) = fixture() else { return };
    let (code, report, stderr) = fx.deps(&[]);
    assert_eq!(
        code,
        Some(1),
        "a high finding trips the default gate\n{stderr}"
    );
    assert_eq!(
        summary(&report),
        vec![
            row(
                "vuln/GHSA-whgm-jr23-g3j9",
                "npm-v3/package-lock.json",
                17,
                "0.0.8",
                false
            ),
            row(
                "vuln/PYSEC-2021-98",
                "requirements/requirements.txt",
                12,
                "3.2.4",
                false
            ),
            row("vuln/RUSTSEC-2018-0017", "cargo/Cargo.lock", 75, "", false),
            row(
                "vuln/RUSTSEC-2020-0071",
                "cargo/Cargo.lock",
                85,
                "0.2.0",
                false
            ),
        ]
    );
    let f = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == "vuln/GHSA-whgm-jr23-g3j9")
        .unwrap();
    assert_eq!(f["severity"], "high");
    assert_eq!(f["properties"]["direct"], false);
    assert_eq!(f["properties"]["dev"], true);
    assert_eq!(
        f["properties"]["dependency_path"],
        serde_json::json!(["webpack-dev-server@3.11.0", "ansi-html@0.0.7"])
    );
    assert!(f["message"]
        .as_str()
        .unwrap()
        .contains("via webpack-dev-server@3.11.0 → ansi-html@0.0.7"));
    assert_eq!(
        f["properties"]["aliases"],
        serde_json::json!(["CVE-2021-23424"])
    );
    let time = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == "vuln/RUSTSEC-2020-0071")
        .unwrap();
    assert!(time["message"]
        .as_str()
        .unwrap()
        .contains("via chrono@0.4.19 → time@0.1.43"));
    // The unpinned requirement and the include cycle are notes on stderr.
    assert!(stderr.contains("requests: not pinned"), "{stderr}");
}

#[test]
fn ignore_unfixed_drops_unfixed_vulns() {
    let Some(fx) = fixture() else { return };
    let (_, report, _) = fx.deps(&["--ignore-unfixed"]);
    let ids: Vec<String> = summary(&report).into_iter().map(|r| r.0).collect();
    assert_eq!(
        ids,
        [
            "vuln/GHSA-whgm-jr23-g3j9",
            "vuln/PYSEC-2021-98",
            "vuln/RUSTSEC-2020-0071"
        ]
    );
}

#[test]
fn vex_not_affected_suppresses_by_alias() {
    let Some(fx) = fixture() else { return };
    let vex = fx.repo.join("app.openvex.json");
    std::fs::write(
        &vex,
        r#"{
  "@context": "https://openvex.dev/ns/v0.2.0",
  "@id": "https://example.com/vex/1",
  "author": "Security Team",
  "timestamp": "2024-01-01T00:00:00Z",
  "version": 1,
  "statements": [
    {
      "vulnerability": { "name": "CVE-2021-23424" },
      "products": [
        { "@id": "pkg:github/acme/web", "subcomponents": [ { "@id": "pkg:npm/ansi-html@0.0.7" } ] }
      ],
      "status": "not_affected",
      "justification": "vulnerable_code_not_in_execute_path",
      "impact_statement": "ansi-html only runs in the dev server"
    },
    {
      "vulnerability": { "name": "PYSEC-2021-98" },
      "products": [ { "@id": "pkg:pypi/django@3.2.1" } ],
      "status": "affected",
      "action_statement": "upgrade"
    }
  ]
}"#,
    )
    .unwrap();
    // PYSEC-2021-98 has no severity anywhere: unknown, which the default gate counts
    // as high.
    let (code, _, stderr) = fx.deps(&["--vex", vex.to_str().unwrap()]);
    assert_eq!(code, Some(1), "the unknown django advisory\n{stderr}");
    let (code, report, stderr) = fx.deps(&[
        "--vex",
        vex.to_str().unwrap(),
        "--fail-on-unknown",
        "ignore",
    ]);
    assert_eq!(
        code,
        Some(0),
        "the only high finding is suppressed\n{stderr}"
    );
    let rows = summary(&report);
    assert!(rows.contains(&row(
        "vuln/GHSA-whgm-jr23-g3j9",
        "npm-v3/package-lock.json",
        17,
        "0.0.8",
        true
    )));
    assert!(rows.contains(&row(
        "vuln/PYSEC-2021-98",
        "requirements/requirements.txt",
        12,
        "3.2.4",
        false
    )));
    let f = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == "vuln/GHSA-whgm-jr23-g3j9")
        .unwrap();
    assert_eq!(f["suppression"]["kind"], "vex");
    let reason = f["suppression"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("not_affected: vulnerable_code_not_in_execute_path"),
        "{reason}"
    );
    assert!(f["suppression"]["source"]
        .as_str()
        .unwrap()
        .ends_with("app.openvex.json#statements[0]"));
    let dj = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == "vuln/PYSEC-2021-98")
        .unwrap();
    assert_eq!(dj["properties"]["vex_status"], "affected");
}

#[test]
fn sarif_output() {
    let Some(fx) = fixture() else { return };
    let (_, sarif, _) = {
        let out = rampart(&[
            "deps",
            fx.repo.to_str().unwrap(),
            "--db",
            fx.db.to_str().unwrap(),
            "--format",
            "sarif",
        ]);
        (
            out.status.code(),
            serde_json::from_slice::<Value>(&out.stdout).unwrap(),
            (),
        )
    };
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 4);
    let r = results
        .iter()
        .find(|r| r["ruleId"] == "vuln/PYSEC-2021-98")
        .unwrap();
    let loc = &r["locations"][0]["physicalLocation"];
    assert_eq!(
        loc["artifactLocation"]["uri"],
        "requirements/requirements.txt"
    );
    assert_eq!(loc["region"]["startLine"], 12);
    let rules = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    assert!(rules.iter().any(|x| x["id"] == "vuln/RUSTSEC-2020-0071"));
}

#[test]
fn missing_db_says_how_to_create_one() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("go.mod"),
        "module x\n\nrequire golang.org/x/text v0.3.7\n",
    )
    .unwrap();
    let db = dir.path().join("none.db");
    let out = rampart(&[
        "deps",
        dir.path().to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no vulnerability database"), "{err}");
    assert!(
        err.contains("rampart db import") && err.contains("rampart db update"),
        "{err}"
    );
    assert!(!db.exists(), "deps must not create the database");

    // --list needs no database.
    let out = rampart(&[
        "deps",
        dir.path().to_str().unwrap(),
        "--list",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["lockfiles"][0]["kind"], "go-mod");
    assert_eq!(
        v["lockfiles"][0]["packages"][0]["name"],
        "golang.org/x/text"
    );
    assert_eq!(v["lockfiles"][0]["packages"][0]["source"]["line"], 3);
}

#[test]
fn malformed_lockfile_is_reported_and_the_rest_continues() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Cargo.lock"),
        "version = 3\n[[package]]\nname = \"x\"\nversion = \n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("web")).unwrap();
    std::fs::write(
        dir.path().join("web/package-lock.json"),
        r#"{"lockfileVersion": 3, "packages": {"node_modules/a": {"version": "1.0.0"}}}"#,
    )
    .unwrap();
    // The inventory is incomplete: exit 2 (fail closed), 0 with --allow-errors.
    let out = rampart(&["deps", dir.path().to_str().unwrap(), "--list"]);
    assert_eq!(out.status.code(), Some(2));
    let out = rampart(&[
        "deps",
        dir.path().to_str().unwrap(),
        "--list",
        "--allow-errors",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Cargo.lock:4: cannot parse Cargo.lock"),
        "{err}"
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("web/package-lock.json (npm-lock-v3, 1 packages)"),
        "{text}"
    );
}

#[test]
fn sbom_input_instead_of_lockfiles() {
    let Some(fx) = fixture() else { return };
    let sbom = fx.repo.join("bom.cdx.json");
    std::fs::write(
        &sbom,
        r#"{
  "bomFormat": "CycloneDX",
  "specVersion": "1.6",
  "version": 1,
  "components": [
    { "type": "library", "name": "ansi-html", "version": "0.0.7", "purl": "pkg:npm/ansi-html@0.0.7" },
    { "type": "library", "name": "django", "version": "3.2.5", "purl": "pkg:pypi/django@3.2.5" }
  ]
}"#,
    )
    .unwrap();
    let (code, report, stderr) = fx.deps(&["--sbom", sbom.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{stderr}");
    let ids: Vec<String> = summary(&report).into_iter().map(|r| r.0).collect();
    assert_eq!(ids, ["vuln/GHSA-whgm-jr23-g3j9"], "django 3.2.5 is fixed");
    assert!(report["target"].as_str().unwrap().starts_with("sbom:"));
}

/// Licence policy findings come with `rampart deps` (and `rampart scan`): installed
/// metadata fills in licences the lockfile lacks; the default policy denies strong
/// copyleft, and a `license:` section in rampart.yaml changes the verdict.
#[test]
fn licence_policy_findings() {
    let Some(fx) = fixture() else { return };
    let installed = rampart_testkit::workspace_root()
        .join("crates/rampart-sca/tests/fixtures/installed/project");
    let project = fx.repo.parent().unwrap().join("licensed");
    copy_dir(&installed, &project);
    let db = fx.db.to_str().unwrap();
    let out = rampart(&["deps", project.to_str().unwrap(), "--db", db, "-f", "json"]);
    assert_eq!(out.status.code(), Some(1), "GPL-3.0 is denied by default");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let denied: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"] == "license/denied")
        .collect();
    assert_eq!(denied.len(), 1, "{:#}", v["findings"]);
    assert!(denied[0]["message"]
        .as_str()
        .unwrap()
        .contains("GPL-3.0-or-later"));

    // No denied categories: nothing is denied any more (an `allow:` list would instead
    // deny every licence not in it).
    std::fs::write(
        project.join("rampart.yaml"),
        "license:\n  deny_categories: []\n",
    )
    .unwrap();
    let out = rampart(&["deps", project.to_str().unwrap(), "--db", db, "-f", "json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        !v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule_id"] == "license/denied"),
        "{:#}",
        v["findings"]
    );
}
