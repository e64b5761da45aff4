//! Starting and cancelling links. The authorization URL carries the state: the core keeps it
//! behind the link's one-time start address, which is all the system browser is sent (and
//! all that reaches its argv); neither is returned to the webview.

use keyfob_core::LinkRedirect;
use serde::Serialize;
use tauri::{AppHandle, State};
use tauri_plugin_opener::OpenerExt;

use crate::deep_link::bring_to_front;
use crate::error::UiError;
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

/// Starts a link with the provider's configured redirect and sends the system browser to its
/// sign-in page. A loopback link is completed by a tracked task, a scheme link by the deep
/// link; either way the window hears of the end through `link-finished`.
#[tauri::command]
pub async fn start_link(
    app: AppHandle,
    state: State<'_, AppState>,
    provider_id: String,
    scopes: Option<Vec<String>>,
) -> Result<LinkStarted, UiError> {
    let keyfob = state.keyfob.clone();
    // The core hands the link's start address (`http://127.0.0.1:<port>/start`, no secret
    // in it) to the system browser through this opener (`xdg-open <address>` on Linux). On an
    // error the core cancels the link and reports `BrowserNotOpened`, which reaches the
    // window as the `browser` kind.
    let open = |url: &url::Url| app.opener().open_url(url.as_str(), None::<&str>);
    let link = keyfob
        .start_link(&provider_id, LinkRedirect::Configured, scopes, open)
        .await?;
    if let Some(listener) = link.loopback {
        // The listener lives only while this link waits (RFC 8252 section 8.3).
        let (task_app, link_id) = (app.clone(), link.link_id.clone());
        let task = tauri::async_runtime::spawn(async move {
            let result = listener.complete(&keyfob).await;
            bring_to_front(&task_app);
            let state = tauri::Manager::state::<AppState>(&task_app);
            state.take_loopback(&link_id);
            events::link_finished(&task_app, link_id, result.map_err(Into::into));
        });
        state.track_loopback(link.link_id.clone(), task);
    }
    Ok(LinkStarted {
        link_id: link.link_id,
        provider: link.provider,
        expires_at: link.expires_at,
    })
}

#[tauri::command]
pub async fn cancel_link(state: State<'_, AppState>, link_id: String) -> Result<(), UiError> {
    if let Some(code_link) = state.take_code_link(&link_id) {
        // Drops the polling future; the core stored nothing for it.
        code_link.task.abort();
        return Ok(());
    }
    if let Some(task) = state.take_loopback(&link_id) {
        task.abort(); // closes the loopback listener
    }
    Ok(state.keyfob.cancel_link(&link_id).await?)
}
