//! Secrets live only in the real Secret Service: no token, verifier or state in any file,
//! and no silent fallback when the keyring cannot be reached.

mod common;

use std::time::Duration;

use common::{files_containing, World};
use keyfob_core::internals::SecretKey;
use keyfob_core::{Keyfob, LinkOptions, Paths};
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_appears_in_any_file() -> anyhow::Result<()> {
    let w = World::start_with(json!({"ttl": {"AccessToken": 30}})).await?;
    // A link left pending, so its state and verifier exist somewhere.
    let pending = w.kf.begin_link("local", LinkOptions::default()).await?;
    let state = pending
        .authorization_url
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let pending_secret = w
        .secret(SecretKey::PendingLink(pending.link_id.clone()))
        .await?
        .unwrap();

    let account = w.link("local", "alice").await?;
    let refreshed =
        w.kf.access_token(&account.id, Duration::from_secs(60))
            .await?;
    assert!(refreshed.refreshed);
    let mut secrets = vec![
        refreshed.token.expose().to_string(),
        state,
        pending_secret.expose().to_string(),
    ];
    for key in [
        SecretKey::RefreshToken(account.id.clone()),
        SecretKey::IdToken(account.id.clone()),
    ] {
        secrets.push(w.secret(key).await?.unwrap().expose().to_string());
    }
    let verifier: serde_json::Value = serde_json::from_str(pending_secret.expose())?;
    secrets.push(verifier["verifier"].as_str().unwrap().to_string());

    // Keyfob's own files, and the whole HOME of the session (which holds the keyring file).
    let mut roots = vec![w.home.path().to_path_buf()];
    if let Some(session) = std::env::var_os("KEYFOB_SESSION_DIR") {
        roots.push(session.into());
    }
    for root in &roots {
        for secret in &secrets {
            let hits = files_containing(root, secret);
            assert!(hits.is_empty(), "a secret is in plain text in {hits:?}");
        }
    }
    // The scan itself works: the account id is in the metadata file.
    assert!(!files_containing(w.home.path(), &account.id).is_empty());
    Ok(())
}

/// Without a Secret Service, linking fails clearly and leaves no trace. Runs in a child
/// process because the keyring connection is made once per process.
#[tokio::test(flavor = "multi_thread")]
async fn without_a_keyring_nothing_is_stored() -> anyhow::Result<()> {
    let idp = keyfob_testkit::Idp::start().await?;
    let home = tempfile::tempdir()?;
    let out = tokio::process::Command::new(std::env::current_exe()?)
        .args([
            "no_keyring_process",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("KEYFOB_TEST_NO_KEYRING_HOME", home.path())
        .env("KEYFOB_TEST_ISSUER", idp.issuer())
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/keyfob-test-bus",
        )
        .output()
        .await?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("ERROR the system keyring is not available"),
        "{stdout}"
    );
    // The provider was there (set up while the keyring worked), so the link got as far as
    // the keyring, and stopped there.
    assert!(
        stdout.contains("LINK the system keyring is not available"),
        "{stdout}"
    );
    assert!(!home.path().join("data/pending.json").exists());
    assert!(!home.path().join("data/accounts.json").exists());
    Ok(())
}

/// Not a test on its own but the body of the process above, so it is ignored (the pass
/// count stays honest) and run there with `--ignored`.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "the body of without_a_keyring_nothing_is_stored's child process"]
async fn no_keyring_process() -> anyhow::Result<()> {
    let (Some(home), Ok(issuer)) = (
        std::env::var_os("KEYFOB_TEST_NO_KEYRING_HOME"),
        std::env::var("KEYFOB_TEST_ISSUER"),
    ) else {
        return Ok(());
    };
    let kf = Keyfob::open(Paths::under(std::path::Path::new(&home)));
    let provider = keyfob_core::Provider {
        id: "local".into(),
        name: "Local".into(),
        kind: keyfob_core::ProviderKind::Openid,
        issuer: issuer.clone(),
        authorization_endpoint: format!("{issuer}/auth").parse()?,
        token_endpoint: format!("{issuer}/token").parse()?,
        userinfo_endpoint: None,
        revocation_endpoint: None,
        jwks_uri: Some(format!("{issuer}/jwks").parse()?),
        scopes: vec!["openid".into()],
        client_id: keyfob_testkit::NATIVE_CLIENT_ID.into(),
        client_auth: keyfob_core::ClientAuth::None,
        extra_params: Default::default(),
        redirect: keyfob_core::RedirectMode::Scheme,
        iss_parameter_supported: true,
        id_token_signing_alg_values_supported: Vec::new(),
        flavor: keyfob_core::Flavor::Standard,
        loopback_port: None,
        device_authorization_endpoint: None,
        device_client_id: None,
        refresh_ahead: keyfob_core::RefreshAhead::Default,
    };
    // Even adding a provider touches the keyring (to clear a stale secret) and must fail.
    if let Err(e) = kf.add_provider(provider.clone(), None).await {
        println!("ERROR {e}");
    }
    // A provider added earlier, while the keyring worked: its definition is a plain file.
    keyfob_core::internals::ProviderStore::new(kf.paths()).save(&[provider])?;
    match kf.begin_link("local", LinkOptions::default()).await {
        Ok(_) => println!("UNEXPECTED link started"),
        Err(e) => println!("LINK {e}"),
    }
    Ok(())
}

/// Windows refuses a keyring item over 2,560 bytes, and Entra or Bitbucket access tokens
/// exceed it: a large token is split across items on every platform, so it is exercised here
/// against the real Secret Service, and reads back whole through the facade.
#[tokio::test(flavor = "multi_thread")]
async fn a_ten_kilobyte_token_is_split_across_items_and_reads_back_whole() -> anyhow::Result<()> {
    let w = World::start().await?;
    let account = w.link("local", "alice").await?;
    let key = SecretKey::AccessToken(account.id.clone());
    let large = keyfob_core::Secret::new(format!("eyJ{}", "0123456789abcdef-_.".repeat(530)));
    assert!(large.expose().len() > 10_000);
    w.secrets().put(key.clone(), &large).await?;

    // Every item of the profile, as the Secret Service holds it.
    let service = w.kf.paths().keyring_service.clone();
    let items = || -> anyhow::Result<Vec<(String, usize)>> {
        let spec = std::collections::HashMap::from([("service", service.as_str())]);
        let mut items = Vec::new();
        for entry in keyring_core::Entry::search(&spec)? {
            let user = entry.get_specifiers().map(|(_, u)| u).unwrap_or_default();
            items.push((user, entry.get_secret()?.len()));
        }
        Ok(items)
    };
    let parts: Vec<_> = items()?
        .into_iter()
        .filter(|(user, _)| user.starts_with(&format!("account/{}/access_token", account.id)))
        .collect();
    assert_eq!(parts.len(), 11, "a header and ten parts: {parts:?}");
    assert!(parts.iter().all(|(_, len)| *len <= 1_024), "{parts:?}");

    let fresh = w.kf.access_token(&account.id, Duration::ZERO).await?;
    assert!(!fresh.refreshed);
    assert_eq!(fresh.token, large, "joined whole");
    assert_eq!(
        w.reopen()
            .access_token(&account.id, Duration::ZERO)
            .await?
            .token,
        large
    );

    // Unlinking deletes every part.
    w.kf.unlink(&account.id).await?;
    assert!(items()?.is_empty(), "{:?}", items()?);
    Ok(())
}
