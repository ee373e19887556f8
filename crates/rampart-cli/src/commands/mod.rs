//! One module per subcommand.

pub mod hook;
pub mod rules;
pub mod scan;
