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
use crate::store::attention::Attention;
use crate::store::secrets::{SecretChange, SecretKey};

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

/// When [`Keyfob::refresh_in_turn`] spends the refresh token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refresh {
    /// Whatever the access token's expiry (an explicit refresh).
    Always,
    /// Only if, once the account's turn has come, the access token is still not valid for
    /// `min_valid` and nobody else has refreshed it meanwhile.
    IfStale {
        /// The validity the caller asked for.
        min_valid: Duration,
        /// The expiry the caller saw before waiting for the turn: a different one now means
        /// another thread or process refreshed the account while this one waited.
        seen_expiry: Option<OffsetDateTime>,
    },
    /// Ahead of expiry (the keeper): unless the access token is no longer the one that
    /// expires at `seen_expiry`, since then another thread or process refreshed it.
    Ahead {
        /// The expiry the keeper planned for.
        seen_expiry: Option<OffsetDateTime>,
    },
}

/// What a refresh that could not be done means for the stored account.
#[derive(Debug)]
enum RefreshFailure {
    /// The grant is gone: the account is marked as needing a new link, for this reason.
    Relink(String),
    /// The grant may still be good (network, server or configuration trouble, or a token that
    /// is still valid): the stored tokens and account stay as they are, the error is
    /// reported, and a later call may try again.
    Unchanged(Error),
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
        if valid_for(account, min_valid, OffsetDateTime::now_utc()) {
            return self.cached(account).await;
        }
        let refresh = Refresh::IfStale {
            min_valid,
            seen_expiry: account.access_expires_at,
        };
        self.refresh_in_turn(&account.id, refresh).await
    }

    /// Refreshes `account_id` now, whatever its expiry.
    pub async fn refresh_account(&self, account_id: &str) -> Result<Account> {
        self.account(account_id)?;
        self.refresh_in_turn(account_id, Refresh::Always).await?;
        self.account(account_id)
    }

    /// Refreshes `account_id` ahead of expiry unless someone refreshed it since its access
    /// token expiry was `seen_expiry`; whether this call refreshed. Same turn as every refresh.
    pub(crate) async fn refresh_unless_refreshed(
        &self,
        account_id: &str,
        seen_expiry: Option<OffsetDateTime>,
    ) -> Result<bool> {
        let _turn = self.account_turn(account_id).await?;
        let account = self.account(account_id)?;
        ensure_usable(&account)?;
        if must_refresh(
            &account,
            Refresh::Ahead { seen_expiry },
            OffsetDateTime::now_utc(),
        ) {
            self.refresh_now(&account).await?;
            Ok(true)
        } else {
            Ok(false)
        }
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

    async fn refresh_in_turn(&self, account_id: &str, refresh: Refresh) -> Result<FreshToken> {
        let _turn = self.account_turn(account_id).await?;
        // Someone may have refreshed while we waited: re-read before spending the refresh token.
        let account = self.account(account_id)?;
        ensure_usable(&account)?;
        if must_refresh(&account, refresh, OffsetDateTime::now_utc()) {
            self.refresh_now(&account).await
        } else {
            self.cached(&account).await
        }
    }

    /// Refreshes now; the caller holds the account's turn.
    pub(crate) async fn refresh_now(&self, account: &Account) -> Result<FreshToken> {
        // Here, not in the callers: unlink refreshes GitHub tokens too.
        ensure_refreshable(account)?;
        let id = account.id.clone();
        let Some(refresh_token) = self
            .secrets
            .get(SecretKey::RefreshToken(id.clone()))
            .await?
        else {
            let failure = without_refresh_token(account, OffsetDateTime::now_utc());
            return Err(self.record_failure(&id, failure)?);
        };
        // Only to where the account was linked: a changed provider gets no token and no secret.
        let provider = self.bound_provider(account)?;
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
            Err(e) => return Err(self.record_failure(&id, refresh_failure(e))?),
        };

        // The order of these writes is the point. RFC 6749 section 6: once a rotated refresh
        // token is issued the old one may be dead, so the new one is stored first, before
        // anything that can fail (the ID token's check included). The access token is stored
        // before the metadata: an expiry in the file never describes a token not yet written
        // (the reverse, a new token with its old expiry, only refreshes early).
        if let Err(e) = self
            .store_rotated(&id, rotated_refresh_token(&tokens))
            .await
        {
            return Err(self.mark_refresh_token_lost(&id, &e)?);
        }
        if let Some(id_token) = refreshed_id_token(provider.kind, &tokens) {
            // OIDC Core 12.2 compares it with the original, which the link stored.
            let original = self.secrets.get(SecretKey::IdToken(id.clone())).await?;
            verify_refreshed_id_token(
                self.http(),
                &provider,
                client_secret.as_ref(),
                id_token,
                &tokens.access_token,
                original.as_ref(),
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

        let expires_at = refreshed_expiry(account, &tokens, issued_at);
        let now = OffsetDateTime::now_utc();
        self.accounts.modify(|accounts| {
            let stored = accounts
                .iter_mut()
                .find(|a| a.id == id)
                .ok_or_else(|| Error::AccountNotFound(id.clone()))?;
            record_refresh(stored, &tokens, expires_at, issued_at, now);
            Ok(())
        })?;
        Ok(FreshToken {
            token: tokens.access_token,
            expires_at,
            refreshed: true,
        })
    }

    /// Stores a rotated refresh token, asking the keyring again (see [`store_retry`]): it
    /// is the only copy of the grant once the provider has rotated it.
    async fn store_rotated(&self, id: &str, change: SecretChange<'_>) -> Result<()> {
        let key = SecretKey::RefreshToken(id.to_string());
        let mut attempt = 1;
        loop {
            match self.secrets.apply(key.clone(), change).await {
                Ok(()) => return Ok(()),
                Err(e) => match store_retry(attempt, &e) {
                    Some(pause) => tokio::time::sleep(pause).await,
                    None => return Err(e),
                },
            }
            attempt += 1;
        }
    }

    /// Marks the account whose rotated refresh token the keyring refused, so that the stored
    /// (maybe spent) one is never sent again, and returns the error to report.
    fn mark_refresh_token_lost(&self, id: &str, error: &Error) -> Result<Error> {
        let attention = Attention::RefreshTokenNotStored {
            reason: error.to_string(),
        };
        self.accounts.modify(|accounts| {
            if let Some(a) = accounts.iter_mut().find(|a| a.id == id) {
                a.attention = Some(attention.clone());
            }
            Ok(())
        })?;
        Ok(Error::RefreshTokenNotStored {
            account: id.to_string(),
            advice: attention.advice(),
        })
    }

    /// Persists what a failed refresh means and returns the error to report.
    fn record_failure(&self, id: &str, failure: RefreshFailure) -> Result<Error> {
        match failure {
            RefreshFailure::Relink(reason) => self.mark_needs_relink(id, &reason),
            RefreshFailure::Unchanged(error) => Ok(error),
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

/// Whether `account`, read once its turn has come, must be refreshed.
fn must_refresh(account: &Account, refresh: Refresh, now: OffsetDateTime) -> bool {
    match refresh {
        Refresh::Always => true,
        Refresh::IfStale {
            min_valid,
            seen_expiry,
        } => {
            // A token refreshed meanwhile is used even if shorter-lived than asked for:
            // refreshing it again would gain nothing.
            let refreshed_meanwhile =
                account.access_expires_at != seen_expiry && valid_for(account, Duration::ZERO, now);
            !valid_for(account, min_valid, now) && !refreshed_meanwhile
        }
        Refresh::Ahead { seen_expiry } => account.access_expires_at == seen_expiry,
    }
}

/// What a token endpoint's refusal of the refresh token means. Only a refusal of the grant
/// itself condemns the account; everything else leaves the stored tokens for a later try.
fn refresh_failure(error: Error) -> RefreshFailure {
    match error {
        // GitHub says bad_refresh_token where RFC 6749 says invalid_grant.
        Error::TokenRejected {
            code, description, ..
        } if code == "invalid_grant" || code == "bad_refresh_token" => {
            RefreshFailure::Relink(format!(
                "the provider no longer accepts its refresh token ({})",
                description.unwrap_or(code)
            ))
        }
        // Network and server errors, other OAuth errors: the stored tokens stay as they are.
        other => RefreshFailure::Unchanged(other),
    }
}

/// Without a refresh token only a new link gives a new access token. The account needs
/// one once its token has expired; before that, it stays as it is.
fn without_refresh_token(account: &Account, now: OffsetDateTime) -> RefreshFailure {
    let left = account.access_expires_at.map(|at| at - now);
    match left {
        Some(left) if left <= time::Duration::ZERO => RefreshFailure::Relink(
            "the access token expired and the provider issued no refresh token".to_string(),
        ),
        Some(left) => RefreshFailure::Unchanged(Error::CannotRefresh {
            account: account.id.clone(),
            reason: format!(
                "the provider issued no refresh token; the access token stays valid for {} \
                 more, and a new link gives a new one",
                whole_minutes(left)
            ),
        }),
        None => RefreshFailure::Unchanged(Error::CannotRefresh {
            account: account.id.clone(),
            reason: "its access token does not expire and the provider issued no refresh \
                     token, so there is nothing to refresh"
                .to_string(),
        }),
    }
}

/// The refresh token after a refresh: a rotated one replaces the stored one; a provider that
/// does not rotate keeps the old one valid, so it stays.
fn rotated_refresh_token(tokens: &Tokens) -> SecretChange<'_> {
    match &tokens.refresh_token {
        Some(rotated) => SecretChange::Replace(rotated),
        None => SecretChange::Keep,
    }
}

/// The ID token a refresh must check and then store: an OpenID provider's, when it sent one.
/// Without one the last stays (OIDC Core section 12.2 makes it optional); a plain OAuth 2
/// provider's is not Keyfob's to check, so it is ignored.
fn refreshed_id_token(kind: ProviderKind, tokens: &Tokens) -> Option<&Secret> {
    match kind {
        ProviderKind::Openid => tokens.id_token.as_ref(),
        ProviderKind::Oauth2 => None,
    }
}

/// Records a refresh in the stored account: the new expiry (from [`refreshed_expiry`]) and
/// issue time, the granted scopes when the answer lists them, the refresh token's expiry when
/// it names one, and a usable status.
fn record_refresh(
    account: &mut Account,
    tokens: &Tokens,
    expires_at: Option<OffsetDateTime>,
    issued_at: OffsetDateTime,
    now: OffsetDateTime,
) {
    account.access_expires_at = expires_at;
    account.access_issued_at = Some(issued_at);
    account.refreshed_at = Some(now);
    if let Some(scopes) = &tokens.scopes {
        account.scopes = scopes.clone();
    }
    if tokens.refresh_expires_in.is_some() {
        account.refresh_expires_at = tokens.refresh_expires_at(issued_at);
    }
    account.status = AccountStatus::Ok;
    // A refresh that works ends a run of failed ones.
    if matches!(account.attention, Some(Attention::RefreshFailing { .. })) {
        account.attention = None;
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

/// How many times a refresh asks the keyring to store a rotated refresh token.
const STORE_ATTEMPTS: u32 = 3;

/// Whether to ask the keyring again to store a rotated refresh token after failed attempt
/// `attempt`, and after what pause: a locked or busy keyring may recover in a moment. Not
/// after a timeout: the caller has waited long enough, and the write may yet land.
fn store_retry(attempt: u32, error: &Error) -> Option<Duration> {
    match error {
        Error::KeyringTimedOut(_) => None,
        _ if attempt < STORE_ATTEMPTS => Some(Duration::from_millis(250) * attempt),
        _ => None,
    }
}

/// Refuses to refresh an account whose stored refresh token may be spent (see
/// [`Attention::RefreshTokenNotStored`]): sending it again could end the grant.
fn ensure_refreshable(account: &Account) -> Result<()> {
    match &account.attention {
        Some(attention @ Attention::RefreshTokenNotStored { .. }) => {
            Err(Error::RefreshTokenNotStored {
                account: account.id.clone(),
                advice: attention.advice(),
            })
        }
        Some(Attention::RevocationPending { .. } | Attention::RefreshFailing { .. }) | None => {
            Ok(())
        }
    }
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

/// Whether the access token is valid for more than `min_valid` after `now`.
fn valid_for(account: &Account, min_valid: Duration, now: OffsetDateTime) -> bool {
    match account.access_expires_at {
        None => true,
        Some(expires) => expires - now > min_valid,
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

    fn at(minutes: i64) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000) + time::Duration::minutes(minutes)
    }

    fn expiring_at(expires: Option<OffsetDateTime>) -> Account {
        let mut account = crate::store::accounts::tests::sample("a");
        account.access_expires_at = expires;
        account
    }

    #[test]
    fn a_refresh_is_spent_only_when_the_token_is_still_stale_in_our_turn() {
        let now = at(0);
        let min_valid = Duration::from_secs(5 * 60);
        let seen = Some(at(2));
        let stale = |seen_expiry| Refresh::IfStale {
            min_valid,
            seen_expiry,
        };

        // Forced: whatever the expiry.
        assert!(must_refresh(&expiring_at(None), Refresh::Always, now));
        assert!(must_refresh(
            &expiring_at(Some(at(60))),
            Refresh::Always,
            now
        ));
        // Still as seen and too short-lived: refresh.
        assert!(must_refresh(&expiring_at(seen), stale(seen), now));
        // Long enough after all: no.
        assert!(!must_refresh(&expiring_at(Some(at(60))), stale(seen), now));
        // Never expires: no.
        assert!(!must_refresh(&expiring_at(None), stale(seen), now));
        // Someone refreshed while we waited, to a token shorter-lived than asked for: use it.
        assert!(!must_refresh(&expiring_at(Some(at(3))), stale(seen), now));
        // Changed, but already expired again: refresh.
        assert!(must_refresh(&expiring_at(Some(at(-1))), stale(seen), now));
    }

    fn rejected(code: &str, description: Option<&str>) -> Error {
        Error::TokenRejected {
            endpoint: "https://example.test/token".into(),
            code: code.into(),
            description: description.map(String::from),
        }
    }

    #[test]
    fn a_refresh_token_write_is_tried_three_times_unless_it_timed_out() {
        let locked = Error::KeyringLocked("l".into());
        assert_eq!(store_retry(1, &locked), Some(Duration::from_millis(250)));
        assert_eq!(store_retry(2, &locked), Some(Duration::from_millis(500)));
        assert_eq!(store_retry(3, &locked), None);
        assert_eq!(store_retry(1, &Error::KeyringTimedOut(90)), None);
    }

    #[test]
    fn only_an_account_whose_refresh_token_was_lost_is_not_refreshed() {
        let mut account = expiring_at(None);
        assert!(ensure_refreshable(&account).is_ok());
        account.attention = Some(Attention::RevocationPending { reason: "r".into() });
        assert!(ensure_refreshable(&account).is_ok());
        account.attention = Some(Attention::RefreshTokenNotStored { reason: "r".into() });
        let err = ensure_refreshable(&account).unwrap_err();
        assert!(matches!(err, Error::RefreshTokenNotStored { .. }), "{err}");
    }

    #[test]
    fn only_a_refused_grant_means_a_new_link() {
        match refresh_failure(rejected("invalid_grant", Some("token revoked"))) {
            RefreshFailure::Relink(reason) => assert_eq!(
                reason,
                "the provider no longer accepts its refresh token (token revoked)"
            ),
            other => panic!("{other:?}"),
        }
        // GitHub's name for it; without a description the code is the reason.
        match refresh_failure(rejected("bad_refresh_token", None)) {
            RefreshFailure::Relink(reason) => assert_eq!(
                reason,
                "the provider no longer accepts its refresh token (bad_refresh_token)"
            ),
            other => panic!("{other:?}"),
        }
        // A misconfigured client, a network or server failure: the grant may be fine.
        for error in [
            rejected("invalid_client", None),
            Error::Network {
                endpoint: "e".into(),
                reason: "r".into(),
            },
            Error::ProviderUnavailable {
                endpoint: "e".into(),
                status: 503,
            },
        ] {
            let kind = error.kind();
            match refresh_failure(error) {
                RefreshFailure::Unchanged(e) => assert_eq!(e.kind(), kind),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn without_a_refresh_token_only_an_expired_token_needs_a_new_link() {
        let now = at(0);
        match without_refresh_token(&expiring_at(Some(at(0))), now) {
            RefreshFailure::Relink(reason) => assert_eq!(
                reason,
                "the access token expired and the provider issued no refresh token"
            ),
            other => panic!("{other:?}"),
        }
        match without_refresh_token(&expiring_at(Some(at(42))), now) {
            RefreshFailure::Unchanged(Error::CannotRefresh { account, reason }) => {
                assert_eq!(account, "a");
                assert!(reason.contains("stays valid for 42 min more"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        match without_refresh_token(&expiring_at(None), now) {
            RefreshFailure::Unchanged(Error::CannotRefresh { reason, .. }) => {
                assert!(reason.contains("does not expire"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_rotated_refresh_token_replaces_the_old_one_else_the_old_one_stays() {
        let mut tokens = answer(Some(60));
        assert_eq!(rotated_refresh_token(&tokens), SecretChange::Keep);
        tokens.refresh_token = Some(Secret::new("r2"));
        assert_eq!(
            rotated_refresh_token(&tokens),
            SecretChange::Replace(&Secret::new("r2"))
        );
    }

    #[test]
    fn only_an_openid_providers_id_token_is_checked_and_kept() {
        let mut tokens = answer(Some(60));
        assert_eq!(refreshed_id_token(ProviderKind::Openid, &tokens), None);
        tokens.id_token = Some(Secret::new("id"));
        assert_eq!(
            refreshed_id_token(ProviderKind::Openid, &tokens),
            Some(&Secret::new("id"))
        );
        assert_eq!(refreshed_id_token(ProviderKind::Oauth2, &tokens), None);
    }

    #[test]
    fn a_refresh_updates_what_the_answer_says_and_keeps_the_rest() {
        let (issued_at, now) = (at(0), at(1));
        let mut account = expiring_at(Some(at(-5)));
        account.scopes = vec!["openid".into(), "email".into()];
        account.refresh_expires_at = Some(at(1000));
        account.status = AccountStatus::NeedsRelink { reason: "r".into() };

        // An answer with no scopes and no refresh lifetime keeps both.
        let tokens = answer(Some(3600));
        record_refresh(&mut account, &tokens, Some(at(60)), issued_at, now);
        assert_eq!(account.access_expires_at, Some(at(60)));
        assert_eq!(account.access_issued_at, Some(issued_at));
        assert_eq!(account.refreshed_at, Some(now));
        assert_eq!(account.scopes, ["openid", "email"]);
        assert_eq!(account.refresh_expires_at, Some(at(1000)));
        assert_eq!(account.status, AccountStatus::Ok);

        // One that lists them replaces them.
        let mut tokens = answer(None);
        tokens.scopes = Some(vec!["openid".into()]);
        tokens.refresh_expires_in = Some(Duration::from_secs(600));
        record_refresh(&mut account, &tokens, None, issued_at, now);
        assert_eq!(account.access_expires_at, None);
        assert_eq!(account.scopes, ["openid"]);
        assert_eq!(account.refresh_expires_at, Some(at(10)));
    }

    // Keyring failures injected at each step of a refresh, over the in-memory keyring and
    // the stub provider, which rotates refresh tokens and ends the grant when one is reused:
    // a refresh token lost on the way shows up as a refused next refresh.
    mod keyring_failures {
        use std::time::Duration;

        use keyfob_testkit::Idp;
        use serde_json::json;

        use crate::error::Error;
        use crate::facade::Keyfob;
        use crate::paths::Paths;
        use crate::store::attention::Attention;
        use crate::store::memory::{Failure, MemoryKeyring, Op};
        use crate::store::secrets::SecretKey;
        use crate::testing::{link_as, local_openid, same_tokens, Fixture};

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

        // A keyring that refuses once is asked again: the rotated token is the grant.
        #[tokio::test]
        async fn a_refused_refresh_token_write_is_retried() {
            let f = Fixture::start().await;
            let alice = f.account("alice");
            f.keyring
                .fail_nth(Op::Put, "refresh_token", 1, Failure::Locked);
            let fresh = f.kf.access_token(&alice.id, MINUTE).await.unwrap();
            assert!(fresh.refreshed);
            let refresh = f.secret(SecretKey::RefreshToken(alice.id.clone())).unwrap();
            assert!(f.idp.is_live(&refresh), "the rotated token is stored");
            assert_eq!(f.listed(&alice.id).unwrap().attention, None);
        }

        #[tokio::test]
        async fn a_refresh_token_that_cannot_be_stored_marks_the_account() {
            let f = Fixture::start().await;
            let alice = f.account("alice");
            f.keyring
                .fail_always(Op::Put, "refresh_token", Failure::Unavailable);
            let err = f.kf.access_token(&alice.id, MINUTE).await.unwrap_err();
            let Error::RefreshTokenNotStored { advice, .. } = &err else {
                panic!("{err:?}");
            };
            assert!(advice.contains("link the account again"), "{advice}");
            assert!(
                advice.contains("not available"),
                "the keyring's reason: {advice}"
            );
            // Asked three times; no access token without the refresh token that came with
            // it, and no new expiry.
            assert_eq!(
                f.keyring.writes(),
                ["put account/stub-alice/refresh_token (failed)"; 3]
            );
            let marked = f.listed(&alice.id).unwrap();
            assert!(same_tokens(&marked, &alice));
            assert!(matches!(
                marked.attention,
                Some(Attention::RefreshTokenNotStored { .. })
            ));

            // The stored token may be spent: it is never sent again, whatever is asked.
            f.keyring.heal();
            for _ in 0..2 {
                let err = f.kf.access_token(&alice.id, MINUTE).await.unwrap_err();
                assert!(matches!(err, Error::RefreshTokenNotStored { .. }), "{err}");
                let err = f.kf.refresh_account(&alice.id).await.unwrap_err();
                assert_eq!(err.kind(), crate::error::ErrorKind::NeedsRelink);
            }
            assert_eq!(f.idp.refreshes(), (1, 0), "one refresh, no reuse");
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
            kf.add_openid_provider(local_openid(&idp, "local"), None)
                .await
                .unwrap();
            let id = link_as(&kf, "local", "alice").await.id;

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

            // Only a refresh token write refused every time loses the rotated token; the
            // account is marked, and the stored one is not sent again (which would end a
            // grant that ends on reuse): the grant lives on at the provider.
            keyring.fail_always(Op::Put, "refresh_token", Failure::Locked);
            let before = tokens(&kf, &keyring, &id);
            let err = kf.access_token(&id, MINUTE).await.unwrap_err();
            assert!(matches!(err, Error::RefreshTokenNotStored { .. }), "{err}");
            assert_eq!(tokens(&kf, &keyring, &id), before);
            keyring.heal();
            let err = kf.access_token(&id, MINUTE).await.unwrap_err();
            assert!(matches!(err, Error::RefreshTokenNotStored { .. }), "{err}");
            let spent = before[0].clone().unwrap();
            assert!(
                !idp.is_active(&spent).await.unwrap(),
                "rotated away, and never reused"
            );
        }
    }
}
