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

/// What a rule selection does to a rule's findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleAction {
    /// Switch the rule off: its findings are suppressed (kind `config`), so reports
    /// still show that something was turned off and by whom.
    Off,
    /// Report its findings at this severity.
    Severity(Severity),
}

/// Rule areas whose ids are open-ended (advisory ids from the database, custom Rego
/// policies): a pattern under them cannot be checked against a list of known rules.
pub const OPEN_AREAS: [&str; 2] = ["vuln", "policy"];

#[derive(Debug, Clone)]
struct Selector {
    pattern: String,
    matcher: globset::GlobMatcher,
    exact: bool,
    action: RuleAction,
    /// Where it was given (`--skip-rule`, `rampart.yaml: disable` …).
    source: String,
    /// The area it must stay in (`docker.disable` selects docker rules only).
    area: Option<String>,
}

impl Selector {
    fn matches(&self, id: &str) -> bool {
        if self.exact {
            self.pattern == id
        } else {
            self.matcher.is_match(id)
        }
    }
}

/// Which rules run and at which severity, from the command line (`--skip-rule`,
/// `--only-rule`) and the configuration (`disable:`, `<area>.disable:`, `severity:`
/// with globs and `none`). Applied by [`crate::sink::Sink`] to the findings.
#[derive(Debug, Clone, Default)]
pub struct RuleSelection {
    selectors: Vec<Selector>,
    only: Vec<Selector>,
}

fn glob(pattern: &str) -> Result<globset::GlobMatcher, String> {
    globset::GlobBuilder::new(pattern)
        .literal_separator(false)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| format!("bad rule glob `{pattern}`: {e}"))
}

fn is_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?', '[', '{'])
}

impl RuleSelection {
    /// An empty selection: every rule at its own severity.
    pub fn new() -> RuleSelection {
        RuleSelection::default()
    }

    /// Apply `action` to the rules matching `pattern` (an id or a glob), given in
    /// `source`; with `area`, the pattern must select rules of that area only.
    pub fn add(
        &mut self,
        pattern: &str,
        action: RuleAction,
        source: &str,
        area: Option<&str>,
    ) -> Result<(), String> {
        self.selectors.push(Selector {
            pattern: pattern.to_string(),
            matcher: glob(pattern).map_err(|e| format!("{source}: {e}"))?,
            exact: !is_glob(pattern),
            action,
            source: source.to_string(),
            area: area.map(str::to_string),
        });
        Ok(())
    }

    /// Keep only the rules matching one of the `only` patterns (`--only-rule`).
    pub fn add_only(&mut self, pattern: &str, source: &str) -> Result<(), String> {
        self.only.push(Selector {
            pattern: pattern.to_string(),
            matcher: glob(pattern).map_err(|e| format!("{source}: {e}"))?,
            exact: !is_glob(pattern),
            action: RuleAction::Off,
            source: source.to_string(),
            area: None,
        });
        Ok(())
    }

    /// Whether nothing is selected (every rule runs at its own severity).
    pub fn is_empty(&self) -> bool {
        self.selectors.is_empty() && self.only.is_empty()
    }

    /// The severity override for rule `id`: an exact id beats a glob, a longer glob a
    /// shorter one.
    pub fn severity(&self, id: &str) -> Option<Severity> {
        self.selectors
            .iter()
            .filter_map(|s| match s.action {
                RuleAction::Severity(sev) if s.matches(id) => Some((s, sev)),
                _ => None,
            })
            .max_by_key(|(s, _)| (s.exact, s.pattern.len()))
            .map(|(_, sev)| sev)
    }

    /// Why the findings of rule `id` are switched off (`--skip-rule docker/*`), if they
    /// are.
    pub fn off(&self, id: &str) -> Option<String> {
        if !self.only.is_empty() && !self.only.iter().any(|s| s.matches(id)) {
            let pats: Vec<&str> = self.only.iter().map(|s| s.pattern.as_str()).collect();
            return Some(format!("not selected by --only-rule {}", pats.join(", ")));
        }
        // A severity for the exact id wins over a disabling glob (not over an exact
        // `none` or disable).
        let exact = |off: bool| {
            self.selectors
                .iter()
                .any(|s| s.exact && s.matches(id) && (s.action == RuleAction::Off) == off)
        };
        if exact(false) && !exact(true) {
            return None;
        }
        self.selectors
            .iter()
            .find(|s| s.action == RuleAction::Off && s.matches(id))
            .map(|s| format!("{} {}", s.source, s.pattern))
    }

    /// Check every pattern against the rules that exist (`known` ids): a pattern that
    /// selects none (outside the open areas, [`OPEN_AREAS`]) or leaves its area is an
    /// error naming the closest id ("did you mean").
    pub fn check(&self, known: &[&str]) -> Result<(), String> {
        let mut problems = Vec::new();
        for s in self.selectors.iter().chain(&self.only) {
            let area = s.pattern.split_once('/').map_or("", |(a, _)| a);
            if let Some(want) = &s.area {
                if area != want.as_str() {
                    problems.push(format!(
                        "{}: `{}` is not a `{want}/…` rule",
                        s.source, s.pattern
                    ));
                    continue;
                }
            }
            if OPEN_AREAS.contains(&area) && !s.pattern.contains("**") {
                continue;
            }
            if known.iter().any(|id| s.matches(id)) {
                continue;
            }
            let hint = did_you_mean(&s.pattern, known)
                .map(|id| format!(" (did you mean `{id}`?)"))
                .unwrap_or_else(|| " (see `rampart rules list`)".to_string());
            problems.push(format!(
                "{}: `{}` matches no rule{hint}",
                s.source, s.pattern
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }
}

/// The known id closest to `pattern` (globs compared by their text), when close enough
/// to be a typo.
pub fn did_you_mean<'a>(pattern: &str, known: &[&'a str]) -> Option<&'a str> {
    let literal: String = pattern.chars().filter(|c| !"*?[]{}".contains(*c)).collect();
    let (best, dist) = known
        .iter()
        .map(|id| (*id, strsim::levenshtein(&literal, id)))
        .min_by_key(|(_, d)| *d)?;
    (dist <= literal.len().div_ceil(3).max(2)).then_some(best)
}

/// The scanners a full repository scan runs (`rampart scan`), by report name.
pub const REPOSITORY_SCANNERS: [&str; 5] = ["secrets", "deps", "k8s", "iac", "image"];

/// The rule areas whose findings a scanner (a name in a report's `scanners`) can report;
/// `None` for a scanner this table does not know (then every area is assumed).
pub fn scanner_areas(scanner: &str) -> Option<&'static [&'static str]> {
    Some(match scanner {
        "secrets" => &["secret"],
        "deps" => &["vuln", "license"],
        "k8s" => &["k8s", "rbac", "policy"],
        "iac" => &["docker", "terraform", "policy"],
        // `rampart image` lists "secrets" and "vuln" itself when those parts ran.
        "image" => &["image"],
        "vuln" => &["vuln"],
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
    fn selection_globs_none_and_did_you_mean() {
        let mut sel = RuleSelection::new();
        sel.add("docker/apt-*", RuleAction::Off, "disable", None)
            .unwrap();
        sel.add(
            "docker/*",
            RuleAction::Severity(Severity::Low),
            "severity",
            None,
        )
        .unwrap();
        sel.add(
            "docker/missing-user",
            RuleAction::Severity(Severity::Critical),
            "severity",
            None,
        )
        .unwrap();
        assert_eq!(
            sel.severity("docker/missing-user"),
            Some(Severity::Critical)
        );
        assert_eq!(sel.severity("docker/untagged-base"), Some(Severity::Low));
        assert!(sel.off("docker/apt-unpinned").is_some());
        assert!(sel.off("docker/missing-user").is_none());
        let known = ["docker/apt-unpinned", "docker/missing-user", "secret/jwt"];
        assert!(sel.check(&known).is_ok());
        let mut bad = RuleSelection::new();
        bad.add("docker/misin-user", RuleAction::Off, "--skip-rule", None)
            .unwrap();
        let err = bad.check(&known).unwrap_err();
        assert!(err.contains("did you mean `docker/missing-user`"), "{err}");
        let mut only = RuleSelection::new();
        only.add_only("secret/*", "--only-rule").unwrap();
        assert!(only.off("docker/missing-user").is_some());
        assert!(only.off("secret/jwt").is_none());
        let mut area = RuleSelection::new();
        area.add("k8s/x", RuleAction::Off, "docker.disable", Some("docker"))
            .unwrap();
        assert!(area
            .check(&known)
            .unwrap_err()
            .contains("not a `docker/…` rule"));
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
