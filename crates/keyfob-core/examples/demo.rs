//! Engine demo against the local OpenID provider: link, list, token, refresh, unlink.
//! Run it with `scripts/run.sh` (it needs the keyring session that script sets up).

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Result;
use keyfob_core::{ClientAuth, Keyfob, LinkOptions, OpenidProviderDraft, Paths, RedirectMode};
use keyfob_testkit::{Browser, Consent, Idp};

#[tokio::main]
async fn main() -> Result<()> {
    let idp = Idp::start_with(serde_json::json!({"ttl": {"AccessToken": 120}})).await?;
    let home = tempfile::tempdir()?;
    let kf = Keyfob::open(Paths::under(home.path()));
    kf.check_keyring().await?;
    println!("Local OpenID provider at {}", idp.issuer());

    let provider = kf
        .add_openid_provider(
            OpenidProviderDraft {
                id: "local".into(),
                name: "Local OpenID provider".into(),
                issuer: idp.issuer().into(),
                client_id: keyfob_testkit::NATIVE_CLIENT_ID.into(),
                client_auth: ClientAuth::None,
                scopes: Some(
                    ["openid", "email", "profile", "offline_access"]
                        .map(String::from)
                        .to_vec(),
                ),
                extra_params: BTreeMap::from([("prompt".into(), "consent".into())]),
                device_flow: false,
                refresh_ahead: Default::default(),
                redirect: RedirectMode::Scheme,
            },
            None,
        )
        .await?;
    println!(
        "Added provider '{}' by discovery (RFC 9207 iss: {})",
        provider.name, provider.iss_parameter_supported
    );

    let start = kf.begin_link("local", LinkOptions::default()).await?;
    println!(
        "Started link {}; the browser signs in as 'demo' on the provider's own pages...",
        start.link_id
    );
    let callback = Browser::new()
        .authorize(start.authorization_url.as_str(), "demo", Consent::Approve)
        .await?;
    let account = kf.complete_link(&callback).await?;
    println!("\nLinked {} ({})", account.display_name, account.id);

    for a in kf.accounts()? {
        let expiry = a
            .access_expires_at
            .map(|t| t.to_string())
            .unwrap_or_else(|| "never".into());
        println!(
            "  {:<22} {:<24} scopes: {:<40} expires: {expiry}",
            a.id,
            a.display_name,
            a.scopes.join(" ")
        );
    }

    let token = kf
        .access_token(&account.id, Duration::from_secs(60))
        .await?;
    println!(
        "\nCached token: {}… (refreshed: {})",
        &token.token.expose()[..8],
        token.refreshed
    );
    let token = kf
        .access_token(&account.id, Duration::from_secs(300))
        .await?;
    println!(
        "Asked for 5 min of validity: {}… (refreshed: {})",
        &token.token.expose()[..8],
        token.refreshed
    );

    let report = kf.unlink(&account.id).await?;
    println!(
        "\nUnlinked {}: revocation {:?}; {} account(s) left",
        report.account.display_name,
        report.revocation,
        kf.accounts()?.len()
    );
    Ok(())
}
