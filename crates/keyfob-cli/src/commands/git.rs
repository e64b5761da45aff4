//! `keyfob git-credential get|store|erase` (git's credential helper protocol) and `keyfob git
//! setup` (writes the helper into git's global config for a host, as `gh auth setup-git`).
//!
//! `get` answers with a fresh access token as the password and its expiry as
//! `password_expiry_utc`, so git drops it before it is stale. `store` keeps nothing: Keyfob
//! already holds the token. `erase`, which git sends after the server refused the password,
//! deletes nothing either: it marks that token expired, so the next `get` refreshes (or, when
//! the grant is gone, says to link again).

use std::io::{BufRead, Write};
use std::process::Command;
use std::time::Duration;

use keyfob_core::{Account, Keyfob};

use crate::cli::CredentialAction;
use crate::commands::token::plain;
use crate::exit::{Failure, NOT_FOUND, OTHER, USAGE};
use crate::selector::select_here;

/// How long a token handed to git must stay valid: long enough for a large clone or push.
const GIT_MIN_VALID: Duration = Duration::from_secs(5 * 60);

/// Answers one credential request from git on stdin.
pub async fn credential(
    kf: &Keyfob,
    action: CredentialAction,
    selector: Option<&str>,
) -> Result<(), Failure> {
    let request = read_request(std::io::stdin().lock())?;
    // Plain-text HTTP is allowed for loopback test servers only; git asks for any protocol.
    if !matches!(request.get("protocol"), Some("https" | "http")) {
        return Ok(());
    }
    let host = request.get("host").unwrap_or_default().to_string();
    let accounts = kf.accounts()?;
    let account = account_for(kf, &accounts, selector, &host)?;
    match action {
        CredentialAction::Get => {
            let fresh = kf.access_token_of(account, GIT_MIN_VALID).await?;
            let username = request
                .get("username")
                .map(String::from)
                .unwrap_or_else(|| username_for(&host, account));
            let mut answer = format!("username={username}\npassword={}\n", plain(&fresh.token)?);
            if let Some(at) = fresh.expires_at {
                answer.push_str(&format!("password_expiry_utc={}\n", at.unix_timestamp()));
            }
            let mut out = std::io::stdout().lock();
            out.write_all(answer.as_bytes())
                .and_then(|_| out.flush())
                .map_err(|e| Failure::new(OTHER, format!("cannot answer git: {e}")))
        }
        CredentialAction::Store => Ok(()),
        CredentialAction::Erase => {
            if let Some(password) = request.get("password") {
                kf.access_token_refused(&account.id, password).await?;
            }
            Ok(())
        }
    }
}

/// The account for a request: the helper's `--account`, else the one account whose provider
/// signs in on this host (github.com for GitHub, gitlab.com for GitLab).
fn account_for<'a>(
    kf: &Keyfob,
    accounts: &'a [Account],
    selector: Option<&str>,
    host: &str,
) -> Result<&'a Account, Failure> {
    if let Some(selector) = selector {
        return select_here(accounts, selector);
    }
    let provider = provider_for_host(kf, host)?;
    select_here(accounts, &provider)
}

fn provider_for_host(kf: &Keyfob, host: &str) -> Result<String, Failure> {
    let providers = kf.providers()?;
    let found: Vec<_> = providers
        .iter()
        .filter(|p| sign_in_host(&p.authorization_endpoint) == host)
        .collect();
    match found.as_slice() {
        [one] => Ok(one.id.clone()),
        [] => Err(Failure::new(
            NOT_FOUND,
            format!("no provider signs in on {host}: run `keyfob git setup --host {host} ACCOUNT`"),
        )),
        _ => Err(Failure::new(
            NOT_FOUND,
            format!(
                "several providers sign in on {host}: run `keyfob git setup --host {host} ACCOUNT`"
            ),
        )),
    }
}

/// `host[:port]` as git names it in a credential request.
fn sign_in_host(url: &url::Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_string(),
        _ => String::new(),
    }
}

/// The username a host expects beside an OAuth token: GitLab `oauth2`, Bitbucket
/// `x-token-auth`; GitHub and others take any, so the account's login.
fn username_for(host: &str, account: &Account) -> String {
    let host = host.to_ascii_lowercase();
    if host.contains("gitlab") {
        "oauth2".into()
    } else if host.contains("bitbucket") {
        "x-token-auth".into()
    } else {
        account.login.clone().unwrap_or_else(|| "oauth2".into())
    }
}

/// The request's `key=value` lines up to a blank line or the end.
struct Request(Vec<(String, String)>);

impl Request {
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

fn read_request(input: impl BufRead) -> Result<Request, Failure> {
    let mut pairs = Vec::new();
    for line in input.lines() {
        let line =
            line.map_err(|e| Failure::new(OTHER, format!("cannot read git's request: {e}")))?;
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once('=') {
            pairs.push((k.to_string(), v.to_string()));
        }
    }
    Ok(Request(pairs))
}

/// Writes Keyfob as the only credential helper for `host` into git's global config.
pub fn setup(kf: &Keyfob, host: &str, selector: Option<&str>) -> Result<(), Failure> {
    let url = host_url(host)?;
    if let Some(selector) = selector {
        // Checked now, not at the first push.
        select_here(&kf.accounts()?, selector)?;
    }
    let exe = std::env::current_exe()
        .map_err(|e| Failure::new(OTHER, format!("cannot find the keyfob program: {e}")))?;
    let key = format!("credential.{url}.helper");
    // An empty helper first resets helpers configured for every host (a cache, a store), so
    // git asks Keyfob only.
    git_config(&["--replace-all", &key, ""])?;
    git_config(&[
        "--add",
        &key,
        &helper_line(&exe.to_string_lossy(), selector),
    ])?;
    eprintln!("git now asks Keyfob for {url}");
    Ok(())
}

fn git_config(args: &[&str]) -> Result<(), Failure> {
    let status = Command::new("git")
        .args(["config", "--global"])
        .args(args)
        .status()
        .map_err(|e| Failure::new(OTHER, format!("cannot run git: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(Failure::new(OTHER, format!("git config failed ({status})")))
    }
}

/// `https://HOST` for a bare host; a URL (`http://127.0.0.1:8080`) is kept as it is.
fn host_url(host: &str) -> Result<String, Failure> {
    let url = if host.contains("://") {
        host.trim_end_matches('/').to_string()
    } else {
        format!("https://{host}")
    };
    let parsed = url::Url::parse(&url)
        .map_err(|e| Failure::new(USAGE, format!("'{host}' is not a host: {e}")))?;
    if parsed.path() != "/" || parsed.query().is_some() || parsed.host_str().is_none() {
        return Err(Failure::new(USAGE, format!("'{host}' is not a host")));
    }
    Ok(url)
}

/// The helper as git runs it: through the shell (`!`), so each word is single-quoted.
fn helper_line(exe: &str, selector: Option<&str>) -> String {
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    match selector {
        Some(s) => format!("!{} git-credential --account {}", quote(exe), quote(s)),
        None => format!("!{} git-credential", quote(exe)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_read_up_to_the_blank_line() {
        let input = "protocol=https\nhost=github.com\nwwwauth[]=Basic realm=x\n\npassword=late\n";
        let r = read_request(input.as_bytes()).unwrap();
        assert_eq!(r.get("host"), Some("github.com"));
        assert_eq!(r.get("wwwauth[]"), Some("Basic realm=x"));
        assert_eq!(r.get("password"), None);
    }

    #[test]
    fn hosts_become_helper_keys_and_lines() {
        assert_eq!(host_url("github.com").unwrap(), "https://github.com");
        assert_eq!(
            host_url("http://127.0.0.1:9/").unwrap(),
            "http://127.0.0.1:9"
        );
        assert!(host_url("https://github.com/org").is_err());
        assert_eq!(
            helper_line("/opt/key fob", Some("work's")),
            r"!'/opt/key fob' git-credential --account 'work'\''s'"
        );
        assert_eq!(
            helper_line("/usr/bin/keyfob", None),
            "!'/usr/bin/keyfob' git-credential"
        );
        let github = url::Url::parse("https://github.com/login/oauth/authorize").unwrap();
        assert_eq!(sign_in_host(&github), "github.com");
        let local = url::Url::parse("http://127.0.0.1:8080/auth").unwrap();
        assert_eq!(sign_in_host(&local), "127.0.0.1:8080");
    }
}
