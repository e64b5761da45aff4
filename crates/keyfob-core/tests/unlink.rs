//! Unlinking revokes at the provider (RFC 7009) and forgets everything local, even when
//! revocation fails.

mod common;

use common::World;
use keyfob_core::internals::SecretKey;
use keyfob_core::{Attention, Error, Revocation};

#[tokio::test(flavor = "multi_thread")]
async fn unlink_revokes_the_grant_and_deletes_every_secret() -> anyhow::Result<()> {
    let w = World::start().await?;
    let account = w.link("local", "alice").await?;
    let access =
        w.kf.access_token(&account.id, std::time::Duration::ZERO)
            .await?
            .token;
    let refresh = w
        .secret(SecretKey::RefreshToken(account.id.clone()))
        .await?
        .unwrap();

    let report = w.kf.unlink(&account.id).await?;
    assert_eq!(report.revocation, Revocation::Revoked);
    assert_eq!(report.account.id, account.id);
    assert_eq!(
        w.idp.stats().await?.revocation,
        2,
        "refresh and access token"
    );
    assert!(
        !w.idp.is_active(refresh.expose()).await?,
        "refresh token revoked"
    );
    assert!(
        !w.idp.is_active(access.expose()).await?,
        "the grant's access token died with it"
    );

    for key in [
        SecretKey::AccessToken(account.id.clone()),
        SecretKey::RefreshToken(account.id.clone()),
        SecretKey::IdToken(account.id.clone()),
    ] {
        assert_eq!(w.secret(key).await?, None);
    }
    assert!(w.kf.accounts()?.is_empty());
    assert!(matches!(
        w.kf.access_token(&account.id, std::time::Duration::ZERO)
            .await,
        Err(Error::AccountNotFound(_))
    ));
    assert!(matches!(
        w.kf.unlink(&account.id).await,
        Err(Error::AccountNotFound(_))
    ));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revocation_the_provider_cannot_confirm_keeps_the_account_for_a_retry(
) -> anyhow::Result<()> {
    let w = World::start().await?;
    let account = w.link("local", "alice").await?;
    let refresh = w
        .secret(SecretKey::RefreshToken(account.id.clone()))
        .await?
        .unwrap();
    // Both requests (refresh token, then access token) get 503.
    w.idp.fail_next("revocation", "status503", 2).await?;

    let err = w.kf.unlink(&account.id).await.unwrap_err();
    assert!(
        matches!(&err, Error::RevocationPending { advice, .. } if advice.contains("503")),
        "{err}"
    );
    // RFC 7009: on 503 the token still exists at the provider; so does the account here,
    // marked, with its tokens.
    assert!(w.idp.is_active(refresh.expose()).await?);
    let kept = w.kf.account(&account.id)?;
    assert!(matches!(
        kept.attention,
        Some(Attention::RevocationPending { .. })
    ));
    assert_eq!(
        w.secret(SecretKey::RefreshToken(account.id.clone()))
            .await?,
        Some(refresh.clone())
    );

    let report = w.kf.unlink(&account.id).await?;
    assert_eq!(report.revocation, Revocation::Revoked);
    assert!(!w.idp.is_active(refresh.expose()).await?);
    assert_eq!(
        w.secret(SecretKey::RefreshToken(account.id.clone()))
            .await?,
        None
    );
    assert!(w.kf.accounts()?.is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_provider_without_revocation_says_so() -> anyhow::Result<()> {
    let w = World::start().await?;
    let account = w.link("local", "alice").await?;
    let mut provider = w.kf.provider("local")?;
    provider.revocation_endpoint = None;
    w.kf.save_provider(provider, keyfob_core::SecretUpdate::Keep)
        .await?;
    let report = w.kf.unlink(&account.id).await?;
    assert_eq!(report.revocation, Revocation::NotSupported);
    assert_eq!(w.idp.stats().await?.revocation, 0);
    assert!(w.kf.accounts()?.is_empty());

    // A provider still in use cannot be removed; an unused one can.
    let again = w.link("local", "bob").await?;
    let err = w.kf.remove_provider("local").await.unwrap_err();
    assert!(
        matches!(&err, Error::ProviderInvalid { reason, .. } if reason.contains("unlink them first")),
        "{err}"
    );
    assert!(w.kf.provider("local").is_ok(), "still there");
    w.kf.unlink(&again.id).await?;
    w.kf.remove_provider("local").await?;
    assert!(matches!(
        w.kf.provider("local"),
        Err(Error::ProviderNotFound(_))
    ));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn purge_revokes_and_removes_every_secret_and_file() -> anyhow::Result<()> {
    let w = World::start().await?;
    w.kf.add_openid_provider(
        common::draft(
            &w.idp,
            "local-secret",
            keyfob_testkit::CONFIDENTIAL_CLIENT_ID,
            keyfob_core::ClientAuth::Basic,
        ),
        Some(keyfob_core::Secret::new(
            keyfob_testkit::CONFIDENTIAL_CLIENT_SECRET,
        )),
    )
    .await?;
    let alice = w.link("local", "alice").await?;
    // A fresh browser: the shared one would still be signed in as alice.
    let start = w.kf.begin_link("local-secret", Default::default()).await?;
    let callback = keyfob_testkit::Browser::new()
        .authorize(
            start.authorization_url.as_str(),
            "bob",
            keyfob_testkit::Consent::Approve,
        )
        .await?;
    let bob = w.kf.complete_link(&callback).await?;
    let pending = w.kf.begin_link("local", Default::default()).await?;

    let report = w.kf.purge(true).await?;
    assert_eq!(report.accounts.len(), 2);
    assert!(report
        .accounts
        .iter()
        .all(|(_, r)| *r == Some(Revocation::Revoked)));
    assert_eq!(report.providers.len(), 2);
    assert_eq!(report.pending_links, 1);
    assert_eq!(
        w.idp.stats().await?.revocation,
        4,
        "each account's two tokens"
    );

    let mut keys = vec![
        SecretKey::ClientSecret("local-secret".into()),
        SecretKey::PendingLink(pending.link_id.clone()),
    ];
    for id in [&alice.id, &bob.id] {
        keys.push(SecretKey::AccessToken(id.clone()));
        keys.push(SecretKey::RefreshToken(id.clone()));
        keys.push(SecretKey::IdToken(id.clone()));
    }
    for key in keys {
        assert_eq!(w.secret(key.clone()).await?, None, "{key:?} is gone");
    }
    assert!(!w.kf.paths().data_dir.exists() && !w.kf.paths().config_dir.exists());
    assert!(w.kf.accounts()?.is_empty() && w.kf.providers()?.is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn purge_gets_past_damaged_files_and_sweeps_the_keyring() -> anyhow::Result<()> {
    let w = World::start().await?;
    let alice = w.link("local", "alice").await?;
    // Another profile's secrets must survive this one's purge.
    let other = World::start().await?;
    let bob = other.link("local", "bob").await?;

    // The account list is damaged (or written by a newer Keyfob): no file names alice's
    // secrets any more, yet the purge goes on and the sweep finds them.
    std::fs::write(
        w.kf.paths().accounts_file(),
        "{\"schema\": 99, \"accounts\": [",
    )?;
    assert!(matches!(w.kf.accounts(), Err(Error::CorruptFile { .. })));
    let report = w.kf.purge(true).await?;
    assert!(report.accounts.is_empty());
    assert_eq!(report.unreadable.len(), 1, "{:?}", report.unreadable);
    assert!(
        report.unreadable[0].contains("accounts.json"),
        "{:?}",
        report.unreadable
    );
    // Access, refresh and ID token.
    assert_eq!(report.swept_secrets, Some(3));
    for key in [
        SecretKey::AccessToken(alice.id.clone()),
        SecretKey::RefreshToken(alice.id.clone()),
        SecretKey::IdToken(alice.id.clone()),
    ] {
        assert_eq!(w.secret(key.clone()).await?, None, "{key:?} is gone");
    }
    assert!(!w.kf.paths().data_dir.exists() && !w.kf.paths().config_dir.exists());

    assert!(other
        .kf
        .access_token(&bob.id, std::time::Duration::ZERO)
        .await
        .is_ok());
    assert!(other
        .secret(SecretKey::RefreshToken(bob.id.clone()))
        .await?
        .is_some());
    Ok(())
}
