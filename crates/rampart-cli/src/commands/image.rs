//! `rampart image REF`: packages, vulnerabilities, secrets in layers and configuration
//! of a container image (OCI layout, docker/OCI archive, registry).

use crate::args::{CommonArgs, SecretArgs};
use crate::settings::Settings;
use anyhow::{bail, Context, Result};
use clap::Args;
use rampart_core::{Report, RuleMeta, ScanError};
use rampart_image::oci::Platform;
use rampart_image::{ImagePackage, ScanOptions};
use rampart_secrets::{ScanOptions as SecretOptions, SecretScanner};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// `rampart image`.
#[derive(Debug, Args)]
pub struct ImageCmd {
    /// The image: an OCI layout directory (`DIR` or `DIR:tag`), a `docker save` or OCI
    /// archive tar, or a registry reference (`registry/repo:tag`, `repo@sha256:…`).
    /// Prefixes `oci:`, `docker-archive:`, `oci-archive:`, `registry:` force the kind.
    #[arg(value_name = "IMAGE")]
    pub image: String,
    /// Platform to pick from a multi-arch index: `os/arch[/variant]`.
    #[arg(long, default_value = "linux/amd64", value_name = "OS/ARCH")]
    pub platform: String,
    /// Talk plain HTTP to the registry (local test registries).
    #[arg(long)]
    pub insecure: bool,
    /// CA certificates (PEM) trusted for the registry's HTTPS instead of the system's
    /// (a registry behind a corporate CA).
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Vulnerability database (default: $RAMPART_DB, else the cache path, when it exists).
    #[command(flatten)]
    pub db: crate::commands::db::DbPath,
    /// Do not match packages against the vulnerability database.
    #[arg(long)]
    pub skip_vulns: bool,
    /// Do not scan layer files for secrets.
    #[arg(long)]
    pub skip_secrets: bool,
    /// Print the package inventory (table, or JSON with `--format json`) instead of a
    /// report.
    #[arg(long)]
    pub list_packages: bool,
    /// Directory for blobs pulled from a registry (default: the system temp dir).
    #[arg(long, value_name = "DIR")]
    pub temp_dir: Option<PathBuf>,
    /// Report options.
    #[command(flatten)]
    pub common: CommonArgs,
    /// Secret-scanner options.
    #[command(flatten)]
    pub secrets: SecretArgs,
}

/// Run `rampart image`.
pub fn run(cmd: ImageCmd) -> Result<u8> {
    let started = Instant::now();
    let settings = Settings::resolve(&cmd.common, &cmd.secrets, Path::new("."))?;
    let platform = Platform::parse(&cmd.platform)
        .with_context(|| format!("--platform `{}`: expected os/arch[/variant]", cmd.platform))?;
    let mut opts = ScanOptions::default();
    opts.open.platform = platform;
    opts.open.insecure = cmd.insecure;
    opts.open.ca_file = cmd.ca_file.clone();
    opts.open.temp_dir = cmd.temp_dir.clone();
    opts.limits.max_secret_file = settings.walk.max_file_size;

    let scanner = if cmd.skip_secrets || cmd.list_packages {
        None
    } else {
        let set = crate::commands::scan::load_rules(
            &settings.rules,
            &settings.disable,
            !cmd.secrets.no_builtin_rules,
        )?;
        Some(SecretScanner::new(
            set,
            SecretOptions {
                show_secrets: settings.show_secrets,
                walk: settings.walk.clone(),
            },
        )?)
    };
    let db = if cmd.skip_vulns || cmd.list_packages {
        None
    } else {
        open_db(&cmd.db)?
    };
    let scan = rampart_image::scan(&cmd.image, &opts, scanner.as_ref(), db.as_ref())
        .with_context(|| format!("cannot scan image {}", cmd.image))?;

    if cmd.list_packages {
        let text = if matches!(settings.format, rampart_report::Format::Json) {
            serde_json::to_string_pretty(&serde_json::json!({
                "image": scan.image,
                "packages": scan.packages,
                "errors": scan.errors,
            }))?
        } else {
            package_table(&scan.packages)
        };
        crate::stdout(&text)?;
        for e in &scan.errors {
            crate::say!("warning: {e}");
        }
        if !scan.errors.is_empty() && !settings.allow_errors {
            crate::say!(
                "error: {} problem(s): the package list is incomplete; exiting 2 \
                 (--allow-errors to accept)",
                scan.errors.len()
            );
            return Ok(crate::exit::ERROR);
        }
        return Ok(crate::exit::CLEAN);
    }

    let mut report = Report::new(
        cmd.image.clone(),
        vec!["image".into(), "secrets".into(), "vuln".into()]
            .into_iter()
            .filter(|s: &String| {
                !(s == "secrets" && scanner.is_none() || s == "vuln" && db.is_none())
            })
            .collect(),
    );
    report.summary.files_scanned = scan.stats.secret_files;
    report.summary.bytes_scanned = scan.stats.bytes;
    if scan.stats.too_large > 0 {
        report.skip("too_large", scan.stats.too_large);
    }
    let mut metas: HashMap<String, RuleMeta> = rampart_image::metas()
        .into_iter()
        .map(|m| (m.id.clone(), m))
        .collect();
    if let Some(s) = &scanner {
        for m in s.metas() {
            metas.insert(m.id.clone(), m);
        }
    }
    for f in &scan.findings {
        if !metas.contains_key(&f.rule_id) {
            metas.insert(f.rule_id.clone(), meta_from(f));
        }
    }
    report.findings.extend(scan.findings);
    report.errors.extend(scan.errors);
    report
        .errors
        .extend(coverage_errors(db.as_ref(), &scan.packages, &cmd.image)?);
    report.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    crate::commands::output::finish(report, &settings, false, |id| metas.get(id).cloned())
}

fn meta_from(f: &rampart_core::Finding) -> RuleMeta {
    RuleMeta {
        id: f.rule_id.clone(),
        area: f.rule_id.split('/').next().unwrap_or("vuln").to_string(),
        title: f.title.clone(),
        severity: f.severity,
        description: f.message.clone(),
        remediation: f.remediation.clone(),
        references: f.references.clone(),
        peers: Vec::new(),
        tags: Vec::new(),
    }
}

fn open_db(p: &crate::commands::db::DbPath) -> Result<Option<rampart_vuln::Db>> {
    let explicit = p.db.is_some();
    let path = p.resolve();
    if !path.is_file() {
        if explicit {
            bail!(
                "vulnerability database {} does not exist (rampart db import …)",
                path.display()
            );
        }
        return Ok(None);
    }
    // Empty or older than --max-db-age: an error, not a clean result. (The image's
    // ecosystems are known only after the scan; their coverage is not checked here.)
    Ok(Some(p.open_for_scan(&[])?))
}

/// One error per ecosystem of the image's packages that the database has no data for:
/// those packages were not checked (fail closed, never "no findings").
fn coverage_errors(
    db: Option<&rampart_vuln::Db>,
    packages: &[ImagePackage],
    image: &str,
) -> Result<Vec<ScanError>> {
    let Some(db) = db else {
        return Ok(Vec::new());
    };
    let mut ecos: Vec<String> = packages.iter().map(|p| p.ecosystem.clone()).collect();
    ecos.sort();
    ecos.dedup();
    let problems = rampart_vuln::fresh::check(db, &ecos, None)?;
    Ok(problems
        .iter()
        .filter(|p| matches!(p, rampart_vuln::fresh::Problem::MissingEcosystems(_)))
        .map(|p| ScanError {
            path: image.to_string(),
            line: None,
            message: format!(
                "vulnerabilities not checked: {p}: run `rampart db update --ecosystem {}`",
                rampart_vuln::fresh::update_ecosystems(std::slice::from_ref(p), &ecos).join(",")
            ),
        })
        .collect())
}

fn package_table(pkgs: &[ImagePackage]) -> String {
    let w = |f: &dyn Fn(&ImagePackage) -> usize, min: usize| {
        pkgs.iter().map(f).max().unwrap_or(0).max(min)
    };
    let (wt, wn, wv, we) = (
        w(&|p| p.kind.as_str().len(), 4),
        w(&|p| p.name.len(), 4),
        w(&|p| p.version.len(), 7),
        w(&|p| p.ecosystem.len(), 9),
    );
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:wt$}  {:wn$}  {:wv$}  {:we$}  LAYER  PATH",
        "TYPE", "NAME", "VERSION", "ECOSYSTEM"
    );
    for p in pkgs {
        let _ = writeln!(
            s,
            "{:wt$}  {:wn$}  {:wv$}  {:we$}  {:>5}  /{}",
            p.kind.as_str(),
            p.name,
            p.version,
            p.ecosystem,
            p.layer,
            p.path
        );
    }
    let _ = write!(s, "{} packages", pkgs.len());
    s
}

/// The image part of `rampart scan` is not a directory scan; nothing to contribute
/// for a source tree unless it is itself an OCI layout. Then its layers are scanned for
/// secrets with `secrets`, the scan's own secret scanner (the secret part of the scan sees
/// only compressed blobs).
pub fn scan_part(
    root: &Path,
    settings: &Settings,
    secrets: Option<&SecretScanner>,
) -> Result<crate::commands::part::ScanPart> {
    let mut part = crate::commands::part::ScanPart {
        scanner: "image",
        metas: rampart_image::metas(),
        ..Default::default()
    };
    if !rampart_image::looks_like_image(root) {
        return Ok(part);
    }
    let mut opts = ScanOptions::default();
    opts.limits.max_secret_file = settings.walk.max_file_size;
    let db = open_db(&settings.db)?;
    let scan = rampart_image::scan(&root.display().to_string(), &opts, secrets, db.as_ref())?;
    part.findings = scan.findings;
    part.errors = scan.errors;
    part.errors.extend(coverage_errors(
        db.as_ref(),
        &scan.packages,
        &root.display().to_string(),
    )?);
    Ok(part)
}
