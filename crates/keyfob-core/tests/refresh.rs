//! Fresh tokens: cached while valid, refreshed when not, rotation kept, and errors that
//! leave the stored tokens alone or mark the account for a new link.

mod common;

use std::time::Duration;

use common::World;
use keyfob_core::internals::SecretKey;
use keyfob_core::{AccountStatus, Error, LinkOptions};
use keyfob_testkit::Consent;
use serde_json::json;

const MINUTE: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread")]
async fn a_valid_token_is_served_from_the_keyring_without_network() -> anyhow::Result<()> {
    let w = World::start().await?;
    let account = w.link("local", "alice").await?;
    let before = w.idp.stats().await?;
    let a = w.kf.access_token(&account.id, MINUTE).await?;
    let b = w.kf.access_token(&account.id, MINUTE).await?;
    assert_eq!(a.token, b.token);
    assert!(!a.refreshed && !b.refreshed);
    let after = w.idp.stats().await?;
    assert_eq!(
        after.token.total(),
        before.token.total(),
        "no token request"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn expiring_tokens_are_refreshed_and_rotation_is_kept() -> anyhow::Result<()> {
    // Tokens live 30 s; asking for 60 s of validity forces a refresh on every call.
    let w = World::start_with(json!({"ttl": {"AccessToken": 30}})).await?;
    let account = w.link("local", "alice").await?;
    let first_refresh = w
        .secret(SecretKey::RefreshToken(account.id.clone()))
        .await?
        .unwrap();
    let old = w.kf.access_token(&account.id, Duration::ZERO).await?.token;

    let mut seen = vec![old];
    for round in 1..=3 {
        let fresh = w.kf.access_token(&account.id, MINUTE).await?;
        assert!(fresh.refreshed, "round {round}");
        assert!(!seen.contains(&fresh.token), "a new token each time");
        assert!(w.idp.is_active(fresh.token.expose()).await?);
        seen.push(fresh.token);
    }
    // The provider rotates refresh tokens and revokes the grant when an old one is reused:
    // three refreshes in a row only work if each rotated token was stored.
    assert_eq!(w.idp.stats().await?.token.refresh_token, 3);
    let current = w
        .secret(SecretKey::RefreshToken(account.id.clone()))
        .await?
        .unwrap();
    assert_ne!(current, first_refresh);
    assert!(!w.idp.is_active(first_refresh.expose()).await?);

    let stored = w.kf.account(&account.id)?;
    assert!(stored.refreshed_at.is_some());
    assert!(stored.access_expires_at > account.access_expires_at);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refresh_without_a_new_refresh_token_keeps_the_old_one() -> anyhow::Result<()> {
    // Google-like: no rotation, and the refresh response carries no refresh token.
    let w = World::start_with(json!({"ttl": {"AccessToken": 30}, "refreshTokenOnRefresh": false}))
        .await?;
    let account = w.link("local", "alice").await?;
    let refresh = w
        .secret(SecretKey::RefreshToken(account.id.clone()))
        .await?
        .unwrap();
    for _ in 0..2 {
        assert!(w.kf.access_token(&account.id, MINUTE).await?.refreshed);
    }
    assert_eq!(
        w.secret(SecretKey::RefreshToken(account.id.clone()))
            .await?,
        Some(refresh)
    );
    assert!(w.kf.account(&account.id)?.has_refresh_token);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_grant_marks_the_account_for_a_new_link() -> anyhow::Result<()> {
    let w = World::start_with(json!({"ttl": {"AccessToken": 30}})).await?;
    let account = w.link("local", "alice").await?;
    // The user revokes Keyfob's access at the provider: the refresh token dies.
    let refresh = w
        .secret(SecretKey::RefreshToken(account.id.clone()))
        .await?
        .unwrap();
    w.idp
        .revoke(refresh.expose(), keyfob_testkit::NATIVE_CLIENT_ID, None)
        .await?;

    let err = w.kf.access_token(&account.id, MINUTE).await.unwrap_err();
    assert!(matches!(err, Error::NeedsRelink { .. }), "{err}");
    assert!(err.to_string().contains("linked again"), "{err}");
    assert!(matches!(
        w.kf.account(&account.id)?.status,
        AccountStatus::NeedsRelink { .. }
    ));

    // Persisted, and no retry loop: the next call fails without asking the provider.
    let before = w.idp.stats().await?.token.refresh_token;
    assert!(matches!(
        w.reopen().access_token(&account.id, MINUTE).await,
        Err(Error::NeedsRelink { .. })
    ));
    assert_eq!(w.idp.stats().await?.token.refresh_token, before);

    // Linking again heals the account.
    let healed = w.link("local", "alice").await?;
    assert_eq!(healed.id, account.id);
    assert_eq!(healed.status, AccountStatus::Ok);
    assert!(w.kf.access_token(&account.id, Duration::ZERO).await.is_ok());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_refresh_token_a_valid_account_is_left_alone() -> anyhow::Result<()> {
    // Without offline_access the provider issues no refresh token; the token lives 2 min.
    let w = World::start_with(json!({"ttl": {"AccessToken": 120}})).await?;
    let account = link_without_refresh_token(&w).await?;
    let token = w.kf.access_token(&account.id, MINUTE).await?.token;

    // "Refresh now" and a longer validity than is left cannot be had, and say why...
    let err = w.kf.refresh_account(&account.id).await.unwrap_err();
    assert!(matches!(err, Error::CannotRefresh { .. }), "{err}");
    assert!(err.to_string().contains("no refresh token"), "{err}");
    let err =
        w.kf.access_token(&account.id, 10 * MINUTE)
            .await
            .unwrap_err();
    assert!(matches!(err, Error::CannotRefresh { .. }), "{err}");
    assert!(err.to_string().contains("valid for 1 min"), "{err}");

    // ...but the account is not broken: its token is still served, nothing was asked of
    // the provider, and the stored expiry was not touched.
    assert_eq!(w.kf.account(&account.id)?, account);
    assert_eq!(w.kf.access_token(&account.id, MINUTE).await?.token, token);
    assert_eq!(w.idp.stats().await?.token.refresh_token, 0);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_refresh_token_an_expired_account_needs_a_new_link() -> anyhow::Result<()> {
    let w = World::start_with(json!({"ttl": {"AccessToken": 1}})).await?;
    let account = link_without_refresh_token(&w).await?;
    // Waits for the expiry itself, so a slow machine only makes it more certain.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let err = w.kf.access_token(&account.id, MINUTE).await.unwrap_err();
    assert!(matches!(err, Error::NeedsRelink { .. }), "{err}");
    assert!(matches!(
        w.kf.account(&account.id)?.status,
        AccountStatus::NeedsRelink { .. }
    ));
    Ok(())
}

/// Links alice asking for no offline_access, so the provider issues no refresh token.
async fn link_without_refresh_token(w: &World) -> anyhow::Result<keyfob_core::Account> {
    let start =
        w.kf.begin_link(
            "local",
            LinkOptions {
                scopes: Some(vec!["openid".into(), "email".into()]),
                ..LinkOptions::default()
            },
        )
        .await?;
    let url = w
        .browser
        .authorize(start.authorization_url.as_str(), "alice", Consent::Approve)
        .await?;
    let account = w.kf.complete_link(&url).await?;
    assert!(!account.has_refresh_token);
    Ok(account)
}

#[tokio::test(flavor = "multi_thread")]
async fn server_and_format_errors_are_specific_and_leave_tokens_alone() -> anyhow::Result<()> {
    let w = World::start_with(json!({"ttl": {"AccessToken": 30}})).await?;
    let account = w.link("local", "alice").await?;
    let refresh = w
        .secret(SecretKey::RefreshToken(account.id.clone()))
        .await?
        .unwrap();
    let access = w.kf.access_token(&account.id, Duration::ZERO).await?.token;

    w.idp.fail_next("token", "status503", 1).await?;
    let err = w.kf.access_token(&account.id, MINUTE).await.unwrap_err();
    assert!(
        matches!(err, Error::ProviderUnavailable { status: 503, .. }),
        "{err}"
    );

    w.idp.fail_next("token", "html200", 1).await?;
    let err = w.kf.access_token(&account.id, MINUTE).await.unwrap_err();
    assert!(
        matches!(&err, Error::InvalidResponse { reason, .. } if reason.contains("text/html")),
        "{err}"
    );

    w.idp.fail_next("token", "garbage200", 1).await?;
    let err = w.kf.access_token(&account.id, MINUTE).await.unwrap_err();
    assert!(matches!(err, Error::InvalidResponse { .. }), "{err}");

    w.idp.fail_next("token", "error200", 1).await?;
    let err = w.kf.access_token(&account.id, MINUTE).await.unwrap_err();
    assert!(
        matches!(&err, Error::TokenRejected { code, .. } if code == "bad_verification_code"),
        "{err}"
    );

    // Nothing was touched: same tokens, status ok, and the next refresh succeeds.
    assert_eq!(
        w.secret(SecretKey::RefreshToken(account.id.clone()))
            .await?,
        Some(refresh)
    );
    assert_eq!(
        w.kf.access_token(&account.id, Duration::ZERO).await?.token,
        access
    );
    assert_eq!(w.kf.account(&account.id)?.status, AccountStatus::Ok);
    assert!(w.kf.access_token(&account.id, MINUTE).await?.refreshed);

    // A provider that cannot be reached at all is a network error.
    w.idp.stop().await?;
    let err = w.kf.access_token(&account.id, MINUTE).await.unwrap_err();
    assert!(matches!(err, Error::Network { .. }), "{err}");
    Ok(())
}

/// Seconds from now until `at`.
fn seconds_left(at: time::OffsetDateTime) -> i64 {
    (at - time::OffsetDateTime::now_utc()).whole_seconds()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refresh_answer_without_expires_in_keeps_the_previous_lifetime() -> anyhow::Result<()> {
    // RFC 6749 only recommends expires_in: a provider may leave it out of a refresh answer.
    let w = World::start_with(json!({"ttl": {"AccessToken": 30}})).await?;
    let account = w.link("local", "alice").await?;
    let left = seconds_left(account.access_expires_at.expect("30 s tokens"));
    assert!((20..=30).contains(&left), "{left}");

    w.idp.next_expires_in(json!("omit"), 1).await?;
    let fresh = w.kf.access_token(&account.id, MINUTE).await?;
    assert!(fresh.refreshed);
    let expires = fresh
        .expires_at
        .expect("not taken for a token that never expires");
    let left = seconds_left(expires);
    assert!(
        (20..=30).contains(&left),
        "the previous 30 s lifetime: {left}"
    );
    assert_eq!(w.kf.account(&account.id)?.access_expires_at, Some(expires));
    // And so it is refreshed again when due, instead of being served for good.
    assert!(w.kf.access_token(&account.id, MINUTE).await?.refreshed);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn zero_and_string_lifetimes_on_link_and_on_refresh() -> anyhow::Result<()> {
    let w = World::start_with(json!({"ttl": {"AccessToken": 30}})).await?;

    // A string is read as the number it holds.
    w.idp.next_expires_in(json!("3600"), 1).await?;
    let account = w.link("local", "alice").await?;
    let left = seconds_left(account.access_expires_at.expect("an hour"));
    assert!((3590..=3600).contains(&left), "{left}");
    w.idp.next_expires_in(json!("7200"), 1).await?;
    let fresh = w.kf.refresh_account(&account.id).await?;
    let left = seconds_left(fresh.access_expires_at.expect("two hours"));
    assert!((7190..=7200).contains(&left), "{left}");

    // Zero: expired at once, so the next use refreshes.
    w.idp.next_expires_in(json!(0), 1).await?;
    let zero = w.kf.refresh_account(&account.id).await?;
    assert!(seconds_left(zero.access_expires_at.expect("now")) <= 0);
    let before = w.idp.stats().await?.token.refresh_token;
    assert!(
        w.kf.access_token(&account.id, Duration::ZERO)
            .await?
            .refreshed
    );
    assert_eq!(w.idp.stats().await?.token.refresh_token, before + 1);

    // On a link: zero likewise; no expires_in at all means no expiry is known.
    w.idp.next_expires_in(json!(0), 1).await?;
    let bob = w.link("local", "bob").await?;
    assert!(seconds_left(bob.access_expires_at.expect("now")) <= 0);
    assert!(w.kf.access_token(&bob.id, Duration::ZERO).await?.refreshed);
    w.idp.next_expires_in(json!("omit"), 1).await?;
    let carol = w.link("local", "carol").await?;
    assert_eq!(carol.access_expires_at, None);
    Ok(())
}

/// Revokes `token` at the local provider, as a user or an administrator would.
async fn revoke_at_provider(w: &World, token: &str, hint: &str) -> anyhow::Result<()> {
    let answer = reqwest::Client::new()
        .post(w.idp.revocation_endpoint())
        .form(&[
            ("token", token),
            ("token_type_hint", hint),
            ("client_id", keyfob_testkit::NATIVE_CLIENT_ID),
        ])
        .send()
        .await?;
    anyhow::ensure!(answer.status() == 200, "revocation: {}", answer.status());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn check_refreshes_a_refused_token_and_marks_a_dead_grant() -> anyhow::Result<()> {
    // The provider's tokens live 2 s, but the link's answer claims an hour: Keyfob takes the
    // token for valid while the provider already refuses it, as after a server-side cut.
    let w =
        World::start_with(json!({"ttl": {"AccessToken": 2, "RefreshedAccessToken": 3600}})).await?;
    w.idp.next_expires_in(json!(3600), 1).await?;
    let account = w.link("local", "alice").await?;
    let access = w.kf.access_token(&account.id, Duration::ZERO).await?.token;
    // Wait until the provider's userinfo endpoint refuses it (bounded).
    let refused = async {
        loop {
            let answer = reqwest::Client::new()
                .get(w.idp.userinfo_endpoint())
                .bearer_auth(access.expose())
                .send()
                .await?;
            if answer.status() == 401 {
                return anyhow::Ok(());
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(60), refused).await??;
    // The provider refuses it with invalid_token, and one refresh brings a working token, so
    // the account stays as it is.
    let refreshes = w.idp.stats().await?.token.refresh_token;
    let checked = w.kf.check_account(&account.id).await?;
    assert_eq!(checked.status, AccountStatus::Ok);
    assert_eq!(w.idp.stats().await?.token.refresh_token, refreshes + 1);
    let renewed = w.kf.access_token(&account.id, Duration::ZERO).await?.token;
    assert_ne!(renewed, access);
    assert!(w.idp.is_active(renewed.expose()).await?);

    // Revoking a token at this provider ends every token of the grant: the refresh fails
    // too, and the account needs a new link.
    revoke_at_provider(&w, renewed.expose(), "access_token").await?;
    let err = w.kf.check_account(&account.id).await.unwrap_err();
    assert!(matches!(err, Error::NeedsRelink { .. }), "{err}");
    assert!(matches!(
        w.kf.account(&account.id)?.status,
        AccountStatus::NeedsRelink { .. }
    ));
    Ok(())
}
