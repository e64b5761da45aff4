//! Unlinking: revoke at the provider (RFC 7009), then forget everything local, even when
//! revocation fails.

use time::OffsetDateTime;

use crate::account_binding::usable_for;
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
        let flavor = provider.as_ref().map(|p| p.flavor).unwrap_or_default();
        // Tokens go only to where the account was linked: a changed provider is not asked.
        let revocation = match provider.and_then(|p| usable_for(&account, p)) {
            Ok(provider) if provider.revocation_endpoint.is_some() => {
                self.end_grant(&provider, &account).await?
            }
            Ok(_) => Revocation::NotSupported,
            Err(e) => Revocation::Failed(e.to_string()),
        };

        self.delete_account_secrets(&id, flavor).await?;
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

// Unlink's order: revoke, delete the secrets (the one that ends the grant last), then
// unlist. Keyring failures injected at each step, over the in-memory keyring and the stub
// provider.
#[cfg(test)]
mod keyring_failures {
    use crate::error::Error;
    use crate::provider::Flavor;
    use crate::revocation::Revocation;
    use crate::store::memory::{Failure, Op};
    use crate::store::secrets::SecretKey;
    use crate::testing::Fixture;

    #[tokio::test]
    async fn unlink_revokes_then_deletes_every_secret_then_unlists() {
        let f = Fixture::start().await;
        let alice = f.account("alice");
        let refresh = f.secret(SecretKey::RefreshToken(alice.id.clone())).unwrap();
        let report = f.kf.unlink(&alice.id).await.unwrap();
        assert_eq!(report.revocation, Revocation::Revoked);
        assert_eq!(f.idp.state().revoked, std::slice::from_ref(&refresh));
        assert!(!f.idp.is_live(&refresh));
        let user = |what: &str| format!("delete account/stub-alice/{what}");
        assert_eq!(
            f.keyring.writes(),
            [
                user("access_token"),
                user("id_token"),
                user("refresh_token")
            ]
        );
        assert!(f.items().is_empty());
        assert!(f.listed(&alice.id).is_none());
    }

    // GitHub names the grant by an access token, so that one goes last there.
    #[tokio::test]
    async fn the_token_that_ends_a_github_grant_is_deleted_last() {
        let f = Fixture::start().await;
        let alice = f.account("alice");
        let _turn = f.kf.account_turn(&alice.id).await.unwrap();
        f.kf.delete_account_secrets(&alice.id, Flavor::Github)
            .await
            .unwrap();
        let user = |what: &str| format!("delete account/stub-alice/{what}");
        assert_eq!(
            f.keyring.writes(),
            [
                user("refresh_token"),
                user("id_token"),
                user("access_token")
            ]
        );
    }

    #[tokio::test]
    async fn a_failed_revocation_still_deletes_everything_local() {
        let f = Fixture::start().await;
        let alice = f.account("alice");
        let refresh = f.secret(SecretKey::RefreshToken(alice.id.clone())).unwrap();
        f.idp.state().revocation_fails = Some(503);
        let report = f.kf.unlink(&alice.id).await.unwrap();
        match &report.revocation {
            Revocation::Failed(reason) => assert!(reason.contains("503"), "{reason}"),
            other => panic!("expected a failed revocation, got {other:?}"),
        }
        assert!(
            f.idp.is_live(&refresh),
            "the grant lives on at the provider"
        );
        assert!(f.items().is_empty());
        assert!(f.listed(&alice.id).is_none());
    }

    // A keyring failure part-way leaves the account listed, so that the file still names
    // what is left in the keyring and a second unlink finishes the job.
    #[tokio::test]
    async fn a_keyring_failure_at_any_delete_keeps_the_account_listed_until_a_retry() {
        let kinds = ["access_token", "id_token", "refresh_token"];
        for step in 1..=3 {
            let f = Fixture::start().await;
            let alice = f.account("alice");
            f.keyring
                .fail_nth(Op::Delete, "account/", step, Failure::Locked);
            let err = f.kf.unlink(&alice.id).await.unwrap_err();
            assert!(matches!(err, Error::KeyringLocked(_)), "step {step}: {err}");
            assert_eq!(f.listed(&alice.id), Some(alice.clone()), "step {step}");
            let mut left = f.items();
            left.sort_by_key(|i| kinds.iter().position(|k| i.ends_with(k)));
            let expected: Vec<String> = kinds[step - 1..]
                .iter()
                .map(|k| format!("account/stub-alice/{k}"))
                .collect();
            assert_eq!(
                left, expected,
                "step {step}: deleted in order up to the failure"
            );

            let report = f.kf.unlink(&alice.id).await.unwrap();
            assert_eq!(report.revocation, Revocation::Revoked, "step {step}");
            assert!(f.items().is_empty(), "step {step}");
            assert!(f.listed(&alice.id).is_none(), "step {step}");
        }
    }

    // The provider is down and then the keyring fails part-way: the refresh token is still
    // there for the second unlink, which ends the grant. (Deleting it first, as before,
    // left the retry only the access token to revoke, and it reported the grant revoked
    // while the refresh token lived on at the provider.)
    #[tokio::test]
    async fn a_retried_unlink_can_still_end_the_grant() {
        let f = Fixture::start().await;
        let alice = f.account("alice");
        let refresh = f.secret(SecretKey::RefreshToken(alice.id.clone())).unwrap();
        f.idp.state().revocation_fails = Some(503);
        f.keyring
            .fail_nth(Op::Delete, "account/", 2, Failure::Locked);
        assert!(f.kf.unlink(&alice.id).await.is_err());
        assert!(f.idp.is_live(&refresh));

        f.idp.state().revocation_fails = None;
        let report = f.kf.unlink(&alice.id).await.unwrap();
        assert_eq!(report.revocation, Revocation::Revoked);
        assert_eq!(f.idp.state().revoked, std::slice::from_ref(&refresh));
        assert!(!f.idp.is_live(&refresh), "the grant has ended");
        assert!(f.items().is_empty() && f.listed(&alice.id).is_none());
    }

    #[tokio::test]
    async fn a_locked_keyring_stops_unlink_before_the_provider_is_asked() {
        let f = Fixture::start().await;
        let alice = f.account("alice");
        f.keyring.break_down(Failure::Locked);
        let err = f.kf.unlink(&alice.id).await.unwrap_err();
        assert!(matches!(err, Error::KeyringLocked(_)), "{err}");
        assert!(f.idp.state().revoked.is_empty(), "nothing revoked");
        assert_eq!(f.items().len(), 3);
        assert_eq!(f.listed(&alice.id), Some(alice));
    }
}
