//! `rampart hook install`.

use crate::args::HookCmd;
use crate::exit;
use anyhow::Result;

/// Run a hook subcommand.
pub fn run(cmd: HookCmd) -> Result<u8> {
    match cmd {
        HookCmd::Install { repo, force } => {
            let path = rampart_secrets::git::install_hook(&repo, force)?;
            crate::stdout(&format!("installed pre-commit hook at {}", path.display()))?;
            Ok(exit::CLEAN)
        }
    }
}
