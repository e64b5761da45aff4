//! Persistence: account metadata, provider definitions and pending links (each a
//! [`file::VersionedFile`]), keyring secrets, and locks.

pub mod accounts;
pub mod atomic;
pub mod attention;
pub mod binding;
pub mod file;
pub mod lock;
pub mod pending;
pub mod providers;
pub mod secrets;
pub mod split;

#[cfg(test)]
pub(crate) mod memory;
