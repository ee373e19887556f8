//! What one scanner contributes to `rampart scan`: [`rampart_core::ScanPart`], re-exported
//! here for the command modules.

pub use rampart_core::ScanPart;
