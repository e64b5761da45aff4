//! What the window shows about the app itself: settings it does not own, and whether the
//! keyring works (without it nothing can be linked, so the window says so up front).

use serde::Serialize;
use tauri::State;

use crate::error::UiError;
use crate::state::AppState;

#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Serialize)]
pub struct AppStatus {
    /// Seconds a copied token stays on the clipboard; `None`: until replaced.
    pub clipboard_clear_seconds: Option<u64>,
    #[cfg_attr(test, ts(type = "string"))]
    pub version: &'static str,
    /// Why the keyring cannot be used, if it cannot.
    pub keyring_problem: Option<UiError>,
}

#[tauri::command]
pub async fn app_status(state: State<'_, AppState>) -> Result<AppStatus, UiError> {
    Ok(AppStatus {
        clipboard_clear_seconds: state.clipboard.clear_after().map(|d| d.as_secs()),
        version: env!("CARGO_PKG_VERSION"),
        keyring_problem: state.keyfob.check_keyring().await.err().map(UiError::from),
    })
}
