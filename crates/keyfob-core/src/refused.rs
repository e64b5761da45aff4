//! A tool reports that a resource server refused an access token Keyfob handed out (git's
//! credential `erase` after a 401). Nothing is deleted: the token is marked expired, so the
//! next request for one refreshes, and an account that cannot refresh says it needs a new
//! link instead of handing the refused token out again.

use time::OffsetDateTime;

use crate::authorize::pkce::fingerprint;
use crate::error::Result;
use crate::facade::Keyfob;
use crate::secret::Secret;
use crate::store::secrets::SecretKey;

impl Keyfob {
    /// Marks `account_id`'s access token expired if it is still `refused`, and says whether
    /// it was. A token already replaced (another process refreshed meanwhile) is left alone.
    pub async fn access_token_refused(&self, account_id: &str, refused: &str) -> Result<bool> {
        // In the account's turn: a refresh running now finishes first, and then the token
        // compared below is the one it stored.
        let _turn = self.account_turn(account_id).await?;
        self.account(account_id)?;
        let current = self
            .secrets
            .get(SecretKey::AccessToken(account_id.to_string()))
            .await?;
        if !is_current(current.as_ref(), refused) {
            return Ok(false);
        }
        let now = OffsetDateTime::now_utc();
        self.accounts.modify(|accounts| {
            if let Some(account) = accounts.iter_mut().find(|a| a.id == account_id) {
                account.access_expires_at = Some(expired(account.access_expires_at, now));
            }
            Ok(())
        })?;
        Ok(true)
    }
}

/// Whether the refused token is the one stored now (compared by digest, so neither is
/// scanned byte by byte against the other).
fn is_current(current: Option<&Secret>, refused: &str) -> bool {
    current.is_some_and(|c| fingerprint(c.expose()) == fingerprint(refused))
}

/// The expiry a refused token gets: now, or its own if that is earlier.
fn expired(expires_at: Option<OffsetDateTime>, now: OffsetDateTime) -> OffsetDateTime {
    expires_at.map_or(now, |e| e.min(now))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Fixture;
    use std::time::Duration;

    #[test]
    fn only_the_stored_token_counts_as_refused_and_it_expires_now() {
        let now = OffsetDateTime::now_utc();
        let stored = Secret::new("tok-2");
        assert!(is_current(Some(&stored), "tok-2"));
        assert!(!is_current(Some(&stored), "tok-1") && !is_current(None, "tok-2"));
        let later = now + time::Duration::hours(1);
        assert_eq!(expired(Some(later), now), now);
        assert_eq!(expired(None, now), now);
        let earlier = now - time::Duration::hours(1);
        assert_eq!(expired(Some(earlier), now), earlier);
    }

    #[tokio::test]
    async fn a_refused_token_is_refreshed_next_time_and_a_stale_report_changes_nothing() {
        let f = Fixture::start().await;
        let account = f.account("alice");
        let first =
            f.kf.access_token(&account.id, Duration::ZERO)
                .await
                .unwrap();
        assert!(first.refreshed, "the fixture's token starts expired");
        // A report about a token that is no longer stored: nothing changes.
        assert!(!f
            .kf
            .access_token_refused(&account.id, "stub-alice-access-0")
            .await
            .unwrap());
        let cached =
            f.kf.access_token(&account.id, Duration::ZERO)
                .await
                .unwrap();
        assert!(!cached.refreshed && cached.token.expose() == first.token.expose());
        // The current one refused: the next request refreshes, and nothing was deleted.
        let items = f.items();
        assert!(f
            .kf
            .access_token_refused(&account.id, first.token.expose())
            .await
            .unwrap());
        assert_eq!(f.items(), items);
        let next =
            f.kf.access_token(&account.id, Duration::ZERO)
                .await
                .unwrap();
        assert!(next.refreshed && next.token.expose() != first.token.expose());
    }
}
