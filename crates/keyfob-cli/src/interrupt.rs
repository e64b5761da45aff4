//! Ctrl-C while a link waits. The watch starts when it is made, before the prompt that
//! mentions Ctrl-C is printed: `tokio::signal::ctrl_c()` only registers when first polled,
//! and a Ctrl-C in between would kill the process instead of cancelling the link.

use crate::exit::{Failure, OTHER};

/// A Ctrl-C watch.
pub struct Interrupt {
    #[cfg(unix)]
    inner: tokio::signal::unix::Signal,
    #[cfg(windows)]
    inner: tokio::signal::windows::CtrlC,
}

impl Interrupt {
    /// Starts watching for Ctrl-C now.
    pub fn watch() -> Result<Interrupt, Failure> {
        #[cfg(unix)]
        let inner = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt());
        #[cfg(windows)]
        let inner = tokio::signal::windows::ctrl_c();
        let inner = inner.map_err(|e| Failure::new(OTHER, format!("cannot watch Ctrl-C: {e}")))?;
        Ok(Interrupt { inner })
    }

    /// Waits for the next Ctrl-C.
    pub async fn recv(&mut self) {
        self.inner.recv().await;
    }
}
