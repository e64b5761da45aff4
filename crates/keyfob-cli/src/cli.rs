//! The command line, as clap sees it.

use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::duration::parse_duration;

/// Fresh OAuth access tokens for your API tools, from accounts linked with Keyfob.
#[derive(Debug, Parser)]
#[command(name = "keyfob", version, about, after_help = crate::exit::HELP)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List linked accounts (reads no secret)
    List {
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Whether the keyring answers, and where each account's secrets are kept (exits 6
    /// when the keyring does not answer)
    Status {
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// Print an access token, refreshing it first if it would expire soon
    Token {
        #[command(flatten)]
        token: TokenArgs,
        /// Print {account, provider, access_token, token_type, expires_at, scopes} as JSON
        #[arg(long)]
        json: bool,
    },
    /// Run a command with accounts' fresh tokens in its environment (<PROVIDER>_TOKEN), never
    /// in any argv; exits with the command's status
    #[command(after_help = "Example: keyfob exec github -- gh api user
         keyfob exec work home --name WORK_TOKEN --name HOME_TOKEN -- ./sync.sh")]
    Exec {
        /// Accounts: id, provider, provider:login or email
        #[arg(required = true)]
        accounts: Vec<String>,
        /// Variable for each account's token, in the order of the accounts [default:
        /// <PROVIDER>_TOKEN]
        #[arg(long)]
        name: Vec<String>,
        /// Refresh first if a token would expire within this long (e.g. 60s, 5m, 1h)
        #[arg(long, default_value = "60s", value_parser = parse_duration)]
        min_valid: Duration,
        /// The command and its arguments, after `--`
        #[arg(last = true, required = true)]
        command: Vec<std::ffi::OsString>,
    },
    /// Run curl with an account's Authorization header, which curl reads from a pipe so the
    /// token is in no process's argv; exits with curl's status
    #[command(after_help = "Example: keyfob curl github -- -s https://api.github.com/user")]
    Curl {
        /// Account: id, provider, provider:login or email
        account: String,
        /// Refresh first if the token would expire within this long (e.g. 60s, 5m, 1h)
        #[arg(long, default_value = "60s", value_parser = parse_duration)]
        min_valid: Duration,
        /// curl's arguments, after `--`
        #[arg(last = true, required = true)]
        args: Vec<std::ffi::OsString>,
    },
    /// Print an `Authorization: Bearer ...` header line
    Header(TokenArgs),
    /// Print a shell `export VAR=...` line holding the access token
    Env {
        #[command(flatten)]
        token: TokenArgs,
        /// Variable name [default: <PROVIDER>_TOKEN, e.g. GITHUB_TOKEN]
        #[arg(long)]
        name: Option<String>,
    },
    /// Link an account: sign in in your browser, which returns to a one-time 127.0.0.1 listener
    Link {
        /// Provider id (see `keyfob providers`)
        provider: String,
        /// Scopes to ask for instead of the provider's defaults (space- or comma-separated)
        #[arg(long)]
        scopes: Option<String>,
        /// Print the sign-in URL instead of opening the browser (to open it elsewhere)
        #[arg(long)]
        no_browser: bool,
        /// Link with a code entered on any device (for machines without a browser; the
        /// provider must have been added with --device-flow)
        #[arg(long, conflicts_with = "no_browser")]
        device: bool,
        /// Sign in from a browser on any machine, then paste the address it ends on here
        /// (for SSH sessions; works with any provider)
        #[arg(long, conflicts_with_all = ["no_browser", "device"])]
        paste: bool,
        /// Give up if the sign-in is not finished within this long (at most 10m)
        #[arg(long, default_value = "10m", value_parser = parse_link_timeout)]
        timeout: Duration,
    },
    /// Keep every account's access token fresh in the background: refresh ahead of expiry,
    /// retry with backoff, log one line per refresh or failure to stderr (never a token).
    /// Runs until SIGTERM or Ctrl-C; one keeper per profile (a second waits to take over)
    Keep,
    /// Ask the provider whether an account's token still works (all accounts when none is
    /// named); a revoked one is marked "needs re-link"
    Check {
        /// Account: id, provider, provider:login or email
        account: Option<String>,
    },
    /// Revoke an account's tokens at the provider and forget them here. If the provider cannot
    /// be reached, the account is kept, marked, so that unlinking again can retry
    Unlink {
        /// Account: id, provider, provider:login or email
        account: String,
        /// Forget the account here without asking the provider to revoke anything (its access
        /// stays valid there until it expires or you revoke it in the provider's settings)
        #[arg(long)]
        forget: bool,
    },
    /// List configured providers
    Providers {
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Add or remove a provider, or set its client secret
    #[command(subcommand)]
    Provider(ProviderCommand),
    /// Forget everything: revoke and remove every account, provider and keyring entry (run it
    /// before uninstalling)
    Purge {
        /// Do not ask the providers to revoke anything; only delete here
        #[arg(long)]
        no_revoke: bool,
        /// Confirm; without it nothing is removed
        #[arg(long)]
        yes: bool,
    },
    /// git's credential helper (git runs it; see `keyfob git setup`)
    GitCredential {
        /// What git asks
        action: CredentialAction,
        /// The account to answer with [default: the one whose provider signs in on the host]
        #[arg(long)]
        account: Option<String>,
    },
    /// Set git up to take its passwords from Keyfob
    #[command(subcommand)]
    Git(GitCommand),
    /// Print a shell completion script
    Completions {
        /// Shell to generate for
        shell: clap_complete::Shell,
    },
}

/// What git asks of a credential helper.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CredentialAction {
    /// A password for a host: a fresh access token
    Get,
    /// A password worked (nothing to keep: Keyfob holds it)
    Store,
    /// A password was refused: the next `get` refreshes
    Erase,
}

#[derive(Debug, Subcommand)]
pub enum GitCommand {
    /// Make Keyfob git's credential helper for a host, in your global git config (like `gh
    /// auth setup-git`)
    Setup {
        /// The git host, or its URL for plain HTTP (e.g. http://127.0.0.1:8080)
        #[arg(long, default_value = "github.com")]
        host: String,
        /// The account to use there [default: the one whose provider signs in on the host;
        /// `git config keyfob.account` or a `.keyfob` file chooses among several]
        account: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    /// Account: id, provider, provider:login or email
    pub account: String,
    /// Refresh first if the token would expire within this long (e.g. 60s, 5m, 1h)
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub min_valid: Duration,
}

#[derive(Debug, Subcommand)]
pub enum ProviderCommand {
    /// Add an OpenID Connect provider from its issuer URL (endpoints come from discovery)
    Add(AddArgs),
    /// Add GitHub (OAuth App or GitHub App; github.com, GHE.com or GitHub Enterprise Server)
    Github(GithubArgs),
    /// Add Google (a "Desktop app" OAuth client)
    Google(GoogleArgs),
    /// Set a provider's client secret, read from standard input (it goes to the keyring)
    Secret {
        /// Provider id
        id: String,
        /// Delete the stored secret instead (for a provider that needs none)
        #[arg(long)]
        remove: bool,
    },
    /// How long before expiry the keeper (`keyfob keep`, the app) refreshes this provider's
    /// accounts: "off", "default" (10% of the lifetime, 1 to 10 min) or a duration like "5m"
    RefreshAhead {
        /// Provider id
        id: String,
        /// off, default, or a duration (90s, 5m, 1h)
        #[arg(value_parser = |s: &str| s.parse::<keyfob_core::RefreshAhead>())]
        setting: keyfob_core::RefreshAhead,
    },
    /// Remove a provider (refused while accounts use it)
    Remove {
        /// Provider id
        id: String,
    },
}

/// `keyfob provider add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// Short id: a-z, 0-9 and '-'; used in the redirect URI /oauth/<id>
    pub id: String,
    /// Issuer URL, exactly as the provider names itself
    #[arg(long)]
    pub issuer: String,
    /// The client id you registered
    #[arg(long)]
    pub client_id: String,
    /// Display name [default: the id]
    #[arg(long)]
    pub name: Option<String>,
    /// Read the client secret from standard input (it goes to the keyring)
    #[arg(long)]
    pub client_secret_stdin: bool,
    /// Client authentication at the token endpoint [default: basic with a secret, else none]
    #[arg(long, value_enum)]
    pub auth: Option<AuthArg>,
    /// Default scopes (space- or comma-separated) [default: openid email profile]
    #[arg(long)]
    pub scopes: Option<String>,
    /// Extra authorization parameter, e.g. --param prompt=consent (repeatable)
    #[arg(long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// Use a loopback redirect in the desktop app instead of the dev.keyfob.app: scheme
    #[arg(long)]
    pub loopback: bool,
    /// Allow linking with a code (`keyfob link --device`, RFC 8628) when the issuer offers it.
    /// Off by default: anyone can ask a user to enter a code, so only turn it on where you
    /// link from machines without a browser
    #[arg(long)]
    pub device_flow: bool,
    /// How long before expiry `keyfob keep` and the app refresh this provider's tokens:
    /// off, default, or a duration (90s, 5m, 1h)
    #[arg(long, value_name = "SETTING", default_value = "default",
          value_parser = |s: &str| s.parse::<keyfob_core::RefreshAhead>())]
    pub refresh_ahead: keyfob_core::RefreshAhead,
}

/// `keyfob provider github`.
#[derive(Debug, Args)]
pub struct GithubArgs {
    /// Client id of your OAuth App or GitHub App [default: the one built in, if any]
    #[arg(long)]
    pub client_id: Option<String>,
    /// Read the client secret from standard input (GitHub requires one)
    #[arg(long)]
    pub client_secret_stdin: bool,
    /// GitHub Enterprise URL: a server (https://github.example.com) or GHE.com
    /// (https://NAME.ghe.com)
    #[arg(long, conflicts_with = "web")]
    pub enterprise: Option<String>,
    /// Web origin override (with --api), e.g. for a test server
    #[arg(long, requires = "api")]
    pub web: Option<String>,
    /// REST API root override (with --web)
    #[arg(long, requires = "web")]
    pub api: Option<String>,
    /// Provider id [default: github, or github-enterprise with --enterprise]
    #[arg(long)]
    pub id: Option<String>,
    /// Use the dev.keyfob.app: scheme in the desktop app instead of a loopback redirect
    #[arg(long)]
    pub scheme: bool,
    /// A GitHub App: the desktop app uses the dev.keyfob.app: scheme and the CLI listens on a
    /// fixed loopback port, since GitHub Apps match callback URLs exactly
    #[arg(long)]
    pub github_app: bool,
    /// The fixed loopback port registered in the app's callback URL [default with --github-app: 47213]
    #[arg(long)]
    pub loopback_port: Option<u16>,
    /// Allow linking with a code (`keyfob link --device`); tick "Enable Device Flow" in the
    /// app's settings on GitHub too. Off by default: anyone can ask you to enter a code
    #[arg(long)]
    pub device_flow: bool,
}

/// `keyfob provider google`.
#[derive(Debug, Args)]
pub struct GoogleArgs {
    /// Client id of your Desktop app client [default: the one built in, if any]
    #[arg(long)]
    pub client_id: Option<String>,
    /// Read the client secret from standard input (Google requires one)
    #[arg(long)]
    pub client_secret_stdin: bool,
    /// Allow linking with a code (`keyfob link google --device`) through this client, which
    /// must be of type "TVs and Limited Input devices" (Google refuses Desktop app clients
    /// the device flow). Off by default: anyone can ask you to enter a code
    #[arg(long, requires = "device_client_secret_stdin")]
    pub device_client_id: Option<String>,
    /// Read the device client's secret from standard input (Google requires one); with
    /// --client-secret-stdin too, stdin holds both, one a line, the Desktop app client's first
    #[arg(long, requires = "device_client_id")]
    pub device_client_secret_stdin: bool,
    /// Issuer override, e.g. for a test server [default: https://accounts.google.com]
    #[arg(long)]
    pub issuer: Option<String>,
    /// Use the custom scheme instead of loopback (only if your client id allows it)
    #[arg(long)]
    pub scheme: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum AuthArg {
    /// HTTP Basic client_id:client_secret
    Basic,
    /// client_id and client_secret in the form body
    Post,
    /// Public client (PKCE only)
    None,
}

/// Splits a scope list given with spaces or commas.
pub fn split_scopes(text: &str) -> Vec<String> {
    text.split([' ', ','])
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// A link's lifetime: a duration of at most ten minutes, the lifetime of its `state`.
fn parse_link_timeout(text: &str) -> Result<Duration, String> {
    let d = parse_duration(text)?;
    if d.is_zero() || d > Duration::from_secs(600) {
        return Err("the link timeout must be more than 0 and at most 10m".into());
    }
    Ok(d)
}
