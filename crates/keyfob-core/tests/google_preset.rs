//! The Google preset against the local provider in Google-like mode (tests/idp/server.mjs,
//! `google: true`; tests/idp/GOOGLE.md lists each behaviour and its source): loopback-only
//! desktop client, refresh tokens always issued to installed apps, refresh responses without
//! a refresh token, `iss` in callbacks though discovery does not announce it, ID tokens that
//! may name the issuer without its scheme, and a revocation endpoint that answers 400 for a
//! token that is already dead.

mod common;

use std::time::Duration;

use common::files_containing;
use keyfob_core::internals::SecretKey;
use keyfob_core::{
    ClientAuth, Error, Flavor, GoogleOptions, Keyfob, Paths, RedirectMode, Revocation, Secret,
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
    start_with(json!({})).await
}

/// The Google-like provider with `extra` merged into its configuration.
async fn start_with(extra: serde_json::Value) -> anyhow::Result<Google> {
    let mut config = json!({"google": true, "ttl": {"AccessToken": 30}});
    for (k, v) in extra.as_object().into_iter().flatten() {
        config[k] = v.clone();
    }
    let idp = Idp::start_with(config).await?;
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
    assert!(account.has_refresh_token, "installed apps always get one");
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
async fn installed_apps_get_a_refresh_token_without_a_consent_screen() -> anyhow::Result<()> {
    let g = start().await?;
    let (start, _listener) = g.kf.begin_loopback_link("google", None).await?;
    let params: std::collections::HashMap<String, String> =
        start.authorization_url.query_pairs().into_owned().collect();
    assert_eq!(
        params.get("access_type").map(String::as_str),
        Some("offline")
    );
    assert!(
        !params.contains_key("prompt"),
        "no consent screen on every link"
    );
    assert!(
        !params["scope"].split(' ').any(|s| s == "offline_access"),
        "Google knows no offline_access scope"
    );

    // "Refresh tokens are always returned for installed applications", asked for or not.
    let mut provider = g.kf.provider("google")?;
    provider.extra_params.clear();
    g.kf.save_provider(provider, SecretUpdate::Keep).await?;
    let account = link(&g, "ann").await?;
    assert!(account.has_refresh_token);
    assert!(
        g.kf.access_token(&account.id, Duration::from_secs(60))
            .await?
            .refreshed
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn callbacks_carry_iss_and_a_wrong_one_is_refused() -> anyhow::Result<()> {
    let g = start().await?;
    assert!(
        !g.kf.provider("google")?.iss_parameter_supported,
        "discovery does not announce it"
    );
    let (start, listener) = g.kf.begin_loopback_link("google", None).await?;
    let browser = Browser::new();
    let callback = browser
        .authorize(start.authorization_url.as_str(), "ann", Consent::Approve)
        .await?;
    let sent: std::collections::HashMap<String, String> = url::Url::parse(&callback)?
        .query_pairs()
        .into_owned()
        .collect();
    assert_eq!(sent.get("iss").map(String::as_str), Some(g.idp.issuer()));

    let forged = common::with_param(&callback, "iss", Some("https://evil.example"));
    let err = g.kf.complete_link(&forged).await.unwrap_err();
    assert!(
        matches!(err, Error::Callback(_)) && err.to_string().contains("evil.example"),
        "{err}"
    );
    assert!(g.kf.accounts()?.is_empty());

    let (account, page) =
        tokio::join!(listener.complete(&g.kf, &start), browser.deliver(&callback));
    assert_eq!(page?.0, 200);
    assert_eq!(account?.display_name, "ann@example.test");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn id_tokens_may_name_the_issuer_without_its_scheme_for_google_only() -> anyhow::Result<()> {
    let g = start_with(json!({"googleBareIssuer": true})).await?;
    let account = link(&g, "ann").await?;
    assert_eq!(
        account.issuer,
        g.idp.issuer(),
        "stored under the full issuer"
    );
    let id_token = g
        .secrets_get(SecretKey::IdToken(account.id.clone()))
        .await?
        .unwrap();
    let payload = id_token.expose().split('.').nth(1).unwrap().to_string();
    let claims: serde_json::Value = serde_json::from_slice(&base64::Engine::decode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        payload,
    )?)?;
    let bare = g.idp.issuer().split_once("://").unwrap().1;
    assert_eq!(
        claims["iss"], bare,
        "the provider really sent the bare form"
    );
    // A refresh brings another such ID token, checked the same way.
    assert!(
        g.kf.access_token(&account.id, Duration::from_secs(60))
            .await?
            .refreshed
    );

    // Any other provider's ID token must name its issuer exactly.
    g.kf.add_openid_provider(
        common::draft(
            &g.idp,
            "local",
            keyfob_testkit::NATIVE_CLIENT_ID,
            ClientAuth::None,
        ),
        None,
    )
    .await?;
    let start = g.kf.begin_link("local", Default::default()).await?;
    let callback = Browser::new()
        .authorize(start.authorization_url.as_str(), "bob", Consent::Approve)
        .await?;
    let err = g.kf.complete_link(&callback).await.unwrap_err();
    assert!(
        matches!(err, Error::InvalidIdToken { .. })
            && err
                .to_string()
                .contains(&format!("names the issuer '{bare}'")),
        "{err}"
    );
    assert_eq!(g.kf.accounts()?.len(), 1);

    // The bare form is no way around the signature: a changed claim or another key fails.
    let provider = g.kf.provider("google")?;
    let verify = |token: String| {
        let provider = provider.clone();
        let subject = account.subject.clone();
        async move {
            keyfob_core::internals::verify_refreshed_id_token(
                &keyfob_core::internals::Http::new(),
                &provider,
                Some(&Secret::new(CLIENT_SECRET)),
                &Secret::new(token),
                // No at_hash in these tokens, and no original to compare with.
                &Secret::new("access-token"),
                None,
                &subject,
            )
            .await
        }
    };
    let genuine = g
        .secrets_get(SecretKey::IdToken(account.id.clone()))
        .await?
        .unwrap()
        .expose()
        .to_string();
    verify(genuine.clone()).await?;
    let parts: Vec<&str> = genuine.split('.').collect();
    let b64 = |v: &serde_json::Value| {
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            serde_json::to_vec(v).unwrap(),
        )
    };
    let decode = |p: &str| -> serde_json::Value {
        serde_json::from_slice(
            &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, p).unwrap(),
        )
        .unwrap()
    };
    let mut claims = decode(parts[1]);
    claims["email"] = json!("mallory@example.test");
    let forged = format!("{}.{}.{}", parts[0], b64(&claims), parts[2]);
    let err = verify(forged).await.unwrap_err();
    assert!(err.to_string().contains("signature"), "{err}");
    let mut header = decode(parts[0]);
    header["kid"] = json!("another-key");
    let rekeyed = format!("{}.{}.{}", b64(&header), parts[1], parts[2]);
    let err = verify(rekeyed).await.unwrap_err();
    assert!(err.to_string().contains("signature"), "{err}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn unlinking_a_grant_google_already_ended_is_not_a_failure() -> anyhow::Result<()> {
    let g = start().await?;
    let account = link(&g, "ann").await?;
    let refresh = g
        .secrets_get(SecretKey::RefreshToken(account.id.clone()))
        .await?
        .unwrap();
    // The user removes Keyfob's access in their Google account.
    let revoked = reqwest::Client::new()
        .post(g.idp.revocation_endpoint())
        .form(&[
            ("token", refresh.expose()),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ])
        .send()
        .await?;
    assert_eq!(revoked.status(), 200);

    let report = g.kf.unlink(&account.id).await?;
    assert_eq!(report.revocation, Revocation::AlreadyRevoked);
    assert!(report.manage_url.is_none(), "nothing left to do at Google");
    assert!(g.kf.accounts()?.is_empty());
    assert!(files_containing(g.home.path(), refresh.expose()).is_empty());
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
            keyfob_core::internals::SecretStore::new(self.kf.paths().keyring_service.clone());
        Ok(store.get(key).await?)
    }
}
