//! Every integration test of this crate, in one test binary: one module per former
//! `tests/*.rs` file (one binary links once instead of once per file).

mod license_installed;
mod lockfile_formats;
mod lockfile_fuzz;
mod sbom_read;
mod sbom_support;
mod sbom_writers;
