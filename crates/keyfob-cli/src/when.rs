//! Token expiry as people say it: "in 42 min", "expired 3 min ago", "never".

use time::OffsetDateTime;

/// Describes `expires_at` relative to `now`.
pub fn expiry(expires_at: Option<OffsetDateTime>, now: OffsetDateTime) -> String {
    let Some(at) = expires_at else {
        return "never".into();
    };
    let seconds = (at - now).whole_seconds();
    if seconds >= 0 {
        format!("in {}", span(seconds))
    } else {
        format!("expired {} ago", span(-seconds))
    }
}

/// A span of seconds in the largest unit that fits: "42 s", "5 min", "3 h", "2 days".
pub fn span(seconds: i64) -> String {
    match seconds {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 48 * 3600 => format!("{} h", s / 3600),
        s => format!("{} days", s / 86400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    #[test]
    fn says_when() {
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(1000);
        assert_eq!(expiry(None, now), "never");
        assert_eq!(expiry(Some(now + Duration::seconds(42)), now), "in 42 s");
        assert_eq!(expiry(Some(now + Duration::minutes(42)), now), "in 42 min");
        assert_eq!(
            expiry(Some(now - Duration::minutes(3)), now),
            "expired 3 min ago"
        );
        assert_eq!(expiry(Some(now + Duration::hours(5)), now), "in 5 h");
        assert_eq!(expiry(Some(now + Duration::days(30)), now), "in 30 days");
    }
}
