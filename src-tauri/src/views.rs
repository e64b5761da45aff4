//! What the UI receives about providers: the definition (no secret lives in it) plus the
//! redirect URI the user must register at the provider. Accounts go out as the core's
//! `Account`, which is metadata only.

use keyfob_core::{Keyfob, Provider, RedirectMode};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct ProviderView {
    #[serde(flatten)]
    pub provider: Provider,
    /// The redirect URI to enter in the provider's app registration.
    pub redirect_uri: String,
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
        let redirect_uri = match provider.redirect {
            RedirectMode::Scheme => provider.scheme_redirect_uri().to_string(),
            // RFC 8252 section 7.3: providers must accept any port on the loopback address.
            RedirectMode::Loopback => format!("http://127.0.0.1{}", provider.redirect_path()),
        };
        ProviderView {
            provider,
            redirect_uri,
            has_client_secret,
        }
    }
}
