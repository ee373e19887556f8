//! Command-line arguments (clap derive).

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Rampart: one binary for the DevSecOps pipeline.
#[derive(Debug, Parser)]
#[command(name = "rampart", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run every repository scanner (secrets, deps, k8s, Dockerfile/Terraform) and write one report.
    Scan(ScanCmd),
    /// Scan for secrets: a directory, a file, `-` (stdin), the staged index or git history.
    Secrets(SecretsCmd),
    /// List, explain and check rules.
    Rules {
        /// What to do.
        #[command(subcommand)]
        command: RulesCmd,
    },
    /// Falco-compatible runtime detection over Kubernetes audit events.
    Monitor(crate::commands::monitor::MonitorCmd),
    /// The Kubernetes admission webhook: serve it, make its certificates, try a review.
    Admission(crate::commands::admission::AdmissionCmd),
    /// Scan a container image: packages, vulnerabilities, secrets in layers, config.
    Image(Box<crate::commands::image::ImageCmd>),
    /// Dockerfile and Terraform rules, and custom Rego policies (--policy) over IaC, YAML and JSON.
    Iac(Box<crate::commands::iac::IacCmd>),
    /// Scan Kubernetes manifests (plain, Kustomize, Helm): Pod Security Standards, best
    /// practices, Rego policies.
    K8s(Box<crate::commands::k8s::K8sCmd>),
    /// Dependency vulnerabilities: lockfiles → packages → the local OSV database.
    Deps(Box<crate::commands::deps::DepsCmd>),
    /// Write a CycloneDX 1.6 or SPDX 2.3 SBOM of a directory's dependencies.
    Sbom(Box<crate::commands::sbom::SbomCmd>),
    /// The local vulnerability database: update from OSV, import OSV records, show status.
    Db {
        /// What to do.
        #[command(subcommand)]
        command: crate::commands::db::DbCmd,
    },
    /// Signing keys: generate a key pair, print a private key's public key.
    Key {
        /// What to do.
        #[command(subcommand)]
        command: crate::commands::supply::KeyCmd,
    },
    /// Sign a file (cosign's blob signature format).
    Sign {
        /// What to sign.
        #[command(subcommand)]
        command: crate::commands::supply::SignCmd,
    },
    /// Verify a blob signature or an in-toto attestation (DSSE).
    Verify {
        /// What to verify.
        #[command(subcommand)]
        command: crate::commands::supply::VerifyCmd,
    },
    /// Sign an in-toto statement about a file (DSSE envelope).
    Attest {
        /// What to attest.
        #[command(subcommand)]
        command: crate::commands::supply::AttestCmd,
    },
    /// RBAC questions answered as the API server's authorizer would: who-can, can-i,
    /// permissions (see docs/rbac.md).
    Rbac {
        /// What to ask.
        #[command(subcommand)]
        command: crate::commands::rbac::RbacCmd,
    },
    /// Git hooks.
    Hook {
        /// What to do.
        #[command(subcommand)]
        command: HookCmd,
    },
}

/// A size argument: bytes, or `512K`, `10M`, `2G`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    rampart_core::config::parse_size(s)
}

/// A size argument held as `usize`.
pub fn parse_size_usize(s: &str) -> Result<usize, String> {
    usize::try_from(parse_size(s)?).map_err(|_| format!("`{s}` is too large"))
}

/// `rampart scan`.
#[derive(Debug, Args)]
pub struct ScanCmd {
    /// Directory or file to scan.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Report options.
    #[command(flatten)]
    pub common: CommonArgs,
    /// Secret-scanner options.
    #[command(flatten)]
    pub secrets: SecretArgs,
    /// The vulnerability database for the dependency and image parts.
    #[command(flatten)]
    pub db: crate::commands::db::DbPath,
}

/// `rampart secrets`.
#[derive(Debug, Args)]
pub struct SecretsCmd {
    /// Directory, file, or `-` for standard input.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Scan only lines added in the git index (the pre-commit case).
    #[arg(long, conflicts_with = "git_history")]
    pub staged: bool,
    /// Scan the lines added by every commit reachable from HEAD.
    #[arg(long)]
    pub git_history: bool,
    /// With --git-history: only commits after this revision (`REV..HEAD`).
    #[arg(long, requires = "git_history", value_name = "REV")]
    pub since: Option<String>,
    /// Report options.
    #[command(flatten)]
    pub common: CommonArgs,
    /// Secret-scanner options.
    #[command(flatten)]
    pub secrets: SecretArgs,
}

/// Options shared by every scanning command.
#[derive(Debug, Args, Clone, Default)]
pub struct CommonArgs {
    /// Report format on standard output.
    #[arg(long, short = 'f', value_name = "FORMAT")]
    pub format: Option<String>,
    /// Also write a report: `FORMAT=PATH` (e.g. `sarif=out.sarif`) or `PATH` (format from
    /// the extension). Repeatable.
    #[arg(long, short = 'o', value_name = "[FORMAT=]PATH")]
    pub output: Vec<String>,
    /// Exit 1 when an unsuppressed finding is at or above this severity
    /// (critical|high|medium|low|info|none; default high).
    #[arg(long, value_name = "SEVERITY")]
    pub fail_on: Option<String>,
    /// How the gate counts findings whose severity is unknown (no CVSS or rating
    /// anywhere): critical|high|medium|low|info|ignore (default high).
    #[arg(long, value_name = "SEVERITY")]
    pub fail_on_unknown: Option<String>,
    /// Configuration file, trusted with every key (default: `RAMPART_CONFIG`, else
    /// rampart.yaml in the scanned root, which may set repository policy only).
    #[arg(long, value_name = "FILE", conflicts_with = "no_config")]
    pub config: Option<PathBuf>,
    /// Read no configuration file (neither rampart.yaml in the scanned root nor
    /// RAMPART_CONFIG).
    #[arg(long)]
    pub no_config: bool,
    /// Report scan errors (content that could not be checked) as warnings: the exit code
    /// then follows the gate. Default: a run with errors exits 2.
    #[arg(long)]
    pub allow_errors: bool,
    /// Ignore file (default: .rampartignore.yaml in the scanned root).
    #[arg(long, value_name = "FILE")]
    pub ignore_file: Option<PathBuf>,
    /// A previous JSON report: only findings not in it count.
    #[arg(long, value_name = "REPORT.json")]
    pub baseline: Option<PathBuf>,
    /// Exit 1 when an inline ignore or ignore-file entry matched nothing (or expired).
    #[arg(long)]
    pub fail_on_stale_ignores: bool,
    /// Do not honour .gitignore / .ignore files.
    #[arg(long)]
    pub no_ignore: bool,
    /// Skip files larger than this (bytes, or `512K`, `10M`, `1G`; default 10M).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_file_size: Option<u64>,
    /// Switch off the rules matching this id or glob (e.g. `docker/apt-*`): their
    /// findings are reported as suppressed (kind `config`). Repeatable.
    #[arg(long, value_name = "GLOB")]
    pub skip_rule: Vec<String>,
    /// Only the rules matching this id or glob count; the others' findings are reported
    /// as suppressed (kind `config`). Repeatable.
    #[arg(long, value_name = "GLOB")]
    pub only_rule: Vec<String>,
    /// Exclude paths matching this glob (gitignore syntax). Repeatable.
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Worker threads (0 = one per core).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Print nothing on standard output (use with --output).
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Show suppressed findings in the table.
    #[arg(long)]
    pub show_suppressed: bool,
    /// Leave findings below this severity out of the table, Markdown, SARIF and JUnit
    /// reports (critical|high|medium|low|info); they still count for the gate, the JSON
    /// report keeps them, and the summary says how many were hidden.
    #[arg(long, value_name = "SEVERITY")]
    pub min_severity: Option<String>,
    /// Cut the Markdown report to this many characters: the worst findings, then counts
    /// of the rest and a note (default 65536, GitHub's comment limit; 0: no limit).
    #[arg(long, value_name = "N")]
    pub markdown_max_chars: Option<usize>,
    /// When to colour the table.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

/// Secret-scanner options.
#[derive(Debug, Args, Clone, Default)]
pub struct SecretArgs {
    /// Extra rule file, added to the built-in rules: gitleaks TOML or Rampart YAML.
    /// Repeatable. A rule with a built-in rule's id overrides it.
    #[arg(long, value_name = "FILE")]
    pub rules: Vec<PathBuf>,
    /// Do not load the built-in secret rules: only the --rules files (or the config's
    /// `secrets.rules`).
    #[arg(long)]
    pub no_builtin_rules: bool,
    /// Print secrets in full (default: first 4 characters and `…`).
    #[arg(long)]
    pub show_secrets: bool,
}

/// `rampart rules …`.
#[derive(Debug, Subcommand)]
pub enum RulesCmd {
    /// List rules.
    List {
        /// Only this area (e.g. `secret`).
        #[arg(long)]
        area: Option<String>,
        /// `table` or `json`.
        #[arg(long, default_value = "table")]
        format: String,
        /// Extra rule files, as for `secrets --rules`.
        #[arg(long, value_name = "FILE")]
        rules: Vec<PathBuf>,
    },
    /// Explain one rule: a Rampart id (`secret/aws-access-key`), a peer tool's id
    /// (`CKV_K8S_16`, `gitleaks:aws-access-token`: the matching Rampart rules), or a
    /// vulnerability (`vuln/GHSA-…`, `CVE-…`: from the local database).
    Explain {
        /// Rule id, e.g. `secret/aws-access-key`, `CKV_K8S_16` or `vuln/GHSA-…`.
        id: String,
        /// The vulnerability database, for `vuln/` ids.
        #[command(flatten)]
        db: crate::commands::db::DbPath,
        /// `text` or `json`.
        #[arg(long, default_value = "text")]
        format: String,
        /// Extra rule files, as for `secrets --rules`.
        #[arg(long, value_name = "FILE")]
        rules: Vec<PathBuf>,
    },
    /// Check rules: metadata complete, every example fires, no negative example does.
    Check {
        /// Rule files to check instead of the built-in rules.
        #[arg(long, value_name = "FILE")]
        rules: Vec<PathBuf>,
    },
}

/// `rampart hook …`.
#[derive(Debug, Subcommand)]
pub enum HookCmd {
    /// Write a git pre-commit hook that runs `rampart secrets --staged`.
    Install {
        /// Repository (default: current directory).
        #[arg(default_value = ".")]
        repo: PathBuf,
        /// Overwrite an existing hook that is not Rampart's.
        #[arg(long)]
        force: bool,
    },
}

/// Colour choice.
#[derive(Debug, Clone, Copy, ValueEnum, Default, PartialEq, Eq)]
pub enum ColorChoice {
    /// Colour when standard output is a terminal and NO_COLOR is unset.
    #[default]
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}
