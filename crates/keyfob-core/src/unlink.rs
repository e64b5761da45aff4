//! Unlinking: revoke at the provider (RFC 7009), then forget everything local, even when
//! revocation fails.

use time::OffsetDateTime;

use crate::error::Result;
use crate::facade::Keyfob;
use crate::provider::{Flavor, Provider};
use crate::revocation::{revoke, token_to_revoke, Revocation};
use crate::store::accounts::Account;
use crate::store::secrets::SecretKey;

/// The result of an unlink.
#[derive(Debug, Clone)]
pub struct UnlinkReport {
    /// The account that was removed.
    pub account: Account,
    /// What the provider did.
    pub revocation: Revocation,
    /// Where the user can revoke access by hand, when Keyfob could not.
    pub manage_url: Option<url::Url>,
}

impl Keyfob {
    /// Revokes and forgets an account.
    pub async fn unlink(&self, account_id: &str) -> Result<UnlinkReport> {
        // Look the account up first: an unknown id creates no lock file.
        self.account(account_id)?;
        let _turn = self.account_turn(account_id).await?;
        let account = self.account(account_id)?;
        let id = account.id.clone();

        let provider = self.provider(&account.provider);
        let manage_url = provider.as_ref().ok().and_then(|p| p.manage_access_url());
        let revocation = match provider {
            Ok(provider) if provider.revocation_endpoint.is_some() => {
                self.end_grant(&provider, &account).await?
            }
            Ok(_) => Revocation::NotSupported,
            Err(e) => Revocation::Failed(e.to_string()),
        };

        self.delete_account_secrets(&id).await?;
        self.accounts.modify(|accounts| {
            accounts.retain(|a| a.id != id);
            Ok(())
        })?;
        let ended = matches!(revocation, Revocation::Revoked | Revocation::AlreadyRevoked);
        let manage_url = (!ended).then_some(manage_url).flatten();
        Ok(UnlinkReport {
            account,
            revocation,
            manage_url,
        })
    }
}

impl Keyfob {
    /// Asks the provider to end the account's grant. Called in the account's turn. Only a
    /// keyring failure is an error: whatever the provider says, the unlink goes on.
    async fn end_grant(&self, provider: &Provider, account: &Account) -> Result<Revocation> {
        let id = account.id.clone();
        let now = OffsetDateTime::now_utc();
        if needs_live_token(provider, account, now) {
            let renewed = if account.has_refresh_token {
                self.refresh_now(account)
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string())
            } else {
                Err("there is no refresh token to renew it".to_string())
            };
            match renewed {
                Ok(()) => {}
                // Seconds left: the request may still make it in time.
                Err(_) if account.access_expires_at.is_some_and(|at| at > now) => {}
                Err(why) => {
                    return Ok(Revocation::Failed(format!(
                        "{} ends a grant only for a valid access token; this one has expired \
                         and could not be refreshed ({why})",
                        provider.name
                    )))
                }
            }
        }
        let refresh = self
            .secrets
            .get(SecretKey::RefreshToken(id.clone()))
            .await?;
        let access = self.secrets.get(SecretKey::AccessToken(id.clone())).await?;
        let Some(token) = token_to_revoke(provider, refresh, access) else {
            return Ok(Revocation::Failed(
                "no token was left in the keyring to revoke".into(),
            ));
        };
        let secret = match self.client_secret(provider).await {
            Ok(secret) => secret,
            Err(e) => return Ok(Revocation::Failed(e.to_string())),
        };
        Ok(revoke(self.http(), provider, secret.as_ref(), token)
            .await
            .unwrap_or_else(|e| Revocation::Failed(e.to_string())))
    }
}

/// Whether the access token must be refreshed before it can end the grant: GitHub names
/// the grant to delete by a valid access token ("You must provide a valid OAuth
/// access_token", https://docs.github.com/en/rest/apps/oauth-applications), and a GitHub
/// App's token may be hours past its expiry. A minute of margin covers the request.
fn needs_live_token(provider: &Provider, account: &Account, now: OffsetDateTime) -> bool {
    provider.flavor == Flavor::Github
        && account
            .access_expires_at
            .is_some_and(|at| at <= now + time::Duration::minutes(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::presets::{github, GithubOptions};

    fn account(expires: Option<OffsetDateTime>) -> Account {
        Account {
            access_expires_at: expires,
            ..crate::store::accounts::tests::sample("a")
        }
    }

    #[test]
    fn github_needs_a_live_token_to_end_a_grant() {
        let now = OffsetDateTime::now_utc();
        let gh = github(GithubOptions::github_com("abc"));
        let hour = time::Duration::hours(1);
        assert!(needs_live_token(&gh, &account(Some(now - hour)), now));
        assert!(needs_live_token(
            &gh,
            &account(Some(now + time::Duration::seconds(30))),
            now
        ));
        assert!(!needs_live_token(&gh, &account(Some(now + hour)), now));
        assert!(
            !needs_live_token(&gh, &account(None), now),
            "OAuth App tokens never expire"
        );
        let other = crate::provider::tests::sample();
        assert!(!needs_live_token(&other, &account(Some(now - hour)), now));
    }
}
