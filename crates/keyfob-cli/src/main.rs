//! `keyfob`: fresh OAuth access tokens for API tools, from the accounts Keyfob has linked.
//! Data goes to stdout, messages to stderr; exit codes are listed in `keyfob --help`.

mod attention;
mod browser;
#[cfg(unix)]
mod child;
mod cli;
mod commands;
mod duration;
mod exit;
mod here;
mod interrupt;
mod selector;
mod table;
mod terminal;
mod when;

use std::process::ExitCode;

use clap::Parser;
use keyfob_core::Keyfob;

use crate::cli::{split_scopes, Cli, Command, GitCommand, ProviderCommand};
use crate::commands::token::Format;
use crate::exit::{Failure, OTHER};

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Completions { shell } = cli.command {
        commands::completions::run(shell);
        return ExitCode::SUCCESS;
    }
    // One thread is plenty for a command line and starts faster.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(Failure::new(OTHER, format!("cannot start: {e}"))),
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => fail(f),
    }
}

fn fail(f: Failure) -> ExitCode {
    // No message: a command's own status, passed through by `exec` or `curl`.
    if !f.message.is_empty() {
        eprintln!("keyfob: {}", terminal::clean(&f.message));
    }
    ExitCode::from(f.code)
}

async fn run(command: Command) -> Result<(), Failure> {
    let kf = Keyfob::from_env()?;
    match command {
        Command::List { json } => commands::list::run(&kf, json),
        Command::Status { json } => commands::status::run(&kf, json).await,
        Command::Token { token, json } => {
            let format = if json { Format::Json } else { Format::Raw };
            commands::token::run(&kf, &token, format).await
        }
        #[cfg(unix)]
        Command::Exec {
            accounts,
            name,
            min_valid,
            command,
        } => commands::exec::run(&kf, &accounts, &name, min_valid, &command).await,
        #[cfg(unix)]
        Command::Curl {
            account,
            min_valid,
            args,
        } => commands::curl::run(&kf, &account, min_valid, &args).await,
        #[cfg(not(unix))]
        Command::Exec { .. } | Command::Curl { .. } => Err(Failure::new(
            OTHER,
            "`keyfob exec` and `keyfob curl` are not available on this platform yet",
        )),
        Command::Header(args) => commands::token::run(&kf, &args, Format::Header).await,
        Command::Env { token, name } => commands::token::run(&kf, &token, Format::Env(name)).await,
        Command::Link {
            provider,
            scopes,
            device: true,
            ..
        } => commands::device::run(&kf, &provider, scopes.as_deref().map(split_scopes)).await,
        Command::Link {
            provider,
            scopes,
            paste: true,
            timeout,
            ..
        } => {
            let kf = kf.with_link_lifetime(timeout);
            commands::paste::run(&kf, &provider, scopes.as_deref().map(split_scopes)).await
        }
        Command::Link {
            provider,
            scopes,
            no_browser,
            timeout,
            device: false,
            paste: false,
        } => {
            commands::link::run(
                &kf.with_link_lifetime(timeout),
                &provider,
                scopes.as_deref().map(split_scopes),
                no_browser,
                timeout,
            )
            .await
        }
        Command::Keep => commands::keep::run(&kf).await,
        Command::Check { account } => commands::check::run(&kf, account.as_deref()).await,
        Command::Unlink { account, forget } => commands::unlink::run(&kf, &account, forget).await,
        Command::Providers { json } => commands::providers::list(&kf, json),
        Command::Provider(ProviderCommand::Add(args)) => commands::providers::add(&kf, args).await,
        Command::Provider(ProviderCommand::Github(args)) => {
            commands::providers::add_github(&kf, args).await
        }
        Command::Provider(ProviderCommand::Google(args)) => {
            commands::providers::add_google(&kf, args).await
        }
        Command::Provider(ProviderCommand::Secret { id, remove }) => {
            commands::providers::secret(&kf, &id, remove).await
        }
        Command::Provider(ProviderCommand::RefreshAhead { id, setting }) => {
            commands::providers::refresh_ahead(&kf, &id, setting).await
        }
        Command::Provider(ProviderCommand::Remove { id }) => {
            commands::providers::remove(&kf, &id).await
        }
        Command::Purge { no_revoke, yes } => commands::purge::run(&kf, !no_revoke, yes).await,
        Command::GitCredential { action, account } => {
            commands::git::credential(&kf, action, account.as_deref()).await
        }
        Command::Git(GitCommand::Setup { host, account }) => {
            commands::git::setup(&kf, &host, account.as_deref())
        }
        Command::Completions { .. } => unreachable!("handled before the runtime starts"),
    }
}
