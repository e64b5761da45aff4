//! What the UI receives about providers: the definition (no secret lives in it) plus the
//! redirect URIs the user must register at the provider. Accounts go out as the core's
//! `Account`, which is metadata only.

use keyfob_core::{Keyfob, Provider, RedirectRegistration};
use serde::Serialize;

#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
pub struct ProviderView {
    #[serde(flatten)]
    pub provider: Provider,
    /// The redirect URIs to enter in the provider's app registration (the core's answer).
    pub redirect_uris: Vec<RedirectRegistration>,
    /// Whether a client secret is stored in the keyring (the secret itself is never read).
    pub has_client_secret: bool,
}

impl ProviderView {
    /// The view of `provider`, asking the keyring only whether a client secret exists.
    pub async fn of(keyfob: &Keyfob, provider: Provider) -> Result<Self, keyfob_core::Error> {
        let has_client_secret = keyfob.has_client_secret(&provider.id).await?;
        Ok(ProviderView::new(provider, has_client_secret))
    }
}

impl ProviderView {
    fn new(provider: Provider, has_client_secret: bool) -> Self {
        ProviderView {
            redirect_uris: provider.redirect_registrations(),
            provider,
            has_client_secret,
        }
    }
}
