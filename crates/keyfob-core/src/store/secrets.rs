//! Secrets in the OS keyring (Secret Service, Keychain, Credential Manager), never in files.
//!
//! Each secret is its own keyring item, so that the hot path (a cached access token) is a
//! single read; one too large for Windows' 2,560-byte limit is split across items
//! (`store::split`). Values are stored as bytes.

use std::sync::Arc;
use std::time::Duration;

use keyring_core::CredentialStore;

use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::store::split::{layout, new_generation, Header, Layout};

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
    /// The client secret of a provider's separate device client (Google).
    DeviceClientSecret(String),
    /// A pending link's state, PKCE verifier and nonce (JSON).
    PendingLink(String),
}

impl SecretKey {
    /// The keyring item's user name.
    pub(crate) fn user(&self) -> String {
        match self {
            SecretKey::AccessToken(a) => format!("account/{a}/access_token"),
            SecretKey::RefreshToken(a) => format!("account/{a}/refresh_token"),
            SecretKey::IdToken(a) => format!("account/{a}/id_token"),
            SecretKey::ClientSecret(p) => format!("provider/{p}/client_secret"),
            SecretKey::DeviceClientSecret(p) => format!("provider/{p}/device_client_secret"),
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
    /// How long one keyring call may take before it is given up (it goes on in the
    /// background, but the caller is answered).
    timeout: Duration,
    // `None`: the platform's keyring, which the `keyring` crate sets up on first use. Unit
    // tests put an in-memory store that fails on demand here (`store::memory`), so that the
    // ordering of refresh, link, unlink and purge can be checked without a Secret Service.
    store: Option<Arc<CredentialStore>>,
}

impl SecretStore {
    /// A store for the given keyring service name.
    pub fn new(service: impl Into<String>) -> Self {
        SecretStore {
            service: service.into(),
            timeout: KEYRING_TIMEOUT,
            store: None,
        }
    }

    /// The same, over `store` instead of the platform's keyring.
    #[cfg(test)]
    pub(crate) fn in_store(service: impl Into<String>, store: Arc<CredentialStore>) -> Self {
        SecretStore {
            service: service.into(),
            timeout: KEYRING_TIMEOUT,
            store: Some(store),
        }
    }

    /// The same, giving up on a keyring call after `timeout`.
    #[cfg(test)]
    pub(crate) fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Reads a secret; `None` when it does not exist. A split secret is joined and checked
    /// (see `store::split`).
    pub async fn get(&self, key: SecretKey) -> Result<Option<Secret>> {
        let (store, service, user) = (self.store.clone(), self.service.clone(), key.user());
        blocking(self.timeout, move || {
            let items = Items::new(store.as_ref(), &service);
            let Some(bytes) = read_joined(&items, &user)? else {
                return Ok(None);
            };
            String::from_utf8(bytes)
                .map(|s| Some(Secret::new(s)))
                .map_err(|_| Error::Keyring(format!("{user} is not valid UTF-8")))
        })
        .await
    }

    /// Writes a secret, replacing any earlier value; one over `split::MAX_ITEM` bytes is split
    /// across several items, in the order `store::split` explains.
    pub async fn put(&self, key: SecretKey, value: &Secret) -> Result<()> {
        let (store, service, user) = (self.store.clone(), self.service.clone(), key.user());
        let value = value.clone();
        blocking(self.timeout, move || {
            let items = Items::new(store.as_ref(), &service);
            let old = items.read(&user)?.and_then(|item| Header::parse(&item));
            match layout(value.expose(), new_generation()) {
                Layout::Whole(whole) => items.write(&user, whole.as_bytes())?,
                Layout::Split { header, parts } => {
                    let names = header.part_names(&user);
                    for (written, (name, part)) in names.iter().zip(&parts).enumerate() {
                        if let Err(e) = items.write(name, part.as_bytes()) {
                            items.forget(&names[..written]);
                            return Err(e);
                        }
                    }
                    // The commit point: until here, the old value is what reads.
                    if let Err(e) = items.write(&user, header.encode().as_bytes()) {
                        items.forget(&names);
                        return Err(e);
                    }
                }
            }
            // Last, and best effort: the new value is stored whatever happens here.
            if let Some(old) = old {
                items.forget(&old.part_names(&user));
            }
            Ok(())
        })
        .await
    }

    /// Deletes a secret (all its parts); deleting one that does not exist is not an error.
    pub async fn delete(&self, key: SecretKey) -> Result<()> {
        let (store, service, user) = (self.store.clone(), self.service.clone(), key.user());
        blocking(self.timeout, move || {
            let items = Items::new(store.as_ref(), &service);
            let header = items.read(&user)?.and_then(|item| Header::parse(&item));
            // The header first: once it is gone the secret is gone for every reader, and a
            // part left by a failure here is only a fragment, which purge's sweep finds.
            items.delete(&user)?;
            if let Some(header) = header {
                items.forget(&header.part_names(&user));
            }
            Ok(())
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
        let (store, service) = (self.store.clone(), self.service.clone());
        blocking(self.timeout, move || {
            if store.is_none() {
                platform_ready()?;
            }
            let Some(spec) = sweep_spec(&service) else {
                return Ok(None);
            };
            let found = match &store {
                Some(store) => keyring_core::Entry::search_in_store(store, &spec),
                None => keyring_core::Entry::search(&spec),
            }
            .map_err(map_error)?;
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

/// How long one keyring call may take. Long enough for a person to type the password of a
/// locked keyring into its unlock prompt; a Secret Service that hangs must not hang Keyfob.
pub const KEYRING_TIMEOUT: Duration = Duration::from_secs(90);

// The Secret Service client makes blocking D-Bus calls: keep them off the async workers.
async fn blocking<T: Send + 'static>(
    timeout: Duration,
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    match tokio::time::timeout(timeout, tokio::task::spawn_blocking(f)).await {
        Ok(done) => done.map_err(|e| Error::Keyring(format!("keyring task failed: {e}")))?,
        Err(_) => Err(Error::KeyringTimedOut(timeout.as_secs().max(1))),
    }
}

fn entry(
    store: Option<&Arc<CredentialStore>>,
    service: &str,
    user: &str,
) -> Result<keyring_core::Entry> {
    match store {
        Some(store) => keyring_core::Entry::new_in_store(store, service, user),
        None => {
            platform_ready()?;
            keyring::Entry::new(service, user).map(|entry| entry.inner)
        }
    }
    .map_err(map_error)
}

/// One profile's items, by user name: the single-item calls a split secret is made of.
struct Items<'a> {
    store: Option<&'a Arc<CredentialStore>>,
    service: &'a str,
}

impl<'a> Items<'a> {
    fn new(store: Option<&'a Arc<CredentialStore>>, service: &'a str) -> Self {
        Items { store, service }
    }

    fn read(&self, user: &str) -> Result<Option<Vec<u8>>> {
        match entry(self.store, self.service, user)?.get_secret() {
            Ok(bytes) => Ok(Some(bytes)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(map_error(e)),
        }
    }

    fn write(&self, user: &str, bytes: &[u8]) -> Result<()> {
        entry(self.store, self.service, user)?
            .set_secret(bytes)
            .map_err(map_error)
    }

    fn delete(&self, user: &str) -> Result<()> {
        match entry(self.store, self.service, user)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(map_error(e)),
        }
    }

    /// Deletes items no header names (any more), best effort: a failure leaves a fragment
    /// that nothing reads, for purge's sweep.
    fn forget(&self, users: &[String]) {
        for user in users {
            let _ = self.delete(user);
        }
    }
}

/// How often a reader starts over when a split secret's parts do not match its header: a
/// writer may have replaced them between the header and the parts.
const READ_ATTEMPTS: usize = 3;

/// A secret's value, joined from its parts when it is split.
fn read_joined(items: &Items<'_>, user: &str) -> Result<Option<Vec<u8>>> {
    for _ in 0..READ_ATTEMPTS {
        let Some(item) = items.read(user)? else {
            return Ok(None);
        };
        let Some(header) = Header::parse(&item) else {
            return Ok(Some(item));
        };
        let mut parts = Vec::with_capacity(header.parts);
        for name in header.part_names(user) {
            match items.read(&name)? {
                Some(part) => parts.push(part),
                None => break,
            }
        }
        if let Some(value) = header.join(&parts) {
            return Ok(Some(value));
        }
    }
    Err(Error::Keyring(format!(
        "{user} is stored in parts that are missing or do not match; store it again (for a \
         token, link the account again)"
    )))
}

/// Whether the platform's keyring could be set up (it is, once, on first use).
fn platform_ready() -> Result<()> {
    match keyring::Entry::store_status() {
        Ok(()) => Ok(()),
        Err(e) => Err(Error::KeyringUnavailable(describe(e))),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::{Failure, MemoryKeyring, Op};
    use crate::store::split::MAX_ITEM;

    fn store(keyring: &Arc<MemoryKeyring>, service: &str) -> SecretStore {
        SecretStore::in_store(service, keyring.as_store())
    }

    fn access(account: &str) -> SecretKey {
        SecretKey::AccessToken(account.into())
    }

    /// A keyring that does not answer ends in a clear error after the timeout, not a hang;
    /// the next call, once it answers again, works.
    #[tokio::test]
    async fn a_keyring_that_does_not_answer_times_out() {
        let keyring = MemoryKeyring::new();
        let secrets = store(&keyring, "s").with_timeout(std::time::Duration::from_millis(200));
        keyring.fail_nth(Op::Get, "", 1, Failure::Hang);
        let started = std::time::Instant::now();
        let e = secrets.get(access("a")).await.unwrap_err();
        assert!(
            started.elapsed() < crate::store::memory::HANG,
            "answered before the hang ended"
        );
        assert!(matches!(e, Error::KeyringTimedOut(1)), "{e:?}");
        assert!(e.to_string().contains("did not answer within 1 s"), "{e}");
        secrets.put(access("a"), &Secret::new("t")).await.unwrap();
        assert_eq!(
            secrets.get(access("a")).await.unwrap().unwrap().expose(),
            "t"
        );
    }

    #[tokio::test]
    async fn reads_writes_and_deletes_by_service_and_name() {
        let keyring = MemoryKeyring::new();
        let secrets = store(&keyring, "svc");
        assert_eq!(secrets.get(access("a")).await.unwrap(), None);
        secrets.put(access("a"), &Secret::new("one")).await.unwrap();
        secrets.put(access("a"), &Secret::new("two")).await.unwrap();
        assert_eq!(
            secrets.get(access("a")).await.unwrap(),
            Some(Secret::new("two"))
        );
        assert_eq!(
            keyring.peek("svc", "account/a/access_token").as_deref(),
            Some("two")
        );
        assert_eq!(
            store(&keyring, "other").get(access("a")).await.unwrap(),
            None
        );
        secrets.delete(access("a")).await.unwrap();
        secrets.delete(access("a")).await.unwrap();
        assert_eq!(secrets.get(access("a")).await.unwrap(), None);

        keyring.preset("svc", "account/a/access_token", &[0xff, 0xfe]);
        let err = secrets.get(access("a")).await.unwrap_err();
        assert!(
            matches!(&err, Error::Keyring(m) if m.contains("UTF-8")),
            "{err}"
        );
    }

    // The in-memory store's failures go through the same mapping as the platform's, so the
    // ordering tests see the errors users see.
    #[tokio::test]
    async fn injected_failures_arrive_as_the_errors_of_a_real_keyring() {
        let keyring = MemoryKeyring::new();
        let secrets = store(&keyring, "svc");
        keyring.fail_nth(Op::Put, "", 1, Failure::Locked);
        let err = secrets
            .put(access("a"), &Secret::new("x"))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::KeyringLocked(_)), "{err}");
        assert_eq!(
            keyring.peek("svc", "account/a/access_token"),
            None,
            "nothing written"
        );
        secrets.put(access("a"), &Secret::new("x")).await.unwrap();

        keyring.fail_nth(Op::Get, "access_token", 2, Failure::Refused);
        assert!(
            secrets.get(access("a")).await.is_ok(),
            "the first get passes"
        );
        let err = secrets.get(access("a")).await.unwrap_err();
        assert!(matches!(err, Error::Keyring(_)), "{err}");

        keyring.fail_always(Op::Delete, "account/a/", Failure::Refused);
        assert!(secrets.delete(access("a")).await.is_err());
        assert!(secrets.delete(access("a")).await.is_err());
        assert!(
            secrets.delete(access("b")).await.is_ok(),
            "other items are spared"
        );
        assert!(keyring.peek("svc", "account/a/access_token").is_some());

        keyring.break_down(Failure::Unavailable);
        let err = secrets.get(access("b")).await.unwrap_err();
        assert!(matches!(err, Error::KeyringUnavailable(_)), "{err}");
        let err = secrets.check_available().await.unwrap_err();
        assert!(matches!(err, Error::KeyringUnavailable(_)), "{err}");
        let err = secrets.delete_all().await.unwrap_err();
        assert!(matches!(err, Error::KeyringUnavailable(_)), "{err}");
        keyring.heal();
        secrets.check_available().await.unwrap();
    }

    #[tokio::test]
    async fn the_sweep_deletes_every_item_of_its_service_and_no_other() {
        let keyring = MemoryKeyring::new();
        let (mine, theirs) = (store(&keyring, "svc"), store(&keyring, "svc-other"));
        for key in [access("a"), SecretKey::PendingLink("l".into())] {
            mine.put(key.clone(), &Secret::new("x")).await.unwrap();
            theirs.put(key, &Secret::new("y")).await.unwrap();
        }
        keyring.fail_nth(Op::Delete, "", 2, Failure::Locked);
        let err = mine.delete_all().await.unwrap_err();
        assert!(matches!(err, Error::KeyringLocked(_)), "{err}");
        assert_eq!(
            keyring.users("svc").len(),
            1,
            "one deleted before the failure"
        );
        assert_eq!(mine.delete_all().await.unwrap(), Some(1));
        assert!(keyring.users("svc").is_empty());
        assert_eq!(keyring.users("svc-other").len(), 2);
    }

    /// Windows' Credential Manager refuses more than 2,560 bytes per item.
    const WINDOWS_LIMIT: usize = 2_560;

    fn big(tag: char) -> Secret {
        Secret::new(format!("{tag}{}", "x.y-z_".repeat(1_700)))
    }

    #[tokio::test]
    async fn a_large_secret_is_split_under_the_limit_and_joined_on_read() {
        let keyring = MemoryKeyring::new();
        keyring.limit_item_size(WINDOWS_LIMIT);
        let secrets = store(&keyring, "svc");
        let first = big('a');
        assert!(first.expose().len() > 10_000);
        secrets.put(access("a"), &first).await.unwrap();
        assert_eq!(secrets.get(access("a")).await.unwrap(), Some(first));
        assert!(keyring.largest_item() <= MAX_ITEM);
        assert_eq!(keyring.users("svc").len(), 11, "a header and ten parts");

        // Replaced by another large one: the old parts go; by a small one: all parts go.
        let second = big('b');
        secrets.put(access("a"), &second).await.unwrap();
        assert_eq!(secrets.get(access("a")).await.unwrap(), Some(second));
        assert_eq!(keyring.users("svc").len(), 11);
        secrets
            .put(access("a"), &Secret::new("small"))
            .await
            .unwrap();
        assert_eq!(keyring.users("svc"), ["account/a/access_token"]);
        assert_eq!(
            keyring.peek("svc", "account/a/access_token").unwrap(),
            "small"
        );

        secrets.put(access("a"), &big('c')).await.unwrap();
        secrets.delete(access("a")).await.unwrap();
        assert_eq!(secrets.get(access("a")).await.unwrap(), None);
        assert!(keyring.users("svc").is_empty(), "no part is left");
    }

    // Secrets stored before splitting existed, whatever their size, still read.
    #[tokio::test]
    async fn an_unsplit_secret_of_any_size_still_reads() {
        let keyring = MemoryKeyring::new();
        let secrets = store(&keyring, "svc");
        let old = "o".repeat(3_000);
        keyring.preset("svc", "account/a/access_token", old.as_bytes());
        assert_eq!(
            secrets.get(access("a")).await.unwrap().unwrap().expose(),
            old
        );
        secrets.put(access("a"), &big('n')).await.unwrap();
        assert_eq!(secrets.get(access("a")).await.unwrap(), Some(big('n')));
    }

    // A write that stops at any item (a crash, or a failure whose clean-up fails too) leaves
    // the old value readable, whole or split; never a mix of old and new parts.
    #[tokio::test]
    async fn a_write_stopped_at_any_item_leaves_the_old_value() {
        for old in [Secret::new("old"), big('o')] {
            for step in 1..=11 {
                let keyring = MemoryKeyring::new();
                keyring.limit_item_size(WINDOWS_LIMIT);
                let secrets = store(&keyring, "svc");
                secrets.put(access("a"), &old).await.unwrap();
                keyring.fail_nth(Op::Put, "", step, Failure::Locked);
                // A crash cleans nothing up: the parts already written stay.
                keyring.fail_always(Op::Delete, "", Failure::Locked);
                let err = secrets.put(access("a"), &big('n')).await.unwrap_err();
                assert!(matches!(err, Error::KeyringLocked(_)), "step {step}: {err}");
                assert_eq!(
                    secrets.get(access("a")).await.unwrap().as_ref(),
                    Some(&old),
                    "step {step}"
                );
                // Once the keyring works again, the next write goes through.
                keyring.heal();
                secrets.put(access("a"), &big('m')).await.unwrap();
                assert_eq!(secrets.get(access("a")).await.unwrap(), Some(big('m')));
            }
        }
    }

    // After the header is written the new value is what reads, even when the old parts
    // cannot be deleted; and parts that do not match their header never read as a value.
    #[tokio::test]
    async fn a_split_secret_reads_whole_or_not_at_all() {
        let keyring = MemoryKeyring::new();
        let secrets = store(&keyring, "svc");
        secrets.put(access("a"), &big('o')).await.unwrap();
        keyring.fail_always(Op::Delete, "#", Failure::Locked);
        secrets.put(access("a"), &big('n')).await.unwrap();
        assert_eq!(secrets.get(access("a")).await.unwrap(), Some(big('n')));
        keyring.heal();

        let header = keyring.peek("svc", "account/a/access_token").unwrap();
        let header = Header::parse(header.as_bytes()).unwrap();
        let names = header.part_names("account/a/access_token");
        keyring.preset("svc", &names[3], "X".repeat(MAX_ITEM).as_bytes());
        let err = secrets.get(access("a")).await.unwrap_err();
        assert!(
            matches!(&err, Error::Keyring(m) if m.contains("do not match")),
            "{err}"
        );
        secrets.delete(access("a")).await.unwrap();
        secrets.put(access("a"), &big('n')).await.unwrap();
        let header = keyring.peek("svc", "account/a/access_token").unwrap();
        let last = Header::parse(header.as_bytes())
            .unwrap()
            .part_names("account/a/access_token");
        secrets.delete(access("b")).await.unwrap();
        keyring.fail_always(Op::Get, &last[9], Failure::Refused);
        assert!(secrets.get(access("a")).await.is_err(), "a part unreadable");
    }
}
