//! Providers: list, add (custom OpenID through discovery), edit, remove. Client secrets go
//! from the form straight into the keyring; they are never sent back.

use std::collections::BTreeMap;

use keyfob_core::provider::presets;
use keyfob_core::{
    ClientAuth, GithubOptions, GoogleOptions, OpenidProviderDraft, Provider, RedirectMode, Secret,
    SecretUpdate,
};
use serde::Deserialize;
use tauri::State;

use crate::error::UiError;
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

/// Adds or replaces a provider definition (the core validates it).
#[tauri::command]
pub async fn save_provider(
    state: State<'_, AppState>,
    provider: Provider,
    secret: SecretInput,
) -> Result<ProviderView, UiError> {
    state
        .keyfob
        .save_provider(provider.clone(), secret.into())
        .await?;
    let saved = state.keyfob.provider(&provider.id)?;
    Ok(ProviderView::of(&state.keyfob, saved).await?)
}

/// The custom OpenID provider form: the rest comes from the issuer's discovery document.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
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
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GithubProviderInput {
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    /// A GitHub App (exact callback URLs: the custom scheme) rather than an OAuth App.
    #[serde(default)]
    pub github_app: bool,
    /// A GitHub Enterprise Server or GHE.com base URL; github.com when absent.
    pub enterprise_url: Option<String>,
}

#[tauri::command]
pub async fn add_github_provider(
    state: State<'_, AppState>,
    input: GithubProviderInput,
) -> Result<ProviderView, UiError> {
    let client_id = client_id_or(input.client_id, presets::GITHUB_CLIENT_ID, "GitHub")?;
    let secret = secret_or(input.client_secret, presets::GITHUB_CLIENT_SECRET);
    let mut options = match filled(input.enterprise_url) {
        Some(base) => GithubOptions::enterprise(&base, client_id)?,
        None => GithubOptions::github_com(client_id),
    };
    if input.github_app {
        options = options.github_app();
    }
    let provider = state.keyfob.add_github(options, secret).await?;
    Ok(ProviderView::of(&state.keyfob, provider).await?)
}

/// The Google preset form (a "Desktop app" OAuth client).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GoogleProviderInput {
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

#[tauri::command]
pub async fn add_google_provider(
    state: State<'_, AppState>,
    input: GoogleProviderInput,
) -> Result<ProviderView, UiError> {
    let client_id = client_id_or(input.client_id, presets::GOOGLE_CLIENT_ID, "Google")?;
    let secret = secret_or(input.client_secret, presets::GOOGLE_CLIENT_SECRET);
    let provider = state
        .keyfob
        .add_google(GoogleOptions::new(client_id), secret)
        .await?;
    Ok(ProviderView::of(&state.keyfob, provider).await?)
}

fn filled(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_string()).filter(|t| !t.is_empty())
}

/// The form's client id, else the one built in, else an error that says what to do.
fn client_id_or(
    given: Option<String>,
    built_in: Option<&'static str>,
    provider: &str,
) -> Result<String, UiError> {
    filled(given)
        .or_else(|| built_in.map(str::to_string))
        .ok_or_else(|| {
            UiError::new(
                "provider",
                format!("enter the client ID of the app you registered with {provider}; this Keyfob has none built in"),
            )
        })
}

fn secret_or(given: Option<String>, built_in: Option<&'static str>) -> Option<Secret> {
    // Secrets are taken as typed (no trimming beyond an empty field).
    given
        .filter(|s| !s.is_empty())
        .or_else(|| built_in.map(str::to_string))
        .map(Secret::new)
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

    #[test]
    fn client_id_falls_back_to_the_built_in_one_and_otherwise_says_what_to_do() {
        assert_eq!(
            client_id_or(Some(" id ".into()), Some("baked"), "GitHub").unwrap(),
            "id"
        );
        assert_eq!(
            client_id_or(Some("".into()), Some("baked"), "GitHub").unwrap(),
            "baked"
        );
        let e = client_id_or(None, None, "Google").unwrap_err();
        assert_eq!(e.kind, "provider");
        assert!(
            e.message.starts_with("Enter the client ID"),
            "{}",
            e.message
        );
    }
}
