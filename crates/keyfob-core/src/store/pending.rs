//! The pending links index (`pending.json`): links started and not yet forgotten, without
//! their secrets (those are in the keyring).

use serde::{Deserialize, Serialize};

use crate::authorize::pending::PendingLink;
use crate::error::Result;
use crate::paths::Paths;
use crate::store::file::{Content, Format, VersionedFile};

const SCHEMA_VERSION: u32 = 1;

/// What `pending.json` holds besides its schema number.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct PendingFile {
    links: Vec<PendingLink>,
}

impl Content for PendingFile {}

/// The pending links index file.
#[derive(Debug, Clone)]
pub struct PendingStore {
    file: VersionedFile<PendingFile>,
}

impl PendingStore {
    /// The index of the profile at `paths`.
    pub fn new(paths: &Paths) -> Self {
        PendingStore {
            file: VersionedFile::new(
                paths.pending_file(),
                paths.lock_file("pending"),
                Format::Json {
                    schema: SCHEMA_VERSION,
                },
            ),
        }
    }

    /// All remembered links.
    pub fn load(&self) -> Result<Vec<PendingLink>> {
        Ok(self.file.load()?.links)
    }

    /// A read-modify-write of the index under its lock.
    pub fn modify<T>(&self, f: impl FnOnce(&mut Vec<PendingLink>) -> Result<T>) -> Result<T> {
        self.file.modify(|file| f(&mut file.links))
    }
}
