//! Linking with a code (the device authorization grant, RFC 8628): the window shows a user
//! code and the address to enter it at, on any device; the core polls until the user approved,
//! denied or the code expired. The device code never leaves the core; the user code and the
//! address are not secrets (the code works only with the device code) and are shown.
//! The link ends through `link-finished` like a browser link; `cancel_link` drops it.

use std::sync::{Arc, Mutex};

use keyfob_core::DevicePrompt;
use serde::Serialize;
use tauri::{AppHandle, Manager, State};
use tauri_plugin_opener::OpenerExt;
use tokio::sync::oneshot;

use crate::deep_link::bring_to_front;
use crate::error::UiError;
use crate::events;
use crate::state::{AppState, CodeLink};

/// A started link with a code: what the window shows.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Serialize)]
pub struct CodeLinkStarted {
    pub link_id: String,
    pub provider: String,
    /// The code to enter at `verification_uri`.
    pub user_code: String,
    /// Where to enter it (opened in the system browser by `open_code_page`).
    pub verification_uri: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(test, ts(type = "string"))]
    pub expires_at: time::OffsetDateTime,
}

/// What the command waits for: the prompt, or why there is none.
type Shown = Result<DevicePrompt, UiError>;

/// Asks the provider for a user code and returns it once it is there; polling goes on in a
/// tracked task that reports its end through `link-finished`.
#[tauri::command]
pub async fn start_code_link(
    app: AppHandle,
    state: State<'_, AppState>,
    provider_id: String,
    scopes: Option<Vec<String>>,
) -> Result<CodeLinkStarted, UiError> {
    let link_id = state.next_code_link_id();
    let (sender, shown) = oneshot::channel::<Shown>();
    // Taken by whoever answers first: the prompt, or the error that came before it.
    let sender = Arc::new(Mutex::new(Some(sender)));
    let keyfob = state.keyfob.clone();
    let (task_app, task_id, task_provider) = (app.clone(), link_id.clone(), provider_id.clone());
    let task = tauri::async_runtime::spawn(async move {
        let prompt_sender = sender.clone();
        let show = move |prompt: &DevicePrompt| {
            if let Some(s) = prompt_sender.lock().expect("sender poisoned").take() {
                let _ = s.send(Ok(prompt.clone()));
            }
        };
        let result = keyfob.link_with_code(&task_provider, scopes, show).await;
        let unshown = sender.lock().expect("sender poisoned").take();
        if let Some(s) = unshown {
            // Ended before there was a code to show (a link cannot succeed without one):
            // start_code_link answers with the error.
            let error = result
                .err()
                .map_or_else(|| code_link_gone(&task_id), Into::into);
            let _ = s.send(Err(error));
            return;
        }
        task_app.state::<AppState>().take_code_link(&task_id);
        bring_to_front(&task_app);
        events::link_finished(&task_app, task_id, result.map_err(Into::into));
    });
    let prompt = match shown.await {
        Ok(Ok(prompt)) => prompt,
        Ok(Err(error)) => return Err(error),
        // The task went away without a word (it panicked).
        Err(_) => return Err(code_link_gone(&link_id)),
    };
    state.track_code_link(
        link_id.clone(),
        CodeLink {
            provider: provider_id.clone(),
            user_code: prompt.user_code.clone(),
            verification_uri: prompt.verification_uri.clone(),
            task,
        },
    );
    Ok(CodeLinkStarted {
        link_id,
        provider: provider_id,
        user_code: prompt.user_code,
        verification_uri: prompt.verification_uri.to_string(),
        expires_at: prompt.expires_at,
    })
}

/// Opens the waiting code link's verification address in the system browser. The window
/// names the link, not an address: it cannot send the browser anywhere else.
#[tauri::command]
pub async fn open_code_page(
    app: AppHandle,
    state: State<'_, AppState>,
    link_id: String,
) -> Result<(), UiError> {
    let address = state
        .with_code_link(&link_id, |l| l.verification_uri.clone())
        .ok_or_else(|| code_link_gone(&link_id))?;
    app.opener()
        .open_url(address.as_str(), None::<&str>)
        .map_err(|_| keyfob_core::Error::BrowserNotOpened.into())
}

/// Puts the waiting code link's user code on the clipboard (plain text: it is no secret).
#[tauri::command]
pub async fn copy_code(state: State<'_, AppState>, link_id: String) -> Result<(), UiError> {
    let code = state
        .with_code_link(&link_id, |l| l.user_code.clone())
        .ok_or_else(|| code_link_gone(&link_id))?;
    state.clipboard.copy_text(&code)
}

fn code_link_gone(link_id: &str) -> UiError {
    keyfob_core::Error::LinkNotFound(link_id.to_string()).into()
}
