//! Git history and staged scanning, and hook installation, on repositories built with
//! git2 in temporary directories.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)]

use git2::{IndexAddOption, Oid, Repository, Signature, Time};
use rampart_core::Finding;
use rampart_secrets::git::{install_hook, scan_history, scan_staged};
use rampart_secrets::scan::ScanOutput;
use rampart_secrets::{RuleSet, ScanOptions, SecretScanner, SecretsError};
use std::path::{Path, PathBuf};
use tempfile::TempDir;

const RULE: &str = "secret/aws-access-key";
// Synthetic AWS access key ids (the rule's own positive example and two like it).
const KEY_A: &str = "AKIAZ52HGXYRN4WBTEST";
const KEY_B: &str = "AKIAQ7MZ3XK2PLRW5VNB";
const KEY_C: &str = "AKIAJ6Y4TQW2ZR3MXKPD";

fn scanner() -> SecretScanner {
    SecretScanner::new(RuleSet::builtin().unwrap(), ScanOptions::default()).unwrap()
}

/// Active findings of the AWS rule (other engineers add rules; ignore theirs).
fn aws(out: &ScanOutput) -> Vec<&Finding> {
    out.findings
        .iter()
        .filter(|f| f.rule_id == RULE && !f.is_suppressed())
        .collect()
}

fn line(f: &Finding) -> usize {
    f.location.line().unwrap()
}

fn commit_of(f: &Finding) -> rampart_core::CommitInfo {
    match &f.location {
        rampart_core::Location::File {
            commit: Some(c), ..
        } => c.clone(),
        other => panic!("no commit on {other:?}"),
    }
}

struct Fixture {
    dir: TempDir,
    repo: Repository,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = TempDir::new().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        {
            let mut cfg = repo.config().unwrap();
            cfg.set_str("user.name", "Test Author").unwrap();
            cfg.set_str("user.email", "test@example.invalid").unwrap();
        }
        Fixture { dir, repo }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, rel: &str, content: &str) {
        let p = self.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }

    /// Stage every change in the work tree (additions, modifications, deletions).
    fn stage_all(&self) {
        let mut index = self.repo.index().unwrap();
        index.add_all(["*"], IndexAddOption::DEFAULT, None).unwrap();
        index.update_all(["*"], None).unwrap();
        index.write().unwrap();
    }

    /// Stage everything and commit as `who` at `secs` (+01:00).
    fn commit_as(&self, who: &str, message: &str, secs: i64) -> Oid {
        self.stage_all();
        let mut index = self.repo.index().unwrap();
        let tree = self.repo.find_tree(index.write_tree().unwrap()).unwrap();
        let sig = Signature::new(
            who,
            &format!("{}@example.invalid", who.to_lowercase()),
            &Time::new(secs, 60),
        )
        .unwrap();
        let parents: Vec<git2::Commit<'_>> = match self.repo.head() {
            Ok(h) => vec![h.peel_to_commit().unwrap()],
            Err(_) => vec![],
        };
        let parents: Vec<&git2::Commit<'_>> = parents.iter().collect();
        self.repo
            .commit(Some("HEAD"), &sig, &sig, message, &tree, &parents)
            .unwrap()
    }

    fn commit(&self, message: &str, secs: i64) -> Oid {
        self.commit_as("Test Author", message, secs)
    }

    /// Path of the loose object file of `oid`.
    fn object_file(&self, oid: Oid) -> PathBuf {
        let hex = oid.to_string();
        self.repo
            .path()
            .join("objects")
            .join(&hex[..2])
            .join(&hex[2..])
    }
}

fn history(f: &Fixture, since: Option<&str>) -> ScanOutput {
    scan_history(&scanner(), f.path(), since).unwrap()
}

fn staged(f: &Fixture) -> ScanOutput {
    scan_staged(&scanner(), f.path()).unwrap()
}

#[test]
fn keys_are_detected_by_the_builtin_rule() {
    let s = scanner();
    for key in [KEY_A, KEY_B, KEY_C] {
        let text = format!("aws_access_key_id = {key}\n");
        let (findings, _) = s.scan_buffer("x.env", text.as_bytes(), false);
        assert!(
            findings.iter().any(|f| f.rule_id == RULE),
            "{key} not detected"
        );
    }
}

#[test]
fn history_finds_a_secret_added_then_deleted() {
    let f = Fixture::new();
    f.write("README.md", "# demo\n");
    f.commit("initial", 1_600_000_000);
    f.write(
        "config/app.env",
        &format!("REGION=eu-west-1\nDEBUG=0\naws_access_key_id = {KEY_A}\n"),
    );
    let c2 = f.commit_as("Alice", "add config\n\nwith a body", 1_600_003_600);
    std::fs::remove_file(f.path().join("config/app.env")).unwrap();
    f.commit("remove config", 1_600_007_200);

    let out = history(&f, None);
    assert_eq!(out.commits_scanned, 3);
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    let found = aws(&out);
    assert_eq!(found.len(), 1, "{found:#?}");
    let finding = found[0];
    assert_eq!(finding.location.path(), Some("config/app.env"));
    assert_eq!(line(finding), 3);
    let c = commit_of(finding);
    assert_eq!(c.commit, c2.to_string());
    assert_eq!(c.author, "Alice");
    assert_eq!(c.email, "alice@example.invalid");
    // 1_600_003_600 = 2020-09-13T13:26:40Z, shown in the author's +01:00.
    assert_eq!(c.date, "2020-09-13T14:26:40+01:00");
    assert_eq!(c.summary, "add config");
    assert_eq!(finding.properties["occurrences"], serde_json::json!(1));
    // The secret is redacted in the message.
    assert!(!finding.message.contains(KEY_A));
}

#[test]
fn history_reports_a_fingerprint_once_at_the_oldest_commit() {
    let f = Fixture::new();
    f.write("a.txt", &format!("key = {KEY_A}\n"));
    let c1 = f.commit("add key", 1_600_000_000);
    // Same key on a rewritten line: an added line, same fingerprint.
    f.write("a.txt", &format!("aws_key = {KEY_A} # renamed\n"));
    f.commit("rename var", 1_600_000_100);
    // Moved to another line, and a new key elsewhere.
    f.write(
        "a.txt",
        &format!("# header\n\nother = 1\nmoved = {KEY_A}\nsecond = {KEY_B}\n"),
    );
    let c3 = f.commit("move key", 1_600_000_200);
    // An unrelated change: the key lines are untouched and must not be re-reported.
    f.write(
        "a.txt",
        &format!("# header v2\n\nother = 1\nmoved = {KEY_A}\nsecond = {KEY_B}\n"),
    );
    f.commit("touch header", 1_600_000_300);

    let out = history(&f, None);
    assert_eq!(out.commits_scanned, 4);
    let found = aws(&out);
    assert_eq!(found.len(), 2, "{found:#?}");
    let a = found
        .iter()
        .find(|x| commit_of(x).commit == c1.to_string())
        .expect("KEY_A at its first commit");
    assert_eq!(line(a), 1);
    assert_eq!(a.properties["occurrences"], serde_json::json!(3));
    let b = found
        .iter()
        .find(|x| commit_of(x).commit == c3.to_string())
        .expect("KEY_B at the commit that added it");
    assert_eq!(line(b), 5);
    assert_eq!(b.properties["occurrences"], serde_json::json!(1));
}

#[test]
fn history_since_limits_the_range() {
    let f = Fixture::new();
    f.write("a.txt", &format!("k = {KEY_A}\n"));
    let c1 = f.commit("one", 1_600_000_000);
    f.write("b.txt", &format!("k = {KEY_B}\n"));
    let c2 = f.commit("two", 1_600_000_100);

    let out = history(&f, Some(&c1.to_string()));
    assert_eq!(out.commits_scanned, 1);
    let found = aws(&out);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].location.path(), Some("b.txt"));
    assert_eq!(commit_of(found[0]).commit, c2.to_string());

    // Revspecs, not only ids.
    let out = history(&f, Some("HEAD~1"));
    assert_eq!(out.commits_scanned, 1);
    let out = history(&f, Some("HEAD"));
    assert_eq!(out.commits_scanned, 0);
    assert!(out.findings.is_empty());

    let err = scan_history(&scanner(), f.path(), Some("no-such-rev")).unwrap_err();
    assert!(matches!(err, SecretsError::Git(_)));
    assert!(err.to_string().contains("no-such-rev"), "{err}");
}

#[test]
fn history_diffs_merges_against_the_first_parent_only() {
    let f = Fixture::new();
    f.write("base.txt", "base\n");
    let base = f.commit("base", 1_600_000_000);
    // Side branch adds a key.
    f.write("side.txt", &format!("k = {KEY_C}\n"));
    let side = f.commit("side", 1_600_000_100);
    // Back to main: reset HEAD to base and make another commit.
    let base_commit = f.repo.find_commit(base).unwrap();
    f.repo
        .reset(base_commit.as_object(), git2::ResetType::Hard, None)
        .unwrap();
    f.write("main.txt", "main\n");
    let main = f.commit("main", 1_600_000_200);
    // Merge side into main.
    let side_commit = f.repo.find_commit(side).unwrap();
    let main_commit = f.repo.find_commit(main).unwrap();
    let mut idx = f
        .repo
        .merge_commits(&main_commit, &side_commit, None)
        .unwrap();
    let tree = f
        .repo
        .find_tree(idx.write_tree_to(&f.repo).unwrap())
        .unwrap();
    let sig = Signature::new("Merger", "m@example.invalid", &Time::new(1_600_000_300, 0)).unwrap();
    f.repo
        .commit(
            Some("HEAD"),
            &sig,
            &sig,
            "merge side",
            &tree,
            &[&main_commit, &side_commit],
        )
        .unwrap();

    let out = history(&f, None);
    assert_eq!(out.commits_scanned, 4);
    let found = aws(&out);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(commit_of(found[0]).commit, side.to_string());
    // Added by the side commit and again by the merge relative to its first parent.
    assert_eq!(found[0].properties["occurrences"], serde_json::json!(2));
}

#[test]
fn history_of_an_unborn_branch_is_empty() {
    let f = Fixture::new();
    let out = history(&f, None);
    assert_eq!(out.commits_scanned, 0);
    assert!(out.findings.is_empty());
}

#[test]
fn staged_reports_only_added_lines() {
    let f = Fixture::new();
    f.write(
        "app.env",
        &format!("# settings\nold_key = {KEY_A}\nregion = x\n"),
    );
    f.commit("existing secret", 1_600_000_000);
    // Stage a new key on line 4; the committed key on line 2 stays.
    f.write(
        "app.env",
        &format!("# settings\nold_key = {KEY_A}\nregion = x\nnew_key = {KEY_B}\n"),
    );
    f.stage_all();
    // A key only in the work tree (not staged) is not part of the commit.
    f.write(
        "app.env",
        &format!("# settings\nold_key = {KEY_A}\nregion = x\nnew_key = {KEY_B}\nwip = {KEY_C}\n"),
    );
    f.write("unstaged.txt", &format!("{KEY_C}\n"));

    let out = staged(&f);
    assert_eq!(out.commits_scanned, 0);
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    let found = aws(&out);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].location.path(), Some("app.env"));
    assert_eq!(line(found[0]), 4);
    assert!(matches!(
        &found[0].location,
        rampart_core::Location::File { commit: None, .. }
    ));
    assert_eq!(out.files_scanned, 1);
}

#[test]
fn staged_on_an_unborn_branch_scans_everything_staged() {
    let f = Fixture::new();
    f.write("new/creds.txt", &format!("line\nk = {KEY_B}\n"));
    f.stage_all();
    let out = staged(&f);
    let found = aws(&out);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].location.path(), Some("new/creds.txt"));
    assert_eq!(line(found[0]), 2);
}

#[test]
fn staged_ignores_deletions_and_pure_renames() {
    let f = Fixture::new();
    f.write("old.txt", &format!("k = {KEY_A}\nsome\nmore\nlines\n"));
    f.write("gone.txt", &format!("k = {KEY_B}\n"));
    f.commit("base", 1_600_000_000);
    std::fs::rename(f.path().join("old.txt"), f.path().join("new.txt")).unwrap();
    std::fs::remove_file(f.path().join("gone.txt")).unwrap();
    f.stage_all();
    let out = staged(&f);
    assert!(aws(&out).is_empty(), "{:#?}", out.findings);
}

#[test]
fn staged_honours_inline_ignores_without_reporting_stale_ones() {
    let f = Fixture::new();
    f.write("seed.txt", "seed\n");
    f.commit("seed", 1_600_000_000);
    f.write(
        "fixture.py",
        &format!(
            "KEY = \"{KEY_A}\"  # rampart:ignore {RULE} -- test fixture\n\
             # rampart:ignore secret/some-other-rule\n\
             x = 1\n"
        ),
    );
    f.stage_all();
    let out = staged(&f);
    let all: Vec<&Finding> = out.findings.iter().filter(|f| f.rule_id == RULE).collect();
    assert_eq!(all.len(), 1);
    assert!(all[0].is_suppressed());
    assert!(aws(&out).is_empty());
    assert!(out.stale.is_empty(), "{:?}", out.stale);
}

#[test]
fn staged_skips_binary_and_large_blobs() {
    let f = Fixture::new();
    let mut bin = b"\x00\x01\x02 binary ".to_vec();
    bin.extend_from_slice(KEY_A.as_bytes());
    std::fs::write(f.path().join("blob.bin"), &bin).unwrap();
    f.write("big.txt", &format!("{}\nk = {KEY_B}\n", "x".repeat(4096)));
    f.stage_all();

    let out = staged(&f);
    assert_eq!(out.skipped.get("binary"), Some(&1));
    assert_eq!(aws(&out).len(), 1);

    let mut opts = ScanOptions::default();
    opts.walk.max_file_size = 1024;
    let small = SecretScanner::new(RuleSet::builtin().unwrap(), opts).unwrap();
    let out = scan_staged(&small, f.path()).unwrap();
    assert_eq!(out.skipped.get("too_large"), Some(&1));
    assert!(aws(&out).is_empty());
}

#[test]
fn not_a_repository_is_a_clear_error() {
    let dir = TempDir::new().unwrap();
    for err in [
        scan_staged(&scanner(), dir.path()).unwrap_err(),
        scan_history(&scanner(), dir.path(), None).unwrap_err(),
        install_hook(dir.path(), false).unwrap_err(),
    ] {
        let text = err.to_string();
        assert!(matches!(err, SecretsError::Git(_)), "{text}");
        assert!(text.contains("not a git repository"), "{text}");
        assert!(text.contains(&dir.path().display().to_string()), "{text}");
    }
}

#[test]
fn corrupt_head_is_an_error_not_a_panic() {
    let f = Fixture::new();
    f.write("a.txt", "a\n");
    f.commit("one", 1_600_000_000);
    std::fs::write(f.repo.path().join("HEAD"), "\x00garbage\x7f not a ref\n").unwrap();
    assert!(scan_history(&scanner(), f.path(), None).is_err());
    assert!(scan_staged(&scanner(), f.path()).is_err());
}

#[test]
fn corrupt_head_commit_object_is_an_error() {
    let f = Fixture::new();
    f.write("a.txt", "a\n");
    let c = f.commit("one", 1_600_000_000);
    let file = f.object_file(c);
    let mut perms = std::fs::metadata(&file).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&file, perms).unwrap();
    std::fs::write(&file, b"not zlib at all").unwrap();
    let err = scan_history(&scanner(), f.path(), None).unwrap_err();
    assert!(matches!(err, SecretsError::Git(_)), "{err}");
}

#[test]
fn an_unreadable_blob_is_recorded_and_the_scan_goes_on() {
    let f = Fixture::new();
    f.write("broken.txt", "this blob will be corrupted\n");
    f.commit("one", 1_600_000_000);
    f.write("ok.txt", &format!("k = {KEY_B}\n"));
    f.commit("two", 1_600_000_100);
    let blob = f.repo.blob_path(&f.path().join("broken.txt")).unwrap();
    let file = f.object_file(blob);
    let mut perms = std::fs::metadata(&file).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&file, perms).unwrap();
    std::fs::write(&file, b"\x78\x9c garbage").unwrap();

    let out = history(&f, None);
    assert_eq!(out.commits_scanned, 2);
    assert_eq!(out.errors.len(), 1, "{:?}", out.errors);
    assert_eq!(out.errors[0].path, "broken.txt");
    assert!(out.errors[0].message.contains(&blob.to_string()));
    assert_eq!(aws(&out).len(), 1);
}

#[cfg(unix)]
#[test]
fn install_hook_writes_an_executable_hook_and_refuses_to_clobber() {
    use std::os::unix::fs::PermissionsExt;
    let f = Fixture::new();
    let hook = install_hook(f.path(), false).unwrap();
    assert_eq!(hook, f.repo.path().join("hooks").join("pre-commit"));
    let text = std::fs::read_to_string(&hook).unwrap();
    assert!(text.starts_with("#!/bin/sh\n"));
    assert!(text.contains("secrets --staged --fail-on high ."));
    assert!(text.contains("exec \"${RAMPART:-rampart}\""));
    let mode = std::fs::metadata(&hook).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o755);

    // Ours: reinstalling is fine.
    assert_eq!(install_hook(f.path(), false).unwrap(), hook);

    // Foreign: refused, left alone; replaced with force.
    let foreign = "#!/bin/sh\necho my own hook\n";
    std::fs::write(&hook, foreign).unwrap();
    let err = install_hook(f.path(), false).unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");
    assert_eq!(std::fs::read_to_string(&hook).unwrap(), foreign);
    install_hook(f.path(), true).unwrap();
    assert!(std::fs::read_to_string(&hook)
        .unwrap()
        .contains("rampart-hook:"));
}

#[test]
fn install_hook_respects_core_hooks_path() {
    let f = Fixture::new();
    f.repo
        .config()
        .unwrap()
        .set_str("core.hooksPath", "tools/hooks")
        .unwrap();
    let hook = install_hook(f.path(), false).unwrap();
    assert_eq!(hook, f.path().join("tools/hooks/pre-commit"));
    assert!(hook.is_file());
}

/// The hook as git runs it: `git commit` with `RAMPART` pointing to a stand-in that
/// records its arguments and fails, which must block the commit.
#[cfg(unix)]
#[test]
fn installed_hook_runs_rampart_and_blocks_the_commit() {
    use std::os::unix::fs::PermissionsExt;
    use std::process::Command;
    if Command::new("git").arg("--version").output().is_err() {
        eprintln!("git CLI not available; skipped");
        return;
    }
    let f = Fixture::new();
    install_hook(f.path(), false).unwrap();
    let tools = TempDir::new().unwrap();
    let log = tools.path().join("args.txt");
    let fake = tools.path().join("fake-rampart");
    std::fs::write(
        &fake,
        format!("#!/bin/sh\necho \"$@\" > '{}'\nexit 1\n", log.display()),
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    f.write("a.txt", "a\n");
    f.stage_all();
    let status = Command::new("git")
        .args(["commit", "-q", "-m", "blocked"])
        .current_dir(f.path())
        .env("RAMPART", &fake)
        .env_remove("GIT_INDEX_FILE")
        .env_remove("GIT_DIR")
        .status()
        .unwrap();
    assert!(!status.success(), "the failing hook must block the commit");
    assert_eq!(
        std::fs::read_to_string(&log).unwrap().trim(),
        "secrets --staged --fail-on high ."
    );
    assert!(f.repo.head().is_err(), "nothing was committed");
}

#[test]
fn history_keeps_the_commit_on_kubernetes_object_findings() {
    let f = Fixture::new();
    f.write(
        "k8s/secret.yaml",
        &format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n  namespace: shop\n\
             type: Opaque\nstringData:\n  aws-access-key-id: {KEY_B}\n"
        ),
    );
    let c = f.commit("add manifest", 1_600_000_000);
    let out = history(&f, None);
    assert!(!out.findings.is_empty());
    for finding in &out.findings {
        match &finding.location {
            rampart_core::Location::File { commit, .. } => {
                assert_eq!(commit.as_ref().unwrap().commit, c.to_string())
            }
            _ => assert_eq!(
                finding.properties["commit"]["commit"],
                serde_json::json!(c.to_string()),
                "{finding:#?}"
            ),
        }
    }
}
