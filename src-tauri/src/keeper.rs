//! The keeper in the desktop app: the core's [`Keeper`] runs for as long as the app runs
//! (window open or in the tray), and its events become notifications. A second Keyfob
//! keeper for the profile (`keyfob keep`) makes this one wait and take over when that one
//! ends: the core's profile lock decides, not the app.
//!
//! What each event does here:
//! - a refresh changes accounts.json, which the store watcher already turns into a new tray
//!   menu and window list, so it needs nothing more;
//! - a grant that died marks the account, which the store watcher announces once;
//! - a refresh token about to end is announced once per end (the core warns once);
//! - a provider that fails for [`FAILING_NOTICE_AFTER`] is announced once per outage.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use keyfob_core::{Keeper, KeeperControl, KeeperEvent};
use tauri::{AppHandle, Manager};
use time::OffsetDateTime;

use crate::notify;
use crate::state::AppState;

/// How long refreshing an account must have failed before the user is told: short outages
/// pass by themselves (the keeper retries with backoff), and the access token is usually
/// still valid meanwhile.
pub const FAILING_NOTICE_AFTER: Duration = Duration::from_secs(30 * 60);

/// The running keeper's handle, and what was already said about failing accounts.
#[derive(Debug)]
pub struct AppKeeper {
    control: KeeperControl,
    /// Per account, the start of the outage already announced.
    failing_told: Mutex<HashMap<String, OffsetDateTime>>,
}

/// Starts the keeper on the app's runtime.
pub fn start(app: &AppHandle) {
    let keeper = Keeper::new();
    app.manage(AppKeeper {
        control: keeper.control(),
        failing_told: Mutex::new(HashMap::new()),
    });
    let keyfob = app.state::<AppState>().keyfob.clone();
    let handle = app.clone();
    tauri::async_runtime::spawn(async move {
        let events = |event: KeeperEvent| on_event(&handle, event);
        if let Err(e) = keyfob.keep(keeper, events).await {
            // The profile's files cannot be read: tokens are still refreshed when used.
            eprintln!("keyfob: the keeper stopped: {e}");
        }
    });
}

/// Makes the keeper look at the accounts, providers and settings again now (they changed).
pub fn replan(app: &AppHandle) {
    if let Some(keeper) = app.try_state::<AppKeeper>() {
        keeper.control.replan();
    }
}

/// Stops the keeper when the app quits; a refresh in flight is finished first.
pub fn stop(app: &AppHandle) {
    if let Some(keeper) = app.try_state::<AppKeeper>() {
        keeper.control.stop();
    }
}

fn on_event(app: &AppHandle, event: KeeperEvent) {
    // One line per event, as `keyfob keep` logs them; no event carries a secret.
    eprintln!("keyfob keeper: {event}");
    match event {
        KeeperEvent::RefreshTokenEnding { account, ends_at } => {
            if let Ok(account) = app.state::<AppState>().keyfob.account(&account) {
                notify::refresh_token_ending(app, &account, ends_at);
            }
        }
        KeeperEvent::Failed {
            account,
            reason,
            since,
            ..
        } => {
            let keeper = app.state::<AppKeeper>();
            let mut told = keeper
                .failing_told
                .lock()
                .expect("failing notices poisoned");
            if tell_failing(told.get(&account), since, OffsetDateTime::now_utc()) {
                told.insert(account.clone(), since);
                drop(told);
                if let Ok(account) = app.state::<AppState>().keyfob.account(&account) {
                    notify::refresh_failing(app, &account, &reason);
                }
            }
        }
        KeeperEvent::Waiting
        | KeeperEvent::Started
        | KeeperEvent::Refreshed { .. }
        | KeeperEvent::NeedsRelink { .. } => {}
    }
}

/// Whether a failure of an outage that began at `since` is announced now: once it has lasted
/// [`FAILING_NOTICE_AFTER`], and only once per outage (`told`: the start of the outage
/// already announced; a new outage has a new start).
fn tell_failing(told: Option<&OffsetDateTime>, since: OffsetDateTime, now: OffsetDateTime) -> bool {
    now - since >= FAILING_NOTICE_AFTER && told != Some(&since)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_failing_account_is_announced_once_after_half_an_hour() {
        let since = datetime!(2026-11-30 10:00 UTC);
        let minutes = |m: i64| since + time::Duration::minutes(m);
        assert!(!tell_failing(None, since, minutes(5)), "too early");
        assert!(!tell_failing(None, since, minutes(29)), "too early");
        assert!(tell_failing(None, since, minutes(30)));
        assert!(
            !tell_failing(Some(&since), since, minutes(90)),
            "the same outage is not repeated"
        );
        let next = datetime!(2026-11-30 14:00 UTC);
        assert!(
            tell_failing(Some(&since), next, next + time::Duration::minutes(31)),
            "a new outage is announced again"
        );
    }
}
