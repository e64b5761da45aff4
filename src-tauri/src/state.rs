//! What the shell keeps between commands: the core facade and the app's own small state.

use keyfob_core::{Keyfob, Settings};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use crate::clipboard::ClipboardPolicy;
use keyfob_core::fingerprint;

/// Managed Tauri state.
pub struct AppState {
    /// The profile (honours `KEYFOB_HOME`).
    pub keyfob: Arc<Keyfob>,
    /// How long a copied token stays on the clipboard.
    pub clipboard: ClipboardPolicy,
    /// Fingerprints of callback URLs already handled. The same URL can arrive twice (the
    /// deep-link plugin and the single-instance argv both forward it); handling it once keeps
    /// a spurious "state already used" failure from reaching the UI.
    seen_callbacks: Mutex<VecDeque<String>>,
    /// Loopback links in flight, by link id: aborting the task closes the listener.
    loopback_tasks: Mutex<HashMap<String, tauri::async_runtime::JoinHandle<()>>>,
    /// The account whose re-link the window should open when it asks (a clicked
    /// notification or tray entry).
    relink_request: Mutex<Option<String>>,
}

/// How many callback fingerprints are remembered; a state works once anyway.
const SEEN_CALLBACKS: usize = 64;

impl AppState {
    pub fn new(keyfob: Keyfob, clipboard: ClipboardPolicy) -> Self {
        AppState {
            keyfob: Arc::new(keyfob),
            clipboard,
            seen_callbacks: Mutex::new(VecDeque::new()),
            loopback_tasks: Mutex::new(HashMap::new()),
            relink_request: Mutex::new(None),
        }
    }

    /// The saved settings; the defaults when the file cannot be read (said on stderr: the
    /// settings panel shows the error when it loads them itself).
    pub fn settings(&self) -> Settings {
        Settings::load(self.keyfob.paths()).unwrap_or_else(|e| {
            eprintln!("keyfob: using the default settings: {e}");
            Settings::default()
        })
    }

    /// Saves the settings and applies the clipboard delay to the next copies.
    pub fn save_settings(&self, settings: Settings) -> keyfob_core::Result<()> {
        settings.save(self.keyfob.paths())?;
        self.clipboard
            .set_clear_seconds(settings.clipboard_clear_seconds);
        Ok(())
    }

    pub fn request_relink(&self, account_id: String) {
        *self.relink_request.lock().expect("relink request poisoned") = Some(account_id);
    }

    /// The waiting re-link request, once.
    pub fn take_relink_request(&self) -> Option<String> {
        self.relink_request
            .lock()
            .expect("relink request poisoned")
            .take()
    }

    /// Records a callback URL; false when it was already handled.
    pub fn first_sight_of_callback(&self, url: &str) -> bool {
        let print = fingerprint(url);
        let mut seen = self.seen_callbacks.lock().expect("callback set poisoned");
        if seen.contains(&print) {
            return false;
        }
        if seen.len() == SEEN_CALLBACKS {
            seen.pop_front();
        }
        seen.push_back(print);
        true
    }

    pub fn track_loopback(&self, link_id: String, task: tauri::async_runtime::JoinHandle<()>) {
        let mut tasks = self.loopback_tasks.lock().expect("task map poisoned");
        tasks.insert(link_id, task);
    }

    /// Forgets a loopback task; returns it so a cancel can abort it.
    pub fn take_loopback(&self, link_id: &str) -> Option<tauri::async_runtime::JoinHandle<()>> {
        let mut tasks = self.loopback_tasks.lock().expect("task map poisoned");
        tasks.remove(link_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_callback_is_handled_once() {
        let dir = std::env::temp_dir().join("keyfob-app-state-test");
        let state = AppState::new(
            Keyfob::open(keyfob_core::Paths::under(&dir)),
            ClipboardPolicy::new(None),
        );
        assert!(state.first_sight_of_callback("dev.keyfob.app:/oauth/x?state=a"));
        assert!(!state.first_sight_of_callback("dev.keyfob.app:/oauth/x?state=a"));
        assert!(state.first_sight_of_callback("dev.keyfob.app:/oauth/x?state=b"));
        for i in 0..SEEN_CALLBACKS {
            state.first_sight_of_callback(&format!("u{i}"));
        }
        assert!(state.first_sight_of_callback("dev.keyfob.app:/oauth/x?state=a"));
    }
}
