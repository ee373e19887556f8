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

/// The scanners a full repository scan runs (`rampart scan`), by report name.
pub const REPOSITORY_SCANNERS: [&str; 5] = ["secrets", "deps", "k8s", "iac", "image"];

/// The rule areas whose findings a scanner (a name in a report's `scanners`) can report;
/// `None` for a scanner this table does not know (then every area is assumed).
pub fn scanner_areas(scanner: &str) -> Option<&'static [&'static str]> {
    Some(match scanner {
        "secrets" => &["secret"],
        "deps" => &["vuln", "license"],
        "k8s" => &["k8s", "policy"],
        "iac" => &["docker", "terraform", "policy"],
        "image" => &["image", "vuln", "secret", "license"],
        "monitor" | "runtime" => &["runtime"],
        "admission" => &["admission", "k8s", "policy", "image"],
        _ => return None,
    })
}

/// Whether a run of `scanners` could have produced a finding for an ignore entry whose
/// rule pattern is `rule` (`None`: an entry without a rule, which any scanner's finding
/// may match). A pattern whose area is itself a glob (`*/x`, `**`) could match any.
pub fn could_match(scanners: &[String], rule: Option<&str>) -> bool {
    let mut areas: Vec<&str> = Vec::new();
    for s in scanners {
        match scanner_areas(s) {
            Some(a) => areas.extend_from_slice(a),
            None => return true,
        }
    }
    match rule {
        None => REPOSITORY_SCANNERS
            .iter()
            .all(|r| scanners.iter().any(|s| s == r)),
        Some(pattern) => {
            let area = pattern.split_once('/').map_or(pattern, |(a, _)| a);
            area.contains(['*', '?', '[', '{']) || areas.contains(&area)
        }
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
    fn ignore_entries_belong_to_the_scanners_that_ran() {
        let iac = vec!["iac".to_string()];
        assert!(could_match(&iac, Some("docker/missing-user")));
        assert!(could_match(&iac, Some("policy/main/deny")));
        assert!(!could_match(&iac, Some("secret/aws-access-key")));
        assert!(!could_match(&iac, Some("vuln/GHSA-1")));
        assert!(could_match(&iac, Some("*/x")));
        assert!(!could_match(&iac, None));
        let all: Vec<String> = REPOSITORY_SCANNERS.iter().map(|s| s.to_string()).collect();
        assert!(could_match(&all, None));
        assert!(could_match(&all, Some("vuln/GHSA-1")));
        assert!(could_match(&["future".to_string()], Some("secret/x")));
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
