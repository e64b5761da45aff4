//! What the UI receives about providers: the definition (no secret lives in it) plus the
//! redirect URI the user must register at the provider. Accounts go out as the core's
//! `Account`, which is metadata only.

use keyfob_core::{Provider, RedirectMode};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct ProviderView {
    #[serde(flatten)]
    pub provider: Provider,
    /// The redirect URI to enter in the provider's app registration.
    pub redirect_uri: String,
}

impl From<Provider> for ProviderView {
    fn from(provider: Provider) -> Self {
        let redirect_uri = match provider.redirect {
            RedirectMode::Scheme => provider.scheme_redirect_uri().to_string(),
            // RFC 8252 section 7.3: providers must accept any port on the loopback address.
            RedirectMode::Loopback => format!("http://127.0.0.1{}", provider.redirect_path()),
        };
        ProviderView {
            provider,
            redirect_uri,
        }
    }
}
