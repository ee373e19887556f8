//! The one report every renderer test and snapshot uses.
//!
//! It mixes every location kind the renderers treat differently: a file with a span, a
//! file without one (with a space in its name), a Kubernetes object with a file span, a
//! git-history finding with its commit, a package, a URL, an inline-suppressed finding,
//! a stale ignore and a scan error. Volatile fields (start time, duration, version) are
//! fixed after construction so snapshots are stable.

// Test helpers outside `#[test]` functions: panicking is how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use rampart_core::finding::{Suppression, SuppressionKind};
use rampart_core::fingerprint::fingerprint;
use rampart_core::report::StaleIgnore;
use rampart_core::severity::FailOn;
use rampart_core::{
    CommitInfo, Finding, K8sObjectRef, Location, Report, RuleMeta, ScanError, Severity, Span,
};

fn rule(id: &str, severity: Severity, title: &str, references: &[&str]) -> RuleMeta {
    let (area, _) = id.split_once('/').unwrap();
    RuleMeta {
        id: id.to_string(),
        area: area.to_string(),
        title: title.to_string(),
        severity,
        description: format!(
            "Detects {}. Leaked or misconfigured, it lets an attacker in.",
            title.to_lowercase()
        ),
        remediation: format!("Remove the {} and rotate or fix it.", title.to_lowercase()),
        references: references.iter().map(|s| s.to_string()).collect(),
        peers: vec![format!("peer:{}", id.replace('/', "-"))],
        tags: vec![area.to_string(), "fixture".to_string()],
    }
}

/// The rules the fixture's findings come from.
pub fn rules() -> Vec<RuleMeta> {
    vec![
        rule(
            "secret/aws-access-key",
            Severity::High,
            "AWS access key ID",
            &[
                "CWE-798",
                "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html",
            ],
        ),
        rule(
            "secret/generic-api-key",
            Severity::Medium,
            "Generic API key",
            &["CWE-798"],
        ),
        rule(
            "secret/github-token",
            Severity::Critical,
            "GitHub token",
            &[],
        ),
        rule(
            "k8s/privileged-container",
            Severity::Critical,
            "Privileged container",
            &["https://kubernetes.io/docs/concepts/security/pod-security-standards/"],
        ),
        rule(
            "vuln/known-vulnerability",
            Severity::Low,
            "Known vulnerability",
            &["RUSTSEC-2020-0071"],
        ),
        rule(
            "dast/missing-hsts",
            Severity::Info,
            "Missing HSTS header",
            &[],
        ),
    ]
}

fn span(start_line: usize, start_column: usize, end_line: usize, end_column: usize) -> Span {
    Span {
        start_line,
        start_column,
        end_line,
        end_column,
    }
}

fn finding(rule_id: &str, message: &str, location: Location, evidence: Option<&str>) -> Finding {
    let meta = rules().into_iter().find(|r| r.id == rule_id).unwrap();
    let fp = fingerprint(&[rule_id, &location.display()]);
    let mut f = Finding::new(&meta, message, location, fp);
    f.evidence = evidence.map(str::to_string);
    f
}

/// The shared fixture report (finalized with `--fail-on high`, so the gate fails).
pub fn report() -> Report {
    let mut report = Report::new(
        "/home/ci/project",
        vec!["secrets".to_string(), "k8s".to_string()],
    );

    report.findings.push(finding(
        "secret/aws-access-key",
        "AWS access key ID assigned to `aws_key`",
        Location::file("src/config.py", Some(span(12, 5, 12, 25))),
        Some("AKIA************MPLE"),
    ));
    report.findings.push(finding(
        "secret/generic-api-key",
        "API key in a table cell: a | b\nsecond line <b>bold</b>",
        Location::file("docs/notes & more.md", None),
        Some("api_key=****"),
    ));
    let mut k8s = finding(
        "k8s/privileged-container",
        "container `web` runs privileged",
        Location::K8sObject {
            object: K8sObjectRef {
                api_version: "apps/v1".to_string(),
                kind: "Deployment".to_string(),
                namespace: Some("prod".to_string()),
                name: "web".to_string(),
            },
            field_path: Some(
                "spec.template.spec.containers[0].securityContext.privileged".to_string(),
            ),
            path: Some("deploy/web.yaml".to_string()),
            span: Some(span(20, 11, 20, 27)),
        },
        None,
    );
    k8s.properties
        .insert("container".to_string(), serde_json::json!("web"));
    report.findings.push(k8s);
    report.findings.push(finding(
        "secret/github-token",
        "GitHub personal access token committed",
        Location::File {
            path: "scripts/deploy.sh".to_string(),
            span: Some(span(3, 14, 3, 54)),
            commit: Some(CommitInfo {
                commit: "0123456789abcdef0123456789abcdef01234567".to_string(),
                author: "Dev Eloper".to_string(),
                email: "dev@example.test".to_string(),
                date: "2025-12-24T10:00:00Z".to_string(),
                summary: "add deploy script".to_string(),
            }),
        },
        Some("ghp_****************************wxyz"),
    ));
    let mut suppressed = finding(
        "secret/generic-api-key",
        "API key in a test fixture",
        Location::file("tests/fixture.env", Some(Span::line(5))),
        Some("API_KEY=****"),
    );
    suppressed.suppression = Some(Suppression {
        kind: SuppressionKind::Inline,
        reason: Some("fake key used by tests".to_string()),
        source: Some("tests/fixture.env:4".to_string()),
    });
    report.findings.push(suppressed);
    report.findings.push(finding(
        "vuln/known-vulnerability",
        "time 0.1.43 is affected by RUSTSEC-2020-0071",
        Location::Package {
            ecosystem: "crates.io".to_string(),
            name: "time".to_string(),
            version: "0.1.43".to_string(),
            found_in: Some("Cargo.lock".to_string()),
            span: Some(rampart_core::Span::line(12)),
        },
        None,
    ));
    report.findings.push(finding(
        "dast/missing-hsts",
        "response has no Strict-Transport-Security header",
        Location::Url {
            method: "GET".to_string(),
            url: "https://app.example.test/login".to_string(),
            parameter: None,
        },
        None,
    ));

    report.stale_ignores.push(StaleIgnore {
        kind: "ignore_file".to_string(),
        source: ".rampartignore.yaml:7".to_string(),
        rule: "secret/slack-webhook".to_string(),
        message: "matched nothing".to_string(),
    });
    report.errors.push(ScanError {
        path: "vendor/broken.yaml".to_string(),
        line: Some(3),
        message: "invalid YAML: mapping values are not allowed here".to_string(),
    });
    report.summary.files_scanned = 42;
    report.summary.bytes_scanned = 123_456;
    report.summary.commits_scanned = 17;
    report.skip("binary", 3);
    report.skip("too_large", 1);

    let all = rules();
    report.finalize(
        |id| all.iter().find(|r| r.id == id).cloned(),
        FailOn::AtLeast(Severity::High),
    );

    report.started_at = "2026-01-02T03:04:05Z".to_string();
    report.duration_ms = 1234;
    report.tool.version = "0.0.0-fixture".to_string();
    report
}
