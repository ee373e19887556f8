//! The `rampart` command line: argument parsing and wiring only; every analysis lives in
//! the library crates. [`main_with_args`] is the entry point (tests call it too).

#![allow(clippy::print_stderr)]

/// `eprintln!` for anything that may hold scanned content (file names, messages quoting
/// a file, rule names from a repository): every control character is escaped by the
/// report crate's [`rampart_report::visible`], line by line, so a file cannot retitle or
/// clear the terminal of whoever reads the log.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::stderr_lines(&format!($($arg)*))
    };
}
pub(crate) use say;

/// Print `text` on standard error, one escaped line per line.
pub(crate) fn stderr_lines(text: &str) {
    for line in text.split('\n') {
        eprintln!("{}", rampart_report::visible(line));
    }
}

pub mod args;
pub mod commands;
pub mod exit;
pub mod settings;

use clap::Parser;
use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

/// Run the CLI with these arguments (the first is the program name).
pub fn main_with_args<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match args::Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::ERROR
            } else {
                exit::CLEAN
            };
            let _ = e.print();
            return exit::code(code);
        }
    };
    let result = match cli.command {
        args::Command::Scan(cmd) => commands::scan::run_scan(cmd),
        args::Command::Secrets(cmd) => commands::scan::run_secrets(cmd),
        args::Command::Rules { command } => commands::rules::run(command),
        args::Command::Hook { command } => commands::hook::run(command),
        args::Command::Rbac { command } => commands::rbac::run(command),
        args::Command::Key { command } => commands::supply::run_key(command),
        args::Command::Sign { command } => commands::supply::run_sign(command),
        args::Command::Verify { command } => commands::supply::run_verify(command),
        args::Command::Attest { command } => commands::supply::run_attest(command),
        args::Command::Monitor(cmd) => commands::monitor::run(cmd),
        args::Command::Admission(cmd) => commands::admission::run(cmd),
        args::Command::Db { command } => commands::db::run(command),
        args::Command::Sbom(cmd) => commands::sbom::run(*cmd),
        args::Command::Deps(cmd) => commands::deps::run(*cmd),
        args::Command::Image(cmd) => commands::image::run(*cmd),
        args::Command::Iac(cmd) => commands::iac::run(*cmd),
        args::Command::K8s(cmd) => commands::k8s::run(*cmd),
    };
    match result {
        Ok(code) => exit::code(code),
        Err(e) => {
            if is_broken_pipe(&e) {
                return exit::code(exit::CLEAN);
            }
            say!("error: {e:#}");
            exit::code(exit::ERROR)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Write text to standard output (a broken pipe surfaces as an error the caller maps to 0),
/// control characters escaped line by line (text here may quote scanned content).
pub(crate) fn stdout(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for line in text.strip_suffix('\n').unwrap_or(text).split('\n') {
        out.write_all(rampart_report::visible(line).as_bytes())?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}
