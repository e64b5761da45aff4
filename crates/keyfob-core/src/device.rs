//! Linking without a browser on this machine: the device authorization grant (RFC 8628).
//! Keyfob asks the provider for a user code, the face shows it with the address to enter it
//! at (on any device), and Keyfob polls the token endpoint until the user has approved,
//! denied, or the code has expired. No redirect, no state: the device code itself is the
//! secret, kept in memory only.
//!
//! Opt-in per provider (`Provider::device_authorization_endpoint` is set only when the user
//! turned it on): a user code can be relayed to a victim who approves it, so a provider offers
//! it only where the user chose it.

use oauth2::basic::BasicErrorResponseType;
use oauth2::{DeviceAuthorizationUrl, RequestTokenError, Scope};
use oauth2::{
    DeviceCodeErrorResponse, DeviceCodeErrorResponseType, StandardDeviceAuthorizationResponse,
};
use time::OffsetDateTime;
use url::Url;

use crate::error::{Error, Result};
use crate::exchange::{client, token_error, tokens, transport_error, Response};
use crate::facade::Keyfob;
use crate::http::endpoint_name;
use crate::identity::{establish, SentNonce};
use crate::link::{link_scopes, Grant};
use crate::provider::{Flavor, Provider};
use crate::store::accounts::Account;

/// What the user must do, on any device: open `verification_uri` and enter `user_code`.
/// Holds no secret (the device code stays in the core).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevicePrompt {
    /// The code to enter.
    pub user_code: String,
    /// Where to enter it.
    pub verification_uri: Url,
    /// The same address with the code filled in, when the provider offers one (for a QR code).
    pub verification_uri_complete: Option<Url>,
    /// When the code stops working.
    pub expires_at: OffsetDateTime,
}

impl Keyfob {
    /// Links an account at `provider_id` with a user code: asks for one, hands it to `show`,
    /// then waits (polling at the provider's interval, slower when asked) until the user
    /// approved it somewhere, denied it, or it expired. Drop the future to cancel.
    pub async fn link_with_code(
        &self,
        provider_id: &str,
        scopes: Option<Vec<String>>,
        show: impl FnOnce(&DevicePrompt),
    ) -> Result<Account> {
        // Google links with a code only through a separate client: the account is linked
        // with, and later refreshed as, that client.
        let provider = self.provider(provider_id)?.device_client();
        let endpoint = provider
            .device_authorization_endpoint
            .clone()
            .ok_or_else(|| Error::DeviceFlowOff(provider.id.clone()))?;
        let scopes = link_scopes(&provider, scopes)?;
        let secret = self.client_secret(&provider).await?;
        let device_client = client(&provider, secret.as_ref())?
            .set_device_authorization_url(DeviceAuthorizationUrl::from_url(endpoint.clone()));
        let details: StandardDeviceAuthorizationResponse = device_client
            .exchange_device_code()
            .add_scopes(scopes.iter().cloned().map(Scope::new))
            .request_async(self.http())
            .await
            .map_err(|e| request_error(&provider, token_error(&endpoint, e)))?;
        let prompt = prompt(&details, OffsetDateTime::now_utc())?;
        show(&prompt);

        let response: Response = device_client
            .exchange_device_access_token(&details)
            .request_async(self.http(), tokio::time::sleep, None)
            .await
            .map_err(|e| poll_error(&provider, e))?;
        // Lifetimes count from the answer: the request time is long past after polling.
        let issued_at = OffsetDateTime::now_utc();
        let tokens = tokens(response, provider.flavor);
        let identity = establish(
            self.http(),
            &provider,
            secret.as_ref(),
            &tokens,
            SentNonce::NotSent,
        )
        .await?;
        let grant = Grant {
            provider: &provider,
            requested_scopes: &scopes,
            tokens,
            identity,
            issued_at,
        };
        let (account, _replaced) = self.save_link(grant).await?;
        Ok(account)
    }
}

/// What to show, from the provider's answer; a verification address that is not https
/// (loopback aside) is refused, as it would send the user's sign-in over plain text.
fn prompt(
    details: &StandardDeviceAuthorizationResponse,
    now: OffsetDateTime,
) -> Result<DevicePrompt> {
    let invalid = |reason: String| Error::InvalidResponse {
        endpoint: "device authorization endpoint".into(),
        reason,
    };
    let verification_uri = Url::parse(details.verification_uri().as_str())
        .map_err(|e| invalid(format!("verification_uri: {e}")))?;
    crate::http::ensure_secure_url(&verification_uri)
        .map_err(|reason| invalid(format!("verification_uri: {reason}")))?;
    let verification_uri_complete = details
        .verification_uri_complete()
        .and_then(|u| Url::parse(u.secret()).ok())
        .filter(|u| crate::http::ensure_secure_url(u).is_ok());
    let user_code = details.user_code().secret().clone();
    if user_code.is_empty() || !crate::text::token_is_plain(&user_code.replace(' ', "")) {
        return Err(invalid("the user code is empty or not printable".into()));
    }
    let lifetime = time::Duration::try_from(details.expires_in()).unwrap_or(time::Duration::ZERO);
    Ok(DevicePrompt {
        user_code,
        verification_uri,
        verification_uri_complete,
        expires_at: now + lifetime,
    })
}

/// Why the device authorization endpoint gave no code, in the user's terms.
fn request_error(provider: &Provider, error: Error) -> Error {
    let Error::TokenRejected {
        code, description, ..
    } = &error
    else {
        return error;
    };
    let detail = || description.clone().unwrap_or_else(|| code.clone());
    match code.as_str() {
        // GitHub: the app's "Enable Device Flow" box is not ticked.
        "device_flow_disabled" => Error::DeviceFlowRefused(provider.name.clone()),
        "invalid_scope" => Error::DeviceScopeRefused {
            provider: provider.name.clone(),
            detail: detail(),
        },
        // Google's answer to a client of another type than "TVs and Limited Input devices"
        // (or an unknown one); elsewhere it may be a wrong secret, which the error says as is.
        "invalid_client" if provider.flavor == Flavor::Google => Error::DeviceClientRefused {
            provider: provider.name.clone(),
            detail: detail(),
        },
        _ => error,
    }
}

/// How polling ended without tokens, in the user's terms.
fn poll_error(
    provider: &Provider,
    e: RequestTokenError<crate::http::HttpFailure, DeviceCodeErrorResponse>,
) -> Error {
    match e {
        RequestTokenError::ServerResponse(r) => match r.error() {
            DeviceCodeErrorResponseType::AccessDenied => {
                Error::DeviceCodeDenied(provider.name.clone())
            }
            DeviceCodeErrorResponseType::ExpiredToken => Error::DeviceCodeExpired,
            // GitHub's documentation names the code both ways; clients meet both.
            DeviceCodeErrorResponseType::Basic(BasicErrorResponseType::Extension(code))
                if code == "token_expired" =>
            {
                Error::DeviceCodeExpired
            }
            other => Error::TokenRejected {
                endpoint: endpoint_name(&provider.token_endpoint),
                code: other.as_ref().to_string(),
                description: r.error_description().cloned(),
            },
        },
        other => transport_error(&provider.token_endpoint, other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn details(json: serde_json::Value) -> StandardDeviceAuthorizationResponse {
        serde_json::from_value(json).unwrap()
    }

    #[tokio::test]
    async fn polling_ends_in_the_users_terms() {
        let provider = crate::testing::Fixture::start().await.idp.provider("p");
        let end = |code: &str| {
            let kind: DeviceCodeErrorResponseType =
                serde_json::from_value(serde_json::json!(code)).unwrap();
            poll_error(
                &provider,
                RequestTokenError::ServerResponse(DeviceCodeErrorResponse::new(kind, None, None)),
            )
        };
        assert!(matches!(end("access_denied"), Error::DeviceCodeDenied(_)));
        assert!(matches!(end("expired_token"), Error::DeviceCodeExpired));
        assert!(matches!(end("token_expired"), Error::DeviceCodeExpired));
        let other = end("incorrect_device_code");
        assert!(
            matches!(&other, Error::TokenRejected { code, .. } if code == "incorrect_device_code"),
            "{other}"
        );
    }

    #[tokio::test]
    async fn a_refused_request_for_a_code_is_said_in_the_users_terms() {
        let mut provider = crate::testing::Fixture::start().await.idp.provider("p");
        let refused = |provider: &Provider, code: &str, description: Option<&str>| {
            request_error(
                provider,
                Error::TokenRejected {
                    endpoint: "device".into(),
                    code: code.into(),
                    description: description.map(str::to_string),
                },
            )
        };
        let scope = refused(
            &provider,
            "invalid_scope",
            Some("Invalid device flow scope: x"),
        );
        assert!(
            matches!(&scope, Error::DeviceScopeRefused { detail, .. } if detail == "Invalid device flow scope: x"),
            "{scope}"
        );
        assert!(matches!(
            refused(&provider, "device_flow_disabled", None),
            Error::DeviceFlowRefused(_)
        ));
        // invalid_client means the wrong client type at Google only; elsewhere it stays as said.
        let elsewhere = refused(&provider, "invalid_client", None);
        assert!(
            matches!(elsewhere, Error::TokenRejected { .. }),
            "{elsewhere}"
        );
        provider.flavor = Flavor::Google;
        let google = refused(&provider, "invalid_client", None);
        assert!(
            matches!(&google, Error::DeviceClientRefused { detail, .. } if detail == "invalid_client"),
            "{google}"
        );
        assert!(google.to_string().contains("TVs and Limited Input devices"));
        let other = refused(&provider, "invalid_request", None);
        assert!(matches!(other, Error::TokenRejected { .. }), "{other}");
    }

    #[test]
    fn the_prompt_shows_the_code_and_a_safe_address_only() {
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let d = details(serde_json::json!({
            "device_code": "secret-device-code", "user_code": "WDJB-MJHT",
            "verification_uri": "https://example.com/device",
            "verification_uri_complete": "https://example.com/device?user_code=WDJB-MJHT",
            "expires_in": 900, "interval": 5
        }));
        let p = prompt(&d, now).unwrap();
        assert_eq!(p.user_code, "WDJB-MJHT");
        assert_eq!(p.verification_uri.as_str(), "https://example.com/device");
        assert!(p.verification_uri_complete.is_some());
        assert_eq!(p.expires_at, now + time::Duration::minutes(15));
        assert!(!format!("{p:?}").contains("secret-device-code"));
        // Google names it verification_url.
        let google = details(serde_json::json!({
            "device_code": "d", "user_code": "ABC-DEF-GHI",
            "verification_url": "https://www.google.com/device", "expires_in": 1800
        }));
        assert_eq!(
            prompt(&google, now).unwrap().verification_uri.as_str(),
            "https://www.google.com/device"
        );
        // Plain http elsewhere than loopback: refused; a bad complete address is dropped.
        let plain = details(serde_json::json!({
            "device_code": "d", "user_code": "A", "verification_uri": "http://example.com/device",
            "expires_in": 60
        }));
        assert!(prompt(&plain, now).is_err());
        let odd = details(serde_json::json!({
            "device_code": "d", "user_code": "A", "verification_uri": "https://example.com/d",
            "verification_uri_complete": "http://example.com/d?c=A", "expires_in": 60
        }));
        assert_eq!(prompt(&odd, now).unwrap().verification_uri_complete, None);
        let hidden = details(serde_json::json!({
            "device_code": "d", "user_code": "A\u{1b}[2J", "verification_uri": "https://example.com/d",
            "expires_in": 60
        }));
        assert!(prompt(&hidden, now).is_err());
    }
}
