//! The Google preset against the local provider in Google-like mode (tests/idp/server.mjs,
//! `google: true`): loopback-only desktop client, offline access through access_type,
//! refresh responses without a refresh token, revocation at the discovered endpoint.

mod common;

use std::time::Duration;

use common::files_containing;
use keyfob_core::store::secrets::SecretKey;
use keyfob_core::{
    AccountStatus, Error, Flavor, GoogleOptions, Keyfob, Paths, RedirectMode, Revocation, Secret,
    SecretUpdate,
};
use keyfob_testkit::{Browser, Consent, Idp};
use serde_json::json;

const CLIENT_ID: &str = "google-desktop.apps.googleusercontent.test";
const CLIENT_SECRET: &str = "google-desktop-secret";

struct Google {
    idp: Idp,
    home: tempfile::TempDir,
    kf: Keyfob,
}

async fn start() -> anyhow::Result<Google> {
    let idp = Idp::start_with(json!({"google": true, "ttl": {"AccessToken": 30}})).await?;
    let home = tempfile::tempdir()?;
    let kf = Keyfob::open(Paths::under(home.path()));
    let mut options = GoogleOptions::new(CLIENT_ID);
    options.issuer = idp.issuer().to_string();
    kf.add_google(options, Some(Secret::new(CLIENT_SECRET)))
        .await?;
    Ok(Google { idp, home, kf })
}

async fn link(g: &Google, login: &str) -> anyhow::Result<keyfob_core::Account> {
    common::link_loopback(&g.kf, "google", login).await
}

#[tokio::test(flavor = "multi_thread")]
async fn links_refreshes_and_unlinks_like_google() -> anyhow::Result<()> {
    let g = start().await?;
    let provider = g.kf.provider("google")?;
    assert_eq!(provider.flavor, Flavor::Google);
    assert_eq!(provider.redirect, RedirectMode::Loopback);
    assert!(
        !provider.iss_parameter_supported,
        "Google does not announce RFC 9207"
    );
    assert!(provider.revocation_endpoint.is_some());
    assert!(!std::fs::read_to_string(g.kf.paths().providers_file())?.contains(CLIENT_SECRET));

    let account = link(&g, "ann").await?;
    assert_eq!(account.display_name, "ann@example.test");
    assert!(
        account.has_refresh_token,
        "access_type=offline gives a refresh token"
    );
    let refresh = g
        .secrets_get(SecretKey::RefreshToken(account.id.clone()))
        .await?
        .unwrap();

    // Google answers a refresh without a new refresh token: the old one is kept and works again.
    for _ in 0..2 {
        let fresh =
            g.kf.access_token(&account.id, Duration::from_secs(60))
                .await?;
        assert!(fresh.refreshed);
        assert!(g.idp.is_active(fresh.token.expose()).await?);
    }
    assert_eq!(
        g.secrets_get(SecretKey::RefreshToken(account.id.clone()))
            .await?,
        Some(refresh.clone())
    );
    assert_eq!(g.idp.stats().await?.token.refresh_token, 2);

    let report = g.kf.unlink(&account.id).await?;
    assert_eq!(report.revocation, Revocation::Revoked);
    assert!(report.manage_url.is_none());
    assert!(!g.idp.is_active(refresh.expose()).await?);
    assert!(files_containing(g.home.path(), refresh.expose()).is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn without_offline_access_there_is_no_refresh_token() -> anyhow::Result<()> {
    let g = start().await?;
    let mut provider = g.kf.provider("google")?;
    provider.extra_params.remove("access_type");
    g.kf.save_provider(provider, SecretUpdate::Keep).await?;
    let account = link(&g, "ann").await?;
    assert!(!account.has_refresh_token);
    // The token is fine now, but more validity than it has left cannot be had; the account
    // stays usable until its token expires.
    assert!(g.kf.access_token(&account.id, Duration::ZERO).await.is_ok());
    let err =
        g.kf.access_token(&account.id, Duration::from_secs(60))
            .await
            .unwrap_err();
    assert!(matches!(err, Error::CannotRefresh { .. }), "{err}");
    assert_eq!(g.kf.account(&account.id)?.status, AccountStatus::Ok);
    assert!(g.kf.access_token(&account.id, Duration::ZERO).await.is_ok());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_desktop_client_refuses_the_custom_scheme() -> anyhow::Result<()> {
    let g = start().await?;
    let mut provider = g.kf.provider("google")?;
    provider.redirect = RedirectMode::Scheme;
    g.kf.save_provider(provider, SecretUpdate::Keep).await?;
    let start = g.kf.begin_link("google", Default::default()).await?;
    let result = Browser::new()
        .authorize(start.authorization_url.as_str(), "ann", Consent::Approve)
        .await;
    let text = format!("{:#}", result.unwrap_err());
    assert!(text.contains("redirect_uri"), "{text}");
    Ok(())
}

impl Google {
    async fn secrets_get(&self, key: SecretKey) -> anyhow::Result<Option<Secret>> {
        let store =
            keyfob_core::store::secrets::SecretStore::new(self.kf.paths().keyring_service.clone());
        Ok(store.get(key).await?)
    }
}
