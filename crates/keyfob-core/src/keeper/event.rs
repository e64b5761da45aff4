//! What the keeper tells its face (the app's tray and notifications, `keyfob keep`'s log).
//! No event carries a secret.

use std::fmt;

use time::OffsetDateTime;

/// Something the keeper did or found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeeperEvent {
    /// Another keeper runs for this profile; this one waits to take over.
    Waiting,
    /// This keeper now looks after the profile's accounts.
    Started,
    /// An account's access token was refreshed ahead of expiry.
    Refreshed {
        /// The account id.
        account: String,
        /// When the new access token expires.
        expires_at: Option<OffsetDateTime>,
        /// When the keeper refreshes it next.
        next_refresh: Option<OffsetDateTime>,
    },
    /// A refresh failed for a reason that may pass; the tokens are untouched.
    Failed {
        /// The account id.
        account: String,
        /// What went wrong.
        reason: String,
        /// Since when refreshing this account fails.
        since: OffsetDateTime,
        /// When the keeper tries again.
        retry_at: OffsetDateTime,
    },
    /// The provider no longer accepts the account's grant: only a new link helps.
    NeedsRelink {
        /// The account id.
        account: String,
        /// Why.
        reason: String,
    },
    /// The account's refresh token ends soon (within [`super::plan::REFRESH_TOKEN_WARNING`]).
    RefreshTokenEnding {
        /// The account id.
        account: String,
        /// When it ends.
        ends_at: OffsetDateTime,
    },
}

impl fmt::Display for KeeperEvent {
    /// One line for a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeeperEvent::Waiting => {
                f.write_str("another keeper runs for this profile; waiting to take over")
            }
            KeeperEvent::Started => f.write_str("keeping this profile's accounts fresh"),
            KeeperEvent::Refreshed {
                account,
                expires_at,
                next_refresh,
            } => write!(
                f,
                "{account}: refreshed; expires {}, next refresh {}",
                when(*expires_at),
                when(*next_refresh)
            ),
            KeeperEvent::Failed {
                account,
                reason,
                since,
                retry_at,
            } => write!(
                f,
                "{account}: refresh failed ({reason}); failing since {}, next try {}",
                when(Some(*since)),
                when(Some(*retry_at))
            ),
            KeeperEvent::NeedsRelink { account, reason } => {
                write!(f, "{account}: needs to be linked again: {reason}")
            }
            KeeperEvent::RefreshTokenEnding { account, ends_at } => write!(
                f,
                "{account}: its refresh token ends {}; link it again before then",
                when(Some(*ends_at))
            ),
        }
    }
}

/// An RFC 3339 time in UTC to the second, or "never".
fn when(at: Option<OffsetDateTime>) -> String {
    let Some(at) = at else {
        return "never".to_string();
    };
    let at = at.replace_nanosecond(0).unwrap_or(at);
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| at.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_read_as_one_line_with_times_to_the_second() {
        let at = OffsetDateTime::UNIX_EPOCH + time::Duration::milliseconds(90_500);
        let refreshed = KeeperEvent::Refreshed {
            account: "a".into(),
            expires_at: Some(at),
            next_refresh: None,
        };
        assert_eq!(
            refreshed.to_string(),
            "a: refreshed; expires 1970-01-01T00:01:30Z, next refresh never"
        );
        let failed = KeeperEvent::Failed {
            account: "a".into(),
            reason: "HTTP 503".into(),
            since: at,
            retry_at: at,
        };
        assert!(failed
            .to_string()
            .starts_with("a: refresh failed (HTTP 503)"));
    }
}
