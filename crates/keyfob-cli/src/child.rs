//! Running a tool with a token: the token goes into the child's environment or down a pipe,
//! never into an argv (readable by every local user in `ps` and /proc/PID/cmdline). Keyfob
//! waits for the child, forwards the signals a supervisor sends, and exits with the child's
//! status, so `keyfob exec`/`curl` can stand in for the command in scripts.

use std::ffi::OsString;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::process::ExitStatus;

use tokio::process::Command;
use tokio::signal::unix::{signal, SignalKind};

use crate::exit::{Failure, OTHER};

/// The descriptor a child reads a pipe-fed secret from (`/dev/fd/3`).
pub const SECRET_FD: i32 = 3;

/// Signals a supervisor (systemd, a CI runner, `timeout`, a shell's `kill`) sends to the
/// process it started: passed on to the child, which decides what they mean.
const FORWARDED: [i32; 4] = [libc::SIGTERM, libc::SIGHUP, libc::SIGUSR1, libc::SIGUSR2];
/// Signals a terminal sends to its whole foreground process group: the child, sharing
/// Keyfob's group, already has them, so they are forwarded only when they did not come from
/// a terminal Keyfob is in the foreground of (a second Ctrl-C would look like two to the
/// child). Keyfob itself ignores them and waits for the child to decide.
const FROM_TERMINAL: [i32; 2] = [libc::SIGINT, libc::SIGQUIT];

/// Runs `program args` with `env` added to Keyfob's own environment and, when `secret` is
/// given, a pipe holding it on descriptor [`SECRET_FD`]. Returns the child's exit status.
pub async fn run(
    program: &OsString,
    args: &[OsString],
    env: &[(String, String)],
    secret: Option<&[u8]>,
) -> Result<ExitStatus, Failure> {
    // Watching starts before the child exists: a signal sent as soon as the child shows
    // signs of life must find Keyfob forwarding, not dying of it.
    let mut streams = Vec::new();
    for sig in FORWARDED.into_iter().chain(FROM_TERMINAL) {
        let stream = signal(SignalKind::from_raw(sig))
            .map_err(|e| Failure::new(OTHER, format!("cannot watch signals: {e}")))?;
        streams.push((sig, stream));
    }
    let mut command = Command::new(program);
    command.args(args).envs(env.iter().map(|(k, v)| (k, v)));
    let pipe = secret.map(secret_pipe).transpose()?;
    if let Some(reader) = &pipe {
        let fd = reader.as_raw_fd();
        // SAFETY: between fork and exec only async-signal-safe calls (dup2, fcntl) run.
        unsafe {
            command.pre_exec(move || put_on_secret_fd(fd));
        }
    }
    let mut child = command.spawn().map_err(|e| {
        Failure::new(
            OTHER,
            format!("cannot run '{}': {e}", program.to_string_lossy()),
        )
    })?;
    // The child has its copy; Keyfob's end closes so the child sees the end of the secret.
    drop(pipe);
    let pid = child.id().map(|p| p as i32);
    loop {
        let received = async {
            let waits = streams.iter_mut().map(|(sig, s)| {
                let sig = *sig;
                Box::pin(async move {
                    s.recv().await;
                    sig
                })
            });
            futures_select_all(waits).await
        };
        tokio::select! {
            status = child.wait() => {
                return status.map_err(|e| Failure::new(OTHER, format!("cannot wait for the command: {e}")));
            }
            sig = received => {
                if let Some(pid) = pid {
                    if forwards(sig, in_terminal_foreground()) {
                        // SAFETY: kill has no memory effects; a child that already exited
                        // is reaped by the wait above, so `pid` is still ours.
                        unsafe { libc::kill(pid, sig) };
                    }
                }
            }
        }
    }
}

/// Waits for the first of several futures (a tiny `select_all`, to avoid a dependency).
async fn futures_select_all<F: std::future::Future<Output = i32> + Unpin>(
    futures: impl Iterator<Item = F>,
) -> i32 {
    let mut futures: Vec<F> = futures.collect();
    std::future::poll_fn(|cx| {
        for f in futures.iter_mut() {
            if let std::task::Poll::Ready(sig) = std::pin::Pin::new(f).poll(cx) {
                return std::task::Poll::Ready(sig);
            }
        }
        std::task::Poll::Pending
    })
    .await
}

/// Whether a signal Keyfob received goes on to the child.
fn forwards(sig: i32, in_terminal_foreground: bool) -> bool {
    FORWARDED.contains(&sig) || (FROM_TERMINAL.contains(&sig) && !in_terminal_foreground)
}

/// Whether Keyfob's process group is the foreground group of its controlling terminal, so
/// that the terminal's Ctrl-C reaches the child by itself.
fn in_terminal_foreground() -> bool {
    let Ok(tty) = std::fs::File::open("/dev/tty") else {
        return false;
    };
    // SAFETY: plain syscalls on a descriptor that lives for the call.
    unsafe { libc::tcgetpgrp(tty.as_raw_fd()) == libc::getpgrp() }
}

/// A pipe already holding `secret`, its write end closed: the read end, to hand down.
fn secret_pipe(secret: &[u8]) -> Result<OwnedFd, Failure> {
    let broken = |e: std::io::Error| Failure::new(OTHER, format!("cannot make a pipe: {e}"));
    let (reader, mut writer) = std::io::pipe().map_err(broken)?;
    // A header is far below the pipe's buffer (64 KiB on Linux): the write cannot block.
    writer.write_all(secret).map_err(broken)?;
    drop(writer);
    Ok(reader.into())
}

/// In the child: puts the pipe on [`SECRET_FD`] and lets it survive exec.
fn put_on_secret_fd(fd: i32) -> std::io::Result<()> {
    // SAFETY: async-signal-safe calls on descriptors the child owns.
    let ok = unsafe {
        if fd == SECRET_FD {
            // dup2 onto itself would keep close-on-exec set.
            libc::fcntl(fd, libc::F_SETFD, 0) != -1
        } else {
            libc::dup2(fd, SECRET_FD) != -1
        }
    };
    if ok {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Keyfob's exit status for a child's: its code, or 128 + the signal that ended it (the
/// shell's convention).
pub fn exit_code(status: ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => code as u8,
        (None, Some(sig)) => 128u8.saturating_add(sig as u8),
        (None, None) => OTHER,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    #[test]
    fn a_supervisors_signals_go_on_and_a_terminals_only_when_it_did_not_send_them() {
        assert!(forwards(libc::SIGTERM, true) && forwards(libc::SIGHUP, false));
        assert!(forwards(libc::SIGINT, false) && forwards(libc::SIGQUIT, false));
        assert!(!forwards(libc::SIGINT, true) && !forwards(libc::SIGQUIT, true));
        assert!(!forwards(libc::SIGKILL, false) && !forwards(libc::SIGCHLD, false));
    }

    #[test]
    fn the_childs_status_becomes_keyfobs() {
        assert_eq!(exit_code(ExitStatus::from_raw(0)), 0);
        assert_eq!(exit_code(ExitStatus::from_raw(7 << 8)), 7);
        assert_eq!(exit_code(ExitStatus::from_raw(libc::SIGTERM)), 128 + 15);
    }
}
