//! An in-memory credential store for unit tests, behind the same `keyring_core` API as the
//! platform keyrings, that fails on demand. Its failures are the `keyring_core` errors the
//! platform stores return, so they reach callers through `SecretStore`'s own error mapping
//! (`KeyringLocked`, `KeyringUnavailable`, `Keyring`), exactly as a real failure would.

use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use keyring_core::api::{CredentialApi, CredentialStoreApi};
use keyring_core::{Credential, CredentialPersistence, CredentialStore, Entry, Error, Result};

/// A keyring operation, as counted for failure injection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Get,
    Put,
    Delete,
    Search,
}

/// How an injected failure looks to the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The keyring is locked (`NoStorageAccess`, mapped to `Error::KeyringLocked`).
    Locked,
    /// No keyring answers (`PlatformFailure`, mapped to `Error::KeyringUnavailable`).
    Unavailable,
    /// Any other refusal (mapped to `Error::Keyring`).
    Refused,
    /// No answer for a long while (a Secret Service stuck on an unlock prompt), then
    /// `PlatformFailure`.
    Hang,
}

/// How long a `Failure::Hang` keeps its caller waiting.
pub(crate) const HANG: std::time::Duration = std::time::Duration::from_secs(3);

impl Failure {
    fn error(self, op: Op, user: &str) -> Error {
        let why = format!("injected failure: {op:?} of {user}");
        match self {
            Failure::Locked => Error::NoStorageAccess(why.into()),
            Failure::Unavailable | Failure::Hang => Error::PlatformFailure(why.into()),
            Failure::Refused => Error::BadStoreFormat(why),
        }
    }
}

#[derive(Debug)]
struct Fault {
    op: Option<Op>,
    /// Only items whose user name contains this (`account/x/access_token`, ...).
    user: Option<String>,
    /// Matching operations to let through before failing.
    skip: usize,
    /// How many matching operations fail after that; `None`: all of them.
    times: Option<usize>,
    failure: Failure,
}

/// Item values by (service, user).
type Items = BTreeMap<(String, String), Vec<u8>>;

#[derive(Debug, Default)]
struct State {
    items: Items,
    faults: Vec<Fault>,
    log: Vec<(Op, String)>,
    /// The most bytes one item may hold, as Windows' Credential Manager allows 2,560.
    max_item: Option<usize>,
}

/// The store: items keyed by (service, user), and the failures still to inject. Entries it
/// builds share its state, as entries of a real keyring share the daemon's.
#[derive(Debug, Default)]
pub(crate) struct MemoryKeyring {
    state: Arc<Mutex<State>>,
}

impl MemoryKeyring {
    /// An empty store that never fails until told to.
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// The same store, as the `keyring_core` trait object `SecretStore` takes.
    pub(crate) fn as_store(self: &Arc<Self>) -> Arc<CredentialStore> {
        self.clone()
    }

    /// The `nth` operation `op` from now (1: the next one) on an item whose user name
    /// contains `user` (any item for `""`) fails, once.
    pub(crate) fn fail_nth(&self, op: Op, user: &str, nth: usize, failure: Failure) {
        assert!(nth >= 1, "nth counts from 1");
        self.add(op, user, nth - 1, Some(1), failure);
    }

    /// Every operation `op` on an item whose user name contains `user` fails from now on.
    pub(crate) fn fail_always(&self, op: Op, user: &str, failure: Failure) {
        self.add(op, user, 0, None, failure);
    }

    /// Every operation fails from now on, as when the keyring is locked or gone.
    pub(crate) fn break_down(&self, failure: Failure) {
        lock(&self.state).faults.push(Fault {
            op: None,
            user: None,
            skip: 0,
            times: None,
            failure,
        });
    }

    /// Refuses, from now on, to store more than `bytes` in one item (`TooLong`, as Windows'
    /// Credential Manager does beyond 2,560 bytes).
    pub(crate) fn limit_item_size(&self, bytes: usize) {
        lock(&self.state).max_item = Some(bytes);
    }

    /// The size of the largest item stored so far.
    pub(crate) fn largest_item(&self) -> usize {
        let state = lock(&self.state);
        state.items.values().map(Vec::len).max().unwrap_or(0)
    }

    /// Forgets every failure still to inject: the keyring works again.
    pub(crate) fn heal(&self) {
        lock(&self.state).faults.clear();
    }

    /// An item's value, read past any injected failure and left out of the log.
    pub(crate) fn peek(&self, service: &str, user: &str) -> Option<String> {
        let state = lock(&self.state);
        let bytes = state.items.get(&(service.to_string(), user.to_string()))?;
        Some(String::from_utf8(bytes.clone()).expect("test secrets are UTF-8"))
    }

    /// Stores an item directly, as something earlier left it: no operation is counted.
    pub(crate) fn preset(&self, service: &str, user: &str, value: &[u8]) {
        let key = (service.to_string(), user.to_string());
        lock(&self.state).items.insert(key, value.to_vec());
    }

    /// The user names of every item of `service`, sorted.
    pub(crate) fn users(&self, service: &str) -> Vec<String> {
        let state = lock(&self.state);
        let users = state.items.keys().filter(|(s, _)| s == service);
        users.map(|(_, u)| u.clone()).collect()
    }

    /// The puts and deletes so far, in order, as `"put account/x/access_token"`; those that
    /// an injected failure stopped end in `" (failed)"`.
    pub(crate) fn writes(&self) -> Vec<String> {
        let state = lock(&self.state);
        let writes = state
            .log
            .iter()
            .filter(|(op, _)| matches!(op, Op::Put | Op::Delete));
        writes
            .map(|(op, what)| format!("{} {what}", format!("{op:?}").to_lowercase()))
            .collect()
    }

    /// Forgets the operations so far, so that `writes` shows only what comes next.
    pub(crate) fn forget_writes(&self) {
        lock(&self.state).log.clear();
    }

    fn add(&self, op: Op, user: &str, skip: usize, times: Option<usize>, failure: Failure) {
        lock(&self.state).faults.push(Fault {
            op: Some(op),
            user: (!user.is_empty()).then(|| user.to_string()),
            skip,
            times,
            failure,
        });
    }
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state.lock().expect("memory keyring poisoned")
}

/// Runs one operation on `user`'s item: the first fault that matches decides whether it
/// fails; a failed operation changes nothing.
fn run<T>(
    state: &Mutex<State>,
    op: Op,
    user: &str,
    f: impl FnOnce(&mut Items) -> Result<T>,
) -> Result<T> {
    let mut state = lock(state);
    let mut failure = None;
    for fault in state.faults.iter_mut() {
        let matches = fault.op.is_none_or(|o| o == op)
            && fault.user.as_deref().is_none_or(|u| user.contains(u))
            && fault.times != Some(0);
        if !matches {
            continue;
        }
        if fault.skip > 0 {
            fault.skip -= 1;
            continue;
        }
        if let Some(times) = &mut fault.times {
            *times -= 1;
        }
        failure = Some(fault.failure);
        break;
    }
    let mark = if failure.is_some() { " (failed)" } else { "" };
    state.log.push((op, format!("{user}{mark}")));
    if let Some(failure) = failure {
        if failure == Failure::Hang {
            drop(state); // other callers are not held up by this one
            std::thread::sleep(HANG);
        }
        return Err(failure.error(op, user));
    }
    f(&mut state.items)
}

impl CredentialStoreApi for MemoryKeyring {
    fn vendor(&self) -> String {
        "Keyfob's in-memory test keyring".to_string()
    }

    fn id(&self) -> String {
        format!("{:p}", Arc::as_ptr(&self.state))
    }

    fn build(
        &self,
        service: &str,
        user: &str,
        _modifiers: Option<&HashMap<&str, &str>>,
    ) -> Result<Entry> {
        Ok(Entry::new_with_credential(Arc::new(Item {
            state: self.state.clone(),
            key: (service.to_string(), user.to_string()),
        })))
    }

    /// Finds a service's items: the one attribute the purge sweep searches by.
    fn search(&self, spec: &HashMap<&str, &str>) -> Result<Vec<Entry>> {
        let service = spec.get("service").copied().unwrap_or_default();
        let users = run(&self.state, Op::Search, "", |items| {
            let users = items.keys().filter(|(s, _)| s == service);
            Ok(users.map(|(_, u)| u.clone()).collect::<Vec<_>>())
        })?;
        users.iter().map(|u| self.build(service, u, None)).collect()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn persistence(&self) -> CredentialPersistence {
        CredentialPersistence::ProcessOnly
    }
}

/// One item of the store, by (service, user).
#[derive(Debug)]
struct Item {
    state: Arc<Mutex<State>>,
    key: (String, String),
}

impl CredentialApi for Item {
    fn set_secret(&self, secret: &[u8]) -> Result<()> {
        let limit = lock(&self.state).max_item;
        if let Some(limit) = limit.filter(|limit| secret.len() > *limit) {
            let mut state = lock(&self.state);
            state
                .log
                .push((Op::Put, format!("{} (too long)", self.key.1)));
            return Err(Error::TooLong(self.key.1.clone(), limit as u32));
        }
        run(&self.state, Op::Put, &self.key.1, |items| {
            items.insert(self.key.clone(), secret.to_vec());
            Ok(())
        })
    }

    fn get_secret(&self) -> Result<Vec<u8>> {
        run(&self.state, Op::Get, &self.key.1, |items| {
            items.get(&self.key).cloned().ok_or(Error::NoEntry)
        })
    }

    fn delete_credential(&self) -> Result<()> {
        run(&self.state, Op::Delete, &self.key.1, |items| {
            items.remove(&self.key).map(drop).ok_or(Error::NoEntry)
        })
    }

    /// Items are their own credentials (no wrapper to unwrap), as in `keyring_core::mock`.
    fn get_credential(&self) -> Result<Option<Arc<Credential>>> {
        let exists = lock(&self.state).items.contains_key(&self.key);
        if exists {
            Ok(None)
        } else {
            Err(Error::NoEntry)
        }
    }

    fn get_specifiers(&self) -> Option<(String, String)> {
        Some(self.key.clone())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
