//! Shared fixture: a real OpenID provider, a scripted browser and a Keyfob profile of its own.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use keyfob_core::internals::{SecretKey, SecretStore};
use keyfob_core::{
    Account, ClientAuth, Keyfob, LinkOptions, OpenidProviderDraft, Paths, RedirectMode, Secret,
};
use keyfob_testkit::{Browser, Consent, Idp};
use serde_json::Value;

/// One test's world.
pub struct World {
    pub idp: Idp,
    pub home: tempfile::TempDir,
    pub kf: Keyfob,
    pub browser: Browser,
}

/// Scopes that make the local provider issue a refresh token.
pub fn scopes() -> Vec<String> {
    ["openid", "email", "profile", "offline_access"]
        .map(String::from)
        .to_vec()
}

/// The local provider as a custom OpenID provider, added from its issuer URL alone.
pub fn draft(idp: &Idp, id: &str, client_id: &str, auth: ClientAuth) -> OpenidProviderDraft {
    OpenidProviderDraft {
        id: id.into(),
        name: format!("Local {id}"),
        issuer: idp.issuer().to_string(),
        client_id: client_id.into(),
        client_auth: auth,
        scopes: Some(scopes()),
        extra_params: BTreeMap::from([("prompt".to_string(), "consent".to_string())]),
        redirect: RedirectMode::Scheme,
        device_flow: false,
        refresh_ahead: Default::default(),
    }
}

impl World {
    /// A provider with default settings and a provider `local` for the public client.
    pub async fn start() -> Result<World> {
        Self::start_with(serde_json::json!({})).await
    }

    /// Same, with IdP configuration merged over its defaults.
    pub async fn start_with(config: Value) -> Result<World> {
        let idp = Idp::start_with(config).await?;
        let home = tempfile::tempdir()?;
        let kf = Keyfob::open(Paths::under(home.path()));
        kf.add_openid_provider(
            draft(
                &idp,
                "local",
                keyfob_testkit::NATIVE_CLIENT_ID,
                ClientAuth::None,
            ),
            None,
        )
        .await
        .context("adding the local provider")?;
        Ok(World {
            idp,
            home,
            kf,
            browser: Browser::new(),
        })
    }

    /// Another Keyfob on the same profile, as after a restart of the app.
    pub fn reopen(&self) -> Keyfob {
        Keyfob::open(Paths::under(self.home.path()))
    }

    /// Starts a link at `provider` and lets `login` sign in; returns the callback URL.
    pub async fn callback(&self, provider: &str, login: &str, consent: Consent) -> Result<String> {
        let start = self.kf.begin_link(provider, LinkOptions::default()).await?;
        self.browser
            .authorize(start.authorization_url.as_str(), login, consent)
            .await
    }

    /// Links `login` at `provider` end to end.
    pub async fn link(&self, provider: &str, login: &str) -> Result<Account> {
        let url = self.callback(provider, login, Consent::Approve).await?;
        Ok(self.kf.complete_link(&url).await?)
    }

    /// The keyring as this profile sees it.
    pub fn secrets(&self) -> SecretStore {
        SecretStore::new(self.kf.paths().keyring_service.clone())
    }

    /// A secret of an account, straight from the keyring.
    pub async fn secret(&self, key: SecretKey) -> Result<Option<Secret>> {
        Ok(self.secrets().get(key).await?)
    }
}

/// Links `login` at `provider` through a loopback redirect, with a fresh browser that signs
/// in, follows the redirect to Keyfob's listener and must get its 200 page.
pub async fn link_loopback(kf: &Keyfob, provider: &str, login: &str) -> Result<Account> {
    let (start, listener) = kf.begin_loopback_link(provider, None).await?;
    let browser = Browser::new();
    let sign_in = async {
        let callback = browser
            .authorize(start.authorization_url.as_str(), login, Consent::Approve)
            .await?;
        browser.deliver(&callback).await
    };
    let (account, page) = tokio::join!(listener.complete(kf, &start), sign_in);
    let (status, body) = page?;
    anyhow::ensure!(status == 200, "{body}");
    Ok(account?)
}

/// Rewrites one query parameter of a callback URL (or removes it with `None`).
pub fn with_param(url: &str, name: &str, value: Option<&str>) -> String {
    let mut parsed = url::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .into_owned()
        .filter(|(k, _)| k != name)
        .collect();
    {
        let mut q = parsed.query_pairs_mut();
        q.clear();
        for (k, v) in &pairs {
            q.append_pair(k, v);
        }
        if let Some(v) = value {
            q.append_pair(name, v);
        }
    }
    parsed.to_string()
}

/// Every file below `dir` whose bytes contain `needle`.
pub fn files_containing(dir: &Path, needle: &str) -> Vec<String> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            let Ok(kind) = e.file_type() else { continue };
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() {
                if let Ok(bytes) = std::fs::read(&path) {
                    if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                        hits.push(path.display().to_string());
                    }
                }
            }
        }
    }
    hits
}
