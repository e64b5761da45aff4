//! What an account was linked with: the provider settings its tokens belong to (checked
//! against the provider's definition in `account_binding`).

use serde::{Deserialize, Serialize};
use url::Url;

use crate::provider::{Provider, ProviderKind};

/// The provider settings an account was linked with (its issuer is the account's own
/// `issuer`). Recorded at each link; accounts linked before Keyfob recorded it got theirs from
/// their provider's definition when the accounts file was upgraded.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Binding {
    /// Where its refresh token is spent.
    pub token_endpoint: Url,
    /// Where its grant is revoked.
    pub revocation_endpoint: Option<Url>,
    /// Where its access token is shown to read or check the identity.
    pub userinfo_endpoint: Option<Url>,
    /// The client its grant was issued to.
    pub client_id: String,
    /// OpenID Connect (its refreshed ID tokens are checked) or plain OAuth 2.
    pub kind: ProviderKind,
    /// Whether its provider's authorization responses had to carry `iss` (RFC 9207).
    pub iss_required: bool,
}

impl Binding {
    /// What a link through `provider` binds the account to.
    pub fn of(provider: &Provider) -> Binding {
        Binding {
            token_endpoint: provider.token_endpoint.clone(),
            revocation_endpoint: provider.revocation_endpoint.clone(),
            userinfo_endpoint: provider.userinfo_endpoint.clone(),
            client_id: provider.client_id.clone(),
            kind: provider.kind,
            iss_required: provider.iss_parameter_supported,
        }
    }
}
