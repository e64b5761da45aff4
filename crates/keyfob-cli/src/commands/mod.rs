//! One module per subcommand.

pub mod completions;
pub mod link;
pub mod list;
pub mod providers;
pub mod token;
pub mod unlink;
