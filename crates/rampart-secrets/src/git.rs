//! Git history and staged-index scanning, and the pre-commit hook.
//!
//! Both scans look only at the lines a change *adds*: every added or modified blob is
//! scanned in full (so multi-line secrets and line numbers come out right), and a finding
//! is kept when its span touches an added line. Everything goes through libgit2 (`git2`);
//! no `git` process is started.
//!
//! - [`scan_staged`]: HEAD (or the empty tree on an unborn branch) against the index.
//! - [`scan_history`]: every commit reachable from HEAD against its first parent, findings
//!   deduplicated by rule, path and secret (a private key, never reported) and reported at the oldest commit that introduced them.
//! - [`install_hook`]: a POSIX `sh` pre-commit hook running `rampart secrets --staged`.

use crate::error::SecretsError;
use crate::scan::{ScanOutput, SecretScanner};
use git2::{
    Delta, Diff, DiffFindOptions, DiffLineType, DiffOptions, ErrorCode, FileMode, Index, Oid,
    Patch, Repository, Sort, Tree,
};
use rampart_core::suppress::inline;
use rampart_core::walk::{ExcludeMatcher, GitIgnored};
use rampart_core::{CommitInfo, Finding, Location, ScanError};
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// Marker line identifying a hook written by [`install_hook`].
const HOOK_MARKER: &str = "# rampart-hook:";

/// The pre-commit hook script.
const HOOK_SCRIPT: &str = r#"#!/bin/sh
# rampart-hook: pre-commit secret scan, written by `rampart hook install`.
# Scans only the lines added by the staged changes and blocks the commit on findings of
# severity high or above. Bypass once with `git commit --no-verify`.
# Set RAMPART to use another rampart binary (default: `rampart` on PATH).
exec "${RAMPART:-rampart}" secrets --staged --fail-on high .
"#;

/// Scan the staged changes of the repository containing `repo`: for every blob added or
/// modified in the index relative to HEAD (the empty tree on an unborn branch), findings
/// on added lines only. Inline `rampart:ignore` comments are honoured; stale ones are not
/// reported. When `GIT_INDEX_FILE` names an index inside this repository's git directory
/// (git sets it for hooks run by `git commit -a` or `git commit PATH…`), that index is
/// scanned instead of the default one.
pub fn scan_staged(scanner: &SecretScanner, repo: &Path) -> Result<ScanOutput, SecretsError> {
    let r = open(repo)?;
    let exclude = excludes(&r, scanner)?;
    if r.is_bare() {
        return Err(SecretsError::Git(format!(
            "{}: bare repository has no index to scan",
            repo.display()
        )));
    }
    let index = staged_index(&r, repo)?;
    let head_tree = match r.head() {
        Ok(head) => Some(head.peel_to_tree().map_err(|e| {
            SecretsError::Git(format!(
                "{}: cannot read HEAD tree: {}",
                repo.display(),
                msg(&e)
            ))
        })?),
        Err(e) if unborn(&e) => None,
        Err(e) => {
            return Err(SecretsError::Git(format!(
                "{}: cannot read HEAD: {}",
                repo.display(),
                msg(&e)
            )))
        }
    };
    let mut diff = r
        .diff_tree_to_index(head_tree.as_ref(), Some(&index), Some(&mut diff_options()))
        .map_err(|e| {
            SecretsError::Git(format!(
                "{}: cannot diff HEAD against the index: {}",
                repo.display(),
                msg(&e)
            ))
        })?;
    let mut acc = Acc::default();
    if let Err(e) = diff.find_similar(Some(&mut find_options())) {
        acc.error("<index>", format!("rename detection failed: {}", msg(&e)));
    }
    scan_diff(&r, &diff, scanner, None, &exclude, &mut acc);
    let mut out = ScanOutput::default();
    acc.into_output(&mut out);
    Ok(out)
}

/// Scan the history of the repository containing `repo`: every commit reachable from HEAD
/// (only those not reachable from `since`, i.e. `since..HEAD`, when given), each diffed
/// against its first parent (the empty tree for a root commit), findings on added lines
/// only, with the commit attached.
///
/// A secret (same rule and path) met in several commits is reported once, at the oldest commit (in
/// topological order) that added it, with property `occurrences` = the number of commits
/// that added it. If the oldest occurrence is suppressed inline but a later one is not,
/// the oldest unsuppressed one is reported instead. Stale inline ignores are not
/// reported. An unborn HEAD yields an empty result.
pub fn scan_history(
    scanner: &SecretScanner,
    repo: &Path,
    since: Option<&str>,
) -> Result<ScanOutput, SecretsError> {
    let r = open(repo)?;
    let exclude = excludes(&r, scanner)?;
    match r.head() {
        Ok(_) => {}
        Err(e) if unborn(&e) => return Ok(ScanOutput::default()),
        Err(e) => {
            return Err(SecretsError::Git(format!(
                "{}: cannot read HEAD: {}",
                repo.display(),
                msg(&e)
            )))
        }
    }
    let walk_err = |e: git2::Error| {
        SecretsError::Git(format!(
            "{}: cannot walk history: {}",
            repo.display(),
            msg(&e)
        ))
    };
    let mut walk = r.revwalk().map_err(walk_err)?;
    walk.set_sorting(Sort::TOPOLOGICAL | Sort::TIME)
        .map_err(walk_err)?;
    walk.push_head().map_err(walk_err)?;
    if let Some(rev) = since {
        let oid = r
            .revparse_single(rev)
            .and_then(|o| o.peel_to_commit())
            .map_err(|e| {
                SecretsError::Git(format!(
                    "{}: cannot resolve revision `{rev}`: {}",
                    repo.display(),
                    msg(&e)
                ))
            })?
            .id();
        walk.hide(oid).map_err(walk_err)?;
    }
    let mut out = ScanOutput::default();
    let mut oids: Vec<Oid> = Vec::new();
    for item in walk {
        match item {
            Ok(oid) => oids.push(oid),
            Err(e) => {
                // libgit2 cannot walk past an unreadable commit; keep what was found.
                out.errors.push(ScanError {
                    path: "<history>".into(),
                    line: None,
                    message: format!("history walk stopped: {}", msg(&e)),
                });
                break;
            }
        }
    }
    // Oldest first, so the first commit holding a fingerprint is the one that added it.
    oids.reverse();

    let git_dir = r.path().to_path_buf();
    let max = scanner.options().walk.max_file_size;
    let run = || -> Vec<Acc> {
        oids.par_iter()
            .map_init(
                || Repository::open(&git_dir),
                |repo, oid| {
                    let mut acc = Acc::default();
                    match repo {
                        Ok(repo) => scan_commit(repo, *oid, scanner, max, &exclude, &mut acc),
                        Err(e) => acc.error(
                            &format!("commit {oid}"),
                            format!("cannot open repository: {}", msg(e)),
                        ),
                    }
                    acc
                },
            )
            .collect()
    };
    let threads = scanner.options().walk.threads;
    let mut results = if threads == 0 {
        run()
    } else {
        match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
            Ok(pool) => pool.install(run),
            Err(_) => run(),
        }
    };
    dedup(&mut results);
    for acc in results {
        acc.into_output(&mut out);
    }
    Ok(out)
}

/// Write the pre-commit hook into the hooks directory of the repository containing `repo`
/// (`core.hooksPath` when set, else `hooks/` in the git directory) and make it executable.
/// An existing hook not written by rampart is only replaced when `force`. Returns the
/// hook's path.
pub fn install_hook(repo: &Path, force: bool) -> Result<PathBuf, SecretsError> {
    install_hook_with(repo, force, None).map(|i| i.hook)
}

/// What [`install_hook_with`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledHook {
    /// The hook written.
    pub hook: PathBuf,
    /// Where the hook it replaced (`force`, not Rampart's) was moved.
    pub backup: Option<PathBuf>,
    /// Whether the hook falls back to an absolute binary when `rampart` is not on PATH.
    pub fallback: bool,
}

/// `s` quoted for POSIX `sh` (single quotes; `'` as `'\''`).
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The hook script: `$RAMPART` if set, else `rampart` on PATH, else `fallback` (the
/// binary that installed the hook, by absolute path).
fn hook_script(fallback: Option<&Path>) -> (String, bool) {
    let Some(abs) = fallback.filter(|p| p.is_absolute()).and_then(Path::to_str) else {
        return (HOOK_SCRIPT.to_string(), false);
    };
    // A path with a line break would end the comment; quoting covers the rest.
    if abs.contains(['\n', '\r']) {
        return (HOOK_SCRIPT.to_string(), false);
    }
    let text = format!(
        r#"#!/bin/sh
# rampart-hook: pre-commit secret scan, written by `rampart hook install`.
# Scans only the lines added by the staged changes and blocks the commit on findings of
# severity high or above. Bypass once with `git commit --no-verify`.
# Runs $RAMPART if set, else `rampart` on PATH, else the binary that installed the hook:
# {abs}
if [ -z "${{RAMPART:-}}" ]; then
  if command -v rampart >/dev/null 2>&1; then RAMPART=rampart; else RAMPART={quoted}; fi
fi
exec "$RAMPART" secrets --staged --fail-on high .
"#,
        quoted = sh_quote(abs)
    );
    (text, true)
}

/// The first free `pre-commit.rampart-backup[.N]` next to `hook`.
fn backup_path(hook: &Path) -> Result<PathBuf, SecretsError> {
    let base = hook.with_file_name("pre-commit.rampart-backup");
    for i in 0..1000 {
        let p = if i == 0 {
            base.clone()
        } else {
            hook.with_file_name(format!("pre-commit.rampart-backup.{i}"))
        };
        if std::fs::symlink_metadata(&p).is_err() {
            return Ok(p);
        }
    }
    Err(SecretsError::Git(format!(
        "{}: too many backups of the pre-commit hook",
        base.display()
    )))
}

/// [`install_hook`], recording `fallback` (normally the running binary's absolute path)
/// for when `rampart` is not on the PATH git runs the hook with; a foreign hook replaced
/// with `force` is moved to `pre-commit.rampart-backup` (then `.1`, `.2` …), never lost.
pub fn install_hook_with(
    repo: &Path,
    force: bool,
    fallback: Option<&Path>,
) -> Result<InstalledHook, SecretsError> {
    let r = open(repo)?;
    let dir = hooks_dir(&r)?;
    std::fs::create_dir_all(&dir).map_err(|e| io_err(&dir, e))?;
    let hook = dir.join("pre-commit");
    let mut backup = None;
    match std::fs::symlink_metadata(&hook) {
        Ok(_) => {
            let ours = std::fs::read(&hook)
                .map(|c| String::from_utf8_lossy(&c).contains(HOOK_MARKER))
                .unwrap_or(false);
            if !ours && !force {
                return Err(SecretsError::Git(format!(
                    "{}: a pre-commit hook not written by rampart already exists; \
                     add `rampart secrets --staged --fail-on high .` to it, or use --force \
                     to replace it",
                    hook.display()
                )));
            }
            if ours {
                // Remove rather than write through: the old hook may be a symlink.
                std::fs::remove_file(&hook).map_err(|e| io_err(&hook, e))?;
            } else {
                // Moved aside, symlink or not: the user's hook is kept.
                let b = backup_path(&hook)?;
                std::fs::rename(&hook, &b).map_err(|e| io_err(&hook, e))?;
                backup = Some(b);
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err(&hook, e)),
    }
    let (script, has_fallback) = hook_script(fallback);
    std::fs::write(&hook, script).map_err(|e| io_err(&hook, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| io_err(&hook, e))?;
    }
    Ok(InstalledHook {
        hook,
        backup,
        fallback: has_fallback,
    })
}

/// What git ignores under `root` (see [`rampart_core::walk::git_ignored`], the one
/// implementation, which the walker uses).
pub fn ignored_paths(root: &Path) -> Result<Option<GitIgnored>, SecretsError> {
    rampart_core::walk::git_ignored(root).map_err(|e| match e {
        rampart_core::Error::Git(m) => SecretsError::Git(m),
        other => SecretsError::Core(other),
    })
}

/// The scan's `exclude` globs (`--exclude`, the config's `exclude`), relative to the
/// work tree (the git directory of a bare repository), for paths in diffs.
fn excludes(r: &Repository, scanner: &SecretScanner) -> Result<ExcludeMatcher, SecretsError> {
    let root = r.workdir().unwrap_or_else(|| r.path());
    Ok(ExcludeMatcher::new(root, &scanner.options().walk.exclude)?)
}

/// Open the repository containing `path` (searching upwards).
fn open(path: &Path) -> Result<Repository, SecretsError> {
    Repository::discover(path).map_err(|e| {
        let what = if e.code() == ErrorCode::NotFound {
            "not a git repository (or any parent directory)"
        } else {
            "cannot open git repository"
        };
        SecretsError::Git(format!("{}: {what}: {}", path.display(), msg(&e)))
    })
}

/// The index to scan: `GIT_INDEX_FILE` when it points into this repository's git
/// directory, else the repository's index.
fn staged_index(r: &Repository, repo: &Path) -> Result<Index, SecretsError> {
    if let Some(file) = std::env::var_os("GIT_INDEX_FILE") {
        let file = PathBuf::from(file);
        let inside = |p: &Path| {
            let (Ok(f), Ok(d)) = (file.canonicalize(), p.canonicalize()) else {
                return false;
            };
            f.starts_with(d)
        };
        if inside(r.path()) || inside(r.commondir()) {
            return Index::open(&file).map_err(|e| {
                SecretsError::Git(format!(
                    "{}: cannot read index {}: {}",
                    repo.display(),
                    file.display(),
                    msg(&e)
                ))
            });
        }
    }
    r.index().map_err(|e| {
        SecretsError::Git(format!(
            "{}: cannot read the index: {}",
            repo.display(),
            msg(&e)
        ))
    })
}

/// Where hooks live: `core.hooksPath` (relative to the work tree, or the git directory
/// of a bare repository) or `<common git dir>/hooks`.
fn hooks_dir(r: &Repository) -> Result<PathBuf, SecretsError> {
    let cfg = r.config().map_err(|e| {
        SecretsError::Git(format!(
            "{}: cannot read config: {}",
            r.path().display(),
            msg(&e)
        ))
    })?;
    match cfg.get_path("core.hooksPath") {
        Ok(p) if p.is_absolute() => Ok(p),
        Ok(p) => Ok(r.workdir().unwrap_or_else(|| r.path()).join(p)),
        Err(e) if e.code() == ErrorCode::NotFound => Ok(r.commondir().join("hooks")),
        Err(e) => Err(SecretsError::Git(format!(
            "{}: cannot read core.hooksPath: {}",
            r.path().display(),
            msg(&e)
        ))),
    }
}

fn io_err(path: &Path, source: std::io::Error) -> SecretsError {
    SecretsError::Core(rampart_core::Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn msg(e: &git2::Error) -> &str {
    e.message()
}

fn unborn(e: &git2::Error) -> bool {
    matches!(e.code(), ErrorCode::UnbornBranch | ErrorCode::NotFound)
}

fn diff_options() -> DiffOptions {
    let mut o = DiffOptions::new();
    o.context_lines(0)
        .interhunk_lines(0)
        .include_typechange(true)
        .ignore_submodules(true);
    o
}

fn find_options() -> DiffFindOptions {
    let mut o = DiffFindOptions::new();
    o.renames(true);
    o
}

/// What one commit (or the staged diff) produced.
#[derive(Default)]
struct Acc {
    findings: Vec<Finding>,
    /// Private identity of each finding (rule, path, secret digest), for dedup only.
    keys: Vec<String>,
    errors: Vec<ScanError>,
    files: u64,
    bytes: u64,
    commits: u64,
    skipped: BTreeMap<String, u64>,
}

impl Acc {
    fn error(&mut self, path: &str, message: String) {
        self.errors.push(ScanError {
            path: path.to_string(),
            line: None,
            message,
        });
    }

    fn skip(&mut self, reason: &str) {
        *self.skipped.entry(reason.to_string()).or_default() += 1;
    }

    fn into_output(self, out: &mut ScanOutput) {
        out.findings.extend(self.findings);
        out.errors.extend(self.errors);
        out.files_scanned += self.files;
        out.bytes_scanned += self.bytes;
        out.commits_scanned += self.commits;
        for (k, v) in self.skipped {
            *out.skipped.entry(k).or_default() += v;
        }
    }
}

/// Diff one commit against its first parent and scan the added lines.
fn scan_commit(
    r: &Repository,
    oid: Oid,
    scanner: &SecretScanner,
    max: u64,
    exclude: &ExcludeMatcher,
    acc: &mut Acc,
) {
    let label = format!("commit {oid}");
    let commit = match r.find_commit(oid) {
        Ok(c) => c,
        Err(e) => return acc.error(&label, format!("cannot read commit: {}", msg(&e))),
    };
    let tree = match commit.tree() {
        Ok(t) => t,
        Err(e) => return acc.error(&label, format!("cannot read tree: {}", msg(&e))),
    };
    let parent_tree: Option<Tree<'_>> = if commit.parent_count() == 0 {
        None
    } else {
        match commit.parent(0).and_then(|p| p.tree()) {
            Ok(t) => Some(t),
            Err(e) => return acc.error(&label, format!("cannot read first parent: {}", msg(&e))),
        }
    };
    let mut opts = diff_options();
    // Blobs above the size limit count as binary for libgit2, so it never diffs them.
    opts.max_size(i64::try_from(max).unwrap_or(i64::MAX));
    let mut diff = match r.diff_tree_to_tree(parent_tree.as_ref(), Some(&tree), Some(&mut opts)) {
        Ok(d) => d,
        Err(e) => return acc.error(&label, format!("cannot diff: {}", msg(&e))),
    };
    if let Err(e) = diff.find_similar(Some(&mut find_options())) {
        acc.error(&label, format!("rename detection failed: {}", msg(&e)));
    }
    let author = commit.author();
    let info = CommitInfo {
        commit: oid.to_string(),
        author: String::from_utf8_lossy(author.name_bytes()).into_owned(),
        email: String::from_utf8_lossy(author.email_bytes()).into_owned(),
        date: rfc3339(author.when()),
        summary: commit
            .summary_bytes()
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .unwrap_or_default(),
    };
    acc.commits += 1;
    scan_diff(r, &diff, scanner, Some(&info), exclude, acc);
}

/// Scan the added lines of every added or modified blob in `diff`.
fn scan_diff(
    r: &Repository,
    diff: &Diff<'_>,
    scanner: &SecretScanner,
    commit: Option<&CommitInfo>,
    exclude: &ExcludeMatcher,
    acc: &mut Acc,
) {
    let max = scanner.options().walk.max_file_size;
    let odb = match r.odb() {
        Ok(o) => o,
        Err(e) => return acc.error("<odb>", format!("cannot open object database: {}", msg(&e))),
    };
    let where_ = |path: &str| match commit {
        Some(c) => format!("commit {}", &c.commit[..c.commit.len().min(12)]),
        None => format!("staged {path}"),
    };
    for idx in 0..diff.deltas().len() {
        let Some(delta) = diff.get_delta(idx) else {
            continue;
        };
        match delta.status() {
            Delta::Added | Delta::Modified | Delta::Renamed | Delta::Copied | Delta::Typechange => {
            }
            Delta::Conflicted => {
                acc.skip("conflicted");
                continue;
            }
            _ => continue,
        }
        let new = delta.new_file();
        match new.mode() {
            FileMode::Blob | FileMode::BlobGroupWritable | FileMode::BlobExecutable => {}
            FileMode::Link => {
                acc.skip("symlink");
                continue;
            }
            FileMode::Commit => {
                acc.skip("submodule");
                continue;
            }
            _ => continue,
        }
        let path = String::from_utf8_lossy(new.path_bytes().unwrap_or_default()).into_owned();
        if exclude.is_excluded(&path) {
            acc.skip("excluded");
            continue;
        }
        let id = new.id();
        if id.is_zero() || Some(id) == empty_blob() {
            continue;
        }
        match odb.read_header(id) {
            Ok((size, _)) if size as u64 > max => {
                acc.skip("too_large");
                continue;
            }
            Ok(_) => {}
            Err(e) => {
                acc.error(
                    &path,
                    format!("{}: cannot read blob {id}: {}", where_(&path), msg(&e)),
                );
                continue;
            }
        }
        let blob = match r.find_blob(id) {
            Ok(b) => b,
            Err(e) => {
                acc.error(
                    &path,
                    format!("{}: cannot read blob {id}: {}", where_(&path), msg(&e)),
                );
                continue;
            }
        };
        if blob.is_binary() {
            acc.skip("binary");
            continue;
        }
        // Which new lines are added: all of them for a new file, else from the patch.
        let added: Option<Vec<usize>> = if delta.status() == Delta::Added {
            None
        } else {
            match added_lines(diff, idx) {
                Ok(lines) => Some(lines),
                Err(e) => {
                    acc.error(
                        &path,
                        format!("{}: cannot diff: {}", where_(&path), msg(&e)),
                    );
                    continue;
                }
            }
        };
        if added.as_ref().is_some_and(Vec::is_empty) {
            // A pure rename or mode change: nothing new to scan.
            continue;
        }
        let content = blob.content();
        acc.files += 1;
        acc.bytes += content.len() as u64;
        let (findings, keys, problems) = scanner.findings_keyed(&path, content, commit);
        for mut p in problems {
            p.message = format!("{} ({})", p.message, where_(&path));
            if !acc.errors.contains(&p) {
                acc.errors.push(p);
            }
        }
        let (mut findings, mut keys): (Vec<Finding>, Vec<String>) = findings
            .into_iter()
            .zip(keys)
            .filter(|(f, _)| match (&added, f.location.span()) {
                (None, _) => true,
                (Some(added), Some(s)) => {
                    touches(added, s.start_line, s.end_line.max(s.start_line))
                }
                (Some(_), None) => false,
            })
            .unzip();
        if let Some(c) = commit {
            // Only file locations carry a commit; keep it for the others (Kubernetes
            // objects) as a property.
            for f in &mut findings {
                if !matches!(f.location, Location::File { .. }) {
                    if let Ok(v) = serde_json::to_value(c) {
                        f.properties.insert("commit".into(), v);
                    }
                }
            }
        }
        if !findings.is_empty() {
            // Stale ignores are not reported: the rest of the file was not scanned.
            let _stale = inline::apply(content, &path, &mut findings);
            acc.findings.append(&mut findings);
            acc.keys.append(&mut keys);
        }
    }
}

/// Sorted new line numbers of the lines added by delta `idx`.
fn added_lines(diff: &Diff<'_>, idx: usize) -> Result<Vec<usize>, git2::Error> {
    let mut out = Vec::new();
    let Some(patch) = Patch::from_diff(diff, idx)? else {
        return Ok(out);
    };
    for h in 0..patch.num_hunks() {
        for l in 0..patch.num_lines_in_hunk(h)? {
            let line = patch.line_in_hunk(h, l)?;
            if line.origin_value() == DiffLineType::Addition {
                if let Some(n) = line.new_lineno() {
                    out.push(n as usize);
                }
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// Whether a line in `start..=end` is in the sorted `added`.
fn touches(added: &[usize], start: usize, end: usize) -> bool {
    let i = added.partition_point(|&x| x < start);
    added.get(i).is_some_and(|&x| x <= end)
}

fn empty_blob() -> Option<Oid> {
    Oid::hash_object(git2::ObjectType::Blob, b"").ok()
}

/// Keep each finding (by its private key: rule, path and secret) only in the oldest
/// commit that added it (the oldest unsuppressed one when there is one), with property
/// `occurrences`. `results` is oldest first.
fn dedup(results: &mut [Acc]) {
    struct Seen {
        commits: u64,
        last: usize,
        chosen: usize,
        active: bool,
    }
    let mut seen: HashMap<String, Seen> = HashMap::new();
    for (i, acc) in results.iter().enumerate() {
        for (f, key) in acc.findings.iter().zip(&acc.keys) {
            let active = !f.is_suppressed();
            match seen.get_mut(key) {
                None => {
                    seen.insert(
                        key.clone(),
                        Seen {
                            commits: 1,
                            last: i,
                            chosen: i,
                            active,
                        },
                    );
                }
                Some(s) => {
                    if s.last != i {
                        s.commits += 1;
                        s.last = i;
                    }
                    if active && !s.active {
                        s.chosen = i;
                        s.active = true;
                    }
                }
            }
        }
    }
    for (i, acc) in results.iter_mut().enumerate() {
        let findings = std::mem::take(&mut acc.findings);
        let keys = std::mem::take(&mut acc.keys);
        for (mut f, key) in findings.into_iter().zip(keys) {
            if let Some(s) = seen.get(&key).filter(|s| s.chosen == i) {
                f.properties
                    .insert("occurrences".into(), serde_json::json!(s.commits));
                acc.findings.push(f);
            }
        }
    }
}

/// RFC 3339 form of a git time, in its own offset.
fn rfc3339(t: git2::Time) -> String {
    let off = i64::from(t.offset_minutes());
    let local = t.seconds() + off * 60;
    let (y, m, d) = civil_from_days(local.div_euclid(86_400));
    let secs = local.rem_euclid(86_400);
    let sign = if off < 0 { '-' } else { '+' };
    let off = off.abs();
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60,
        off / 60,
        off % 60
    )
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn hook_fallback_path_is_quoted_for_sh() {
        assert_eq!(sh_quote("/opt/it's/rampart"), r"'/opt/it'\''s/rampart'");
        let (text, fallback) = hook_script(Some(Path::new("/opt/it's $(x)/rampart")));
        assert!(fallback);
        // sh parses the quoted path back to itself.
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("printf %s {}", sh_quote("/opt/it's $(x)/rampart")))
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "/opt/it's $(x)/rampart"
        );
        assert!(text.contains(HOOK_MARKER));
        // Relative paths and line breaks get no fallback.
        assert!(!hook_script(Some(Path::new("rampart"))).1);
        assert!(!hook_script(Some(Path::new("/a\nb"))).1);
        assert_eq!(hook_script(None).0, HOOK_SCRIPT);
    }

    #[test]
    fn dates() {
        assert_eq!(rfc3339(git2::Time::new(0, 0)), "1970-01-01T00:00:00+00:00");
        assert_eq!(
            rfc3339(git2::Time::new(1_700_000_000, 120)),
            "2023-11-15T00:13:20+02:00"
        );
        assert_eq!(
            rfc3339(git2::Time::new(1_700_000_000, -330)),
            "2023-11-14T16:43:20-05:30"
        );
        assert_eq!(
            rfc3339(git2::Time::new(951_825_600, 0)),
            "2000-02-29T12:00:00+00:00"
        );
    }

    #[test]
    fn touching_lines() {
        let added = [3, 7, 8];
        assert!(touches(&added, 3, 3));
        assert!(!touches(&added, 4, 6));
        assert!(touches(&added, 5, 7));
        assert!(!touches(&added, 9, 12));
        assert!(!touches(&[], 1, 1));
    }
}
