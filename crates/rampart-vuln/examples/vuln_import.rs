//! Import OSV sources into a database and print the report (used by the benchmark).
//!
//! `cargo run --release -p rampart-vuln --example vuln_import -- DB PATH...`

#![allow(clippy::print_stdout, clippy::print_stderr)]

use rampart_vuln::{Db, ImportOptions};
use std::path::PathBuf;

// The same allocator as the `rampart` binary (glibc's malloc spends a quarter of the
// import in malloc/free and arena growth when parsing on several threads).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let db_path = PathBuf::from(args.next().ok_or("usage: vuln_import DB PATH...")?);
    let sources: Vec<PathBuf> = args.map(PathBuf::from).collect();
    let _ = std::fs::remove_file(&db_path);
    let mut db = Db::open(&db_path)?;
    let opts = ImportOptions {
        validate_schema: std::env::var_os("NO_SCHEMA").is_none(),
        ..ImportOptions::default()
    };
    let report = db.import(&sources, &opts)?;
    println!(
        "files {} records read {} imported {} withdrawn {} rejected {} warnings {} in {:.3} s (read+parse+validate {:.3} s) = {:.0} records/s",
        report.files,
        report.records_read,
        report.imported,
        report.withdrawn,
        report.rejected.len(),
        report.warnings.len(),
        report.seconds,
        report.read_seconds,
        (report.imported + report.withdrawn + report.rejected.len()) as f64 / report.seconds
    );
    for r in report.rejected.iter().take(30) {
        println!(
            "rejected {} {:?} {}: {}",
            r.source,
            r.id,
            r.code,
            r.message.chars().take(200).collect::<String>()
        );
    }
    for (e, n) in &report.per_ecosystem {
        println!("  {e}: {n}");
    }
    Ok(())
}
