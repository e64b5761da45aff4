//! The keeper's loop: take the profile's keeper lock, then plan, sleep until the earliest
//! piece of work (or a wake), do it, plan again. One account at a time, so a machine waking
//! with every token expired sends its refreshes one after another, not in a burst.

use std::time::Duration;

use time::OffsetDateTime;

use super::event::KeeperEvent;
use super::plan::{plan, Due, Memory, Retry, Work};
use super::refresh_ahead::RefreshAhead;
use super::schedule::refresh_at;
use super::Keeper;
use crate::error::{Error, ErrorKind, Result};
use crate::facade::Keyfob;
use crate::provider::Provider;
use crate::settings::Settings;
use crate::store::attention::Attention;
use crate::store::lock::FileLock;

impl Keyfob {
    /// Runs the keeper for this profile until `keeper`'s control stops it, telling `events`
    /// what it does. Waits first while another keeper runs for the profile. Ends with an
    /// error only when the profile's files cannot be read or written.
    pub async fn keep(&self, keeper: Keeper, events: impl Fn(KeeperEvent)) -> Result<()> {
        let control = keeper.control.clone();
        let Some(_lock) = self.keeper_lock(&keeper, &events).await? else {
            return Ok(());
        };
        events(KeeperEvent::Started);
        let mut memory = Memory::default();
        while !control.is_stopped() {
            let now = keeper.clock.now();
            let work = plan(&self.accounts()?, self.refresh_ahead()?, &memory);
            match work.into_iter().next() {
                Some(due) if due.at <= now => {
                    self.do_work(&keeper, due, &mut memory, &events).await?
                }
                next => {
                    let until_due = next
                        .map(|due| Duration::try_from(due.at - now).unwrap_or(Duration::ZERO))
                        .unwrap_or(keeper.max_sleep);
                    tokio::select! {
                        () = keeper.clock.sleep(until_due.min(keeper.max_sleep)) => {}
                        () = control.woken() => {}
                    }
                }
            }
        }
        Ok(())
    }

    /// The profile's keeper lock, waiting while another keeper holds it; `None` when stopped
    /// while waiting.
    async fn keeper_lock(
        &self,
        keeper: &Keeper,
        events: &impl Fn(KeeperEvent),
    ) -> Result<Option<FileLock>> {
        let path = self.paths().lock_file("keeper");
        if let Some(lock) = FileLock::try_acquire(&path)? {
            return Ok(Some(lock));
        }
        events(KeeperEvent::Waiting);
        let control = &keeper.control;
        let wait = FileLock::wait(path);
        tokio::pin!(wait);
        loop {
            if control.is_stopped() {
                return Ok(None);
            }
            tokio::select! {
                lock = &mut wait => return lock.map(Some),
                // A replan wakes this too; only a stop ends the wait.
                () = control.woken() => {}
            }
        }
    }

    async fn do_work(
        &self,
        keeper: &Keeper,
        due: Due,
        memory: &mut Memory,
        events: &impl Fn(KeeperEvent),
    ) -> Result<()> {
        let account = due.account;
        match due.work {
            Work::WarnRefreshTokenEnding { ends_at } => {
                memory.warned.insert((account.clone(), ends_at));
                events(KeeperEvent::RefreshTokenEnding { account, ends_at });
            }
            Work::Refresh { seen_expiry } => {
                let outcome = self.refresh_unless_refreshed(&account, seen_expiry).await;
                let previous = memory.retries.remove(&account);
                match outcome {
                    Ok(true) => {
                        let (expires_at, next_refresh) = self.next_refresh(&account)?;
                        events(KeeperEvent::Refreshed {
                            account,
                            expires_at,
                            next_refresh,
                        });
                    }
                    // Another process refreshed it, or it is gone: the next plan sees that.
                    Ok(false) => {}
                    Err(Error::AccountNotFound(_)) => {}
                    Err(e) if e.kind() == ErrorKind::NeedsRelink => {
                        events(KeeperEvent::NeedsRelink {
                            account,
                            reason: e.to_string(),
                        });
                    }
                    Err(e) => {
                        let failures = previous.map_or(0, |r| r.failures) + 1;
                        let now = keeper.clock.now();
                        let retry_at = now + keeper.backoff.after(failures, rand::random());
                        memory.retries.insert(
                            account.clone(),
                            Retry {
                                failures,
                                at: retry_at,
                                expiry: seen_expiry,
                            },
                        );
                        let reason = e.to_string();
                        let since = self.mark_refresh_failing(&account, &reason, now)?;
                        events(KeeperEvent::Failed {
                            account,
                            reason,
                            since,
                            retry_at,
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// Each provider's refresh-ahead setting as the files say now (see [`ahead_of`]).
    fn refresh_ahead(&self) -> Result<impl Fn(&str) -> RefreshAhead> {
        let providers = self.providers.load()?;
        let on = Settings::load(self.paths())?.refresh_ahead;
        Ok(move |id: &str| ahead_of(&providers, id, on))
    }

    /// The stored expiry of `account` and when the keeper refreshes it next.
    fn next_refresh(
        &self,
        account: &str,
    ) -> Result<(Option<OffsetDateTime>, Option<OffsetDateTime>)> {
        let a = self.account(account)?;
        let issued_at = a.access_issued_at.or(a.refreshed_at).unwrap_or(a.linked_at);
        let next = refresh_at(
            issued_at,
            a.access_expires_at,
            self.refresh_ahead()?(&a.provider),
        );
        Ok((a.access_expires_at, next))
    }

    /// Marks `account` as failing to refresh for `reason` (keeping since when), unless it
    /// carries another mark, which says more; returns since when it fails.
    fn mark_refresh_failing(
        &self,
        account: &str,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<OffsetDateTime> {
        self.accounts.modify(|accounts| {
            let Some(a) = accounts.iter_mut().find(|a| a.id == account) else {
                return Ok(now);
            };
            let since = match &a.attention {
                None => now,
                Some(Attention::RefreshFailing { since, .. }) => *since,
                Some(_) => return Ok(now),
            };
            a.attention = Some(Attention::RefreshFailing {
                since,
                reason: reason.to_string(),
            });
            Ok(since)
        })
    }
}

/// The refresh-ahead setting of provider `id` (the default when it is gone), or off for
/// every provider while the profile's settings turn refreshing ahead off (the app's
/// settings panel): the per-provider setting tunes it, the profile's switches it.
fn ahead_of(providers: &[Provider], id: &str, on: bool) -> RefreshAhead {
    if !on {
        return RefreshAhead::Off;
    }
    providers
        .iter()
        .find(|p| p.id == id)
        .map_or(RefreshAhead::Default, |p| p.refresh_ahead)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::presets::{github, GithubOptions};

    fn provider(id: &str) -> Provider {
        github(GithubOptions {
            id: id.into(),
            ..GithubOptions::github_com("client")
        })
    }

    #[test]
    fn the_profiles_switch_turns_every_provider_off() {
        let mut tuned = provider("tuned");
        tuned.refresh_ahead = RefreshAhead::Lead(Duration::from_secs(300));
        let providers = [tuned, provider("plain")];
        assert_eq!(
            ahead_of(&providers, "tuned", true),
            RefreshAhead::Lead(Duration::from_secs(300))
        );
        assert_eq!(ahead_of(&providers, "plain", true), RefreshAhead::Default);
        assert_eq!(ahead_of(&providers, "gone", true), RefreshAhead::Default);
        for id in ["tuned", "plain", "gone"] {
            assert_eq!(ahead_of(&providers, id, false), RefreshAhead::Off);
        }
    }
}
