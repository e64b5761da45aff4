//! One module per subcommand.

pub mod check;
pub mod completions;
pub mod curl;
pub mod device;
pub mod exec;
pub mod git;
pub mod link;
pub mod list;
pub mod providers;
pub mod purge;
pub mod token;
pub mod unlink;
