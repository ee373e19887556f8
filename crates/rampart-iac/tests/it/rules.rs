//! Per-rule fixtures: `fixtures/<lang>/<slug>/fires.*` must produce the rule on every
//! line that follows a `# fires-next-line` marker (and nowhere else); `quiet.*` must
//! not produce it at all. Every rule must have both fixtures.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

fn fixture_dir(lang: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(lang)
}

fn marked_lines(text: &str) -> Vec<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if l.trim() == "# fires-next-line" {
            out.push(i + 2);
        }
    }
    out
}

fn run(lang: &str, ext: &str, ids: Vec<String>) -> usize {
    let dir = fixture_dir(lang);
    let mut problems = Vec::new();
    for id in &ids {
        let slug = id.split_once('/').unwrap().1;
        for (kind, must_fire) in [("fires", true), ("quiet", false)] {
            let name = format!("{kind}.{ext}");
            let p = dir.join(slug).join(&name);
            let Ok(text) = std::fs::read_to_string(&p) else {
                problems.push(format!("{id}: missing fixture {}", p.display()));
                continue;
            };
            let rel = format!("{slug}/{name}");
            let res = rampart_iac::scan_file(&rel, text.as_bytes()).unwrap();
            assert!(res.errors.is_empty(), "{rel}: {:?}", res.errors);
            let mut lines: Vec<usize> = res
                .findings
                .iter()
                .filter(|f| &f.rule_id == id)
                .map(|f| f.location.line().unwrap())
                .collect();
            lines.sort();
            lines.dedup();
            let want = if must_fire {
                marked_lines(&text)
            } else {
                Vec::new()
            };
            if must_fire && want.is_empty() {
                problems.push(format!("{rel}: no `# fires-next-line` marker"));
            }
            if lines != want {
                problems.push(format!(
                    "{id} ({rel}): {} at lines {lines:?}, expected {want:?}",
                    if lines.len() > want.len() {
                        "Noisy"
                    } else {
                        "Missing"
                    }
                ));
            }
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
    ids.len()
}

#[test]
fn dockerfile_rules_fire_and_stay_quiet() {
    let ids = rampart_iac::dockerfile::rules::metas()
        .into_iter()
        .map(|m| m.id)
        .collect();
    let n = run("docker", "Dockerfile", ids);
    assert!(n >= 25);
}

#[test]
fn terraform_rules_fire_and_stay_quiet() {
    let ids = rampart_iac::terraform::metas()
        .into_iter()
        .map(|m| m.id)
        .collect();
    let n = run("terraform", "tf", ids);
    assert!(n >= 20);
}

#[test]
fn kubernetes_resources_go_through_the_k8s_rules() {
    let text = std::fs::read_to_string(fixture_dir("kubernetes").join("deployment.tf")).unwrap();
    let res = rampart_iac::scan_file("deployment.tf", text.as_bytes()).unwrap();
    let find = |id: &str| {
        res.findings
            .iter()
            .find(|f| f.rule_id == id)
            .unwrap_or_else(|| {
                panic!(
                    "{id} not reported: {:#?}",
                    res.findings.iter().map(|f| &f.rule_id).collect::<Vec<_>>()
                )
            })
    };
    let p = find("k8s/pss-privileged");
    assert_eq!(p.location.line(), Some(21), "{:?}", p.location);
    assert_eq!(p.location.path(), Some("deployment.tf"));
    let h = find("k8s/pss-host-namespaces");
    assert_eq!(h.location.line(), Some(16), "{:?}", h.location);
    match &p.location {
        rampart_core::Location::K8sObject {
            object, field_path, ..
        } => {
            assert_eq!(object.kind, "Deployment");
            assert_eq!(object.name, "web");
            assert_eq!(object.namespace.as_deref(), Some("shop"));
            assert_eq!(
                field_path.as_deref(),
                Some("spec.template.spec.containers[0].securityContext.privileged")
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn bad_input_is_an_error_with_a_line_not_a_panic() {
    let res = rampart_iac::scan_file("main.tf", b"resource \"a\" \"b\" {\n  x = \n}\n").unwrap();
    assert_eq!(res.errors.len(), 1);
    assert!(res.errors[0].line.is_some(), "{:?}", res.errors);
    let res = rampart_iac::scan_file("Dockerfile", b"FROM debian:12\nFORM x\n").unwrap();
    assert_eq!(res.errors[0].line, Some(2));
}

/// Every Terraform fixture, written in Terraform's JSON syntax (the HCL-JSON shape, which
/// Terraform accepts as `.tf.json`), gets the same findings as the `.tf` original, each
/// with a line in the JSON file.
#[test]
fn tf_json_gets_the_same_findings_as_hcl() {
    let mut files = vec![fixture_dir("kubernetes").join("deployment.tf")];
    for e in std::fs::read_dir(fixture_dir("terraform")).unwrap() {
        let dir = e.unwrap().path();
        files.push(dir.join("fires.tf"));
        files.push(dir.join("quiet.tf"));
    }
    let mut compared = 0;
    let mut problems = Vec::new();
    for p in &files {
        let text = std::fs::read_to_string(p).unwrap();
        let as_json = rampart_iac::terraform::policy_input(&text).unwrap();
        let json_text = serde_json::to_string_pretty(&as_json).unwrap();
        let rel = p.display().to_string();
        let hcl = rampart_iac::scan_file(&rel, text.as_bytes()).unwrap();
        let json_rel = format!("{rel}.json");
        let json = rampart_iac::scan_file(&json_rel, json_text.as_bytes()).unwrap();
        assert!(json.errors.is_empty(), "{json_rel}: {:?}", json.errors);
        let verdicts = |fs: &[rampart_core::Finding]| {
            let mut v: Vec<(String, String)> = fs
                .iter()
                .map(|f| (f.rule_id.clone(), f.message.clone()))
                .collect();
            v.sort();
            v
        };
        if verdicts(&hcl.findings) != verdicts(&json.findings) {
            problems.push(format!(
                "{rel}:\n  hcl:  {:?}\n  json: {:?}",
                verdicts(&hcl.findings),
                verdicts(&json.findings)
            ));
        }
        for f in &json.findings {
            let line = f.location.line().unwrap_or(0);
            assert!(
                line >= 1 && line <= json_text.lines().count(),
                "{json_rel}: {} has no line in the file: {:?}",
                f.rule_id,
                f.location
            );
        }
        compared += hcl.findings.len();
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
    assert!(compared >= 40, "{compared}");
    eprintln!(
        "{} files, {compared} findings identical in .tf and .tf.json",
        files.len()
    );
}
