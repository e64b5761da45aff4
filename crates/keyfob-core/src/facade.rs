//! [`Keyfob`], the facade the desktop app and the CLI call: one profile's stores, and the
//! locks that keep its accounts consistent. The operations are in the modules that use it
//! (`link`, `start`, `token`, `unlink`, `manage`, `check`, `purge`, `loopback`), each an
//! `impl Keyfob` block, so this module imports none of them.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use crate::authorize::pending::{PendingStore, LINK_LIFETIME};
use crate::error::{Error, Result};
use crate::http::Http;
use crate::paths::Paths;
use crate::provider::config::ProviderConfig;
use crate::store::accounts::{Account, AccountStore};
use crate::store::lock::FileLock;
use crate::store::secrets::{SecretKey, SecretStore};

/// One Keyfob profile: its providers, accounts, pending links and keyring namespace.
#[derive(Debug)]
pub struct Keyfob {
    paths: Paths,
    // Built on first use: a cached token needs no HTTP client (nor its TLS roots).
    http: OnceLock<Http>,
    pub(crate) secrets: SecretStore,
    pub(crate) accounts: AccountStore,
    pub(crate) providers: ProviderConfig,
    pub(crate) pending: PendingStore,
    refresh_turns: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    pub(crate) link_lifetime: time::Duration,
}

impl Keyfob {
    /// Opens the profile at `paths`; nothing is read or created until it is used.
    pub fn open(paths: Paths) -> Self {
        Keyfob {
            http: OnceLock::new(),
            secrets: SecretStore::new(paths.keyring_service.clone()),
            accounts: AccountStore::new(paths.accounts_file()),
            providers: ProviderConfig::new(paths.providers_file()),
            pending: PendingStore::new(paths.pending_file()),
            refresh_turns: Mutex::new(HashMap::new()),
            link_lifetime: LINK_LIFETIME,
            paths,
        }
    }

    /// Opens the profile named by the environment (`KEYFOB_HOME`) or the platform default.
    pub fn from_env() -> Result<Self> {
        Ok(Self::open(Paths::from_env()?))
    }

    /// Changes how long a started link waits for its callback (default: [`LINK_LIFETIME`]).
    pub fn with_link_lifetime(mut self, lifetime: std::time::Duration) -> Self {
        self.link_lifetime = time::Duration::try_from(lifetime).unwrap_or(LINK_LIFETIME);
        self
    }

    /// Where this profile keeps its files.
    pub fn paths(&self) -> &Paths {
        &self.paths
    }

    /// All linked accounts. Reads no secret.
    pub fn accounts(&self) -> Result<Vec<Account>> {
        self.accounts.load()
    }

    /// One account by id.
    pub fn account(&self, id: &str) -> Result<Account> {
        self.accounts
            .load()?
            .into_iter()
            .find(|a| a.id == id)
            .ok_or_else(|| Error::AccountNotFound(id.to_string()))
    }

    /// Fails with a clear error unless the keyring can be used right now.
    pub async fn check_keyring(&self) -> Result<()> {
        self.secrets.check_available().await
    }

    pub(crate) fn http(&self) -> &Http {
        self.http.get_or_init(Http::new)
    }

    pub(crate) fn lock_path(&self, name: &str) -> PathBuf {
        self.paths.locks_dir().join(format!("{name}.lock"))
    }

    /// Runs a read-modify-write of the accounts file under its lock.
    pub(crate) fn modify_accounts<T>(
        &self,
        f: impl FnOnce(&mut Vec<Account>) -> Result<T>,
    ) -> Result<T> {
        let _lock = FileLock::acquire(&self.lock_path("accounts"))?;
        let mut accounts = self.accounts.load()?;
        let out = f(&mut accounts)?;
        self.accounts.save(&accounts)?;
        Ok(out)
    }

    /// Exclusive use of one account's tokens, across threads (a mutex) and processes (a
    /// lock file). Everything that writes an account's secrets holds it: refresh, relink,
    /// unlink, purge.
    pub(crate) async fn account_turn(&self, account: &str) -> Result<AccountTurn> {
        // Ids come from the account store, but a shell may pass anything: keep lock files
        // inside the locks directory.
        if account.is_empty()
            || !account
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(Error::AccountNotFound(account.to_string()));
        }
        let mutex = {
            let mut turns = self.refresh_turns.lock().expect("refresh map poisoned");
            turns.entry(account.to_string()).or_default().clone()
        };
        let guard = mutex.lock_owned().await;
        let file = FileLock::acquire_async(self.lock_path(&format!("account-{account}"))).await?;
        Ok(AccountTurn {
            _file: file,
            _guard: guard,
        })
    }

    /// Deletes an account's tokens from the keyring; the caller holds its turn.
    pub(crate) async fn delete_account_secrets(&self, account: &str) -> Result<()> {
        for key in [
            SecretKey::RefreshToken(account.to_string()),
            SecretKey::AccessToken(account.to_string()),
            SecretKey::IdToken(account.to_string()),
        ] {
            self.secrets.delete(key).await?;
        }
        Ok(())
    }
}

/// Held while one account's tokens are being changed; released on drop (file lock first).
pub(crate) struct AccountTurn {
    _file: FileLock,
    _guard: tokio::sync::OwnedMutexGuard<()>,
}

#[cfg(test)]
mod send_tests {
    use super::*;
    use crate::link::LinkOptions;
    use crate::provider::Provider;
    use crate::secret::Secret;

    fn assert_send<T: Send>(_: T) {}

    // The desktop shell spawns these futures on a multi-threaded runtime.
    #[allow(dead_code)]
    fn futures_are_send(kf: &'static Keyfob) {
        assert_send(kf.access_token("a", std::time::Duration::ZERO));
        assert_send(kf.refresh_account("a"));
        assert_send(kf.complete_link("u"));
        assert_send(kf.begin_link("p", LinkOptions::default()));
        let open = |_: &url::Url| Ok::<(), std::io::Error>(());
        assert_send(kf.start_link("p", crate::start::LinkRedirect::Configured, None, open));
        assert_send(kf.cancel_link("l"));
        assert_send(kf.unlink("a"));
        assert_send(kf.add_provider(provider_sample(), None));
        assert_send(kf.check_keyring());
        assert_send(kf.secrets.get(SecretKey::AccessToken("a".into())));
        let p: &'static Provider = Box::leak(Box::new(provider_sample()));
        let s: &'static Secret = Box::leak(Box::new(Secret::new("s")));
        assert_send(crate::exchange::refresh(kf.http(), p, None, s));
        assert_send(kf.client_secret(p));
    }

    fn provider_sample() -> Provider {
        crate::provider::tests::sample()
    }
}
