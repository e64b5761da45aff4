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

/// What happened at the provider when an account was unlinked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revocation {
    /// The provider revoked the grant.
    Revoked,
    /// The provider no longer knew the token (Google's 400 `invalid_token`): the grant had
    /// already ended, so nothing was left to revoke.
    AlreadyRevoked,
    /// The provider has no revocation endpoint: the token stays valid there until it expires
    /// or the user revokes it in the provider's settings.
    NotSupported,
    /// Revocation failed; local secrets were deleted anyway.
    Failed(String),
}

/// A token to revoke.
#[derive(Debug, Clone)]
pub enum Revocable {
    /// A refresh token: revoking it ends the grant (RFC 7009 section 2.1).
    Refresh(Secret),
    /// An access token.
    Access(Secret),
}

/// Which of an account's tokens to revoke at `provider`, the one that ends its grant first.
/// RFC 7009 section 2.1 lets a provider keep a grant's access tokens alive when its refresh
/// token is revoked, so both go. GitHub deletes the whole grant, named by an access token.
pub fn tokens_to_revoke(
    provider: &Provider,
    refresh: Option<Secret>,
    access: Option<Secret>,
) -> Vec<Revocable> {
    match provider.flavor {
        Flavor::Github => access.map(Revocable::Access).into_iter().collect(),
        Flavor::Standard | Flavor::Google => refresh
            .map(Revocable::Refresh)
            .into_iter()
            .chain(access.map(Revocable::Access))
            .collect(),
    }
}

/// Revokes `token` at the provider's revocation endpoint: `Revoked`, or `AlreadyRevoked`
/// when the provider says the token was dead already.
pub async fn revoke(
    http: &Http,
    provider: &Provider,
    secret: Option<&Secret>,
    token: Revocable,
) -> Result<Revocation> {
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
        200 | 204 => Ok(Revocation::Revoked),
        // GitHub's answer for a token it no longer knows (and for wrong client credentials).
        404 if provider.flavor == Flavor::Github => Err(Error::InvalidResponse {
            endpoint: name,
            reason: "HTTP 404: GitHub knows no live token like this one for the app (it \
                     expired or was revoked, or the client secret is wrong), so it cannot \
                     name the grant to end"
                .into(),
        }),
        500.. => Err(Error::ProviderUnavailable {
            endpoint: name,
            status,
        }),
        _ => match serde_json::from_slice::<BasicErrorResponse>(&body) {
            Ok(e) if was_already_dead(provider, &token, status, e.error().as_ref()) => {
                Ok(Revocation::AlreadyRevoked)
            }
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

/// Deletes one GitHub token (`DELETE /applications/{client_id}/token`), leaving the grant
/// and its other tokens: a re-link frees the place of the token it replaces, since GitHub
/// keeps at most ten per user, app and scope set and revokes the oldest beyond that.
/// Best effort: an already dead token is fine.
pub async fn delete_github_token(
    http: &Http,
    provider: &Provider,
    secret: Option<&Secret>,
    token: &Secret,
) -> Result<()> {
    let Some(endpoint) = provider
        .revocation_endpoint
        .as_ref()
        .and_then(|grant| grant.join("token").ok())
    else {
        return Ok(());
    };
    let token = Revocable::Access(token.clone());
    let (status, _) = delete_github_grant(http, provider, secret, &endpoint, &token)
        .await
        .map_err(|f| {
            transport_error::<BasicErrorResponse>(&endpoint, RequestTokenError::Request(f))
        })?;
    match status {
        204 | 404 => Ok(()),
        status => Err(Error::InvalidResponse {
            endpoint: endpoint_name(&endpoint),
            reason: format!("HTTP {status}"),
        }),
    }
}

/// Whether a refusal only says that the grant had already ended, so nothing was left to
/// revoke. Google answers 400 `invalid_token` ("Token expired or revoked") for a dead token,
/// where RFC 7009 section 2.2 expects 200; a dead refresh token means a dead grant, while a
/// merely expired access token says nothing of the grant. For other providers a refusal stays
/// a failure. https://developers.google.com/identity/protocols/oauth2/native-app#tokenrevoke
fn was_already_dead(provider: &Provider, token: &Revocable, status: u16, code: &str) -> bool {
    provider.flavor == Flavor::Google
        && matches!(token, Revocable::Refresh(_))
        && status == 400
        && code == "invalid_token"
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

/// `DELETE /applications/{client_id}/grant` (or `/token`) with `{"access_token": ...}` and
/// Basic client credentials: deletes the user's grant with all its tokens (or that token).
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::tests::sample;

    #[test]
    fn both_tokens_are_revoked_the_grant_first_except_at_github() {
        let kinds = |p: &Provider, r: Option<&str>, a: Option<&str>| {
            tokens_to_revoke(p, r.map(Secret::new), a.map(Secret::new))
                .iter()
                .map(|t| match t {
                    Revocable::Refresh(s) => format!("refresh {}", s.expose()),
                    Revocable::Access(s) => format!("access {}", s.expose()),
                })
                .collect::<Vec<_>>()
        };
        let standard = sample();
        assert_eq!(
            kinds(&standard, Some("r"), Some("a")),
            ["refresh r", "access a"]
        );
        assert_eq!(kinds(&standard, None, Some("a")), ["access a"]);
        assert!(kinds(&standard, None, None).is_empty());
        let mut github = sample();
        github.flavor = Flavor::Github;
        assert_eq!(kinds(&github, Some("r"), Some("a")), ["access a"]);
    }

    #[test]
    fn only_google_invalid_token_means_already_revoked() {
        let mut google = sample();
        google.flavor = Flavor::Google;
        let refresh = Revocable::Refresh(Secret::new("r"));
        let access = Revocable::Access(Secret::new("a"));
        assert!(was_already_dead(&google, &refresh, 400, "invalid_token"));
        assert!(
            !was_already_dead(&google, &access, 400, "invalid_token"),
            "an expired access token says nothing of the grant"
        );
        assert!(!was_already_dead(&google, &refresh, 400, "invalid_client"));
        assert!(!was_already_dead(&google, &refresh, 401, "invalid_token"));
        assert!(!was_already_dead(&sample(), &refresh, 400, "invalid_token"));
    }
}
