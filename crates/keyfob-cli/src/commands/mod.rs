//! One module per subcommand.

pub mod check;
pub mod completions;
#[cfg(unix)]
pub mod curl;
pub mod device;
#[cfg(unix)]
pub mod exec;
pub mod git;
pub mod keep;
pub mod link;
pub mod list;
pub mod paste;
pub mod providers;
pub mod purge;
pub mod status;
pub mod token;
pub mod unlink;
