//! Test harness for Keyfob's integration tests.
//!
//! - [`Idp`]: a real OpenID provider (panva's `oidc-provider`, run by Node from
//!   `tests/idp/server.mjs`) with test hooks for request counters and failure
//!   injection. Needs `npm ci --prefix tests/idp` once.
//! - [`Browser`]: a scripted system browser that signs in and answers the
//!   consent page, returning the final redirect URL.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use keyfob_testkit::{Browser, Consent, Idp};
//! let idp = Idp::start().await?;
//! let auth_url = format!("{}/auth?...", idp.issuer());
//! let redirect = Browser::new().authorize(&auth_url, "alice", Consent::Approve).await?;
//! # Ok(()) }
//! ```

pub mod browser;
pub mod git_server;
pub mod github;
pub mod idp;
mod process;

pub use browser::{is_start_address, Browser, Consent};
pub use git_server::{GitServer, GitServerStats};
pub use github::{
    GitHubDeviceStats, GitHubFake, GitHubStats, GitHubTokenStats, GITHUB_ACCESS_TOKEN_TTL,
    GITHUB_APP_CLIENT_ID, GITHUB_APP_CLIENT_SECRET, GITHUB_CUSTOM_SCHEME_CALLBACK,
    GITHUB_LOOPBACK_CALLBACK, GITHUB_OAUTH_APP_CLIENT_ID, GITHUB_OAUTH_APP_CLIENT_SECRET,
    GITHUB_REFRESH_TOKEN_TTL, GITHUB_USER_HUBOT, GITHUB_USER_HUBOT_ID, GITHUB_USER_OCTOCAT,
    GITHUB_USER_OCTOCAT_EMAIL, GITHUB_USER_OCTOCAT_ID, GITHUB_USER_OCTOCAT_NAME,
};
pub use idp::{
    DevicePoll, Idp, Stats, TokenStats, CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET,
    CONFIDENTIAL_LOOPBACK_REDIRECT_URI, CONFIDENTIAL_REDIRECT_URI, GOOGLE_DEVICE_CLIENT_ID,
    GOOGLE_DEVICE_CLIENT_SECRET, NATIVE_CLIENT_ID, NATIVE_LOOPBACK_REDIRECT_URI,
    NATIVE_LOOPBACK_REDIRECT_URI_2, NATIVE_REDIRECT_URI, NATIVE_REDIRECT_URI_2,
    NATIVE_REDIRECT_URI_OTHER, POST_CLIENT_ID, POST_CLIENT_SECRET, POST_REDIRECT_URI,
};
pub use process::repo_root;
