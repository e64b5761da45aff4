//! Unlinking: revoke at the provider (RFC 7009), then forget everything local. A failure
//! that may pass (network, server) keeps the account, marked, for another try; any other
//! failure, or forgetting on purpose, removes it anyway.

use time::OffsetDateTime;

use crate::account_binding::usable_for;
use crate::error::{Error, ErrorKind, Result};
use crate::facade::Keyfob;
use crate::provider::{Flavor, Provider};
use crate::revocation::{revoke, tokens_to_revoke, Revocation};
use crate::store::accounts::Account;
use crate::store::attention::Attention;
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

/// What an unlink does when revocation fails for a reason that may pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IfRevocationMayPass {
    /// Keep the account and its tokens, marked, and fail with `RevocationPending`.
    KeepAccount,
    /// Remove it anyway and report the failure (a purge: the way back to a clean slate).
    Forget,
}

/// What trying to end a grant came to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Attempt {
    /// Settled: the grant ended, cannot be ended from here, or the provider refused.
    Settled(Revocation),
    /// Failed for a reason that may pass (network or server trouble): worth another try.
    MayPass(String),
}

impl Keyfob {
    /// Revokes and forgets an account. Should the provider be unreachable or failing, the
    /// account is kept, marked ([`Attention::RevocationPending`]), and the error says so: a
    /// second unlink tries again, [`Keyfob::forget_account`] gives up on revoking.
    pub async fn unlink(&self, account_id: &str) -> Result<UnlinkReport> {
        self.unlink_as(account_id, IfRevocationMayPass::KeepAccount)
            .await
    }

    /// Forgets an account here without asking its provider to revoke anything: its grant
    /// stays valid there until it expires or the user revokes it in the provider's settings.
    pub async fn forget_account(&self, account_id: &str) -> Result<Account> {
        self.account(account_id)?;
        let _turn = self.account_turn(account_id).await?;
        let account = self.account(account_id)?;
        let flavor = self.flavor_of(&account);
        self.forget_locally(&account.id, flavor).await?;
        Ok(account)
    }

    /// Unlinks, doing `if_may_pass` when revocation fails for a reason that may pass.
    pub(crate) async fn unlink_as(
        &self,
        account_id: &str,
        if_may_pass: IfRevocationMayPass,
    ) -> Result<UnlinkReport> {
        // Look the account up first: an unknown id creates no lock file.
        self.account(account_id)?;
        let _turn = self.account_turn(account_id).await?;
        let account = self.account(account_id)?;
        let id = account.id.clone();

        let provider = self.provider(&account.provider);
        let manage_url = provider.as_ref().ok().and_then(|p| p.manage_access_url());
        let flavor = self.flavor_of(&account);
        // Tokens go only to where the account was linked: a changed provider is not asked.
        let attempt = match provider.and_then(|p| usable_for(&account, p)) {
            Ok(provider) if provider.revocation_endpoint.is_some() => {
                self.end_grant(&provider, &account).await?
            }
            Ok(_) => Attempt::Settled(Revocation::NotSupported),
            Err(e) => Attempt::Settled(Revocation::Failed(e.to_string())),
        };
        let revocation = match (attempt, if_may_pass) {
            (Attempt::Settled(revocation), _) => revocation,
            (Attempt::MayPass(reason), IfRevocationMayPass::KeepAccount) => {
                return Err(self.mark_revocation_pending(&id, reason)?);
            }
            (Attempt::MayPass(reason), IfRevocationMayPass::Forget) => Revocation::Failed(reason),
        };

        self.forget_locally(&id, flavor).await?;
        let ended = matches!(revocation, Revocation::Revoked | Revocation::AlreadyRevoked);
        let manage_url = (!ended).then_some(manage_url).flatten();
        Ok(UnlinkReport {
            account,
            revocation,
            manage_url,
        })
    }

    /// Deletes the account's secrets, then unlists it; the caller holds its turn.
    async fn forget_locally(&self, id: &str, flavor: Flavor) -> Result<()> {
        self.delete_account_secrets(id, flavor).await?;
        self.accounts.modify(|accounts| {
            accounts.retain(|a| a.id != id);
            Ok(())
        })
    }

    fn flavor_of(&self, account: &Account) -> Flavor {
        self.provider(&account.provider)
            .map(|p| p.flavor)
            .unwrap_or_default()
    }

    /// Marks the account whose revocation may succeed later and returns the error to report.
    fn mark_revocation_pending(&self, id: &str, reason: String) -> Result<Error> {
        let attention = Attention::RevocationPending { reason };
        self.accounts.modify(|accounts| {
            if let Some(a) = accounts.iter_mut().find(|a| a.id == id) {
                a.attention = Some(attention.clone());
            }
            Ok(())
        })?;
        Ok(Error::RevocationPending {
            account: id.to_string(),
            advice: attention.advice(),
        })
    }

    /// Asks the provider to end the account's grant, revoking each of its tokens. Called in
    /// the account's turn. Only a keyring failure is an error.
    async fn end_grant(&self, provider: &Provider, account: &Account) -> Result<Attempt> {
        let id = account.id.clone();
        let now = OffsetDateTime::now_utc();
        if needs_live_token(provider, account, now) {
            let renewed = if account.has_refresh_token {
                self.refresh_now(account).await.map(drop)
            } else {
                Err(Error::CannotRefresh {
                    account: id.clone(),
                    reason: "there is no refresh token to renew it".to_string(),
                })
            };
            match renewed {
                Ok(()) => {}
                // Seconds left: the request may still make it in time.
                Err(_) if account.access_expires_at.is_some_and(|at| at > now) => {}
                Err(e) => {
                    let why = format!(
                        "{} ends a grant only for a valid access token; this one has expired \
                         and could not be refreshed ({e})",
                        provider.name
                    );
                    return Ok(match may_pass(&e) {
                        true => Attempt::MayPass(why),
                        false => Attempt::Settled(Revocation::Failed(why)),
                    });
                }
            }
        }
        let refresh = self
            .secrets
            .get(SecretKey::RefreshToken(id.clone()))
            .await?;
        let access = self.secrets.get(SecretKey::AccessToken(id.clone())).await?;
        let tokens = tokens_to_revoke(provider, refresh, access);
        if tokens.is_empty() {
            return Ok(Attempt::Settled(Revocation::Failed(
                "no token was left in the keyring to revoke".into(),
            )));
        }
        let secret = match self.client_secret(provider).await {
            Ok(secret) => secret,
            Err(e) => return Ok(Attempt::Settled(Revocation::Failed(e.to_string()))),
        };
        let mut answers = Vec::with_capacity(tokens.len());
        for token in tokens {
            answers.push(revoke(self.http(), provider, secret.as_ref(), token).await);
        }
        Ok(combined(answers))
    }
}

/// Whether a failure to revoke may pass by itself: the provider could not be reached or
/// answered with a server error (RFC 7009 section 2.2.1: then the token still exists).
fn may_pass(error: &Error) -> bool {
    error.kind() == ErrorKind::Network
}

/// A failure that may pass, said shortly: where, and what came back. The error's own text
/// (with its advice for a refresh) would read oddly inside an unlink's message.
fn passing_cause(error: &Error) -> String {
    match error {
        Error::ProviderUnavailable { endpoint, status } => {
            format!("{endpoint} answered HTTP {status}")
        }
        Error::Network { endpoint, reason } => format!("cannot reach {endpoint}: {reason}"),
        other => other.to_string(),
    }
}

/// What the answers to revoking each token (the one that ends the grant first) come to. A
/// failure that may pass outweighs the rest: another try is worth it. A token that the
/// provider no longer knows (`invalid_token`) after the grant-ending one was revoked died
/// with the grant, as Google answers for an access token whose refresh token is revoked.
fn combined(answers: Vec<Result<Revocation>>) -> Attempt {
    let grant_ended = matches!(answers.first(), Some(Ok(_)));
    let mut outcome: Option<Revocation> = None;
    let mut failed = Vec::new();
    for (i, answer) in answers.into_iter().enumerate() {
        match answer {
            Ok(revocation) => {
                outcome.get_or_insert(revocation);
            }
            Err(e) if may_pass(&e) => return Attempt::MayPass(passing_cause(&e)),
            Err(Error::TokenRejected { code, .. })
                if i > 0 && grant_ended && code == "invalid_token" => {}
            Err(e) => failed.push(e.to_string()),
        }
    }
    match (failed.is_empty(), outcome) {
        (true, Some(revocation)) => Attempt::Settled(revocation),
        _ => Attempt::Settled(Revocation::Failed(failed.join("; "))),
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

    fn rejected(code: &str) -> Error {
        Error::TokenRejected {
            endpoint: "revoke".into(),
            code: code.into(),
            description: None,
        }
    }

    fn unavailable() -> Error {
        Error::ProviderUnavailable {
            endpoint: "revoke".into(),
            status: 503,
        }
    }

    #[test]
    fn the_answers_for_both_tokens_combine_into_one_outcome() {
        use Revocation::*;
        let settled = |answers| match combined(answers) {
            Attempt::Settled(r) => r,
            other => panic!("{other:?}"),
        };
        assert_eq!(settled(vec![Ok(Revoked), Ok(Revoked)]), Revoked);
        assert_eq!(
            settled(vec![Ok(AlreadyRevoked), Ok(Revoked)]),
            AlreadyRevoked
        );
        // The access token died with the grant.
        assert_eq!(
            settled(vec![Ok(Revoked), Err(rejected("invalid_token"))]),
            Revoked
        );
        // Not when the grant did not end, nor for another refusal.
        for answers in [
            vec![Err(rejected("invalid_token")), Ok(Revoked)],
            vec![Ok(Revoked), Err(rejected("invalid_request"))],
        ] {
            assert!(matches!(settled(answers), Failed(_)));
        }
        // Trouble that may pass outweighs the rest.
        for answers in [
            vec![Ok(Revoked), Err(unavailable())],
            vec![Err(unavailable()), Err(rejected("invalid_request"))],
        ] {
            assert!(matches!(combined(answers), Attempt::MayPass(r) if r.contains("503")));
        }
    }

    #[test]
    fn a_passing_cause_says_where_and_what_came_back() {
        let unavailable = Error::ProviderUnavailable {
            endpoint: "idp/revoke".into(),
            status: 503,
        };
        assert_eq!(passing_cause(&unavailable), "idp/revoke answered HTTP 503");
        let unreachable = Error::Network {
            endpoint: "idp/revoke".into(),
            reason: "connection refused".into(),
        };
        assert_eq!(
            passing_cause(&unreachable),
            "cannot reach idp/revoke: connection refused"
        );
    }

    #[test]
    fn only_network_and_server_trouble_may_pass() {
        assert!(may_pass(&unavailable()));
        assert!(may_pass(&Error::Network {
            endpoint: "e".into(),
            reason: "r".into()
        }));
        assert!(!may_pass(&rejected("invalid_token")));
        assert!(!may_pass(&Error::KeyringLocked("l".into())));
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
    use crate::store::attention::Attention;
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
        let access = "stub-alice-access-0".to_string();
        assert_eq!(f.idp.state().revoked, [refresh.clone(), access], "both");
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

    // A refusal will not pass by itself: everything local goes, and the report says so.
    #[tokio::test]
    async fn a_refused_revocation_still_deletes_everything_local() {
        let f = Fixture::start().await;
        let alice = f.account("alice");
        let refresh = f.secret(SecretKey::RefreshToken(alice.id.clone())).unwrap();
        f.idp.state().revocation_fails = Some(400);
        let report = f.kf.unlink(&alice.id).await.unwrap();
        match &report.revocation {
            Revocation::Failed(reason) => assert!(reason.contains("400"), "{reason}"),
            other => panic!("expected a failed revocation, got {other:?}"),
        }
        assert!(
            f.idp.is_live(&refresh),
            "the grant lives on at the provider"
        );
        assert!(f.items().is_empty());
        assert!(f.listed(&alice.id).is_none());
    }

    // A server error may pass: the account stays, marked, with every token, until an unlink
    // succeeds or the user forgets it.
    #[tokio::test]
    async fn a_revocation_that_may_pass_keeps_the_account_marked_for_a_retry() {
        let f = Fixture::start().await;
        let alice = f.account("alice");
        let refresh = f.secret(SecretKey::RefreshToken(alice.id.clone())).unwrap();
        f.idp.state().revocation_fails = Some(503);
        let err = f.kf.unlink(&alice.id).await.unwrap_err();
        let Error::RevocationPending { advice, .. } = &err else {
            panic!("{err:?}");
        };
        assert!(
            advice.contains("503") && advice.contains("try again"),
            "{advice}"
        );
        assert_eq!(err.kind(), crate::error::ErrorKind::Network);
        let kept = f.listed(&alice.id).unwrap();
        assert!(matches!(
            kept.attention,
            Some(Attention::RevocationPending { .. })
        ));
        assert_eq!(f.items().len(), 3, "every token kept");
        assert!(f.keyring.writes().is_empty());

        // Still failing: still kept. Then the provider is back: revoked and gone.
        assert!(f.kf.unlink(&alice.id).await.is_err());
        f.idp.state().revocation_fails = None;
        let report = f.kf.unlink(&alice.id).await.unwrap();
        assert_eq!(report.revocation, Revocation::Revoked);
        assert!(!f.idp.is_live(&refresh));
        assert!(f.items().is_empty() && f.listed(&alice.id).is_none());
    }

    // GitHub needs a live access token to end a grant, and unlink refreshes an expired one;
    // not with a refresh token that may be spent (the keyring could not store its successor).
    #[tokio::test]
    async fn unlink_does_not_refresh_with_a_refresh_token_that_may_be_spent() {
        let f = Fixture::start().await;
        let mut github = f.idp.provider("stub");
        github.flavor = Flavor::Github;
        f.kf.save_provider(github, crate::provider_setup::SecretUpdate::Keep)
            .await
            .unwrap();
        let alice = f.account("alice");
        f.kf.accounts
            .modify(|accounts| {
                accounts[0].attention = Some(Attention::RefreshTokenNotStored {
                    reason: "locked".into(),
                });
                Ok(())
            })
            .unwrap();
        let report = f.kf.unlink(&alice.id).await.unwrap();
        assert_eq!(f.idp.refreshes(), (0, 0), "the stored token was not sent");
        match &report.revocation {
            Revocation::Failed(reason) => {
                assert!(reason.contains("could not be refreshed"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
        assert!(f.listed(&alice.id).is_none());
    }

    #[tokio::test]
    async fn forgetting_an_account_asks_no_provider() {
        let f = Fixture::start().await;
        let alice = f.account("alice");
        let refresh = f.secret(SecretKey::RefreshToken(alice.id.clone())).unwrap();
        f.idp.state().revocation_fails = Some(503);
        assert!(f.kf.unlink(&alice.id).await.is_err());
        // The provider would answer now; forgetting does not ask it.
        f.idp.state().revocation_fails = None;
        let forgotten = f.kf.forget_account(&alice.id).await.unwrap();
        assert_eq!(forgotten.id, alice.id);
        assert!(f.idp.state().revoked.is_empty());
        assert!(f.idp.is_live(&refresh), "the grant lives on");
        assert!(f.items().is_empty() && f.listed(&alice.id).is_none());
        let err = f.kf.forget_account(&alice.id).await.unwrap_err();
        assert!(matches!(err, Error::AccountNotFound(_)), "{err}");
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

    // The provider refuses and then the keyring fails part-way: the refresh token is still
    // there for the second unlink, which ends the grant. (Deleting it first, as before,
    // left the retry only the access token to revoke, and it reported the grant revoked
    // while the refresh token lived on at the provider.)
    #[tokio::test]
    async fn a_retried_unlink_can_still_end_the_grant() {
        let f = Fixture::start().await;
        let alice = f.account("alice");
        let refresh = f.secret(SecretKey::RefreshToken(alice.id.clone())).unwrap();
        f.idp.state().revocation_fails = Some(400);
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
