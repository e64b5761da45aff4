//! What Keyfob gives back once its window is closed and it lives on in the tray.
//!
//! Destroying the window ends WebKit's web process, but not its network process: WebKit keeps
//! that for as long as the web context lives, and on Linux Tauri keeps the context for the
//! app's whole life, so that a window opened again reuses one network process instead of
//! leaving one behind per window (tauri-apps/tauri#14626, tauri-apps/wry#590). It is a third
//! of what Keyfob holds in the tray. Keyfob's page keeps nothing in web storage and loads
//! everything through Tauri's own schemes, so the idle network process holds nothing of
//! value: once the window has stayed closed for [`SETTLE`], Keyfob asks it to end (SIGTERM).
//! When WebKit sees it gone it drops its handle, and it starts a new one for the next window;
//! the e2e test opens the window again and reads it back over the accessibility bus.
//!
//! Under WebDriver WebKit ends the automation session along with the network process
//! (`WebProcessPool::networkProcessDidTerminate`), so Keyfob leaves it alone then.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tauri::{AppHandle, Manager};

/// How long the window must have stayed closed: WebKit has finished closing the page by then.
const SETTLE: Duration = Duration::from_secs(3);

/// Counts closes, so that only the latest close's timer acts: a window closed, opened and
/// closed again within [`SETTLE`] waits the full time after its last close.
static CLOSES: AtomicU64 = AtomicU64::new(0);

/// After the window labelled `window` closed: once it has stayed closed for [`SETTLE`], ends
/// WebKit's idle network process.
pub fn release_after_close(app: &AppHandle, window: &'static str) {
    if !may_end_network_process(std::env::var("TAURI_WEBVIEW_AUTOMATION").ok().as_deref()) {
        return;
    }
    let this_close = CLOSES.fetch_add(1, Ordering::SeqCst) + 1;
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(SETTLE).await;
        let handle = app.clone();
        // On the main thread, where windows are built: the window cannot open between the
        // check and the signal.
        let _ = app.run_on_main_thread(move || {
            let latest = CLOSES.load(Ordering::SeqCst) == this_close;
            if latest && handle.get_webview_window(window).is_none() {
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
    let me = std::process::id();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap_or_default();
        if parent_of(&stat) == Some(me) && is_network_process(&exe.to_string_lossy()) {
            // SAFETY: kill(2) with a child's pid and a signal number touches no memory.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn end_network_process() {}

/// The parent pid in a `/proc/PID/stat` line (the field after the state; the command name
/// before them is in parentheses and may hold spaces).
#[cfg(target_os = "linux")]
fn parent_of(stat: &str) -> Option<u32> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(1)?.parse().ok()
}

/// Whether `exe` (a `/proc/PID/exe` target) is WebKit's network process, installed as
/// `…/webkit2gtk-4.1/WebKitNetworkProcess`; after a package upgrade the kernel adds
/// " (deleted)" to the old file's name.
#[cfg(target_os = "linux")]
fn is_network_process(exe: &str) -> bool {
    let exe = exe.strip_suffix(" (deleted)").unwrap_or(exe);
    exe.rsplit('/').next() == Some("WebKitNetworkProcess")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn only_webkits_network_process_is_ended() {
        for network in [
            "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/WebKitNetworkProcess",
            "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/WebKitNetworkProcess (deleted)",
        ] {
            assert!(is_network_process(network), "{network}");
        }
        for other in [
            "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/WebKitWebProcess",
            "/usr/bin/xdg-open",
            "/usr/bin/WebKitNetworkProcess-helper",
            "",
        ] {
            assert!(!is_network_process(other), "{other}");
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_parent_comes_after_the_name_and_state() {
        assert_eq!(
            parent_of("4242 (WebKitNetworkPr) S 4100 4242 ..."),
            Some(4100)
        );
        assert_eq!(parent_of("7 (a b) c) R 1 7 7"), Some(1));
        assert_eq!(parent_of("garbage"), None);
    }

    #[test]
    fn not_under_webdriver() {
        assert!(may_end_network_process(None));
        assert!(may_end_network_process(Some("false")));
        assert!(!may_end_network_process(Some("true")));
    }
}
