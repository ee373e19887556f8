//! Kubernetes manifest scan throughput: load every `.yaml`/`.yml`/`.json` file under a
//! directory with spans, run every rule (Pod Security Standards, best practices and the
//! set-level rules) on one thread, and report the time.
//!
//! `cargo bench -p rampart-k8s --bench k8s_scan -- DIR [--repeat N] [--findings OUT.jsonl] [--metas OUT.json]`
//! (without DIR: the corpus `k8s-manifests-large`). `bench/k8s.sh` runs it beside
//! Checkov and Trivy.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used
)]

use rampart_core::Location;

/// The allocator of the `rampart` binary (mimalloc without transparent huge pages).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use rampart_k8s::load::{load_str_with, Limits};
use rampart_k8s::{check_set, Context, Object};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out);
        } else if p
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
        {
            out.push(p);
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let mut dir = None;
    let mut repeat = 1usize;
    let mut findings_out = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--metas" => {
                // Rule id → peer ids, for the peer comparison in bench/k8s.sh.
                let mut metas: Vec<_> = rampart_k8s::rules::all()
                    .into_iter()
                    .map(|r| r.meta)
                    .collect();
                metas.extend(rampart_k8s::best::set_metas());
                let map: serde_json::Map<String, serde_json::Value> = metas
                    .into_iter()
                    .map(|m| (m.id, serde_json::Value::from(m.peers)))
                    .collect();
                let out = args.next().expect("--metas OUT.json");
                std::fs::write(out, serde_json::Value::Object(map).to_string()).unwrap();
            }
            "--repeat" => repeat = args.next().and_then(|n| n.parse().ok()).unwrap_or(1),
            "--findings" => findings_out = args.next().map(PathBuf::from),
            _ => dir = Some(PathBuf::from(a)),
        }
    }
    let dir = dir.unwrap_or_else(|| {
        rampart_testkit::corpus("k8s-manifests-large/files").expect("corpus k8s-manifests-large")
    });
    let mut files = Vec::new();
    walk(&dir, &mut files);
    let mut best = f64::MAX;
    let mut summary = (0, 0, 0, 0);
    for _ in 0..repeat.max(1) {
        let t = Instant::now();
        let mut objects: Vec<Object> = Vec::new();
        let mut errors = 0;
        let mut bytes = 0;
        for f in &files {
            let Ok(text) = std::fs::read_to_string(f) else {
                errors += 1;
                continue;
            };
            bytes += text.len();
            let rel = f
                .strip_prefix(&dir)
                .unwrap_or(f)
                .to_string_lossy()
                .replace('\\', "/");
            // As `rampart k8s` without `--policy`: CRD schemas are parsed, not kept.
            let limits = Limits {
                skim_crd_bodies: true,
                ..Limits::default()
            };
            let loaded = load_str_with(&text, Some(&rel), &limits);
            errors += loaded.errors.len();
            objects.extend(loaded.objects);
        }
        let loaded_at = t.elapsed().as_secs_f64();
        let findings = check_set(&objects, &Context::default());
        eprintln!(
            "  load {:.3} s, rules {:.3} s",
            loaded_at,
            t.elapsed().as_secs_f64() - loaded_at
        );
        let secs = t.elapsed().as_secs_f64();
        if secs < best {
            best = secs;
        }
        summary = (objects.len(), findings.len(), errors, bytes);
        if let Some(out) = &findings_out {
            let mut w = std::io::BufWriter::new(std::fs::File::create(out).unwrap());
            for f in &findings {
                if let Location::K8sObject { object, path, .. } = &f.location {
                    let line = serde_json::json!({
                        "rule_id": f.rule_id,
                        "file": path,
                        "resource": format!("{}.{}.{}", object.kind, object.namespace.as_deref().unwrap_or("default"), object.name),
                    });
                    writeln!(w, "{line}").unwrap();
                }
            }
        }
    }
    let (objects, findings, errors, bytes) = summary;
    println!(
        "k8s_scan: {} files, {:.1} MB, {objects} objects, {findings} findings, {errors} load errors, best of {repeat}: {:.3} s ({:.0} files/s, one thread)",
        files.len(),
        bytes as f64 / 1e6,
        best,
        files.len() as f64 / best
    );
}
