//! The `rampart` binary.

fn main() -> std::process::ExitCode {
    rampart_cli::main_with_args(std::env::args_os())
}
