//! `rampart hook install`.

use crate::args::HookCmd;
use crate::exit;
use anyhow::Result;

/// Run a hook subcommand.
pub fn run(cmd: HookCmd) -> Result<u8> {
    match cmd {
        HookCmd::Install { repo, force } => {
            // The running binary, for when `rampart` is not on the PATH git gives hooks.
            let me = std::env::current_exe().and_then(std::fs::canonicalize).ok();
            let done = rampart_secrets::git::install_hook_with(&repo, force, me.as_deref())?;
            let mut msg = format!("installed pre-commit hook at {}", done.hook.display());
            if done.fallback {
                if let Some(me) = &me {
                    msg.push_str(&format!(
                        "\nit runs `rampart` from PATH, else {}",
                        me.display()
                    ));
                }
            }
            if let Some(b) = &done.backup {
                msg.push_str(&format!("\nthe previous hook was moved to {}", b.display()));
            }
            crate::stdout(&msg)?;
            Ok(exit::CLEAN)
        }
    }
}
