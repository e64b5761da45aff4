//! Copying a token: written to the clipboard from Rust (it never reaches JavaScript) and
//! cleared after a while, but only if the clipboard still holds that token: whatever the
//! user copied since is theirs. It is marked as a secret for clipboard managers (KDE's
//! password-manager hint on Linux, X11 and Wayland alike; Windows' exclusion from clipboard
//! monitoring; the concealed type on macOS), so it stays out of their history and sync.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use keyfob_core::Secret;
use tauri::AppHandle;

use crate::error::{UiError, UiErrorKind};
use crate::events;
use keyfob_core::fingerprint;

/// How long copied tokens stay on the clipboard (`None`: until replaced).
pub struct ClipboardPolicy {
    /// Changed by the settings panel; a copy keeps the delay it started with.
    clear_after: Mutex<Option<Duration>>,
    board: Arc<Mutex<Board>>,
}

/// The system clipboard and the copies made to it, under one lock so that the order of
/// generations is the order of writes, and no copy slips in between a timer's check and its
/// clear.
#[derive(Default)]
struct Board {
    /// Bumped on each copy, so only the latest copy's timer may clear.
    generation: u64,
    /// Opened on the first copy and kept: on X11 and Wayland the copied text is served by
    /// this process for as long as the clipboard stays open.
    clipboard: Option<arboard::Clipboard>,
}

impl std::fmt::Debug for ClipboardPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClipboardPolicy")
            .field("clear_after", &self.clear_after())
            .finish_non_exhaustive()
    }
}

impl ClipboardPolicy {
    pub fn new(clear_after: Option<Duration>) -> Self {
        ClipboardPolicy {
            clear_after: Mutex::new(clear_after),
            board: Arc::new(Mutex::new(Board::default())),
        }
    }

    /// From `KEYFOB_CLIPBOARD_CLEAR_SECONDS` when it is set (0 = never clear), else the
    /// saved setting (`saved_seconds`, 0 = never clear).
    pub fn from_env_or(saved_seconds: u64) -> Self {
        let setting = std::env::var("KEYFOB_CLIPBOARD_CLEAR_SECONDS").ok();
        let saved = seconds(saved_seconds);
        let clear_after = clear_after_setting(setting.as_deref(), saved).unwrap_or_else(|bad| {
            eprintln!(
                "keyfob: KEYFOB_CLIPBOARD_CLEAR_SECONDS={bad:?} is not a number of seconds; \
                 using the saved setting"
            );
            saved
        });
        Self::new(clear_after)
    }

    pub fn clear_after(&self) -> Option<Duration> {
        *self.clear_after.lock().expect("clipboard delay poisoned")
    }

    /// Applies a changed setting (seconds, 0 = never clear) to the copies made from now on.
    pub fn set_clear_seconds(&self, saved_seconds: u64) {
        *self.clear_after.lock().expect("clipboard delay poisoned") = seconds(saved_seconds);
    }

    /// Puts `token` on the clipboard and schedules its removal.
    pub fn copy(&self, app: &AppHandle, token: &Secret) -> Result<(), UiError> {
        let cannot = cannot_write;
        let generation = {
            let mut board = self.board.lock().expect("clipboard poisoned");
            let clipboard = match &mut board.clipboard {
                Some(open) => open,
                empty => empty.insert(arboard::Clipboard::new().map_err(cannot)?),
            };
            secret_text(clipboard.set(), token.expose()).map_err(cannot)?;
            board.generation += 1;
            board.generation
        };
        let Some(after) = self.clear_after() else {
            return Ok(());
        };
        // Keep only a fingerprint: the token itself does not linger in memory for the wait.
        let print = fingerprint(token.expose());
        let board = self.board.clone();
        let app = app.clone();
        tauri::async_runtime::spawn(async move {
            tokio::time::sleep(after).await;
            let cleared = {
                let mut board = board.lock().expect("clipboard poisoned");
                if board.generation != generation {
                    return; // a later copy owns the clipboard timer now
                }
                match board.clipboard.as_mut() {
                    Some(clipboard) => {
                        let still_ours = clipboard
                            .get_text()
                            .is_ok_and(|text| fingerprint(&text) == print);
                        still_ours && clipboard.clear().is_ok()
                    }
                    None => false,
                }
            };
            events::clipboard_expired(&app, cleared);
        });
        Ok(())
    }
}

impl ClipboardPolicy {
    /// Puts text that is no secret (a user code) on the clipboard, unmarked and left there.
    pub fn copy_text(&self, text: &str) -> Result<(), UiError> {
        let mut board = self.board.lock().expect("clipboard poisoned");
        let clipboard = match &mut board.clipboard {
            Some(open) => open,
            empty => empty.insert(arboard::Clipboard::new().map_err(cannot_write)?),
        };
        clipboard.set_text(text).map_err(cannot_write)
    }
}

fn cannot_write(e: arboard::Error) -> UiError {
    UiError::new(
        UiErrorKind::Clipboard,
        format!("cannot write to the clipboard: {e}"),
    )
}

/// Writes `text` marked as a secret, with each platform's hint.
fn secret_text(set: arboard::Set<'_>, text: &str) -> Result<(), arboard::Error> {
    #[cfg(any(
        target_os = "linux",
        target_os = "freebsd",
        target_os = "dragonfly",
        target_os = "netbsd",
        target_os = "openbsd"
    ))]
    let set = {
        use arboard::SetExtLinux;
        set.exclude_from_history()
    };
    // ExcludeClipboardContentFromMonitorProcessing: kept out of Windows' clipboard history and
    // cloud clipboard, and out of the clipboard managers that honour it; arboard advises it
    // instead of, not together with, its history and cloud exclusions.
    #[cfg(windows)]
    let set = {
        use arboard::SetExtWindows;
        set.exclude_from_monitoring()
    };
    #[cfg(target_os = "macos")]
    let set = {
        use arboard::SetExtApple;
        set.exclude_from_history()
    };
    set.text(text)
}

/// A delay in seconds as the settings write it: 0 never clears.
fn seconds(value: u64) -> Option<Duration> {
    (value > 0).then(|| Duration::from_secs(value))
}

/// The clear delay a `KEYFOB_CLIPBOARD_CLEAR_SECONDS` value asks for: unset means the saved
/// setting, `0` never clears. A value that is not a number of seconds is returned as the error.
fn clear_after_setting(
    value: Option<&str>,
    saved: Option<Duration>,
) -> Result<Option<Duration>, String> {
    let Some(value) = value else {
        return Ok(saved);
    };
    match value.trim().parse::<u64>() {
        Ok(secs) => Ok(seconds(secs)),
        Err(_) => Err(value.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clear_delay_comes_from_the_environment_else_the_saved_setting() {
        let saved = Some(Duration::from_secs(30));
        assert_eq!(clear_after_setting(None, saved), Ok(saved));
        assert_eq!(clear_after_setting(None, None), Ok(None));
        assert_eq!(clear_after_setting(Some("0"), saved), Ok(None));
        assert_eq!(clear_after_setting(Some(" 0 "), saved), Ok(None));
        assert_eq!(
            clear_after_setting(Some("6"), None),
            Ok(Some(Duration::from_secs(6)))
        );
        assert_eq!(clear_after_setting(Some(""), saved), Err(String::new()));
        assert_eq!(clear_after_setting(Some("-1"), saved), Err("-1".into()));
        assert_eq!(clear_after_setting(Some("30s"), saved), Err("30s".into()));
        assert_eq!(seconds(0), None);
        assert_eq!(seconds(45), Some(Duration::from_secs(45)));
    }
}
