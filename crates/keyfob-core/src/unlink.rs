//! Unlinking: revoke at the provider (RFC 7009), then forget everything local, even when
//! revocation fails.

use crate::error::Result;
use crate::revocation::{revoke, token_to_revoke};
use crate::store::accounts::Account;
use crate::store::secrets::SecretKey;
use crate::Keyfob;

/// What happened at the provider when an account was unlinked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revocation {
    /// The provider revoked the grant.
    Revoked,
    /// The provider has no revocation endpoint: the token stays valid there until it expires
    /// or the user revokes it in the provider's settings.
    NotSupported,
    /// Revocation failed; local secrets were deleted anyway.
    Failed(String),
}

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
                let refresh = self
                    .secrets
                    .get(SecretKey::RefreshToken(id.clone()))
                    .await?;
                let access = self.secrets.get(SecretKey::AccessToken(id.clone())).await?;
                match token_to_revoke(&provider, refresh, access) {
                    None => Revocation::Failed("no token was left in the keyring to revoke".into()),
                    Some(token) => match self.client_secret(&provider).await {
                        Ok(secret) => {
                            match revoke(self.http(), &provider, secret.as_ref(), token).await {
                                Ok(()) => Revocation::Revoked,
                                Err(e) => Revocation::Failed(e.to_string()),
                            }
                        }
                        Err(e) => Revocation::Failed(e.to_string()),
                    },
                }
            }
            Ok(_) => Revocation::NotSupported,
            Err(e) => Revocation::Failed(e.to_string()),
        };

        self.delete_account_secrets(&id).await?;
        self.modify_accounts(|accounts| {
            accounts.retain(|a| a.id != id);
            Ok(())
        })?;
        let manage_url = (revocation != Revocation::Revoked)
            .then_some(manage_url)
            .flatten();
        Ok(UnlinkReport {
            account,
            revocation,
            manage_url,
        })
    }
}
