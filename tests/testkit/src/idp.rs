//! A real OpenID provider for tests: `tests/idp/server.mjs` (panva's
//! `oidc-provider`) run as a child process.

use anyhow::{anyhow, bail, Context, Result};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::process::{self, json_body, repo_root, NodeServer, ServerSpec};

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

/// Google mode's "TVs and Limited Input devices" client (tests/idp/GOOGLE.md "Device flow").
pub const GOOGLE_DEVICE_CLIENT_ID: &str = "google-device.apps.googleusercontent.test";
pub const GOOGLE_DEVICE_CLIENT_SECRET: &str = "google-device-secret";

/// Counters kept by the IdP: requests that reached each endpoint (requests
/// answered by an injected failure are not counted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct Stats {
    pub token: TokenStats,
    pub revocation: u64,
    pub userinfo: u64,
    pub introspection: u64,
    /// The most token requests the server was answering at one time.
    #[serde(default)]
    pub token_in_flight_max: u64,
}

/// One device-code poll in Google mode: what it was answered (`"tokens"` or the error code)
/// and how long after the previous poll of the same code it came.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DevicePoll {
    pub answer: String,
    pub since_last_ms: Option<u64>,
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
    server: NodeServer,
}

impl std::fmt::Debug for Idp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Idp")
            .field("issuer", &self.issuer)
            .field("pid", &self.server.pid())
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct ReadyLine {
    issuer: String,
    port: u16,
}

impl Idp {
    /// Starts the IdP with its default configuration.
    pub async fn start() -> Result<Idp> {
        Self::start_with(json!({})).await
    }

    /// Starts the IdP with `config` merged over the defaults, e.g.
    /// `{"ttl": {"AccessToken": 2}, "issAuthResp": false, "clients": [...]}`.
    /// A client whose `client_id` matches a default client replaces it.
    /// `{"tamper": MODE}` alters one thing in the provider's answers, as an OpenID
    /// Foundation RP test does (the modes are listed in `TAMPER_MODES` in server.mjs).
    pub async fn start_with(config: Value) -> Result<Idp> {
        let idp_dir = repo_root().join("tests/idp");
        if !idp_dir.join("node_modules/oidc-provider").is_dir() {
            bail!(
                "the test IdP's npm packages are not installed ({} is missing): \
                 run `npm ci --prefix tests/idp` in the repository root",
                idp_dir.join("node_modules/oidc-provider").display()
            );
        }
        let server = process::start(&ServerSpec {
            name: "the test IdP",
            script: idp_dir.join("server.mjs"),
            config: &config,
            env_remove: &["IDP_PORT", "IDP_IGNORE_STDIN"],
            echo_env: "KEYFOB_IDP_LOG",
            tag: "[idp]",
            user_agent: "keyfob-testkit",
        })
        .await?;
        let ready: ReadyLine = server.ready()?;
        Ok(Idp {
            issuer: ready.issuer,
            port: ready.port,
            server,
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
        self.server.get_json(&self.discovery_url()).await
    }

    /// Request counters since start or the last [`reset`](Self::reset).
    pub async fn stats(&self) -> Result<Stats> {
        let value = self.server.get_json(&self.url("/__test/stats")).await?;
        Ok(serde_json::from_value(value)?)
    }

    /// Zeroes the counters and cancels pending failure injections.
    pub async fn reset(&self) -> Result<()> {
        self.server
            .post_json(&self.url("/__test/reset"), &json!({}))
            .await
            .map(drop)
    }

    /// Makes every token request wait `delay` before the provider answers it (a slow
    /// provider, so that concurrent refreshes would overlap); zero turns it off.
    pub async fn delay_token_endpoint(&self, delay: std::time::Duration) -> Result<()> {
        self.server
            .post_json(
                &self.url("/__test/delay"),
                &json!({ "token_ms": delay.as_millis() as u64 }),
            )
            .await
            .map(drop)
    }

    /// The next `count` token answers (code or refresh) carry `expires_in: value`, or none
    /// at all for `"omit"`.
    pub async fn next_expires_in(&self, value: Value, count: u32) -> Result<()> {
        self.server
            .post_json(
                &self.url("/__test/expires_in"),
                &json!({ "value": value, "count": count }),
            )
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
        self.server
            .post_json(
                &self.url("/__test/fail"),
                &json!({ "endpoint": endpoint, "mode": mode, "count": count }),
            )
            .await
            .map(drop)
    }

    /// Google mode: the next `count` device-code polls of the device client that would be
    /// pending are answered 403 `slow_down` instead, however slowly they come.
    pub async fn google_slow_down(&self, count: u32) -> Result<()> {
        self.server
            .post_json(
                &self.url("/__test/google_slow_down"),
                &json!({ "count": count }),
            )
            .await
            .map(drop)
    }

    /// Google mode: every device-code poll of the device client since start or the last
    /// reset, in order.
    pub async fn google_device_polls(&self) -> Result<Vec<DevicePoll>> {
        let mut value = self.server.get_json(&self.url("/__test/stats")).await?;
        Ok(serde_json::from_value(value["google_device_polls"].take())?)
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
            .server
            .http
            .post(self.introspection_endpoint())
            .basic_auth(form_encode(client_id), Some(form_encode(client_secret)))
            .form(&[("token", token)])
            .send()
            .await
            .context("introspection request")?;
        json_body(response).await
    }

    /// RFC 7009 revocation of `token` as `client_id` (with its secret in the body, for a
    /// confidential client), as a user revoking Keyfob's access at the provider; any answer
    /// but 200 is an error.
    pub async fn revoke(
        &self,
        token: &str,
        client_id: &str,
        client_secret: Option<&str>,
    ) -> Result<()> {
        let mut form = vec![("token", token), ("client_id", client_id)];
        form.extend(client_secret.map(|s| ("client_secret", s)));
        let answer = self
            .server
            .http
            .post(self.revocation_endpoint())
            .form(&form)
            .send()
            .await
            .context("revocation request")?;
        anyhow::ensure!(answer.status() == 200, "revocation: {}", answer.status());
        Ok(())
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
        self.server.logs()
    }

    /// Stops the server and waits for it to exit.
    pub async fn stop(self) -> Result<()> {
        self.server.stop().await
    }
}

/// RFC 6749 2.3.1: client credentials in basic auth are form-urlencoded first.
fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
