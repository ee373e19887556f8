//! Find and parse every lockfile under a directory: the core walker (gitignore-aware,
//! parallel, no symlinks) reads only files whose name is a lockfile name, skipping
//! `node_modules`, `vendor` and `.git` directories; each file is parsed on the walker's
//! threads. A file that cannot be parsed becomes a [`ScanError`] with its line and the
//! rest continues.

use crate::inventory::{Inventory, Lockfile};
use crate::lockfile::{self, Kind};
use rampart_core::walk::{walk_filtered, WalkOptions};
use rampart_core::ScanError;
use std::io::Read;
use std::path::Path;

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
    let root_is_file = root.is_file();
    let out = walk_filtered(
        root,
        &opts,
        |name| root_is_file || lockfile::detect(name).is_some(),
        |f| {
            let name = f.path.file_name().map(|n| n.to_string_lossy().into_owned());
            let kind = name.as_deref().and_then(lockfile::detect)?;
            Some(parse_file(kind, f.path, f.rel, f.content))
        },
    )?;
    let mut inv = Inventory {
        lockfiles: Vec::new(),
        errors: out.errors,
    };
    let mut notes = Vec::new();
    let mut files = 0;
    for r in out.results.into_iter().flatten() {
        files += 1;
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
    Ok(ScanOutput {
        inventory: inv,
        notes,
        files_scanned: files,
    })
}

/// Parse one lockfile already read; siblings are read from its directory.
pub fn parse_file(
    kind: Kind,
    path: &Path,
    rel: &str,
    content: &[u8],
) -> Result<lockfile::Parsed, ScanError> {
    let err = |line: Option<usize>, message: String| ScanError {
        path: rel.to_string(),
        line,
        message,
    };
    let text =
        std::str::from_utf8(content).map_err(|e| err(None, format!("not UTF-8 text: {e}")))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let sibling = move |name: &str| -> Option<String> { read_bounded(&dir.join(name)) };
    lockfile::parse(kind, rel, text, &sibling).map_err(|e| {
        err(
            e.line,
            format!("cannot parse {} ({}): {}", rel, kind.name(), e.message),
        )
    })
}

fn read_bounded(p: &Path) -> Option<String> {
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
