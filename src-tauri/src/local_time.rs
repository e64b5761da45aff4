//! The local time zone, for the times the tray and notifications show.

use time::UtcOffset;

/// The local time zone's offset now (UTC when it cannot be told). From chrono: the `time`
/// crate refuses to read the local offset in a process with several threads.
pub fn offset() -> UtcOffset {
    let seconds = chrono::Local::now().offset().local_minus_utc();
    UtcOffset::from_whole_seconds(seconds).unwrap_or(UtcOffset::UTC)
}
