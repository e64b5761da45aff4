//! Fresh access tokens: the cached one while it stays valid, else exactly one refresh per
//! account at a time across threads and processes (rotating providers revoke the whole grant
//! when an old refresh token is reused).

use std::time::Duration;

use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::exchange::{refresh, Tokens};
use crate::facade::Keyfob;
use crate::identity::verify_refreshed_id_token;
use crate::provider::ProviderKind;
use crate::secret::Secret;
use crate::store::accounts::{Account, AccountStatus};
use crate::store::secrets::SecretKey;

/// An access token ready to use.
#[derive(Debug, Clone)]
pub struct FreshToken {
    /// The token itself.
    pub token: Secret,
    /// When it expires; `None` when it does not.
    pub expires_at: Option<OffsetDateTime>,
    /// Whether this call refreshed it.
    pub refreshed: bool,
}

impl Keyfob {
    /// An access token of `account_id` valid for at least `min_valid`, refreshing if needed.
    pub async fn access_token(&self, account_id: &str, min_valid: Duration) -> Result<FreshToken> {
        self.access_token_of(&self.account(account_id)?, min_valid)
            .await
    }

    /// Same, for metadata the caller has just read: a cached token then costs no second
    /// read of the accounts file (the CLI's hot path). A refresh re-reads under the lock.
    pub async fn access_token_of(
        &self,
        account: &Account,
        min_valid: Duration,
    ) -> Result<FreshToken> {
        ensure_usable(account)?;
        if valid_for(account, min_valid) {
            return self.cached(account).await;
        }
        self.refresh_in_turn(&account.id, Some((min_valid, account.access_expires_at)))
            .await
    }

    /// Refreshes `account_id` now, whatever its expiry.
    pub async fn refresh_account(&self, account_id: &str) -> Result<Account> {
        self.account(account_id)?;
        self.refresh_in_turn(account_id, None).await?;
        self.account(account_id)
    }

    async fn cached(&self, account: &Account) -> Result<FreshToken> {
        let token = self
            .secrets
            .get(SecretKey::AccessToken(account.id.clone()))
            .await?
            .ok_or_else(|| Error::SecretMissing {
                account: account.id.clone(),
                what: "access token",
            })?;
        Ok(FreshToken {
            token,
            expires_at: account.access_expires_at,
            refreshed: false,
        })
    }

    /// `wanted`: the validity asked for and the expiry seen before waiting for our turn.
    /// `None` forces a refresh.
    async fn refresh_in_turn(
        &self,
        account_id: &str,
        wanted: Option<(Duration, Option<OffsetDateTime>)>,
    ) -> Result<FreshToken> {
        let _turn = self.account_turn(account_id).await?;

        // Someone may have refreshed while we waited: re-read before spending the refresh token.
        let account = self.account(account_id)?;
        ensure_usable(&account)?;
        if let Some((min_valid, seen)) = wanted {
            let refreshed_meanwhile =
                account.access_expires_at != seen && valid_for(&account, Duration::ZERO);
            if valid_for(&account, min_valid) || refreshed_meanwhile {
                return self.cached(&account).await;
            }
        }
        self.refresh_now(&account).await
    }

    /// Refreshes now; the caller holds the account's turn.
    pub(crate) async fn refresh_now(&self, account: &Account) -> Result<FreshToken> {
        let id = account.id.clone();
        let Some(refresh_token) = self
            .secrets
            .get(SecretKey::RefreshToken(id.clone()))
            .await?
        else {
            return Err(self.without_refresh_token(account)?);
        };
        let provider = self.provider(&account.provider)?;
        let client_secret = self.client_secret(&provider).await?;
        // Lifetimes count from the request, so stored expiries err early rather than late.
        let issued_at = OffsetDateTime::now_utc();
        let tokens = match refresh(
            self.http(),
            &provider,
            client_secret.as_ref(),
            &refresh_token,
        )
        .await
        {
            Ok(tokens) => tokens,
            // GitHub says bad_refresh_token where RFC 6749 says invalid_grant.
            Err(Error::TokenRejected {
                code, description, ..
            }) if code == "invalid_grant" || code == "bad_refresh_token" => {
                let reason = format!(
                    "the provider no longer accepts its refresh token ({})",
                    description.unwrap_or(code)
                );
                return Err(self.mark_needs_relink(&id, &reason)?);
            }
            // Network and server errors: the stored tokens stay as they are.
            Err(e) => return Err(e),
        };

        // RFC 6749 section 6: the old refresh token may now be dead; keep the new one first.
        if let Some(rotated) = &tokens.refresh_token {
            self.secrets
                .put(SecretKey::RefreshToken(id.clone()), rotated)
                .await?;
        }
        if let (Some(id_token), ProviderKind::Openid) = (&tokens.id_token, provider.kind) {
            verify_refreshed_id_token(
                self.http(),
                &provider,
                client_secret.as_ref(),
                id_token,
                &account.subject,
            )
            .await?;
            self.secrets
                .put(SecretKey::IdToken(id.clone()), id_token)
                .await?;
        }
        self.secrets
            .put(SecretKey::AccessToken(id.clone()), &tokens.access_token)
            .await?;

        let now = OffsetDateTime::now_utc();
        let expires_at = refreshed_expiry(account, &tokens, issued_at);
        self.accounts.modify(|accounts| {
            let a = accounts
                .iter_mut()
                .find(|a| a.id == id)
                .ok_or_else(|| Error::AccountNotFound(id.clone()))?;
            a.access_expires_at = expires_at;
            a.access_issued_at = Some(issued_at);
            a.refreshed_at = Some(now);
            if let Some(scopes) = &tokens.scopes {
                a.scopes = scopes.clone();
            }
            if tokens.refresh_expires_in.is_some() {
                a.refresh_expires_at = tokens.refresh_expires_at(issued_at);
            }
            a.status = AccountStatus::Ok;
            Ok(())
        })?;
        Ok(FreshToken {
            token: tokens.access_token,
            expires_at,
            refreshed: true,
        })
    }

    /// Without a refresh token only a new link gives a new access token. The account needs
    /// one once its token has expired; before that, it stays as it is.
    fn without_refresh_token(&self, account: &Account) -> Result<Error> {
        let left = account
            .access_expires_at
            .map(|at| at - OffsetDateTime::now_utc());
        match left {
            Some(left) if left <= time::Duration::ZERO => self.mark_needs_relink(
                &account.id,
                "the access token expired and the provider issued no refresh token",
            ),
            Some(left) => Ok(Error::CannotRefresh {
                account: account.id.clone(),
                reason: format!(
                    "the provider issued no refresh token; the access token stays valid for {} \
                     more, and a new link gives a new one",
                    whole_minutes(left)
                ),
            }),
            None => Ok(Error::CannotRefresh {
                account: account.id.clone(),
                reason: "its access token does not expire and the provider issued no refresh \
                         token, so there is nothing to refresh"
                    .to_string(),
            }),
        }
    }

    /// Persists `needs_relink` and returns the error to report.
    pub(crate) fn mark_needs_relink(&self, id: &str, reason: &str) -> Result<Error> {
        self.accounts.modify(|accounts| {
            if let Some(a) = accounts.iter_mut().find(|a| a.id == id) {
                a.status = AccountStatus::NeedsRelink {
                    reason: reason.to_string(),
                };
            }
            Ok(())
        })?;
        Ok(Error::NeedsRelink {
            account: id.to_string(),
            reason: reason.to_string(),
        })
    }
}

/// When a refreshed access token expires. RFC 6749 section 5.1 only recommends `expires_in`:
/// a refresh answer without one keeps the lifetime the previous token had, since taking it
/// for "never expires" would serve a dead token for good. A token that never expired stays so.
fn refreshed_expiry(
    previous: &Account,
    tokens: &Tokens,
    issued_at: OffsetDateTime,
) -> Option<OffsetDateTime> {
    if tokens.expires_in.is_some() {
        return tokens.access_expires_at(issued_at);
    }
    let expired_at = previous.access_expires_at?;
    // Files from before `access_issued_at` was kept: the last refresh or the link.
    let began = previous
        .access_issued_at
        .or(previous.refreshed_at)
        .unwrap_or(previous.linked_at);
    let lifetime = (expired_at - began).max(time::Duration::ZERO);
    issued_at.checked_add(lifetime)
}

fn ensure_usable(account: &Account) -> Result<()> {
    match &account.status {
        AccountStatus::Ok => Ok(()),
        AccountStatus::NeedsRelink { reason } => Err(Error::NeedsRelink {
            account: account.id.clone(),
            reason: reason.clone(),
        }),
    }
}

/// "42 min", "1 h 5 min", "less than a minute".
fn whole_minutes(d: time::Duration) -> String {
    let minutes = d.whole_minutes();
    match (minutes / 60, minutes % 60) {
        (0, 0) => "less than a minute".to_string(),
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

fn valid_for(account: &Account, min_valid: Duration) -> bool {
    match account.access_expires_at {
        None => true,
        Some(expires) => expires - OffsetDateTime::now_utc() > min_valid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_read_naturally() {
        assert_eq!(
            whole_minutes(time::Duration::seconds(59)),
            "less than a minute"
        );
        assert_eq!(whole_minutes(time::Duration::minutes(42)), "42 min");
        assert_eq!(whole_minutes(time::Duration::minutes(120)), "2 h");
        assert_eq!(whole_minutes(time::Duration::minutes(65)), "1 h 5 min");
    }

    fn answer(expires_in: Option<u64>) -> Tokens {
        Tokens {
            access_token: Secret::new("a"),
            refresh_token: None,
            id_token: None,
            expires_in: expires_in.map(Duration::from_secs),
            refresh_expires_in: None,
            scopes: None,
        }
    }

    #[test]
    fn a_refresh_without_expires_in_keeps_the_previous_lifetime() {
        let t0 = OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
        let now = t0 + time::Duration::hours(2);
        let hour = time::Duration::hours(1);
        let mut previous = crate::store::accounts::tests::sample("a");
        previous.access_issued_at = Some(t0);
        previous.access_expires_at = Some(t0 + hour);

        assert_eq!(
            refreshed_expiry(&previous, &answer(Some(60)), now),
            Some(now + time::Duration::minutes(1))
        );
        assert_eq!(
            refreshed_expiry(&previous, &answer(Some(0)), now),
            Some(now),
            "0: expired at once"
        );
        assert_eq!(
            refreshed_expiry(&previous, &answer(None), now),
            Some(now + hour)
        );

        // Older files: the lifetime counts from the last refresh, else from the link.
        previous.access_issued_at = None;
        previous.refreshed_at = Some(t0 + time::Duration::minutes(30));
        assert_eq!(
            refreshed_expiry(&previous, &answer(None), now),
            Some(now + time::Duration::minutes(30))
        );
        previous.refreshed_at = None;
        previous.linked_at = t0 + hour * 2;
        assert_eq!(
            refreshed_expiry(&previous, &answer(None), now),
            Some(now),
            "never negative"
        );

        previous.access_expires_at = None;
        assert_eq!(
            refreshed_expiry(&previous, &answer(None), now),
            None,
            "never expired, still does not"
        );
    }

    // Keyring failures injected at each step of a refresh, over the in-memory keyring and
    // the stub provider, which rotates refresh tokens and ends the grant when one is reused:
    // a refresh token lost on the way shows up as a refused next refresh.
    mod keyring_failures {
        use std::time::Duration;

        use keyfob_testkit::{Browser, Consent, Idp};
        use serde_json::json;

        use crate::error::Error;
        use crate::facade::Keyfob;
        use crate::link::LinkOptions;
        use crate::paths::Paths;
        use crate::provider::discovery::OpenidProviderDraft;
        use crate::provider::{ClientAuth, RedirectMode};
        use crate::store::memory::{Failure, MemoryKeyring, Op};
        use crate::store::secrets::SecretKey;
        use crate::testing::{same_tokens, Fixture};

        const MINUTE: Duration = Duration::from_secs(60);

        #[tokio::test]
        async fn a_refresh_stores_the_rotated_refresh_token_before_anything_else() {
            let f = Fixture::start().await;
            let alice = f.account("alice");
            let fresh = f.kf.access_token(&alice.id, MINUTE).await.unwrap();
            assert!(fresh.refreshed);
            assert_eq!(
                f.keyring.writes(),
                [
                    "put account/stub-alice/refresh_token",
                    "put account/stub-alice/access_token"
                ],
                "the rotated refresh token first: the old one may be dead already"
            );
            let rotated = f.secret(SecretKey::RefreshToken(alice.id.clone())).unwrap();
            assert!(f.idp.is_live(&rotated));
            assert_eq!(
                f.secret(SecretKey::AccessToken(alice.id.clone()))
                    .as_deref(),
                Some(fresh.token.expose())
            );
            let stored = f.listed(&alice.id).unwrap();
            assert_eq!(stored.access_expires_at, fresh.expires_at);
            assert!(stored.refreshed_at.is_some());
        }

        #[tokio::test]
        async fn a_refresh_whose_access_token_write_fails_loses_nothing() {
            let f = Fixture::start().await;
            let alice = f.account("alice");
            f.keyring
                .fail_nth(Op::Put, "access_token", 1, Failure::Locked);
            let err = f.kf.access_token(&alice.id, MINUTE).await.unwrap_err();
            assert!(matches!(err, Error::KeyringLocked(_)), "{err}");

            // The rotated refresh token is kept; the old access token stays with the expiry
            // the account file gives it, so the two still agree.
            let refresh = f.secret(SecretKey::RefreshToken(alice.id.clone())).unwrap();
            assert!(
                f.idp.is_live(&refresh),
                "the stored refresh token is the new one"
            );
            assert_eq!(
                f.secret(SecretKey::AccessToken(alice.id.clone())).unwrap(),
                "stub-alice-access-0"
            );
            assert!(same_tokens(&f.listed(&alice.id).unwrap(), &alice));

            // Nothing was lost: the next call refreshes with the kept token.
            let fresh = f.kf.access_token(&alice.id, MINUTE).await.unwrap();
            assert!(fresh.refreshed);
            assert_eq!(f.idp.refreshes(), (2, 0));
            assert!(f.listed(&alice.id).unwrap().refreshed_at.is_some());
        }

        #[tokio::test]
        async fn a_refresh_whose_refresh_token_write_fails_writes_nothing_else() {
            let f = Fixture::start().await;
            let alice = f.account("alice");
            f.keyring
                .fail_nth(Op::Put, "refresh_token", 1, Failure::Unavailable);
            let err = f.kf.access_token(&alice.id, MINUTE).await.unwrap_err();
            assert!(matches!(err, Error::KeyringUnavailable(_)), "{err}");
            // No access token without the refresh token that came with it, and no metadata.
            assert_eq!(
                f.keyring.writes(),
                ["put account/stub-alice/refresh_token (failed)"]
            );
            assert!(same_tokens(&f.listed(&alice.id).unwrap(), &alice));
            // The provider rotated anyway: the token it replaced is all the keyring could
            // keep, and a provider that ends the grant on reuse asks for a new link. The
            // keyring's error is what the caller saw first.
            let err = f.kf.access_token(&alice.id, MINUTE).await.unwrap_err();
            assert!(matches!(err, Error::NeedsRelink { .. }), "{err}");
        }

        #[tokio::test]
        async fn a_refresh_that_cannot_read_its_refresh_token_asks_no_provider() {
            let f = Fixture::start().await;
            let alice = f.account("alice");
            f.keyring
                .fail_nth(Op::Get, "refresh_token", 1, Failure::Locked);
            let err = f.kf.access_token(&alice.id, MINUTE).await.unwrap_err();
            assert!(matches!(err, Error::KeyringLocked(_)), "{err}");
            assert_eq!(f.idp.refreshes(), (0, 0));
            assert!(f.keyring.writes().is_empty());
            assert!(same_tokens(&f.listed(&alice.id).unwrap(), &alice));
            assert!(
                f.kf.access_token(&alice.id, MINUTE)
                    .await
                    .unwrap()
                    .refreshed
            );
        }

        /// The account's refresh, ID and access tokens as the keyring holds them.
        fn tokens(kf: &Keyfob, keyring: &MemoryKeyring, id: &str) -> [Option<String>; 3] {
            [
                SecretKey::RefreshToken(id.into()),
                SecretKey::IdToken(id.into()),
                SecretKey::AccessToken(id.into()),
            ]
            .map(|key| keyring.peek(&kf.paths().keyring_service, &key.user()))
        }

        // An OpenID refresh also writes a (verified) ID token, which the stub cannot sign:
        // this one runs against the testkit's real provider, which rotates refresh tokens
        // and revokes the grant when a rotated one is reused. Only the keyring is in memory.
        #[tokio::test(flavor = "multi_thread")]
        async fn an_openid_refresh_failing_at_any_write_keeps_the_newest_refresh_token() {
            let idp = Idp::start_with(json!({"ttl": {"AccessToken": 30}}))
                .await
                .unwrap();
            let home = tempfile::tempdir().unwrap();
            let keyring = MemoryKeyring::new();
            let kf = Keyfob::open_with_store(Paths::under(home.path()), keyring.as_store());
            let draft = OpenidProviderDraft {
                id: "local".into(),
                name: "Local".into(),
                issuer: idp.issuer().to_string(),
                client_id: keyfob_testkit::NATIVE_CLIENT_ID.into(),
                client_auth: ClientAuth::None,
                scopes: Some(
                    ["openid", "email", "offline_access"]
                        .map(String::from)
                        .to_vec(),
                ),
                extra_params: [("prompt".to_string(), "consent".to_string())].into(),
                redirect: RedirectMode::Scheme,
            };
            kf.add_openid_provider(draft, None).await.unwrap();
            let start = kf
                .begin_link("local", LinkOptions::default())
                .await
                .unwrap();
            let callback = Browser::new()
                .authorize(start.authorization_url.as_str(), "alice", Consent::Approve)
                .await
                .unwrap();
            let id = kf.complete_link(&callback).await.unwrap().id;

            // Puts: 1 refresh token, 2 ID token, 3 access token. Those before the failing
            // one are done, the rest not; the metadata is untouched throughout.
            let puts = ["refresh_token", "id_token", "access_token"]
                .map(|what| format!("put account/{id}/{what}"));
            for step in [3, 2] {
                let (before, account) = (tokens(&kf, &keyring, &id), kf.account(&id).unwrap());
                keyring.forget_writes();
                keyring.fail_nth(Op::Put, "account/", step, Failure::Locked);
                let err = kf.access_token(&id, MINUTE).await.unwrap_err();
                assert!(matches!(err, Error::KeyringLocked(_)), "step {step}: {err}");
                let mut expected = puts[..step].to_vec();
                expected[step - 1].push_str(" (failed)");
                assert_eq!(keyring.writes(), expected);
                let after = tokens(&kf, &keyring, &id);
                assert!(
                    after.iter().all(Option::is_some),
                    "step {step}: none missing"
                );
                assert_ne!(
                    after[0], before[0],
                    "step {step}: the rotated refresh token"
                );
                assert_eq!(after[2], before[2], "step {step}: the old access token");
                assert!(same_tokens(&kf.account(&id).unwrap(), &account));
                let refresh = after[0].clone().unwrap();
                assert!(idp.is_active(&refresh).await.unwrap(), "step {step}");
            }
            // Nothing was lost: the kept refresh token still refreshes.
            assert!(kf.access_token(&id, MINUTE).await.unwrap().refreshed);

            // Only a refused refresh token write loses the rotated token, and with it a
            // grant that ends on reuse: the only loss a keyring failure can cause.
            keyring.fail_nth(Op::Put, "account/", 1, Failure::Locked);
            let before = tokens(&kf, &keyring, &id);
            assert!(kf.access_token(&id, MINUTE).await.is_err());
            assert_eq!(tokens(&kf, &keyring, &id), before);
            let err = kf.access_token(&id, MINUTE).await.unwrap_err();
            assert!(matches!(err, Error::NeedsRelink { .. }), "{err}");
        }
    }
}
