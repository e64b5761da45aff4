//! The Google preset against the local provider in Google-like mode (tests/idp/server.mjs,
//! `google: true`; tests/idp/GOOGLE.md lists each behaviour and its source): loopback-only
//! desktop client, refresh tokens always issued to installed apps, refresh responses without
//! a refresh token, `iss` in callbacks though discovery does not announce it, ID tokens that
//! may name the issuer without its scheme, and a revocation endpoint that answers 400 for a
//! token that is already dead; and linking with a code, which Google allows only to a separate
//! "TVs and Limited Input devices" client.

mod common;

use std::time::Duration;

use common::files_containing;
use keyfob_core::internals::SecretKey;
use keyfob_core::{
    Account, ClientAuth, DevicePrompt, Error, Flavor, GoogleDeviceClient, GoogleOptions, Keyfob,
    Paths, RedirectMode, Revocation, Secret, SecretUpdate,
};
use keyfob_testkit::{
    Browser, Consent, Idp, GOOGLE_DEVICE_CLIENT_ID as DEVICE_CLIENT_ID,
    GOOGLE_DEVICE_CLIENT_SECRET as DEVICE_CLIENT_SECRET,
};
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
    start_with_device_client(extra, None).await
}

/// The same, with the preset's device client (id, secret) when given.
async fn start_with_device_client(
    extra: serde_json::Value,
    device_client: Option<(&str, &str)>,
) -> anyhow::Result<Google> {
    let mut config = json!({"google": true, "ttl": {"AccessToken": 30}});
    for (k, v) in extra.as_object().into_iter().flatten() {
        config[k] = v.clone();
    }
    let idp = Idp::start_with(config).await?;
    let home = tempfile::tempdir()?;
    let kf = Keyfob::open(Paths::under(home.path()));
    let mut options = GoogleOptions::new(CLIENT_ID);
    options.issuer = idp.issuer().to_string();
    options.device_client = device_client.map(|(id, secret)| GoogleDeviceClient {
        id: id.into(),
        secret: Secret::new(secret),
    });
    kf.add_google(options, Some(Secret::new(CLIENT_SECRET)))
        .await?;
    Ok(Google { idp, home, kf })
}

/// Google with its device client, polled every second instead of Google's five.
async fn start_device() -> anyhow::Result<Google> {
    start_with_device_client(
        json!({"googleDeviceInterval": 1}),
        Some((DEVICE_CLIENT_ID, DEVICE_CLIENT_SECRET)),
    )
    .await
}

/// `link_with_code` at Google for `scopes`; once Keyfob has polled at least once, the
/// scripted browser enters the code it showed as `login` on "another device". The link's
/// result, and the prompt with the page the browser ended on when a code was shown.
async fn link_with_code(
    g: &Google,
    scopes: Option<Vec<String>>,
    login: &str,
    consent: Consent,
) -> (
    keyfob_core::Result<Account>,
    anyhow::Result<(DevicePrompt, String)>,
) {
    let (shown, prompt) = tokio::sync::oneshot::channel();
    let link =
        g.kf.link_with_code("google", scopes, move |p: &DevicePrompt| {
            let _ = shown.send(p.clone());
        });
    let enter = async {
        let prompt = prompt.await?;
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while g.idp.google_device_polls().await?.is_empty() {
            anyhow::ensure!(std::time::Instant::now() < deadline, "Keyfob never polled");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let page = Browser::new()
            .enter_device_code(
                prompt.verification_uri.as_str(),
                &prompt.user_code,
                login,
                consent,
            )
            .await?;
        Ok((prompt, page))
    };
    tokio::join!(link, enter)
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
    g.idp
        .revoke(refresh.expose(), CLIENT_ID, Some(CLIENT_SECRET))
        .await?;

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

#[tokio::test(flavor = "multi_thread")]
async fn links_with_a_code_through_the_device_client_and_refreshes_with_it() -> anyhow::Result<()> {
    let g = start_device().await?;
    let provider = g.kf.provider("google")?;
    assert_eq!(provider.device_client_id.as_deref(), Some(DEVICE_CLIENT_ID));
    assert!(provider.device_authorization_endpoint.is_some());
    assert_eq!(
        provider.client_id, CLIENT_ID,
        "the desktop client stays the main one"
    );
    assert!(files_containing(g.home.path(), DEVICE_CLIENT_SECRET).is_empty());
    assert_eq!(
        g.secrets_get(SecretKey::DeviceClientSecret("google".into()))
            .await?
            .map(|s| s.expose().to_string()),
        Some(DEVICE_CLIENT_SECRET.to_string())
    );

    let (account, entered) = link_with_code(&g, None, "dan", Consent::Approve).await;
    let account = account?;
    let (prompt, _page) = entered?;
    // Google's verification_url, read as the address to show; no complete address, no QR.
    assert_eq!(prompt.verification_uri.as_str(), g.idp.url("/device"));
    assert_eq!(prompt.verification_uri_complete, None);
    assert_eq!(account.display_name, "dan@example.test");
    assert!(account.has_refresh_token, "always returned for devices");
    let bound = account.linked_with.clone().expect("recorded");
    assert_eq!(bound.client_id, DEVICE_CLIENT_ID);
    // Keyfob went on polling through Google's 428 until the code was entered.
    let polls = g.idp.google_device_polls().await?;
    assert_eq!(polls[0].answer, "authorization_pending", "{polls:?}");
    assert_eq!(polls.last().unwrap().answer, "tokens", "{polls:?}");
    // At the interval (1 s): a 428 is "pending", not a failed request, which the oauth2
    // crate would retry only after twice the interval.
    let again = polls[1].since_last_ms.unwrap();
    assert!(again < 1_950, "polled again after {again} ms: {polls:?}");

    // Refreshed as the device client, with its secret: the desktop client could not.
    let refresh = g
        .secrets_get(SecretKey::RefreshToken(account.id.clone()))
        .await?
        .unwrap();
    let fresh =
        g.kf.access_token(&account.id, Duration::from_secs(60))
            .await?;
    assert!(fresh.refreshed);
    assert!(g.idp.is_active(fresh.token.expose()).await?);

    // A link in the browser still goes through the desktop client.
    let desktop = link(&g, "ann").await?;
    assert_eq!(
        desktop.linked_with.as_ref().expect("recorded").client_id,
        CLIENT_ID
    );

    let report = g.kf.unlink(&account.id).await?;
    assert_eq!(report.revocation, Revocation::Revoked);
    assert!(!g.idp.is_active(refresh.expose()).await?);

    // Removing the provider takes the device client's secret along.
    g.kf.unlink(&desktop.id).await?;
    g.kf.remove_provider("google").await?;
    assert_eq!(
        g.secrets_get(SecretKey::DeviceClientSecret("google".into()))
            .await?,
        None
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_desktop_client_is_refused_the_device_flow_clearly() -> anyhow::Result<()> {
    // A second "Desktop app" client given as the device client: Google's answer.
    let other_desktop = "google-desktop-2.apps.googleusercontent.test";
    let g = start_with_device_client(
        json!({"googleDeviceInterval": 1, "clients": [{
            "client_id": other_desktop,
            "client_secret": "google-desktop-2-secret",
            "application_type": "native",
            "token_endpoint_auth_method": "client_secret_post",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "redirect_uris": ["http://127.0.0.1/oauth/google"],
        }]}),
        Some((other_desktop, "google-desktop-2-secret")),
    )
    .await?;
    let (account, entered) = link_with_code(&g, None, "dan", Consent::Approve).await;
    let err = account.unwrap_err();
    assert!(
        matches!(&err, Error::DeviceClientRefused { detail, .. } if detail.contains("Only clients of type")),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("a client of type \"TVs and Limited Input devices\""),
        "{err}"
    );
    assert!(entered.is_err(), "no code was shown");
    assert!(g.kf.accounts()?.is_empty());
    assert!(g.idp.google_device_polls().await?.is_empty());

    // The desktop client itself as the device client is refused before anything is saved.
    let home = tempfile::tempdir()?;
    let kf = Keyfob::open(Paths::under(home.path()));
    let mut options = GoogleOptions::new(CLIENT_ID);
    options.issuer = g.idp.issuer().to_string();
    options.device_client = Some(GoogleDeviceClient {
        id: CLIENT_ID.into(),
        secret: Secret::new(CLIENT_SECRET),
    });
    let err = kf
        .add_google(options, Some(Secret::new(CLIENT_SECRET)))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::ProviderInvalid { .. }) && err.to_string().contains("separate client"),
        "{err}"
    );
    assert!(kf.providers()?.is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scope_off_googles_device_list_is_refused_clearly() -> anyhow::Result<()> {
    let g = start_device().await?;
    let gmail = "https://www.googleapis.com/auth/gmail.readonly";
    let scopes = vec!["openid".to_string(), "email".into(), gmail.into()];
    let (account, entered) = link_with_code(&g, Some(scopes), "dan", Consent::Approve).await;
    let err = account.unwrap_err();
    assert!(
        matches!(&err, Error::DeviceScopeRefused { detail, .. } if detail == &format!("Invalid device flow scope: {gmail}")),
        "{err}"
    );
    assert!(err.to_string().contains("without --device"), "{err}");
    assert!(entered.is_err(), "no code was shown");
    assert!(g.kf.accounts()?.is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_code_denied_at_google_links_nothing() -> anyhow::Result<()> {
    let g = start_device().await?;
    let (account, entered) = link_with_code(&g, None, "dan", Consent::Deny).await;
    entered?;
    let err = account.unwrap_err();
    assert!(matches!(err, Error::DeviceCodeDenied(_)), "{err}");
    let polls = g.idp.google_device_polls().await?;
    assert_eq!(polls.last().unwrap().answer, "access_denied", "{polls:?}");
    assert!(g.kf.accounts()?.is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_down_is_honoured() -> anyhow::Result<()> {
    let g = start_device().await?;
    g.idp.google_slow_down(1).await?;
    let (account, entered) = link_with_code(&g, None, "dan", Consent::Approve).await;
    entered?;
    account?;
    let polls = g.idp.google_device_polls().await?;
    let slowed = polls
        .iter()
        .position(|p| p.answer == "slow_down")
        .expect("a 403 slow_down was answered");
    // The interval was one second; after slow_down it is six (RFC 8628 section 3.5).
    let next = polls[slowed + 1].since_last_ms.unwrap();
    assert!(next >= 5_900, "polled again after {next} ms: {polls:?}");
    assert_eq!(polls.last().unwrap().answer, "tokens", "{polls:?}");
    Ok(())
}

impl Google {
    async fn secrets_get(&self, key: SecretKey) -> anyhow::Result<Option<Secret>> {
        let store =
            keyfob_core::internals::SecretStore::new(self.kf.paths().keyring_service.clone());
        Ok(store.get(key).await?)
    }
}
