//! Notices changes that another process makes to the profile (the `keyfob` command line
//! refreshing, linking or unlinking, or adding a provider), so the open window shows them
//! without waiting to be focused again.
//!
//! It polls the two metadata files rather than using inotify and friends: two `stat` calls
//! every two seconds cost nothing, work the same on every OS, and survive the atomic
//! rename by which the store replaces a file.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use tauri::AppHandle;

use tauri::Manager;

use crate::events;
use crate::keeper;
use crate::notify;
use crate::state::AppState;
use crate::tray;

/// How often the files are looked at.
const POLL_INTERVAL: Duration = Duration::from_secs(2);

/// What identifies one version of a file: its modification time, size and (on Unix) inode, or
/// nothing when it does not exist (yet, or any more). The store replaces files by renaming a
/// new one over them, so the inode changes even where timestamps are coarse.
type Version = Option<(SystemTime, u64, u64)>;

/// The files of a profile that the window shows, and the versions last seen of them.
#[derive(Debug)]
pub struct StoreWatch {
    files: Vec<PathBuf>,
    seen: Vec<Version>,
}

impl StoreWatch {
    /// Starts from the files as they are now.
    pub fn new(files: Vec<PathBuf>) -> Self {
        let seen = files.iter().map(version).collect();
        StoreWatch { files, seen }
    }

    /// Whether any file changed since the last call (or since `new`).
    pub fn changed(&mut self) -> bool {
        let now: Vec<Version> = self.files.iter().map(version).collect();
        let changed = now != self.seen;
        self.seen = now;
        changed
    }
}

/// Watches the account list and the providers file for the lifetime of the app, telling the
/// window to reload when either changes, rebuilding the tray menu and announcing accounts
/// that now need a new link. Changes the window itself made are reported too, which costs
/// one extra reload and nothing else.
pub fn spawn(app: AppHandle, files: Vec<PathBuf>) {
    let mut watch = StoreWatch::new(files);
    let spawned = std::thread::Builder::new()
        .name("keyfob-store-watch".into())
        .spawn(move || loop {
            std::thread::sleep(POLL_INTERVAL);
            if watch.changed() {
                keeper::replan(&app);
                events::accounts_changed(&app);
                tray::refresh(&app);
                match app.state::<AppState>().keyfob.accounts() {
                    Ok(accounts) => notify::accounts_changed(&app, &accounts),
                    Err(e) => eprintln!("keyfob: cannot read the accounts: {e}"),
                }
            }
        });
    if let Err(e) = spawned {
        // The window still reloads when focused; only the live update is lost.
        eprintln!("keyfob: cannot watch the profile for changes: {e}");
    }
}

fn version(path: &PathBuf) -> Version {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len(), inode(&meta)))
}

#[cfg(unix)]
fn inode(meta: &std::fs::Metadata) -> u64 {
    std::os::unix::fs::MetadataExt::ino(meta)
}

#[cfg(not(unix))]
fn inode(_: &std::fs::Metadata) -> u64 {
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_replacing(path: &std::path::Path, text: &str) {
        // The way the store writes: a new file renamed over the old one.
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, path).unwrap();
    }

    #[test]
    fn reports_creation_replacement_and_removal_once_each() {
        let dir = tempfile::tempdir().unwrap();
        let accounts = dir.path().join("accounts.json");
        let providers = dir.path().join("providers.toml");
        let mut watch = StoreWatch::new(vec![accounts.clone(), providers.clone()]);
        assert!(!watch.changed(), "nothing happened yet");

        write_replacing(&accounts, "{}");
        assert!(watch.changed(), "a new account list");
        assert!(!watch.changed(), "a change is reported once");

        write_replacing(&accounts, r#"{"accounts":[]}"#);
        assert!(watch.changed(), "a replaced account list");

        write_replacing(&providers, "[providers]");
        assert!(watch.changed(), "a changed providers file");

        // Same size, same timestamp (a filesystem with coarse times): the new inode tells.
        #[cfg(unix)]
        {
            let before = std::fs::metadata(&accounts).unwrap().modified().unwrap();
            let same_size = "X".repeat(r#"{"accounts":[]}"#.len());
            write_replacing(&accounts, &same_size);
            std::fs::File::options()
                .write(true)
                .open(&accounts)
                .unwrap()
                .set_modified(before)
                .unwrap();
            assert!(watch.changed(), "a same-size rewrite within one tick");
        }

        std::fs::remove_file(&accounts).unwrap();
        assert!(watch.changed(), "a removed account list (purge)");
        assert!(!watch.changed());
    }
}
