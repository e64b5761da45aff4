//! Pending links: started, not yet completed. The index (no secrets) is a file
//! (`store::pending`) so a link survives a restart (a deep link may cold-start the app); the
//! secrets are in the keyring.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use url::Url;

/// How long a pending link waits for its callback.
pub const LINK_LIFETIME: time::Duration = time::Duration::minutes(10);
/// How long a finished link's state is remembered, to tell "already used" from "unknown".
const REMEMBER_FOR: time::Duration = time::Duration::hours(24);

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

/// Splits off links too old to remember; their keyring secrets should be deleted.
pub fn prune(links: Vec<PendingLink>, now: OffsetDateTime) -> (Vec<PendingLink>, Vec<PendingLink>) {
    links
        .into_iter()
        .partition(|l| l.created_at + REMEMBER_FOR > now)
}
