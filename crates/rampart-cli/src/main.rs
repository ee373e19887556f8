//! The `rampart` binary.

/// mimalloc: a quarter of the CPU of a vulnerability-database import went to glibc's
/// malloc/free (bench/RESULTS.md); the parallel scanners allocate heavily too.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    rampart_cli::main_with_args(std::env::args_os())
}
