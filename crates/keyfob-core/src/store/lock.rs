//! Advisory file locks that serialize work across threads and processes.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::store::atomic::ensure_private_dir;

/// How long Keyfob waits for a lock another process holds. Longer than any one piece of work
/// under a lock can take when the network and the keyring answer (a refresh: the HTTP and
/// keyring timeouts); a holder that takes longer is stuck.
pub const LOCK_WAIT: Duration = Duration::from_secs(180);

/// An exclusive lock held until dropped.
#[derive(Debug)]
pub struct FileLock {
    file: File,
}

impl FileLock {
    /// Blocks until the lock on `path` is held, for at most [`LOCK_WAIT`]. Each call opens its
    /// own file description, so the lock also excludes other threads of this process (flock
    /// semantics).
    pub fn acquire(path: &Path) -> Result<Self> {
        Self::acquire_within(path, LOCK_WAIT)
    }

    /// The same, waiting at most `wait`: a process that never lets go (stopped in a debugger,
    /// stuck on a hung keyring) ends in a clear error instead of a hang.
    pub fn acquire_within(path: &Path, wait: Duration) -> Result<Self> {
        if let Some(dir) = path.parent() {
            ensure_private_dir(dir)?;
        }
        let mut options = OpenOptions::new();
        options.create(true).truncate(false).write(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(path).map_err(|e| Error::io(path, e))?;
        let deadline = Instant::now() + wait;
        let mut pause = Duration::from_millis(2);
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(FileLock { file }),
                Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                Err(TryLockError::WouldBlock) => {
                    return Err(Error::LockTimedOut {
                        path: path.to_path_buf(),
                        secs: wait.as_secs().max(1),
                    })
                }
                Err(TryLockError::Error(e)) => return Err(Error::io(path, e)),
            }
        }
    }

    /// Takes the lock without blocking the async runtime.
    pub async fn acquire_async(path: PathBuf) -> Result<Self> {
        tokio::task::spawn_blocking(move || Self::acquire(&path))
            .await
            .expect("lock task panicked")
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_held_too_long_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("locks/accounts.lock");
        let held = FileLock::acquire(&path).unwrap();
        let started = Instant::now();
        let e = FileLock::acquire_within(&path, Duration::from_millis(150)).unwrap_err();
        assert!(started.elapsed() >= Duration::from_millis(150));
        assert!(matches!(e, Error::LockTimedOut { secs: 1, .. }), "{e:?}");
        assert!(
            e.to_string().contains("another Keyfob process holds"),
            "{e}"
        );
        drop(held);
        assert!(FileLock::acquire_within(&path, Duration::from_millis(150)).is_ok());
    }
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[test]
    fn threads_take_turns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("locks/a.lock");
        let inside = Arc::new(AtomicUsize::new(0));
        let max = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (path, inside, max) = (path.clone(), inside.clone(), max.clone());
                std::thread::spawn(move || {
                    let _guard = FileLock::acquire(&path).unwrap();
                    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    max.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(5));
                    inside.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(max.load(Ordering::SeqCst), 1);
    }
}
