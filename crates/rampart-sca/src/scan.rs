//! Find and parse every lockfile under a directory: the core walker (gitignore-aware,
//! parallel, no symlinks) reads only files whose name is a lockfile name, skipping
//! `node_modules`, `vendor` and `.git` directories; each file is parsed on the walker's
//! threads. A file that cannot be parsed becomes a [`ScanError`] with its line and the
//! rest continues.
//!
//! Side files a lockfile names (`package.json` beside it, `-r`/`-c` includes of a
//! requirements file …) are read only inside the scanned root: the name is resolved
//! with every symlink followed (`canonicalize`) and the result must lie under the
//! canonical root, so an absolute path, a `..` that climbs out, or a symlink whose
//! target is outside the root is refused. A refusal is an error of the lockfile in the
//! inventory (its packages from that file were not checked); the refused file is never
//! opened, so nothing of it can reach the log.

use crate::inventory::{Inventory, Lockfile};
use crate::lockfile::{self, Kind};
use rampart_core::package::{MatchError, VulnHit, VulnMatcher};
use rampart_core::walk::{Tree, WalkOptions};
use rampart_core::ScanError;
use std::cell::RefCell;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Directories never searched for lockfiles (installed copies, not the project's).
pub const SKIPPED_DIRS: [&str; 3] = ["node_modules", "vendor", ".git"];

/// Largest file read through a lockfile's sibling reader (`package.json`, includes …).
const MAX_SIBLING: u64 = 16 * 1024 * 1024;

/// A scan that could not start (the root does not exist, a bad exclude glob …).
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct ScanDirError(#[from] rampart_core::Error);

/// Everything a directory scan produced.
#[derive(Debug, Default)]
pub struct ScanOutput {
    /// Lockfiles (sorted by path) and per-file errors.
    pub inventory: Inventory,
    /// Remarks that are not errors (unpinned requirements, replaced Go modules …).
    pub notes: Vec<ScanError>,
    /// Lockfiles read.
    pub files_scanned: u64,
}

/// Scan `root` (a directory or one lockfile) into an [`Inventory`].
pub fn scan_dir(root: &Path, opts: &WalkOptions) -> Result<Inventory, ScanDirError> {
    Ok(scan_dir_detailed(root, opts)?.inventory)
}

/// As [`scan_dir`], with notes and counts.
pub fn scan_dir_detailed(root: &Path, opts: &WalkOptions) -> Result<ScanOutput, ScanDirError> {
    let mut opts = opts.clone();
    for d in SKIPPED_DIRS {
        opts.exclude.push(format!("{d}/"));
    }
    let tree = Tree::collect(root, &opts)?;
    Ok(scan_tree(&tree, opts.max_file_size))
}

/// The lockfiles of a tree already walked (the one walk of `rampart scan`), read with
/// `max_file_size` as the per-file limit. Files under [`SKIPPED_DIRS`], and the walk's
/// problems there, are left out, as [`scan_dir_detailed`] never walks into them.
pub fn scan_tree(tree: &Tree, max_file_size: u64) -> ScanOutput {
    let root_is_file = tree.root().is_file();
    let out = tree.visit_limited(
        max_file_size,
        |name| root_is_file || lockfile::detect(name).is_some(),
        |f| {
            if !root_is_file && in_skipped_dir(f.rel) {
                return None;
            }
            let name = f.path.file_name().map(|n| n.to_string_lossy().into_owned());
            let kind = name.as_deref().and_then(lockfile::detect)?;
            Some(parse_file_confined(kind, f.path, f.rel, f.content))
        },
    );
    let root = tree.root();
    let errors = out
        .errors
        .into_iter()
        .filter(|e| {
            let rel = Path::new(&e.path)
                .strip_prefix(root)
                .map(|p| p.to_string_lossy().replace('\\', "/"))
                .unwrap_or_else(|_| e.path.clone());
            root_is_file || !in_skipped_dir(&rel)
        })
        .collect();
    let mut inv = Inventory {
        lockfiles: Vec::new(),
        errors,
    };
    let mut notes = Vec::new();
    let mut files = 0;
    for (r, refused) in out.results.into_iter().flatten() {
        files += 1;
        inv.errors.extend(refused);
        match r {
            Ok(p) => {
                inv.lockfiles.push(p.lockfile);
                notes.extend(p.notes);
            }
            Err(e) => inv.errors.push(e),
        }
    }
    inv.lockfiles.sort_by(|a, b| a.path.cmp(&b.path));
    inv.errors
        .sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
    notes.sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
    ScanOutput {
        inventory: inv,
        notes,
        files_scanned: files,
    }
}

/// Whether a `/`-separated relative path lies in a directory of [`SKIPPED_DIRS`].
fn in_skipped_dir(rel: &str) -> bool {
    let mut dirs = rel.split('/').collect::<Vec<_>>();
    dirs.pop();
    dirs.iter().any(|d| SKIPPED_DIRS.contains(d))
}

/// Parse one lockfile already read; siblings are read from its directory, inside the
/// scan root only (the root is `path` without the components of `rel`). A refused side
/// read is dropped here; [`scan_dir_detailed`] reports it as an error.
pub fn parse_file(
    kind: Kind,
    path: &Path,
    rel: &str,
    content: &[u8],
) -> Result<lockfile::Parsed, ScanError> {
    parse_file_confined(kind, path, rel, content).0
}

/// As [`parse_file`], with the side reads refused as outside the scan root.
fn parse_file_confined(
    kind: Kind,
    path: &Path,
    rel: &str,
    content: &[u8],
) -> (Result<lockfile::Parsed, ScanError>, Vec<ScanError>) {
    let err = |line: Option<usize>, message: String| ScanError {
        path: rel.to_string(),
        line,
        message,
    };
    let text = match std::str::from_utf8(content) {
        Ok(t) => t,
        Err(e) => return (Err(err(None, format!("not UTF-8 text: {e}"))), Vec::new()),
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let reader = SideReader::new(path, rel);
    let sibling = |name: &str| -> Option<String> { reader.read(name) };
    let parsed = lockfile::parse(kind, rel, text, &sibling).map_err(|e| {
        err(
            e.line,
            format!("cannot parse {} ({}): {}", rel, kind.name(), e.message),
        )
    });
    let refused = reader
        .refused
        .into_inner()
        .into_iter()
        .map(|name| {
            err(
                None,
                format!(
                    "refused to read `{}`: it is outside the scanned root (absolute, `..` \
                     or a symlink leading out); what it lists was not checked",
                    name.escape_debug()
                ),
            )
        })
        .collect();
    (parsed, refused)
}

/// Reads the side files of one lockfile: relative to its directory, confined to the
/// scan root (symlinks are followed only when the target stays inside it).
struct SideReader {
    /// The lockfile's directory.
    dir: PathBuf,
    /// The canonical scan root; `None` when it cannot be resolved (every read refused).
    root: Option<PathBuf>,
    /// Names refused as outside the root, in order.
    refused: RefCell<Vec<String>>,
}

impl SideReader {
    fn new(path: &Path, rel: &str) -> SideReader {
        let depth = rel.split('/').filter(|c| !c.is_empty()).count();
        let root = path
            .ancestors()
            .nth(depth.max(1))
            .map(|r| {
                if r.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    r
                }
            })
            .and_then(|r| r.canonicalize().ok());
        SideReader {
            dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
            root,
            refused: RefCell::new(Vec::new()),
        }
    }

    fn read(&self, name: &str) -> Option<String> {
        let inside = |p: &Path| self.root.as_deref().is_some_and(|r| p.starts_with(r));
        let candidate = self.dir.join(name);
        match candidate.canonicalize() {
            Ok(real) if inside(&real) => read_bounded(&real),
            Ok(_) => {
                self.refuse(name);
                None
            }
            // Missing: refuse (and say so) when the name itself points out of the root.
            Err(_) => {
                if Path::new(name).is_absolute() || !lexically_inside(&self.dir, name, &self.root) {
                    self.refuse(name);
                }
                None
            }
        }
    }

    fn refuse(&self, name: &str) {
        let mut r = self.refused.borrow_mut();
        if !r.iter().any(|n| n == name) {
            r.push(name.to_string());
        }
    }
}

/// Whether `dir/name`, with `.` and `..` resolved by name, stays under `root`.
fn lexically_inside(dir: &Path, name: &str, root: &Option<PathBuf>) -> bool {
    let Some(root) = root else { return false };
    let Ok(dir) = dir.canonicalize() else {
        return false;
    };
    let mut p = dir;
    for c in Path::new(name).components() {
        match c {
            std::path::Component::ParentDir => {
                if !p.pop() {
                    return false;
                }
            }
            std::path::Component::Normal(s) => p.push(s),
            std::path::Component::CurDir => {}
            _ => return false,
        }
    }
    p.starts_with(root)
}

fn read_bounded(p: &Path) -> Option<String> {
    // Checked before opening: opening a FIFO for reading would block.
    if !std::fs::metadata(p).ok()?.is_file() {
        return None;
    }
    let f = std::fs::File::open(p).ok()?;
    if !f.metadata().ok()?.is_file() {
        return None;
    }
    let mut buf = String::new();
    f.take(MAX_SIBLING).read_to_string(&mut buf).ok()?;
    Some(buf)
}

/// Convenience: every lockfile of an inventory with its packages' dependency paths.
pub fn with_paths(inv: &Inventory) -> Vec<(&Lockfile, crate::graph::Paths)> {
    inv.lockfiles
        .iter()
        .map(|l| (l, crate::graph::Paths::of(l)))
        .collect()
}

/// How inventory packages become vulnerability findings.
#[derive(Debug, Clone, Default)]
pub struct MatchOptions {
    /// Drop vulnerabilities with no known fixed version.
    pub ignore_unfixed: bool,
    /// OpenVEX statements: `not_affected` / `fixed` ones suppress matching findings.
    pub vex: Vec<crate::vex::Statement>,
}

/// Match every package of `inv` with `matcher` (the vulnerability database): one
/// finding per (package entry, vulnerability), aliases merged, with the lockfile line,
/// direct/transitive, dev and the dependency path (`via a → b → c`) in the message and
/// properties; VEX statements applied as suppressions.
pub fn findings(
    matcher: &dyn VulnMatcher,
    inv: &Inventory,
    opts: &MatchOptions,
) -> Result<Vec<rampart_core::Finding>, MatchError> {
    use rampart_core::{Suppression, SuppressionKind};
    use serde_json::json;
    let mut entries: Vec<(&crate::inventory::Package, Option<Vec<String>>)> = Vec::new();
    for l in &inv.lockfiles {
        let paths = crate::graph::Paths::of(l);
        for p in &l.packages {
            entries.push((p, paths.path(&p.key())));
        }
    }
    let packages: Vec<rampart_core::package::Package> =
        entries.iter().map(|(p, _)| p.for_matching()).collect();
    let reports = matcher.match_packages(&packages)?;
    if reports.len() != packages.len() {
        // Never zip short: a package without an answer was not checked.
        return Err(MatchError::msg(format!(
            "the vulnerability matcher answered for {} of {} packages",
            reports.len(),
            packages.len()
        )));
    }
    let mut out: Vec<rampart_core::Finding> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (mut hits, (pkg, path)) in reports.into_iter().zip(entries) {
        if opts.ignore_unfixed {
            hits.retain(|h| h.has_fix);
        }
        for VulnHit {
            finding: mut f,
            ids,
            ..
        } in hits
        {
            let line = pkg.source.as_ref().and_then(|s| s.line);
            let file = pkg
                .source
                .as_ref()
                .map(|s| s.path.clone())
                .unwrap_or_default();
            if !seen.insert((f.rule_id.clone(), file.clone(), line, pkg.key())) {
                continue;
            }
            let via = path
                .as_ref()
                .filter(|p| p.len() > 1)
                .map(|p| crate::graph::display_path(p));
            match (pkg.direct, &via) {
                (Some(true), _) => f.message.push_str("; direct dependency"),
                (_, Some(v)) => f.message.push_str(&format!("; via {v}")),
                (Some(false), None) => f.message.push_str("; transitive dependency"),
                (None, None) => {}
            }
            if pkg.dev {
                f.message.push_str(" (development only)");
            }
            f.properties.insert("direct".into(), json!(pkg.direct));
            f.properties.insert("dev".into(), json!(pkg.dev));
            f.properties.insert("lockfile".into(), json!(file));
            f.properties.insert("line".into(), json!(line));
            if let Some(p) = &path {
                f.properties.insert("dependency_path".into(), json!(p));
            }
            let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
            if let Some(st) =
                crate::vex::find(&opts.vex, &id_refs, &pkg.ecosystem, &pkg.name, &pkg.version)
            {
                f.properties
                    .insert("vex_status".into(), json!(st.status.as_str()));
                if let Some(j) = &st.justification {
                    f.properties.insert("vex_justification".into(), json!(j));
                }
                if st.status.suppresses() {
                    let mut reason = st.status.as_str().to_string();
                    if let Some(j) = &st.justification {
                        reason.push_str(&format!(": {j}"));
                    }
                    if let Some(s) = &st.statement {
                        reason.push_str(&format!(" ({s})"));
                    }
                    f.suppression = Some(Suppression {
                        kind: SuppressionKind::Vex,
                        reason: Some(reason),
                        source: Some(st.source.clone()),
                    });
                }
            }
            out.push(f);
        }
    }
    Ok(out)
}

/// Rule metadata for vulnerability findings (they carry their own title, severity,
/// remediation and references; the registry has no static entry for them).
pub fn meta_of(f: &rampart_core::Finding) -> rampart_core::RuleMeta {
    rampart_core::RuleMeta {
        id: f.rule_id.clone(),
        area: "vuln".into(),
        title: f.title.clone(),
        severity: f.severity,
        description: f.title.clone(),
        remediation: f.remediation.clone(),
        references: f.references.clone(),
        peers: Vec::new(),
        tags: Vec::new(),
    }
}
