//! Finding manifests in a tree: plain YAML/JSON files (recognised by content, i.e. an
//! `apiVersion` and a `kind`), Kustomize directories (built with `kubectl kustomize`)
//! and Helm charts (rendered with `helm template`).
//!
//! - A directory with `kustomization.yaml` / `kustomization.yml` / `Kustomization` is
//!   built with `kubectl kustomize DIR` when kubectl is on PATH (no shell, bounded by a
//!   timeout). Kustomizations referenced by another one (bases, components) are built
//!   only through it. Rendered objects are mapped back to the raw file that declares
//!   them (same kind and name, allowing for `namePrefix`/`nameSuffix`), whose spans are
//!   used. Without kubectl, or when the build fails, the raw files are scanned and a
//!   note says so.
//! - A directory with `Chart.yaml` is rendered with `helm template` (with `--values`
//!   files) when helm is on PATH; otherwise the chart is reported as skipped. Its raw
//!   templates are never scanned as manifests. Rendered objects point at their template
//!   file, and fields at template lines where the match is unambiguous.
//! - Other `.yaml`/`.yml`/`.json` files that hold no Kubernetes object are skipped
//!   silently.
//!
//! What the tree says is data, never authority:
//! - `helm` and `kubectl` are looked up in the absolute entries of `PATH` only (an empty
//!   entry or `.` would resolve a program from the working directory, i.e. possibly from
//!   the scanned repository), and a program found inside the scanned tree is never run.
//!   Directories are passed as canonical absolute paths (never taken for an option).
//! - A kustomization (or one it refers to) naming a resource that is not a local file or
//!   directory (an `https://` or git URL, which `kubectl kustomize` would fetch) is not
//!   built unless [`TreeOptions::allow_remote`]; a local one outside the scanned root is
//!   never built. The error names the entry; the raw files are scanned instead.
//! - The `# Source:` path that `helm template` prints is read (to map fields to template
//!   lines) only when it names a file inside the chart after resolving symlinks; else the
//!   objects point at the chart directory and an error names the refused path.

mod template_lines;

use crate::load::{is_k8s_value, load_str, load_str_with, Limits};
use crate::object::Object;
use rampart_core::walk::{read_text_limited, Tree, WalkOptions};
use rampart_core::ScanError;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How to load a tree.
#[derive(Debug, Clone)]
pub struct TreeOptions {
    /// Build Kustomize directories with kubectl (when found).
    pub kustomize: bool,
    /// Render Helm charts with helm (when found).
    pub helm: bool,
    /// `--values` files passed to `helm template`.
    pub helm_values: Vec<PathBuf>,
    /// `--namespace` for `helm template` (Helm's default: `default`).
    pub helm_namespace: Option<String>,
    /// Time limit for one kubectl/helm run.
    pub timeout: Duration,
    /// Walker options (gitignore, excludes, size limit).
    pub walk: WalkOptions,
    /// Loader limits.
    pub limits: Limits,
    /// Let `kubectl kustomize` fetch remote resources (URLs, git repositories).
    pub allow_remote: bool,
}

impl Default for TreeOptions {
    fn default() -> TreeOptions {
        TreeOptions {
            kustomize: true,
            helm: true,
            helm_values: Vec::new(),
            helm_namespace: None,
            timeout: Duration::from_secs(60),
            walk: WalkOptions::default(),
            limits: Limits::default(),
            allow_remote: false,
        }
    }
}

/// Everything loaded from a tree.
#[derive(Debug, Default)]
pub struct LoadedSet {
    /// Kubernetes objects (raw and rendered).
    pub objects: Vec<Object>,
    /// Per-file / per-document errors and skipped charts (the scan went on).
    pub errors: Vec<ScanError>,
    /// Notes for the report (reserved; kustomize/helm problems are in `errors`).
    pub notes: Vec<String>,
    /// Files read.
    pub files: u64,
    /// Kustomizations built.
    pub kustomizations: usize,
    /// Helm charts rendered.
    pub charts: usize,
}

enum Found {
    Manifest(String, crate::load::Loaded),
    Kustomization(PathBuf, String),
    Chart(PathBuf, String),
    Nothing,
}

fn is_kustomization(name: &str) -> bool {
    matches!(
        name,
        "kustomization.yaml" | "kustomization.yml" | "Kustomization"
    )
}

fn is_candidate(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".yaml")
        || lower.ends_with(".yml")
        || lower.ends_with(".json")
        || is_kustomization(name)
}

/// `prog` in the absolute entries of `PATH` (empty and relative entries, which resolve
/// against the working directory, are skipped): an executable regular file.
pub fn on_path(prog: &str) -> Option<PathBuf> {
    find_tool(prog, None)
}

/// As [`on_path`], skipping any candidate that resolves (symlinks followed) inside
/// `not_under` (the scanned tree, whose files must never be run).
pub fn find_tool(prog: &str, not_under: Option<&Path>) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    let banned = not_under.and_then(|r| r.canonicalize().ok());
    std::env::split_paths(&path)
        .filter(|d| d.is_absolute())
        .map(|d| d.join(prog))
        .find(|p| {
            let Ok(real) = p.canonicalize() else {
                return false;
            };
            if banned.as_deref().is_some_and(|b| real.starts_with(b)) {
                return false;
            }
            std::fs::metadata(&real)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Run a program (no shell) with a time limit; stdout on success.
pub fn run_bounded(prog: &Path, args: &[String], timeout: Duration) -> Result<String, String> {
    let mut child = Command::new(prog)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", prog.display()))?;
    let mut out = child.stdout.take();
    let mut err = child.stderr.take();
    let out_t = std::thread::spawn(move || {
        let mut s = Vec::new();
        if let Some(o) = out.as_mut() {
            let _ = o.take(256 * 1024 * 1024).read_to_end(&mut s);
        }
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = Vec::new();
        if let Some(e) = err.as_mut() {
            let _ = e.take(1024 * 1024).read_to_end(&mut s);
        }
        s
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if started.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("timed out after {} s", timeout.as_secs()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(e.to_string()),
        }
    };
    let stdout = out_t.join().unwrap_or_default();
    let stderr = err_t.join().unwrap_or_default();
    if !status.success() {
        let msg = String::from_utf8_lossy(&stderr);
        let first = msg.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        return Err(format!("exited with {status}: {first}"));
    }
    Ok(String::from_utf8_lossy(&stdout).into_owned())
}

fn rel_of(root: &Path, p: &Path) -> String {
    let r = p.strip_prefix(root).unwrap_or(p);
    let s = r.to_string_lossy().replace('\\', "/");
    if s.is_empty() {
        ".".into()
    } else {
        s
    }
}

fn under(dir: &str, file: &str) -> bool {
    dir == "." || file.starts_with(&format!("{dir}/"))
}

/// The directories a kustomization refers to (resources, bases, components), resolved.
fn kustomization_refs(dir: &Path, file: &Path) -> Vec<PathBuf> {
    let Some(text) = read_text_limited(file, 4 * 1024 * 1024) else {
        return Vec::new();
    };
    let Ok(v) = yaml_value(&text) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for key in ["resources", "bases", "components"] {
        for r in v
            .get(key)
            .and_then(|x| x.as_array())
            .into_iter()
            .flatten()
            .filter_map(|x| x.as_str())
        {
            let p = dir.join(r);
            if p.is_dir() {
                if let Ok(c) = p.canonicalize() {
                    out.push(c);
                }
            }
        }
    }
    out
}

/// Load every manifest under `root` (a directory or one file): walk it (git-aware, see
/// [`Tree`]) and [`load_from_tree`].
pub fn load_tree(root: &Path, opts: &TreeOptions) -> Result<LoadedSet, rampart_core::Error> {
    let tree = Tree::collect(root, &opts.walk)?;
    Ok(load_from_tree(&tree, opts))
}

/// Load every manifest of a tree already walked (the walk `rampart scan` shares between
/// its scanners); `opts.walk` is not used, the tree's own options are.
pub fn load_from_tree(tree: &Tree, opts: &TreeOptions) -> LoadedSet {
    let root = tree.root();
    let limits = opts.limits;
    let outcome = tree.visit(
        |name| is_candidate(name) || name == "Chart.yaml",
        |f| {
            let name = f.path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let dir = f.path.parent().map(Path::to_path_buf).unwrap_or_default();
            let dir_rel = match f.rel.rsplit_once('/') {
                Some((d, _)) => d.to_string(),
                None => ".".to_string(),
            };
            if name == "Chart.yaml" {
                return Found::Chart(dir, dir_rel);
            }
            if is_kustomization(name) {
                return Found::Kustomization(dir, dir_rel);
            }
            let Ok(text) = std::str::from_utf8(f.content) else {
                return Found::Nothing;
            };
            // Cheap content test before parsing.
            if !(text.contains("apiVersion") && text.contains("kind")) {
                return Found::Nothing;
            }
            let loaded = load_str_with(text, Some(f.rel), &limits);
            Found::Manifest(f.rel.to_string(), loaded)
        },
    );
    let mut set = LoadedSet {
        files: outcome.files_scanned,
        errors: outcome.errors,
        ..LoadedSet::default()
    };
    let mut manifests = Vec::new();
    let mut kustomizations = Vec::new();
    let mut charts = Vec::new();
    for r in outcome.results {
        match r {
            Found::Manifest(rel, l) => manifests.push((rel, l)),
            Found::Kustomization(d, rel) => kustomizations.push((d, rel)),
            Found::Chart(d, rel) => charts.push((d, rel)),
            Found::Nothing => {}
        }
    }
    manifests.sort_by(|a, b| a.0.cmp(&b.0));
    kustomizations.sort_by(|a, b| a.1.cmp(&b.1));
    charts.sort_by(|a, b| a.1.cmp(&b.1));
    let root_dir = if root.is_dir() {
        root.to_path_buf()
    } else {
        root.parent().map(Path::to_path_buf).unwrap_or_default()
    };

    // Helm charts: files under a chart directory are templates, not manifests.
    let chart_dirs: Vec<String> = charts.iter().map(|c| c.1.clone()).collect();
    manifests.retain(|(rel, _)| !chart_dirs.iter().any(|d| under(d, rel)));

    // Raw objects by file (for mapping rendered objects back).
    let mut raw: BTreeMap<String, Vec<Object>> = BTreeMap::new();
    for (rel, loaded) in manifests {
        for e in loaded.errors {
            set.errors.push(ScanError {
                path: rel.clone(),
                line: e.line,
                message: format!("document {}: {}", e.doc_index + 1, e.message),
            });
        }
        for o in &loaded.objects {
            for (field, msg) in crate::load::shape_problems(o) {
                set.errors.push(ScanError {
                    path: rel.clone(),
                    line: o.span(&field).map(|s| s.start_line),
                    message: format!(
                        "document {}: {}: {msg}",
                        o.doc_index + 1,
                        o.object_ref().display()
                    ),
                });
            }
        }
        raw.insert(rel, loaded.objects);
    }

    let root_real = root_dir.canonicalize().ok();
    let helm = if opts.helm {
        find_tool("helm", Some(&root_dir))
    } else {
        None
    };
    for (dir, rel) in &charts {
        match &helm {
            None => set.errors.push(ScanError {
                path: rel.clone(),
                line: None,
                message:
                    "Helm chart skipped: `helm` is not on PATH (install helm to render and scan it; \
                     relative PATH entries and programs inside the scanned tree are not used)"
                        .into(),
            }),
            Some(_) if escaping_symlink(dir, root_real.as_deref()).is_some() => {
                let link = escaping_symlink(dir, root_real.as_deref()).unwrap_or_default();
                set.errors.push(ScanError {
                    path: rel.clone(),
                    line: None,
                    message: format!(
                        "Helm chart skipped: `{}` is a symlink leading outside the scanned root \
                         (helm would read it); not rendered",
                        link.escape_debug()
                    ),
                });
            }
            Some(h) => {
                // Canonical and absolute: never taken for an option.
                let chart = dir.canonicalize().unwrap_or_else(|_| dir.clone());
                let mut args = vec![
                    "template".to_string(),
                    "rampart".to_string(),
                    chart.display().to_string(),
                ];
                for v in &opts.helm_values {
                    args.push("--values".into());
                    args.push(v.display().to_string());
                }
                if let Some(ns) = &opts.helm_namespace {
                    args.push("--namespace".into());
                    args.push(ns.clone());
                }
                match run_bounded(h, &args, opts.timeout) {
                    Ok(text) => {
                        set.charts += 1;
                        let (objects, refused) = helm_objects(&text, &chart, rel, &limits);
                        set.objects.extend(objects);
                        for r in refused {
                            set.errors.push(ScanError {
                                path: rel.clone(),
                                line: None,
                                message: format!(
                                    "helm output names the template `# Source: {}`, which is \
                                     outside the chart: not read; its objects point at the chart",
                                    r.escape_debug()
                                ),
                            });
                        }
                    }
                    Err(e) => set.errors.push(ScanError {
                        path: rel.clone(),
                        line: None,
                        message: format!("Helm chart skipped: helm template failed: {e}"),
                    }),
                }
            }
        }
    }

    // Kustomizations: build the roots (those no other kustomization refers to).
    let kubectl = if opts.kustomize {
        find_tool("kubectl", Some(&root_dir))
    } else {
        None
    };
    let mut referenced: BTreeSet<PathBuf> = BTreeSet::new();
    let mut kfiles = Vec::new();
    let mut components = Vec::new();
    for (dir, rel) in &kustomizations {
        let file = ["kustomization.yaml", "kustomization.yml", "Kustomization"]
            .iter()
            .map(|n| dir.join(n))
            .find(|p| p.is_file())
            .unwrap_or_else(|| dir.join("kustomization.yaml"));
        let refs = kustomization_refs(dir, &file);
        referenced.extend(refs.iter().cloned());
        if is_component(&file) {
            // A Component only builds inside a kustomization that uses it; its files
            // are patches, not complete objects.
            components.push(rel.clone());
            continue;
        }
        kfiles.push((dir.clone(), rel.clone(), refs));
    }
    for c in &components {
        let canon = root_dir.join(c).canonicalize().unwrap_or_default();
        if !referenced.contains(&canon) {
            set.errors.push(ScanError {
                path: c.clone(),
                line: None,
                message: "Kustomize component not used by any kustomization in the scanned tree; its patches were not scanned".into(),
            });
        }
        raw.retain(|f, _| !under(c, f));
    }
    for (dir, rel, refs) in &kfiles {
        let canon = dir.canonicalize().unwrap_or_else(|_| dir.clone());
        if referenced.contains(&canon) {
            continue;
        }
        let refused = if opts.kustomize {
            refused_resources(dir, root_real.as_deref(), opts.allow_remote)
        } else {
            Vec::new()
        };
        if !refused.is_empty() {
            for r in refused {
                set.errors.push(ScanError {
                    path: rel.clone(),
                    line: None,
                    message: format!(
                        "kustomization not built: {r}; its raw files were scanned instead"
                    ),
                });
            }
            continue;
        }
        let Some(k) = &kubectl else {
            set.errors.push(ScanError {
                path: rel.clone(),
                line: None,
                message: "kustomization not built: kubectl is not on PATH (relative PATH entries and programs inside the scanned tree are not used); its raw files were scanned instead of the build".into(),
            });
            continue;
        };
        let kdir = dir.canonicalize().unwrap_or_else(|_| dir.clone());
        let args = vec![
            "kustomize".to_string(),
            "--".to_string(),
            kdir.display().to_string(),
        ];
        match run_bounded(k, &args, opts.timeout) {
            Ok(text) => {
                set.kustomizations += 1;
                // Raw files of this kustomization and everything it refers to.
                let mut dirs = vec![rel.clone()];
                for r in refs {
                    dirs.push(rel_of(&root_dir.canonicalize().unwrap_or_default(), r));
                }
                collect_ref_dirs(&root_dir, &kfiles, &mut dirs);
                let sources: Vec<(String, Vec<Object>)> = raw
                    .iter()
                    .filter(|(f, _)| dirs.iter().any(|d| under(d, f)))
                    .map(|(f, o)| (f.clone(), o.clone()))
                    .collect();
                let kpath = format!("{}/kustomization.yaml", rel.trim_start_matches("./"));
                for mut obj in load_str(&text, None).objects {
                    map_back(&mut obj, &sources, &kpath);
                    set.objects.push(obj);
                }
                raw.retain(|f, _| !dirs.iter().any(|d| under(d, f)));
            }
            Err(e) => set.errors.push(ScanError {
                path: rel.clone(),
                line: None,
                message: format!(
                    "kustomization not built: kubectl kustomize failed ({}); its raw files were scanned instead",
                    e.chars().take(400).collect::<String>()
                ),
            }),
        }
    }
    for (_, objs) in raw {
        set.objects.extend(objs);
    }
    set
}

fn is_component(file: &Path) -> bool {
    std::fs::read_to_string(file)
        .ok()
        .and_then(|t| yaml_value(&t).ok())
        .is_some_and(|v| v.get("kind").and_then(|k| k.as_str()) == Some("Component"))
}

/// Transitively add the directories referenced by kustomizations inside `dirs`.
fn collect_ref_dirs(
    root: &Path,
    kfiles: &[(PathBuf, String, Vec<PathBuf>)],
    dirs: &mut Vec<String>,
) {
    let croot = root.canonicalize().unwrap_or_default();
    let mut changed = true;
    let mut rounds = 0;
    while changed && rounds < 32 {
        changed = false;
        rounds += 1;
        for (_, rel, refs) in kfiles {
            if dirs.iter().any(|d| d == rel) {
                for r in refs {
                    let rr = rel_of(&croot, r);
                    if !dirs.contains(&rr) {
                        dirs.push(rr);
                        changed = true;
                    }
                }
            }
        }
    }
}

/// Point a rendered object at the raw file that declares it (same kind, name equal or
/// with a prefix/suffix added), using that file's spans; else at the kustomization.
fn map_back(obj: &mut Object, sources: &[(String, Vec<Object>)], kustomization: &str) {
    let kind = obj.kind().to_string();
    let name = obj.name().to_string();
    let mut best: Option<&Object> = None;
    for (_, objs) in sources {
        for o in objs {
            if o.kind() != kind || o.name().is_empty() {
                continue;
            }
            if o.name() == name {
                best = Some(o);
                break;
            }
            if name.contains(o.name()) && best.is_none_or(|b| b.name().len() < o.name().len()) {
                best = Some(o);
            }
        }
    }
    match best {
        Some(o) => {
            obj.path = o.path.clone();
            obj.doc_index = o.doc_index;
            obj.set_spans(o.spans().clone());
        }
        None => {
            obj.path = Some(kustomization.to_string());
            obj.clear_spans();
        }
    }
}

/// Objects of `helm template` output, each pointing at its template file
/// (`# Source: chart/templates/x.yaml`), with the template lines of the fields that can
/// be matched unambiguously (see [`template_lines`]).
fn helm_objects(
    text: &str,
    chart_dir: &Path,
    chart_rel: &str,
    limits: &Limits,
) -> (Vec<Object>, Vec<String>) {
    let mut out = Vec::new();
    let mut refused: Vec<String> = Vec::new();
    let mut templates: BTreeMap<String, Option<String>> = BTreeMap::new();
    let chart_real = chart_dir.canonicalize().ok();
    // Split by the one YAML loader: a `---` inside a block scalar is not a document start.
    for chunk in rampart_yaml::split_documents(text) {
        let doc = chunk.text;
        let tail = doc
            .lines()
            .find_map(|l| l.trim().strip_prefix("# Source: "))
            .map(|s| s.split_once('/').map_or(s, |(_, t)| t).to_string());
        // The path comes from the rendered output (a template can print any comment):
        // only a file inside the chart is read or named.
        let mut outside = false;
        let tail = tail.filter(|t| {
            let ok = template_inside(chart_real.as_deref(), chart_dir, t);
            if !ok {
                outside = true;
                let t: String = t.chars().take(200).collect();
                if !refused.contains(&t) && refused.len() < 16 {
                    refused.push(t);
                }
            }
            ok
        });
        let source = match &tail {
            Some(tail) if chart_rel == "." => Some(tail.clone()),
            Some(tail) => Some(format!("{chart_rel}/{tail}")),
            None if outside => Some(chart_rel.to_string()),
            None => None,
        };
        let loaded = load_str_with(doc, source.as_deref(), limits);
        for mut o in loaded.objects {
            if !is_k8s_value(&o.value) {
                continue;
            }
            let template = tail.as_ref().and_then(|tail| {
                templates
                    .entry(tail.clone())
                    .or_insert_with(|| {
                        read_text_limited(&chart_dir.join(tail), limits.max_file_bytes as u64)
                    })
                    .as_deref()
            });
            match template {
                Some(t) => {
                    let mapped = template_lines::map_spans(o.spans(), doc, t);
                    o.set_spans(mapped);
                }
                None => o.clear_spans(),
            }
            out.push(o);
        }
    }
    (out, refused)
}

/// Whether `tail` (a `# Source:` path without the chart name) is a relative path with
/// no `..` that, when it exists (a subchart packed as `.tgz` has no file), resolves
/// inside the chart after symlinks are followed.
fn template_inside(chart_real: Option<&Path>, chart_dir: &Path, tail: &str) -> bool {
    use std::path::Component;
    let Some(chart_real) = chart_real else {
        return false;
    };
    let p = Path::new(tail);
    if !p.components().all(|c| matches!(c, Component::Normal(_))) {
        return false;
    }
    let joined = chart_dir.join(p);
    match joined.canonicalize() {
        Ok(real) => real.starts_with(chart_real),
        // Missing: fine as a name, nothing is read (unless a dangling symlink).
        Err(_) => joined.symlink_metadata().is_err(),
    }
}

/// The first symlink under `dir` (recursively, at most 10,000 entries looked at) whose
/// target is missing or outside `root_real`, as a path relative to `dir`; a tool reading
/// the directory (helm, kustomize) would follow it. `Some` also when the walk cannot
/// be done (unresolvable root, too many entries): fail closed.
fn escaping_symlink(dir: &Path, root_real: Option<&Path>) -> Option<String> {
    let Some(root_real) = root_real else {
        return Some(".".into());
    };
    let mut stack = vec![dir.to_path_buf()];
    let mut budget = 10_000usize;
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let Some(left) = budget.checked_sub(1) else {
                return Some("(more than 10,000 entries: not checked)".into());
            };
            budget = left;
            let p = e.path();
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_symlink() {
                let inside = p.canonicalize().is_ok_and(|r| r.starts_with(root_real));
                if !inside {
                    return Some(rel_of(dir, &p));
                }
            } else if ft.is_dir() {
                stack.push(p);
            }
        }
    }
    None
}

/// Keys of a kustomization whose entries are files or directories kustomize loads.
const KUSTOMIZE_REF_KEYS: &[&str] = &[
    "resources",
    "bases",
    "components",
    "crds",
    "configurations",
    "generators",
    "transformers",
    "validators",
];

/// Why the kustomization in `dir` must not be built: each entry (of it or of the
/// kustomizations it refers to, transitively) that is not a local file or directory
/// (remote: refused unless `allow_remote`) or that resolves outside `root_real`.
fn refused_resources(dir: &Path, root_real: Option<&Path>, allow_remote: bool) -> Vec<String> {
    let mut out = Vec::new();
    let Some(root_real) = root_real else {
        out.push("the scanned root cannot be resolved".to_string());
        return out;
    };
    let mut queue: Vec<PathBuf> = vec![dir.to_path_buf()];
    let mut seen: BTreeSet<PathBuf> = BTreeSet::new();
    while let Some(d) = queue.pop() {
        if seen.len() >= 256 || !seen.insert(d.clone()) {
            continue;
        }
        let Some(file) = ["kustomization.yaml", "kustomization.yml", "Kustomization"]
            .iter()
            .map(|n| d.join(n))
            .find(|p| p.is_file())
        else {
            continue;
        };
        if let Some(link) = escaping_symlink(&d, Some(root_real)) {
            out.push(format!(
                "`{}` is a symlink leading outside the scanned root (kustomize would read it)",
                link.escape_debug()
            ));
        }
        let Some(text) = read_text_limited(&file, 4 * 1024 * 1024) else {
            continue;
        };
        let v = match yaml_value(&text) {
            Ok(v) => v,
            Err(e) => {
                // Not checked is not passed: kustomize must not build what was not read.
                out.push(format!(
                    "`{}` cannot be read as YAML ({e})",
                    file.file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default()
                        .escape_debug()
                ));
                continue;
            }
        };
        let shown = |e: &str| {
            e.chars()
                .take(200)
                .collect::<String>()
                .escape_debug()
                .to_string()
        };
        for key in KUSTOMIZE_REF_KEYS {
            for e in v
                .get(key)
                .and_then(|x| x.as_array())
                .into_iter()
                .flatten()
                .filter_map(|x| x.as_str())
            {
                match d.join(e).canonicalize() {
                    Ok(real) if real.starts_with(root_real) => {
                        if real.is_dir() {
                            queue.push(real);
                        }
                    }
                    Ok(_) => out.push(format!(
                        "{key} entry `{}` is outside the scanned root (not read)",
                        shown(e)
                    )),
                    Err(_) if allow_remote => {}
                    Err(_) => out.push(format!(
                        "{key} entry `{}` is not a local file or directory, so kubectl would fetch it \
                         from the network; remote resources are refused (allow them with \
                         --allow-remote or k8s.allow_remote in the runner's --config)",
                        shown(e)
                    )),
                }
            }
        }
    }
    out
}

/// A kustomization's value through the one YAML loader (bounded; layouts go-yaml accepts
/// and yaml-rust2 does not are read by its libyaml fallback), or why not.
fn yaml_value(text: &str) -> Result<serde_json::Value, rampart_yaml::YamlError> {
    rampart_yaml::load_one_lenient(text, &rampart_yaml::Options::default()).map(|d| d.value)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    /// Rendered Helm output is split at document markers only: a `-----BEGIN` line in a
    /// quoted scalar continued at column 0 (a layout go-yaml accepts) does not cut the
    /// ConfigMap in two (`split("\n---")` did, and both halves were lost).
    #[test]
    fn helm_output_split_at_document_markers_only() {
        let d = tempfile::tempdir().unwrap();
        let chart = d.path().join("c");
        std::fs::create_dir_all(chart.join("templates")).unwrap();
        let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: pem\ndata:\n  note: \"a\n-----BEGIN X-----\n  b\"\n";
        std::fs::write(chart.join("templates/cm.yaml"), cm).unwrap();
        let rendered = format!(
            "---\n# Source: c/templates/cm.yaml\n{cm}---\n# Source: c/templates/two.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: second\n"
        );
        let (objs, refused) = helm_objects(&rendered, &chart, "c", &Limits::default());
        assert!(refused.is_empty(), "{refused:?}");
        let names: Vec<&str> = objs.iter().map(|o| o.name()).collect();
        assert_eq!(names, ["pem", "second"]);
        assert_eq!(objs[0].value["data"]["note"], "a -----BEGIN X----- b");
    }

    #[test]
    fn discovers_by_content_and_skips_charts() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path();
        std::fs::write(
            p.join("pod.yaml"),
            "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: c}]}\n",
        )
        .unwrap();
        std::fs::write(p.join("config.yaml"), "just: settings\nkind_of: thing\n").unwrap();
        std::fs::write(
            p.join("broken.yaml"),
            "apiVersion: v1\nkind: Pod\nmetadata: [x\n",
        )
        .unwrap();
        std::fs::create_dir_all(p.join("chart/templates")).unwrap();
        std::fs::write(
            p.join("chart/Chart.yaml"),
            "apiVersion: v2\nname: c\nversion: 0.1.0\n",
        )
        .unwrap();
        std::fs::write(
            p.join("chart/templates/d.yaml"),
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n",
        )
        .unwrap();
        std::fs::write(
            p.join("typed.yaml"),
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    spec:\n      containers: nope\n",
        )
        .unwrap();
        let opts = TreeOptions {
            helm: false,
            ..TreeOptions::default()
        };
        let set = load_tree(p, &opts).unwrap();
        assert_eq!(set.objects.len(), 2);
        assert_eq!(set.objects[0].path.as_deref(), Some("pod.yaml"));
        assert!(
            set.errors.iter().any(|e| e.path == "typed.yaml"
                && e.line == Some(7)
                && e.message
                    .contains("no `spec.template.spec.containers` list")),
            "{:?}",
            set.errors
        );
        assert!(
            set.errors
                .iter()
                .any(|e| e.path == "broken.yaml" && e.line == Some(3)),
            "{:?}",
            set.errors
        );
        assert!(
            set.errors
                .iter()
                .any(|e| e.path == "chart" && e.message.contains("Helm chart skipped")),
            "{:?}",
            set.errors
        );
    }

    #[test]
    fn kustomize_builds_and_maps_back() {
        let Some(_) = on_path("kubectl") else {
            assert!(
                std::env::var("RAMPART_REQUIRE_TOOLS").as_deref() != Ok("1"),
                "kubectl required"
            );
            #[allow(clippy::print_stderr)]
            {
                eprintln!("skipping: kubectl not on PATH");
            }
            return;
        };
        let d = tempfile::tempdir().unwrap();
        let p = d.path();
        std::fs::create_dir_all(p.join("base")).unwrap();
        std::fs::create_dir_all(p.join("overlay")).unwrap();
        std::fs::write(
            p.join("base/kustomization.yaml"),
            "resources:\n- deploy.yaml\n",
        )
        .unwrap();
        std::fs::write(p.join("base/deploy.yaml"), "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers:\n      - name: app\n        image: nginx\n        securityContext:\n          privileged: true\n").unwrap();
        std::fs::write(
            p.join("overlay/kustomization.yaml"),
            "namePrefix: prod-\nnamespace: prod\nresources:\n- ../base\n",
        )
        .unwrap();
        let set = load_tree(p, &TreeOptions::default()).unwrap();
        assert_eq!(set.kustomizations, 1, "{:?} {:?}", set.notes, set.errors);
        assert_eq!(set.objects.len(), 1, "{:?}", set.objects);
        let o = &set.objects[0];
        assert_eq!(o.name(), "prod-web");
        assert_eq!(o.namespace(), Some("prod"));
        assert_eq!(o.path.as_deref(), Some("base/deploy.yaml"));
        assert_eq!(
            o.span("spec.template.spec.containers[0].securityContext.privileged")
                .map(|s| s.start_line),
            Some(14)
        );
    }
}
