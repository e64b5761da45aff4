//! `keyfob keep`: the keeper in the foreground, for machines without a desktop session (the
//! systemd user unit `keyfob-keep.service` runs it). One stderr line per refresh and per
//! failure (the journal keeps them), never a token. SIGTERM or Ctrl-C stops it once the
//! refresh in flight, if any, is done, and the profile's keeper lock is released.

use keyfob_core::{Keeper, KeeperEvent, Keyfob};

use crate::exit::Failure;
use crate::interrupt::Interrupt;

/// Runs the keeper until SIGTERM or SIGINT.
pub async fn run(kf: &Keyfob) -> Result<(), Failure> {
    // Watched before the keeper starts: a signal from then on stops it cleanly.
    let mut stop = StopSignals::watch()?;
    let keeper = Keeper::new();
    let control = keeper.control();
    let keeping = kf.keep(keeper, log);
    tokio::pin!(keeping);
    tokio::select! {
        ended = &mut keeping => return ended.map_err(Failure::from),
        () = stop.recv() => {}
    }
    control.stop();
    keeping.await.map_err(Failure::from)?;
    eprintln!("keyfob keep: stopped");
    Ok(())
}

/// One line per event. Events carry no secret; account ids and provider messages are
/// cleaned of terminal control characters.
fn log(event: KeeperEvent) {
    eprintln!(
        "keyfob keep: {}",
        crate::terminal::clean(&event.to_string())
    );
}

/// SIGTERM (systemd's stop) and SIGINT (Ctrl-C).
struct StopSignals {
    interrupt: Interrupt,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn watch() -> Result<StopSignals, Failure> {
        Ok(StopSignals {
            interrupt: Interrupt::watch()?,
            #[cfg(unix)]
            terminate: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .map_err(|e| {
                    Failure::new(crate::exit::OTHER, format!("cannot watch SIGTERM: {e}"))
                })?,
        })
    }

    async fn recv(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            () = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
        #[cfg(not(unix))]
        self.interrupt.recv().await;
    }
}
