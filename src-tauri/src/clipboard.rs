//! Copying a token: written to the clipboard from Rust (it never reaches JavaScript) and
//! cleared after a while, but only if the clipboard still holds that token: whatever the
//! user copied since is theirs.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use keyfob_core::Secret;
use tauri::AppHandle;
use tauri_plugin_clipboard_manager::ClipboardExt;

use crate::error::{UiError, UiErrorKind};
use crate::events;
use crate::fingerprint::fingerprint;

/// The default time a copied token stays on the clipboard.
pub const DEFAULT_CLEAR_AFTER: Duration = Duration::from_secs(30);

/// How long copied tokens stay on the clipboard (`None`: until replaced).
#[derive(Debug)]
pub struct ClipboardPolicy {
    clear_after: Option<Duration>,
    /// Bumped on each copy, so only the latest copy's timer may clear. Held while writing,
    /// so the order of generations is the order of writes.
    generation: Arc<Mutex<u64>>,
}

impl ClipboardPolicy {
    pub fn new(clear_after: Option<Duration>) -> Self {
        ClipboardPolicy {
            clear_after,
            generation: Arc::new(Mutex::new(0)),
        }
    }

    /// From `KEYFOB_CLIPBOARD_CLEAR_SECONDS` (0 = never clear), else 30 s.
    pub fn from_env() -> Self {
        let setting = std::env::var("KEYFOB_CLIPBOARD_CLEAR_SECONDS").ok();
        let clear_after = clear_after_setting(setting.as_deref()).unwrap_or_else(|bad| {
            eprintln!(
                "keyfob: KEYFOB_CLIPBOARD_CLEAR_SECONDS={bad:?} is not a number of seconds; \
                 clearing copied tokens after {} s",
                DEFAULT_CLEAR_AFTER.as_secs()
            );
            Some(DEFAULT_CLEAR_AFTER)
        });
        Self::new(clear_after)
    }

    pub fn clear_after(&self) -> Option<Duration> {
        self.clear_after
    }

    /// Puts `token` on the clipboard and schedules its removal.
    pub fn copy(&self, app: &AppHandle, token: &Secret) -> Result<(), UiError> {
        let generation = {
            let mut current = self
                .generation
                .lock()
                .expect("clipboard generation poisoned");
            app.clipboard().write_text(token.expose()).map_err(|e| {
                UiError::new(
                    UiErrorKind::Clipboard,
                    format!("cannot write to the clipboard: {e}"),
                )
            })?;
            *current += 1;
            *current
        };
        let Some(after) = self.clear_after else {
            return Ok(());
        };
        // Keep only a fingerprint: the token itself does not linger in memory for the wait.
        let print = fingerprint(token.expose());
        let current = self.generation.clone();
        let app = app.clone();
        tauri::async_runtime::spawn(async move {
            tokio::time::sleep(after).await;
            // Under the lock: no copy can slip in between the check and the clear.
            let current = current.lock().expect("clipboard generation poisoned");
            if *current != generation {
                return; // a later copy owns the clipboard timer now
            }
            let still_ours = app
                .clipboard()
                .read_text()
                .is_ok_and(|text| fingerprint(&text) == print);
            let cleared = still_ours && app.clipboard().clear().is_ok();
            events::clipboard_expired(&app, cleared);
        });
        Ok(())
    }
}

/// The clear delay a `KEYFOB_CLIPBOARD_CLEAR_SECONDS` value asks for: unset means the default,
/// `0` never clears. A value that is not a number of seconds is returned as the error.
fn clear_after_setting(value: Option<&str>) -> Result<Option<Duration>, String> {
    let Some(value) = value else {
        return Ok(Some(DEFAULT_CLEAR_AFTER));
    };
    match value.trim().parse::<u64>() {
        Ok(0) => Ok(None),
        Ok(secs) => Ok(Some(Duration::from_secs(secs))),
        Err(_) => Err(value.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clear_delay_comes_from_the_setting() {
        assert_eq!(clear_after_setting(None), Ok(Some(DEFAULT_CLEAR_AFTER)));
        assert_eq!(clear_after_setting(Some("0")), Ok(None));
        assert_eq!(clear_after_setting(Some(" 0 ")), Ok(None));
        assert_eq!(
            clear_after_setting(Some("6")),
            Ok(Some(Duration::from_secs(6)))
        );
        assert_eq!(clear_after_setting(Some("")), Err(String::new()));
        assert_eq!(clear_after_setting(Some("-1")), Err("-1".into()));
        assert_eq!(clear_after_setting(Some("30s")), Err("30s".into()));
    }
}
