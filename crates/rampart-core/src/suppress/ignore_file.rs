//! `.rampartignore.yaml`: entries naming a rule (id or glob) and/or a path glob and/or a
//! fingerprint, with a reason and an optional `expires:` date after which the entry stops
//! applying and is reported.
//!
//! ```yaml
//! ignores:
//!   - rule: secret/aws-access-key
//!     path: tests/fixtures/**
//!     reason: fake keys used by the unit tests
//!     expires: 2027-06-30
//!   - fingerprint: 3f1c…
//!     reason: accepted risk, see TICKET-12
//!   - rule: k8s/pss-run-as-non-root   # Kubernetes objects: kind / namespace / name
//!     kind: Deployment
//!     namespace: monitoring
//!     name: node-exporter*
//!     reason: needs root to read host metrics
//! ```
//!
//! `kind`, `namespace` and `name` (globs) match only findings located on a Kubernetes
//! object (`Location::K8sObject`); `namespace` matches objects without a namespace as
//! `default`.

use crate::finding::{Finding, Suppression, SuppressionKind};
use crate::report::StaleIgnore;
use crate::{Error, Result};
use chrono::NaiveDate;
use globset::{Glob, GlobMatcher};
use serde::Deserialize;
use std::path::Path;

/// The default ignore-file name, looked for in the scanned root.
pub const IGNORE_FILE_NAME: &str = ".rampartignore.yaml";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    ignores: Vec<RawEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    rule: Option<String>,
    path: Option<String>,
    fingerprint: Option<String>,
    reason: Option<String>,
    expires: Option<String>,
    kind: Option<String>,
    namespace: Option<String>,
    name: Option<String>,
}

/// One compiled entry.
#[derive(Debug)]
pub struct Entry {
    rule: Option<(String, GlobMatcher)>,
    path: Option<(String, GlobMatcher)>,
    fingerprint: Option<String>,
    reason: Option<String>,
    expires: Option<NaiveDate>,
    kind: Option<(String, GlobMatcher)>,
    namespace: Option<(String, GlobMatcher)>,
    name: Option<(String, GlobMatcher)>,
    /// `file:line` of the entry.
    pub source: String,
}

/// A loaded ignore file.
#[derive(Debug, Default)]
pub struct IgnoreFile {
    /// The entries in file order.
    pub entries: Vec<Entry>,
}

impl IgnoreFile {
    /// Load and validate; every problem is reported with the entry's line.
    pub fn load(path: &Path) -> Result<IgnoreFile> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        IgnoreFile::parse(&text, path)
    }

    /// Parse ignore-file text.
    pub fn parse(text: &str, path: &Path) -> Result<IgnoreFile> {
        if text.trim().is_empty() {
            return Ok(IgnoreFile::default());
        }
        let raw: Raw = rampart_yaml::from_str(text).map_err(|e| Error::yaml(path, &e))?;
        let lines = entry_lines(text);
        let mut entries = Vec::new();
        for (i, e) in raw.ignores.into_iter().enumerate() {
            let line = lines.get(i).copied();
            let source = match line {
                Some(l) => format!("{}:{l}", path.display()),
                None => format!("{}#{}", path.display(), i + 1),
            };
            let bad = |message: String| Error::Parse {
                path: path.to_path_buf(),
                line,
                column: None,
                message,
            };
            if e.rule.is_none()
                && e.path.is_none()
                && e.fingerprint.is_none()
                && e.kind.is_none()
                && e.namespace.is_none()
                && e.name.is_none()
            {
                return Err(bad(
                    "an ignore entry needs at least one of `rule`, `path`, `fingerprint`, `kind`, `namespace`, `name`".into(),
                ));
            }
            let glob = |what: &str, pat: Option<String>| -> Result<Option<(String, GlobMatcher)>> {
                match pat {
                    None => Ok(None),
                    Some(p) => Glob::new(&p)
                        .map(|g| Some((p.clone(), g.compile_matcher())))
                        .map_err(|err| bad(format!("bad {what} glob `{p}`: {err}"))),
                }
            };
            let expires = match &e.expires {
                None => None,
                Some(d) => Some(NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|err| {
                    bad(format!("bad `expires` date `{d}` (want YYYY-MM-DD): {err}"))
                })?),
            };
            entries.push(Entry {
                rule: glob("rule", e.rule)?,
                path: glob("path", e.path)?,
                fingerprint: e.fingerprint,
                reason: e.reason,
                expires,
                kind: glob("kind", e.kind)?,
                namespace: glob("namespace", e.namespace)?,
                name: glob("name", e.name)?,
                source,
            });
        }
        Ok(IgnoreFile { entries })
    }

    /// Suppress matching findings; return entries that matched nothing or have expired.
    /// `today` decides expiry (injected for tests).
    pub fn apply(&self, findings: &mut [Finding], today: NaiveDate) -> Vec<StaleIgnore> {
        let mut stale = Vec::new();
        for entry in &self.entries {
            let label = entry.label();
            if let Some(exp) = entry.expires.filter(|d| *d < today) {
                stale.push(StaleIgnore {
                    kind: "ignore_file".into(),
                    source: entry.source.clone(),
                    rule: label,
                    message: format!("expired on {exp}; it no longer applies"),
                });
                continue;
            }
            let mut used = false;
            for f in findings.iter_mut() {
                if entry.matches(f) {
                    used = true;
                    if f.suppression.is_none() {
                        f.suppression = Some(Suppression {
                            kind: SuppressionKind::IgnoreFile,
                            reason: entry.reason.clone(),
                            source: Some(entry.source.clone()),
                        });
                    }
                }
            }
            if !used {
                stale.push(StaleIgnore {
                    kind: "ignore_file".into(),
                    source: entry.source.clone(),
                    rule: label,
                    message: "ignore entry matched no finding".into(),
                });
            }
        }
        stale
    }
}

impl Entry {
    fn matches(&self, f: &Finding) -> bool {
        if let Some((pat, m)) = &self.rule {
            if pat != &f.rule_id && !m.is_match(&f.rule_id) {
                return false;
            }
        }
        if let Some((_, m)) = &self.path {
            match f.location.path() {
                Some(p) if m.is_match(p) => {}
                _ => return false,
            }
        }
        if let Some(fp) = &self.fingerprint {
            if fp != &f.fingerprint {
                return false;
            }
        }
        if self.kind.is_some() || self.namespace.is_some() || self.name.is_some() {
            let crate::location::Location::K8sObject { object, .. } = &f.location else {
                return false;
            };
            let ns = object.namespace.as_deref().unwrap_or("default");
            for (m, value) in [
                (&self.kind, object.kind.as_str()),
                (&self.namespace, ns),
                (&self.name, object.name.as_str()),
            ] {
                if let Some((pat, g)) = m {
                    if pat != value && !g.is_match(value) {
                        return false;
                    }
                }
            }
        }
        true
    }

    fn label(&self) -> String {
        let mut parts = Vec::new();
        if let Some((r, _)) = &self.rule {
            parts.push(r.clone());
        }
        if let Some((p, _)) = &self.path {
            parts.push(format!("path={p}"));
        }
        if let Some(fp) = &self.fingerprint {
            parts.push(format!("fingerprint={}", fp.get(..12).unwrap_or(fp)));
        }
        for (key, m) in [
            ("kind", &self.kind),
            ("namespace", &self.namespace),
            ("name", &self.name),
        ] {
            if let Some((p, _)) = m {
                parts.push(format!("{key}={p}"));
            }
        }
        parts.join(" ")
    }
}

/// The 1-based line of each item of the top-level `ignores:` list (best effort).
fn entry_lines(text: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut in_list = false;
    let mut item_indent: Option<usize> = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = line.len() - trimmed.len();
        if indent == 0 && !trimmed.starts_with('-') {
            in_list = trimmed.starts_with("ignores:");
            continue;
        }
        if in_list && trimmed.starts_with('-') {
            let want = *item_indent.get_or_insert(indent);
            if indent == want {
                out.push(i + 1);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(rule: &str, path: &str) -> Finding {
        crate::finding::test_finding(rule, path, 1)
    }

    #[test]
    fn applies_reports_stale_and_expired() {
        let text = "ignores:\n  - rule: secret/aws-*\n    path: tests/**\n    reason: fixtures\n  - rule: secret/jwt\n    reason: unused\n  - path: old/**\n    expires: 2020-01-01\n";
        let f = IgnoreFile::parse(text, Path::new(".rampartignore.yaml")).unwrap();
        let mut fs = vec![
            finding("secret/aws-access-key", "tests/a.txt"),
            finding("secret/aws-access-key", "src/a.txt"),
            finding("secret/github-pat", "old/x"),
        ];
        let today = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let stale = f.apply(&mut fs, today);
        assert!(fs[0].is_suppressed());
        assert!(!fs[1].is_suppressed());
        assert!(!fs[2].is_suppressed(), "expired entries do not apply");
        assert_eq!(stale.len(), 2);
        assert_eq!(stale[0].source, ".rampartignore.yaml:5");
        assert!(stale[1].message.contains("expired on 2020-01-01"));
    }

    #[test]
    fn matches_kubernetes_objects_by_kind_namespace_name() {
        use crate::location::{K8sObjectRef, Location};
        let text = "ignores:\n  - rule: k8s/pss-*\n    kind: Deployment\n    namespace: mon*\n    name: node-exporter\n    reason: host metrics\n  - kind: Pod\n    namespace: default\n    reason: scratch pods\n";
        let f = IgnoreFile::parse(text, Path::new(".rampartignore.yaml")).unwrap();
        let on = |kind: &str, ns: Option<&str>, name: &str| {
            let mut x = finding("k8s/pss-privileged", "a.yaml");
            x.location = Location::K8sObject {
                object: K8sObjectRef {
                    api_version: "v1".into(),
                    kind: kind.into(),
                    namespace: ns.map(str::to_string),
                    name: name.into(),
                },
                field_path: None,
                path: Some("a.yaml".into()),
                span: None,
            };
            x
        };
        let mut fs = vec![
            on("Deployment", Some("monitoring"), "node-exporter"),
            on("Deployment", Some("prod"), "node-exporter"),
            on("DaemonSet", Some("monitoring"), "node-exporter"),
            on("Pod", None, "scratch"),
            finding("k8s/pss-privileged", "a.yaml"),
        ];
        let today = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let stale = f.apply(&mut fs, today);
        assert!(stale.is_empty(), "{stale:?}");
        let got: Vec<bool> = fs.iter().map(Finding::is_suppressed).collect();
        assert_eq!(got, vec![true, false, false, true, false]);
    }

    #[test]
    fn rejects_bad_entries_with_line() {
        let err = IgnoreFile::parse("ignores:\n  - reason: nothing\n", Path::new("i.yaml"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("i.yaml:2"), "{err}");
        let err = IgnoreFile::parse(
            "ignores:\n  - rule: x\n    expires: soon\n",
            Path::new("i.yaml"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("expires"), "{err}");
        assert!(IgnoreFile::parse("ignores:\n  - rul: x\n", Path::new("i.yaml")).is_err());
    }
}
