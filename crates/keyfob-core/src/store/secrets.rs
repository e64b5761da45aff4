//! Secrets in the OS keyring (Secret Service, Keychain, Credential Manager), never in files.
//!
//! Each secret is its own keyring item so that none comes near Windows' 2,560-byte limit and
//! the hot path (a cached access token) is a single read. Values are stored as bytes.

use crate::error::{Error, Result};
use crate::secret::Secret;

/// The name of one secret inside a profile's keyring namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretKey {
    /// An account's access token.
    AccessToken(String),
    /// An account's refresh token.
    RefreshToken(String),
    /// An account's last ID token.
    IdToken(String),
    /// A provider's client secret.
    ClientSecret(String),
    /// A pending link's state, PKCE verifier and nonce (JSON).
    PendingLink(String),
}

impl SecretKey {
    fn user(&self) -> String {
        match self {
            SecretKey::AccessToken(a) => format!("account/{a}/access_token"),
            SecretKey::RefreshToken(a) => format!("account/{a}/refresh_token"),
            SecretKey::IdToken(a) => format!("account/{a}/id_token"),
            SecretKey::ClientSecret(p) => format!("provider/{p}/client_secret"),
            SecretKey::PendingLink(l) => format!("pending/{l}"),
        }
    }
}

/// What becomes of one stored secret when new tokens arrive: the answer a link or a refresh
/// decides before it touches the keyring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretChange<'a> {
    /// Write this value over whatever is stored.
    Replace(&'a Secret),
    /// Leave whatever is stored (possibly nothing) as it is.
    Keep,
    /// Delete whatever is stored.
    Delete,
}

/// The keyring, seen through one profile's service name.
#[derive(Debug, Clone)]
pub struct SecretStore {
    service: String,
}

impl SecretStore {
    /// A store for the given keyring service name.
    pub fn new(service: impl Into<String>) -> Self {
        SecretStore {
            service: service.into(),
        }
    }

    /// Reads a secret; `None` when it does not exist.
    pub async fn get(&self, key: SecretKey) -> Result<Option<Secret>> {
        let (service, user) = (self.service.clone(), key.user());
        blocking(move || {
            let entry = entry(&service, &user)?;
            match entry.get_secret() {
                Ok(bytes) => String::from_utf8(bytes)
                    .map(|s| Some(Secret::new(s)))
                    .map_err(|_| Error::Keyring(format!("{user} is not valid UTF-8"))),
                Err(keyring::Error::NoEntry) => Ok(None),
                Err(e) => Err(map_error(e)),
            }
        })
        .await
    }

    /// Writes a secret, replacing any earlier value.
    pub async fn put(&self, key: SecretKey, value: &Secret) -> Result<()> {
        let (service, user) = (self.service.clone(), key.user());
        let bytes = value.expose().as_bytes().to_vec();
        blocking(move || {
            entry(&service, &user)?
                .set_secret(&bytes)
                .map_err(map_error)
        })
        .await
    }

    /// Deletes a secret; deleting one that does not exist is not an error.
    pub async fn delete(&self, key: SecretKey) -> Result<()> {
        let (service, user) = (self.service.clone(), key.user());
        blocking(move || match entry(&service, &user)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(map_error(e)),
        })
        .await
    }

    /// Carries out one decided [`SecretChange`] on `key`.
    pub async fn apply(&self, key: SecretKey, change: SecretChange<'_>) -> Result<()> {
        match change {
            SecretChange::Replace(value) => self.put(key, value).await,
            SecretChange::Keep => Ok(()),
            SecretChange::Delete => self.delete(key).await,
        }
    }

    /// Deletes every secret of this profile, named or not: the sweep a purge ends with, which
    /// also finds what damaged metadata no longer names. Returns how many it deleted, or
    /// `None` where the platform's keyring cannot be searched safely (Windows).
    pub async fn delete_all(&self) -> Result<Option<usize>> {
        let service = self.service.clone();
        blocking(move || {
            if let Err(e) = keyring::Entry::store_status() {
                return Err(Error::KeyringUnavailable(describe(e)));
            }
            let Some(spec) = sweep_spec(&service) else {
                return Ok(None);
            };
            let found = keyring_core::Entry::search(&spec).map_err(map_error)?;
            let mut deleted = 0;
            for entry in found {
                match entry.delete_credential() {
                    Ok(()) => deleted += 1,
                    Err(keyring::Error::NoEntry) => {}
                    Err(e) => return Err(map_error(e)),
                }
            }
            Ok(Some(deleted))
        })
        .await
    }

    /// Fails with a clear error unless the keyring can be written and read back now.
    pub async fn check_available(&self) -> Result<()> {
        let probe = SecretKey::PendingLink("availability-probe".into());
        self.put(probe.clone(), &Secret::new("probe")).await?;
        self.delete(probe).await
    }
}

// The Secret Service client makes blocking D-Bus calls: keep them off the async workers.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Keyring(format!("keyring task failed: {e}")))?
}

fn entry(service: &str, user: &str) -> Result<keyring::Entry> {
    if let Err(e) = keyring::Entry::store_status() {
        return Err(Error::KeyringUnavailable(describe(e)));
    }
    keyring::Entry::new(service, user).map_err(map_error)
}

/// What selects all of one service's items. Secret Service and Keychain search by the
/// `service` attribute; Windows' Credential Manager only by a target-name pattern, which could
/// also match another profile's names, so there the sweep is left out (named secrets are
/// still deleted one by one).
fn sweep_spec(service: &str) -> Option<std::collections::HashMap<&str, &str>> {
    if cfg!(windows) {
        return None;
    }
    Some(std::collections::HashMap::from([("service", service)]))
}

fn map_error(e: keyring::Error) -> Error {
    match e {
        keyring::Error::NoStorageAccess(_) => Error::KeyringLocked(describe(&e)),
        keyring::Error::PlatformFailure(_) | keyring::Error::NoDefaultStore => {
            Error::KeyringUnavailable(describe(&e))
        }
        other => Error::Keyring(describe(&other)),
    }
}

fn describe(e: &keyring::Error) -> String {
    use std::error::Error as _;
    match e.source() {
        Some(source) => format!("{e}: {source}"),
        None => e.to_string(),
    }
}
