//! The settings panel: the profile's saved settings, plus start at login, which is the XDG
//! autostart entry itself (tauri-plugin-autostart) rather than a copy of it.

use keyfob_core::Settings;
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, State};
use tauri_plugin_autostart::ManagerExt;

use crate::error::{UiError, UiErrorKind};
use crate::state::AppState;

/// What the settings panel shows and saves.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsForm {
    /// Refresh access tokens before they expire (read by the background keeper).
    pub refresh_ahead: bool,
    /// Closing the window keeps Keyfob running in the tray.
    pub close_to_tray: bool,
    /// Start Keyfob (in the tray) when the user logs in.
    pub start_at_login: bool,
    /// Seconds a copied token stays on the clipboard; 0 keeps it until replaced.
    #[cfg_attr(test, ts(type = "number"))]
    pub clipboard_clear_seconds: u64,
}

/// The longest clipboard delay the panel accepts: a day (a token left longer is forgotten).
const MAX_CLEAR_SECONDS: u64 = 24 * 60 * 60;

#[tauri::command]
pub async fn get_settings(
    app: AppHandle,
    state: State<'_, AppState>,
) -> Result<SettingsForm, UiError> {
    let saved = Settings::load(state.keyfob.paths())?;
    Ok(shown(&saved, start_at_login(&app)?))
}

#[tauri::command]
pub async fn save_settings(
    app: AppHandle,
    state: State<'_, AppState>,
    form: SettingsForm,
) -> Result<SettingsForm, UiError> {
    if form.clipboard_clear_seconds > MAX_CLEAR_SECONDS {
        return Err(UiError::new(
            UiErrorKind::InvalidSetting,
            format!(
                "the clipboard delay can be at most {MAX_CLEAR_SECONDS} seconds (a day); 0 keeps tokens until replaced"
            ),
        ));
    }
    let saved = Settings::load(state.keyfob.paths())?;
    state.save_settings(apply(saved, &form))?;
    // Refreshing ahead may have been switched on or off.
    crate::keeper::replan(&app);
    let autostart = app.autolaunch();
    if form.start_at_login != start_at_login(&app)? {
        let changed = if form.start_at_login {
            autostart.enable()
        } else {
            autostart.disable()
        };
        changed.map_err(|e| {
            UiError::new(
                UiErrorKind::Autostart,
                format!("cannot change the start at login entry: {e}"),
            )
        })?;
    }
    let saved = Settings::load(state.keyfob.paths())?;
    Ok(shown(&saved, start_at_login(&app)?))
}

/// The panel's view of the saved settings.
fn shown(saved: &Settings, start_at_login: bool) -> SettingsForm {
    SettingsForm {
        refresh_ahead: saved.refresh_ahead,
        close_to_tray: saved.close_to_tray,
        start_at_login,
        clipboard_clear_seconds: saved.clipboard_clear_seconds,
    }
}

/// The saved settings with the panel's changes; what the panel does not show is kept.
fn apply(saved: Settings, form: &SettingsForm) -> Settings {
    Settings {
        refresh_ahead: form.refresh_ahead,
        close_to_tray: form.close_to_tray,
        clipboard_clear_seconds: form.clipboard_clear_seconds,
        ..saved
    }
}

fn start_at_login(app: &AppHandle) -> Result<bool, UiError> {
    app.autolaunch().is_enabled().map_err(|e| {
        UiError::new(
            UiErrorKind::Autostart,
            format!("cannot read the start at login entry: {e}"),
        )
    })
}

/// The re-link the window was asked to open (by a notification or the tray), once.
#[tauri::command]
pub async fn take_relink_request(state: State<'_, AppState>) -> Result<Option<String>, UiError> {
    Ok(state.take_relink_request())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_panel_changes_what_it_shows_and_keeps_the_rest() {
        let saved = Settings {
            close_notice_shown: true,
            ..Settings::default()
        };
        let changed = SettingsForm {
            refresh_ahead: false,
            close_to_tray: false,
            start_at_login: true,
            clipboard_clear_seconds: 0,
        };
        let next = apply(saved.clone(), &changed);
        assert!(next.close_notice_shown, "the one-time notice stays said");
        assert_eq!(shown(&next, true), changed);
        assert_eq!(shown(&saved, false).clipboard_clear_seconds, 30);
    }
}
