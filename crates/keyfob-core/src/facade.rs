//! [`Keyfob`], the facade the desktop app and the CLI call: one profile's stores, and the
//! locks that keep its accounts consistent. The operations are in the modules that use it
//! (`link`, `start`, `token`, `unlink`, `manage`, `check`, `purge`, `loopback`), each an
//! `impl Keyfob` block, so this module imports none of them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use crate::authorize::pending::LINK_LIFETIME;
use crate::error::{Error, Result};
use crate::http::Http;
use crate::loopback::start_pages::StartPages;
use crate::paths::Paths;
use crate::provider::Flavor;
use crate::store::accounts::{Account, AccountStore};
use crate::store::lock::FileLock;
use crate::store::pending::PendingStore;
use crate::store::providers::ProviderStore;
use crate::store::secrets::{SecretKey, SecretStore};

/// One Keyfob profile: its providers, accounts, pending links and keyring namespace.
#[derive(Debug)]
pub struct Keyfob {
    paths: Paths,
    // Built on first use: a cached token needs no HTTP client (nor its TLS roots).
    http: OnceLock<Http>,
    pub(crate) secrets: SecretStore,
    pub(crate) accounts: AccountStore,
    pub(crate) providers: ProviderStore,
    pub(crate) pending: PendingStore,
    refresh_turns: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    pub(crate) link_lifetime: time::Duration,
    /// The one-time start addresses of this process's waiting links.
    pub(crate) start_pages: StartPages,
}

impl Keyfob {
    /// Opens the profile at `paths`; nothing is read or created until it is used.
    pub fn open(paths: Paths) -> Self {
        Keyfob {
            http: OnceLock::new(),
            secrets: SecretStore::new(paths.keyring_service.clone()),
            accounts: AccountStore::new(&paths),
            providers: ProviderStore::new(&paths),
            pending: PendingStore::new(&paths),
            refresh_turns: Mutex::new(HashMap::new()),
            link_lifetime: LINK_LIFETIME,
            start_pages: StartPages::default(),
            paths,
        }
    }

    /// Opens the profile at `paths` with its secrets in `store` instead of the platform's
    /// keyring: unit tests use an in-memory one that fails on demand (`store::memory`).
    #[cfg(test)]
    pub(crate) fn open_with_store(paths: Paths, store: Arc<keyring_core::CredentialStore>) -> Self {
        let secrets = SecretStore::in_store(paths.keyring_service.clone(), store);
        Keyfob {
            secrets,
            ..Self::open(paths)
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
        let file =
            FileLock::acquire_async(self.paths.lock_file(&format!("account-{account}"))).await?;
        Ok(AccountTurn {
            _file: file,
            _guard: guard,
        })
    }

    /// Deletes an account's tokens from the keyring; the caller holds its turn.
    pub(crate) async fn delete_account_secrets(&self, account: &str, flavor: Flavor) -> Result<()> {
        let refresh = SecretKey::RefreshToken(account.to_string());
        let access = SecretKey::AccessToken(account.to_string());
        let id = SecretKey::IdToken(account.to_string());
        // The token that ends the grant at the provider goes last (GitHub names the grant by
        // an access token, the others by the refresh token): if the keyring fails part-way,
        // the account stays listed with that token, and a second unlink can still end the
        // grant instead of revoking a lesser token, or none.
        let order = match flavor {
            Flavor::Github => [refresh, id, access],
            Flavor::Standard | Flavor::Google => [access, id, refresh],
        };
        for key in order {
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
        assert_send(kf.forget_account("a"));
        assert_send(kf.add_provider(provider_sample(), None));
        assert_send(kf.check_keyring());
        assert_send(kf.keep(crate::keeper::Keeper::new(), |_| {}));
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
