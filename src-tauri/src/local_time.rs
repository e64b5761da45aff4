//! The local time zone, for the times the tray and notifications show.

use time::{OffsetDateTime, UtcOffset};

/// The local time zone's offset now (UTC when it cannot be told). From chrono: the `time`
/// crate refuses to read the local offset in a process with several threads.
pub fn offset() -> UtcOffset {
    let seconds = chrono::Local::now().offset().local_minus_utc();
    UtcOffset::from_whole_seconds(seconds).unwrap_or(UtcOffset::UTC)
}

/// "14:05": the clock time of `at` (already in the zone to show).
pub fn clock(at: OffsetDateTime) -> String {
    format!("{:02}:{:02}", at.hour(), at.minute())
}

/// "3 Dec": the day and short month of `at` (already in the zone to show).
pub fn day(at: OffsetDateTime) -> String {
    format!("{} {}", at.day(), &format!("{}", at.month())[..3])
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn day_and_clock_as_the_tray_and_notifications_write_them() {
        let at = datetime!(2026-12-03 09:05 +01:00);
        assert_eq!(clock(at), "09:05");
        assert_eq!(day(at), "3 Dec");
    }
}
