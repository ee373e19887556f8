//! One module per subcommand.

pub mod db;
pub mod hook;
pub mod monitor;
pub mod output;
pub mod part;
pub mod rules;
pub mod scan;
