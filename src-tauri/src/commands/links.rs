//! Starting and cancelling links. The authorization URL carries the state: it goes from the
//! core straight to the system browser and is never returned to the webview.

use keyfob_core::{LinkOptions, LinkStart, RedirectMode};
use serde::Serialize;
use tauri::{AppHandle, State};
use tauri_plugin_opener::OpenerExt;

use crate::deep_link::bring_to_front;
use crate::error::{UiError, UiErrorKind};
use crate::events;
use crate::state::AppState;

/// A started link, as the UI sees it.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Serialize)]
pub struct LinkStarted {
    pub link_id: String,
    pub provider: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(test, ts(type = "string"))]
    pub expires_at: time::OffsetDateTime,
}

#[tauri::command]
pub async fn start_link(
    app: AppHandle,
    state: State<'_, AppState>,
    provider_id: String,
    scopes: Option<Vec<String>>,
) -> Result<LinkStarted, UiError> {
    let keyfob = state.keyfob.clone();
    let provider = keyfob.provider(&provider_id)?;
    let start = match provider.redirect {
        RedirectMode::Scheme => {
            let options = LinkOptions {
                scopes,
                loopback_redirect: None,
            };
            let start = keyfob.begin_link(&provider_id, options).await?;
            open_in_browser(&app, &state, &start).await?;
            start
        }
        RedirectMode::Loopback => {
            let (start, listener) = keyfob.begin_loopback_link(&provider_id, scopes).await?;
            open_in_browser(&app, &state, &start).await?;
            // The listener lives only while this link waits (RFC 8252 section 8.3).
            let (task_app, task_start) = (app.clone(), start.clone());
            let task = tauri::async_runtime::spawn(async move {
                let result = listener.complete(&keyfob, &task_start).await;
                bring_to_front(&task_app);
                let state = tauri::Manager::state::<AppState>(&task_app);
                state.take_loopback(&task_start.link_id);
                events::link_finished(&task_app, task_start.link_id, result.map_err(Into::into));
            });
            state.track_loopback(start.link_id.clone(), task);
            start
        }
    };
    Ok(LinkStarted {
        link_id: start.link_id,
        provider: start.provider,
        expires_at: start.expires_at,
    })
}

/// Opens the authorization URL in the system browser; on failure the link is cancelled so
/// its state cannot be used later.
async fn open_in_browser(
    app: &AppHandle,
    state: &AppState,
    start: &LinkStart,
) -> Result<(), UiError> {
    // The opener's error quotes the launcher's command line, which holds the authorization
    // URL with its state: it goes neither to the window nor to the log.
    if app
        .opener()
        .open_url(start.authorization_url.as_str(), None::<&str>)
        .is_err()
    {
        let _ = state.keyfob.cancel_link(&start.link_id).await;
        return Err(UiError::new(
            UiErrorKind::Browser,
            "Keyfob could not start your web browser; check that a default browser is set in \
             your system settings, then try again",
        ));
    }
    Ok(())
}

#[tauri::command]
pub async fn cancel_link(state: State<'_, AppState>, link_id: String) -> Result<(), UiError> {
    if let Some(task) = state.take_loopback(&link_id) {
        task.abort(); // closes the loopback listener
    }
    Ok(state.keyfob.cancel_link(&link_id).await?)
}
