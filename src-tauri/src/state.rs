//! What the shell keeps between commands: the core facade and the app's own small state.

use keyfob_core::{Keyfob, Settings};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
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
    /// Links with a code in flight, by link id: aborting the task drops the polling future.
    code_links: Mutex<HashMap<String, CodeLink>>,
    /// Numbers code links (their ids are not secret; they only tell outcomes apart).
    code_link_count: AtomicU64,
    /// The account whose re-link the window should open when it asks (a clicked
    /// notification or tray entry).
    relink_request: Mutex<Option<String>>,
}

/// A link with a code that is waiting for the user: what the window may ask about it.
pub struct CodeLink {
    pub provider: String,
    /// The code the user enters (not a secret: it only works with the device code, which
    /// stays in the core).
    pub user_code: String,
    /// Where the user enters it.
    pub verification_uri: url::Url,
    pub task: tauri::async_runtime::JoinHandle<()>,
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
            code_links: Mutex::new(HashMap::new()),
            code_link_count: AtomicU64::new(0),
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

    /// A new code link's id.
    pub fn next_code_link_id(&self) -> String {
        let n = self.code_link_count.fetch_add(1, Ordering::Relaxed) + 1;
        format!("code-{n}")
    }

    /// Records a code link; one of the same provider still waiting is ended (one link at a
    /// time per provider) and returned.
    pub fn track_code_link(&self, link_id: String, link: CodeLink) -> Option<CodeLink> {
        let mut links = self.code_links.lock().expect("code links poisoned");
        let old = links
            .iter()
            .find(|(_, l)| l.provider == link.provider)
            .map(|(id, _)| id.clone())
            .and_then(|id| links.remove(&id));
        if let Some(old) = &old {
            old.task.abort();
        }
        links.insert(link_id, link);
        old
    }

    /// Forgets a code link; returns it so a cancel can abort it.
    pub fn take_code_link(&self, link_id: &str) -> Option<CodeLink> {
        let mut links = self.code_links.lock().expect("code links poisoned");
        links.remove(link_id)
    }

    /// Reads a waiting code link.
    pub fn with_code_link<T>(&self, link_id: &str, read: impl FnOnce(&CodeLink) -> T) -> Option<T> {
        let links = self.code_links.lock().expect("code links poisoned");
        links.get(link_id).map(read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One code link at a time per provider: a second one ends the first (its polling
    /// future is dropped); another provider's link is left alone.
    #[test]
    fn a_new_code_link_ends_the_providers_previous_one() {
        let dir = tempfile::tempdir().expect("temp dir");
        let state = AppState::new(
            Keyfob::open(keyfob_core::Paths::under(dir.path())),
            ClipboardPolicy::new(None),
        );
        let link = |provider: &str| CodeLink {
            provider: provider.into(),
            user_code: "ABCD-EFGH".into(),
            verification_uri: "https://example.com/device".parse().unwrap(),
            task: tauri::async_runtime::spawn(std::future::pending::<()>()),
        };
        let (first, second, other) = (
            state.next_code_link_id(),
            state.next_code_link_id(),
            state.next_code_link_id(),
        );
        assert_ne!(first, second);
        assert!(state
            .track_code_link(first.clone(), link("local"))
            .is_none());
        assert!(state
            .track_code_link(other.clone(), link("github"))
            .is_none());
        let ended = state
            .track_code_link(second.clone(), link("local"))
            .expect("the first link ended");
        let finished = tauri::async_runtime::block_on(ended.task);
        assert!(finished.is_err(), "the first link's task was aborted");
        assert!(state.with_code_link(&first, |_| ()).is_none());
        assert!(state.with_code_link(&second, |_| ()).is_some());
        assert!(state.take_code_link(&other).is_some());
    }

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
