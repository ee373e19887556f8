//! The one dependency pipeline: inventory (lockfiles, optionally installed metadata) →
//! vulnerabilities (through a [`VulnMatcher`]: the CLI passes the local database) →
//! informational-advisory filter → VEX → licence policy → findings. `rampart deps`,
//! `rampart sbom` and `rampart scan` all go through it; the CLI keeps flags, settings
//! and human output.
//!
//! The matcher is opened only once the inventory is known ([`OpenMatcher`] receives the
//! ecosystems found), and a matcher that cannot be opened is an error in the
//! [`ScanPart`] (packages not checked), never "no findings".

use crate::installed;
use crate::inventory::Inventory;
use crate::scan::{meta_of, MatchOptions, ScanDirError, ScanOutput};
use rampart_core::config::{InformationalKind, LicenseConfig};
use rampart_core::package::{MatchError, OpenMatcher, VulnMatcher};
use rampart_core::walk::{ExcludeMatcher, Tree, WalkOptions};
use rampart_core::{Finding, RuleMeta, ScanPart};
use std::collections::HashSet;
use std::path::Path;

/// What the dependency pipeline does (the CLI fills it from flags and settings).
#[derive(Debug, Clone, Default)]
pub struct DepsOptions {
    /// The walk: gitignore, excludes, file-size limit, threads.
    pub walk: WalkOptions,
    /// Raise the walk's file-size limit to [`crate::lockfile::MAX_LOCKFILE_SIZE`] for
    /// lockfiles (when the user did not set one).
    pub raise_size_limit: bool,
    /// `--ignore-unfixed` and VEX statements.
    pub matching: MatchOptions,
    /// Informational advisory kinds to keep (`vuln.informational`).
    pub informational: Vec<InformationalKind>,
    /// Informational advisory kinds to leave out (`--skip-informational`).
    pub skip_informational: Vec<InformationalKind>,
    /// Licence policy (`license:` in rampart.yaml).
    pub license: LicenseConfig,
}

/// A dependency scan that could not run.
#[derive(Debug, thiserror::Error)]
pub enum DepsError {
    /// The root could not be walked (missing, a bad exclude glob …).
    #[error("cannot scan {path}")]
    Scan {
        /// The root as given.
        path: String,
        /// Why.
        #[source]
        source: ScanDirError,
    },
    /// The licence policy is invalid.
    #[error("license policy in rampart.yaml: {0}")]
    License(crate::license::PolicyError),
    /// The exclude globs are invalid.
    #[error(transparent)]
    Exclude(#[from] rampart_core::Error),
    /// The matcher failed while matching.
    #[error(transparent)]
    Match(#[from] MatchError),
}

/// The lockfiles under `root` (a directory or one lockfile): packages, per-file errors,
/// notes and the count of files read.
pub fn inventory(
    root: &Path,
    walk: &WalkOptions,
    raise_size_limit: bool,
) -> Result<ScanOutput, ScanDirError> {
    let mut walk = walk.clone();
    if raise_size_limit {
        walk.max_file_size = walk.max_file_size.max(crate::lockfile::MAX_LOCKFILE_SIZE);
    }
    crate::scan::scan_dir_detailed(root, &walk)
}

/// Add what installed metadata under `root` knows (node_modules, `*.dist-info`:
/// licences, and packages no lockfile lists), then licences of crates from the cargo
/// registry (`CARGO_HOME`); then drop the packages found under an `exclude` glob (the
/// walker honours `exclude` for lockfiles; installed metadata has its own reader).
pub fn add_installed(
    inv: &mut Inventory,
    root: &Path,
    exclude: &[String],
) -> Result<(), DepsError> {
    if root.is_dir() {
        let found = installed::scan_installed(root, installed::Limits::default());
        installed::merge(inv, found);
    }
    if let Some(home) = installed::cargo_home() {
        installed::fill_from_cargo_registry(inv, &home);
    }
    let matcher = ExcludeMatcher::new(root, exclude)?;
    for l in &mut inv.lockfiles {
        l.packages.retain(|p| {
            p.source
                .as_ref()
                .is_none_or(|s| !matcher.is_excluded(&s.path))
        });
    }
    Ok(())
}

/// The OSV ecosystems of the inventory's packages, sorted, once each.
pub fn ecosystems(inv: &Inventory) -> Vec<String> {
    let mut e: Vec<String> = inv.packages().map(|p| p.ecosystem.clone()).collect();
    e.sort();
    e.dedup();
    e
}

/// Licence-policy findings for an inventory. With `root`, licences missing from the
/// lockfiles are filled in from installed metadata under it and from the cargo
/// registry, and packages found only in installed metadata are checked too, except
/// under `exclude` ([`add_installed`]).
pub fn license_findings(
    inventory: &Inventory,
    root: Option<&Path>,
    policy: &LicenseConfig,
    exclude: &[String],
) -> Result<Vec<Finding>, DepsError> {
    let mut inv = inventory.clone();
    if let Some(root) = root {
        add_installed(&mut inv, root, exclude)?;
    }
    crate::license::checked_findings(&inv, policy).map_err(DepsError::License)
}

/// Drop informational advisories (findings with a `kind` property: `unmaintained` …)
/// whose kind is not in `keep` or is in `skip`. Vulnerabilities are never dropped here,
/// nor a kind Rampart does not know.
pub fn keep_informational(
    found: &mut Vec<Finding>,
    keep: &[InformationalKind],
    skip: &[InformationalKind],
) {
    found.retain(|f| {
        let Some(kind) = f.properties.get("kind").and_then(|k| k.as_str()) else {
            return true;
        };
        let listed = |l: &[InformationalKind]| l.iter().any(|k| k.as_str() == kind);
        let known = InformationalKind::ALL.iter().any(|k| k.as_str() == kind);
        !known || (listed(keep) && !listed(skip))
    });
}

/// Vulnerability findings of an inventory: matched, informational kinds filtered, VEX
/// applied.
pub fn vuln_findings(
    matcher: &dyn VulnMatcher,
    inv: &Inventory,
    opts: &DepsOptions,
) -> Result<Vec<Finding>, DepsError> {
    let mut found = crate::scan::findings(matcher, inv, &opts.matching)?;
    keep_informational(&mut found, &opts.informational, &opts.skip_informational);
    Ok(found)
}

/// Rule metadata for pipeline findings: the licence rules, then one entry per other
/// rule in `found` (vulnerabilities carry their own title, severity and references).
pub fn metas(found: &[Finding]) -> Vec<RuleMeta> {
    let mut metas = crate::license::metas();
    let mut seen: HashSet<String> = metas.iter().map(|m| m.id.clone()).collect();
    let mut extra = Vec::new();
    for f in found {
        if seen.insert(f.rule_id.clone()) {
            extra.push(meta_of(f));
        }
    }
    metas.extend(extra);
    metas
}

/// The findings of an inventory: licences (with installed metadata under `root`, when
/// given), and, when it has packages, vulnerabilities from the matcher `open` returns
/// for its ecosystems. A matcher that cannot be opened is one more error of the part.
pub fn part_of(
    inv: &Inventory,
    root: Option<&Path>,
    opts: &DepsOptions,
    open: &OpenMatcher<'_>,
) -> Result<ScanPart, DepsError> {
    let mut errors = inv.errors.clone();
    let licences = license_findings(inv, root, &opts.license, &opts.walk.exclude)?;
    if inv.packages().next().is_none() {
        // Nothing to match: no matcher needed, nothing left unchecked.
        return Ok(ScanPart {
            scanner: "deps",
            metas: metas(&licences),
            findings: licences,
            errors,
        });
    }
    let matcher = match open(&ecosystems(inv)) {
        Ok(m) => m,
        Err(e) => {
            errors.push(e);
            return Ok(ScanPart {
                scanner: "deps",
                metas: metas(&licences),
                findings: licences,
                errors,
            });
        }
    };
    let mut found = vuln_findings(&*matcher, inv, opts)?;
    found.extend(licences);
    Ok(ScanPart {
        scanner: "deps",
        metas: metas(&found),
        findings: found,
        errors,
    })
}

/// The dependency scan of `root` (a directory or one lockfile) for a combined report:
/// [`inventory`], then [`part_of`] with installed metadata under `root`.
pub fn scan(
    root: &Path,
    opts: &DepsOptions,
    open: &OpenMatcher<'_>,
) -> Result<ScanPart, DepsError> {
    let out =
        inventory(root, &opts.walk, opts.raise_size_limit).map_err(|source| DepsError::Scan {
            path: root.display().to_string(),
            source,
        })?;
    part_of(&out.inventory, Some(root), opts, open)
}

/// As [`scan`], on a tree already walked (the one walk of `rampart scan`): its lockfiles
/// are read from the tree's entries (outside `node_modules`, `vendor`, `.git`).
pub fn scan_tree(
    tree: &Tree,
    opts: &DepsOptions,
    open: &OpenMatcher<'_>,
) -> Result<ScanPart, DepsError> {
    let mut limit = tree.options().max_file_size;
    if opts.raise_size_limit {
        limit = limit.max(crate::lockfile::MAX_LOCKFILE_SIZE);
    }
    let out = crate::scan::scan_tree(tree, limit);
    part_of(&out.inventory, Some(tree.root()), opts, open)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_core::package::{Package, VulnHit};
    use rampart_core::{Location, ScanError, Severity};
    use std::cell::Cell;

    /// A matcher that knows one advisory per package name listed, with or without a
    /// fix, and can be told to answer for fewer packages than asked.
    struct Fake {
        vulns: Vec<(&'static str, &'static str, bool)>,
        short: bool,
    }

    impl VulnMatcher for Fake {
        fn match_packages(&self, packages: &[Package]) -> Result<Vec<Vec<VulnHit>>, MatchError> {
            let take = if self.short {
                packages.len() / 2
            } else {
                packages.len()
            };
            Ok(packages[..take]
                .iter()
                .map(|p| {
                    self.vulns
                        .iter()
                        .filter(|(name, _, _)| *name == p.name)
                        .map(|(_, id, fixed)| {
                            let meta = RuleMeta {
                                id: format!("vuln/{id}"),
                                area: "vuln".into(),
                                title: format!("{id} title"),
                                severity: Severity::High,
                                description: String::new(),
                                remediation: String::new(),
                                references: Vec::new(),
                                peers: Vec::new(),
                                tags: Vec::new(),
                            };
                            let location = Location::Package {
                                ecosystem: p.ecosystem.clone(),
                                name: p.name.clone(),
                                version: p.version.clone(),
                                found_in: p.found_in().map(str::to_string),
                                span: None,
                            };
                            VulnHit {
                                finding: Finding::new(
                                    &meta,
                                    format!("{} is affected by {id}", p.name),
                                    location,
                                    format!("fp-{id}-{}", p.name),
                                ),
                                ids: vec![id.to_string(), format!("CVE-{id}")],
                                has_fix: *fixed,
                            }
                        })
                        .collect()
                })
                .collect())
        }
    }

    fn project(requirements: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("requirements.txt"), requirements).unwrap();
        dir
    }

    fn fake(short: bool) -> Fake {
        Fake {
            vulns: vec![("alpha", "V-1", true), ("beta", "V-2", false)],
            short,
        }
    }

    fn rules(part: &ScanPart) -> Vec<&str> {
        part.findings.iter().map(|f| f.rule_id.as_str()).collect()
    }

    #[test]
    fn vulnerabilities_come_from_the_matcher_opened_for_the_ecosystems_found() {
        let dir = project("alpha==1.0\nbeta==2.0\n");
        let asked = std::cell::RefCell::new(Vec::new());
        let open = |e: &[String]| -> Result<Box<dyn VulnMatcher>, ScanError> {
            asked.borrow_mut().extend(e.iter().cloned());
            Ok(Box::new(fake(false)))
        };
        let part = scan(dir.path(), &DepsOptions::default(), &open).unwrap();
        assert_eq!(*asked.borrow(), vec!["PyPI".to_string()]);
        assert_eq!(rules(&part), ["vuln/V-1", "vuln/V-2"]);
        assert!(part.errors.is_empty(), "{:?}", part.errors);
        let f = &part.findings[0];
        assert_eq!(f.properties["lockfile"], "requirements.txt");
        assert_eq!(f.properties["line"], 1);
        assert!(part.metas.iter().any(|m| m.id == "vuln/V-2"));
        assert!(part.metas.iter().any(|m| m.id.starts_with("license/")));
    }

    #[test]
    fn a_matcher_answering_for_fewer_packages_is_an_error_not_fewer_findings() {
        let dir = project("alpha==1.0\nbeta==2.0\n");
        let open =
            |_: &[String]| -> Result<Box<dyn VulnMatcher>, ScanError> { Ok(Box::new(fake(true))) };
        let err = scan(dir.path(), &DepsOptions::default(), &open).unwrap_err();
        assert!(
            err.to_string().contains("answered for 1 of 2 packages"),
            "{err}"
        );
    }

    #[test]
    fn a_matcher_that_cannot_open_is_an_error_of_the_part() {
        let dir = project("alpha==1.0\n");
        let open = |_: &[String]| -> Result<Box<dyn VulnMatcher>, ScanError> {
            Err(ScanError {
                path: "db".into(),
                line: None,
                message: "not checked: no database".into(),
            })
        };
        let part = scan(dir.path(), &DepsOptions::default(), &open).unwrap();
        assert_eq!(part.errors.len(), 1);
        assert_eq!(part.errors[0].message, "not checked: no database");
        assert!(rules(&part).iter().all(|r| !r.starts_with("vuln/")));
    }

    #[test]
    fn no_packages_opens_no_matcher() {
        let dir = project("# nothing pinned\n");
        let opened = Cell::new(false);
        let open = |_: &[String]| -> Result<Box<dyn VulnMatcher>, ScanError> {
            opened.set(true);
            Ok(Box::new(fake(false)))
        };
        let part = scan(dir.path(), &DepsOptions::default(), &open).unwrap();
        assert!(!opened.get());
        assert!(part.errors.is_empty() && part.findings.is_empty());
    }

    #[test]
    fn ignore_unfixed_and_vex_by_alias() {
        let dir = project("alpha==1.0\nbeta==2.0\n");
        let open =
            |_: &[String]| -> Result<Box<dyn VulnMatcher>, ScanError> { Ok(Box::new(fake(false))) };
        let mut opts = DepsOptions::default();
        opts.matching.ignore_unfixed = true;
        let part = scan(dir.path(), &opts, &open).unwrap();
        assert_eq!(rules(&part), ["vuln/V-1"]);

        let vex = r#"{"@context": "https://openvex.dev/ns/v0.2.0", "@id": "x",
            "author": "a", "timestamp": "2024-01-01T00:00:00Z", "version": 1,
            "statements": [{"vulnerability": {"name": "CVE-V-1"},
                            "status": "not_affected",
                            "justification": "vulnerable_code_not_present"}]}"#;
        opts.matching.ignore_unfixed = false;
        opts.matching.vex = crate::vex::parse(vex, "app.openvex.json").unwrap();
        let part = scan(dir.path(), &opts, &open).unwrap();
        assert_eq!(rules(&part), ["vuln/V-1", "vuln/V-2"]);
        assert!(part.findings[0].suppression.is_some());
        assert!(part.findings[1].suppression.is_none());
    }

    #[test]
    fn a_shared_tree_gives_the_same_part_as_a_walk_of_its_own() {
        let dir = project("alpha==1.0\nbeta==2.0\n");
        for sub in ["node_modules/x", "vendor", "app"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
            std::fs::write(dir.path().join(sub).join("requirements.txt"), "alpha==3\n").unwrap();
        }
        // Over the limit, but in a directory the dependency scan never reads.
        std::fs::write(
            dir.path().join("node_modules/x/package-lock.json"),
            "x".repeat(64),
        )
        .unwrap();
        let open =
            |_: &[String]| -> Result<Box<dyn VulnMatcher>, ScanError> { Ok(Box::new(fake(false))) };
        let opts = DepsOptions {
            walk: WalkOptions {
                max_file_size: 32,
                ..WalkOptions::default()
            },
            ..DepsOptions::default()
        };
        let own = scan(dir.path(), &opts, &open).unwrap();
        let tree = Tree::collect(dir.path(), &opts.walk).unwrap();
        let shared = scan_tree(&tree, &opts, &open).unwrap();
        let files = |p: &ScanPart| -> Vec<String> {
            p.findings
                .iter()
                .map(|f| format!("{} {}", f.rule_id, f.properties["lockfile"]))
                .collect()
        };
        assert_eq!(
            files(&own),
            [
                "vuln/V-1 \"app/requirements.txt\"",
                "vuln/V-1 \"requirements.txt\"",
                "vuln/V-2 \"requirements.txt\""
            ]
        );
        assert_eq!(files(&own), files(&shared));
        assert!(own.errors.is_empty(), "{:?}", own.errors);
        assert!(shared.errors.is_empty(), "{:?}", shared.errors);
    }
}
