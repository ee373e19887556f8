//! `rampart sbom`: the dependency inventory of a directory (lockfiles, plus installed
//! metadata for licences) as a CycloneDX 1.6 or SPDX 2.3 JSON SBOM.

#![allow(clippy::print_stderr)]

use anyhow::{bail, Context, Result};
use clap::Args;
use rampart_core::walk::WalkOptions;
use rampart_sca::inventory::Inventory;
use rampart_sca::sbom::{self, Format, SbomMeta};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Prefixes that force the argument to be read as a container image.
const IMAGE_PREFIXES: [&str; 4] = ["oci:", "docker-archive:", "oci-archive:", "registry:"];

/// `rampart sbom`.
#[derive(Debug, Args)]
pub struct SbomCmd {
    /// Directory (searched for lockfiles), one lockfile, or a container image: an OCI
    /// layout directory, a docker/OCI archive, or `oci:`/`docker-archive:`/`oci-archive:`/
    /// `registry:`-prefixed references (the image's OS and language packages).
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// SBOM format: `cyclonedx` (CycloneDX 1.6 JSON; the default) or `spdx` (SPDX 2.3
    /// JSON).
    #[arg(long, short = 'f', value_name = "FORMAT")]
    pub format: Option<String>,
    /// Write the SBOM to this file instead of standard output: `FORMAT=PATH` (e.g.
    /// `spdx=sbom.spdx.json`) or `PATH` (in the --format format).
    #[arg(long, short = 'o', value_name = "[FORMAT=]PATH")]
    pub output: Option<String>,
    /// Name of the described software (default: the directory name).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Version of the described software.
    #[arg(long, value_name = "VERSION")]
    pub component_version: Option<String>,
    /// Do not read installed metadata (node_modules, *.dist-info, the cargo registry)
    /// for licences and packages.
    #[arg(long)]
    pub no_installed: bool,
    /// Exclude paths matching this glob (gitignore syntax). Repeatable.
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Do not honour .gitignore / .ignore files.
    #[arg(long)]
    pub no_ignore: bool,
    /// Print nothing on standard error.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Exit 0 even when some lockfile or image part could not be read (the SBOM is then
    /// incomplete; the problems are printed as warnings). Default: exit 2 after writing.
    #[arg(long)]
    pub allow_errors: bool,
}

/// The inventory of `root` for an SBOM: lockfiles (the size limit raised for them),
/// then licences (and packages no lockfile lists) from installed metadata and the cargo
/// registry, leaving out what lies under `walk.exclude`. Errors of individual files are
/// in `inventory.errors`.
pub fn inventory(root: &Path, walk: &WalkOptions, use_installed: bool) -> Result<Inventory> {
    let mut inv = rampart_sca::deps::inventory(root, walk, true)
        .with_context(|| format!("cannot scan {}", root.display()))?
        .inventory;
    if use_installed {
        rampart_sca::deps::add_installed(&mut inv, root, &walk.exclude)?;
    }
    Ok(inv)
}

fn default_name(root: &Path) -> String {
    let abs = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let base = if abs.is_file() {
        abs.parent().map(Path::to_path_buf).unwrap_or_default()
    } else {
        abs
    };
    base.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "project".into())
}

/// `-o FORMAT=PATH` names the format as `-o` does for the scanning commands (it must
/// agree with an explicit `-f`); `-o PATH` takes `-f`'s (default `cyclonedx`).
fn output_spec(format: Option<&str>, output: Option<&str>) -> Result<(String, Option<PathBuf>)> {
    let default = format.unwrap_or("cyclonedx").to_string();
    let Some(spec) = output else {
        return Ok((default, None));
    };
    if let Some((f, p)) = spec.split_once('=') {
        if let Some(named) = Format::from_name(f) {
            if let Some(explicit) = format.filter(|e| Format::from_name(e) != Some(named)) {
                bail!("--output `{spec}` names format `{f}` but --format is `{explicit}`");
            }
            return Ok((f.to_string(), Some(PathBuf::from(p))));
        }
        if !f.contains(['/', '.']) {
            bail!("--output `{spec}`: unknown format `{f}` (expected cyclonedx or spdx)");
        }
    }
    Ok((default, Some(PathBuf::from(spec))))
}

/// Run `rampart sbom`.
pub fn run(cmd: SbomCmd) -> Result<u8> {
    let (format_name, output) = output_spec(cmd.format.as_deref(), cmd.output.as_deref())?;
    let Some(format) = Format::from_name(&format_name) else {
        bail!("--format `{format_name}`: expected `cyclonedx` or `spdx`");
    };
    let arg = cmd.path.to_string_lossy().into_owned();
    let image = IMAGE_PREFIXES.iter().any(|p| arg.starts_with(p))
        || rampart_image::looks_like_image(&cmd.path)
        || arg
            .rsplit_once(':')
            .is_some_and(|(dir, _tag)| rampart_image::looks_like_image(Path::new(dir)));
    if !image && !cmd.path.exists() {
        bail!(
            "{}: no such file or directory (a registry image needs the `registry:` prefix)",
            cmd.path.display()
        );
    }
    let inv = if image {
        rampart_image::inventory(&arg, &rampart_image::ScanOptions::default())
            .with_context(|| format!("cannot read image {arg}"))?
    } else {
        let walk = WalkOptions {
            respect_gitignore: !cmd.no_ignore,
            exclude: cmd.exclude.clone(),
            ..WalkOptions::default()
        };
        inventory(&cmd.path, &walk, !cmd.no_installed)?
    };
    if !cmd.quiet {
        for e in &inv.errors {
            crate::say!("warning: {e}");
        }
    }
    let name = cmd.name.clone().unwrap_or_else(|| default_name(&cmd.path));
    let mut meta = SbomMeta::from_env(name, cmd.component_version.as_deref());
    if image {
        meta.root_type = "container".into();
    }
    let doc = sbom::write(&inv, &meta, format);
    let mut text = serde_json::to_string_pretty(&doc)?;
    text.push('\n');
    match &output {
        Some(p) => {
            std::fs::write(p, text).with_context(|| format!("cannot write {}", p.display()))?
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
        }
    }
    if !cmd.quiet {
        let n: usize = inv.lockfiles.iter().map(|l| l.packages.len()).sum();
        crate::say!(
            "rampart sbom: {} from {}{}",
            rampart_report::count(n as u64, "package", "packages"),
            rampart_report::count(
                inv.lockfiles.len() as u64,
                "lockfile/metadata source",
                "lockfiles/metadata sources"
            ),
            output
                .as_ref()
                .map(|p| format!(" → {}", p.display()))
                .unwrap_or_default()
        );
    }
    if !inv.errors.is_empty() && !cmd.allow_errors {
        crate::say!(
            "error: {} problem(s): the SBOM is incomplete (written anyway); exiting 2 \
             (--allow-errors to accept)",
            inv.errors.len()
        );
        return Ok(crate::exit::ERROR);
    }
    Ok(0)
}
