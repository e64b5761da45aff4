//! Asking the provider whether an account's access token still works. Keyfob cannot see a
//! grant end at the provider (a user revoking it in their settings, or GitHub revoking the
//! oldest of more than ten tokens); a request with the token is the only way to find out.

use std::time::Duration;

use crate::error::{Error, Result};
use crate::facade::Keyfob;
use crate::identity::userinfo;
use crate::provider::{Flavor, Provider};
use crate::store::accounts::Account;
use crate::store::secrets::SecretKey;

impl Keyfob {
    /// Refreshes the account if its token has expired, then reads the provider's userinfo
    /// endpoint with it. A token the provider refuses is refreshed once if it can be; a grant
    /// that is gone marks the account as needing a new link, with the reason.
    pub async fn check_account(&self, account_id: &str) -> Result<Account> {
        let fresh = self.access_token(account_id, Duration::ZERO).await?;
        let account = self.account(account_id)?;
        // The access token goes only to the userinfo endpoint the account was linked with.
        let provider = self.bound_provider(&account)?;
        let Err(refusal) = self.ask_userinfo(&provider, &fresh.token).await? else {
            return Ok(account);
        };
        let _turn = self.account_turn(account_id).await?;
        // A refresh in another process may have replaced the token meanwhile: only the
        // token that was refused condemns the account.
        let current = self
            .secrets
            .get(SecretKey::AccessToken(account_id.to_string()))
            .await?;
        if current.as_ref() != Some(&fresh.token) {
            return self.account(account_id);
        }
        let account = self.account(account_id)?;
        let refusal = if account.has_refresh_token {
            // A dead access token with a live refresh token is one refresh away from working;
            // a dead grant fails the refresh, which marks the account itself.
            let renewed = self.refresh_now(&account).await?;
            match self.ask_userinfo(&provider, &renewed.token).await? {
                Ok(()) => return self.account(account_id),
                Err(refusal) => refusal,
            }
        } else {
            refusal
        };
        Err(self.mark_needs_relink(account_id, &refused_reason(&provider, refusal.as_deref()))?)
    }

    /// `Ok(Err(message))` when the provider refuses `token` in a way that condemns it; other
    /// failures are errors, and the account is left as it is.
    async fn ask_userinfo(
        &self,
        provider: &Provider,
        token: &crate::secret::Secret,
    ) -> Result<Result<(), Option<String>>> {
        let endpoint =
            provider
                .userinfo_endpoint
                .as_ref()
                .ok_or_else(|| Error::ProviderInvalid {
                    provider: provider.id.clone(),
                    reason: "it has no userinfo endpoint, so Keyfob cannot ask whether a token \
                         still works"
                        .into(),
                })?;
        match userinfo(self.http(), provider, endpoint, token).await {
            Ok(_) => Ok(Ok(())),
            Err(Error::AccessTokenRefused {
                message,
                invalid_token,
                ..
            }) if condemns_token(provider, invalid_token) => Ok(Err(message)),
            // A 401 that does not say the token is dead (a userinfo endpoint of another
            // audience, say) is reported as it is.
            Err(e) => Err(e),
        }
    }
}

/// Whether a 401 means the grant behind the token is gone. GitHub's `GET /user` accepts every
/// live token of the app, so its 401 "Bad credentials" does; elsewhere only a challenge that
/// says `invalid_token` does, since a userinfo endpoint may serve another audience than the
/// token's.
fn condemns_token(provider: &Provider, invalid_token: bool) -> bool {
    provider.flavor == Flavor::Github || invalid_token
}

/// Why a refused token means a new link, in words that say what happened.
fn refused_reason(provider: &Provider, message: Option<&str>) -> String {
    let said = message.unwrap_or("no reason given");
    match provider.flavor {
        // "If your app continues to use a revoked access token, it will receive the 401
        // Bad Credentials error"; "If an application creates more than ten tokens for the
        // same user and the same scopes, the oldest tokens ... are revoked."
        // https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps
        Flavor::Github => format!(
            "{} answered 401 ({said}): the token was revoked, in your GitHub settings or, \
             for an OAuth App, because GitHub keeps at most ten tokens per user, app and \
             scope set and revokes the oldest when the app signs in again elsewhere",
            provider.name
        ),
        Flavor::Standard | Flavor::Google => format!(
            "{} refused the access token with 401 ({said}); the grant was probably revoked",
            provider.name
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::presets::{github, GithubOptions};

    #[test]
    fn github_refusals_explain_the_ten_token_limit() {
        let gh = github(GithubOptions::github_com("abc"));
        let reason = refused_reason(&gh, Some("Bad credentials"));
        assert!(reason.contains("401 (Bad credentials)"), "{reason}");
        assert!(reason.contains("ten tokens"), "{reason}");
        let other = refused_reason(&crate::provider::tests::sample(), None);
        assert!(
            other.contains("no reason given") && !other.contains("ten"),
            "{other}"
        );
    }

    #[test]
    fn only_a_definite_refusal_condemns_the_account() {
        let gh = github(GithubOptions::github_com("abc"));
        assert!(
            condemns_token(&gh, false),
            "GitHub's 401 means a dead token"
        );
        let other = crate::provider::tests::sample();
        assert!(condemns_token(&other, true));
        assert!(
            !condemns_token(&other, false),
            "maybe a userinfo of another audience"
        );
    }
}
