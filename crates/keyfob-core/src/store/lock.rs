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
        let file = open(path)?;
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

impl FileLock {
    /// The lock if nobody holds it now, else `None`.
    pub fn try_acquire(path: &Path) -> Result<Option<Self>> {
        let file = open(path)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(FileLock { file })),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(e)) => Err(Error::io(path, e)),
        }
    }

    /// Waits for the lock for as long as it takes (a keeper standing by for another), without
    /// polling: a thread of its own blocks in the kernel. If this future is dropped first, the
    /// thread still gets the lock eventually, finds nobody to hand it to and lets go at once.
    pub async fn wait(path: PathBuf) -> Result<Self> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        // Not tokio's blocking pool: a runtime shutting down waits for those tasks.
        std::thread::spawn(move || {
            let lock = open(&path).and_then(|file| match file.lock() {
                Ok(()) => Ok(FileLock { file }),
                Err(e) => Err(Error::io(&path, e)),
            });
            let _ = tx.send(lock);
        });
        rx.await.expect("lock thread ended without an answer")
    }
}

/// Opens (creating) the lock file at `path`, private to the user.
fn open(path: &Path) -> Result<File> {
    if let Some(dir) = path.parent() {
        ensure_private_dir(dir)?;
    }
    let mut options = OpenOptions::new();
    options.create(true).truncate(false).write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map_err(|e| Error::io(path, e))
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

    #[tokio::test]
    async fn a_waiter_gets_the_lock_when_the_holder_lets_go_and_a_dropped_one_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("locks/keeper.lock");
        let held = FileLock::try_acquire(&path).unwrap().expect("free");
        assert!(FileLock::try_acquire(&path).unwrap().is_none());
        // A waiter given up on while the lock is held...
        let gave_up = tokio::time::timeout(Duration::from_millis(50), FileLock::wait(path.clone()));
        assert!(gave_up.await.is_err());
        // ...and one that waits on.
        let waiter = tokio::spawn(FileLock::wait(path.clone()));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiter.is_finished());
        drop(held);
        let taken = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("the waiter takes over")
            .unwrap()
            .unwrap();
        drop(taken);
        // The abandoned waiter took the lock in turn and let go: it is free again.
        let mut free = None;
        for _ in 0..100 {
            free = FileLock::try_acquire(&path).unwrap();
            if free.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(free.is_some(), "an abandoned waiter does not keep the lock");
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
