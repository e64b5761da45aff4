//! OpenID Connect discovery (`/.well-known/openid-configuration`), checked per RFC 8414 3.3.

use crate::keeper::refresh_ahead::RefreshAhead;
use std::collections::BTreeMap;

use serde::Deserialize;
use url::Url;

use crate::error::{Error, Result};
use crate::http::{ensure_secure_url, Http};
use crate::provider::{ClientAuth, Flavor, Provider, ProviderKind, RedirectMode};

/// The parts of a discovery document Keyfob uses.
#[derive(Debug, Clone, Deserialize)]
pub struct Discovered {
    /// The issuer the document speaks for.
    pub issuer: String,
    /// Authorization endpoint.
    pub authorization_endpoint: Url,
    /// Token endpoint.
    pub token_endpoint: Url,
    /// Userinfo endpoint.
    #[serde(default)]
    pub userinfo_endpoint: Option<Url>,
    /// RFC 7009 revocation endpoint.
    #[serde(default)]
    pub revocation_endpoint: Option<Url>,
    /// Signing keys.
    pub jwks_uri: Url,
    /// PKCE methods; when present it must include S256.
    #[serde(default)]
    pub code_challenge_methods_supported: Option<Vec<String>>,
    /// RFC 9207 support.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
    /// The algorithms ID tokens may be signed with (OpenID Connect Discovery section 3).
    #[serde(default)]
    pub id_token_signing_alg_values_supported: Vec<String>,
    /// RFC 8628 device authorization endpoint (RFC 8414 metadata).
    #[serde(default)]
    pub device_authorization_endpoint: Option<Url>,
}

/// What a user types to add an OpenID provider; the rest comes from discovery.
#[derive(Debug, Clone)]
pub struct OpenidProviderDraft {
    /// Short id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Issuer URL, exactly as the provider names itself.
    pub issuer: String,
    /// Registered client id.
    pub client_id: String,
    /// Token endpoint authentication.
    pub client_auth: ClientAuth,
    /// Scopes; defaults to `openid email profile`.
    pub scopes: Option<Vec<String>>,
    /// Extra authorization parameters.
    pub extra_params: BTreeMap<String, String>,
    /// Redirect mode.
    pub redirect: RedirectMode,
    /// Whether linking with a code (device flow) is turned on; discovery must offer it.
    pub device_flow: bool,
    /// How long before expiry the keeper refreshes the provider's accounts.
    pub refresh_ahead: RefreshAhead,
}

impl OpenidProviderDraft {
    /// The provider this draft describes, with the endpoints `found` by discovery.
    pub fn into_provider(self, found: Discovered, flavor: Flavor) -> Provider {
        let device_authorization_endpoint = if self.device_flow {
            found.device_authorization_endpoint
        } else {
            None
        };
        Provider {
            id: self.id,
            name: self.name,
            kind: ProviderKind::Openid,
            issuer: found.issuer,
            authorization_endpoint: found.authorization_endpoint,
            token_endpoint: found.token_endpoint,
            userinfo_endpoint: found.userinfo_endpoint,
            revocation_endpoint: found.revocation_endpoint,
            jwks_uri: Some(found.jwks_uri),
            scopes: self
                .scopes
                .unwrap_or_else(|| vec!["openid".into(), "email".into(), "profile".into()]),
            client_id: self.client_id,
            client_auth: self.client_auth,
            extra_params: self.extra_params,
            redirect: self.redirect,
            iss_parameter_supported: found.authorization_response_iss_parameter_supported,
            id_token_signing_alg_values_supported: found.id_token_signing_alg_values_supported,
            flavor,
            loopback_port: None,
            device_authorization_endpoint,
            device_client_id: None,
            refresh_ahead: self.refresh_ahead,
        }
    }
}

/// The discovery document URL for an issuer (OpenID Connect Discovery 1.0 section 4).
pub fn discovery_url(issuer: &str) -> Result<Url> {
    let base = Url::parse(issuer).map_err(|e| Error::Discovery {
        issuer: issuer.to_string(),
        reason: format!("not a URL: {e}"),
    })?;
    ensure_secure_url(&base).map_err(|reason| Error::Discovery {
        issuer: issuer.to_string(),
        reason,
    })?;
    let trimmed = issuer.trim_end_matches('/');
    Url::parse(&format!("{trimmed}/.well-known/openid-configuration")).map_err(|e| {
        Error::Discovery {
            issuer: issuer.to_string(),
            reason: e.to_string(),
        }
    })
}

/// Fetches and checks the discovery document of `issuer`.
pub async fn discover(http: &Http, issuer: &str) -> Result<Discovered> {
    let url = discovery_url(issuer)?;
    let doc: Discovered = http.get_json(&url, None, &[]).await?;
    check(issuer, doc)
}

fn check(issuer: &str, doc: Discovered) -> Result<Discovered> {
    // Exact comparison: RFC 8414 section 3.3 and OpenID Discovery section 4.3.
    if doc.issuer != issuer {
        return Err(Error::IssuerMismatch {
            expected: issuer.to_string(),
            found: doc.issuer,
        });
    }
    if let Some(methods) = &doc.code_challenge_methods_supported {
        if !methods.iter().any(|m| m == "S256") {
            return Err(Error::Discovery {
                issuer: issuer.to_string(),
                reason: "the provider does not support PKCE with S256".into(),
            });
        }
    }
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(issuer: &str, methods: Option<Vec<&str>>) -> Discovered {
        Discovered {
            issuer: issuer.into(),
            authorization_endpoint: Url::parse("https://i/auth").unwrap(),
            token_endpoint: Url::parse("https://i/token").unwrap(),
            userinfo_endpoint: None,
            revocation_endpoint: None,
            jwks_uri: Url::parse("https://i/jwks").unwrap(),
            code_challenge_methods_supported: methods
                .map(|m| m.into_iter().map(String::from).collect()),
            authorization_response_iss_parameter_supported: false,
            id_token_signing_alg_values_supported: Vec::new(),
            device_authorization_endpoint: None,
        }
    }

    #[test]
    fn refuses_a_document_for_another_issuer() {
        assert!(check("https://i", doc("https://i", None)).is_ok());
        let err = check("https://i", doc("https://evil", None)).unwrap_err();
        assert!(matches!(err, Error::IssuerMismatch { .. }), "{err}");
        // A trailing slash is a different issuer string.
        assert!(check("https://i", doc("https://i/", None)).is_err());
    }

    #[test]
    fn refuses_a_provider_without_s256() {
        assert!(check("https://i", doc("https://i", Some(vec!["plain"]))).is_err());
        assert!(check("https://i", doc("https://i", Some(vec!["plain", "S256"]))).is_ok());
    }

    #[test]
    fn builds_the_well_known_url() {
        assert_eq!(
            discovery_url("https://accounts.google.com")
                .unwrap()
                .as_str(),
            "https://accounts.google.com/.well-known/openid-configuration"
        );
        assert_eq!(
            discovery_url("https://login.example.com/tenant/")
                .unwrap()
                .as_str(),
            "https://login.example.com/tenant/.well-known/openid-configuration"
        );
        assert!(discovery_url("http://example.com").is_err());
    }
}
