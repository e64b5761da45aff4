//! `keyfob completions <shell>`.

use clap::CommandFactory;

use crate::cli::Cli;

/// Writes a completion script for `shell` to stdout.
pub fn run(shell: clap_complete::Shell) {
    clap_complete::generate(shell, &mut Cli::command(), "keyfob", &mut std::io::stdout());
}
