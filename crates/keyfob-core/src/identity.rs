//! Who signed in: a validated ID token (OIDC Core 3.1.3.7) plus userinfo, or userinfo alone
//! for plain OAuth 2 providers. Accounts are keyed by (issuer, subject), never by email.

use openidconnect::core::{CoreIdToken, CoreIdTokenVerifier, CoreJsonWebKeySet};
use openidconnect::{ClientId, ClientSecret, IssuerUrl, Nonce};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::at_hash::check_at_hash;
use crate::bare_issuer::with_full_issuer;
use crate::error::{Error, Result};
use crate::exchange::Tokens;
use crate::http::Http;
use crate::id_token_alg::{allowed_algs, check_alg, header_alg};
use crate::id_token_party::{check_azp, same_party, Party};
use crate::id_token_refusal::{refusal, unreadable};
use crate::provider::{ClientAuth, Flavor, Provider, ProviderKind};
use crate::secret::Secret;
use crate::text::claim_text;

/// How far an ID token's `iat` may lie from now: the link lifetime plus clock skew.
const IAT_PAST_SECONDS: i64 = 15 * 60;
const IAT_FUTURE_SECONDS: i64 = 5 * 60;

/// The identity behind a set of tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The provider's stable user id.
    pub subject: String,
    /// Email address, when given.
    pub email: Option<String>,
    /// Login / preferred username, when given.
    pub login: Option<String>,
    /// Full name, when given.
    pub name: Option<String>,
}

impl Identity {
    /// What to show for the account: email, else login, else name, else the subject.
    pub fn display_name(&self) -> String {
        self.email
            .clone()
            .or_else(|| self.login.clone())
            .or_else(|| self.name.clone())
            .unwrap_or_else(|| self.subject.clone())
    }
}

/// The nonce a grant's ID token must carry.
#[derive(Clone, Copy)]
pub enum SentNonce<'a> {
    /// The authorization request sent this nonce (the code flow): the claim must equal it.
    Sent(Option<&'a Secret>),
    /// The grant had no authorization request to send one in (the device flow, RFC 8628):
    /// a nonce claim is not checked (OIDC Core 3.1.3.7 item 11 applies when one was sent).
    NotSent,
}

/// Establishes the identity after a code exchange.
pub async fn establish(
    http: &Http,
    provider: &Provider,
    secret: Option<&Secret>,
    tokens: &Tokens,
    nonce: SentNonce<'_>,
) -> Result<Identity> {
    match provider.kind {
        ProviderKind::Openid => {
            let raw = tokens
                .id_token
                .as_ref()
                .ok_or_else(|| Error::InvalidIdToken {
                    issuer: provider.issuer.clone(),
                    reason: "the token response has no ID token".into(),
                })?;
            let mut identity = match nonce {
                SentNonce::Sent(nonce) => {
                    let nonce = nonce.ok_or_else(|| Error::InvalidIdToken {
                        issuer: provider.issuer.clone(),
                        reason: "no nonce was recorded for this link".into(),
                    })?;
                    verify_id_token(http, provider, secret, raw, &tokens.access_token, nonce)
                        .await?
                }
                SentNonce::NotSent => {
                    let unchecked = |_: Option<&Nonce>| Ok(());
                    verify(http, provider, secret, raw, &tokens.access_token, unchecked).await?
                }
            };
            if let Some(endpoint) = &provider.userinfo_endpoint {
                let info = userinfo(http, provider, endpoint, &tokens.access_token).await?;
                let sub = info.get("sub").and_then(Value::as_str);
                // OIDC Core section 5.3.2: userinfo must describe the same user.
                if sub != Some(identity.subject.as_str()) {
                    let shown = sub.map_or("(none)".into(), |s| format!("'{}'", claim_text(s)));
                    return Err(Error::Identity {
                        provider: provider.name.clone(),
                        reason: format!(
                            "the userinfo 'sub' {shown} differs from the ID token's subject '{}'",
                            claim_text(&identity.subject)
                        ),
                    });
                }
                merge_claims(&mut identity, &info);
            }
            Ok(identity)
        }
        ProviderKind::Oauth2 => {
            let endpoint = provider
                .userinfo_endpoint
                .as_ref()
                .ok_or_else(|| Error::Identity {
                    provider: provider.name.clone(),
                    reason: "no userinfo endpoint is configured".into(),
                })?;
            let info = userinfo(http, provider, endpoint, &tokens.access_token).await?;
            let subject = subject_of(&info).ok_or_else(|| Error::Identity {
                provider: provider.name.clone(),
                reason: "the userinfo response has neither 'sub' nor 'id'".into(),
            })?;
            let mut identity = Identity {
                subject,
                email: None,
                login: None,
                name: None,
            };
            merge_claims(&mut identity, &info);
            Ok(identity)
        }
    }
}

/// Checks an ID token from a refresh, which came with `access_token`: valid, about the
/// account's `subject`, and with the same `iss`, `sub`, `aud` and `azp` as the `original` one
/// from the sign-in, when the keyring still holds it (OIDC Core 12.2).
pub async fn verify_refreshed_id_token(
    http: &Http,
    provider: &Provider,
    secret: Option<&Secret>,
    raw: &Secret,
    access_token: &Secret,
    original: Option<&Secret>,
    subject: &str,
) -> Result<()> {
    let invalid = |reason: String| Error::InvalidIdToken {
        issuer: provider.issuer.clone(),
        reason,
    };
    let no_nonce = |_: Option<&Nonce>| Ok(());
    let identity = verify(http, provider, secret, raw, access_token, no_nonce).await?;
    if identity.subject != subject {
        return Err(invalid(
            "the refreshed ID token names another subject".into(),
        ));
    }
    if let Some(original) = original {
        let party = |token: &Secret| Party::read(token.expose(), &provider.issuer);
        // The refreshed token passed `verify`, so its claims are there; the original passed
        // at the sign-in, so one without them is not the token Keyfob stored.
        let (Some(old), Some(new)) = (party(original), party(raw)) else {
            return Err(invalid(
                "the stored original ID token lacks iss, sub or aud, so the refreshed one \
                 cannot be compared with it"
                    .into(),
            ));
        };
        same_party(&old, &new).map_err(invalid)?;
    }
    Ok(())
}

async fn verify_id_token(
    http: &Http,
    provider: &Provider,
    secret: Option<&Secret>,
    raw: &Secret,
    access_token: &Secret,
    nonce: &Secret,
) -> Result<Identity> {
    // OIDC Core 3.1.3.7 item 11: the link sent a nonce, so the claim must be there and equal.
    // Compared as hashes, as openidconnect does, so the time taken tells nothing about it.
    let digest = |n: &str| Sha256::digest(n.as_bytes());
    let check_nonce = |claim: Option<&Nonce>| match claim {
        None => Err("it has no nonce, though this link sent one".to_string()),
        Some(claim) if digest(claim.secret()) != digest(nonce.expose()) => {
            Err("its nonce is not the one this link sent".to_string())
        }
        Some(_) => Ok(()),
    };
    verify(http, provider, secret, raw, access_token, check_nonce).await
}

/// Validates an ID token that came with `access_token` (OIDC Core 3.1.3.7 and 3.1.3.8).
async fn verify<N: openidconnect::NonceVerifier>(
    http: &Http,
    provider: &Provider,
    secret: Option<&Secret>,
    raw: &Secret,
    access_token: &Secret,
    nonce: N,
) -> Result<Identity> {
    let invalid = |reason: String| Error::InvalidIdToken {
        issuer: provider.issuer.clone(),
        reason,
    };
    // A client secret makes HMAC possible (OIDC Core 3.1.3.7 item 8); without one it is not.
    let confidential = matches!(
        (provider.client_auth, secret),
        (ClientAuth::Basic | ClientAuth::Post, Some(_))
    );
    // The header's `alg` is checked before anything else, so a refusal names it rather than
    // surfacing as a signature failure (OIDC Core 3.1.3.7 items 6-7, RFC 8725 section 3.1).
    check_header(provider, raw.expose(), confidential).map_err(&invalid)?;
    let jwks_uri = provider
        .jwks_uri
        .as_ref()
        .ok_or_else(|| invalid("the provider has no JWKS URI".into()))?;
    let keys: CoreJsonWebKeySet = http.get_json(jwks_uri, None, &[]).await?;
    // Google may write its issuer without the scheme; then the signature is checked on the
    // token as received, and the claims checks below run on the full form.
    let rewritten = match provider.flavor {
        Flavor::Google => {
            with_full_issuer(raw.expose(), &provider.issuer, &keys).map_err(&invalid)?
        }
        Flavor::Standard | Flavor::Github => None,
    };
    let signature_checked = rewritten.is_some();
    let raw = rewritten.unwrap_or_else(|| raw.expose().to_string());
    let issuer = IssuerUrl::new(provider.issuer.clone()).map_err(|e| invalid(e.to_string()))?;
    let client_id = ClientId::new(provider.client_id.clone());
    let verifier = match (provider.client_auth, secret) {
        (ClientAuth::Basic | ClientAuth::Post, Some(s)) => {
            CoreIdTokenVerifier::new_confidential_client(
                client_id,
                ClientSecret::new(s.expose().to_string()),
                issuer,
                keys,
            )
        }
        _ => CoreIdTokenVerifier::new_public_client(client_id, issuer, keys),
    }
    // openidconnect accepts RS256 only unless told otherwise; the same list as `check_header`,
    // so the library enforces it too.
    .set_allowed_algs(allowed_algs(
        &provider.id_token_signing_alg_values_supported,
        confidential,
    ))
    .set_issue_time_verifier_fn(|iat| {
        let age = time::OffsetDateTime::now_utc().unix_timestamp() - iat.timestamp();
        if age > IAT_PAST_SECONDS {
            Err(format!(
                "it was issued {age} s ago, and Keyfob accepts at most {IAT_PAST_SECONDS} s"
            ))
        } else if age < -IAT_FUTURE_SECONDS {
            Err(format!(
                "it was issued {} s in the future by this computer's clock",
                -age
            ))
        } else {
            Ok(())
        }
    });
    let verifier = if signature_checked {
        verifier.insecure_disable_signature_check()
    } else {
        verifier
    };
    let token: CoreIdToken = raw
        .parse()
        .map_err(|e| invalid(unreadable(&raw, &provider.issuer, &e)))?;
    let claims = token
        .claims(&verifier, nonce)
        .map_err(|e| invalid(refusal(&e, &raw, &provider.issuer, &provider.client_id)))?;
    let audiences: Vec<String> = claims.audiences().iter().map(|a| a.to_string()).collect();
    let azp = claims.authorized_party().map(|azp| azp.as_str());
    check_azp(azp, &audiences, &provider.client_id).map_err(&invalid)?;
    if let Some(at_hash) = claims.access_token_hash() {
        // The header's alg was judged above and the signature made with it checked.
        let alg = header_alg(&raw).unwrap_or_default();
        check_at_hash(at_hash.as_str(), &alg, access_token.expose()).map_err(&invalid)?;
    }
    Ok(Identity {
        subject: claims.subject().to_string(),
        email: claims.email().map(|e| e.to_string()),
        login: claims.preferred_username().map(|u| u.to_string()),
        name: None,
    })
}

/// Refuses a JWT whose header names an algorithm not accepted from `provider`, naming it. A
/// header without a readable `alg` is left to the parser, whose error says what is wrong.
fn check_header(
    provider: &Provider,
    raw: &str,
    confidential: bool,
) -> std::result::Result<(), String> {
    match header_alg(raw) {
        Some(alg) => check_alg(
            &alg,
            &provider.id_token_signing_alg_values_supported,
            confidential,
        ),
        None => Ok(()),
    }
}

/// Reads the provider's userinfo endpoint with an access token.
pub(crate) async fn userinfo(
    http: &Http,
    provider: &Provider,
    endpoint: &url::Url,
    token: &Secret,
) -> Result<Value> {
    http.get_json(endpoint, Some(token), userinfo_headers(provider))
        .await
}

/// Headers the userinfo request needs beyond the bearer token.
fn userinfo_headers(provider: &Provider) -> &'static [(&'static str, &'static str)] {
    match provider.flavor {
        // https://docs.github.com/en/rest/using-the-rest-api/getting-started-with-the-rest-api
        // (media type and API version; the User-Agent is set on every request by `Http`).
        Flavor::Github => &[
            ("Accept", "application/vnd.github+json"),
            ("X-GitHub-Api-Version", "2022-11-28"),
        ],
        Flavor::Standard | Flavor::Google => &[],
    }
}

fn subject_of(info: &Value) -> Option<String> {
    match info.get("sub").or_else(|| info.get("id"))? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn merge_claims(identity: &mut Identity, info: &Value) {
    let text = |k: &str| {
        info.get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(String::from)
    };
    identity.email = text("email").or(identity.email.take());
    identity.login = text("preferred_username")
        .or_else(|| text("login"))
        .or(identity.login.take());
    identity.name = text("name").or(identity.name.take());
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A JWT with this header and ordinary claims, signed with garbage (never checked).
    fn jwt(header: serde_json::Value) -> Secret {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine;
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let claims = json!({"iss": "http://127.0.0.1:4000", "aud": "client", "sub": "alice",
            "iat": now, "exp": now + 300, "nonce": "n"});
        let part = |v: &serde_json::Value| URL_SAFE_NO_PAD.encode(v.to_string());
        Secret::new(format!("{}.{}.c2ln", part(&header), part(&claims)))
    }

    /// Verifies `token` as the sample provider's, whose JWKS URI nobody answers: a refusal
    /// naming the algorithm proves the header was judged before any key was fetched.
    async fn refusal(provider: &Provider, secret: Option<&Secret>, token: &Secret) -> String {
        let http = Http::new();
        let nonce = Nonce::new("n".into());
        let access_token = Secret::new("a");
        match verify(&http, provider, secret, token, &access_token, &nonce).await {
            Err(Error::InvalidIdToken { reason, .. }) => reason,
            other => panic!("expected an invalid ID token, got {other:?}"),
        }
    }

    fn unreachable_provider() -> Provider {
        let mut p = crate::provider::tests::sample();
        p.jwks_uri = Some(url::Url::parse("http://127.0.0.1:9/jwks").unwrap());
        p
    }

    #[tokio::test]
    async fn unsigned_and_public_client_hmac_tokens_are_refused_by_name() {
        let public = unreachable_provider();
        let reason = refusal(&public, None, &jwt(json!({"alg": "none"}))).await;
        assert!(reason.contains("not signed (alg 'none')"), "{reason}");
        let reason = refusal(&public, None, &jwt(json!({"alg": "HS256", "typ": "JWT"}))).await;
        assert!(
            reason.contains("signed with HS256, which Keyfob does not accept from a public client"),
            "{reason}"
        );
        // Even a provider that advertises them gets neither from a public client.
        let mut advertising = unreachable_provider();
        advertising.id_token_signing_alg_values_supported =
            vec!["none".into(), "HS256".into(), "RS256".into()];
        let reason = refusal(&advertising, None, &jwt(json!({"alg": "HS256"}))).await;
        assert!(reason.contains("from a public client"), "{reason}");
        let reason = refusal(&advertising, None, &jwt(json!({"alg": "none"}))).await;
        assert!(reason.contains("'none'"), "{reason}");

        // A confidential client: `none` still never; HMAC only when advertised.
        let mut confidential = unreachable_provider();
        confidential.client_auth = ClientAuth::Basic;
        let secret = Secret::new("s3cret");
        let reason = refusal(&confidential, Some(&secret), &jwt(json!({"alg": "none"}))).await;
        assert!(reason.contains("'none'"), "{reason}");
        let reason = refusal(&confidential, Some(&secret), &jwt(json!({"alg": "HS256"}))).await;
        assert!(
            reason.contains("signed with HS256, which the provider does not advertise"),
            "{reason}"
        );
    }

    #[tokio::test]
    async fn unsupported_and_unadvertised_algs_are_refused_by_name() {
        let mut p = unreachable_provider();
        let reason = refusal(&p, None, &jwt(json!({"alg": "ES512"}))).await;
        assert!(
            reason.contains("signed with ES512, which Keyfob does not support"),
            "{reason}"
        );
        p.id_token_signing_alg_values_supported = vec!["RS256".into()];
        let reason = refusal(&p, None, &jwt(json!({"alg": "ES256"}))).await;
        assert!(
            reason.contains("signed with ES256, which the provider does not advertise"),
            "{reason}"
        );
    }

    #[test]
    fn subject_from_sub_or_numeric_id() {
        assert_eq!(subject_of(&json!({"sub": "abc"})), Some("abc".into()));
        assert_eq!(
            subject_of(&json!({"id": 583231, "login": "octocat"})),
            Some("583231".into())
        );
        assert_eq!(subject_of(&json!({"login": "octocat"})), None);
        assert_eq!(subject_of(&json!({"sub": ""})), None);
    }

    #[test]
    fn display_name_prefers_email_then_login() {
        let mut id = Identity {
            subject: "1".into(),
            email: None,
            login: None,
            name: None,
        };
        merge_claims(&mut id, &json!({"login": "octocat", "name": "The Octocat"}));
        assert_eq!(id.display_name(), "octocat");
        merge_claims(&mut id, &json!({"email": "o@example.com"}));
        assert_eq!(id.display_name(), "o@example.com");
        assert_eq!(id.login.as_deref(), Some("octocat"));
    }
}
