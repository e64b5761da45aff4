//! A real OpenID provider for tests: `tests/idp/server.mjs` (panva's
//! `oidc-provider`) run as a child process.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};

/// Public native client (`token_endpoint_auth_method: none`, PKCE required).
pub const NATIVE_CLIENT_ID: &str = "keyfob-native";
/// Custom-scheme redirect URIs registered for [`NATIVE_CLIENT_ID`].
pub const NATIVE_REDIRECT_URI: &str = "dev.keyfob.app:/oauth/local";
pub const NATIVE_REDIRECT_URI_2: &str = "dev.keyfob.app:/oauth/local2";
pub const NATIVE_REDIRECT_URI_OTHER: &str = "dev.keyfob.app:/oauth/other";
/// Loopback redirect URIs registered for [`NATIVE_CLIENT_ID`]; any port may be
/// added when authorizing (RFC 8252 section 7.3), e.g. `http://127.0.0.1:45678/oauth/local`.
pub const NATIVE_LOOPBACK_REDIRECT_URI: &str = "http://127.0.0.1/oauth/local";
pub const NATIVE_LOOPBACK_REDIRECT_URI_2: &str = "http://127.0.0.1/oauth/local2";

/// Confidential client authenticating with `client_secret_basic`.
pub const CONFIDENTIAL_CLIENT_ID: &str = "keyfob-confidential";
pub const CONFIDENTIAL_CLIENT_SECRET: &str = "confidential-secret-value";
pub const CONFIDENTIAL_REDIRECT_URI: &str = "dev.keyfob.app:/oauth/local-secret";
/// Loopback redirect for [`CONFIDENTIAL_CLIENT_ID`] (any port).
pub const CONFIDENTIAL_LOOPBACK_REDIRECT_URI: &str = "http://127.0.0.1/oauth/local-secret";

/// Confidential client authenticating with `client_secret_post`.
pub const POST_CLIENT_ID: &str = "keyfob-post";
pub const POST_CLIENT_SECRET: &str = "post-secret-value";
pub const POST_REDIRECT_URI: &str = "dev.keyfob.app:/oauth/local-post";

/// How long [`Idp::start`] waits for the server's ready line.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// Fresh processes tried before a start counts as failed.
const START_ATTEMPTS: usize = 3;

/// Why one start of the provider did not give a ready provider.
enum StartError {
    /// No ready line in time: retried.
    Stalled(String),
    /// Anything else: reported at once.
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

impl From<reqwest::Error> for StartError {
    fn from(e: reqwest::Error) -> Self {
        StartError::Failed(e.into())
    }
}
/// How much of the server's stderr is kept for error messages and [`Idp::logs`].
const MAX_LOG_BYTES: usize = 64 * 1024;

/// Counters kept by the IdP: requests that reached each endpoint (requests
/// answered by an injected failure are not counted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct Stats {
    pub token: TokenStats,
    pub revocation: u64,
    pub userinfo: u64,
    pub introspection: u64,
}

/// Token endpoint requests by `grant_type`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct TokenStats {
    pub authorization_code: u64,
    pub refresh_token: u64,
    /// Any other or missing `grant_type`.
    pub other: u64,
}

impl TokenStats {
    pub fn total(&self) -> u64 {
        self.authorization_code + self.refresh_token + self.other
    }
}

/// A running test IdP. Killed when dropped.
pub struct Idp {
    issuer: String,
    port: u16,
    http: reqwest::Client,
    logs: Arc<Mutex<String>>,
    child: Child,
    // Keeping stdin open keeps the server alive; it exits when stdin closes,
    // so it never outlives this process.
    _stdin: ChildStdin,
    _config: tempfile::TempPath,
}

impl std::fmt::Debug for Idp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Idp")
            .field("issuer", &self.issuer)
            .field("pid", &self.child.id())
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct ReadyLine {
    issuer: String,
    port: u16,
}

/// The repository root (the testkit lives in `<root>/tests/testkit`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

impl Idp {
    /// Starts the IdP with its default configuration.
    pub async fn start() -> Result<Idp> {
        Self::start_with(json!({})).await
    }

    /// Starts the IdP with `config` merged over the defaults, e.g.
    /// `{"ttl": {"AccessToken": 2}, "issAuthResp": false, "clients": [...]}`.
    /// A client whose `client_id` matches a default client replaces it.
    pub async fn start_with(config: Value) -> Result<Idp> {
        // Rarely (a few times in thousands of starts, never reproduced outside the test
        // harness) node stalls before printing its ready line. The provider is test
        // infrastructure, so a stalled start is retried with a fresh process and reported.
        let mut stalls = Vec::new();
        for _ in 0..START_ATTEMPTS {
            match Self::start_once(&config).await {
                Ok(idp) => {
                    if !stalls.is_empty() {
                        eprintln!(
                            "[testkit] the test IdP stalled at start and was restarted: {stalls:?}"
                        );
                    }
                    return Ok(idp);
                }
                Err(StartError::Stalled(log)) => stalls.push(log),
                Err(StartError::Failed(e)) => return Err(e),
            }
        }
        bail!("the test IdP printed no ready line within {READY_TIMEOUT:?}, {START_ATTEMPTS} times; its stderr:\n{stalls:#?}")
    }

    async fn start_once(config: &Value) -> Result<Idp, StartError> {
        let idp_dir = repo_root().join("tests/idp");
        let server = idp_dir.join("server.mjs");
        if !idp_dir.join("node_modules/oidc-provider").is_dir() {
            return Err(StartError::Failed(anyhow!(
                "the test IdP's npm packages are not installed ({} is missing): \
                 run `npm ci --prefix tests/idp` in the repository root",
                idp_dir.join("node_modules/oidc-provider").display()
            )));
        }

        let mut config_file = tempfile::Builder::new()
            .prefix("keyfob-idp-")
            .suffix(".json")
            .tempfile()
            .context("creating the IdP config file")?;
        serde_json::to_writer(&mut config_file, &config)?;
        let config_path = config_file.into_temp_path();

        let node = std::env::var_os("KEYFOB_NODE").unwrap_or_else(|| "node".into());
        let mut child = Command::new(&node)
            .arg(&server)
            .arg(&config_path)
            .env_remove("IDP_PORT")
            .env_remove("IDP_IGNORE_STDIN")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| {
                format!(
                    "starting `{} {}` (is Node.js installed? set KEYFOB_NODE to its path)",
                    node.to_string_lossy(),
                    server.display()
                )
            })?;

        let stdin = child.stdin.take().expect("stdin is piped");
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");

        let logs = Arc::new(Mutex::new(String::new()));
        let echo = std::env::var_os("KEYFOB_IDP_LOG").is_some_and(|v| v != "0");
        let stderr_task = tokio::spawn(collect_stderr(stderr, logs.clone(), echo));

        let mut stdout = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(READY_TIMEOUT, stdout.next_line()).await;
        let line = match ready {
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
                    "the test IdP exited before it was ready ({status}); its stderr:\n{}",
                    logs.lock().unwrap()
                )));
            }
            Err(_) => {
                let _ = child.start_kill();
                return Err(StartError::Stalled(logs.lock().unwrap().clone()));
            }
        };
        let ready: ReadyLine = serde_json::from_str(&line).with_context(|| {
            format!("the test IdP's ready line is not the expected JSON: {line:?}")
        })?;

        // Anything else on stdout would be a bug in server.mjs; keep draining
        // it so the server can never block on a full pipe.
        tokio::spawn(async move {
            while let Ok(Some(line)) = stdout.next_line().await {
                eprintln!("[idp stdout] {line}");
            }
        });

        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()?;

        Ok(Idp {
            issuer: ready.issuer,
            port: ready.port,
            http,
            logs,
            child,
            _stdin: stdin,
            _config: config_path,
        })
    }

    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `issuer` + `path` (`path` starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.issuer, path)
    }

    /// The `.well-known/openid-configuration` URL.
    pub fn discovery_url(&self) -> String {
        self.url("/.well-known/openid-configuration")
    }

    pub fn authorization_endpoint(&self) -> String {
        self.url("/auth")
    }

    pub fn token_endpoint(&self) -> String {
        self.url("/token")
    }

    pub fn revocation_endpoint(&self) -> String {
        self.url("/token/revocation")
    }

    pub fn introspection_endpoint(&self) -> String {
        self.url("/token/introspection")
    }

    pub fn userinfo_endpoint(&self) -> String {
        self.url("/me")
    }

    pub fn jwks_uri(&self) -> String {
        self.url("/jwks")
    }

    /// Fetches the discovery document.
    pub async fn discovery(&self) -> Result<Value> {
        self.get_json(&self.discovery_url()).await
    }

    /// Request counters since start or the last [`reset`](Self::reset).
    pub async fn stats(&self) -> Result<Stats> {
        let value = self.get_json(&self.url("/__test/stats")).await?;
        Ok(serde_json::from_value(value)?)
    }

    /// Zeroes the counters and cancels pending failure injections.
    pub async fn reset(&self) -> Result<()> {
        self.post_json(&self.url("/__test/reset"), &json!({}))
            .await
            .map(drop)
    }

    /// Makes the next `count` requests to `endpoint` (`"token"`,
    /// `"revocation"`, `"userinfo"` or `"introspection"`) get a fake answer
    /// instead of reaching the provider. `mode` is one of:
    /// - `"status503"`: 503 with a small HTML body (a sick proxy),
    /// - `"status500"`: 500 with `{"error":"server_error",...}`,
    /// - `"html200"`: 200 `text/html` `<html>oops</html>`,
    /// - `"error200"`: 200 JSON `{"error":"bad_verification_code",...}` (GitHub style),
    /// - `"garbage200"`: 200 `application/json` body `not json`.
    ///
    /// `count` 0 cancels a pending injection for that endpoint.
    pub async fn fail_next(&self, endpoint: &str, mode: &str, count: u32) -> Result<()> {
        self.post_json(
            &self.url("/__test/fail"),
            &json!({ "endpoint": endpoint, "mode": mode, "count": count }),
        )
        .await
        .map(drop)
    }

    /// RFC 7662 introspection of `token`, authenticating as `client_id` with
    /// HTTP basic auth. Any registered client may introspect any token.
    pub async fn introspect(
        &self,
        token: &str,
        client_id: &str,
        client_secret: &str,
    ) -> Result<Value> {
        let response = self
            .http
            .post(self.introspection_endpoint())
            .basic_auth(form_encode(client_id), Some(form_encode(client_secret)))
            .form(&[("token", token)])
            .send()
            .await
            .context("introspection request")?;
        json_body(response).await
    }

    /// Whether `token` (access or refresh token) is currently active,
    /// introspecting as [`CONFIDENTIAL_CLIENT_ID`].
    pub async fn is_active(&self, token: &str) -> Result<bool> {
        let value = self
            .introspect(token, CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET)
            .await?;
        value["active"]
            .as_bool()
            .ok_or_else(|| anyhow!("introspection response without `active`: {value}"))
    }

    /// What the server wrote to stderr so far (the last 64 KiB). Set
    /// `KEYFOB_IDP_LOG=1` to also echo it live, and `IDP_VERBOSE=1` to make
    /// the server log every request.
    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().clone()
    }

    /// Stops the server and waits for it to exit.
    pub async fn stop(mut self) -> Result<()> {
        self.child.start_kill().ok();
        self.child.wait().await?;
        Ok(())
    }

    async fn get_json(&self, url: &str) -> Result<Value> {
        let response = self
            .http
            .get(url)
            .send()
            .await
            .with_context(|| format!("GET {url}"))?;
        json_body(response).await
    }

    async fn post_json(&self, url: &str, body: &Value) -> Result<Value> {
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

/// RFC 6749 2.3.1: client credentials in basic auth are form-urlencoded first.
fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn json_body(response: reqwest::Response) -> Result<Value> {
    let status = response.status();
    let url = response.url().clone();
    let text = response.text().await?;
    if !status.is_success() {
        bail!("{url} answered {status}: {text}");
    }
    serde_json::from_str(&text).with_context(|| format!("{url} answered non-JSON: {text:?}"))
}

async fn collect_stderr(stderr: tokio::process::ChildStderr, logs: Arc<Mutex<String>>, echo: bool) {
    let mut lines = BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if echo {
            eprintln!("[idp] {line}");
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
