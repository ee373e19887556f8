//! Load (and check) every manifest under a directory, N times, and print timings.
//!
//! `cargo run --release -p rampart-k8s --example load_bench -- DIR [REPEAT]`
#![allow(clippy::print_stdout, clippy::print_stderr)]

use rampart_k8s::load::{load_str_with, Limits};

/// The allocator of the `rampart` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().unwrap_or_else(|| ".".into());
    let repeat: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(1);
    let mut texts = Vec::new();
    let mut stack = vec![std::path::PathBuf::from(dir)];
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            if let Ok(rd) = std::fs::read_dir(&p) {
                stack.extend(rd.flatten().map(|e| e.path()));
            }
        } else if let Ok(t) = std::fs::read_to_string(&p) {
            texts.push((p.display().to_string(), t));
        }
    }
    let bytes: usize = texts.iter().map(|t| t.1.len()).sum();
    if std::env::var_os("PARSE_ONLY").is_some() {
        let t = Instant::now();
        let mut n = 0usize;
        for (_, text) in &texts {
            let mut p = yaml_rust2::parser::Parser::new_from_str(text);
            while let Ok((ev, _)) = p.next_token() {
                n += 1;
                if matches!(ev, yaml_rust2::parser::Event::StreamEnd) {
                    break;
                }
            }
        }
        println!(
            "yaml-rust2 events only: {n} events in {:.3}s",
            t.elapsed().as_secs_f64()
        );
    }
    let t0 = Instant::now();
    let mut objects = Vec::new();
    for _ in 0..repeat {
        for (p, t) in &texts {
            // As `rampart k8s` without `--policy` (SKIM=0: keep CRD schemas).
            let limits = Limits {
                skim_crd_bodies: std::env::var_os("SKIM").is_none_or(|v| v != "0"),
                ..Limits::default()
            };
            objects.extend(load_str_with(t, Some(p), &limits).objects);
        }
    }
    let load = t0.elapsed();
    if std::env::var_os("LOAD_ONLY").is_some() {
        println!("{} objects: load {:.3}s", objects.len(), load.as_secs_f64());
        std::process::exit(0);
    }
    if std::env::var_os("SPANS_FIRST").is_some() {
        // Force every object's spans (what the findings of a scan do lazily).
        let t = Instant::now();
        let n: usize = objects.iter().map(|o| o.spans().len()).sum();
        println!(
            "spans of every object: {n} spans in {:.3}s",
            t.elapsed().as_secs_f64()
        );
    }
    let t1 = Instant::now();
    let findings = rampart_k8s::check_set(&objects, &rampart_k8s::Context::default());
    let check = t1.elapsed();
    println!(
        "{} files x{repeat} ({} MB each pass), {} objects: load {:.3}s, check {:.3}s, {} findings",
        texts.len(),
        bytes / 1_000_000,
        objects.len(),
        load.as_secs_f64(),
        check.as_secs_f64(),
        findings.len()
    );
}
