//! The token endpoint through the `oauth2` crate: code exchange and refresh.

use std::time::Duration;

use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AuthType, AuthorizationCode, ClientId, ClientSecret, EndpointNotSet, EndpointSet,
    PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError, StandardErrorResponse,
    StandardRevocableToken, StandardTokenResponse, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use url::Url;

use crate::error::{Error, Result};
use crate::http::{endpoint_name, Http, HttpFailure};
use crate::provider::{ClientAuth, Flavor, Provider};
use crate::secret::Secret;

/// Fields beyond RFC 6749 that Keyfob reads from token responses.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ExtraFields {
    /// OpenID Connect ID token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// GitHub Apps: lifetime of the refresh token in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_expires_in: Option<u64>,
}

impl oauth2::ExtraTokenFields for ExtraFields {}

pub(crate) type Response = StandardTokenResponse<ExtraFields, BasicTokenType>;

pub(crate) type Client = oauth2::Client<
    BasicErrorResponse,
    Response,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// What a token endpoint handed out.
#[derive(Debug, Clone)]
pub struct Tokens {
    /// The access token.
    pub access_token: Secret,
    /// A refresh token, when one was issued (or rotated).
    pub refresh_token: Option<Secret>,
    /// An ID token, when one was issued.
    pub id_token: Option<Secret>,
    /// Access token lifetime; `None` when the provider gives none.
    pub expires_in: Option<Duration>,
    /// Refresh token lifetime, where the provider says so.
    pub refresh_expires_in: Option<Duration>,
    /// Scopes granted, when the response lists them.
    pub scopes: Option<Vec<String>>,
}

impl Tokens {
    /// When the access token expires, counting from `issued_at`; `None` when it does not.
    pub fn access_expires_at(&self, issued_at: OffsetDateTime) -> Option<OffsetDateTime> {
        self.expires_in.and_then(|d| end_of(issued_at, d))
    }

    /// When the refresh token expires, where the provider says so.
    pub fn refresh_expires_at(&self, issued_at: OffsetDateTime) -> Option<OffsetDateTime> {
        self.refresh_expires_in.and_then(|d| end_of(issued_at, d))
    }
}

/// The end of a lifetime the provider announced. A lifetime past the calendar's end (some
/// servers write a huge number for "never") counts as no expiry instead of overflowing.
fn end_of(issued_at: OffsetDateTime, lifetime: Duration) -> Option<OffsetDateTime> {
    let lifetime = time::Duration::try_from(lifetime).ok()?;
    issued_at.checked_add(lifetime)
}

pub(crate) fn client(provider: &Provider, secret: Option<&Secret>) -> Result<Client> {
    let token_url = TokenUrl::from_url(provider.token_endpoint.clone());
    let mut client =
        oauth2::Client::new(ClientId::new(provider.client_id.clone())).set_token_uri(token_url);
    match (provider.client_auth, secret) {
        (ClientAuth::None, _) => {}
        (auth, Some(secret)) => {
            client = client
                .set_client_secret(ClientSecret::new(secret.expose().to_string()))
                .set_auth_type(if auth == ClientAuth::Basic {
                    AuthType::BasicAuth
                } else {
                    AuthType::RequestBody
                });
        }
        (_, None) => return Err(Error::ClientSecretMissing(provider.id.clone())),
    }
    Ok(client)
}

/// Exchanges an authorization code (RFC 6749 section 4.1.3 with the RFC 7636 verifier).
pub async fn exchange_code(
    http: &Http,
    provider: &Provider,
    secret: Option<&Secret>,
    code: &str,
    redirect_uri: &Url,
    verifier: &Secret,
) -> Result<Tokens> {
    let client = client(provider, secret)?;
    let response = client
        .exchange_code(AuthorizationCode::new(code.to_string()))
        .set_redirect_uri(std::borrow::Cow::Owned(RedirectUrl::from_url(
            redirect_uri.clone(),
        )))
        .set_pkce_verifier(PkceCodeVerifier::new(verifier.expose().to_string()))
        .request_async(http)
        .await
        .map_err(|e| token_error(&provider.token_endpoint, e))?;
    Ok(tokens(response, provider.flavor))
}

/// Uses a refresh token (RFC 6749 section 6).
pub async fn refresh(
    http: &Http,
    provider: &Provider,
    secret: Option<&Secret>,
    refresh_token: &Secret,
) -> Result<Tokens> {
    let client = client(provider, secret)?;
    let token = RefreshToken::new(refresh_token.expose().to_string());
    let response = client
        .exchange_refresh_token(&token)
        .request_async(http)
        .await
        .map_err(|e| token_error(&provider.token_endpoint, e))?;
    Ok(tokens(response, provider.flavor))
}

pub(crate) fn tokens(response: Response, flavor: Flavor) -> Tokens {
    let extra = response.extra_fields();
    Tokens {
        access_token: Secret::new(response.access_token().secret().clone()),
        refresh_token: response
            .refresh_token()
            .map(|t| Secret::new(t.secret().clone())),
        id_token: extra.id_token.clone().map(Secret::new),
        expires_in: response.expires_in(),
        refresh_expires_in: extra.refresh_token_expires_in.map(Duration::from_secs),
        scopes: response.scopes().map(|s| granted_scopes(s, flavor)),
    }
}

/// Scope tokens as granted; GitHub separates them with commas instead of spaces
/// (https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/scopes-for-oauth-apps).
fn granted_scopes(scopes: &[oauth2::Scope], flavor: Flavor) -> Vec<String> {
    scopes
        .iter()
        .flat_map(|s| match flavor {
            Flavor::Github => s.split(',').map(str::to_string).collect::<Vec<_>>(),
            Flavor::Standard | Flavor::Google => vec![s.to_string()],
        })
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

pub(crate) fn token_error(
    endpoint: &Url,
    e: RequestTokenError<HttpFailure, StandardErrorResponse<oauth2::basic::BasicErrorResponseType>>,
) -> Error {
    match e {
        RequestTokenError::ServerResponse(r) => Error::TokenRejected {
            endpoint: endpoint_name(endpoint),
            code: r.error().as_ref().to_string(),
            description: r.error_description().cloned(),
        },
        other => transport_error(endpoint, other),
    }
}

pub(crate) fn transport_error<T: oauth2::ErrorResponse>(
    endpoint: &Url,
    e: RequestTokenError<HttpFailure, T>,
) -> Error {
    let endpoint = endpoint_name(endpoint);
    match e {
        RequestTokenError::Request(HttpFailure::Network(reason)) => {
            Error::Network { endpoint, reason }
        }
        RequestTokenError::Request(HttpFailure::Status(status)) => {
            Error::ProviderUnavailable { endpoint, status }
        }
        RequestTokenError::Request(f @ HttpFailure::NotJson { .. }) => Error::InvalidResponse {
            endpoint,
            reason: f.to_string(),
        },
        RequestTokenError::Request(f @ HttpFailure::TooLarge) => Error::InvalidResponse {
            endpoint,
            reason: f.to_string(),
        },
        RequestTokenError::Request(HttpFailure::Insecure(reason)) => {
            Error::InvalidResponse { endpoint, reason }
        }
        // The body may hold tokens: report where parsing failed, never the body itself.
        RequestTokenError::Parse(e, _) => Error::InvalidResponse {
            endpoint,
            reason: format!("malformed token response at '{}': {}", e.path(), e.inner()),
        },
        RequestTokenError::Other(reason) => Error::InvalidResponse { endpoint, reason },
        RequestTokenError::ServerResponse(_) => unreachable!("handled by the caller"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_scopes_are_comma_separated() {
        let scopes = vec![
            oauth2::Scope::new("repo,gist".into()),
            oauth2::Scope::new("read:user".into()),
        ];
        assert_eq!(
            granted_scopes(&scopes, Flavor::Github),
            vec!["repo", "gist", "read:user"]
        );
        assert_eq!(
            granted_scopes(&scopes, Flavor::Standard),
            vec!["repo,gist", "read:user"]
        );
        assert!(granted_scopes(&[oauth2::Scope::new(String::new())], Flavor::Github).is_empty());
    }

    fn lasting(access: Option<u64>, refresh: Option<u64>) -> Tokens {
        Tokens {
            access_token: Secret::new("a"),
            refresh_token: None,
            id_token: None,
            expires_in: access.map(Duration::from_secs),
            refresh_expires_in: refresh.map(Duration::from_secs),
            scopes: None,
        }
    }

    #[test]
    fn lifetimes_count_from_the_request_and_huge_ones_mean_no_expiry() {
        let issued = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let tokens = lasting(Some(3600), Some(15_897_600));
        assert_eq!(
            tokens.access_expires_at(issued),
            Some(issued + time::Duration::hours(1))
        );
        assert_eq!(
            tokens.refresh_expires_at(issued),
            Some(issued + time::Duration::days(184))
        );
        assert_eq!(lasting(None, None).access_expires_at(issued), None);
        assert_eq!(lasting(None, None).refresh_expires_at(issued), None);
        // Past the calendar (year 9999) or past what a duration holds: no expiry, no panic.
        for huge in [i64::MAX as u64, u64::MAX, 400_000_000_000] {
            let tokens = lasting(Some(huge), Some(huge));
            assert_eq!(tokens.access_expires_at(issued), None, "{huge}");
            assert_eq!(tokens.refresh_expires_at(issued), None, "{huge}");
        }
    }
}
