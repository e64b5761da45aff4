//! Events the shell sends to the webview. Payloads carry metadata and readable errors only;
//! never a token, a code, a state or a callback URL.

use keyfob_core::Account;
use serde::Serialize;
use tauri::{AppHandle, Emitter};

use crate::error::UiError;

/// Something about the account list changed (link, refresh, unlink); the UI reloads it.
pub const ACCOUNTS_CHANGED: &str = "accounts-changed";
/// A link finished: `LinkOutcome`.
pub const LINK_FINISHED: &str = "link-finished";
/// A callback arrived that belongs to no link Keyfob started: `Notice`.
pub const CALLBACK_REFUSED: &str = "callback-refused";

/// The window should open a re-link: it asks for which account (`take_relink_request`).
pub const RELINK_REQUESTED: &str = "relink-requested";

/// A copied token's clear delay ran out: `ClipboardExpired`.
pub const CLIPBOARD_EXPIRED: &str = "clipboard-expired";

/// What the clear timer of the latest copy found.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
pub struct ClipboardExpired {
    /// True when the clipboard still held the token and was cleared; false when the user had
    /// copied something else since, which Keyfob leaves alone.
    pub cleared: bool,
}

/// How a started link ended.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
pub struct LinkOutcome {
    pub link_id: String,
    /// The linked account, on success.
    pub account: Option<Account>,
    /// What went wrong, on failure.
    pub error: Option<UiError>,
}

/// A message for the user that is not tied to a link the UI is waiting for.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
pub struct Notice {
    pub message: String,
}

pub fn accounts_changed(app: &AppHandle) {
    emit(app, ACCOUNTS_CHANGED, ());
}

pub fn link_finished(app: &AppHandle, link_id: String, result: Result<Account, UiError>) {
    let outcome = match result {
        Ok(account) => LinkOutcome {
            link_id,
            account: Some(account),
            error: None,
        },
        Err(error) => LinkOutcome {
            link_id,
            account: None,
            error: Some(error),
        },
    };
    let linked = outcome.account.is_some();
    emit(app, LINK_FINISHED, outcome);
    if linked {
        accounts_changed(app);
    }
}

pub fn callback_refused(app: &AppHandle, error: UiError) {
    emit(
        app,
        CALLBACK_REFUSED,
        Notice {
            message: error.message,
        },
    );
}

pub fn relink_requested(app: &AppHandle) {
    emit(app, RELINK_REQUESTED, ());
}

pub fn clipboard_expired(app: &AppHandle, cleared: bool) {
    emit(app, CLIPBOARD_EXPIRED, ClipboardExpired { cleared });
}

fn emit<T: Serialize + Clone>(app: &AppHandle, event: &str, payload: T) {
    // Only the main window shows Keyfob's state; nothing else should receive it.
    if let Err(e) = app.emit_to("main", event, payload) {
        eprintln!("keyfob: cannot send the {event} event to the window: {e}");
    }
}
