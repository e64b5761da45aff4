//! Desktop notifications (tauri-plugin-notification: the freedesktop notification service on
//! Linux). Each account state is announced once per change: [`Announced`] remembers what was
//! last said about every account. A click on a notification that names an account opens the
//! window on its re-link (`window::open_relink_on_click`).

use std::collections::HashMap;
use std::sync::Mutex;

use keyfob_core::{Account, AccountStatus};
use tauri::{AppHandle, Manager};
use tauri_plugin_notification::NotificationExt;
use time::OffsetDateTime;

use crate::commands::accounts::Copied;
use crate::error::UiError;
use crate::local_time;

/// Where a re-link notification names its account, for the click to find it.
pub const ACCOUNT_KEY: &str = "account_id";

/// What was last announced about each account: whether it needs a new link.
#[derive(Debug, Default)]
pub struct Announced {
    needs_relink: Mutex<HashMap<String, bool>>,
}

impl Announced {
    /// Starts from the accounts as they are: what was already so at start-up is shown by the
    /// tray icon, not announced again at every login.
    pub fn new(accounts: &[Account]) -> Self {
        let announced = Announced::default();
        announced.newly_needing_relink(accounts);
        announced
    }

    /// The accounts that need a new link now but did not at the last call; remembers the
    /// state of all of them (an account that recovers and breaks again is announced again).
    pub fn newly_needing_relink<'a>(&self, accounts: &'a [Account]) -> Vec<&'a Account> {
        let mut last = self.needs_relink.lock().expect("announcements poisoned");
        let now: HashMap<String, bool> = accounts
            .iter()
            .map(|a| (a.id.clone(), needs_relink(a)))
            .collect();
        let fresh = accounts
            .iter()
            .filter(|a| needs_relink(a) && last.get(&a.id) != Some(&true))
            .collect();
        *last = now;
        fresh
    }
}

fn needs_relink(account: &Account) -> bool {
    matches!(account.status, AccountStatus::NeedsRelink { .. })
}

/// Announces the accounts that newly need a new link.
pub fn accounts_changed(app: &AppHandle, accounts: &[Account]) {
    for account in app.state::<Announced>().newly_needing_relink(accounts) {
        needs_relink_notice(app, account);
    }
}

/// "GitHub · alice needs to be linked again", opening its re-link when clicked.
pub fn needs_relink_notice(app: &AppHandle, account: &Account) {
    let reason = match &account.status {
        AccountStatus::NeedsRelink { reason } => reason.as_str(),
        AccountStatus::Ok => return,
    };
    show(
        app.notification()
            .builder()
            .title(format!("{} needs to be linked again", account.display_name))
            .body(format!("{reason}. Click to link it again."))
            .extra(ACCOUNT_KEY, &account.id),
    );
}

/// "The sign-in of GitHub · alice ends on 3 Dec": its refresh token ends within a week (the
/// keeper says so once per end); clicking opens the re-link, which renews it.
pub fn refresh_token_ending(app: &AppHandle, account: &Account, ends_at: OffsetDateTime) {
    let local = ends_at.to_offset(local_time::offset());
    show(
        app.notification()
            .builder()
            .title(format!(
                "{} must be linked again soon",
                account.display_name
            ))
            .body(format!(
                "Its sign-in ends on {} at {}. Click to link it again now.",
                local_time::day(local),
                local_time::clock(local)
            ))
            .extra(ACCOUNT_KEY, &account.id),
    );
}

/// "Cannot refresh GitHub · alice": the keeper has failed to refresh it for half an hour
/// (said once per outage). Nothing to click: the keeper keeps trying.
pub fn refresh_failing(app: &AppHandle, account: &Account, reason: &str) {
    show(
        app.notification()
            .builder()
            .title(format!("Cannot refresh {}", account.display_name))
            .body(format!(
                "Refreshing has failed for half an hour: {reason}. Keyfob keeps trying; the stored tokens are kept."
            )),
    );
}

/// Said once, the first time the window is closed while Keyfob stays in the tray.
pub fn still_running(app: &AppHandle) {
    show(
        app.notification()
            .builder()
            .title("Keyfob is still running")
            .body("It stays in the tray to keep your accounts at hand. Quit it from the tray menu, or turn this off in Settings."),
    );
}

/// Said when Keyfob, started from its AppImage, made itself the handler of its sign-in links
/// (first start, or first start after the file moved).
#[cfg(target_os = "linux")]
pub fn scheme_registered(app: &AppHandle, appimage: &std::path::Path, moved: bool) {
    let (title, body) = if moved {
        (
            "Keyfob opens sign-in links from its new place",
            format!(
                "Links back from your browser (dev.keyfob.app) now open {}.",
                appimage.display()
            ),
        )
    } else {
        (
            "Keyfob opens sign-in links",
            format!(
                "Links back from your browser (dev.keyfob.app) now open {}. If you move the file, start it once from its new place.",
                appimage.display()
            ),
        )
    };
    eprintln!("keyfob: {title}: {body}");
    show(app.notification().builder().title(title).body(body));
}

/// Keyfob, started from its AppImage, could not make itself the handler of its sign-in links:
/// linking an account will not come back to it.
#[cfg(target_os = "linux")]
pub fn scheme_not_registered(app: &AppHandle, why: &str) {
    let body = format!(
        "Sign-in links from your browser will not reach this window: {why}. `keyfob link` (the CLI) links accounts without them."
    );
    eprintln!("keyfob: cannot register the dev.keyfob.app URL scheme: {why}");
    show(
        app.notification()
            .builder()
            .title("Keyfob cannot open sign-in links")
            .body(body),
    );
}

/// How a copy from the tray went (there is no window to say it).
pub fn copied(app: &AppHandle, outcome: Result<Copied, UiError>) {
    let builder = app.notification().builder();
    let builder = match outcome {
        Ok(copied) => builder.title("Token copied").body(match copied.clears_in {
            Some(seconds) => format!("It is cleared from the clipboard in {seconds} s."),
            None => "It stays on the clipboard until you copy something else.".to_string(),
        }),
        Err(e) => builder.title("Cannot copy the token").body(e.message),
    };
    show(builder);
}

fn show(builder: tauri_plugin_notification::NotificationBuilder<tauri::Wry>) {
    if let Err(e) = builder.show() {
        eprintln!("keyfob: cannot show a notification: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(id: &str, broken: bool) -> Account {
        let status = if broken {
            serde_json::json!({"state": "needs_relink", "reason": "revoked"})
        } else {
            serde_json::json!({"state": "ok"})
        };
        serde_json::from_value(serde_json::json!({
            "id": id, "provider": "p", "issuer": "https://i.example", "linked_with": null,
            "subject": "1", "display_name": id, "scopes": [], "access_expires_at": null,
            "has_refresh_token": true, "linked_at": "2026-11-30T10:00:00Z", "status": status,
        }))
        .unwrap()
    }

    fn ids(accounts: Vec<&Account>) -> Vec<String> {
        accounts.into_iter().map(|a| a.id.clone()).collect()
    }

    #[test]
    fn announces_each_turn_to_needs_relink_once() {
        let announced = Announced::new(&[account("a", false), account("old", true)]);
        assert!(announced
            .newly_needing_relink(&[account("a", false), account("old", true)])
            .is_empty());

        let broken = [account("a", true), account("old", true)];
        assert_eq!(ids(announced.newly_needing_relink(&broken)), ["a"]);
        assert!(
            announced.newly_needing_relink(&broken).is_empty(),
            "not repeated"
        );

        // Linked again, then broken again: a new change, a new announcement.
        announced.newly_needing_relink(&[account("a", false)]);
        assert_eq!(
            ids(announced.newly_needing_relink(&[account("a", true)])),
            ["a"]
        );
        // A new account that arrives already broken is a change too.
        assert_eq!(
            ids(announced.newly_needing_relink(&[account("a", true), account("b", true)])),
            ["b"]
        );
    }
}
