//! `keyfob token [--json]`, `header` and `env`: the hot path. One metadata read, one keyring read,
//! no network while the cached token is valid for `--min-valid`.

use std::io::Write;

use keyfob_core::{Account, Keyfob, Secret};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::cli::TokenArgs;
use crate::exit::{Failure, OTHER};
use crate::selector::select_here;

/// How the token is printed.
pub enum Format {
    /// The bare token.
    Raw,
    /// One JSON object with the token, its expiry and scopes.
    Json,
    /// `Authorization: Bearer <token>`.
    Header,
    /// `export NAME='<token>'`.
    Env(Option<String>),
}

/// Prints a fresh access token of the selected account.
pub async fn run(kf: &Keyfob, args: &TokenArgs, format: Format) -> Result<(), Failure> {
    let accounts = kf.accounts()?;
    let account = select_here(&accounts, &args.account)?;
    // A bad variable name is known before any keyring read or refresh.
    let variable = match &format {
        Format::Env(name) => {
            let name = name
                .clone()
                .unwrap_or_else(|| default_variable(&account.provider));
            check_variable(&name)?;
            Some(name)
        }
        Format::Raw | Format::Json | Format::Header => None,
    };
    let fresh = kf.access_token_of(account, args.min_valid).await?;
    let token = plain(&fresh.token)?;
    let line = match format {
        Format::Raw => token.to_string(),
        Format::Json => json_line(account, token, fresh.expires_at)?,
        Format::Header => format!("Authorization: Bearer {token}"),
        Format::Env(_) => format!(
            "export {}={}",
            variable.unwrap_or_default(),
            shell_quote(&fresh.token)
        ),
    };
    let mut out = std::io::stdout().lock();
    // One write: a reader never sees half a token.
    out.write_all(format!("{line}\n").as_bytes())
        .and_then(|_| out.flush())
        .map_err(|e| Failure::new(OTHER, format!("cannot write the token: {e}")))
}

/// The token, if it can be handed to a terminal, a header or an environment as it is.
pub fn plain(token: &Secret) -> Result<&str, Failure> {
    if keyfob_core::token_is_plain(token.expose()) {
        Ok(token.expose())
    } else {
        Err(Failure::new(
            crate::exit::PROVIDER,
            "the provider's access token contains characters that cannot be printed safely",
        ))
    }
}

/// `{account, provider, access_token, token_type, expires_at, scopes}` on one line.
fn json_line(
    account: &Account,
    token: &str,
    expires_at: Option<OffsetDateTime>,
) -> Result<String, Failure> {
    let expires_at = expires_at
        .map(|t| t.format(&Rfc3339))
        .transpose()
        .map_err(|e| Failure::new(OTHER, format!("cannot format the expiry: {e}")))?;
    let value = serde_json::json!({
        "account": account.id,
        "provider": account.provider,
        "access_token": token,
        // Keyfob hands out bearer tokens only (RFC 6750).
        "token_type": "Bearer",
        "expires_at": expires_at,
        "scopes": account.scopes,
    });
    Ok(value.to_string())
}

/// `GITHUB_TOKEN` for `github`; a provider id may start with a digit, a variable may not.
pub fn default_variable(provider: &str) -> String {
    let name = format!("{}_TOKEN", provider.to_ascii_uppercase().replace('-', "_"));
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{name}")
    } else {
        name
    }
}

pub fn check_variable(name: &str) -> Result<(), Failure> {
    let ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(Failure::new(
            crate::exit::USAGE,
            format!("'{name}' is not a shell variable name"),
        ))
    }
}

fn shell_quote(token: &Secret) -> String {
    format!("'{}'", token.expose().replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_lines_are_safe_for_sh() {
        assert_eq!(default_variable("github"), "GITHUB_TOKEN");
        assert_eq!(default_variable("my-idp"), "MY_IDP_TOKEN");
        assert_eq!(default_variable("1password"), "_1PASSWORD_TOKEN");
        assert!(check_variable(&default_variable("1password")).is_ok());
        assert!(check_variable("GH_TOKEN").is_ok());
        assert!(
            check_variable("1X").is_err()
                && check_variable("A-B").is_err()
                && check_variable("").is_err()
        );
        assert_eq!(shell_quote(&Secret::new("ab'c")), r"'ab'\''c'");
    }
}
