//! The user's preferences for one profile (`settings.json` beside `providers.toml`): what the
//! desktop app and the keeper do on their own. Read by both; written by the app's settings
//! panel. A missing file means the defaults.

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::paths::Paths;
use crate::store::file::{Content, Format, VersionedFile};

/// The user's preferences.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Refresh access tokens before they expire, in the background.
    pub refresh_ahead: bool,
    /// Closing the window keeps Keyfob running in the tray.
    pub close_to_tray: bool,
    /// Seconds a copied token stays on the clipboard; 0 keeps it until replaced.
    pub clipboard_clear_seconds: u64,
    /// Whether the user was told once that closing the window keeps Keyfob in the tray.
    pub close_notice_shown: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            refresh_ahead: true,
            close_to_tray: true,
            clipboard_clear_seconds: 30,
            close_notice_shown: false,
        }
    }
}

impl Content for Settings {}

impl Settings {
    /// The profile's settings, or the defaults when none were saved.
    pub fn load(paths: &Paths) -> Result<Self> {
        file(paths).load()
    }

    /// Saves the profile's settings (atomically, readable only by the user).
    pub fn save(&self, paths: &Paths) -> Result<()> {
        file(paths).modify(|stored| {
            *stored = self.clone();
            Ok(())
        })
    }
}

fn file(paths: &Paths) -> VersionedFile<Settings> {
    VersionedFile::new(
        paths.config_dir.join("settings.json"),
        paths.lock_file("settings"),
        Format::Json { schema: 1 },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_until_saved_then_what_was_saved() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::under(dir.path());
        let defaults = Settings::load(&paths).unwrap();
        assert_eq!(defaults, Settings::default());
        assert!(defaults.close_to_tray && defaults.refresh_ahead);
        assert!(
            !paths.config_dir.join("settings.json").exists(),
            "reading creates nothing"
        );

        let changed = Settings {
            refresh_ahead: false,
            clipboard_clear_seconds: 0,
            ..defaults
        };
        changed.save(&paths).unwrap();
        assert_eq!(Settings::load(&paths).unwrap(), changed);
    }

    #[test]
    fn a_file_missing_newer_fields_keeps_their_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::under(dir.path());
        std::fs::create_dir_all(&paths.config_dir).unwrap();
        std::fs::write(
            paths.config_dir.join("settings.json"),
            r#"{"schema":1,"close_to_tray":false}"#,
        )
        .unwrap();
        let loaded = Settings::load(&paths).unwrap();
        assert!(!loaded.close_to_tray);
        assert_eq!(loaded.clipboard_clear_seconds, 30);
    }
}
