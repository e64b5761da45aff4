//! Persistence: account metadata, keyring secrets, pending links and locks.

pub mod accounts;
pub mod atomic;
pub mod lock;
pub mod secrets;

#[cfg(test)]
pub(crate) mod memory;
