//! Linking accounts against a real OpenID provider, through its real login and consent pages.

mod common;

use common::{draft, World};
use keyfob_core::internals::SecretKey;
use keyfob_core::{AccountStatus, ClientAuth, Error, Secret, SecretUpdate};
use keyfob_testkit::{
    CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET, POST_CLIENT_ID, POST_CLIENT_SECRET,
};

#[tokio::test(flavor = "multi_thread")]
async fn links_an_account_and_lists_it_without_secrets() -> anyhow::Result<()> {
    let w = World::start().await?;
    let account = w.link("local", "alice").await?;

    assert_eq!(account.provider, "local");
    assert_eq!(account.issuer, w.idp.issuer());
    assert_eq!(account.subject, "alice");
    assert_eq!(account.display_name, "alice@example.test");
    assert_eq!(account.status, AccountStatus::Ok);
    assert!(account.has_refresh_token);
    for scope in ["openid", "email", "offline_access"] {
        assert!(
            account.scopes.iter().any(|s| s == scope),
            "{scope} in {:?}",
            account.scopes
        );
    }
    let expires = account
        .access_expires_at
        .expect("the provider sets expires_in");
    assert!(expires > time::OffsetDateTime::now_utc() + time::Duration::minutes(50));
    assert_eq!(w.kf.accounts()?, vec![account.clone()]);

    // The token in the keyring is one the provider accepts.
    let token =
        w.kf.access_token(&account.id, std::time::Duration::from_secs(60))
            .await?;
    assert!(!token.refreshed);
    assert!(w.idp.is_active(token.token.expose()).await?);
    let refresh = w
        .secret(SecretKey::RefreshToken(account.id.clone()))
        .await?
        .expect("refresh token stored");
    assert!(w.idp.is_active(refresh.expose()).await?);
    assert!(w
        .secret(SecretKey::IdToken(account.id.clone()))
        .await?
        .is_some());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn linking_the_same_subject_again_updates_the_account() -> anyhow::Result<()> {
    let w = World::start().await?;
    let first = w.link("local", "bob").await?;
    let old_token =
        w.kf.access_token(&first.id, std::time::Duration::ZERO)
            .await?
            .token;

    let second = w.link("local", "bob").await?;
    assert_eq!(second.id, first.id);
    assert_eq!(second.linked_at, first.linked_at);
    let new_token =
        w.kf.access_token(&first.id, std::time::Duration::ZERO)
            .await?
            .token;
    assert_ne!(
        new_token, old_token,
        "the new link's tokens replace the old ones"
    );
    assert_eq!(w.kf.accounts()?.len(), 1);

    // Another user is another account.
    let other = keyfob_testkit::Browser::new();
    let start = w.kf.begin_link("local", Default::default()).await?;
    let url = other
        .authorize(
            start.authorization_url.as_str(),
            "carol",
            keyfob_testkit::Consent::Approve,
        )
        .await?;
    let carol = w.kf.complete_link(&url).await?;
    assert_ne!(carol.id, first.id);
    assert_eq!(w.kf.accounts()?.len(), 2);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn confidential_clients_authenticate_with_basic_and_post() -> anyhow::Result<()> {
    let w = World::start().await?;
    w.kf.add_openid_provider(
        draft(
            &w.idp,
            "local-secret",
            CONFIDENTIAL_CLIENT_ID,
            ClientAuth::Basic,
        ),
        Some(Secret::new(CONFIDENTIAL_CLIENT_SECRET)),
    )
    .await?;
    w.kf.add_openid_provider(
        draft(&w.idp, "local-post", POST_CLIENT_ID, ClientAuth::Post),
        Some(Secret::new(POST_CLIENT_SECRET)),
    )
    .await?;
    let basic = w.link("local-secret", "dave").await?;
    assert_eq!(basic.provider, "local-secret");
    let post = keyfob_testkit::Browser::new();
    let start = w.kf.begin_link("local-post", Default::default()).await?;
    let url = post
        .authorize(
            start.authorization_url.as_str(),
            "erin",
            keyfob_testkit::Consent::Approve,
        )
        .await?;
    assert_eq!(w.kf.complete_link(&url).await?.subject, "erin");

    // The client secret lives in the keyring, never in the providers file.
    let config = std::fs::read_to_string(w.kf.paths().providers_file())?;
    assert!(!config.contains(CONFIDENTIAL_CLIENT_SECRET) && !config.contains(POST_CLIENT_SECRET));
    assert!(w
        .secret(SecretKey::ClientSecret("local-secret".into()))
        .await?
        .is_some());

    // A wrong secret is a specific refusal from the token endpoint, and stores nothing.
    let provider = w.kf.provider("local-secret")?;
    w.kf.save_provider(provider, SecretUpdate::Set(Secret::new("not-the-secret")))
        .await?;
    let url = w
        .callback("local-secret", "dave", keyfob_testkit::Consent::Approve)
        .await?;
    let err = w.kf.complete_link(&url).await.unwrap_err();
    match &err {
        Error::TokenRejected { code, .. } => assert_eq!(code, "invalid_client", "{err}"),
        other => panic!("expected invalid_client, got {other}"),
    }
    assert_eq!(w.kf.accounts()?.len(), 2);

    // A secret lost from the keyring is noticed before the user is sent to sign in, and
    // the message says how to set it again; a new secret heals the provider.
    w.secrets()
        .delete(SecretKey::ClientSecret("local-secret".into()))
        .await?;
    let pending_before = std::fs::read(w.kf.paths().pending_file())?;
    let err =
        w.kf.begin_link("local-secret", Default::default())
            .await
            .unwrap_err();
    assert!(
        matches!(err, Error::ClientSecretMissing(ref p) if p == "local-secret"),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("keyfob provider secret local-secret"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(w.kf.paths().pending_file())?,
        pending_before,
        "no link was started"
    );
    let provider = w.kf.provider("local-secret")?;
    w.kf.save_provider(
        provider,
        SecretUpdate::Set(Secret::new(CONFIDENTIAL_CLIENT_SECRET)),
    )
    .await?;
    assert_eq!(w.link("local-secret", "dave").await?.id, basic.id);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn discovery_refuses_a_document_for_another_issuer() -> anyhow::Result<()> {
    let w = World::start().await?;
    let mut d = draft(
        &w.idp,
        "slash",
        keyfob_testkit::NATIVE_CLIENT_ID,
        ClientAuth::None,
    );
    d.issuer = format!("{}/", w.idp.issuer());
    let err = w.kf.add_openid_provider(d, None).await.unwrap_err();
    assert!(matches!(err, Error::IssuerMismatch { .. }), "{err}");
    assert!(
        matches!(w.kf.provider("slash"), Err(Error::ProviderNotFound(_))),
        "nothing was added"
    );

    let d = draft(
        &w.idp,
        "local",
        keyfob_testkit::NATIVE_CLIENT_ID,
        ClientAuth::None,
    );
    assert!(matches!(
        w.kf.add_openid_provider(d, None).await,
        Err(Error::ProviderExists(_))
    ));
    let provider = w.kf.provider("local")?;
    assert!(
        provider.iss_parameter_supported,
        "the local provider announces RFC 9207"
    );
    assert!(provider.revocation_endpoint.is_some());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pending_link_survives_a_restart() -> anyhow::Result<()> {
    let w = World::start().await?;
    let url = w
        .callback("local", "frank", keyfob_testkit::Consent::Approve)
        .await?;
    // A deep link may cold-start the app: a new instance completes the link.
    let restarted = w.reopen();
    assert_eq!(restarted.pending_links()?.len(), 1);
    let account = restarted.complete_link(&url).await?;
    assert_eq!(account.subject, "frank");
    assert!(restarted.pending_links()?.is_empty());
    assert_eq!(w.kf.accounts()?.len(), 1);
    Ok(())
}

/// The `alg` in a JWT's header.
fn header_alg(jwt: &str) -> anyhow::Result<String> {
    use base64::Engine;
    let header = jwt.split('.').next().unwrap_or_default();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header)?;
    let header: serde_json::Value = serde_json::from_slice(&bytes)?;
    Ok(header["alg"].as_str().unwrap_or_default().to_string())
}

/// Links and refreshes through a provider that signs ID tokens with `alg` (OIDC Core 3.1.3.7
/// item 7: the algorithm registered for the client, not only RS256).
async fn links_with_id_tokens_signed_with(alg: &str) -> anyhow::Result<()> {
    let w = World::start_with(serde_json::json!({ "idTokenAlg": alg })).await?;
    // Discovery's list is kept on the provider; oidc-provider names the algorithms it has keys for.
    let provider = w.kf.provider("local")?;
    assert_eq!(
        provider.id_token_signing_alg_values_supported,
        vec!["RS256".to_string(), alg.to_string()]
    );
    let account = w.link("local", "alice").await?;
    assert_eq!(account.subject, "alice");
    let id_token = w
        .secret(SecretKey::IdToken(account.id.clone()))
        .await?
        .expect("ID token stored");
    assert_eq!(header_alg(id_token.expose())?, alg);

    // A refresh brings a new ID token, verified the same way (OIDC Core 12.2).
    let token =
        w.kf.access_token(&account.id, std::time::Duration::from_secs(24 * 3600))
            .await?;
    assert!(token.refreshed);
    let refreshed = w
        .secret(SecretKey::IdToken(account.id.clone()))
        .await?
        .expect("ID token stored");
    // Not compared with the first: Ed25519 signatures are deterministic, so a refresh in the
    // same second can bring back the very same token.
    assert_eq!(header_alg(refreshed.expose())?, alg);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn links_with_es256_id_tokens() -> anyhow::Result<()> {
    links_with_id_tokens_signed_with("ES256").await
}

#[tokio::test(flavor = "multi_thread")]
async fn links_with_ps256_id_tokens() -> anyhow::Result<()> {
    links_with_id_tokens_signed_with("PS256").await
}

#[tokio::test(flavor = "multi_thread")]
async fn links_with_eddsa_id_tokens() -> anyhow::Result<()> {
    links_with_id_tokens_signed_with("EdDSA").await
}
