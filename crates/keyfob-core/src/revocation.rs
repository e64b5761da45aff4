//! Ending a grant at the provider: RFC 7009 token revocation, or GitHub's grant deletion
//! (GitHub has no RFC 7009 endpoint: https://docs.github.com/en/rest/apps/oauth-applications).

use oauth2::basic::BasicErrorResponse;
use oauth2::RequestTokenError;
use url::Url;

use crate::error::{Error, Result};
use crate::exchange::transport_error;
use crate::http::{endpoint_name, Http, HttpFailure};
use crate::provider::{ClientAuth, Flavor, Provider};
use crate::secret::Secret;

/// A token to revoke.
#[derive(Debug, Clone)]
pub enum Revocable {
    /// A refresh token: revoking it ends the grant (RFC 7009 section 2.1).
    Refresh(Secret),
    /// An access token.
    Access(Secret),
}

/// Which of an account's tokens ends its grant at `provider`.
pub fn token_to_revoke(
    provider: &Provider,
    refresh: Option<Secret>,
    access: Option<Secret>,
) -> Option<Revocable> {
    match provider.flavor {
        // GitHub identifies the grant by an access token.
        Flavor::Github => access.map(Revocable::Access),
        Flavor::Standard | Flavor::Google => refresh
            .map(Revocable::Refresh)
            .or(access.map(Revocable::Access)),
    }
}

/// Revokes `token` at the provider's revocation endpoint.
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
    let answer = match provider.flavor {
        Flavor::Github => delete_github_grant(http, provider, secret, &endpoint, &token).await,
        Flavor::Standard | Flavor::Google => {
            rfc7009(http, provider, secret, &endpoint, &token).await
        }
    };
    let (status, body) = answer.map_err(|f| {
        transport_error::<BasicErrorResponse>(&endpoint, RequestTokenError::Request(f))
    })?;
    let name = endpoint_name(&endpoint);
    match status {
        // RFC 7009 section 2.2: 200 also for tokens the provider does not know; GitHub: 204.
        200 | 204 => Ok(()),
        500.. => Err(Error::ProviderUnavailable {
            endpoint: name,
            status,
        }),
        _ => match serde_json::from_slice::<BasicErrorResponse>(&body) {
            Ok(e) => Err(Error::TokenRejected {
                endpoint: name,
                code: e.error().as_ref().to_string(),
                description: e.error_description().cloned(),
            }),
            Err(_) => Err(Error::InvalidResponse {
                endpoint: name,
                reason: format!("HTTP {status}"),
            }),
        },
    }
}

async fn rfc7009(
    http: &Http,
    provider: &Provider,
    secret: Option<&Secret>,
    endpoint: &Url,
    token: &Revocable,
) -> Result<(u16, Vec<u8>), HttpFailure> {
    let (token, hint) = match token {
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
    http.post_form(endpoint, &form, basic).await
}

/// `DELETE /applications/{client_id}/grant` with `{"access_token": ...}` and Basic client
/// credentials: deletes the user's grant, with all its tokens.
async fn delete_github_grant(
    http: &Http,
    provider: &Provider,
    secret: Option<&Secret>,
    endpoint: &Url,
    token: &Revocable,
) -> Result<(u16, Vec<u8>), HttpFailure> {
    let secret = secret.ok_or_else(|| {
        HttpFailure::Insecure("GitHub needs the client secret to revoke a grant".into())
    })?;
    let token = match token {
        Revocable::Access(t) | Revocable::Refresh(t) => t,
    };
    let body = serde_json::json!({ "access_token": token.expose() });
    http.delete_json(
        endpoint,
        &body,
        (&provider.client_id, secret),
        &[
            ("Accept", "application/vnd.github+json"),
            ("X-GitHub-Api-Version", "2022-11-28"),
        ],
    )
    .await
}
