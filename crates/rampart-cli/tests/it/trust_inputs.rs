//! Scanned content is data, never authority, and every input is bounded: through the real
//! binary.
//!
//! - Dockerfiles whose size made the rules quadratic (R5 of ../shared/repro: a `RUN`
//!   continued over thousands of install lines; thousands of stages, `ARG`s, `CMD`s) run
//!   in bounded time and memory.
//! - Side reads (`requirements.txt` includes, Helm `# Source:` paths) stay inside the
//!   scanned root, and a file's content is never echoed into the log.
//! - `helm`/`kubectl` are never taken from the scanned repository through `PATH`, and
//!   remote Kustomize resources are refused unless allowed.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)]

use rampart_testkit::bounded::Run;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

/// The binary under test: this build's, or `RAMPART_TEST_BIN` (to show that an older
/// build fails these tests).
fn bin() -> String {
    std::env::var("RAMPART_TEST_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_rampart").into())
}

/// Run `rampart ARGS` in `dir` under the testkit's time and memory bound.
fn bounded(dir: &Path, args: &[&str]) -> Run {
    rampart_testkit::bounded::run(&bin(), dir, args)
}

/// The report on stdout.
fn json(run: &Run) -> Value {
    serde_json::from_slice(&run.out.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.text()))
}

fn findings<'a>(r: &'a Value, rule: &str) -> Vec<&'a Value> {
    r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"] == rule)
        .collect()
}

// ------------------------------------------------------------ Dockerfiles: linear work

/// R5: one `RUN` continued over 10,000 `apt-get install` lines (about 300 KB). Every
/// per-command rule made one hit per command, each holding the whole instruction text:
/// 8,000 lines took 1.8 GB, 10,000 took 7.9 GB. Now each rule reports the `RUN` once.
#[test]
fn r5_run_continued_over_thousands_of_lines_is_linear() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("FROM debian:12.5\nRUN true \\\n");
    for _ in 0..10_000 {
        text.push_str(" && apt-get install -y curl \\\n");
    }
    text.push_str(" && true\nUSER app\n");
    std::fs::write(dir.path().join("Dockerfile"), text).unwrap();
    let run = bounded(dir.path(), &["iac", ".", "-f", "json", "--fail-on", "none"]);
    run.assert_bounded();
    assert_eq!(run.out.status.code(), Some(0), "{}", run.text());
    let r = json(&run);
    for rule in ["docker/apt-no-install-recommends", "docker/apt-unpinned"] {
        let f = findings(&r, rule);
        assert_eq!(f.len(), 1, "{rule}: one finding for the one RUN");
        assert_eq!(f[0]["location"]["span"]["start_line"], 2);
        assert_eq!(f[0]["location"]["span"]["end_line"], 10_003);
    }
    assert_eq!(
        findings(&r, "docker/apt-unpinned")[0]["message"],
        "unpinned: curl"
    );
}

/// The same shape elsewhere: 20,000 stages (each rule compared a stage with every earlier
/// one), 10,000 global `ARG`s before 10,000 `FROM`s (the `ARG` table was rebuilt per
/// `FROM`: over two minutes), 10,000 stages with two `CMD`s each.
#[test]
fn many_stages_args_and_cmds_are_linear() {
    let dir = tempfile::tempdir().unwrap();
    let stages: String = (0..20_000).map(|i| format!("FROM a:1 AS s{i}\n")).collect();
    let args: String = (0..10_000)
        .map(|i| format!("ARG A{i}=1\n"))
        .chain((0..10_000).map(|_| "FROM a:${A9999}\n".to_string()))
        .collect();
    let cmds: String = (0..10_000)
        .map(|_| "FROM a:1\nCMD [\"x\"]\nCMD [\"y\"]\n")
        .collect();
    for (name, text) in [("stages", stages), ("args", args), ("cmds", cmds)] {
        let sub = dir.path().join(name);
        std::fs::create_dir(&sub).unwrap();
        std::fs::write(sub.join("Dockerfile"), text).unwrap();
        let run = bounded(&sub, &["iac", ".", "-f", "json", "--fail-on", "none"]);
        run.assert_bounded();
        assert_eq!(run.out.status.code(), Some(0), "{name}: {}", run.text());
        let r = json(&run);
        match name {
            // Every stage is untagged-free and named; the last one is shipped, no USER.
            "stages" => assert_eq!(findings(&r, "docker/missing-user").len(), 1),
            // `${A9999}` resolves from the global ARGs: no untagged-base finding.
            "args" => assert!(findings(&r, "docker/untagged-base").is_empty()),
            _ => {
                let m = findings(&r, "docker/multiple-cmd");
                assert_eq!(m.len(), 10_000, "one per stage");
                assert_eq!(m[0]["location"]["span"]["start_line"], 3);
                assert!(m[0]["message"]
                    .as_str()
                    .unwrap()
                    .contains("line 2 already has one"));
            }
        }
    }
}

// ------------------------------------------------------ side reads stay inside the root

/// `rampart ARGS` in `dir` with extra environment variables.
fn rampart(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(bin());
    c.args(args).current_dir(dir).env("NO_COLOR", "1");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn all_text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Package names listed by `rampart deps --list -f json`.
fn listed(o: &Output) -> Vec<String> {
    let v: Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", all_text(o)));
    v["lockfiles"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|l| l["packages"].as_array().unwrap().iter())
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect()
}

/// `-r /proc/self/environ` used to read the CI environment and print it, line by line,
/// as "not a requirement" notes. Now the include is refused unread, the error names it,
/// and the exit code says the inventory is incomplete.
#[test]
fn requirements_include_of_proc_environ_is_refused_and_not_echoed() {
    let dir = tempfile::tempdir().unwrap();
    let marker = "h7-marker-9f2c1e-secret-value";
    std::fs::write(
        dir.path().join("requirements.txt"),
        "flask==2.0.0\n-r /proc/self/environ\n-c /etc/passwd\n",
    )
    .unwrap();
    let o = rampart(
        dir.path(),
        &["deps", ".", "--list", "-f", "json"],
        &[("H7_MARKER", marker)],
    );
    let text = all_text(&o);
    assert!(!text.contains(marker), "environment echoed:\n{text}");
    assert!(!text.contains("root:x:0:0"), "/etc/passwd echoed:\n{text}");
    assert!(
        text.contains("refused to read `/proc/self/environ`")
            && text.contains("refused to read `/etc/passwd`")
            && text.contains("outside the scanned root"),
        "{text}"
    );
    assert_eq!(o.status.code(), Some(2), "{text}");
    assert_eq!(listed(&o), ["flask"]);
}

/// `-r ../outside.txt` and an include that is a symlink leading out of the root are
/// refused; an include inside the root (also through a symlink staying inside) is read.
#[test]
fn requirements_includes_outside_the_root_are_refused() {
    let top = tempfile::tempdir().unwrap();
    std::fs::write(top.path().join("outside.txt"), "leaked-pkg==6.6.6\n").unwrap();
    let root = top.path().join("repo");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::write(root.join("sub/inner.txt"), "inner-pkg==1.0.0\n").unwrap();
    std::os::unix::fs::symlink("../outside.txt", root.join("link-out.txt")).unwrap();
    std::os::unix::fs::symlink("sub/inner.txt", root.join("link-in.txt")).unwrap();
    std::fs::write(
        root.join("requirements.txt"),
        "flask==2.0.0\n-r ../outside.txt\n-r link-out.txt\n-r sub/inner.txt\n",
    )
    .unwrap();
    std::fs::write(root.join("requirements-dev.txt"), "-r link-in.txt\n").unwrap();
    let o = rampart(&root, &["deps", ".", "--list", "-f", "json"], &[]);
    let text = all_text(&o);
    let mut names = listed(&o);
    names.sort();
    assert_eq!(names, ["flask", "inner-pkg", "inner-pkg"], "{text}");
    assert!(!text.contains("leaked-pkg"), "{text}");
    assert!(text.contains("refused to read `../outside.txt`"), "{text}");
    assert!(text.contains("refused to read `link-out.txt`"), "{text}");
    assert_eq!(o.status.code(), Some(2), "{text}");
}

// ------------------------------------------------------------ helm, kubectl, kustomize

fn write_exec(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A repository carrying its own `helm` and `kubectl`: with `PATH` holding an empty
/// entry, `.`, or an absolute directory inside the repository, and the repository as the
/// working directory, neither program is run.
#[test]
fn helm_and_kubectl_are_never_run_from_the_scanned_repository() {
    let top = tempfile::tempdir().unwrap();
    let repo = top.path().join("repo");
    std::fs::create_dir_all(repo.join("chart/templates")).unwrap();
    std::fs::create_dir_all(repo.join("app")).unwrap();
    std::fs::create_dir_all(repo.join("tools")).unwrap();
    std::fs::write(
        repo.join("chart/Chart.yaml"),
        "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    )
    .unwrap();
    std::fs::write(
        repo.join("app/kustomization.yaml"),
        "resources:\n- pod.yaml\n",
    )
    .unwrap();
    std::fs::write(
        repo.join("app/pod.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: nginx}]}\n",
    )
    .unwrap();
    let marker = top.path().join("ran");
    let script = format!("#!/bin/sh\necho \"$0\" >> '{}'\nexit 1\n", marker.display());
    for dir in [repo.clone(), repo.join("tools")] {
        write_exec(&dir.join("helm"), &script);
        write_exec(&dir.join("kubectl"), &script);
    }
    let inside = format!("{}:/usr/bin:/bin", repo.join("tools").display());
    for path in [
        ":/usr/bin:/bin",
        ".:/usr/bin:/bin",
        "/usr/bin:/bin:",
        &inside,
    ] {
        let o = rampart(
            &repo,
            &["k8s", ".", "-f", "json", "--fail-on", "none"],
            &[("PATH", path)],
        );
        assert!(
            !marker.exists(),
            "PATH={path}: ran {}\n{}",
            std::fs::read_to_string(&marker).unwrap_or_default(),
            all_text(&o)
        );
        let r: Value =
            serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", all_text(&o)));
        let errors = r["errors"].to_string();
        assert!(
            errors.contains("Helm chart skipped: `helm` is not on PATH"),
            "{errors}"
        );
    }
}

/// A kustomization naming remote resources (https and git URLs) is not built: one error
/// per entry names it, nothing is fetched, and the raw files are scanned. A repository's
/// own `rampart.yaml` cannot allow it; the runner's `--allow-remote` can.
#[test]
fn remote_kustomize_resources_are_refused_unless_allowed() {
    let top = tempfile::tempdir().unwrap();
    let repo = top.path().join("repo");
    std::fs::create_dir_all(repo.join("app")).unwrap();
    std::fs::create_dir_all(top.path().join("outside")).unwrap();
    std::fs::write(
        top.path().join("outside/kustomization.yaml"),
        "resources: []\n",
    )
    .unwrap();
    std::fs::write(
        repo.join("app/kustomization.yaml"),
        "resources:\n- pod.yaml\n- https://example.invalid/evil/deploy.yaml\n- git@github.com:example/repo.git//base?ref=v1\n- ../../outside\n",
    )
    .unwrap();
    std::fs::write(
        repo.join("app/pod.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: nginx, securityContext: {privileged: true}}]}\n",
    )
    .unwrap();
    std::fs::write(repo.join("rampart.yaml"), "k8s:\n  allow_remote: true\n").unwrap();
    let errors_of = |args: &[&str]| {
        let mut a = vec!["k8s", ".", "-f", "json", "--fail-on", "none"];
        a.extend_from_slice(args);
        let o = rampart(&repo, &a, &[]);
        let r: Value =
            serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", all_text(&o)));
        (r, all_text(&o))
    };
    let (r, text) = errors_of(&[]);
    let errors = r["errors"].to_string();
    for entry in [
        "https://example.invalid/evil/deploy.yaml",
        "git@github.com:example/repo.git//base?ref=v1",
    ] {
        assert!(
            errors.contains(&format!("resources entry `{entry}` is not a local file")),
            "{entry}: {errors}"
        );
    }
    assert!(
        errors.contains("resources entry `../../outside` is outside the scanned root"),
        "{errors}"
    );
    assert!(errors.contains("--allow-remote"), "{errors}");
    // The repository's config asked for remote access: refused, and said so.
    assert!(text.contains("k8s.allow_remote"), "{text}");
    // The raw files were still scanned.
    assert_eq!(findings(&r, "k8s/pss-privileged").len(), 1, "{r:#}");

    // The runner allows remote resources: the remote entries are no longer refused (the
    // local one outside the root still is).
    let (r, _) = errors_of(&["--allow-remote"]);
    let errors = r["errors"].to_string();
    assert!(!errors.contains("is not a local file"), "{errors}");
    assert!(errors.contains("outside the scanned root"), "{errors}");
}

/// `helm template` output is data: a `# Source:` comment naming a file outside the chart
/// (by `..`, or through a symlink in the chart) is not read; the objects point at the
/// chart and an error names the refused path.
#[test]
fn helm_source_paths_outside_the_chart_are_not_read() {
    let top = tempfile::tempdir().unwrap();
    let repo = top.path().join("repo");
    let bin = top.path().join("bin");
    std::fs::create_dir_all(repo.join("chart/templates")).unwrap();
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::write(
        repo.join("chart/Chart.yaml"),
        "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    )
    .unwrap();
    // Outside the scanned root: if read, its line 9 would become the finding's line.
    std::fs::write(
        top.path().join("outside.yaml"),
        "a: 1\nb: 2\nc: 3\nd: 4\ne: 5\nf: 6\ng: 7\nh: 8\nprivileged: true\n",
    )
    .unwrap();
    // Inside the scanned root but outside the chart.
    std::fs::write(repo.join("other.yaml"), "x: 1\nprivileged: true\n").unwrap();
    std::os::unix::fs::symlink("../../other.yaml", repo.join("chart/templates/link.yaml")).unwrap();
    let doc = |source: &str, name: &str| {
        format!(
            "---\n# Source: {source}\napiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n  containers:\n  - name: c\n    image: nginx\n    securityContext:\n      privileged: true\n"
        )
    };
    let out = format!(
        "{}{}",
        doc("web/../../outside.yaml", "dotdot"),
        doc("web/templates/link.yaml", "symlink")
    );
    write_exec(
        &bin.join("helm"),
        &format!("#!/bin/sh\ncat <<'EOF'\n{out}EOF\n"),
    );
    let o = rampart(
        &repo,
        &["k8s", ".", "-f", "json", "--fail-on", "none"],
        &[("PATH", &format!("{}:/usr/bin:/bin", bin.display()))],
    );
    let r: Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", all_text(&o)));
    let p = findings(&r, "k8s/pss-privileged");
    assert_eq!(p.len(), 2, "{r:#}");
    for f in &p {
        assert_eq!(f["location"]["path"], "chart", "{f:#}");
        assert!(f["location"]["span"].is_null(), "{f:#}");
    }
    let errors = r["errors"].to_string();
    assert!(
        errors.contains("# Source: ../../outside.yaml") && errors.contains("outside the chart"),
        "{errors}"
    );
    assert!(errors.contains("# Source: templates/link.yaml"), "{errors}");

    // A symlink in the chart leading out of the scanned root: helm would read it
    // (`.Files.Get`), so the chart is not rendered at all.
    let marker = top.path().join("helm-ran");
    write_exec(
        &bin.join("helm"),
        &format!("#!/bin/sh\ntouch '{}'\n", marker.display()),
    );
    std::fs::remove_file(repo.join("chart/templates/link.yaml")).unwrap();
    std::os::unix::fs::symlink("../../outside.yaml", repo.join("chart/files.yaml")).unwrap();
    let o = rampart(
        &repo,
        &["k8s", ".", "-f", "json", "--fail-on", "none"],
        &[("PATH", &format!("{}:/usr/bin:/bin", bin.display()))],
    );
    assert!(!marker.exists(), "{}", all_text(&o));
    let r: Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", all_text(&o)));
    let errors = r["errors"].to_string();
    assert!(
        errors.contains(
            "Helm chart skipped: `files.yaml` is a symlink leading outside the scanned root"
        ),
        "{errors}"
    );
}

/// A kustomization directory holding a symlink that leads out of the scanned root is not
/// built (kustomize would follow it); the error names the link.
#[test]
fn kustomization_with_a_symlink_out_of_the_root_is_not_built() {
    let top = tempfile::tempdir().unwrap();
    let repo = top.path().join("repo");
    std::fs::create_dir_all(repo.join("app")).unwrap();
    std::fs::write(
        top.path().join("outside.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: leaked}\ndata: {k: v}\n",
    )
    .unwrap();
    std::os::unix::fs::symlink("../../outside.yaml", repo.join("app/cm.yaml")).unwrap();
    std::fs::write(
        repo.join("app/kustomization.yaml"),
        "resources:\n- pod.yaml\n",
    )
    .unwrap();
    std::fs::write(
        repo.join("app/pod.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: nginx}]}\n",
    )
    .unwrap();
    let o = rampart(&repo, &["k8s", ".", "-f", "json", "--fail-on", "none"], &[]);
    let r: Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", all_text(&o)));
    let errors = r["errors"].to_string();
    assert!(
        errors.contains("`cm.yaml` is a symlink leading outside the scanned root"),
        "{errors}"
    );
    assert!(
        !o.stdout.windows(6).any(|w| w == b"leaked"),
        "{}",
        all_text(&o)
    );
}
