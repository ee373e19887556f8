//! Rule metadata and the registry every front reads (`rules list`, SARIF, docs).

use crate::severity::Severity;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Everything a user needs to know about a rule. Defined once per rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleMeta {
    /// `<area>/<slug>`, stable forever once released.
    pub id: String,
    /// The area (`secret`, `k8s`, `vuln` …): the part of the id before `/`.
    pub area: String,
    /// One-line title.
    pub title: String,
    /// Default severity.
    pub severity: Severity,
    /// What the rule detects and why it matters (Markdown).
    pub description: String,
    /// How to fix a finding.
    pub remediation: String,
    /// URLs, CWE ids, control ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
    /// Equivalent rule ids in peer tools (`gitleaks:aws-access-token`, `CKV_K8S_16`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub peers: Vec<String>,
    /// Free-form tags (provider, category).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

impl RuleMeta {
    /// The problems with this metadata (empty fields, malformed id).
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let Some((area, slug)) = self.id.split_once('/') else {
            out.push(format!("rule id `{}` is not `<area>/<slug>`", self.id));
            return out;
        };
        if area != self.area {
            out.push(format!(
                "{}: area `{}` does not match id",
                self.id, self.area
            ));
        }
        // `vuln/` ids keep the advisory's own spelling (`vuln/GHSA-…`, `vuln/RUSTSEC-…`,
        // `vuln/RHSA-2024:6220`): it is the identity users search for, as in Trivy and
        // Grype. Every other area uses lower-case slugs.
        let advisory = area == "vuln";
        if slug.is_empty()
            || !slug.chars().all(|c| {
                c.is_ascii_lowercase()
                    || c.is_ascii_digit()
                    || "-_.".contains(c)
                    || (advisory && (c.is_ascii_uppercase() || c == ':'))
            })
        {
            out.push(format!(
                "{}: slug must be lower-case letters, digits, `-`, `_` or `.`{}",
                self.id,
                if advisory {
                    " (advisory ids: also upper-case letters and `:`)"
                } else {
                    ""
                }
            ));
        }
        for (name, value) in [
            ("title", &self.title),
            ("description", &self.description),
            ("remediation", &self.remediation),
        ] {
            if value.trim().is_empty() {
                out.push(format!("{}: empty {name}", self.id));
            }
        }
        if self.title.contains('\n') {
            out.push(format!("{}: title must be one line", self.id));
        }
        out
    }
}

/// All known rules, keyed by id.
#[derive(Debug, Default, Clone)]
pub struct Registry {
    rules: BTreeMap<String, RuleMeta>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Add rules; a duplicate id is an error naming it.
    pub fn extend<I: IntoIterator<Item = RuleMeta>>(&mut self, rules: I) -> Result<(), String> {
        for r in rules {
            if self.rules.contains_key(&r.id) {
                return Err(format!("duplicate rule id `{}`", r.id));
            }
            self.rules.insert(r.id.clone(), r);
        }
        Ok(())
    }

    /// Look up a rule.
    pub fn get(&self, id: &str) -> Option<&RuleMeta> {
        self.rules.get(id)
    }

    /// All rules sorted by id.
    pub fn iter(&self) -> impl Iterator<Item = &RuleMeta> {
        self.rules.values()
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Every metadata problem across the registry.
    pub fn problems(&self) -> Vec<String> {
        self.rules.values().flat_map(RuleMeta::problems).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(id: &str) -> RuleMeta {
        RuleMeta {
            id: id.to_string(),
            area: id.split('/').next().unwrap_or_default().to_string(),
            title: "t".into(),
            severity: Severity::Medium,
            description: "d".into(),
            remediation: "r".into(),
            references: Vec::new(),
            peers: Vec::new(),
            tags: Vec::new(),
        }
    }

    #[test]
    fn advisory_ids_keep_their_casing_only_under_vuln() {
        for ok in [
            "vuln/GHSA-mr95-9rr4-668f",
            "vuln/RUSTSEC-2019-0001",
            "vuln/RHSA-2024:6220",
            "vuln/PYSEC-2023-74",
            "k8s/privileged-container",
        ] {
            assert_eq!(meta(ok).problems(), Vec::<String>::new(), "{ok}");
        }
        for bad in [
            "k8s/Privileged",
            "secret/a:b",
            "vuln/",
            "vuln/GHSA x",
            "vuln/a/b",
        ] {
            assert!(!meta(bad).problems().is_empty(), "{bad}");
        }
    }
}
