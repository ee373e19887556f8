//! The target walker: parallel, gitignore-aware, never follows symlinks, skips binary
//! and oversized files, and counts everything it skips.
//!
//! Ignore files (`.gitignore`, git's exclude files) apply only inside a git work tree,
//! as in git and ripgrep. Inside a work tree, a caller that knows what git tracks (the
//! secret scanner reads it with libgit2) passes [`GitIgnored`]: then no ignore file is
//! read by the walker at all, every path git does not report as ignored-and-untracked is
//! walked, so a committed `.gitignore` (or `.ignore`) cannot hide a tracked file, and the
//! ignored paths that were skipped are listed in [`WalkOutcome::ignored`].

use crate::location::relative_path;
use crate::report::ScanError;
use ignore::overrides::OverrideBuilder;
use ignore::{WalkBuilder, WalkState};
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

struct Shared<T> {
    results: Vec<T>,
    files: u64,
    bytes: u64,
    skipped: BTreeMap<String, u64>,
    errors: Vec<ScanError>,
}

/// Whether content looks binary (a NUL byte in the first 8000 bytes).
pub fn is_binary(content: &[u8]) -> bool {
    memchr::memchr(0, &content[..content.len().min(BINARY_SNIFF)]).is_some()
}

/// Walk `root` (a directory or a single file) and call `visit` on every text file, in
/// parallel. Errors on individual entries are recorded and the walk goes on.
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
    walk_inner(root, opts, Some(git), |_| true, visit)
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
    walk_inner(root, opts, None, keep, visit)
}

fn walk_inner<T, K, F>(
    root: &Path,
    opts: &WalkOptions,
    git: Option<&GitIgnored>,
    keep: K,
    visit: F,
) -> crate::Result<WalkOutcome<T>>
where
    T: Send,
    K: Fn(&str) -> bool + Sync,
    F: Fn(&WalkedFile<'_>) -> T + Sync,
{
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
    let shared = Mutex::new(Shared {
        results: Vec::new(),
        files: 0,
        bytes: 0,
        skipped: BTreeMap::new(),
        errors: Vec::new(),
    });
    let root_buf: PathBuf = if root_is_file {
        root.parent().map(Path::to_path_buf).unwrap_or_default()
    } else {
        root.to_path_buf()
    };
    let with = |f: &mut dyn FnMut(&mut Shared<T>)| {
        if let Ok(mut g) = shared.lock() {
            f(&mut g);
        }
    };
    builder.build_parallel().run(|| {
        let visit = &visit;
        let keep = &keep;
        let with = &with;
        let root_buf = &root_buf;
        let mut buf: Vec<u8> = Vec::new();
        Box::new(move |entry| {
            let entry = match entry {
                Ok(e) => e,
                Err(err) => {
                    let (path, message) = describe_walk_error(&err);
                    with(&mut |s| {
                        *s.skipped.entry("unreadable".into()).or_default() += 1;
                        s.errors.push(ScanError {
                            path: path.clone(),
                            line: None,
                            message: message.clone(),
                        });
                    });
                    return WalkState::Continue;
                }
            };
            let Some(ft) = entry.file_type() else {
                return WalkState::Continue;
            };
            if ft.is_dir() {
                return WalkState::Continue;
            }
            let path = entry.path();
            if !keep(&entry.file_name().to_string_lossy()) {
                return WalkState::Continue;
            }
            let rel = relative_path(root_buf, path);
            if ft.is_symlink() {
                with(&mut |s| *s.skipped.entry("symlink".into()).or_default() += 1);
                return WalkState::Continue;
            }
            if !ft.is_file() {
                with(&mut |s| *s.skipped.entry("special".into()).or_default() += 1);
                return WalkState::Continue;
            }
            match read_limited(path, opts.max_file_size, &mut buf) {
                Ok(ReadOutcome::Read) => {}
                Ok(ReadOutcome::TooLarge(size)) => {
                    with(&mut |s| {
                        *s.skipped.entry("too_large".into()).or_default() += 1;
                        s.errors.push(ScanError {
                            path: rel.clone(),
                            line: None,
                            message: format!(
                                "skipped: {size} bytes is over the {} byte limit (max_file_size)",
                                opts.max_file_size
                            ),
                        });
                    });
                    return WalkState::Continue;
                }
                Err(e) => {
                    with(&mut |s| {
                        *s.skipped.entry("unreadable".into()).or_default() += 1;
                        s.errors.push(ScanError {
                            path: rel.clone(),
                            line: None,
                            message: format!("cannot read: {e}"),
                        });
                    });
                    return WalkState::Continue;
                }
            }
            if is_binary(&buf) {
                with(&mut |s| *s.skipped.entry("binary".into()).or_default() += 1);
                return WalkState::Continue;
            }
            let out = visit(&WalkedFile {
                path,
                rel: &rel,
                content: &buf,
            });
            let len = buf.len() as u64;
            let mut out = Some(out);
            with(&mut |s| {
                s.files += 1;
                s.bytes += len;
                if let Some(o) = out.take() {
                    s.results.push(o);
                }
            });
            if buf.capacity() > 1 << 20 {
                buf = Vec::new();
            }
            WalkState::Continue
        })
    });
    let s = shared.into_inner().map_err(|_| crate::Error::Invalid {
        what: "walker".into(),
        message: "a worker thread panicked".into(),
    })?;
    let mut ignored = pruned.lock().map(|v| v.clone()).unwrap_or_default();
    ignored.sort();
    let mut skipped = s.skipped;
    if !ignored.is_empty() {
        *skipped.entry("gitignored".into()).or_default() += ignored.len() as u64;
    }
    Ok(WalkOutcome {
        results: s.results,
        files_scanned: s.files,
        bytes_scanned: s.bytes,
        skipped,
        errors: s.errors,
        ignored,
    })
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
