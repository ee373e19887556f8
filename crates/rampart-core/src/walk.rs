//! The target walker: parallel, gitignore-aware, never follows symlinks, skips binary
//! and oversized files, and counts everything it skips.
//!
//! Ignore files (`.gitignore`, git's exclude files) apply only inside a git work tree,
//! as in git and ripgrep. Inside a work tree, a caller that knows what git tracks (the
//! secret scanner reads it with libgit2) passes [`GitIgnored`]: then no ignore file is
//! read by the walker at all, every path git does not report as ignored-and-untracked is
//! walked, so a committed `.gitignore` (or `.ignore`) cannot hide a tracked file, and the
//! ignored paths that were skipped are listed in [`WalkOutcome::ignored`].
//!
//! [`Tree`] is the one walk of a target: collected once (git asked once), then every
//! scanner reads the files it selects from it ([`Tree::visit`]). [`walk`] and
//! [`walk_filtered`] collect a tree and visit it, asking git themselves, so every scanner
//! sees tracked files whatever a committed `.gitignore` says.

use crate::location::relative_path;
use crate::report::ScanError;
use ignore::overrides::OverrideBuilder;
use ignore::{WalkBuilder, WalkState};
use rayon::prelude::*;
use std::collections::{BTreeMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Default size limit per file: 10 MiB.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 10 * 1024 * 1024;

/// How many leading bytes are checked for NUL to decide a file is binary (as git does).
const BINARY_SNIFF: usize = 8000;

/// Walker options.
#[derive(Debug, Clone)]
pub struct WalkOptions {
    /// Honour `.gitignore`, `.ignore` and git's exclude files.
    pub respect_gitignore: bool,
    /// Files larger than this are skipped (`too_large`).
    pub max_file_size: u64,
    /// Extra glob patterns to exclude (gitignore syntax, relative to the root).
    pub exclude: Vec<String>,
    /// Worker threads; 0 picks one per core.
    pub threads: usize,
}

impl Default for WalkOptions {
    fn default() -> Self {
        WalkOptions {
            respect_gitignore: true,
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            exclude: Vec::new(),
            threads: 0,
        }
    }
}

/// A file handed to the visitor.
#[derive(Debug)]
pub struct WalkedFile<'a> {
    /// Absolute (or as-given) path.
    pub path: &'a Path,
    /// Path relative to the root, `/`-separated.
    pub rel: &'a str,
    /// Content (not necessarily UTF-8).
    pub content: &'a [u8],
}

/// What a walk produced.
#[derive(Debug)]
pub struct WalkOutcome<T> {
    /// One result per scanned file, in no particular order.
    pub results: Vec<T>,
    /// Files scanned.
    pub files_scanned: u64,
    /// Bytes scanned.
    pub bytes_scanned: u64,
    /// Skipped files by reason.
    pub skipped: BTreeMap<String, u64>,
    /// Problems met; the walk went on.
    pub errors: Vec<ScanError>,
    /// Paths skipped because git ignores them and does not track them (relative to the
    /// root, directories collapsed, sorted); also counted as `gitignored` in `skipped`.
    pub ignored: Vec<String>,
}

/// What git ignores in a work tree: untracked paths matched by its ignore rules, as
/// `git status --ignored` lists them (a wholly ignored directory is one entry), relative
/// to the walk root and `/`-separated, without a trailing `/`. Tracked files are never in
/// it, whatever the ignore files say.
#[derive(Debug, Clone, Default)]
pub struct GitIgnored {
    /// The ignored, untracked paths.
    pub paths: HashSet<String>,
}

/// Whether content looks binary (a NUL byte in the first 8000 bytes).
pub fn is_binary(content: &[u8]) -> bool {
    memchr::memchr(0, &content[..content.len().min(BINARY_SNIFF)]).is_some()
}

/// What a directory entry of a [`Tree`] is (the walker never follows symlinks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A symbolic link (never followed; counted as `symlink` when a scanner wants it).
    Symlink,
    /// A FIFO, socket or device (counted as `special`).
    Special,
}

/// One non-directory entry of a [`Tree`].
#[derive(Debug, Clone)]
pub struct TreeEntry {
    /// Path as found from the root (absolute when the root is).
    pub path: PathBuf,
    /// Path relative to the root, `/`-separated.
    pub rel: String,
    /// Last path component (what scanners select on: `package-lock.json`, `Dockerfile`).
    pub name: String,
    /// File, symlink or special file.
    pub kind: EntryKind,
}

/// A target tree walked once: every non-directory entry the ignore rules, git's answers
/// and the `exclude` globs let through, sorted by relative path, plus what the traversal
/// itself met (unreadable directories, symlink loops) and what git's ignore rules pruned.
/// Files are not read here: each scanner reads (bounded, binary files skipped) the entries
/// it selects with [`Tree::visit`], so one traversal feeds every analyser.
///
/// Inside a git work tree (and with `respect_gitignore`), git itself says what is ignored
/// ([`git_ignored`]): no ignore file is read, so a committed `.gitignore` (or `.ignore`)
/// cannot hide a tracked file from any scanner; only untracked ignored paths are skipped,
/// and listed.
#[derive(Debug)]
pub struct Tree {
    root: PathBuf,
    opts: WalkOptions,
    entries: Vec<TreeEntry>,
    errors: Vec<ScanError>,
    ignored: Vec<String>,
}

impl Tree {
    /// Walk `root` (a directory or a single file) once. Inside a git work tree, git's
    /// ignored paths are read first (an unreadable repository is an error: nothing would
    /// say which ignore rules apply).
    pub fn collect(root: &Path, opts: &WalkOptions) -> crate::Result<Tree> {
        let git = if opts.respect_gitignore {
            git_ignored(root)?
        } else {
            None
        };
        Tree::collect_with(root, opts, git.as_ref())
    }

    /// As [`Tree::collect`], with git's answer given by the caller (`None`: not a work
    /// tree, the ignore files apply only under a `.git` directory, as in ripgrep).
    pub fn collect_with(
        root: &Path,
        opts: &WalkOptions,
        git: Option<&GitIgnored>,
    ) -> crate::Result<Tree> {
        collect_inner(root, opts, git)
    }

    /// The root as given.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The walker options the tree was collected with.
    pub fn options(&self) -> &WalkOptions {
        &self.opts
    }

    /// Every entry, sorted by relative path.
    pub fn entries(&self) -> &[TreeEntry] {
        &self.entries
    }

    /// Untracked paths git ignores that were pruned (sorted).
    pub fn ignored(&self) -> &[String] {
        &self.ignored
    }

    /// Read every file whose name passes `keep` (bounded by the tree's `max_file_size`,
    /// binary files skipped) and call `visit` on it, in parallel. Symlinks and special
    /// files that pass `keep` are counted as skipped; the traversal's own errors and the
    /// pruned git-ignored paths are part of every outcome.
    pub fn visit<T, K, F>(&self, keep: K, visit: F) -> WalkOutcome<T>
    where
        T: Send,
        K: Fn(&str) -> bool + Sync,
        F: Fn(&WalkedFile<'_>) -> T + Sync,
    {
        self.visit_limited(self.opts.max_file_size, keep, visit)
    }

    /// As [`Tree::visit`] with another per-file size limit (lockfiles may be larger than
    /// the default limit).
    pub fn visit_limited<T, K, F>(&self, max_file_size: u64, keep: K, visit: F) -> WalkOutcome<T>
    where
        T: Send,
        K: Fn(&str) -> bool + Sync,
        F: Fn(&WalkedFile<'_>) -> T + Sync,
    {
        self.visit_selected(max_file_size, |e| keep(&e.name), visit)
    }

    /// As [`Tree::visit_limited`], selecting on the whole entry (its relative path too:
    /// e.g. lockfile discovery leaves out `node_modules/` wherever it is).
    pub fn visit_selected<T, S, F>(&self, max_file_size: u64, select: S, visit: F) -> WalkOutcome<T>
    where
        T: Send,
        S: Fn(&TreeEntry) -> bool + Sync,
        F: Fn(&WalkedFile<'_>) -> T + Sync,
    {
        let selected: Vec<&TreeEntry> = self.entries.iter().filter(|e| select(e)).collect();
        let mut out = WalkOutcome {
            results: Vec::new(),
            files_scanned: 0,
            bytes_scanned: 0,
            skipped: BTreeMap::new(),
            errors: self.errors.clone(),
            ignored: self.ignored.clone(),
        };
        if !self.errors.is_empty() {
            *out.skipped.entry("unreadable".into()).or_default() += self.errors.len() as u64;
        }
        if !self.ignored.is_empty() {
            *out.skipped.entry("gitignored".into()).or_default() += self.ignored.len() as u64;
        }
        // Each result is recorded as soon as it is made (no second copy of them all).
        let shared = Mutex::new(out);
        let record = |v: Visited<T>| {
            let Ok(mut out) = shared.lock() else { return };
            match v {
                Visited::Skipped(reason) => *out.skipped.entry(reason.into()).or_default() += 1,
                Visited::Failed(reason, err) => {
                    *out.skipped.entry(reason.into()).or_default() += 1;
                    out.errors.push(err);
                }
                Visited::Read(t, len) => {
                    out.files_scanned += 1;
                    out.bytes_scanned += len;
                    out.results.push(t);
                }
            }
        };
        in_pool(self.opts.threads, || {
            selected
                .par_iter()
                .for_each_init(Vec::new, |buf: &mut Vec<u8>, e| {
                    record(visit_entry(e, max_file_size, buf, &visit));
                });
        });
        match shared.into_inner() {
            Ok(out) => out,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

/// Run `f` on a rayon pool of `threads` workers (0: the current pool, one per core by
/// default).
fn in_pool<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    if threads == 0 || threads == rayon::current_num_threads() {
        return f();
    }
    match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
        Ok(pool) => pool.install(f),
        Err(_) => f(),
    }
}

enum Visited<T> {
    Skipped(&'static str),
    Failed(&'static str, ScanError),
    Read(T, u64),
}

fn visit_entry<T, F>(e: &TreeEntry, limit: u64, buf: &mut Vec<u8>, visit: &F) -> Visited<T>
where
    F: Fn(&WalkedFile<'_>) -> T,
{
    match e.kind {
        EntryKind::Symlink => return Visited::Skipped("symlink"),
        EntryKind::Special => return Visited::Skipped("special"),
        EntryKind::File => {}
    }
    match read_limited(&e.path, limit, buf) {
        Ok(ReadOutcome::Read) => {}
        Ok(ReadOutcome::TooLarge(size)) => {
            return Visited::Failed(
                "too_large",
                ScanError {
                    path: e.rel.clone(),
                    line: None,
                    message: format!(
                        "skipped: {size} bytes is over the {limit} byte limit (max_file_size)"
                    ),
                },
            )
        }
        Err(err) => {
            return Visited::Failed(
                "unreadable",
                ScanError {
                    path: e.rel.clone(),
                    line: None,
                    message: format!("cannot read: {err}"),
                },
            )
        }
    }
    if is_binary(buf) {
        return Visited::Skipped("binary");
    }
    let out = visit(&WalkedFile {
        path: &e.path,
        rel: &e.rel,
        content: buf,
    });
    let len = buf.len() as u64;
    if buf.capacity() > 1 << 20 {
        *buf = Vec::new();
    }
    Visited::Read(out, len)
}

/// Walk `root` (a directory or a single file) and call `visit` on every text file, in
/// parallel. Errors on individual entries are recorded and the walk goes on. Inside a git
/// work tree git's answers apply (see [`Tree`]).
pub fn walk<T, F>(root: &Path, opts: &WalkOptions, visit: F) -> crate::Result<WalkOutcome<T>>
where
    T: Send,
    F: Fn(&WalkedFile<'_>) -> T + Sync,
{
    walk_filtered(root, opts, |_| true, visit)
}

/// As [`walk`], for a root inside a git work tree whose ignored paths are known: no ignore
/// file is read; the paths in `git` are skipped (when `opts.respect_gitignore`) and listed
/// in [`WalkOutcome::ignored`]; everything else, tracked files under an ignore rule
/// included, is walked.
pub fn walk_git<T, F>(
    root: &Path,
    opts: &WalkOptions,
    git: &GitIgnored,
    visit: F,
) -> crate::Result<WalkOutcome<T>>
where
    T: Send,
    F: Fn(&WalkedFile<'_>) -> T + Sync,
{
    Ok(Tree::collect_with(root, opts, Some(git))?.visit(|_| true, visit))
}

/// As [`walk`], but only files whose name (last path component) passes `keep` are read
/// and visited; the others are neither read nor counted (e.g. lockfile discovery).
pub fn walk_filtered<T, K, F>(
    root: &Path,
    opts: &WalkOptions,
    keep: K,
    visit: F,
) -> crate::Result<WalkOutcome<T>>
where
    T: Send,
    K: Fn(&str) -> bool + Sync,
    F: Fn(&WalkedFile<'_>) -> T + Sync,
{
    Ok(Tree::collect(root, opts)?.visit(keep, visit))
}

fn collect_inner(root: &Path, opts: &WalkOptions, git: Option<&GitIgnored>) -> crate::Result<Tree> {
    let meta = std::fs::symlink_metadata(root).map_err(|e| crate::Error::io(root, e))?;
    let root_is_file = !meta.is_dir();
    // With git's own answer, the walker reads no ignore file.
    let ignore_files = opts.respect_gitignore && git.is_none();
    let prune: Option<HashSet<String>> = git
        .filter(|g| opts.respect_gitignore && !root_is_file && !g.paths.is_empty())
        .map(|g| g.paths.clone());
    // `filter_entry` needs a 'static closure: the pruned paths are recorded through an Arc.
    let pruned: std::sync::Arc<Mutex<Vec<String>>> = std::sync::Arc::default();
    let mut builder = WalkBuilder::new(root);
    builder
        .hidden(false)
        .follow_links(false)
        .git_ignore(ignore_files)
        .git_global(ignore_files)
        .git_exclude(ignore_files)
        .ignore(ignore_files)
        .parents(ignore_files)
        // Outside a git work tree, `.gitignore` files mean nothing (as in git, ripgrep).
        .require_git(true)
        .threads(opts.threads);
    let root_owned = root.to_path_buf();
    let recorder = pruned.clone();
    builder.filter_entry(move |e| {
        if e.file_name() == ".git" {
            return false;
        }
        let Some(set) = &prune else { return true };
        let Ok(rel) = e.path().strip_prefix(&root_owned) else {
            return true;
        };
        let rel = rel.to_string_lossy().replace('\\', "/");
        if set.contains(rel.as_str()) {
            if let Ok(mut v) = recorder.lock() {
                v.push(rel);
            }
            return false;
        }
        true
    });
    if !opts.exclude.is_empty() {
        let mut ob = OverrideBuilder::new(root);
        for g in &opts.exclude {
            ob.add(&format!("!{g}"))
                .map_err(|e| crate::Error::Invalid {
                    what: "exclude glob".into(),
                    message: format!("`{g}`: {e}"),
                })?;
        }
        let ov = ob.build().map_err(|e| crate::Error::Invalid {
            what: "exclude glob".into(),
            message: e.to_string(),
        })?;
        builder.overrides(ov);
    }
    let root_buf: PathBuf = if root_is_file {
        root.parent().map(Path::to_path_buf).unwrap_or_default()
    } else {
        root.to_path_buf()
    };
    let found: Mutex<(Vec<TreeEntry>, Vec<ScanError>)> = Mutex::default();
    builder.build_parallel().run(|| {
        let found = &found;
        let root_buf = &root_buf;
        Box::new(move |entry| {
            let entry = match entry {
                Ok(e) => e,
                Err(err) => {
                    let (path, message) = describe_walk_error(&err);
                    if let Ok(mut g) = found.lock() {
                        g.1.push(ScanError {
                            path,
                            line: None,
                            message,
                        });
                    }
                    return WalkState::Continue;
                }
            };
            let Some(ft) = entry.file_type() else {
                return WalkState::Continue;
            };
            if ft.is_dir() {
                return WalkState::Continue;
            }
            let kind = if ft.is_symlink() {
                EntryKind::Symlink
            } else if ft.is_file() {
                EntryKind::File
            } else {
                EntryKind::Special
            };
            let path = entry.path().to_path_buf();
            let e = TreeEntry {
                rel: relative_path(root_buf, &path),
                name: entry.file_name().to_string_lossy().into_owned(),
                path,
                kind,
            };
            if let Ok(mut g) = found.lock() {
                g.0.push(e);
            }
            WalkState::Continue
        })
    });
    let (mut entries, mut errors) = found.into_inner().map_err(|_| crate::Error::Invalid {
        what: "walker".into(),
        message: "a worker thread panicked".into(),
    })?;
    entries.sort_by(|a, b| a.rel.cmp(&b.rel));
    errors.sort_by(|a, b| (&a.path, &a.message).cmp(&(&b.path, &b.message)));
    let mut ignored = pruned.lock().map(|v| v.clone()).unwrap_or_default();
    ignored.sort();
    Ok(Tree {
        root: root.to_path_buf(),
        opts: opts.clone(),
        entries,
        errors,
        ignored,
    })
}

/// What git ignores under `root` when `root` is a directory inside a git work tree:
/// untracked paths its ignore rules match (`.gitignore` files, `info/exclude`, the global
/// excludes file), wholly ignored directories as one entry, relative to `root`. Tracked
/// files are never listed, whatever the ignore files say. `None` outside a work tree (or
/// for a bare repository); an error when the repository cannot be read.
pub fn git_ignored(root: &Path) -> crate::Result<Option<GitIgnored>> {
    use git2::{ErrorCode, Repository};
    if !root.is_dir() {
        return Ok(None);
    }
    let r = match Repository::discover(root) {
        Ok(r) => r,
        Err(e) if e.code() == ErrorCode::NotFound => return Ok(None),
        Err(e) => {
            return Err(crate::Error::Git(format!(
                "{}: cannot open git repository: {}",
                root.display(),
                e.message()
            )))
        }
    };
    let Some(workdir) = r.workdir() else {
        return Ok(None);
    };
    let (Ok(workdir), Ok(abs_root)) = (workdir.canonicalize(), root.canonicalize()) else {
        return Ok(None);
    };
    let Ok(prefix) = abs_root.strip_prefix(&workdir) else {
        return Ok(None);
    };
    let prefix = prefix.to_string_lossy().replace('\\', "/");
    // libgit2 lists a wholly ignored directory as one entry, except when a catch-all
    // pattern (`*`, `/*`) ignores the scanned directory's own entries: it then lists none
    // of them (a committed `.gitignore` of `*` would hide every untracked file from the
    // list, and so keep it in the scan). When an arbitrary name in the scanned directory
    // is ignored, ask for every ignored file instead.
    let probe = if prefix.is_empty() {
        "rampart-ignore-probe".to_string()
    } else {
        format!("{prefix}/rampart-ignore-probe")
    };
    let catch_all = r.status_should_ignore(Path::new(&probe)).unwrap_or(true);
    let mut opts = git2::StatusOptions::new();
    opts.include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_ignored(true)
        .recurse_ignored_dirs(catch_all)
        .include_unmodified(false)
        .exclude_submodules(true);
    if !prefix.is_empty() {
        // Only the scanned directory: git does not look at the rest of the work tree.
        opts.pathspec(&prefix).disable_pathspec_match(true);
    }
    let prefix = if prefix.is_empty() {
        String::new()
    } else {
        format!("{prefix}/")
    };
    let statuses = r.statuses(Some(&mut opts)).map_err(|e| {
        crate::Error::Git(format!(
            "{}: cannot read the work tree status: {}",
            root.display(),
            e.message()
        ))
    })?;
    let mut paths = HashSet::new();
    for entry in statuses.iter() {
        if !entry.status().contains(git2::Status::IGNORED) {
            continue;
        }
        let p = String::from_utf8_lossy(entry.path_bytes());
        let p = p.trim_end_matches('/');
        // Outside the scanned directory, or the directory itself inside an ignored one
        // (then nothing under it is pruned: it was asked for by name).
        if let Some(rel) = p.strip_prefix(prefix.as_str()) {
            if !rel.is_empty() {
                paths.insert(rel.to_string());
            }
        }
    }
    Ok(Some(GitIgnored { paths }))
}

/// A UTF-8 text file's contents if it is at most `limit` bytes (bounded while reading, as
/// the walker reads), else `None`: for files a scanner opens beside the walk.
pub fn read_text_limited(path: &Path, limit: u64) -> Option<String> {
    let mut buf = Vec::new();
    match read_limited(path, limit, &mut buf).ok()? {
        ReadOutcome::Read => String::from_utf8(buf).ok(),
        ReadOutcome::TooLarge(_) => None,
    }
}

enum ReadOutcome {
    Read,
    TooLarge(u64),
}

/// Read a file into `buf` unless it is over `limit` bytes (checked before and while reading,
/// so a file that grows is still bounded).
fn read_limited(path: &Path, limit: u64, buf: &mut Vec<u8>) -> std::io::Result<ReadOutcome> {
    buf.clear();
    let file = std::fs::File::open(path)?;
    let size = file.metadata()?.len();
    if size > limit {
        return Ok(ReadOutcome::TooLarge(size));
    }
    let n = file.take(limit + 1).read_to_end(buf)? as u64;
    if n > limit {
        buf.clear();
        return Ok(ReadOutcome::TooLarge(n));
    }
    Ok(ReadOutcome::Read)
}

fn describe_walk_error(err: &ignore::Error) -> (String, String) {
    fn inner(err: &ignore::Error, path: &mut Option<String>) -> String {
        match err {
            ignore::Error::WithPath { path: p, err } => {
                *path = Some(p.display().to_string());
                inner(err, path)
            }
            ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
                inner(err, path)
            }
            ignore::Error::Loop { child, ancestor } => {
                *path = Some(child.display().to_string());
                format!("symlink loop back to {}", ancestor.display())
            }
            other => other.to_string(),
        }
    }
    let mut path = None;
    let msg = inner(err, &mut path);
    (path.unwrap_or_else(|| "<walk>".into()), msg)
}

/// The `exclude` globs of a scan, for paths found by other means than the walker (for
/// example installed-package metadata read by a dedicated reader).
pub struct ExcludeMatcher(Option<ignore::overrides::Override>);

impl ExcludeMatcher {
    /// A matcher for `exclude` globs (gitignore syntax) relative to `root`.
    pub fn new(root: &Path, exclude: &[String]) -> crate::Result<ExcludeMatcher> {
        if exclude.is_empty() {
            return Ok(ExcludeMatcher(None));
        }
        let mut ob = OverrideBuilder::new(root);
        for g in exclude {
            ob.add(&format!("!{g}"))
                .map_err(|e| crate::Error::Invalid {
                    what: "exclude glob".into(),
                    message: format!("`{g}`: {e}"),
                })?;
        }
        let ov = ob.build().map_err(|e| crate::Error::Invalid {
            what: "exclude glob".into(),
            message: e.to_string(),
        })?;
        Ok(ExcludeMatcher(Some(ov)))
    }

    /// Whether `rel` (relative to the root, `/`-separated) or one of its parent
    /// directories is excluded.
    pub fn is_excluded(&self, rel: &str) -> bool {
        let Some(ov) = &self.0 else { return false };
        let mut p = Path::new(rel);
        let mut is_dir = false;
        loop {
            if ov.matched(p, is_dir).is_ignore() {
                return true;
            }
            match p.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => {
                    p = parent;
                    is_dir = true;
                }
                _ => return false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_and_counts_skips() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("a.txt"), "hello").unwrap();
        std::fs::write(root.join("bin.dat"), b"\x00\x01\x02").unwrap();
        std::fs::write(root.join("big.txt"), vec![b'a'; 2048]).unwrap();
        std::fs::write(root.join(".gitignore"), "ignored.txt\n").unwrap();
        std::fs::write(root.join("ignored.txt"), "x").unwrap();
        std::fs::create_dir(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/b.txt"), "world").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(root, root.join("sub/loop")).unwrap();
        let opts = WalkOptions {
            max_file_size: 1024,
            ..WalkOptions::default()
        };
        let out = walk(root, &opts, |f| f.rel.to_string()).unwrap();
        let mut got = out.results.clone();
        got.sort();
        // Not a git work tree: `.gitignore` means nothing here.
        assert_eq!(got, vec![".gitignore", "a.txt", "ignored.txt", "sub/b.txt"]);
        assert_eq!(out.skipped.get("binary"), Some(&1));
        assert_eq!(out.skipped.get("too_large"), Some(&1));
        #[cfg(unix)]
        assert_eq!(out.skipped.get("symlink"), Some(&1));

        let all = walk(
            root,
            &WalkOptions {
                respect_gitignore: false,
                exclude: vec!["sub/**".into()],
                ..opts
            },
            |f| f.rel.to_string(),
        )
        .unwrap();
        assert!(all.results.iter().any(|r| r == "ignored.txt"));
        assert!(!all.results.iter().any(|r| r.starts_with("sub/")));
    }

    #[test]
    fn gitignore_applies_in_a_work_tree_and_git_answers_win() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join(".git")).unwrap();
        std::fs::write(root.join(".gitignore"), "config/\nlocal.env\n").unwrap();
        std::fs::create_dir(root.join("config")).unwrap();
        std::fs::write(root.join("config/prod.env"), "tracked").unwrap();
        std::fs::write(root.join("local.env"), "untracked").unwrap();
        std::fs::write(root.join("a.txt"), "a").unwrap();
        let names = |o: &WalkOutcome<String>| {
            let mut v = o.results.clone();
            v.sort();
            v
        };
        let plain = walk(root, &WalkOptions::default(), |f| f.rel.to_string()).unwrap();
        assert_eq!(names(&plain), vec![".gitignore", "a.txt"]);
        // git says only local.env is ignored (config/prod.env is tracked).
        let git = GitIgnored {
            paths: ["local.env".to_string()].into_iter().collect(),
        };
        let out = walk_git(root, &WalkOptions::default(), &git, |f| f.rel.to_string()).unwrap();
        assert_eq!(names(&out), vec![".gitignore", "a.txt", "config/prod.env"]);
        assert_eq!(out.ignored, vec!["local.env"]);
        assert_eq!(out.skipped.get("gitignored"), Some(&1));
        let all = walk_git(
            root,
            &WalkOptions {
                respect_gitignore: false,
                ..WalkOptions::default()
            },
            &git,
            |f| f.rel.to_string(),
        )
        .unwrap();
        assert_eq!(all.results.len(), 4);
        assert!(all.ignored.is_empty());
    }

    #[test]
    fn single_file_root() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("one.env");
        std::fs::write(&f, "A=1").unwrap();
        let out = walk(&f, &WalkOptions::default(), |f| f.rel.to_string()).unwrap();
        assert_eq!(out.results, vec!["one.env"]);
    }

    #[test]
    fn missing_root_is_an_error() {
        assert!(walk(Path::new("/nonexistent/x"), &WalkOptions::default(), |_| ()).is_err());
    }

    #[test]
    fn committed_catch_all_gitignore_hides_no_tracked_file() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join("deploy")).unwrap();
        std::fs::write(root.join(".gitignore"), "*\n").unwrap();
        std::fs::write(root.join("deploy/pod.yaml"), "kind: Pod").unwrap();
        let repo = git2::Repository::init(root).unwrap();
        let mut index = repo.index().unwrap();
        index.add_path(Path::new(".gitignore")).unwrap();
        index.add_path(Path::new("deploy/pod.yaml")).unwrap();
        index.write().unwrap();
        std::fs::write(root.join("scratch.yaml"), "kind: Pod").unwrap();
        std::fs::create_dir(root.join("build")).unwrap();
        std::fs::write(root.join("build/out.yaml"), "kind: Pod").unwrap();
        let git = git_ignored(root).unwrap().unwrap();
        let mut ignored: Vec<&str> = git.paths.iter().map(String::as_str).collect();
        ignored.sort();
        assert_eq!(ignored, vec!["build/out.yaml", "scratch.yaml"]);
        let tree = Tree::collect(root, &WalkOptions::default()).unwrap();
        let rels: Vec<&str> = tree.entries().iter().map(|e| e.rel.as_str()).collect();
        assert_eq!(rels, vec![".gitignore", "deploy/pod.yaml"]);
        let out = tree.visit(|n| n.ends_with(".yaml"), |f| f.rel.to_string());
        assert_eq!(out.results, vec!["deploy/pod.yaml"]);
        assert_eq!(out.skipped.get("gitignored"), Some(&2));
        let none = tree.visit_selected(
            DEFAULT_MAX_FILE_SIZE,
            |e| !e.rel.split('/').any(|c| c == "deploy"),
            |f| f.rel.to_string(),
        );
        assert_eq!(none.results, vec![".gitignore"]);
    }

    #[test]
    fn exclude_matcher_matches_paths_and_parents() {
        let m = ExcludeMatcher::new(
            Path::new("/r"),
            &["crates/*/tests/**".into(), "vendor".into()],
        )
        .unwrap();
        assert!(m.is_excluded("crates/a/tests/fixtures/x/package.json"));
        assert!(m.is_excluded("vendor/lib/package.json"));
        assert!(!m.is_excluded("crates/a/src/lib.rs"));
        assert!(!ExcludeMatcher::new(Path::new("/r"), &[])
            .unwrap()
            .is_excluded("x"));
    }
}
