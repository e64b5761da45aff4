//! Providers: list, add (custom OpenID through discovery), edit, remove. Client secrets go
//! from the form straight into the keyring; they are never sent back.

use std::collections::BTreeMap;

use keyfob_core::{ClientAuth, OpenidProviderDraft, Provider, RedirectMode, Secret, SecretUpdate};
use serde::Deserialize;
use tauri::State;

use crate::error::UiError;
use crate::state::AppState;
use crate::views::ProviderView;

#[tauri::command]
pub async fn list_providers(state: State<'_, AppState>) -> Result<Vec<ProviderView>, UiError> {
    Ok(state
        .keyfob
        .providers()?
        .into_iter()
        .map(ProviderView::from)
        .collect())
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
    Ok(state.keyfob.provider(&provider.id)?.into())
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
    Ok(state
        .keyfob
        .add_openid_provider(draft, secret)
        .await?
        .into())
}

#[tauri::command]
pub async fn remove_provider(
    state: State<'_, AppState>,
    provider_id: String,
) -> Result<(), UiError> {
    Ok(state.keyfob.remove_provider(&provider_id).await?)
}
