//! The main window's life: it can be closed while Keyfob keeps running in the tray. A closed
//! window is destroyed with its webview (no WebKit web process lingers) and built again from
//! the configuration when the user opens Keyfob.

use tauri::{AppHandle, Manager, WebviewWindowBuilder};
use tauri_plugin_notification::NotificationExt;

use crate::events;
use crate::notify;
use crate::state::AppState;
use crate::tray_memory;

/// The label of Keyfob's one window (tauri.conf.json).
pub const MAIN: &str = "main";

/// Shows the window, building it again when it was closed.
pub fn open(app: &AppHandle) {
    if let Some(window) = app.get_webview_window(MAIN) {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
        return;
    }
    let built = app
        .config()
        .app
        .windows
        .iter()
        .find(|w| w.label == MAIN)
        .ok_or_else(|| "the configuration has no main window".to_string())
        .and_then(|config| {
            WebviewWindowBuilder::from_config(app, config)
                .and_then(|builder| builder.build())
                .map_err(|e| e.to_string())
        });
    if let Err(e) = built {
        eprintln!("keyfob: cannot open the window: {e}");
    }
}

/// Opens the window on the re-link of `account_id`. The request waits in the app state until
/// the page asks for it, so a window that is still loading gets it too.
pub fn open_relink(app: &AppHandle, account_id: String) {
    app.state::<AppState>().request_relink(account_id);
    open(app);
    events::relink_requested(app);
}

/// Whether Keyfob stays in the tray when its last window closes: only when the setting says
/// so and the exit was not asked for (Quit, or a signal, carry an exit code).
pub fn stays_in_tray(close_to_tray: bool, exit_code: Option<i32>) -> bool {
    close_to_tray && exit_code.is_none()
}

/// The main window was closed by the user. Staying in the tray, Keyfob gives back what the
/// window held; the first time, it says that it stays.
pub fn closed(app: &AppHandle) {
    let state = app.state::<AppState>();
    let mut settings = state.settings();
    if !settings.close_to_tray {
        return;
    }
    tray_memory::release_after_close(app, MAIN);
    if settings.close_notice_shown {
        return;
    }
    notify::still_running(app);
    settings.close_notice_shown = true;
    if let Err(e) = state.save_settings(settings) {
        eprintln!("keyfob: cannot save the settings: {e}");
    }
}

/// Opens the re-link of the account a clicked notification names (the notification plugin
/// reports a click as the action `tap`).
pub fn open_relink_on_click(app: &AppHandle) {
    let handle = app.clone();
    let listening = app.notification().on_action(move |performed| {
        let account = performed
            .notification()
            .and_then(|n| n.extra().get(notify::ACCOUNT_KEY))
            .and_then(|v| v.as_str());
        if let Some(account) = account {
            open_relink(&handle, account.to_string());
        }
    });
    if let Err(e) = listening {
        eprintln!("keyfob: notifications cannot be clicked: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_plain_close_with_the_setting_on_stays_in_the_tray() {
        assert!(stays_in_tray(true, None));
        assert!(!stays_in_tray(false, None), "the setting is off");
        assert!(!stays_in_tray(true, Some(0)), "Quit");
    }
}
