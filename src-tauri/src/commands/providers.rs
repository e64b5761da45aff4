//! Providers: list, add (custom OpenID through discovery), edit, remove. Client secrets go
//! from the form straight into the keyring; they are never sent back.

use std::collections::BTreeMap;

use keyfob_core::{
    ClientAuth, Flavor, GithubOptions, GoogleOptions, Keyfob, OpenidProviderDraft, Provider,
    RedirectMode, RedirectRegistration, RedirectSetup, RefreshAhead, Secret, SecretUpdate,
};
use keyfob_core::{Preset, PresetClient};
use serde::Deserialize;
use tauri::State;

use crate::error::{UiError, UiErrorKind};
use crate::state::AppState;
use crate::views::ProviderView;

#[tauri::command]
pub async fn list_providers(state: State<'_, AppState>) -> Result<Vec<ProviderView>, UiError> {
    let mut views = Vec::new();
    for provider in state.keyfob.providers()? {
        views.push(ProviderView::of(&state.keyfob, provider).await?);
    }
    Ok(views)
}

/// What to do with the stored client secret.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Deserialize)]
#[serde(tag = "action", content = "value", rename_all = "snake_case")]
pub enum SecretInput {
    Keep,
    Set(String),
    Remove,
}

impl From<SecretInput> for SecretUpdate {
    fn from(input: SecretInput) -> Self {
        match input {
            SecretInput::Keep => SecretUpdate::Keep,
            SecretInput::Set(s) => SecretUpdate::Set(Secret::new(s)),
            SecretInput::Remove => SecretUpdate::Remove,
        }
    }
}

/// Adds or replaces a provider definition (the core validates it). `device_flow`: whether
/// linking with a code is on; turning it on finds the provider's device endpoint.
#[tauri::command]
pub async fn save_provider(
    state: State<'_, AppState>,
    provider: Provider,
    secret: SecretInput,
    device_flow: bool,
) -> Result<ProviderView, UiError> {
    let provider = with_device_flow(&state.keyfob, provider, device_flow).await?;
    state
        .keyfob
        .save_provider(provider.clone(), secret.into())
        .await?;
    let saved = state.keyfob.provider(&provider.id)?;
    Ok(ProviderView::of(&state.keyfob, saved).await?)
}

/// `provider` with linking with a code on or off: an endpoint it has is kept, a missing one
/// is found (discovery, or GitHub's fixed address), and off clears it.
async fn with_device_flow(
    keyfob: &Keyfob,
    mut provider: Provider,
    on: bool,
) -> Result<Provider, keyfob_core::Error> {
    provider.device_authorization_endpoint =
        match (on, provider.device_authorization_endpoint.take()) {
            (false, _) => None,
            (true, Some(endpoint)) => Some(endpoint),
            (true, None) => Some(keyfob.device_authorization_endpoint(&provider).await?),
        };
    Ok(provider)
}

/// The custom OpenID provider form: the rest comes from the issuer's discovery document.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Deserialize)]
pub struct OpenidProviderInput {
    pub id: String,
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Option<String>,
    pub client_auth: ClientAuth,
    pub scopes: Option<Vec<String>>,
    #[serde(default)]
    pub extra_params: BTreeMap<String, String>,
    pub redirect: RedirectMode,
    /// Allow linking with a code (RFC 8628); discovery must name a device endpoint.
    #[serde(default)]
    pub device_flow: bool,
    /// The keeper's lead for this provider; absent: the default rule.
    #[cfg_attr(test, ts(as = "Option<String>", optional))]
    #[serde(default)]
    pub refresh_ahead: Option<RefreshAhead>,
}

#[tauri::command]
pub async fn add_openid_provider(
    state: State<'_, AppState>,
    input: OpenidProviderInput,
) -> Result<ProviderView, UiError> {
    let draft = OpenidProviderDraft {
        id: input.id,
        name: input.name,
        issuer: input.issuer,
        client_id: input.client_id,
        client_auth: input.client_auth,
        scopes: input.scopes.filter(|s| !s.is_empty()),
        extra_params: input.extra_params,
        redirect: input.redirect,
        device_flow: input.device_flow,
        refresh_ahead: input.refresh_ahead.unwrap_or_default(),
    };
    let secret = input
        .client_secret
        .filter(|s| !s.is_empty())
        .map(Secret::new);
    let provider = state.keyfob.add_openid_provider(draft, secret).await?;
    Ok(ProviderView::of(&state.keyfob, provider).await?)
}

/// The GitHub preset form. Without a client id or secret the ones built into Keyfob (if any)
/// are used.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Deserialize)]
pub struct GithubProviderInput {
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    /// A GitHub App (exact callback URLs: the custom scheme) rather than an OAuth App.
    #[serde(default)]
    pub github_app: bool,
    /// A GitHub Enterprise Server or GHE.com base URL; github.com when absent.
    pub enterprise_url: Option<String>,
    /// Allow linking with a code ("Enable Device Flow" must be ticked in the app's settings).
    #[serde(default)]
    pub device_flow: bool,
}

#[tauri::command]
pub async fn add_github_provider(
    state: State<'_, AppState>,
    input: GithubProviderInput,
) -> Result<ProviderView, UiError> {
    let client = preset_client(Preset::Github, input.client_id, input.client_secret)?;
    let mut options = github_options(input.github_app, input.enterprise_url, client.id)?;
    options.device_flow = input.device_flow;
    let provider = state.keyfob.add_github(options, client.secret).await?;
    Ok(ProviderView::of(&state.keyfob, provider).await?)
}

/// The GitHub preset the form describes: github.com or an Enterprise, an OAuth App or a
/// GitHub App.
fn github_options(
    github_app: bool,
    enterprise_url: Option<String>,
    client_id: String,
) -> Result<GithubOptions, keyfob_core::Error> {
    let options = match filled(enterprise_url) {
        Some(base) => GithubOptions::enterprise(&base, client_id)?,
        None => GithubOptions::github_com(client_id),
    };
    Ok(if github_app {
        options.github_app()
    } else {
        options
    })
}

/// A setup form asking, before anything is saved, which redirect URIs the user must
/// register at the provider.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Deserialize)]
#[serde(tag = "form", rename_all = "snake_case")]
pub enum RegistrationQuery {
    /// The provider editor, for a new provider or an existing one (whose flavor and fixed
    /// loopback port then apply).
    Provider {
        provider_id: String,
        redirect: RedirectMode,
    },
    /// The GitHub preset form.
    Github {
        #[serde(default)]
        github_app: bool,
        enterprise_url: Option<String>,
    },
    /// The Google preset form.
    Google,
}

/// The core's answer to "what must be registered" for a form's current choices.
#[tauri::command]
pub async fn redirect_registrations(
    state: State<'_, AppState>,
    query: RegistrationQuery,
) -> Result<Vec<RedirectRegistration>, UiError> {
    Ok(registrations_for(&state.keyfob, query)?)
}

fn registrations_for(
    keyfob: &Keyfob,
    query: RegistrationQuery,
) -> Result<Vec<RedirectRegistration>, keyfob_core::Error> {
    Ok(match query {
        RegistrationQuery::Provider {
            provider_id,
            redirect,
        } => {
            let stored = keyfob
                .providers()?
                .into_iter()
                .find(|p| p.id == provider_id);
            keyfob_core::redirect_registrations(RedirectSetup {
                id: &provider_id,
                flavor: stored.as_ref().map_or(Flavor::Standard, |p| p.flavor),
                redirect,
                loopback_port: stored.and_then(|p| p.loopback_port),
            })
        }
        RegistrationQuery::Github {
            github_app,
            enterprise_url,
        } => {
            let o = github_options(github_app, enterprise_url, String::new())?;
            keyfob_core::redirect_registrations(RedirectSetup {
                id: &o.id,
                flavor: Flavor::Github,
                redirect: o.redirect,
                loopback_port: o.loopback_port,
            })
        }
        RegistrationQuery::Google => {
            let o = GoogleOptions::new(String::new());
            keyfob_core::redirect_registrations(RedirectSetup {
                id: &o.id,
                flavor: Flavor::Google,
                redirect: o.redirect,
                loopback_port: None,
            })
        }
    })
}

/// The Google preset form (a "Desktop app" OAuth client).
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Deserialize)]
pub struct GoogleProviderInput {
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

#[tauri::command]
pub async fn add_google_provider(
    state: State<'_, AppState>,
    input: GoogleProviderInput,
) -> Result<ProviderView, UiError> {
    let client = preset_client(Preset::Google, input.client_id, input.client_secret)?;
    let provider = state
        .keyfob
        .add_google(GoogleOptions::new(client.id), client.secret)
        .await?;
    Ok(ProviderView::of(&state.keyfob, provider).await?)
}

fn filled(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_string()).filter(|t| !t.is_empty())
}

/// The form's client, else the one built in (the core's rule), else an error that says what
/// to do.
fn preset_client(
    preset: Preset,
    id: Option<String>,
    secret: Option<String>,
) -> Result<PresetClient, UiError> {
    preset
        .client(id.as_deref(), secret.map(Secret::new))
        .ok_or_else(|| {
            let provider = preset.name();
            UiError::new(
                UiErrorKind::Provider,
                format!("enter the client ID of the app you registered with {provider}; this Keyfob has none built in"),
            )
        })
}

#[tauri::command]
pub async fn remove_provider(
    state: State<'_, AppState>,
    provider_id: String,
) -> Result<(), UiError> {
    Ok(state.keyfob.remove_provider(&provider_id).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fallback and trimming are the core's (`Preset::client`); the form adds the words.
    #[test]
    fn the_form_client_follows_the_core_rule_and_a_missing_one_says_what_to_do() {
        let client = preset_client(Preset::Github, Some(" id ".into()), Some("s".into())).unwrap();
        assert_eq!(client.id, "id");
        if Preset::Google.has_built_in_client() {
            return; // a distributor build has one baked in
        }
        let e = preset_client(Preset::Google, Some(" ".into()), None).unwrap_err();
        assert_eq!(e.kind, UiErrorKind::Provider);
        assert!(
            e.message.starts_with("Enter the client ID"),
            "{}",
            e.message
        );
    }

    /// The form's checkbox: on finds the endpoint (GitHub's here; discovery is the core's,
    /// tried in the e2e test), keeps one that is set, and off clears it.
    #[tokio::test]
    async fn the_device_flow_checkbox_sets_or_clears_the_endpoint() {
        let dir = tempfile::tempdir().expect("temp dir");
        let keyfob = Keyfob::open(keyfob_core::Paths::under(dir.path()));
        let github = keyfob_core::internals::github(GithubOptions::github_com("id"));
        assert_eq!(github.device_authorization_endpoint, None);
        let on = with_device_flow(&keyfob, github.clone(), true)
            .await
            .expect("on");
        let endpoint = on.device_authorization_endpoint.clone().expect("endpoint");
        assert_eq!(endpoint.as_str(), "https://github.com/login/device/code");
        let mut kept = on.clone();
        kept.device_authorization_endpoint = Some("https://github.com/other".parse().unwrap());
        let kept = with_device_flow(&keyfob, kept, true).await.expect("kept");
        assert_eq!(
            kept.device_authorization_endpoint.map(String::from),
            Some("https://github.com/other".into())
        );
        let off = with_device_flow(&keyfob, on, false).await.expect("off");
        assert_eq!(off.device_authorization_endpoint, None);
    }

    fn uris(keyfob: &Keyfob, query: RegistrationQuery) -> Vec<String> {
        registrations_for(keyfob, query)
            .expect("registrations")
            .into_iter()
            .map(|r| r.uri)
            .collect()
    }

    /// The forms' answers come from the core's one function, with the preset's own id,
    /// redirect mode and port; a stored provider's fixed port is shown when it is edited.
    #[test]
    fn each_form_gets_the_core_answer() {
        let dir = tempfile::tempdir().expect("temp dir");
        let keyfob = Keyfob::open(keyfob_core::Paths::under(dir.path()));
        let github = |github_app, enterprise_url: Option<&str>| RegistrationQuery::Github {
            github_app,
            enterprise_url: enterprise_url.map(str::to_string),
        };
        assert_eq!(
            uris(&keyfob, github(false, None)),
            ["http://127.0.0.1/oauth/github"]
        );
        assert_eq!(
            uris(&keyfob, github(true, None)),
            [
                "dev.keyfob.app:/oauth/github",
                "http://127.0.0.1:47213/oauth/github"
            ]
        );
        assert_eq!(
            uris(&keyfob, github(false, Some("https://ghe.example.com"))),
            ["http://127.0.0.1/oauth/github-enterprise"]
        );
        assert_eq!(
            uris(&keyfob, github(false, Some(" "))),
            ["http://127.0.0.1/oauth/github"]
        );
        assert!(registrations_for(&keyfob, github(false, Some("ghe:99999"))).is_err());
        assert!(uris(&keyfob, RegistrationQuery::Google).is_empty());
        let editor = |id: &str, redirect| RegistrationQuery::Provider {
            provider_id: id.into(),
            redirect,
        };
        assert_eq!(
            uris(&keyfob, editor("new", RedirectMode::Loopback)),
            ["http://127.0.0.1/oauth/new"]
        );

        // A GitHub App saved with its own port (as `keyfob provider github --github-app
        // --loopback-port 5000` does) shows that port in the editor.
        let mut options = GithubOptions::github_com("Iv1.app").github_app();
        options.loopback_port = Some(5000);
        let provider = keyfob_core::internals::github(options);
        std::fs::create_dir_all(dir.path().join("config")).expect("config dir");
        keyfob_core::internals::ProviderStore::new(keyfob.paths())
            .save(&[provider])
            .expect("save provider");
        assert_eq!(
            uris(&keyfob, editor("github", RedirectMode::Scheme)),
            [
                "dev.keyfob.app:/oauth/github",
                "http://127.0.0.1:5000/oauth/github"
            ]
        );
        assert_eq!(
            uris(&keyfob, editor("github", RedirectMode::Loopback)),
            ["http://127.0.0.1:5000/oauth/github"]
        );
    }
}
