//! Benchmark: open a database, build 5,000 packages from its own affected entries (half
//! at a vulnerable version, half at a fixed one) plus unknown packages, and time
//! `match_packages` after the open.
//!
//! `cargo run --release -p rampart-vuln --example vuln_match -- DB [N]`

#![allow(clippy::print_stdout, clippy::print_stderr)]

use rampart_vuln::{Db, Package};
use std::path::PathBuf;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = PathBuf::from(args.next().ok_or("usage: vuln_match DB [N]")?);
    let n: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(5000);
    let t0 = Instant::now();
    let db = Db::open_existing(&path)?;
    let open = t0.elapsed();
    let packages = sample(&path, n)?;
    let mut times = Vec::new();
    let mut vulns = 0;
    let mut hit = 0;
    for _ in 0..5 {
        let t = Instant::now();
        let reports = db.match_packages(&packages)?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        vulns = reports.iter().map(|r| r.vulns.len()).sum::<usize>();
        hit = reports.iter().filter(|r| !r.vulns.is_empty()).count();
    }
    let first = times[0];
    times.sort_by(f64::total_cmp);
    println!(
        "open {:.1} ms; match {} packages: first {:.1} ms, median {:.1} ms, best {:.1} ms; {hit} vulnerable packages, {vulns} vulnerabilities",
        open.as_secs_f64() * 1000.0,
        packages.len(),
        first,
        times[times.len() / 2],
        times[0]
    );
    Ok(())
}

/// Packages taken from the database itself (a separate connection, not timed).
fn sample(path: &PathBuf, n: usize) -> Result<Vec<Package>, Box<dyn std::error::Error>> {
    let in_db: usize = std::env::var("MATCH_IN_DB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(n * 9 / 10);
    let conn = rusqlite::Connection::open(path)?;
    let mut st = conn.prepare(
        "SELECT ecosystem, name, ranges, versions FROM affected WHERE eco_base IN ('Go','PyPI','crates.io','npm','Maven','Alpine','Debian','Packagist','RubyGems') ORDER BY rowid",
    )?;
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    for (i, row) in rows.enumerate() {
        let (eco, name, ranges, versions) = row?;
        // A lockfile lists each package once.
        if !seen.insert((eco.clone(), name.clone())) {
            continue;
        }
        let ranges: Vec<rampart_vuln::osv::Range> = serde_json::from_str(&ranges)?;
        let versions: Vec<String> = serde_json::from_str(&versions)?;
        let events: Vec<String> = ranges
            .iter()
            .flat_map(|r| &r.events)
            .filter_map(|e| e.introduced.clone().or_else(|| e.fixed.clone()))
            .filter(|v| v != "0")
            .collect();
        let version = if i % 2 == 0 {
            events
                .first()
                .cloned()
                .or_else(|| versions.first().cloned())
        } else {
            events.last().cloned()
        };
        if let Some(v) = version {
            out.push(Package::new(eco, name, v));
        }
        if out.len() >= in_db {
            break;
        }
    }
    let mut k = 0;
    while out.len() < n {
        out.push(Package::new("npm", format!("not-in-db-{k}"), "1.0.0"));
        k += 1;
    }
    Ok(out)
}
