//! The licence policy (`license:` in `rampart.yaml`) and the findings it produces.

use super::category::{category_of, Category};
use super::parse::{parse, Parsed};
use crate::inventory::{Inventory, Package};
use rampart_core::config::LicenseConfig;
use rampart_core::fingerprint::fingerprint;
use rampart_core::{Finding, Location, RuleMeta, Severity, Span};
use spdx::expression::{ExprNode, Operator};
use spdx::{LicenseItem, LicenseReq};
use std::collections::BTreeSet;
use std::str::FromStr;

/// `license/denied`.
pub const DENIED: &str = "license/denied";
/// `license/unknown`.
pub const UNKNOWN: &str = "license/unknown";
/// `license/missing`.
pub const MISSING: &str = "license/missing";

/// An invalid `license:` section.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// A `deny_categories` entry that is not a category.
    #[error("license.deny_categories: unknown category `{0}` (expected permissive, weak-copyleft, strong-copyleft, network-copyleft, proprietary or unclassified)")]
    Category(String),
    /// `unknown:` / `missing:` that is neither a severity nor `off`.
    #[error(
        "license.{field}: `{value}` is not a severity (critical|high|medium|low|info) or `off`"
    )]
    Severity {
        /// Which field.
        field: &'static str,
        /// The value.
        value: String,
    },
}

/// A compiled licence policy.
#[derive(Debug, Clone)]
pub struct Policy {
    allow: Vec<String>,
    deny: Vec<String>,
    deny_categories: BTreeSet<Category>,
    denied_severity: Severity,
    unknown: Option<Severity>,
    missing: Option<Severity>,
    exceptions: Vec<(String, Vec<String>)>,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            allow: Vec::new(),
            deny: Vec::new(),
            deny_categories: [Category::StrongCopyleft, Category::NetworkCopyleft].into(),
            denied_severity: Severity::High,
            unknown: Some(Severity::Low),
            missing: None,
            exceptions: Vec::new(),
        }
    }
}

fn sev_or_off(
    field: &'static str,
    v: &Option<String>,
    default: Option<Severity>,
) -> Result<Option<Severity>, PolicyError> {
    match v.as_deref().map(str::trim) {
        None => Ok(default),
        Some(s) if s.eq_ignore_ascii_case("off") || s.eq_ignore_ascii_case("none") => Ok(None),
        Some(s) => Severity::from_str(&s.to_ascii_lowercase())
            .map(Some)
            .map_err(|_| PolicyError::Severity {
                field,
                value: s.to_string(),
            }),
    }
}

impl Policy {
    /// Compile the `license:` section; an absent section gives [`Policy::default`]
    /// (deny strong and network copyleft, unknown licences `low`, missing ones off).
    pub fn from_config(cfg: &LicenseConfig) -> Result<Policy, PolicyError> {
        let d = Policy::default();
        let deny_categories = match &cfg.deny_categories {
            None => d.deny_categories,
            Some(list) => list
                .iter()
                .map(|c| Category::from_name(c).ok_or_else(|| PolicyError::Category(c.clone())))
                .collect::<Result<_, _>>()?,
        };
        Ok(Policy {
            allow: cfg.allow.iter().map(|s| norm(s)).collect(),
            deny: cfg.deny.iter().map(|s| norm(s)).collect(),
            deny_categories,
            denied_severity: cfg.severity.unwrap_or(d.denied_severity),
            unknown: sev_or_off("unknown", &cfg.unknown, d.unknown)?,
            missing: sev_or_off("missing", &cfg.missing, d.missing)?,
            exceptions: cfg
                .exceptions
                .iter()
                .map(|e| {
                    (
                        e.package.trim().to_string(),
                        e.licenses.iter().map(|s| norm(s)).collect(),
                    )
                })
                .collect(),
        })
    }

    /// The exception entries that apply to a package: `None` if none, `Some(empty)` when
    /// the package is exempt altogether.
    fn exception_for(&self, p: &Package) -> Option<Vec<String>> {
        let cands = [
            p.name.clone(),
            p.key(),
            format!("{}/{}", p.ecosystem, p.name),
            format!("{}/{}@{}", p.ecosystem, p.name, p.version),
        ];
        let mut out: Option<Vec<String>> = None;
        for (pat, lics) in &self.exceptions {
            if cands.iter().any(|c| c.eq_ignore_ascii_case(pat)) {
                let v = out.get_or_insert_with(Vec::new);
                if lics.is_empty() {
                    return Some(Vec::new());
                }
                v.extend(lics.iter().cloned());
            }
        }
        out
    }

    /// Evaluate one licence term.
    fn term(&self, req: &LicenseReq, extra_allow: &[String]) -> Verdict {
        let full = norm(&req.to_string());
        let id = norm(&req.license.to_string());
        let names = variants(&id);
        let matches = |list: &[String]| {
            list.iter().any(|m| {
                if m.contains(" with ") {
                    *m == full
                } else {
                    names.iter().any(|n| n == m)
                }
            })
        };
        let shown = req.to_string();
        if matches(extra_allow) {
            return Verdict::Allowed;
        }
        let exact_allow = self.allow.contains(&full);
        if !exact_allow && matches(&self.deny) {
            return Verdict::Denied(vec![format!("{shown} is in license.deny")]);
        }
        if exact_allow || matches(&self.allow) {
            return Verdict::Allowed;
        }
        let cat = category_of(req);
        if self.deny_categories.contains(&cat) {
            return Verdict::Denied(vec![format!(
                "{shown} is {} (license.deny_categories)",
                cat.as_str()
            )]);
        }
        if !self.allow.is_empty() {
            return Verdict::Denied(vec![format!("{shown} is not in license.allow")]);
        }
        if cat == Category::Unclassified && matches!(req.license, LicenseItem::Other(_)) {
            return Verdict::Unknown(vec![format!("{shown} is not an SPDX licence")]);
        }
        Verdict::Allowed
    }

    /// Evaluate a parsed SPDX expression: `OR` needs one allowed branch, `AND` needs all.
    pub fn evaluate(&self, expr: &spdx::Expression) -> Verdict {
        self.evaluate_with(expr, &[])
    }

    fn evaluate_with(&self, expr: &spdx::Expression, extra_allow: &[String]) -> Verdict {
        let mut stack: Vec<Verdict> = Vec::new();
        for node in expr.iter() {
            match node {
                ExprNode::Req(r) => stack.push(self.term(&r.req, extra_allow)),
                ExprNode::Op(op) => {
                    let (Some(b), Some(a)) = (stack.pop(), stack.pop()) else {
                        return Verdict::Unknown(vec![format!("malformed expression {expr}")]);
                    };
                    stack.push(match op {
                        Operator::Or => Verdict::or(a, b),
                        Operator::And => Verdict::and(a, b),
                    });
                }
            }
        }
        match stack.pop() {
            Some(v) if stack.is_empty() => v,
            _ => Verdict::Unknown(vec![format!("malformed expression {expr}")]),
        }
    }

    /// Evaluate licence text as declared (parsed leniently).
    pub fn evaluate_text(&self, text: &str) -> Verdict {
        match parse(text) {
            Parsed::Spdx { expression, .. } => self.evaluate(&expression),
            Parsed::Unknown(t) => Verdict::Unknown(vec![format!(
                "`{t}` is not an SPDX expression or a known licence name"
            )]),
            Parsed::Missing => Verdict::Missing,
        }
    }
}

/// Lower-case, single-spaced.
fn norm(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_lowercase()
}

/// `gpl-3.0-only` → [`gpl-3.0-only`, `gpl-3.0`]; `gpl-2.0+` → [`gpl-2.0+`, `gpl-2.0`].
fn variants(id: &str) -> Vec<String> {
    let mut v = vec![id.to_string()];
    for suf in ["-only", "-or-later", "+"] {
        if let Some(b) = id.strip_suffix(suf) {
            v.push(b.to_string());
        }
    }
    v
}

/// The result of evaluating a licence against the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Acceptable.
    Allowed,
    /// Not acceptable; why.
    Denied(Vec<String>),
    /// Cannot be evaluated (unrecognised licence); why.
    Unknown(Vec<String>),
    /// No licence declared.
    Missing,
}

impl Verdict {
    fn reasons(self) -> Vec<String> {
        match self {
            Verdict::Denied(r) | Verdict::Unknown(r) => r,
            _ => Vec::new(),
        }
    }

    fn or(a: Verdict, b: Verdict) -> Verdict {
        match (a, b) {
            (Verdict::Allowed, _) | (_, Verdict::Allowed) => Verdict::Allowed,
            (a @ Verdict::Unknown(_), b) | (b, a @ Verdict::Unknown(_)) => {
                let mut r = a.reasons();
                if let Verdict::Unknown(more) = b {
                    r.extend(more);
                }
                Verdict::Unknown(r)
            }
            (a, b) => {
                let mut r = a.reasons();
                r.extend(b.reasons());
                Verdict::Denied(r)
            }
        }
    }

    fn and(a: Verdict, b: Verdict) -> Verdict {
        match (a, b) {
            (a @ Verdict::Denied(_), b) | (b, a @ Verdict::Denied(_)) => {
                let mut r = a.reasons();
                if let Verdict::Denied(more) = b {
                    r.extend(more);
                }
                Verdict::Denied(r)
            }
            (a @ Verdict::Unknown(_), b) | (b, a @ Verdict::Unknown(_)) => {
                let mut r = a.reasons();
                r.extend(b.reasons());
                Verdict::Unknown(r)
            }
            (Verdict::Missing, x) | (x, Verdict::Missing) => x,
            _ => Verdict::Allowed,
        }
    }
}

/// Rule metadata for `rampart rules list/explain`.
pub fn metas() -> Vec<RuleMeta> {
    let m = |id: &str, severity, title: &str, description: &str, remediation: &str| RuleMeta {
        id: id.into(),
        area: "license".into(),
        title: title.into(),
        severity,
        description: description.into(),
        remediation: remediation.into(),
        references: vec![
            "https://spdx.org/licenses/".into(),
            "https://spdx.github.io/spdx-spec/v2.3/SPDX-license-expressions/".into(),
        ],
        peers: vec!["trivy:license".into()],
        tags: vec!["license".into(), "sca".into()],
    };
    vec![
        m(
            DENIED,
            Severity::High,
            "Dependency licence not allowed by the licence policy",
            "A dependency's declared licence (an SPDX expression) is not acceptable under the \
             `license:` policy in `rampart.yaml`: it is in `deny`, its category is in \
             `deny_categories` (default: strong and network copyleft), or `allow` is set and \
             it is not listed. For `A OR B` one acceptable branch suffices; for `A AND B` both \
             must be acceptable.",
            "Replace the dependency with one under an acceptable licence, obtain a different \
             licence from its authors, or, after legal review, add it to \
             `license.exceptions` (with the licences accepted for it) or to `license.allow`.",
        ),
        m(
            UNKNOWN,
            Severity::Low,
            "Dependency licence not recognised",
            "The licence a dependency declares is neither a valid SPDX expression nor a \
             licence name Rampart recognises (e.g. `SEE LICENSE IN LICENSE.txt`, a custom \
             `LicenseRef-`), so the licence policy cannot be applied to it.",
            "Read the package's licence and, if acceptable, add it to `license.exceptions` \
             (`package:` with the accepted licence), or list the `LicenseRef-` in \
             `license.allow`. `license.unknown: off` turns this rule off.",
        ),
        m(
            MISSING,
            Severity::Info,
            "Dependency declares no licence",
            "No licence is declared for the dependency in the lockfile, installed metadata or \
             SBOM. Off by default (most lockfiles carry no licence data); turn it on with \
             `license.missing: low` when installed metadata (node_modules, site-packages) is \
             scanned.",
            "Check the package's source for its licence and record it in \
             `license.exceptions`, or install the dependencies so their metadata is read.",
        ),
    ]
}

/// Licence findings for every package of an inventory (one per package and lockfile).
/// The declared licences of a package (its `licenses` entries) all apply (`AND`). An
/// invalid policy falls back to [`Policy::default`]; use [`checked_findings`] to get the
/// error instead.
pub fn license_findings(inv: &Inventory, policy: &LicenseConfig) -> Vec<Finding> {
    match Policy::from_config(policy) {
        Ok(p) => findings_with(inv, &p),
        Err(_) => findings_with(inv, &Policy::default()),
    }
}

/// As [`license_findings`], but an invalid `license:` section is an error instead of
/// falling back to the default policy. What `rampart deps` / `rampart scan` call.
pub fn checked_findings(
    inv: &Inventory,
    policy: &LicenseConfig,
) -> Result<Vec<Finding>, PolicyError> {
    Ok(findings_with(inv, &Policy::from_config(policy)?))
}

impl Policy {
    /// Licence findings for every package of an inventory.
    pub fn findings(&self, inv: &Inventory) -> Vec<Finding> {
        findings_with(inv, self)
    }
}

fn findings_with(inv: &Inventory, policy: &Policy) -> Vec<Finding> {
    let metas = metas();
    let meta = |id: &str| metas.iter().find(|m| m.id == id);
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for p in inv.packages() {
        let found_in = p.source.as_ref().map(|s| s.path.clone());
        if !seen.insert((
            p.ecosystem.clone(),
            p.name.clone(),
            p.version.clone(),
            found_in.clone(),
        )) {
            continue;
        }
        let extra = match policy.exception_for(p) {
            Some(v) if v.is_empty() => continue,
            Some(v) => v,
            None => Vec::new(),
        };
        let mut verdict = Verdict::Missing;
        let mut shown = Vec::new();
        for text in &p.licenses {
            let v = match parse(text) {
                Parsed::Spdx {
                    expression,
                    canonical,
                } => {
                    shown.push(canonical);
                    policy.evaluate_with(&expression, &extra)
                }
                Parsed::Unknown(t) => {
                    let allowed = extra.contains(&norm(&t)) || policy.allow.contains(&norm(&t));
                    shown.push(t.clone());
                    if allowed {
                        Verdict::Allowed
                    } else {
                        Verdict::Unknown(vec![format!(
                            "`{t}` is not an SPDX expression or a known licence name"
                        )])
                    }
                }
                Parsed::Missing => Verdict::Missing,
            };
            verdict = Verdict::and(verdict, v);
        }
        let licence = if shown.is_empty() {
            "(none)".to_string()
        } else {
            shown.join(" AND ")
        };
        let (rule, severity, message) = match verdict {
            Verdict::Allowed => continue,
            Verdict::Denied(r) => (
                DENIED,
                policy.denied_severity,
                format!(
                    "{}@{} ({}) is licensed `{licence}`, not allowed: {}",
                    p.name,
                    p.version,
                    p.ecosystem,
                    r.join("; ")
                ),
            ),
            Verdict::Unknown(r) => match policy.unknown {
                Some(s) => (
                    UNKNOWN,
                    s,
                    format!(
                        "{}@{} ({}) declares licence `{licence}`, which cannot be checked: {}",
                        p.name,
                        p.version,
                        p.ecosystem,
                        r.join("; ")
                    ),
                ),
                None => continue,
            },
            Verdict::Missing => match policy.missing {
                Some(s) => (
                    MISSING,
                    s,
                    format!(
                        "{}@{} ({}) declares no licence",
                        p.name, p.version, p.ecosystem
                    ),
                ),
                None => continue,
            },
        };
        let Some(m) = meta(rule) else { continue };
        let location = Location::Package {
            ecosystem: p.ecosystem.clone(),
            name: p.name.clone(),
            version: p.version.clone(),
            found_in: found_in.clone(),
            span: p.source.as_ref().and_then(|s| s.line).map(Span::line),
        };
        let fp = fingerprint(&[
            rule,
            &p.ecosystem,
            &p.name,
            &licence,
            found_in.as_deref().unwrap_or(""),
        ]);
        let mut f = Finding::new(m, message, location, fp);
        f.severity = severity;
        f.properties
            .insert("license".into(), serde_json::Value::String(licence));
        if p.dev {
            f.properties
                .insert("dev".into(), serde_json::Value::Bool(true));
        }
        out.push(f);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{Lockfile, SourceRef};
    use rampart_core::config::{Config, LicenseException};
    use std::path::Path;

    fn policy(yaml: &str) -> Policy {
        let cfg = Config::parse(yaml, Path::new("rampart.yaml")).unwrap();
        Policy::from_config(&cfg.license).unwrap()
    }

    fn allowed(p: &Policy, e: &str) -> bool {
        p.evaluate_text(e) == Verdict::Allowed
    }

    #[test]
    fn or_needs_one_branch_and_needs_all() {
        let p = policy("license:\n  deny: [GPL-3.0]\n  deny_categories: []\n");
        assert!(allowed(&p, "MIT"));
        assert!(allowed(&p, "MIT OR GPL-3.0-only"));
        assert!(allowed(&p, "GPL-3.0-only OR MIT"));
        assert!(!allowed(&p, "MIT AND GPL-3.0-only"));
        assert!(!allowed(&p, "GPL-3.0-or-later"));
        assert!(!allowed(&p, "GPL-3.0+"));
        assert!(allowed(&p, "GPL-2.0-only"));
        assert!(allowed(&p, "(MIT AND GPL-3.0-only) OR Apache-2.0"));
        assert!(!allowed(&p, "(MIT OR GPL-3.0-only) AND GPL-3.0-only"));
        match p.evaluate_text("MIT AND GPL-3.0-only") {
            Verdict::Denied(r) => {
                assert!(r[0].contains("GPL-3.0-only is in license.deny"), "{r:?}")
            }
            v => panic!("{v:?}"),
        }
    }

    #[test]
    fn allow_list_and_with_exceptions() {
        let p = policy(
            "license:\n  allow: [MIT, Apache-2.0, 'GPL-2.0-only WITH Classpath-exception-2.0']\n",
        );
        assert!(allowed(&p, "MIT"));
        assert!(allowed(&p, "Apache-2.0 OR BSD-3-Clause"));
        assert!(!allowed(&p, "BSD-3-Clause"));
        assert!(allowed(&p, "GPL-2.0-only WITH Classpath-exception-2.0"));
        assert!(!allowed(&p, "GPL-2.0-only"));
        assert!(!allowed(&p, "GPL-2.0-only WITH GCC-exception-2.0"));
        // Allow beats a denied category.
        let p = policy("license:\n  allow: [GPL-3.0-only]\n");
        assert!(allowed(&p, "GPL-3.0-only"));
        assert!(!allowed(&p, "AGPL-3.0-only"));
    }

    #[test]
    fn default_denies_strong_and_network_copyleft() {
        let p = Policy::default();
        assert!(allowed(&p, "MIT"));
        assert!(allowed(&p, "LGPL-2.1-only"));
        assert!(allowed(&p, "MPL-2.0"));
        assert!(allowed(&p, "GPL-2.0-only WITH Classpath-exception-2.0"));
        assert!(!allowed(&p, "GPL-2.0-only"));
        assert!(!allowed(&p, "AGPL-3.0-or-later"));
        assert!(allowed(&p, "MIT OR GPL-3.0-only"));
        assert!(!allowed(&p, "MIT AND AGPL-3.0-only"));
        assert!(allowed(&p, "BUSL-1.1"));
        let p = policy("license:\n  deny_categories: [proprietary, weak-copyleft]\n");
        assert!(!allowed(&p, "BUSL-1.1"));
        assert!(!allowed(&p, "MPL-2.0"));
        assert!(allowed(&p, "GPL-3.0-only"));
    }

    #[test]
    fn unknown_terms() {
        let p = Policy::default();
        assert!(matches!(
            p.evaluate_text("LicenseRef-acme"),
            Verdict::Unknown(_)
        ));
        assert!(matches!(
            p.evaluate_text("My Custom Licence"),
            Verdict::Unknown(_)
        ));
        assert_eq!(p.evaluate_text(""), Verdict::Missing);
        // OR with an allowed branch is allowed; AND with a denied one is denied.
        assert!(allowed(&p, "LicenseRef-acme OR MIT"));
        assert!(matches!(
            p.evaluate_text("LicenseRef-acme AND GPL-3.0-only"),
            Verdict::Denied(_)
        ));
        assert!(matches!(
            p.evaluate_text("LicenseRef-acme AND MIT"),
            Verdict::Unknown(_)
        ));
        assert!(matches!(
            p.evaluate_text("LicenseRef-acme OR GPL-3.0-only"),
            Verdict::Unknown(_)
        ));
        let p = policy("license:\n  allow: [LicenseRef-acme, MIT]\n");
        assert!(allowed(&p, "LicenseRef-acme"));
    }

    #[test]
    fn bad_config_is_an_error() {
        let cfg = Config::parse(
            "license:\n  deny_categories: [copyleft-ish]\n",
            Path::new("r.yaml"),
        )
        .unwrap();
        assert!(Policy::from_config(&cfg.license)
            .unwrap_err()
            .to_string()
            .contains("copyleft-ish"));
        let cfg = Config::parse("license:\n  unknown: loud\n", Path::new("r.yaml")).unwrap();
        assert!(Policy::from_config(&cfg.license).is_err());
        assert!(Config::parse("license:\n  alow: [MIT]\n", Path::new("r.yaml")).is_err());
    }

    fn inv(pkgs: Vec<Package>) -> Inventory {
        Inventory {
            lockfiles: vec![Lockfile {
                path: "package-lock.json".into(),
                kind: "npm".into(),
                packages: pkgs,
            }],
            errors: vec![],
        }
    }

    fn pkg(name: &str, lic: &[&str]) -> Package {
        let mut p = Package::new("npm", name, "1.0.0");
        p.licenses = lic.iter().map(|s| s.to_string()).collect();
        p.source = Some(SourceRef {
            path: "package-lock.json".into(),
            line: Some(7),
        });
        p
    }

    #[test]
    fn findings_for_inventory() {
        let i = inv(vec![
            pkg("ok", &["MIT"]),
            pkg("dual", &["MIT OR GPL-3.0-only"]),
            pkg("gpl", &["GPL-3.0-only"]),
            pkg("both", &["MIT", "AGPL-3.0-only"]),
            pkg("weird", &["SEE LICENSE IN LICENSE"]),
            pkg("none", &[]),
            pkg("exempt", &["GPL-2.0-only"]),
            pkg("partly", &["GPL-2.0-only"]),
        ]);
        let mut cfg = LicenseConfig {
            exceptions: vec![
                LicenseException {
                    package: "npm/exempt".into(),
                    licenses: vec![],
                    reason: None,
                },
                LicenseException {
                    package: "partly@1.0.0".into(),
                    licenses: vec!["GPL-2.0-only".into()],
                    reason: Some("legal ok".into()),
                },
            ],
            ..LicenseConfig::default()
        };
        let f = license_findings(&i, &cfg);
        let got: Vec<(String, String)> = f
            .iter()
            .map(|f| (f.rule_id.clone(), f.location.display()))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    DENIED.to_string(),
                    "npm/gpl@1.0.0 (package-lock.json:7)".to_string()
                ),
                (
                    DENIED.to_string(),
                    "npm/both@1.0.0 (package-lock.json:7)".to_string()
                ),
                (
                    UNKNOWN.to_string(),
                    "npm/weird@1.0.0 (package-lock.json:7)".to_string()
                ),
            ]
        );
        assert!(
            f[0].message.contains("GPL-3.0-only is strong-copyleft"),
            "{}",
            f[0].message
        );
        assert_eq!(f[0].severity, Severity::High);
        assert!(
            f[1].message.contains("AGPL-3.0-only is network-copyleft"),
            "{}",
            f[1].message
        );
        assert_eq!(f[2].severity, Severity::Low);
        cfg.missing = Some("medium".into());
        cfg.unknown = Some("off".into());
        let f = license_findings(&i, &cfg);
        assert!(f
            .iter()
            .any(|f| f.rule_id == MISSING && f.message.contains("none@1.0.0")));
        assert!(!f.iter().any(|f| f.rule_id == UNKNOWN));
        for m in metas() {
            assert!(m.problems().is_empty(), "{:?}", m.problems());
        }
    }
}
