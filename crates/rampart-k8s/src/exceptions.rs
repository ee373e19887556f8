//! Per-workload, per-control exceptions declared on the object itself (what Pod
//! Security Admission cannot do), applied identically by `rampart k8s` and the
//! admission webhook.
//!
//! The annotation `rampart.dev/ignore` on the object (or on its pod template) holds one
//! entry per line; several entries may also share a line separated by `,` when the next
//! entry starts with a rule id followed by `:` (so reasons may contain commas):
//!
//! ```yaml
//! metadata:
//!   annotations:
//!     rampart.dev/ignore: |
//!       k8s/pss-run-as-non-root: legacy image runs as root; expires 2027-03-01
//!       k8s/pss-host-ports: node-local DNS cache
//! ```
//!
//! Entry syntax: `RULE[: REASON][; expires YYYY-MM-DD]`. `RULE` is a rule id or a glob
//! with `*` (`k8s/pss-*`). A reason is strongly recommended; an entry without one still
//! applies. After its expiry date an entry no longer suppresses and is reported as a
//! stale exception; in a full scan an entry that matched no finding is stale too.

use crate::object::Object;
use crate::podspec::pod_spec;
use rampart_core::{Finding, Location, ScanError, Suppression, SuppressionKind};
use serde_json::Value;

pub use chrono::NaiveDate;

/// Today's local date (what expiry dates are compared with).
pub fn today() -> NaiveDate {
    chrono::Local::now().date_naive()
}

/// The annotation key.
pub const IGNORE_ANNOTATION: &str = "rampart.dev/ignore";

/// One exception entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exception {
    /// Rule id or `*` glob.
    pub rule: String,
    /// Why.
    pub reason: Option<String>,
    /// Last day it applies.
    pub expires: Option<NaiveDate>,
    /// Where it is declared (`file:line` or `Kind/ns/name`), for reports.
    pub source: String,
}

impl Exception {
    /// Whether it names `rule_id`.
    pub fn matches_rule(&self, rule_id: &str) -> bool {
        glob_match(&self.rule, rule_id)
    }

    /// Whether it has expired at `today`.
    pub fn expired(&self, today: NaiveDate) -> bool {
        self.expires.is_some_and(|d| d < today)
    }
}

fn glob_match(pat: &str, s: &str) -> bool {
    if !pat.contains('*') {
        return pat == s;
    }
    let parts: Vec<&str> = pat.split('*').collect();
    let mut rest = s;
    for (i, p) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(p) else {
                return false;
            };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(p);
        } else {
            match rest.find(p) {
                Some(at) => rest = &rest[at + p.len()..],
                None => return false,
            }
        }
    }
    true
}

fn looks_like_rule(s: &str) -> bool {
    let t = s.trim_start();
    let head = t.split(':').next().unwrap_or("");
    t.contains(':')
        && head.contains('/')
        && !head.is_empty()
        && head
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./*".contains(c))
}

/// Parse an annotation value. Returns the entries and the problems (one message per
/// malformed entry, prefixed with `source`).
pub fn parse_exceptions(value: &str, source: &str) -> (Vec<Exception>, Vec<String>) {
    let (entries, problems) = parse_entries(value, source);
    let problems = problems
        .into_iter()
        .map(|m| format!("{source}: {m}"))
        .collect();
    (entries, problems)
}

/// [`parse_exceptions`] with the problems' messages alone.
fn parse_entries(value: &str, source: &str) -> (Vec<Exception>, Vec<String>) {
    let mut entries = Vec::new();
    let mut problems = Vec::new();
    for line in value.lines() {
        // Split at commas that start a new `rule:` entry.
        let mut pieces: Vec<&str> = Vec::new();
        let mut start = 0;
        for (i, _) in line.match_indices(',') {
            if looks_like_rule(&line[i + 1..]) && i >= start {
                pieces.push(&line[start..i]);
                start = i + 1;
            }
        }
        pieces.push(&line[start..]);
        for piece in pieces {
            let p = piece.trim();
            if p.is_empty() || p.starts_with('#') {
                continue;
            }
            let (rule, rest) = match p.split_once(':') {
                Some((r, rest)) => (r.trim(), rest.trim()),
                None => (p, ""),
            };
            if rule.is_empty() || rule.contains(char::is_whitespace) {
                problems.push(format!("`{p}` is not `RULE: reason; expires YYYY-MM-DD`"));
                continue;
            }
            let mut reason_parts = Vec::new();
            let mut expires = None;
            let mut bad = false;
            for part in rest.split(';') {
                let t = part.trim();
                if let Some(d) = t.strip_prefix("expires") {
                    let d = d.trim().trim_start_matches([':', '=']).trim();
                    match NaiveDate::parse_from_str(d, "%Y-%m-%d") {
                        Ok(d) => expires = Some(d),
                        Err(_) => {
                            problems.push(format!(
                                "bad expiry `{t}` for {rule} (want `expires YYYY-MM-DD`)"
                            ));
                            bad = true;
                        }
                    }
                } else if !t.is_empty() {
                    reason_parts.push(t);
                }
            }
            if bad {
                continue;
            }
            entries.push(Exception {
                rule: rule.to_string(),
                reason: (!reason_parts.is_empty()).then(|| reason_parts.join("; ")),
                expires,
                source: source.to_string(),
            });
        }
    }
    (entries, problems)
}

fn annotation_in(meta: Option<&Value>) -> Option<&str> {
    meta?.get("annotations")?.get(IGNORE_ANNOTATION)?.as_str()
}

/// A malformed `rampart.dev/ignore` entry: where it is and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The manifest file (relative to the scan root), or the object (`Kind/ns/name (…)`)
    /// when the object did not come from a file or its annotation has no span.
    pub path: String,
    /// 1-based line of the annotation, when known.
    pub line: Option<usize>,
    /// What is wrong with the entry.
    pub message: String,
}

impl Problem {
    /// The problem as a scan error of the report (the entry was not applied).
    pub fn into_scan_error(self) -> ScanError {
        ScanError {
            path: self.path,
            line: self.line,
            message: format!("{IGNORE_ANNOTATION}: {}", self.message),
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{l}: {}", self.path, self.message),
            None => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

/// The exceptions an object declares (its own annotation and its pod template's), with
/// problems found while parsing them.
pub fn object_exceptions(obj: &Object) -> (Vec<Exception>, Vec<Problem>) {
    let mut all = Vec::new();
    let mut problems = Vec::new();
    let r = obj.object_ref();
    let mut sources: Vec<(&str, String)> = Vec::new();
    if let Some(v) = annotation_in(obj.value.get("metadata")) {
        sources.push((v, "metadata.annotations".to_string()));
    }
    if let Some(ps) = pod_spec(&obj.value) {
        if ps.path != "spec" {
            if let Some(v) = annotation_in(ps.metadata) {
                let meta_path = format!(
                    "{}.metadata.annotations",
                    crate::object::parent_path(ps.path)
                );
                sources.push((v, meta_path));
            }
        }
    }
    for (value, field) in sources {
        let field = crate::object::join_key(&field, IGNORE_ANNOTATION);
        let (source, path, line) = match (&obj.path, obj.span(&field)) {
            (Some(p), Some(s)) => (
                format!("{p}:{}", s.start_line),
                p.clone(),
                Some(s.start_line),
            ),
            (Some(p), None) => {
                let s = format!("{p} ({})", r.display());
                (s.clone(), s, None)
            }
            (None, _) => {
                let s = format!("{} annotation {IGNORE_ANNOTATION}", r.display());
                (s.clone(), s, None)
            }
        };
        let (e, p) = parse_entries(value, &source);
        all.extend(e);
        problems.extend(p.into_iter().map(|message| Problem {
            path: path.clone(),
            line,
            message,
        }));
    }
    (all, problems)
}

/// What applying exceptions to one object's findings did.
#[derive(Debug, Clone, Default)]
pub struct Applied {
    /// Entries that expired or (when `report_unused`) matched nothing.
    pub stale: Vec<rampart_core::report::StaleIgnore>,
    /// Malformed entries.
    pub problems: Vec<Problem>,
}

/// Apply `obj`'s annotation exceptions to `findings` (all about `obj`): matching
/// findings get an inline suppression with the reason; expired entries suppress
/// nothing and are reported stale. The admission webhook calls this on the findings
/// of `check_object` for the object under review.
pub fn apply_object_exceptions(
    obj: &Object,
    findings: &mut [Finding],
    today: NaiveDate,
    report_unused: bool,
) -> Applied {
    let (entries, problems) = object_exceptions(obj);
    let mut out = Applied {
        stale: Vec::new(),
        problems,
    };
    for e in &entries {
        if e.expired(today) {
            out.stale.push(stale(
                e,
                format!(
                    "exception for {} on {} expired on {}; it no longer applies",
                    e.rule,
                    obj.object_ref().display(),
                    e.expires.map(|d| d.to_string()).unwrap_or_default()
                ),
            ));
            continue;
        }
        let mut used = false;
        for f in findings.iter_mut() {
            if e.matches_rule(&f.rule_id) {
                used = true;
                if f.suppression.is_none() {
                    f.suppression = Some(Suppression {
                        kind: SuppressionKind::Inline,
                        reason: Some(e.reason.clone().unwrap_or_else(|| {
                            format!("{IGNORE_ANNOTATION} annotation (no reason given)")
                        })),
                        source: Some(e.source.clone()),
                    });
                }
            }
        }
        if !used && report_unused {
            out.stale.push(stale(
                e,
                format!(
                    "exception for {} matched no finding on {}",
                    e.rule,
                    obj.object_ref().display()
                ),
            ));
        }
    }
    out
}

fn stale(e: &Exception, message: String) -> rampart_core::report::StaleIgnore {
    rampart_core::report::StaleIgnore {
        kind: "annotation".into(),
        source: e.source.clone(),
        rule: e.rule.clone(),
        message,
    }
}

/// Whether a finding is about `obj` (same file and object reference).
pub fn finding_is_about(f: &Finding, obj: &Object) -> bool {
    match &f.location {
        Location::K8sObject { object, path, .. } => {
            *path == obj.path
                && object.kind == obj.kind()
                && object.name == obj.name()
                && object.namespace.as_deref() == obj.namespace()
                && object.api_version == obj.api_version()
        }
        _ => false,
    }
}

/// [`apply_object_exceptions`] over a whole scanned set (findings matched to objects by
/// file and object reference).
pub fn apply_set_exceptions(
    objects: &[Object],
    findings: &mut [Finding],
    today: NaiveDate,
    report_unused: bool,
) -> Applied {
    let mut out = Applied::default();
    for obj in objects {
        if obj.annotation(IGNORE_ANNOTATION).is_none()
            && pod_spec(&obj.value)
                .and_then(|p| annotation_in(p.metadata))
                .is_none()
        {
            continue;
        }
        let idx: Vec<usize> = findings
            .iter()
            .enumerate()
            .filter(|(_, f)| finding_is_about(f, obj))
            .map(|(i, _)| i)
            .collect();
        let mut mine: Vec<Finding> = idx.iter().map(|i| findings[*i].clone()).collect();
        let a = apply_object_exceptions(obj, &mut mine, today, report_unused);
        for (i, f) in idx.into_iter().zip(mine) {
            findings[i] = f;
        }
        out.stale.extend(a.stale);
        out.problems.extend(a.problems);
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::pss::{evaluate_pss, Level, PssVersion};
    use serde_json::json;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn parses_entries() {
        let (e, p) = parse_exceptions(
            "k8s/pss-run-as-non-root: legacy image, runs as root; expires 2027-03-01\nk8s/pss-*, k8s/host-ports: dns cache\nnot a rule at all\nk8s/x: y; expires soon",
            "src",
        );
        assert_eq!(e.len(), 3, "{e:?}");
        assert_eq!(e[0].reason.as_deref(), Some("legacy image, runs as root"));
        assert_eq!(e[0].expires, Some(d("2027-03-01")));
        assert_eq!(e[1].rule, "k8s/pss-*");
        assert_eq!(e[1].reason, None);
        assert_eq!(e[2].rule, "k8s/host-ports");
        assert_eq!(e[2].reason.as_deref(), Some("dns cache"));
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(glob_match("k8s/pss-*", "k8s/pss-privileged"));
        assert!(!glob_match("k8s/pss-*", "k8s/privileged"));
    }

    fn deployment(annotation: &str, on_template: bool) -> Object {
        let ann = json!({IGNORE_ANNOTATION: annotation});
        let (meta, tmeta) = if on_template {
            (json!({"name": "web"}), json!({"annotations": ann}))
        } else {
            (json!({"name": "web", "annotations": ann}), json!({}))
        };
        Object::from_value(json!({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
            "spec": {"template": {"metadata": tmeta, "spec": {"hostNetwork": true, "containers": [{"name": "c", "securityContext": {"privileged": true}}]}}}
        }))
    }

    #[test]
    fn suppresses_with_reason_and_reports_expired() {
        let today = d("2026-06-01");
        for on_template in [false, true] {
            let obj = deployment("k8s/pss-privileged: needs raw devices; expires 2027-01-01\nk8s/pss-host-namespaces: old; expires 2026-01-01", on_template);
            let mut f = evaluate_pss(&obj, Level::Baseline, &PssVersion::latest());
            assert_eq!(f.len(), 2);
            let a = apply_object_exceptions(&obj, &mut f, today, true);
            let privileged = f
                .iter()
                .find(|x| x.rule_id == "k8s/pss-privileged")
                .unwrap();
            assert_eq!(
                privileged.suppression.as_ref().unwrap().reason.as_deref(),
                Some("needs raw devices")
            );
            let hostns = f
                .iter()
                .find(|x| x.rule_id == "k8s/pss-host-namespaces")
                .unwrap();
            assert!(
                hostns.suppression.is_none(),
                "expired entries do not suppress"
            );
            assert_eq!(a.stale.len(), 1);
            assert!(a.stale[0].message.contains("expired on 2026-01-01"));
        }
    }

    #[test]
    fn set_application_and_unused() {
        let today = d("2026-06-01");
        let obj = deployment("k8s/pss-run-as-user: not a problem here", false);
        let other = deployment("", false);
        let mut f = evaluate_pss(&obj, Level::Baseline, &PssVersion::latest());
        let a = apply_set_exceptions(&[obj, other], &mut f, today, true);
        assert!(f.iter().all(|x| x.suppression.is_none()));
        assert_eq!(a.stale.len(), 1);
        assert!(a.stale[0].message.contains("matched no finding"));
    }
}
