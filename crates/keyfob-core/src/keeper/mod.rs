//! The keeper: keeps every linked account's access token fresh ahead of its expiry, so that
//! asking for a token never waits on the network. Run by the desktop app for as long as it
//! runs, and by `keyfob keep`; one per profile at a time (a lock file), through the same
//! per-account lock and single flight as [`Keyfob::access_token`](crate::Keyfob), so that
//! keeper, app and CLI together refresh once per expiry.
//!
//! How a face runs it:
//! ```ignore
//! let keeper = Keeper::new();
//! let control = keeper.control();      // keep it: stop() / replan()
//! let task = tokio::spawn(async move { kf.keep(keeper, |event| log(event)).await });
//! // ... after the face changed accounts itself: control.replan();
//! control.stop();                      // ends after the refresh in flight, if any
//! task.await;
//! ```

pub mod backoff;
pub mod clock;
pub mod event;
pub mod plan;
pub mod refresh_ahead;
pub mod run;
pub mod schedule;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use self::backoff::Backoff;
use self::clock::{Clock, SystemClock};

/// The longest the keeper sleeps before it looks at the wall clock and the stored accounts
/// again. Tokio's timers run on the monotonic clock, which stands still while the machine is
/// suspended: a sleep planned for an hour would end an hour after the machine wakes, with
/// expired tokens. Waking at least once a minute bounds that lag, and also notices accounts
/// that other processes (the CLI, another app window) linked or removed. One wake a minute
/// reads one small file: no measurable CPU, and unlike a fast poll it is not what drives the
/// refreshes — those are timed to the second by the plan.
pub const MAX_SLEEP: Duration = Duration::from_secs(60);

/// How a keeper runs (built with [`Keeper::new`]; the `with_` methods are for tests).
#[derive(Debug)]
pub struct Keeper {
    clock: Arc<dyn Clock>,
    backoff: Backoff,
    max_sleep: Duration,
    control: KeeperControl,
}

impl Default for Keeper {
    fn default() -> Self {
        Keeper {
            clock: Arc::new(SystemClock),
            backoff: Backoff::default(),
            max_sleep: MAX_SLEEP,
            control: KeeperControl::default(),
        }
    }
}

impl Keeper {
    /// A keeper on the system clock with the default backoff.
    pub fn new() -> Self {
        Self::default()
    }

    /// The handle that stops the keeper or makes it look at the accounts again.
    pub fn control(&self) -> KeeperControl {
        self.control.clone()
    }

    /// Another clock (tests stall its timer as a suspend does).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Another backoff after failures.
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Another cap on one sleep (see [`MAX_SLEEP`]).
    pub fn with_max_sleep(mut self, max_sleep: Duration) -> Self {
        self.max_sleep = max_sleep;
        self
    }
}

/// Stops a running keeper, or wakes it to plan again; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct KeeperControl {
    inner: Arc<Control>,
}

#[derive(Debug, Default)]
struct Control {
    wake: Notify,
    stopped: AtomicBool,
}

impl KeeperControl {
    /// Ends the keeper: at once when it sleeps or waits for another keeper, else as soon as
    /// the refresh in flight is done (a refresh is never cut short: the provider may already
    /// have rotated the refresh token). The profile's keeper lock is then released.
    pub fn stop(&self) {
        self.inner.stopped.store(true, Ordering::SeqCst);
        self.inner.wake.notify_one();
    }

    /// Makes the keeper read the accounts and providers again now (after the face linked,
    /// unlinked or changed a provider's setting), instead of at its next wake.
    pub fn replan(&self) {
        self.inner.wake.notify_one();
    }

    fn is_stopped(&self) -> bool {
        self.inner.stopped.load(Ordering::SeqCst)
    }

    async fn woken(&self) {
        self.inner.wake.notified().await
    }
}
