//! The keeper's view of time, injected so tests can stall its timer the way a suspended
//! machine does.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use time::OffsetDateTime;

/// Wall-clock time and a timer.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The wall-clock time now (expiries are wall-clock times).
    fn now(&self) -> OffsetDateTime;
    /// Waits `duration` on the timer.
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// The system's clock and tokio's timer (which runs on the monotonic clock: see
/// [`super::Keeper::max_sleep`] for what that means after a suspend).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(tokio::time::sleep(duration))
    }
}
