//! What Keyfob gives back once its window is closed and it lives on in the tray.
//!
//! Destroying the window ends WebKit's web process, but not its network process: WebKit keeps
//! that for as long as the web context lives, and on Linux Tauri keeps the context for the
//! app's whole life, so that a window opened again reuses one network process instead of
//! leaving one behind per window (tauri-apps/tauri#14626, tauri-apps/wry#590). It is a third
//! of what Keyfob holds in the tray. Keyfob's page keeps nothing in web storage and loads
//! everything through Tauri's own schemes, so the idle network process holds nothing of
//! value: once the window has stayed closed for a moment, Keyfob ends it. WebKit notes that
//! its network process is gone and starts a new one for the next window; the e2e test opens
//! the window again and reads it back over the accessibility bus.
//!
//! Under WebDriver WebKit ends the automation session along with the network process
//! (`WebProcessPool::networkProcessDidTerminate`), so Keyfob leaves it alone then.

use std::path::Path;
use std::time::Duration;

use tauri::{AppHandle, Manager};

use crate::window;

/// How long the window must have stayed closed: WebKit has finished closing the page by then.
const SETTLE: Duration = Duration::from_secs(3);

/// After the main window closed: once it has stayed closed for [`SETTLE`], ends WebKit's idle
/// network process.
pub fn release_after_close(app: &AppHandle) {
    if !may_end_network_process(std::env::var("TAURI_WEBVIEW_AUTOMATION").ok().as_deref()) {
        return;
    }
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(SETTLE).await;
        let handle = app.clone();
        // On the main thread, where windows are built: the window cannot open between the
        // check and the end of the process.
        let _ = app.run_on_main_thread(move || {
            if handle.get_webview_window(window::MAIN).is_none() {
                end_network_process();
            }
        });
    });
}

/// Whether the network process may be ended: not while WebDriver drives the app (Tauri's
/// `TAURI_WEBVIEW_AUTOMATION=true`).
fn may_end_network_process(automation: Option<&str>) -> bool {
    automation != Some("true")
}

#[cfg(target_os = "linux")]
fn end_network_process() {
    for pid in children() {
        let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap_or_default();
        if is_network_process(&exe) {
            // SAFETY: kill(2) with a child's pid and a signal number touches no memory.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn end_network_process() {}

/// The pids of this process's children (each thread lists the ones it started).
#[cfg(target_os = "linux")]
fn children() -> Vec<libc::pid_t> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    let mut pids = Vec::new();
    for task in tasks.flatten() {
        let list = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
        pids.extend(
            list.split_whitespace()
                .filter_map(|p| p.parse::<libc::pid_t>().ok()),
        );
    }
    pids
}

/// Whether `exe` is WebKit's network process (WebKitGTK installs it as
/// `…/webkit2gtk-4.1/WebKitNetworkProcess`).
fn is_network_process(exe: &Path) -> bool {
    exe.file_name()
        .is_some_and(|name| name == "WebKitNetworkProcess")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_webkits_network_process_is_ended() {
        assert!(is_network_process(Path::new(
            "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/WebKitNetworkProcess"
        )));
        for other in [
            "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/WebKitWebProcess",
            "/usr/bin/xdg-open",
            "/usr/bin/WebKitNetworkProcess-helper",
            "",
        ] {
            assert!(!is_network_process(Path::new(other)), "{other}");
        }
    }

    #[test]
    fn not_under_webdriver() {
        assert!(may_end_network_process(None));
        assert!(may_end_network_process(Some("false")));
        assert!(!may_end_network_process(Some("true")));
    }
}
