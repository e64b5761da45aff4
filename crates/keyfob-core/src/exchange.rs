//! The token endpoint through the `oauth2` crate (code exchange, refresh), and revocation.

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
use url::Url;

use crate::error::{Error, Result};
use crate::http::{endpoint_name, Http, HttpFailure};
use crate::provider::{ClientAuth, Provider};
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

type Response = StandardTokenResponse<ExtraFields, BasicTokenType>;

type Client = oauth2::Client<
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

/// A token to revoke.
#[derive(Debug, Clone)]
pub enum Revocable {
    /// A refresh token: revoking it ends the grant.
    Refresh(Secret),
    /// An access token, when there is no refresh token.
    Access(Secret),
}

fn client(provider: &Provider, secret: Option<&Secret>) -> Result<Client> {
    let token_url = TokenUrl::from_url(provider.token_endpoint.clone());
    let mut client =
        oauth2::Client::new(ClientId::new(provider.client_id.clone())).set_token_uri(token_url);
    match (provider.client_auth, secret) {
        (ClientAuth::None, _) => {}
        (auth, Some(secret)) => {
            client = client
                .set_client_secret(ClientSecret::new(secret.expose().to_string()))
                .set_auth_type(if auth == ClientAuth::Basic { AuthType::BasicAuth } else { AuthType::RequestBody });
        }
        (_, None) => {
            return Err(Error::ProviderInvalid {
                provider: provider.id.clone(),
                reason: "it authenticates with a client secret, but none is stored in the keyring; set the client secret again".into(),
            })
        }
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
    Ok(tokens(response))
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
    Ok(tokens(response))
}

/// Revokes a token (RFC 7009). Done here rather than through the oauth2 crate, which
/// refuses plain http even for loopback providers.
pub async fn revoke(
    http: &Http,
    provider: &Provider,
    secret: Option<&Secret>,
    token: Revocable,
) -> Result<()> {
    let Some(endpoint) = provider.revocation_endpoint.clone() else {
        return Err(Error::ProviderInvalid {
            provider: provider.id.clone(),
            reason: "it has no revocation endpoint".into(),
        });
    };
    let (token, hint) = match &token {
        Revocable::Refresh(t) => (t, "refresh_token"),
        Revocable::Access(t) => (t, "access_token"),
    };
    let mut form = vec![("token", token.expose()), ("token_type_hint", hint)];
    let basic = match (provider.client_auth, secret) {
        (ClientAuth::Basic, Some(s)) => Some((provider.client_id.as_str(), s)),
        (ClientAuth::Post, Some(s)) => {
            form.push(("client_id", &provider.client_id));
            form.push(("client_secret", s.expose()));
            None
        }
        _ => {
            form.push(("client_id", &provider.client_id));
            None
        }
    };
    let name = endpoint_name(&endpoint);
    let (status, body) = http.post_form(&endpoint, &form, basic).await.map_err(|f| {
        transport_error::<BasicErrorResponse>(&endpoint, RequestTokenError::Request(f))
    })?;
    match status {
        // RFC 7009 section 2.2: 200 also for tokens the provider does not know.
        200 => Ok(()),
        500.. => Err(Error::ProviderUnavailable {
            endpoint: name,
            status,
        }),
        _ => {
            let error: Option<BasicErrorResponse> = serde_json::from_slice(&body).ok();
            match error {
                Some(e) => Err(Error::TokenRejected {
                    endpoint: name,
                    code: e.error().as_ref().to_string(),
                    description: e.error_description().cloned(),
                }),
                None => Err(Error::InvalidResponse {
                    endpoint: name,
                    reason: format!("HTTP {status}"),
                }),
            }
        }
    }
}

fn tokens(response: Response) -> Tokens {
    let extra = response.extra_fields();
    Tokens {
        access_token: Secret::new(response.access_token().secret().clone()),
        refresh_token: response
            .refresh_token()
            .map(|t| Secret::new(t.secret().clone())),
        id_token: extra.id_token.clone().map(Secret::new),
        expires_in: response.expires_in(),
        refresh_expires_in: extra.refresh_token_expires_in.map(Duration::from_secs),
        scopes: response
            .scopes()
            .map(|s| s.iter().map(|s| s.to_string()).collect()),
    }
}

fn token_error(
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

fn transport_error<T: oauth2::ErrorResponse>(
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
