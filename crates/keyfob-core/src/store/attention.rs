//! The mark an account carries when an operation on it could only be half done, so that the
//! faces can say what happened and what to do, and the core does not repeat the damage.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Something about an account the user must know and act on.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Attention {
    /// A refresh brought a new refresh token that the keyring refused to store, even when
    /// asked again. The stored one may already be spent (a rotating provider may end the
    /// whole grant when it sees it again), so Keyfob refreshes the account no more: only a
    /// new link helps.
    RefreshTokenNotStored {
        /// The keyring's error, in words a user understands.
        reason: String,
    },
    /// An unlink could not revoke the grant at the provider for a reason that may pass
    /// (network or server trouble). The account and its tokens are kept, so that another
    /// unlink can try again; forgetting it instead leaves the grant alive at the provider.
    RevocationPending {
        /// Why the revocation failed.
        reason: String,
    },
    /// The keeper could not refresh the account ahead of expiry for a reason that may pass
    /// (network or server trouble): its tokens are untouched and the keeper tries again with
    /// backoff. The next refresh that works, by anyone, clears it.
    RefreshFailing {
        /// Since when refreshing fails.
        #[serde(with = "time::serde::rfc3339")]
        #[cfg_attr(feature = "ts", ts(type = "string"))]
        since: OffsetDateTime,
        /// The last failure.
        reason: String,
    },
}

impl Attention {
    /// What happened and what to do, as one sentence for either face.
    pub fn advice(&self) -> String {
        match self {
            Attention::RefreshTokenNotStored { reason } => format!(
                "the keyring could not store the refresh token the provider sent last ({reason}), \
                 so the stored one may no longer work and Keyfob will not use it; link the \
                 account again"
            ),
            Attention::RevocationPending { reason } => format!(
                "unlinking could not revoke its access at the provider: {reason}. The account \
                 is kept so that unlinking can try again, or it can be forgotten here without \
                 revoking"
            ),
            Attention::RefreshFailing { since, reason } => format!(
                "refreshing it ahead of expiry has failed since {} UTC: {reason}. Its tokens are \
                 kept and Keyfob keeps trying",
                since
                    .replace_nanosecond(0)
                    .unwrap_or(*since)
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default()
                    .trim_end_matches('Z')
                    .replace('T', " ")
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_serialize_by_kind_and_say_what_to_do() {
        let mark = Attention::RevocationPending {
            reason: "HTTP 503".into(),
        };
        let json = serde_json::to_value(&mark).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"kind": "revocation_pending", "reason": "HTTP 503"})
        );
        assert_eq!(serde_json::from_value::<Attention>(json).unwrap(), mark);
        assert!(mark.advice().contains("try again"));
        let lost = Attention::RefreshTokenNotStored { reason: "r".into() };
        assert!(lost.advice().contains("link the account again"));
        let failing = Attention::RefreshFailing {
            since: OffsetDateTime::UNIX_EPOCH,
            reason: "HTTP 503".into(),
        };
        let json = serde_json::to_value(&failing).unwrap();
        assert_eq!(json["since"], "1970-01-01T00:00:00Z");
        assert_eq!(serde_json::from_value::<Attention>(json).unwrap(), failing);
        assert_eq!(
            failing.advice(),
            "refreshing it ahead of expiry has failed since 1970-01-01 00:00:00 UTC: HTTP 503. \
             Its tokens are kept and Keyfob keeps trying"
        );
    }
}
