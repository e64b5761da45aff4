//! The GitHub preset against the GitHub-like server in tests/github (each quirk and its
//! documentation source is listed in tests/github/QUIRKS.md).

mod common;

use std::time::Duration;

use keyfob_core::store::secrets::{SecretKey, SecretStore};
use keyfob_core::{
    Error, Flavor, GithubOptions, Keyfob, Paths, Provider, RedirectMode, Revocation, Secret,
};
use keyfob_testkit::{
    Browser, Consent, GitHubFake, GITHUB_APP_CLIENT_ID, GITHUB_APP_CLIENT_SECRET,
    GITHUB_OAUTH_APP_CLIENT_ID, GITHUB_OAUTH_APP_CLIENT_SECRET, GITHUB_USER_OCTOCAT_EMAIL,
    GITHUB_USER_OCTOCAT_ID,
};

struct World {
    github: GitHubFake,
    _home: tempfile::TempDir,
    kf: Keyfob,
}

/// The fake plays a GitHub Enterprise Server: web at `/`, REST API at `/api/v3`.
async fn start(app: bool, config: serde_json::Value) -> anyhow::Result<World> {
    let github = GitHubFake::start_with(config).await?;
    let home = tempfile::tempdir()?;
    let kf = Keyfob::open(Paths::under(home.path()));
    let web = url::Url::parse(github.base())?;
    let (client_id, secret) = if app {
        (GITHUB_APP_CLIENT_ID, GITHUB_APP_CLIENT_SECRET)
    } else {
        (GITHUB_OAUTH_APP_CLIENT_ID, GITHUB_OAUTH_APP_CLIENT_SECRET)
    };
    let mut options = GithubOptions::enterprise(web.as_str(), client_id)?;
    options.id = "github".into();
    if app {
        options = options.github_app();
    }
    kf.add_github(options, Some(Secret::new(secret))).await?;
    Ok(World {
        github,
        _home: home,
        kf,
    })
}

impl World {
    fn provider(&self) -> Provider {
        self.kf.provider("github").unwrap()
    }

    async fn secret(&self, key: SecretKey) -> anyhow::Result<Option<Secret>> {
        Ok(SecretStore::new(self.kf.paths().keyring_service.clone())
            .get(key)
            .await?)
    }

    async fn link_loopback(&self, login: &str) -> anyhow::Result<keyfob_core::Account> {
        common::link_loopback(&self.kf, "github", login).await
    }

    async fn link_scheme(&self, login: &str) -> anyhow::Result<keyfob_core::Account> {
        let start = self.kf.begin_link("github", Default::default()).await?;
        let callback = Browser::new()
            .authorize(start.authorization_url.as_str(), login, Consent::Approve)
            .await?;
        Ok(self.kf.complete_link(&callback).await?)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn oauth_app_links_through_loopback_with_non_expiring_tokens() -> anyhow::Result<()> {
    let w = start(false, serde_json::json!({})).await?;
    let provider = w.provider();
    assert_eq!(provider.flavor, Flavor::Github);
    assert_eq!(provider.redirect, RedirectMode::Loopback);
    assert!(provider
        .userinfo_endpoint
        .as_ref()
        .unwrap()
        .as_str()
        .ends_with("/api/v3/user"));

    let account = w.link_loopback("octocat").await?;
    assert_eq!(
        account.subject,
        GITHUB_USER_OCTOCAT_ID.to_string(),
        "the numeric id is the subject"
    );
    assert_eq!(account.login.as_deref(), Some("octocat"));
    assert_eq!(account.display_name, GITHUB_USER_OCTOCAT_EMAIL);
    assert_eq!(
        account.scopes,
        vec!["read:user"],
        "comma-separated scopes are split"
    );
    assert_eq!(
        account.access_expires_at, None,
        "OAuth App tokens do not expire"
    );
    assert!(!account.has_refresh_token);
    let stats = w.github.stats().await?;
    assert_eq!(
        stats.user_without_agent, 0,
        "every API call sends a User-Agent"
    );
    assert_eq!(stats.user, 1);

    // A token that does not expire is served from the keyring whatever --min-valid says.
    let token =
        w.kf.access_token(&account.id, Duration::from_secs(3600))
            .await?;
    assert!(!token.refreshed && token.token.expose().starts_with("gho_"));

    // A user without a public email shows by login.
    let hubot = w.link_loopback("hubot").await?;
    assert_eq!(hubot.display_name, "hubot");
    assert_eq!(w.kf.accounts()?.len(), 2);

    // Unlink deletes the grant through the API (GitHub has no RFC 7009 endpoint).
    let report = w.kf.unlink(&account.id).await?;
    assert_eq!(report.revocation, Revocation::Revoked);
    assert_eq!(w.github.stats().await?.delete_grant, 1);
    let check = reqwest::Client::new()
        .get(format!("{}/user", w.github.api()))
        .bearer_auth(token.token.expose())
        .header("User-Agent", "keyfob-test")
        .send()
        .await?;
    assert_eq!(check.status(), 401, "the token is dead at GitHub");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn github_app_tokens_expire_refresh_and_rotate() -> anyhow::Result<()> {
    let w = start(true, serde_json::json!({})).await?;
    let provider = w.provider();
    assert_eq!(provider.redirect, RedirectMode::Scheme);
    assert_eq!(
        provider.loopback_port,
        Some(keyfob_core::provider::presets::GITHUB_APP_LOOPBACK_PORT)
    );

    let account = w.link_scheme("octocat").await?;
    let now = time::OffsetDateTime::now_utc();
    let expires = account.access_expires_at.expect("expiring user token");
    assert!(expires > now + time::Duration::hours(7) && expires < now + time::Duration::hours(9));
    let refresh_expires = account
        .refresh_expires_at
        .expect("refresh_token_expires_in is tracked");
    assert!(refresh_expires > now + time::Duration::days(180));
    assert!(account.has_refresh_token);
    assert!(
        account.scopes.is_empty(),
        "GitHub Apps grant permissions, not scopes"
    );

    // Asking for 9 h of validity forces refreshes; GitHub rotates the refresh token each time.
    let first = w
        .secret(SecretKey::RefreshToken(account.id.clone()))
        .await?
        .unwrap();
    for _ in 0..2 {
        let fresh =
            w.kf.access_token(&account.id, Duration::from_secs(9 * 3600))
                .await?;
        assert!(fresh.refreshed && fresh.token.expose().starts_with("ghu_"));
    }
    let current = w
        .secret(SecretKey::RefreshToken(account.id.clone()))
        .await?
        .unwrap();
    assert_ne!(current, first);
    assert!(current.expose().starts_with("ghr_"));
    assert_eq!(w.github.stats().await?.token.refresh_token, 2);

    // An expired refresh token: GitHub says bad_refresh_token, the account needs a new link.
    w.github.expire_refresh(current.expose()).await?;
    let err =
        w.kf.access_token(&account.id, Duration::from_secs(9 * 3600))
            .await
            .unwrap_err();
    assert!(matches!(err, Error::NeedsRelink { .. }), "{err}");
    assert!(
        err.to_string().contains("bad_refresh_token") || err.to_string().contains("refresh token"),
        "{err}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reused_code_is_refused_with_status_200_and_an_error_field() -> anyhow::Result<()> {
    let w = start(false, serde_json::json!({})).await?;
    let provider = w.provider();
    let (start, listener) = w.kf.begin_loopback_link("github", None).await?;
    let browser = Browser::new();
    let callback = browser
        .authorize(
            start.authorization_url.as_str(),
            "octocat",
            Consent::Approve,
        )
        .await?;
    let code = url::Url::parse(&callback)?
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let (account, page) =
        tokio::join!(listener.complete(&w.kf, &start), browser.deliver(&callback));
    account?;
    assert_eq!(page?.0, 200);

    // The same code again, straight at the token endpoint: GitHub answers HTTP 200 with
    // error=bad_verification_code, which Keyfob reports as a refusal, not as tokens.
    let err = keyfob_core::exchange::exchange_code(
        &keyfob_core::http::Http::new(),
        &provider,
        Some(&Secret::new(GITHUB_OAUTH_APP_CLIENT_SECRET)),
        &code,
        &start.redirect_uri,
        &Secret::new("x".repeat(43)),
    )
    .await
    .unwrap_err();
    match &err {
        Error::TokenRejected { code, .. } => assert_eq!(code, "bad_verification_code", "{err}"),
        other => panic!("expected bad_verification_code, got {other}"),
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_client_secret_is_a_clear_refusal() -> anyhow::Result<()> {
    let w = start(false, serde_json::json!({})).await?;
    w.kf.save_provider(
        w.provider(),
        keyfob_core::SecretUpdate::Set(Secret::new("wrong")),
    )
    .await?;
    let err = w.link_loopback("octocat").await.unwrap_err();
    assert!(
        format!("{err:#}").contains("incorrect_client_credentials"),
        "{err:#}"
    );
    assert!(w.kf.accounts()?.is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_github_app_links_over_loopback_on_its_registered_port() -> anyhow::Result<()> {
    // GitHub Apps match callback URLs exactly, port included: the preset listens on a fixed
    // port that the app registered. A free port stands in for the default 47213 here.
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let callback = format!("http://127.0.0.1:{port}/oauth/github");
    let app = serde_json::json!({"apps": [{
        "client_id": GITHUB_APP_CLIENT_ID, "client_secret": GITHUB_APP_CLIENT_SECRET,
        "kind": "github_app", "expiring": true, "callback_urls": [callback, "dev.keyfob.app:/oauth/github"],
    }]});
    let w = start(true, app).await?;
    let mut provider = w.provider();
    provider.loopback_port = Some(port);
    w.kf.save_provider(provider, keyfob_core::SecretUpdate::Keep)
        .await?;
    let account = w.link_loopback("octocat").await?;
    assert_eq!(account.login.as_deref(), Some("octocat"));

    // Any other port is refused by GitHub: the fixed port is what makes this work.
    let mut provider = w.provider();
    provider.loopback_port = None;
    w.kf.save_provider(provider, keyfob_core::SecretUpdate::Keep)
        .await?;
    let (start, _listener) = w.kf.begin_loopback_link("github", None).await?;
    let result = Browser::new()
        .authorize(
            start.authorization_url.as_str(),
            "octocat",
            Consent::Approve,
        )
        .await;
    let redirected = result
        .map(|u| u.contains("error=redirect_uri_mismatch"))
        .unwrap_or(true);
    assert!(redirected, "GitHub must refuse an unregistered port");
    Ok(())
}
