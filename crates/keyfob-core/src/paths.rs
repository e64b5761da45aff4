//! Where Keyfob keeps its files, and which keyring namespace it uses.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// The app identifier: directory names and the keyring service.
pub const APP_ID: &str = "dev.keyfob.app";

/// The directories and keyring namespace of one Keyfob profile.
#[derive(Debug, Clone)]
pub struct Paths {
    /// Holds `providers.toml`.
    pub config_dir: PathBuf,
    /// Holds `accounts.json`, `pending.json` and `locks/`.
    pub data_dir: PathBuf,
    /// The keyring service name under which this profile's secrets live.
    pub keyring_service: String,
}

impl Paths {
    /// The platform directories, or `$KEYFOB_HOME/{config,data}` when that is set.
    pub fn from_env() -> Result<Self> {
        match std::env::var_os("KEYFOB_HOME") {
            Some(home) if !home.is_empty() => Ok(Self::under(Path::new(&home))),
            _ => {
                let config = dirs::config_dir().ok_or(Error::NoHomeDirectory)?;
                let data = dirs::data_dir().ok_or(Error::NoHomeDirectory)?;
                Ok(Paths {
                    config_dir: config.join(APP_ID),
                    data_dir: data.join(APP_ID),
                    keyring_service: APP_ID.to_string(),
                })
            }
        }
    }

    /// A self-contained profile below `home`. Its keyring namespace is derived from the
    /// path so that two profiles (for example two test runs) never see each other's secrets.
    pub fn under(home: &Path) -> Self {
        // One spelling per folder ("/x", "/x/", "/y/../x"), or the keyring namespace would
        // differ between spellings of the same profile.
        let absolute = std::fs::canonicalize(home)
            .or_else(|_| std::path::absolute(home))
            .unwrap_or_else(|_| home.to_path_buf())
            .components()
            .collect::<PathBuf>();
        let digest = Sha256::digest(absolute.to_string_lossy().as_bytes());
        let tag: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
        Paths {
            config_dir: absolute.join("config"),
            data_dir: absolute.join("data"),
            keyring_service: format!("{APP_ID}.profile-{tag}"),
        }
    }

    /// The provider definitions file.
    pub fn providers_file(&self) -> PathBuf {
        self.config_dir.join("providers.toml")
    }

    /// The account metadata file.
    pub fn accounts_file(&self) -> PathBuf {
        self.data_dir.join("accounts.json")
    }

    /// The pending links index.
    pub fn pending_file(&self) -> PathBuf {
        self.data_dir.join("pending.json")
    }

    /// The folder of lock files.
    pub fn locks_dir(&self) -> PathBuf {
        self.data_dir.join("locks")
    }

    /// The lock file called `name` (a file's, or an account's).
    pub fn lock_file(&self, name: &str) -> PathBuf {
        self.locks_dir().join(format!("{name}.lock"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_under_different_homes_use_different_keyring_services() {
        let a = Paths::under(Path::new("/tmp/a"));
        let b = Paths::under(Path::new("/tmp/b"));
        assert_ne!(a.keyring_service, b.keyring_service);
        assert!(a.keyring_service.starts_with("dev.keyfob.app.profile-"));
        assert_eq!(a.accounts_file(), Path::new("/tmp/a/data/accounts.json"));
        let dir = tempfile::tempdir().unwrap();
        let spelled = format!("{}/", dir.path().display());
        assert_eq!(
            Paths::under(dir.path()).keyring_service,
            Paths::under(Path::new(&spelled)).keyring_service
        );
    }
}
