//! The GitHub preset against the GitHub-like server in tests/github (each quirk and its
//! documentation source is listed in tests/github/QUIRKS.md). The server appends
//! `iss=<base>/login/oauth` to every callback, as github.com has since 2026-04-09.

mod common;

use std::time::Duration;

use keyfob_core::internals::{SecretKey, SecretStore};
use keyfob_core::{
    AccountStatus, Error, Flavor, GithubOptions, Keyfob, Paths, Provider, RedirectMode, Revocation,
    Secret,
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
    start_as(app, config, false).await
}

/// With `like_github_com`, the preset requires `iss` on every callback, as it does for
/// github.com and GHE.com.
async fn start_as(
    app: bool,
    config: serde_json::Value,
    like_github_com: bool,
) -> anyhow::Result<World> {
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
    options.sends_iss = like_github_com;
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

    /// Makes both of the account's tokens dead at GitHub (Keyfob's records stay as they are).
    async fn expire_both_tokens(&self, account: &keyfob_core::Account) -> anyhow::Result<()> {
        let secret = |key| self.secret(key);
        let access = secret(SecretKey::AccessToken(account.id.clone())).await?;
        let refresh = secret(SecretKey::RefreshToken(account.id.clone())).await?;
        self.github.expire(access.unwrap().expose()).await?;
        self.github.expire_refresh(refresh.unwrap().expose()).await
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
        Some(keyfob_core::GITHUB_APP_LOOPBACK_PORT)
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
    let err = keyfob_core::internals::exchange_code(
        &keyfob_core::internals::Http::new(),
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
    let redirected = Browser::new()
        .authorize(
            start.authorization_url.as_str(),
            "octocat",
            Consent::Approve,
        )
        .await?;
    // GitHub sends the error to the registered callback, not to the port asked for.
    assert!(
        redirected.starts_with(&format!("{callback}?"))
            && redirected.contains("error=redirect_uri_mismatch")
            && !redirected.contains("code="),
        "GitHub must refuse an unregistered port: {}",
        redirected.split('&').next().unwrap_or_default()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn callbacks_carry_the_login_oauth_issuer_and_a_wrong_one_is_refused() -> anyhow::Result<()> {
    for app in [false, true] {
        let w = start_as(app, serde_json::json!({}), true).await?;
        // Both apps registered the custom scheme too; its callback can be handed over as is.
        let mut provider = w.provider();
        provider.redirect = RedirectMode::Scheme;
        w.kf.save_provider(provider.clone(), keyfob_core::SecretUpdate::Keep)
            .await?;
        assert_eq!(provider.response_issuer(), w.github.response_issuer());
        assert_eq!(
            provider.issuer,
            w.github.base(),
            "accounts keep the web origin"
        );
        let start = w.kf.begin_link("github", Default::default()).await?;
        let callback = Browser::new()
            .authorize(
                start.authorization_url.as_str(),
                "octocat",
                Consent::Approve,
            )
            .await?;
        assert!(
            callback.contains(&format!(
                "iss={}",
                url::form_urlencoded::byte_serialize(w.github.response_issuer().as_bytes())
                    .collect::<String>()
            )),
            "GitHub sends iss: {}",
            callback.split('?').next().unwrap_or_default()
        );

        // Mix-up defence: the issuer Keyfob used to expect, another server, or none at all
        // (github.com always sends one) are refused, and nothing is stored.
        for (iss, expected) in [
            (Some(w.github.base().to_string()), "from issuer"),
            (
                Some("https://evil.example/login/oauth".to_string()),
                "from issuer",
            ),
            (None, "without 'iss'"),
        ] {
            let err =
                w.kf.complete_link(&common::with_param(&callback, "iss", iss.as_deref()))
                    .await
                    .unwrap_err();
            assert!(
                matches!(err, Error::Callback(_)) && err.to_string().contains(expected),
                "{iss:?}: {err}"
            );
            assert!(!err.to_string().contains("code="), "{err}");
        }
        assert!(w.kf.accounts()?.is_empty());

        // The genuine callback still works: a refused one changed nothing.
        let account = w.kf.complete_link(&callback).await?;
        assert_eq!(account.issuer, w.github.base());
        assert_eq!(account.login.as_deref(), Some("octocat"));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn an_enterprise_server_without_iss_still_links_but_github_com_does_not() -> anyhow::Result<()>
{
    let older = serde_json::json!({"iss": false});
    let ghes = start(false, older.clone()).await?;
    let account = ghes.link_loopback("octocat").await?;
    assert_eq!(account.login.as_deref(), Some("octocat"));

    // A refused loopback callback leaves the listener waiting, so the scheme shows it.
    let com = start_as(true, older, true).await?;
    let err = com.link_scheme("octocat").await.unwrap_err();
    assert!(format!("{err:#}").contains("without 'iss'"), "{err:#}");
    assert!(com.kf.accounts()?.is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_github_app_token_is_refreshed_to_end_the_grant() -> anyhow::Result<()> {
    // Tokens that expire within the minute, so Keyfob knows this one must be renewed.
    let w = start(true, serde_json::json!({"ttl": {"access": 30}})).await?;
    let account = w.link_scheme("octocat").await?;
    let access = w
        .secret(SecretKey::AccessToken(account.id.clone()))
        .await?
        .unwrap();
    // Hours past its expiry at GitHub: it no longer names the grant.
    w.github.expire(access.expose()).await?;

    let report = w.kf.unlink(&account.id).await?;
    assert_eq!(report.revocation, Revocation::Revoked, "{report:?}");
    let stats = w.github.stats().await?;
    assert_eq!(stats.token.refresh_token, 1, "refreshed first");
    assert_eq!(stats.delete_grant, 1);
    assert!(w.kf.accounts()?.is_empty());

    // Neither works: the refresh token has expired too. Unlink says so and where to go.
    let account = w.link_scheme("octocat").await?;
    w.expire_both_tokens(&account).await?;
    // Keyfob too knows the token expired an hour ago (as after a night's sleep).
    let accounts_file = w.kf.paths().accounts_file();
    let mut stored: serde_json::Value = serde_json::from_slice(&std::fs::read(&accounts_file)?)?;
    let an_hour_ago = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
    stored["accounts"][0]["access_expires_at"] =
        serde_json::json!(an_hour_ago.format(&time::format_description::well_known::Rfc3339)?);
    std::fs::write(&accounts_file, serde_json::to_vec(&stored)?)?;
    let report = w.kf.unlink(&account.id).await?;
    match &report.revocation {
        Revocation::Failed(reason) => assert!(
            reason.contains("valid access token") && reason.contains("could not be refreshed"),
            "{reason}"
        ),
        other => panic!("expected a failure, got {other:?}"),
    }
    assert!(
        report.manage_url.is_some(),
        "the user is sent to the settings page"
    );
    assert!(
        w.kf.accounts()?.is_empty(),
        "everything local is gone anyway"
    );
    assert_eq!(
        w.github.stats().await?.delete_grant,
        1,
        "GitHub was not asked in vain"
    );

    // Seconds left by Keyfob's clock but already dead at GitHub: Keyfob tries, and says why
    // GitHub refused.
    let account = w.link_scheme("octocat").await?;
    w.expire_both_tokens(&account).await?;
    let report = w.kf.unlink(&account.id).await?;
    match &report.revocation {
        Revocation::Failed(reason) => assert!(reason.contains("no live token"), "{reason}"),
        other => panic!("expected a failure, got {other:?}"),
    }
    assert!(report.manage_url.is_some());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_github_revoked_needs_a_relink_which_keeps_the_account() -> anyhow::Result<()> {
    // GitHub keeps ten tokens per user, app and scope set; one place makes the eviction
    // happen on the next sign-in instead of the eleventh.
    let w = start(false, serde_json::json!({"token_limit": 1})).await?;
    let account = w.link_loopback("octocat").await?;
    let checked = w.kf.check_account(&account.id).await?;
    assert_eq!(checked.status, AccountStatus::Ok);

    // The same app signs the same user in elsewhere (another machine's Keyfob).
    let elsewhere = tempfile::tempdir()?;
    let other = Keyfob::open(Paths::under(elsewhere.path()));
    other
        .add_github(
            {
                let mut o = GithubOptions::enterprise(w.github.base(), GITHUB_OAUTH_APP_CLIENT_ID)?;
                o.id = "github".into();
                o
            },
            Some(Secret::new(GITHUB_OAUTH_APP_CLIENT_SECRET)),
        )
        .await?;
    common::link_loopback(&other, "github", "octocat").await?;
    assert_eq!(w.github.stats().await?.revoked_by_limit, 1);

    let err = w.kf.check_account(&account.id).await.unwrap_err();
    match &err {
        Error::NeedsRelink { reason, .. } => {
            assert!(reason.contains("Bad credentials"), "{reason}");
            assert!(reason.contains("ten tokens"), "{reason}");
        }
        other => panic!("expected NeedsRelink, got {other}"),
    }
    assert!(matches!(
        w.kf.account(&account.id)?.status,
        AccountStatus::NeedsRelink { .. }
    ));
    let err =
        w.kf.access_token(&account.id, Duration::ZERO)
            .await
            .unwrap_err();
    assert!(matches!(err, Error::NeedsRelink { .. }), "{err}");

    // Linking again brings the same account back, under the same id.
    let relinked = w.link_loopback("octocat").await?;
    assert_eq!(relinked.id, account.id);
    assert_eq!(relinked.status, AccountStatus::Ok);
    assert_eq!(w.kf.accounts()?.len(), 1);
    w.kf.check_account(&account.id).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_relink_frees_the_place_of_the_token_it_replaces() -> anyhow::Result<()> {
    let w = start(false, serde_json::json!({})).await?;
    let account = w.link_loopback("octocat").await?;
    let old = w
        .secret(SecretKey::AccessToken(account.id.clone()))
        .await?
        .unwrap();
    let relinked = w.link_loopback("octocat").await?;
    assert_eq!(relinked.id, account.id);
    let new = w
        .secret(SecretKey::AccessToken(account.id.clone()))
        .await?
        .unwrap();
    assert_ne!(old, new);
    let stats = w.github.stats().await?;
    assert_eq!(stats.delete_token, 1, "the replaced token was deleted");
    assert_eq!(stats.delete_grant, 0, "the grant itself stays");
    let user = |token: Secret| {
        let url = format!("{}/user", w.github.api());
        async move {
            reqwest::Client::new()
                .get(url)
                .bearer_auth(token.expose())
                .header("User-Agent", "keyfob-test")
                .send()
                .await
                .map(|r| r.status().as_u16())
        }
    };
    assert_eq!(user(old).await?, 401);
    assert_eq!(user(new).await?, 200);
    Ok(())
}

/// A GitHub App's refresh token lives 6 months (`refresh_token_expires_in`): the keeper warns
/// once when one ends within 7 days, and a refresh (which brings a new one) moves the end.
#[tokio::test(flavor = "multi_thread")]
async fn the_keeper_warns_once_before_a_github_app_refresh_token_ends() -> anyhow::Result<()> {
    // Refresh tokens that live 6 days; access tokens 8 h, so no refresh is due meanwhile.
    let w = start(true, serde_json::json!({"ttl": {"refresh": 6 * 86_400}})).await?;
    let account = w.link_scheme("octocat").await?;
    let ends_at = account.refresh_expires_at.expect("tracked");
    assert!(ends_at < time::OffsetDateTime::now_utc() + time::Duration::days(7));

    let keeper = keyfob_core::Keeper::new();
    let control = keeper.control();
    let (tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let kf = Keyfob::open(w.kf.paths().clone());
    let task = tokio::spawn(async move { kf.keep(keeper, move |e| drop(tx.send(e))).await });
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let event = tokio::time::timeout(Duration::from_secs(10), events.recv()).await?;
        seen.push(event.expect("running"));
    }
    assert_eq!(
        seen,
        [
            keyfob_core::KeeperEvent::Started,
            keyfob_core::KeeperEvent::RefreshTokenEnding {
                account: account.id.clone(),
                ends_at
            }
        ]
    );
    // Once: a replan finds nothing new to say.
    control.replan();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(events.try_recv().is_err());
    control.stop();
    task.await??;
    assert_eq!(w.github.stats().await?.token.refresh_token, 0);
    Ok(())
}
