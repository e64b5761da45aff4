//! A Node test server: spawn it with a JSON config file, wait for the one JSON line it
//! prints when ready, keep its stderr, retry a start that stalls, and talk JSON to its
//! test hooks.
//!
//! Rarely (a few times in thousands of starts, never reproduced outside the test harness)
//! node stalls before printing its ready line. The servers are test infrastructure, so a
//! stalled start is retried with a fresh process and reported on stderr.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};

/// How long one start may take to print its ready line.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// Fresh processes tried before a start counts as failed.
const START_ATTEMPTS: usize = 3;
/// The most stderr kept per server.
const MAX_LOG_BYTES: usize = 64 * 1024;

/// What to start.
pub(crate) struct ServerSpec<'a> {
    /// How messages name it ("the test IdP").
    pub name: &'a str,
    /// The server script.
    pub script: PathBuf,
    /// Its configuration, written to a temporary file passed as the first argument.
    pub config: &'a Value,
    /// Environment variables that must not leak into it from the test's environment.
    pub env_remove: &'a [&'a str],
    /// Set to anything but 0 to echo its stderr live.
    pub echo_env: &'a str,
    /// Prefix of echoed lines.
    pub tag: &'a str,
    /// The User-Agent of the client that talks to it (GitHub's API requires one).
    pub user_agent: &'a str,
}

/// A running server. Killed on drop; it also exits when its stdin closes, so it never
/// outlives the test process.
pub(crate) struct NodeServer {
    name: String,
    child: Child,
    _stdin: ChildStdin,
    /// The ready line it printed.
    ready: String,
    /// Its stderr so far.
    logs: Arc<Mutex<String>>,
    _config: tempfile::TempPath,
    /// A client that follows no redirects, so tests see the server's own answers.
    pub http: reqwest::Client,
}

/// The repository root (the testkit lives in `<root>/tests/testkit`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

impl NodeServer {
    /// The ready line, parsed.
    pub fn ready<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_str(&self.ready).with_context(|| {
            format!(
                "{}'s ready line is not the expected JSON: {:?}",
                self.name, self.ready
            )
        })
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// What the server wrote to stderr so far (the last 64 KiB).
    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().clone()
    }

    /// Stops the server and waits for it to exit.
    pub async fn stop(mut self) -> Result<()> {
        self.child.start_kill().ok();
        self.child.wait().await?;
        Ok(())
    }

    pub async fn get_json(&self, url: &str) -> Result<Value> {
        let response = self
            .http
            .get(url)
            .send()
            .await
            .with_context(|| format!("GET {url}"))?;
        json_body(response).await
    }

    pub async fn post_json(&self, url: &str, body: &Value) -> Result<Value> {
        let response = self
            .http
            .post(url)
            .json(body)
            .send()
            .await
            .with_context(|| format!("POST {url}"))?;
        json_body(response).await
    }
}

/// The JSON body of a successful answer; any other status is an error quoting the body.
pub(crate) async fn json_body(response: reqwest::Response) -> Result<Value> {
    let status = response.status();
    let url = response.url().clone();
    let text = response.text().await?;
    if !status.is_success() {
        bail!("{url} answered {status}: {text}");
    }
    serde_json::from_str(&text).with_context(|| format!("{url} answered non-JSON: {text:?}"))
}

enum StartError {
    Stalled(String),
    Failed(anyhow::Error),
}

impl From<anyhow::Error> for StartError {
    fn from(e: anyhow::Error) -> Self {
        StartError::Failed(e)
    }
}

impl From<serde_json::Error> for StartError {
    fn from(e: serde_json::Error) -> Self {
        StartError::Failed(e.into())
    }
}

/// Whether the environment is a private keyring session of `scripts/with-keyring.sh`: its
/// marker, its session directory, and a HOME inside that directory.
fn private_keyring_session(
    marker: Option<&std::ffi::OsStr>,
    session_dir: Option<&Path>,
    home: Option<&Path>,
) -> bool {
    match (marker, session_dir, home) {
        (Some(m), Some(dir), Some(home)) => m == "1" && home.starts_with(dir),
        _ => false,
    }
}

/// The tests write tokens to the Secret Service of the session they run in: refuse unless it
/// is a private one, so a developer's own keyring never fills up with test entries.
pub fn ensure_private_keyring() -> Result<()> {
    let marker = std::env::var_os("KEYFOB_IN_KEYRING_SESSION");
    let dir = std::env::var_os("KEYFOB_SESSION_DIR").map(PathBuf::from);
    let home = std::env::var_os("HOME").map(PathBuf::from);
    if private_keyring_session(marker.as_deref(), dir.as_deref(), home.as_deref()) {
        Ok(())
    } else {
        bail!(
            "refusing to run outside a private keyring session: these tests write tokens to \
             the Secret Service. Run them through scripts/with-keyring.sh, for example \
             `scripts/with-keyring.sh cargo test`"
        )
    }
}

/// Notes a stalled start in the file named by `KEYFOB_STALL_LOG`, which the test command
/// prints at the end (and fails on when there are too many).
fn record_stalls(name: &str, stalls: &[String]) {
    eprintln!("[testkit] {name} stalled at start and was restarted: {stalls:?}");
    let Some(path) = std::env::var_os("KEYFOB_STALL_LOG") else {
        return;
    };
    let line = format!(
        "{name}: {} stalled start(s) before it came up\n",
        stalls.len()
    );
    let _ = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| std::io::Write::write_all(&mut f, line.as_bytes()));
}

/// Starts the server, retrying a stalled start.
pub(crate) async fn start(spec: &ServerSpec<'_>) -> Result<NodeServer> {
    ensure_private_keyring()?;
    let mut stalls = Vec::new();
    for _ in 0..START_ATTEMPTS {
        match start_once(spec).await {
            Ok(server) => {
                if !stalls.is_empty() {
                    record_stalls(spec.name, &stalls);
                }
                return Ok(server);
            }
            Err(StartError::Stalled(log)) => stalls.push(log),
            Err(StartError::Failed(e)) => return Err(e),
        }
    }
    Err(anyhow!(
        "{} printed no ready line within {READY_TIMEOUT:?}, {START_ATTEMPTS} times; its stderr:\n{stalls:#?}",
        spec.name
    ))
}

async fn start_once(spec: &ServerSpec<'_>) -> Result<NodeServer, StartError> {
    let mut config_file = tempfile::Builder::new()
        .prefix("keyfob-test-server-")
        .suffix(".json")
        .tempfile()
        .context("creating the server's config file")?;
    serde_json::to_writer(&mut config_file, spec.config)?;
    let config = config_file.into_temp_path();

    let node = std::env::var_os("KEYFOB_NODE").unwrap_or_else(|| "node".into());
    let mut command = Command::new(&node);
    command.arg(&spec.script).arg(&config);
    for name in spec.env_remove {
        command.env_remove(name);
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| {
            format!(
                "starting `{} {}` (is Node.js installed? set KEYFOB_NODE to its path)",
                node.to_string_lossy(),
                spec.script.display()
            )
        })?;

    let stdin = child.stdin.take().expect("stdin is piped");
    let stdout = child.stdout.take().expect("stdout is piped");
    let stderr = child.stderr.take().expect("stderr is piped");
    let logs = Arc::new(Mutex::new(String::new()));
    let echo = std::env::var_os(spec.echo_env).is_some_and(|v| v != "0");
    let stderr_task = tokio::spawn(collect_stderr(
        stderr,
        logs.clone(),
        echo,
        spec.tag.to_string(),
    ));

    let mut stdout = BufReader::new(stdout).lines();
    let ready = match tokio::time::timeout(READY_TIMEOUT, stdout.next_line()).await {
        Ok(Ok(Some(line))) => line,
        Ok(Ok(None)) | Ok(Err(_)) => {
            // stdout closed: the server died. Let stderr drain first.
            let status = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
            let _ = tokio::time::timeout(Duration::from_secs(2), stderr_task).await;
            let status = match status {
                Ok(Ok(status)) => status.to_string(),
                _ => "unknown status".to_owned(),
            };
            return Err(StartError::Failed(anyhow!(
                "{} exited before it was ready ({status}); its stderr:\n{}",
                spec.name,
                logs.lock().unwrap()
            )));
        }
        Err(_) => {
            let _ = child.start_kill();
            return Err(StartError::Stalled(logs.lock().unwrap().clone()));
        }
    };

    // Anything else on stdout would be a bug in the server; keep draining it so the server
    // can never block on a full pipe.
    let tag = spec.tag.to_string();
    tokio::spawn(async move {
        while let Ok(Some(line)) = stdout.next_line().await {
            eprintln!("{tag} stdout: {line}");
        }
    });
    // Idle connections are dropped after 2 s, before Node's server closes them (its
    // keepAliveTimeout is 5 s): a request reusing one just as Node closes it fails with
    // "connection reset by peer" (seen in google_preset's slow_down test, which waits 5 s).
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_idle_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(30))
        .user_agent(spec.user_agent)
        .build()
        .context("building the HTTP client")?;
    Ok(NodeServer {
        name: spec.name.to_owned(),
        child,
        _stdin: stdin,
        ready,
        logs,
        _config: config,
        http,
    })
}

async fn collect_stderr(
    stderr: tokio::process::ChildStderr,
    logs: Arc<Mutex<String>>,
    echo: bool,
    tag: String,
) {
    let mut lines = BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if echo {
            eprintln!("{tag} {line}");
        }
        let mut logs = logs.lock().unwrap();
        logs.push_str(&line);
        logs.push('\n');
        if logs.len() > MAX_LOG_BYTES {
            let mut cut = logs.len() - MAX_LOG_BYTES / 2;
            while !logs.is_char_boundary(cut) {
                cut += 1;
            }
            logs.replace_range(..cut, "[...]\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_private_session_counts() {
        let dir = Path::new("/tmp/keyfob-session.abc");
        let inside = dir.join("home");
        let m = Some(std::ffi::OsStr::new("1"));
        assert!(private_keyring_session(m, Some(dir), Some(&inside)));
        assert!(!private_keyring_session(
            m,
            Some(dir),
            Some(Path::new("/root"))
        ));
        assert!(!private_keyring_session(None, Some(dir), Some(&inside)));
        assert!(!private_keyring_session(m, None, Some(&inside)));
    }
}
