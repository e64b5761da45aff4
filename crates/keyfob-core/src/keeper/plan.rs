//! What the keeper does next and when: a pure decision over the stored accounts and what the
//! keeper remembers (failed refreshes waiting to be retried, warnings already given).

use std::collections::{HashMap, HashSet};

use time::OffsetDateTime;

use super::refresh_ahead::RefreshAhead;
use super::schedule::refresh_at;
use crate::store::accounts::{Account, AccountStatus};
use crate::store::attention::Attention;

/// How long before a refresh token ends the keeper warns.
pub const REFRESH_TOKEN_WARNING: time::Duration = time::Duration::days(7);

/// A piece of work for one account, and when it is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    /// The account.
    pub account: String,
    /// When (in the past when overdue).
    pub at: OffsetDateTime,
    /// What.
    pub work: Work,
}

/// What the keeper does for an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Work {
    /// Refresh, unless its access token is no longer the one expiring at `seen_expiry`
    /// (another process refreshed it meanwhile).
    Refresh {
        /// The expiry the plan was made for.
        seen_expiry: Option<OffsetDateTime>,
    },
    /// Say that its refresh token ends at `ends_at`.
    WarnRefreshTokenEnding {
        /// When the refresh token ends.
        ends_at: OffsetDateTime,
    },
}

/// A refresh that failed and waits to be tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Failures in a row.
    pub failures: u32,
    /// Not before this.
    pub at: OffsetDateTime,
    /// The access token's expiry when it failed: once it changes (another process
    /// refreshed), the failure is history.
    pub expiry: Option<OffsetDateTime>,
}

/// What the keeper remembers between plans.
#[derive(Debug, Default)]
pub struct Memory {
    /// Failed refreshes by account.
    pub retries: HashMap<String, Retry>,
    /// Refresh-token endings already warned about, by account.
    pub warned: HashSet<(String, OffsetDateTime)>,
}

/// All the work there is, earliest first. `ahead` gives each provider's setting.
pub fn plan(
    accounts: &[Account],
    ahead: impl Fn(&str) -> RefreshAhead,
    memory: &Memory,
) -> Vec<Due> {
    let mut due: Vec<Due> = accounts
        .iter()
        .filter(|a| kept(a))
        .flat_map(|a| {
            let refresh = refresh_due(a, ahead(&a.provider), memory.retries.get(&a.id));
            let warning = a
                .refresh_expires_at
                .filter(|ends| !memory.warned.contains(&(a.id.clone(), *ends)))
                .map(|ends_at| Due {
                    account: a.id.clone(),
                    at: ends_at - REFRESH_TOKEN_WARNING,
                    work: Work::WarnRefreshTokenEnding { ends_at },
                });
            refresh.into_iter().chain(warning)
        })
        .collect();
    // Equal times keep the accounts' order, so overdue accounts go in a stable order.
    due.sort_by_key(|d| d.at);
    due
}

/// Whether the keeper looks after `account` at all: only a usable one with a refresh token
/// it may spend.
fn kept(account: &Account) -> bool {
    account.status == AccountStatus::Ok
        && account.has_refresh_token
        && !matches!(
            account.attention,
            Some(Attention::RefreshTokenNotStored { .. })
        )
}

/// When `account` is next refreshed: its schedule, or later when a failure waits for retry.
fn refresh_due(account: &Account, ahead: RefreshAhead, retry: Option<&Retry>) -> Option<Due> {
    let issued_at = account
        .access_issued_at
        .or(account.refreshed_at)
        .unwrap_or(account.linked_at);
    let scheduled = refresh_at(issued_at, account.access_expires_at, ahead)?;
    let at = match retry {
        Some(retry) if retry.expiry == account.access_expires_at => scheduled.max(retry.at),
        _ => scheduled,
    };
    Some(Due {
        account: account.id.clone(),
        at,
        work: Work::Refresh {
            seen_expiry: account.access_expires_at,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::accounts::tests::sample;

    fn at(secs: i64) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(secs)
    }

    /// An account issued a token at 0 that expires at `expires`.
    fn account(id: &str, expires: i64) -> Account {
        let mut a = sample(id);
        a.access_issued_at = Some(at(0));
        a.access_expires_at = Some(at(expires));
        a
    }

    fn default(_: &str) -> RefreshAhead {
        RefreshAhead::Default
    }

    fn refresh(id: &str, due: i64, expires: i64) -> Due {
        Due {
            account: id.into(),
            at: at(due),
            work: Work::Refresh {
                seen_expiry: Some(at(expires)),
            },
        }
    }

    #[test]
    fn accounts_are_due_by_their_schedule_earliest_first() {
        let accounts = [account("late", 3600), account("soon", 300)];
        assert_eq!(
            plan(&accounts, default, &Memory::default()),
            [refresh("soon", 240, 300), refresh("late", 3240, 3600)]
        );
    }

    #[test]
    fn only_usable_accounts_with_a_refresh_token_and_a_setting_are_kept() {
        let mut relink = account("relink", 300);
        relink.status = AccountStatus::NeedsRelink { reason: "r".into() };
        let mut bare = account("bare", 300);
        bare.has_refresh_token = false;
        let mut lost = account("lost", 300);
        lost.attention = Some(Attention::RefreshTokenNotStored { reason: "r".into() });
        let mut failing = account("failing", 300);
        failing.attention = Some(Attention::RefreshFailing {
            since: at(0),
            reason: "r".into(),
        });
        let mut forever = account("forever", 0);
        forever.access_expires_at = None;
        let mut off = account("off", 300);
        off.provider = "quiet".into();
        let accounts = [relink, bare, lost, failing, forever, off];
        // Provider "quiet" has refreshing ahead turned off.
        let ahead = |p: &str| match p {
            "quiet" => RefreshAhead::Off,
            _ => RefreshAhead::Default,
        };
        assert_eq!(
            plan(&accounts, ahead, &Memory::default()),
            [refresh("failing", 240, 300)],
            "a failing account is still tried; the others are not the keeper's"
        );
    }

    #[test]
    fn a_failed_refresh_waits_for_its_retry_until_someone_else_refreshes() {
        let mut memory = Memory::default();
        memory.retries.insert(
            "a".into(),
            Retry {
                failures: 2,
                at: at(400),
                expiry: Some(at(300)),
            },
        );
        assert_eq!(
            plan(&[account("a", 300)], default, &memory),
            [refresh("a", 400, 300)]
        );
        // Another process refreshed: the new token's own schedule counts.
        let mut refreshed = account("a", 600);
        refreshed.access_issued_at = Some(at(300));
        assert_eq!(
            plan(&[refreshed], default, &memory),
            [refresh("a", 540, 600)]
        );
    }

    #[test]
    fn a_refresh_token_ending_is_warned_about_a_week_ahead_once() {
        let mut a = account("a", 3600);
        let ends_at = at(30 * 86_400);
        a.refresh_expires_at = Some(ends_at);
        let warning = Due {
            account: "a".into(),
            at: at(23 * 86_400),
            work: Work::WarnRefreshTokenEnding { ends_at },
        };
        let mut memory = Memory::default();
        assert_eq!(
            plan(std::slice::from_ref(&a), default, &memory),
            [refresh("a", 3240, 3600), warning]
        );
        memory.warned.insert(("a".into(), ends_at));
        assert_eq!(plan(&[a], default, &memory), [refresh("a", 3240, 3600)]);
    }
}
