//! Pending links: started, not yet completed. The index (no secrets) is a file so a link
//! survives a restart (a deep link may cold-start the app); the secrets are in the keyring.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use url::Url;

use crate::error::{Error, Result};
use crate::store::atomic;

/// How long a pending link waits for its callback.
pub const LINK_LIFETIME: time::Duration = time::Duration::minutes(10);
/// How long a finished link's state is remembered, to tell "already used" from "unknown".
const REMEMBER_FOR: time::Duration = time::Duration::hours(24);
const SCHEMA_VERSION: u32 = 1;

/// Where a pending link stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PendingStatus {
    /// Waiting for the callback.
    Waiting,
    /// A callback consumed the state.
    Used,
    /// The user cancelled it.
    Cancelled,
}

/// One started link, without its secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingLink {
    /// Link id handed to the UI (not a secret).
    pub id: String,
    /// Provider id.
    pub provider: String,
    /// The `iss` the response must carry when it carries one (`Provider::response_issuer`).
    pub issuer: String,
    /// Whether the response must carry `iss` (RFC 9207).
    pub iss_required: bool,
    /// The exact redirect URI sent in the request.
    pub redirect_uri: Url,
    /// Scopes asked for.
    pub scopes: Vec<String>,
    /// SHA-256 of the state: finds the link without keeping the state in a file.
    pub state_fingerprint: String,
    /// When it was started.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it stops accepting a callback.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// Where it stands.
    pub status: PendingStatus,
}

#[derive(Debug, Serialize, Deserialize)]
struct PendingFile {
    schema: u32,
    links: Vec<PendingLink>,
}

/// The pending links index file.
#[derive(Debug, Clone)]
pub struct PendingStore {
    path: PathBuf,
}

impl PendingStore {
    /// The index at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        PendingStore { path: path.into() }
    }

    /// All remembered links.
    pub fn load(&self) -> Result<Vec<PendingLink>> {
        let Some(bytes) = atomic::read(&self.path)? else {
            return Ok(Vec::new());
        };
        let file: PendingFile = serde_json::from_slice(&bytes).map_err(|e| self.corrupt(e))?;
        if file.schema != SCHEMA_VERSION {
            return Err(self.corrupt(format!("schema version {}", file.schema)));
        }
        Ok(file.links)
    }

    /// Replaces the index. Callers hold the store lock around load-modify-save.
    pub fn save(&self, links: &[PendingLink]) -> Result<()> {
        let file = PendingFile {
            schema: SCHEMA_VERSION,
            links: links.to_vec(),
        };
        atomic::write(
            &self.path,
            &serde_json::to_vec_pretty(&file).expect("serializes"),
        )
    }

    fn corrupt(&self, reason: impl ToString) -> Error {
        Error::CorruptFile {
            path: self.path.clone(),
            reason: reason.to_string(),
        }
    }
}

/// Splits off links too old to remember; their keyring secrets should be deleted.
pub fn prune(links: Vec<PendingLink>, now: OffsetDateTime) -> (Vec<PendingLink>, Vec<PendingLink>) {
    links
        .into_iter()
        .partition(|l| l.created_at + REMEMBER_FOR > now)
}
