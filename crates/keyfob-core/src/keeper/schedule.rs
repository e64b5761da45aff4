//! When an access token is refreshed ahead of its expiry: a pure decision.

use std::time::Duration;

use time::OffsetDateTime;

use super::refresh_ahead::RefreshAhead;

/// The default lead is this share of the token's lifetime...
const DEFAULT_SHARE: u32 = 10;
/// ...but at least this long: a refresh must beat clock skew and a slow provider...
const MIN_LEAD: Duration = Duration::from_secs(60);
/// ...and at most this long: an hour's token need not be refreshed six minutes early.
const MAX_LEAD: Duration = Duration::from_secs(600);

/// When a token issued at `issued_at` that expires at `expires_at` is due for a refresh;
/// `None` when it never is (no expiry, or refreshing ahead is off). Never earlier than half
/// the lifetime, so that a token living less than twice its lead is not refreshed again at
/// once (a 30 s token with the 60 s minimum would otherwise loop). A time in the past means
/// now (the keeper was not running, or the machine slept).
pub fn refresh_at(
    issued_at: OffsetDateTime,
    expires_at: Option<OffsetDateTime>,
    ahead: RefreshAhead,
) -> Option<OffsetDateTime> {
    let expires_at = expires_at?;
    let lifetime = (expires_at - issued_at).max(time::Duration::ZERO);
    let lead = match ahead {
        RefreshAhead::Off => return None,
        RefreshAhead::Lead(lead) => lead,
        RefreshAhead::Default => lifetime
            .try_into()
            .map(|l: Duration| l / DEFAULT_SHARE)
            .unwrap_or(Duration::ZERO)
            .clamp(MIN_LEAD, MAX_LEAD),
    };
    let ahead_of_expiry = time::Duration::try_from(lead)
        .ok()
        .and_then(|lead| expires_at.checked_sub(lead))
        .unwrap_or(issued_at);
    Some(ahead_of_expiry.max(issued_at + lifetime / 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(secs)
    }

    const HOUR: i64 = 3600;

    #[test]
    fn by_default_a_tenth_of_the_lifetime_is_left() {
        // 50 min: 5 min ahead.
        assert_eq!(
            refresh_at(at(0), Some(at(3000)), RefreshAhead::Default),
            Some(at(2700))
        );
    }

    #[test]
    fn the_default_lead_is_clamped_to_one_to_ten_minutes() {
        // An hour's token: 6 min. A day's: at most 10 min. Five minutes': at least 60 s.
        assert_eq!(
            refresh_at(at(0), Some(at(HOUR)), RefreshAhead::Default),
            Some(at(HOUR - 360))
        );
        assert_eq!(
            refresh_at(at(0), Some(at(24 * HOUR)), RefreshAhead::Default),
            Some(at(24 * HOUR - 600))
        );
        assert_eq!(
            refresh_at(at(0), Some(at(300)), RefreshAhead::Default),
            Some(at(240))
        );
    }

    #[test]
    fn short_tokens_are_refreshed_no_earlier_than_half_their_lifetime() {
        // 30 s: the 60 s minimum lead would be before the token was issued.
        assert_eq!(
            refresh_at(at(100), Some(at(130)), RefreshAhead::Default),
            Some(at(115))
        );
        // The same for a fixed lead longer than half the lifetime.
        let ten_min = RefreshAhead::Lead(Duration::from_secs(600));
        assert_eq!(refresh_at(at(0), Some(at(900)), ten_min), Some(at(450)));
        // A token that expired when issued (or a clock that went back): due at once.
        assert_eq!(
            refresh_at(at(50), Some(at(40)), RefreshAhead::Default),
            Some(at(50))
        );
    }

    #[test]
    fn a_fixed_lead_replaces_the_default_and_off_turns_it_off() {
        let five_min = RefreshAhead::Lead(Duration::from_secs(300));
        assert_eq!(
            refresh_at(at(0), Some(at(24 * HOUR)), five_min),
            Some(at(24 * HOUR - 300))
        );
        assert_eq!(refresh_at(at(0), Some(at(HOUR)), RefreshAhead::Off), None);
    }

    #[test]
    fn tokens_without_expiry_are_never_due() {
        assert_eq!(refresh_at(at(0), None, RefreshAhead::Default), None);
    }

    #[test]
    fn an_overdue_token_is_due_in_the_past_and_a_huge_lead_does_not_overflow() {
        // Whoever compares with now sees it due; the time itself is just the rule's.
        let due = refresh_at(at(0), Some(at(HOUR)), RefreshAhead::Default).unwrap();
        assert!(due < at(10 * HOUR));
        let huge = RefreshAhead::Lead(Duration::from_secs(u64::MAX / 4));
        assert_eq!(refresh_at(at(0), Some(at(HOUR)), huge), Some(at(HOUR / 2)));
    }
}
