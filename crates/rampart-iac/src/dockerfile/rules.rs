//! Dockerfile rules (`docker/<slug>`): hadolint's most important checks plus the
//! security checks Checkov and Trivy add (secrets in `ENV`/`ARG`, `curl | sh`, SSH port).

use super::parse::{key_values, shell_words, Dockerfile, Instruction};
use crate::meta::{meta, MetaSpec};
use rampart_core::secret_name::looks_like_secret_name;
use rampart_core::{ImageRef, RuleMeta, Severity};
use std::collections::{HashMap, HashSet};

/// One rule hit: line range and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// The rule slug (`user-root`).
    pub slug: &'static str,
    /// First line.
    pub line: usize,
    /// Last line.
    pub end_line: usize,
    /// What this instance is.
    pub message: String,
    /// Identity for the fingerprint (instruction text, key name …; never a secret value).
    pub identity: String,
}

/// A Dockerfile rule: metadata and a check.
pub struct Rule {
    /// Metadata (id `docker/<slug>`).
    pub spec: MetaSpec,
    /// The check.
    pub check: fn(&Dockerfile, &mut Vec<Hit>),
}

macro_rules! rule {
    ($slug:expr, $sev:ident, $title:expr, $desc:expr, $fix:expr, [$($r:expr),*], $check:path) => {
        Rule {
            spec: MetaSpec {
                id: concat!("docker/", $slug),
                severity: Severity::$sev,
                title: $title,
                description: $desc,
                remediation: $fix,
                references: &[$($r),*],
            },
            check: $check,
        }
    };
}

/// Every Dockerfile rule.
pub fn rules() -> Vec<Rule> {
    vec![
        rule!("missing-user", Medium, "The final image runs as root: no USER instruction",
            "Without a `USER` instruction in the final stage the container runs as root, so a compromise of the process is a compromise of root in the container (and a step away from the node).",
            "Create an unprivileged user and add `USER <name or uid>` to the final stage.",
            ["CKV_DOCKER_3", "https://docs.docker.com/develop/develop-images/instructions/#user"], check_missing_user),
        rule!("user-root", Medium, "The last USER of the final stage is root",
            "The final stage switches back to `root` (or uid 0) as its last `USER`, so the container runs as root.",
            "End the final stage with `USER <unprivileged user>`.",
            ["DL3002", "CKV_DOCKER_8"], check_user_root),
        rule!("latest-tag", Medium, "Base image uses the `latest` tag",
            "`FROM image:latest` builds from whatever `latest` points to today: builds are not reproducible and a compromised or broken upstream release flows straight in.",
            "Pin a version tag, ideally with a digest: `FROM debian:12.5@sha256:…`.",
            ["DL3007", "CKV_DOCKER_7"], check_latest_tag),
        rule!("untagged-base", Medium, "Base image has no tag",
            "`FROM image` without a tag or digest means `latest`: builds are not reproducible.",
            "Pin a version tag, ideally with a digest.",
            ["DL3006", "CKV_DOCKER_7"], check_untagged_base),
        rule!("add-url", Medium, "ADD downloads a URL",
            "`ADD https://…` fetches a remote file at build time without any integrity check (unless `--checksum` is given) and keeps it in a layer.",
            "Download with `curl`/`wget` in a `RUN`, verify a checksum, and clean up in the same layer; or use `ADD --checksum=sha256:…`.",
            ["CKV_DOCKER_4"], check_add_url),
        rule!("add-instead-of-copy", Low, "ADD used to copy local files",
            "`ADD` also extracts archives and fetches URLs; for plain files `COPY` is explicit and safer.",
            "Use `COPY` for files and directories.",
            ["DL3020", "CKV_DOCKER_4"], check_add_copy),
        rule!("curl-pipe-shell", High, "Remote script piped into a shell",
            "`curl … | sh` (or `wget -O- … | bash`) runs whatever the server returns at build time, unverified.",
            "Download the script, verify its checksum or signature, then run it.",
            ["https://www.idontplaydarts.com/2016/04/detecting-curl-pipe-bash-server-side/"], check_curl_pipe_shell),
        rule!("secret-in-env", High, "Secret-looking value in ENV or ARG",
            "`ENV`/`ARG` values are stored in the image configuration and history (`docker history`), readable by anyone who can pull the image.",
            "Use BuildKit secrets (`RUN --mount=type=secret,id=…`) or inject the value at run time.",
            ["DL3064", "AVD-DS-0031", "CWE-538"], check_secret_in_env),
        rule!("apt-no-install-recommends", Low, "apt-get install without --no-install-recommends",
            "Recommended packages enlarge the image and its attack surface.",
            "Add `--no-install-recommends` to `apt-get install`.",
            ["DL3015"], check_apt_no_recommends),
        rule!("apt-lists-not-cleaned", Low, "apt lists not removed after apt-get",
            "`apt-get update` leaves `/var/lib/apt/lists` in the layer: a larger image with stale package indexes.",
            "End the same RUN with `&& rm -rf /var/lib/apt/lists/*`.",
            ["DL3009"], check_apt_lists),
        rule!("apt-upgrade", Low, "apt-get upgrade / dist-upgrade in a Dockerfile",
            "Upgrading all packages in a build makes it non-reproducible; the base image should be updated instead.",
            "Use a newer base image tag, or pin the packages you need.",
            ["DL3005", "CKV_DOCKER_5"], check_apt_upgrade),
        rule!("apt-missing-yes", Low, "apt-get install without -y",
            "Without `-y` the build waits for a confirmation that never comes and fails.",
            "Use `apt-get install -y`.",
            ["DL3014"], check_apt_yes),
        rule!("apt-not-apt-get", Low, "apt used instead of apt-get",
            "`apt` is meant for interactive use and has no stable CLI.",
            "Use `apt-get` (or `apt-cache`).",
            ["DL3027"], check_apt),
        rule!("sudo", Medium, "sudo in RUN",
            "`sudo` in a build has unpredictable TTY and signal behaviour and usually means the image ships sudo.",
            "Run the commands as root before switching `USER`, or use gosu.",
            ["DL3004"], check_sudo),
        rule!("expose-ssh", Medium, "Port 22 (SSH) exposed",
            "An SSH server in a container is almost never needed (use `kubectl exec`) and widens the attack surface.",
            "Remove `EXPOSE 22` and the SSH server.",
            ["CKV_DOCKER_1"], check_expose_ssh),
        rule!("missing-healthcheck", Low, "No HEALTHCHECK in the final stage",
            "Without a `HEALTHCHECK` Docker cannot tell a hung container from a healthy one (Kubernetes uses probes instead).",
            "Add `HEALTHCHECK CMD …`, or `HEALTHCHECK NONE` to say it is deliberate.",
            ["CKV_DOCKER_2"], check_missing_healthcheck),
        rule!("cd-in-run", Low, "cd in RUN instead of WORKDIR",
            "`cd` in a RUN only lasts for that RUN and hides where later instructions run.",
            "Use `WORKDIR /path`.",
            ["DL3003"], check_cd),
        rule!("apk-no-cache", Low, "apk add without --no-cache",
            "`apk add` without `--no-cache` leaves the package index in the layer.",
            "Use `apk add --no-cache`.",
            ["DL3019"], check_apk_cache),
        rule!("pip-no-cache-dir", Low, "pip install without --no-cache-dir",
            "pip's download cache ends up in the layer.",
            "Use `pip install --no-cache-dir` (or `PIP_NO_CACHE_DIR=1`).",
            ["DL3042"], check_pip_cache),
        rule!("apt-unpinned", Info, "apt-get install without pinned versions",
            "Unpinned packages make builds non-reproducible.",
            "Pin versions: `apt-get install -y curl=7.88.1-10+deb12u5`.",
            ["DL3008"], check_apt_pin),
        rule!("pip-unpinned", Info, "pip install without pinned versions",
            "Unpinned packages make builds non-reproducible and pull whatever is newest.",
            "Pin versions (`pip install flask==3.0.3`) or install from a locked requirements file.",
            ["DL3013"], check_pip_pin),
        rule!("apk-unpinned", Info, "apk add without pinned versions",
            "Unpinned packages make builds non-reproducible.",
            "Pin versions: `apk add --no-cache curl=8.5.0-r0`.",
            ["DL3018"], check_apk_pin),
        rule!("multiple-cmd", Low, "More than one CMD in a stage",
            "Only the last `CMD` of a stage takes effect; the others are dead code that misleads readers.",
            "Keep one `CMD` per stage.",
            ["DL4003"], check_multiple_cmd),
        rule!("multiple-entrypoint", Medium, "More than one ENTRYPOINT in a stage",
            "Only the last `ENTRYPOINT` of a stage takes effect.",
            "Keep one `ENTRYPOINT` per stage.",
            ["DL4004"], check_multiple_entrypoint),
        rule!("maintainer", Info, "MAINTAINER is deprecated",
            "`MAINTAINER` has been deprecated since Docker 1.13.",
            "Use `LABEL org.opencontainers.image.authors=\"…\"`.",
            ["DL4000"], check_maintainer),
        rule!("relative-workdir", Low, "WORKDIR is a relative path",
            "A relative `WORKDIR` depends on every earlier `WORKDIR`, which is easy to break.",
            "Use an absolute path.",
            ["DL3000"], check_relative_workdir),
        rule!("cmd-shell-form", Low, "CMD or ENTRYPOINT in shell form",
            "In shell form the process runs under `/bin/sh -c` as a child, so it does not receive SIGTERM and is not shut down gracefully.",
            "Use JSON (exec) form: `CMD [\"app\", \"--flag\"]`.",
            ["DL3025"], check_cmd_shell_form),
        rule!("duplicate-stage-name", Medium, "Two build stages share a name",
            "`FROM … AS name` must be unique; later references are ambiguous.",
            "Rename one of the stages.",
            ["DL3024"], check_duplicate_stage),
    ]
}

/// Metadata of every Dockerfile rule.
pub fn metas() -> Vec<RuleMeta> {
    rules().iter().map(|r| meta(&r.spec, "docker")).collect()
}

/// Push a hit unless the previous one is the same rule on the same instruction: rules
/// that look at every simple command of a `RUN` report it once, and the message and
/// identity (which holds the whole instruction text) are built only for that one. A
/// `RUN` continued over thousands of commands made one identity copy per command before
/// (quadratic memory).
fn push_once(
    out: &mut Vec<Hit>,
    slug: &'static str,
    ins: &Instruction,
    message: impl FnOnce() -> String,
) {
    if out
        .last()
        .is_some_and(|h| h.slug == slug && h.line == ins.line)
    {
        return;
    }
    out.push(hit(slug, ins, message()));
}

fn hit(slug: &'static str, ins: &Instruction, message: impl Into<String>) -> Hit {
    Hit {
        slug,
        line: ins.line,
        end_line: ins.end_line,
        message: message.into(),
        identity: format!("{} {}", ins.keyword, ins.args),
    }
}

/// Instructions of the last stage.
fn final_stage(df: &Dockerfile) -> impl Iterator<Item = &Instruction> {
    let last = df.stages.len().checked_sub(1);
    df.instructions
        .iter()
        .filter(move |i| last.is_some() && i.stage == last)
}

/// Per stage: the latest earlier stage named like its base image (`FROM build`), if any.
/// One pass with a name map (a scan of the earlier stages per stage was quadratic).
fn base_stages(df: &Dockerfile) -> Vec<Option<usize>> {
    let mut by_name: HashMap<&str, usize> = HashMap::new();
    let mut out = Vec::with_capacity(df.stages.len());
    for (i, s) in df.stages.iter().enumerate() {
        let image = s.image.to_ascii_lowercase();
        out.push(by_name.get(image.as_str()).copied());
        if let Some(n) = &s.name {
            by_name.insert(n.as_str(), i);
        }
    }
    out
}

/// Stages whose filesystem ends up in the final image: the last stage and the chain of
/// stages it is built `FROM`, as a mask indexed by stage.
fn shipped_stages(df: &Dockerfile) -> Vec<bool> {
    let base = base_stages(df);
    let mut shipped = vec![false; df.stages.len()];
    let mut cur = df.stages.len().checked_sub(1);
    while let Some(i) = cur {
        if shipped[i] {
            break;
        }
        shipped[i] = true;
        cur = base[i];
    }
    shipped
}

/// Whether stage `s` (of an instruction) is shipped.
fn is_shipped(shipped: &[bool], s: Option<usize>) -> bool {
    s.and_then(|s| shipped.get(s).copied()).unwrap_or(false)
}

fn runs(df: &Dockerfile) -> impl Iterator<Item = &Instruction> {
    df.instructions.iter().filter(|i| i.keyword == "RUN")
}

/// Split a shell command line into simple commands (on `&&`, `||`, `;`, `|`, newlines)
/// and then into words.
pub fn commands(text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match quote {
            Some(q) => {
                if c == q {
                    quote = None;
                }
                cur.push(c);
            }
            None => match c {
                '\'' | '"' => {
                    quote = Some(c);
                    cur.push(c);
                }
                '&' | '|' | ';' | '\n' | '(' | ')' => {
                    let w = shell_words(&cur);
                    if !w.is_empty() {
                        out.push(w);
                    }
                    cur.clear();
                }
                _ => cur.push(c),
            },
        }
        i += 1;
    }
    let w = shell_words(&cur);
    if !w.is_empty() {
        out.push(w);
    }
    // Drop leading `sudo`, env assignments and `exec` wrappers for matching.
    out
}

/// A command's words with leading `sudo`/`VAR=x`/`exec`/`command` removed.
fn strip_wrappers(cmd: &[String]) -> &[String] {
    let mut c = cmd;
    while let Some(first) = c.first() {
        let f = first.as_str();
        if matches!(
            f,
            "then" | "do" | "else" | "elif" | "if" | "while" | "until" | "!" | "{"
        ) {
            c = &c[1..];
        } else if f == "sudo" || f == "exec" || f == "command" || f == "nohup" || f == "time" {
            c = &c[1..];
            // sudo's own options
            while c.first().is_some_and(|w| w.starts_with('-')) {
                c = &c[1..];
            }
        } else if f.contains('=') && !f.starts_with('-') && !f.starts_with('=') {
            c = &c[1..];
        } else {
            break;
        }
    }
    c
}

fn prog(cmd: &[String]) -> &str {
    cmd.first()
        .map(|s| s.rsplit('/').next().unwrap_or(s))
        .unwrap_or("")
}

/// `apt-get [opts] install pkgs…` → Some(words after the program).
fn subcommand<'a>(cmd: &'a [String], program: &[&str], sub: &[&str]) -> Option<&'a [String]> {
    let c = strip_wrappers(cmd);
    if !program.contains(&prog(c)) {
        return None;
    }
    let rest = &c[1..];
    let pos = rest.iter().position(|w| !w.starts_with('-'))?;
    sub.contains(&rest[pos].as_str()).then_some(rest)
}

fn has_flag(words: &[String], flags: &[&str]) -> bool {
    words.iter().any(|w| {
        flags.iter().any(|f| {
            w == f || (f.starts_with("--") && w.starts_with(&format!("{f}=")))
                // combined short flags: -qy
                || (f.len() == 2 && !f.starts_with("--") && w.starts_with('-') && !w.starts_with("--") && w.contains(&f[1..]))
        })
    })
}

fn check_missing_user(df: &Dockerfile, out: &mut Vec<Hit>) {
    let Some(last) = df.stages.last() else {
        return;
    };
    // `FROM scratch` images usually carry a static binary with a numeric USER set via
    // the base; still report: root is root.
    if final_stage(df).any(|i| i.keyword == "USER") {
        return;
    }
    // A stage built FROM an earlier stage inherits its USER.
    let shipped = shipped_stages(df);
    if df
        .instructions
        .iter()
        .any(|i| i.keyword == "USER" && is_shipped(&shipped, i.stage))
    {
        return;
    }
    out.push(Hit {
        slug: "missing-user",
        line: last.line,
        end_line: last.line,
        message: format!(
            "final stage `FROM {}` never sets USER, so it runs as root",
            last.image_raw
        ),
        identity: last.image_raw.clone(),
    });
}

fn is_root_user(u: &str) -> bool {
    let user = u.split(':').next().unwrap_or("").trim();
    user == "root" || user == "0"
}

fn check_user_root(df: &Dockerfile, out: &mut Vec<Hit>) {
    if let Some(u) = final_stage(df).filter(|i| i.keyword == "USER").last() {
        if is_root_user(&u.args) {
            out.push(hit(
                "user-root",
                u,
                format!("last USER is `{}`", u.args.trim()),
            ));
        }
    }
}

/// Stages whose base is a real image (not `scratch`, not an earlier stage, not an
/// unresolved variable).
fn external_bases(df: &Dockerfile) -> Vec<(usize, &super::parse::Stage)> {
    let mut out = Vec::new();
    let base = base_stages(df);
    for (i, s) in df.stages.iter().enumerate() {
        let img = s.image.to_ascii_lowercase();
        if img.is_empty() || img == "scratch" || s.image_raw.starts_with('$') && s.image.is_empty()
        {
            continue;
        }
        if base[i].is_some() {
            continue;
        }
        if s.image.contains('$') {
            continue;
        }
        out.push((i, s));
    }
    out
}

fn stage_hit(slug: &'static str, df: &Dockerfile, s: &super::parse::Stage, message: String) -> Hit {
    let ins = &df.instructions[s.from_index];
    Hit {
        slug,
        line: ins.line,
        end_line: ins.end_line,
        message,
        identity: s.image_raw.clone(),
    }
}

fn check_latest_tag(df: &Dockerfile, out: &mut Vec<Hit>) {
    for (_, s) in external_bases(df) {
        // An invalid reference is reported by untagged-base.
        let Ok(r) = ImageRef::parse(&s.image) else {
            continue;
        };
        if r.tag() == Some("latest") && r.digest().is_none() {
            out.push(stage_hit(
                "latest-tag",
                df,
                s,
                format!("`FROM {}` uses the latest tag", s.image),
            ));
        }
    }
}

fn check_untagged_base(df: &Dockerfile, out: &mut Vec<Hit>) {
    for (_, s) in external_bases(df) {
        let message = match ImageRef::parse(&s.image) {
            Err(e) => format!("`FROM {}` is not a valid image reference ({e})", s.image),
            Ok(r) if r.tag().is_none() && r.digest().is_none() => {
                format!("`FROM {}` has no tag or digest", s.image)
            }
            Ok(_) => continue,
        };
        out.push(stage_hit("untagged-base", df, s, message));
    }
}

fn is_url(s: &str) -> bool {
    let l = s.to_ascii_lowercase();
    l.starts_with("http://") || l.starts_with("https://") || l.starts_with("ftp://")
}

fn add_sources(ins: &Instruction) -> Vec<String> {
    let words = match &ins.exec {
        Some(v) => v.clone(),
        None => shell_words(&ins.args),
    };
    let n = words.len();
    words.into_iter().take(n.saturating_sub(1)).collect()
}

fn check_add_url(df: &Dockerfile, out: &mut Vec<Hit>) {
    for ins in df.instructions.iter().filter(|i| i.keyword == "ADD") {
        if ins.flag("checksum").is_some() {
            continue;
        }
        if let Some(u) = add_sources(ins).into_iter().find(|s| is_url(s)) {
            out.push(hit(
                "add-url",
                ins,
                format!("ADD fetches `{u}` without a checksum"),
            ));
        }
    }
}

fn is_archive(s: &str) -> bool {
    let l = s.to_ascii_lowercase();
    [
        ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar.zst", ".gz",
        ".bz2", ".xz", ".zip", ".tb2", ".tz2", ".lzma", ".tlz",
    ]
    .iter()
    .any(|e| l.ends_with(e))
}

fn check_add_copy(df: &Dockerfile, out: &mut Vec<Hit>) {
    for ins in df.instructions.iter().filter(|i| i.keyword == "ADD") {
        let srcs = add_sources(ins);
        if !ins.heredocs.is_empty() || srcs.is_empty() {
            continue;
        }
        if srcs
            .iter()
            .all(|s| !is_url(s) && !is_archive(s) && !s.starts_with("git@"))
        {
            out.push(hit(
                "add-instead-of-copy",
                ins,
                "ADD copies local files; use COPY",
            ));
        }
    }
}

fn check_curl_pipe_shell(df: &Dockerfile, out: &mut Vec<Hit>) {
    for ins in runs(df) {
        let text = ins.shell_text();
        // Look at each pipeline: a downloader before `|`, a shell after it.
        for line in text.split(['\n', ';']) {
            for seg in line.split("&&") {
                let parts: Vec<&str> = seg.split('|').filter(|p| !p.is_empty()).collect();
                if parts.len() < 2 {
                    continue;
                }
                let fetch = parts[..parts.len() - 1].iter().any(|p| {
                    let w = shell_words(p);
                    let w = strip_wrappers(&w);
                    matches!(prog(w), "curl" | "wget")
                });
                let shell = parts[1..].iter().any(|p| {
                    let w = shell_words(p);
                    let w = strip_wrappers(&w);
                    matches!(
                        prog(w),
                        "sh" | "bash"
                            | "zsh"
                            | "ash"
                            | "dash"
                            | "ksh"
                            | "python"
                            | "python3"
                            | "perl"
                            | "ruby"
                    )
                });
                if fetch && shell {
                    push_once(out, "curl-pipe-shell", ins, || {
                        format!("pipes a download into a shell: `{}`", seg.trim())
                    });
                    break;
                }
            }
        }
    }
    out.dedup_by(|a, b| a.slug == b.slug && a.line == b.line);
}

/// Whether a value is a literal (not empty, not a variable reference, not a file path).
fn literal_secret_value(v: &str) -> bool {
    let v = v.trim();
    !v.is_empty()
        && !v.starts_with('$')
        && !v.starts_with('/')
        && !matches!(
            v.to_ascii_lowercase().as_str(),
            "true" | "false" | "none" | "null" | "changeme" | "\"\"" | "''"
        )
}

fn check_secret_in_env(df: &Dockerfile, out: &mut Vec<Hit>) {
    for ins in df
        .instructions
        .iter()
        .filter(|i| i.keyword == "ENV" || i.keyword == "ARG")
    {
        for (k, v) in key_values(&ins.keyword, &ins.args) {
            let Some(v) = v else { continue };
            if looks_like_secret_name(&k) && literal_secret_value(&v) {
                out.push(Hit {
                    slug: "secret-in-env",
                    line: ins.line,
                    end_line: ins.end_line,
                    message: format!("{} `{k}` has a literal value", ins.keyword),
                    identity: format!("{} {k}", ins.keyword),
                });
            }
        }
    }
}

fn each_command<'a>(
    df: &'a Dockerfile,
) -> impl Iterator<Item = (&'a Instruction, Vec<String>)> + 'a {
    runs(df).flat_map(|ins| {
        commands(&ins.shell_text())
            .into_iter()
            .map(move |c| (ins, c))
    })
}

fn check_apt_no_recommends(df: &Dockerfile, out: &mut Vec<Hit>) {
    for (ins, c) in each_command(df) {
        if let Some(rest) = subcommand(&c, &["apt-get"], &["install"]) {
            let ok = has_flag(rest, &["--no-install-recommends"])
                || rest.iter().any(|w| {
                    w.contains("Install-Recommends=false") || w.contains("Install-Recommends=0")
                });
            if !ok {
                push_once(out, "apt-no-install-recommends", ins, || {
                    "apt-get install without --no-install-recommends".into()
                });
            }
        }
    }
    out.dedup_by(|a, b| a.slug == b.slug && a.line == b.line);
}

fn check_apt_lists(df: &Dockerfile, out: &mut Vec<Hit>) {
    let shipped = shipped_stages(df);
    for ins in runs(df) {
        if !is_shipped(&shipped, ins.stage) {
            continue;
        }
        let cmds = commands(&ins.shell_text());
        let updates = cmds
            .iter()
            .any(|c| subcommand(c, &["apt-get"], &["update"]).is_some());
        let installs = cmds
            .iter()
            .any(|c| subcommand(c, &["apt-get"], &["install"]).is_some());
        if !(updates && installs) {
            continue;
        }
        let cleaned = cmds.iter().any(|c| {
            let c = strip_wrappers(c);
            prog(c) == "rm" && c.iter().any(|w| w.starts_with("/var/lib/apt/lists"))
        });
        // BuildKit cache mounts keep the lists out of the layer.
        let cache_mount = ins
            .flags
            .iter()
            .any(|(k, v)| k == "mount" && v.contains("/var/lib/apt"));
        if !cleaned && !cache_mount {
            out.push(hit(
                "apt-lists-not-cleaned",
                ins,
                "apt-get update without `rm -rf /var/lib/apt/lists/*` in the same RUN",
            ));
        }
    }
}

fn check_apt_upgrade(df: &Dockerfile, out: &mut Vec<Hit>) {
    for (ins, c) in each_command(df) {
        if subcommand(
            &c,
            &["apt-get", "apt"],
            &["upgrade", "dist-upgrade", "full-upgrade"],
        )
        .is_some()
        {
            push_once(out, "apt-upgrade", ins, || {
                "apt-get upgrade in a Dockerfile".into()
            });
        }
    }
    out.dedup_by(|a, b| a.slug == b.slug && a.line == b.line);
}

fn check_apt_yes(df: &Dockerfile, out: &mut Vec<Hit>) {
    for (ins, c) in each_command(df) {
        if let Some(rest) = subcommand(&c, &["apt-get"], &["install"]) {
            let yes = has_flag(rest, &["-y", "--yes", "--assume-yes", "-q"])
                && (has_flag(rest, &["-y", "--yes", "--assume-yes"])
                    || rest.iter().any(|w| w == "-qq" || w.starts_with("-q=2")));
            if !yes {
                push_once(out, "apt-missing-yes", ins, || {
                    "apt-get install without -y".into()
                });
            }
        }
    }
    out.dedup_by(|a, b| a.slug == b.slug && a.line == b.line);
}

fn check_apt(df: &Dockerfile, out: &mut Vec<Hit>) {
    for (ins, c) in each_command(df) {
        let c2 = strip_wrappers(&c);
        if prog(c2) == "apt" && c2.len() > 1 {
            push_once(out, "apt-not-apt-get", ins, || {
                "uses `apt`; use `apt-get`".into()
            });
        }
    }
    out.dedup_by(|a, b| a.slug == b.slug && a.line == b.line);
}

fn check_sudo(df: &Dockerfile, out: &mut Vec<Hit>) {
    for (ins, c) in each_command(df) {
        let first = c.iter().position(|w| {
            !(matches!(
                w.as_str(),
                "then" | "do" | "else" | "elif" | "if" | "while" | "until" | "!" | "{"
            ) || (w.contains('=') && !w.starts_with('-')))
        });
        if first.is_some_and(|i| prog(&c[i..]) == "sudo") {
            push_once(out, "sudo", ins, || "RUN uses sudo".into());
        }
    }
    out.dedup_by(|a, b| a.slug == b.slug && a.line == b.line);
}

fn check_expose_ssh(df: &Dockerfile, out: &mut Vec<Hit>) {
    for ins in df.instructions.iter().filter(|i| i.keyword == "EXPOSE") {
        for w in ins.args.split_whitespace() {
            let port = w.split('/').next().unwrap_or("");
            let ssh = port == "22"
                || port
                    .split_once('-')
                    .and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?)))
                    .is_some_and(|(a, b)| a <= 22 && 22 <= b);
            if ssh {
                out.push(hit("expose-ssh", ins, "EXPOSE 22 (SSH)"));
                break;
            }
        }
    }
}

fn check_missing_healthcheck(df: &Dockerfile, out: &mut Vec<Hit>) {
    let Some(last) = df.stages.last() else {
        return;
    };
    let shipped = shipped_stages(df);
    if df
        .instructions
        .iter()
        .any(|i| i.keyword == "HEALTHCHECK" && is_shipped(&shipped, i.stage))
    {
        return;
    }
    out.push(Hit {
        slug: "missing-healthcheck",
        line: last.line,
        end_line: last.line,
        message: "no HEALTHCHECK instruction".into(),
        identity: String::new(),
    });
}

fn check_cd(df: &Dockerfile, out: &mut Vec<Hit>) {
    for (ins, c) in each_command(df) {
        if prog(strip_wrappers(&c)) == "cd" {
            push_once(out, "cd-in-run", ins, || "RUN uses cd; use WORKDIR".into());
        }
    }
    out.dedup_by(|a, b| a.slug == b.slug && a.line == b.line);
}

fn check_apk_cache(df: &Dockerfile, out: &mut Vec<Hit>) {
    for ins in runs(df) {
        let cmds = commands(&ins.shell_text());
        let cleaned = cmds.iter().any(|c| {
            let c = strip_wrappers(c);
            prog(c) == "rm" && c.iter().any(|w| w.starts_with("/var/cache/apk"))
        });
        let cache_mount = ins
            .flags
            .iter()
            .any(|(k, v)| k == "mount" && v.contains("/var/cache/apk"));
        for c in &cmds {
            if let Some(rest) = subcommand(c, &["apk"], &["add"]) {
                if !has_flag(rest, &["--no-cache"]) && !cleaned && !cache_mount {
                    out.push(hit("apk-no-cache", ins, "apk add without --no-cache"));
                    break;
                }
            }
        }
    }
}

fn pip_install(c: &[String]) -> Option<&[String]> {
    let c = strip_wrappers(c);
    let p = prog(c);
    let is_pip = p.starts_with("pip") && p[3..].chars().all(|ch| ch.is_ascii_digit() || ch == '.');
    if is_pip {
        return subcommand(c, &[p], &["install"]);
    }
    // python -m pip install
    if p.starts_with("python") {
        let m = c.iter().position(|w| w == "-m")?;
        if c.get(m + 1).is_some_and(|w| w == "pip" || w == "pip3") {
            let rest = &c[m + 2..];
            let pos = rest.iter().position(|w| !w.starts_with('-'))?;
            return (rest[pos] == "install").then_some(rest);
        }
    }
    None
}

fn check_pip_cache(df: &Dockerfile, out: &mut Vec<Hit>) {
    let env_off = df.instructions.iter().any(|i| {
        i.keyword == "ENV"
            && key_values("ENV", &i.args).iter().any(|(k, v)| {
                k == "PIP_NO_CACHE_DIR"
                    && v.as_deref()
                        .is_some_and(|v| !matches!(v, "0" | "false" | "off" | "no"))
            })
    });
    if env_off {
        return;
    }
    for ins in runs(df) {
        let cache_mount = ins
            .flags
            .iter()
            .any(|(k, v)| k == "mount" && v.contains("pip"));
        for c in commands(&ins.shell_text()) {
            if let Some(rest) = pip_install(&c) {
                if !has_flag(rest, &["--no-cache-dir"])
                    && !cache_mount
                    && !c.iter().any(|w| w.starts_with("PIP_NO_CACHE_DIR="))
                {
                    out.push(hit(
                        "pip-no-cache-dir",
                        ins,
                        "pip install without --no-cache-dir",
                    ));
                    break;
                }
            }
        }
    }
}

/// Package arguments: words after the subcommand that are not options.
fn packages<'a>(rest: &'a [String], skip_value_opts: &[&str]) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut i = rest
        .iter()
        .position(|w| !w.starts_with('-'))
        .map_or(rest.len(), |p| p + 1);
    while i < rest.len() {
        let w = rest[i].as_str();
        if w.starts_with('-') {
            if skip_value_opts.contains(&w) {
                i += 1;
            }
        } else if !w.is_empty() && !w.starts_with('$') {
            out.push(w);
        }
        i += 1;
    }
    out
}

fn check_apt_pin(df: &Dockerfile, out: &mut Vec<Hit>) {
    for (ins, c) in each_command(df) {
        if let Some(rest) = subcommand(&c, &["apt-get"], &["install"]) {
            let unpinned: Vec<&str> = packages(rest, &["-o", "-t", "--target-release"])
                .into_iter()
                .filter(|p| !p.contains('=') && !p.ends_with(".deb") && !p.contains('/'))
                .collect();
            if !unpinned.is_empty() {
                push_once(out, "apt-unpinned", ins, || {
                    format!("unpinned: {}", unpinned.join(", "))
                });
            }
        }
    }
    out.dedup_by(|a, b| a.slug == b.slug && a.line == b.line);
}

fn check_pip_pin(df: &Dockerfile, out: &mut Vec<Hit>) {
    for (ins, c) in each_command(df) {
        if let Some(rest) = pip_install(&c) {
            if has_flag(
                rest,
                &[
                    "-r",
                    "--requirement",
                    "-c",
                    "--constraint",
                    "-e",
                    "--editable",
                ],
            ) {
                continue;
            }
            let unpinned: Vec<&str> = packages(
                rest,
                &[
                    "-i",
                    "--index-url",
                    "--extra-index-url",
                    "-t",
                    "--target",
                    "--prefix",
                    "--root",
                    "-f",
                    "--find-links",
                    "--trusted-host",
                    "--platform",
                    "--python-version",
                    "--src",
                ],
            )
            .into_iter()
            .filter(|p| {
                !["==", ">=", "<=", "~=", "!=", "<", ">", "@"]
                    .iter()
                    .any(|op| p.contains(op))
                    && !p.contains('/')
                    && !p.ends_with(".whl")
                    && !p.ends_with(".tar.gz")
                    && *p != "."
            })
            .collect();
            if !unpinned.is_empty() {
                push_once(out, "pip-unpinned", ins, || {
                    format!("unpinned: {}", unpinned.join(", "))
                });
            }
        }
    }
    out.dedup_by(|a, b| a.slug == b.slug && a.line == b.line);
}

fn check_apk_pin(df: &Dockerfile, out: &mut Vec<Hit>) {
    for (ins, c) in each_command(df) {
        if let Some(rest) = subcommand(&c, &["apk"], &["add"]) {
            let unpinned: Vec<&str> = packages(
                rest,
                &[
                    "-t",
                    "--virtual",
                    "-X",
                    "--repository",
                    "--repositories-file",
                    "-p",
                    "--root",
                    "--arch",
                ],
            )
            .into_iter()
            .filter(|p| !p.contains('=') && !p.ends_with(".apk"))
            .collect();
            if !unpinned.is_empty() {
                push_once(out, "apk-unpinned", ins, || {
                    format!("unpinned: {}", unpinned.join(", "))
                });
            }
        }
    }
    out.dedup_by(|a, b| a.slug == b.slug && a.line == b.line);
}

fn multiple(df: &Dockerfile, out: &mut Vec<Hit>, keyword: &str, slug: &'static str) {
    // Line of the first such instruction, per stage (one pass over the instructions).
    let mut first: Vec<Option<usize>> = vec![None; df.stages.len()];
    let mut hits: Vec<Hit> = Vec::new();
    for ins in df.instructions.iter().filter(|i| i.keyword == keyword) {
        let Some(slot) = ins.stage.and_then(|s| first.get_mut(s)) else {
            continue;
        };
        match slot {
            None => *slot = Some(ins.line),
            Some(line) => hits.push(hit(
                slug,
                ins,
                format!("another {keyword} in the same stage (line {line} already has one)"),
            )),
        }
    }
    // Instructions come in stage order, so the hits are stage by stage as before.
    out.extend(hits);
}

fn check_multiple_cmd(df: &Dockerfile, out: &mut Vec<Hit>) {
    multiple(df, out, "CMD", "multiple-cmd");
}

fn check_multiple_entrypoint(df: &Dockerfile, out: &mut Vec<Hit>) {
    multiple(df, out, "ENTRYPOINT", "multiple-entrypoint");
}

fn check_maintainer(df: &Dockerfile, out: &mut Vec<Hit>) {
    for ins in df.instructions.iter().filter(|i| i.keyword == "MAINTAINER") {
        out.push(hit("maintainer", ins, "MAINTAINER is deprecated"));
    }
}

fn check_relative_workdir(df: &Dockerfile, out: &mut Vec<Hit>) {
    for ins in df.instructions.iter().filter(|i| i.keyword == "WORKDIR") {
        let d = super::parse::unquote(ins.args.trim());
        let absolute = d.starts_with('/')
            || d.starts_with('$')
            || d.get(1..3).is_some_and(|s| s == ":\\" || s == ":/")
            || d.is_empty();
        if !absolute {
            out.push(hit(
                "relative-workdir",
                ins,
                format!("WORKDIR `{d}` is relative"),
            ));
        }
    }
}

fn check_cmd_shell_form(df: &Dockerfile, out: &mut Vec<Hit>) {
    for ins in df
        .instructions
        .iter()
        .filter(|i| i.keyword == "CMD" || i.keyword == "ENTRYPOINT")
    {
        if !ins.is_exec_form() && !ins.args.trim().is_empty() {
            out.push(hit(
                "cmd-shell-form",
                ins,
                format!("{} in shell form", ins.keyword),
            ));
        }
    }
}

fn check_duplicate_stage(df: &Dockerfile, out: &mut Vec<Hit>) {
    let mut seen: HashSet<&str> = HashSet::new();
    for s in &df.stages {
        if let Some(n) = &s.name {
            if !seen.insert(n.as_str()) {
                out.push(stage_hit(
                    "duplicate-stage-name",
                    df,
                    s,
                    format!("stage name `{n}` is used twice"),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_split() {
        let c = commands("apt-get update && DEBIAN_FRONTEND=x apt-get install -y a | tee; cd /x");
        assert_eq!(c.len(), 4);
        assert!(subcommand(&c[1], &["apt-get"], &["install"]).is_some());
        assert_eq!(prog(strip_wrappers(&c[3])), "cd");
    }
}
