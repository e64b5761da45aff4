//! A GitHub-like OAuth server for tests: `tests/github/server.mjs` (plain
//! Node, no npm packages) run as a child process. It reproduces GitHub's
//! documented OAuth web flow, token endpoint and `GET /user` (see
//! `tests/github/QUIRKS.md`). The web paths are served at [`GitHubFake::base`]
//! (github.com) and the REST API under [`GitHubFake::api`] (api.github.com),
//! like GitHub Enterprise Server's `https://HOST` and `https://HOST/api/v3`.

use anyhow::Result;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::process::{self, repo_root, NodeServer, ServerSpec};

/// The default OAuth App: classic scopes, non-expiring `gho_` tokens (unless
/// the `offline_access` scope is requested).
pub const GITHUB_OAUTH_APP_CLIENT_ID: &str = "Iv-oauth-app";
pub const GITHUB_OAUTH_APP_CLIENT_SECRET: &str = "oauth-app-secret";
/// The default GitHub App with expiring user tokens: `ghu_` access tokens
/// (8 h), `ghr_` refresh tokens (6 months) that rotate on use, empty `scope`.
pub const GITHUB_APP_CLIENT_ID: &str = "Iv1.github-app";
pub const GITHUB_APP_CLIENT_SECRET: &str = "github-app-secret";

/// Loopback callback URL registered for both default apps. For the OAuth App
/// any port may be added (`http://127.0.0.1:45678/oauth/github`), per GitHub's
/// "Loopback redirect urls" rule; the GitHub App needs an exact match.
pub const GITHUB_LOOPBACK_CALLBACK: &str = "http://127.0.0.1/oauth/github";
/// Private-use scheme callback URL registered for both default apps.
pub const GITHUB_CUSTOM_SCHEME_CALLBACK: &str = "dev.keyfob.app:/oauth/github";

/// Default users (sign in with the login; any password).
pub const GITHUB_USER_OCTOCAT: &str = "octocat";
pub const GITHUB_USER_OCTOCAT_ID: u64 = 583231;
pub const GITHUB_USER_OCTOCAT_NAME: &str = "The Octocat";
pub const GITHUB_USER_OCTOCAT_EMAIL: &str = "octocat@github.com";
/// A user without a name or public email (`null` in `GET /user`).
pub const GITHUB_USER_HUBOT: &str = "hubot";
pub const GITHUB_USER_HUBOT_ID: u64 = 480938;

/// `expires_in` of expiring user access tokens (8 hours).
pub const GITHUB_ACCESS_TOKEN_TTL: u64 = 28800;
/// `refresh_token_expires_in` (about 6 months).
pub const GITHUB_REFRESH_TOKEN_TTL: u64 = 15897600;

/// Request counters kept by the fake.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct GitHubStats {
    pub token: GitHubTokenStats,
    /// `GET /api/v3/user` requests that had a User-Agent (any outcome).
    pub user: u64,
    /// `GET /api/v3/user` requests rejected for having no User-Agent.
    pub user_without_agent: u64,
    /// `DELETE /api/v3/applications/{client_id}/token` requests (any outcome).
    pub delete_token: u64,
    /// `DELETE /api/v3/applications/{client_id}/grant` requests (any outcome).
    #[serde(default)]
    pub delete_grant: u64,
    /// Tokens revoked because an eleventh was issued for the same user, app and scopes.
    #[serde(default)]
    pub revoked_by_limit: u64,
    /// The device flow's counters.
    #[serde(default)]
    pub device: GitHubDeviceStats,
}

/// Device flow counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct GitHubDeviceStats {
    /// Device codes handed out.
    pub codes: u64,
    /// Polls answered `slow_down`.
    pub slow_down: u64,
    /// Polls answered `authorization_pending`.
    pub pending: u64,
}

/// Token endpoint requests by grant type (any outcome).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct GitHubTokenStats {
    /// Code exchanges (`grant_type` absent or `authorization_code`).
    pub authorization_code: u64,
    pub refresh_token: u64,
    /// Device-code polls (`urn:ietf:params:oauth:grant-type:device_code`).
    #[serde(default)]
    pub device_code: u64,
}

/// A running GitHub-like server. Killed when dropped.
pub struct GitHubFake {
    base: String,
    api: String,
    port: u16,
    server: NodeServer,
}

impl std::fmt::Debug for GitHubFake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHubFake")
            .field("base", &self.base)
            .field("pid", &self.server.pid())
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct ReadyLine {
    base: String,
    api: String,
    port: u16,
}

impl GitHubFake {
    /// Starts the server with its default apps and users.
    pub async fn start() -> Result<GitHubFake> {
        Self::start_with(json!({})).await
    }

    /// Starts the server with `config` merged over the defaults, e.g.
    /// `{"apps": [{"client_id": "...", "kind": "github_app", "expiring": false, ...}],
    ///   "ttl": {"access": 2}, "users": [...]}`. An app whose `client_id` matches a
    /// default app replaces it; `users` replaces the default users.
    pub async fn start_with(config: Value) -> Result<GitHubFake> {
        let server = process::start(&ServerSpec {
            name: "the GitHub fake",
            script: repo_root().join("tests/github/server.mjs"),
            config: &config,
            env_remove: &["GITHUB_FAKE_PORT", "IDP_IGNORE_STDIN"],
            echo_env: "KEYFOB_GITHUB_FAKE_LOG",
            tag: "[github-fake]",
            user_agent: "keyfob-testkit",
        })
        .await?;
        let ready: ReadyLine = server.ready()?;
        Ok(GitHubFake {
            base: ready.base,
            api: ready.api,
            port: ready.port,
            server,
        })
    }

    /// The web base URL (github.com's role): `http://127.0.0.1:<port>`, no trailing slash.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The REST API base URL (api.github.com's role): `http://127.0.0.1:<port>/api/v3`.
    pub fn api(&self) -> &str {
        &self.api
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `base` + `path` (`path` starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// `GET {base}/login/oauth/authorize`.
    pub fn authorization_endpoint(&self) -> String {
        self.url("/login/oauth/authorize")
    }

    /// `POST {base}/login/oauth/access_token`.
    pub fn token_endpoint(&self) -> String {
        self.url("/login/oauth/access_token")
    }

    /// The `iss` every callback carries (unless started with `"iss": false`), as
    /// github.com's `https://github.com/login/oauth`.
    pub fn response_issuer(&self) -> String {
        self.url("/login/oauth")
    }

    /// `GET {api}/user`.
    pub fn user_endpoint(&self) -> String {
        format!("{}/user", self.api)
    }

    /// `DELETE {api}/applications/{client_id}/token`.
    pub fn delete_token_endpoint(&self, client_id: &str) -> String {
        format!("{}/applications/{client_id}/token", self.api)
    }

    /// `DELETE {api}/applications/{client_id}/grant`.
    pub fn delete_grant_endpoint(&self, client_id: &str) -> String {
        format!("{}/applications/{client_id}/grant", self.api)
    }

    /// Request counters since start or the last [`reset`](Self::reset).
    pub async fn stats(&self) -> Result<GitHubStats> {
        let value = self.server.get_json(&self.url("/__test/stats")).await?;
        Ok(serde_json::from_value(value)?)
    }

    /// Zeroes the counters and forgets remembered authorizations (so the
    /// authorization page shows again) and browser sessions. Tokens stay valid.
    pub async fn reset(&self) -> Result<()> {
        self.server
            .post_json(&self.url("/__test/reset"), &json!({}))
            .await
            .map(drop)
    }

    /// Answers the next device-code poll `slow_down`, whatever its pace.
    pub async fn slow_down_next_poll(&self) -> Result<()> {
        self.server
            .post_json(&self.url("/__test/slow_down"), &json!({}))
            .await
            .map(drop)
    }

    /// Makes `access_token` expire now (`GET /user` answers 401 Bad
    /// credentials); its refresh token, if any, stays usable.
    pub async fn expire(&self, access_token: &str) -> Result<()> {
        self.server
            .post_json(
                &self.url("/__test/expire"),
                &json!({ "access_token": access_token }),
            )
            .await
            .map(drop)
    }

    /// Makes `refresh_token` expire now (a refresh answers `bad_refresh_token`).
    pub async fn expire_refresh(&self, refresh_token: &str) -> Result<()> {
        self.server
            .post_json(
                &self.url("/__test/expire"),
                &json!({ "refresh_token": refresh_token }),
            )
            .await
            .map(drop)
    }

    /// What the server wrote to stderr so far (the last 64 KiB). Set
    /// `KEYFOB_GITHUB_FAKE_LOG=1` to echo it live and `GITHUB_FAKE_VERBOSE=1`
    /// to make the server log every request.
    pub fn logs(&self) -> String {
        self.server.logs()
    }

    /// Stops the server and waits for it to exit.
    pub async fn stop(self) -> Result<()> {
        self.server.stop().await
    }
}
