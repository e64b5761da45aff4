//! Why an ID token was refused, in words that name the problem.
//!
//! openidconnect's errors say what failed in its own terms ("Signature verification failed",
//! "Invalid audiences: must contain ..."); these functions say it in Keyfob's, from the token's
//! own header and claims (read unchecked, only to describe a refusal already decided).

use openidconnect::{ClaimsVerificationError, SignatureVerificationError};
use serde_json::Value;

use crate::bare_issuer::{claimed_issuer, decode_json};
use crate::text::claim_text;

/// The claims every ID token has (OIDC Core section 2), in the order they are checked.
const REQUIRED: [&str; 5] = ["iss", "sub", "aud", "exp", "iat"];

/// Why `raw` could not even be read as an ID token (`error` is the parser's).
pub(crate) fn unreadable(raw: &str, issuer: &str, error: &serde_json::Error) -> String {
    // An issuer that is not a URL fails parsing before any check could name it.
    match claimed_issuer(raw) {
        Some(iss) if iss != issuer => return wrong_issuer(&iss, issuer),
        _ => {}
    }
    let claims = raw.split('.').nth(1).and_then(decode_json);
    match claims {
        Some(claims) => match REQUIRED.iter().find(|c| claims.get(**c).is_none()) {
            Some(missing) => format!("it has no '{missing}' claim, which every ID token must have"),
            None => format!("not a JWT: {error}"),
        },
        None => format!("not a JWT: {error}"),
    }
}

/// Why the ID token `raw` failed openidconnect's checks, for a provider `issuer` and this
/// client's `client_id`.
pub(crate) fn refusal(
    error: &ClaimsVerificationError,
    raw: &str,
    issuer: &str,
    client_id: &str,
) -> String {
    let part = |i: usize| raw.split('.').nth(i).and_then(decode_json);
    let (header, claims) = (
        part(0).unwrap_or(Value::Null),
        part(1).unwrap_or(Value::Null),
    );
    let text = |v: &Value, name: &str| v.get(name).and_then(Value::as_str).map(claim_text);
    let alg = text(&header, "alg").unwrap_or_else(|| "?".into());
    match error {
        ClaimsVerificationError::InvalidIssuer(_) => match claimed_issuer(raw) {
            Some(iss) => wrong_issuer(&iss, issuer),
            None => "it has no 'iss' claim, which every ID token must have".into(),
        },
        ClaimsVerificationError::InvalidAudience(detail) => {
            audience_refusal(claims.get("aud"), client_id).unwrap_or_else(|| detail.clone())
        }
        ClaimsVerificationError::InvalidNonce(reason)
        | ClaimsVerificationError::Expired(reason) => reason.clone(),
        ClaimsVerificationError::SignatureVerification(e) => match (e, text(&header, "kid")) {
            (SignatureVerificationError::CryptoError(_), Some(kid)) => {
                format!("its {alg} signature does not verify with the provider's key '{kid}'")
            }
            (SignatureVerificationError::CryptoError(_), None) => {
                format!("its {alg} signature does not verify with the provider's key")
            }
            (SignatureVerificationError::AmbiguousKeyId(_), _) => format!(
                "its header names no key ('kid') and the provider publishes several keys for \
                 {alg}, so which one signed it is unknown (OIDC Core 10.1 requires a kid then)"
            ),
            (SignatureVerificationError::NoMatchingKey, Some(kid)) => {
                format!("the provider publishes no {alg} key '{kid}', the one its header names")
            }
            (SignatureVerificationError::NoMatchingKey, None) => {
                format!("the provider publishes no {alg} key")
            }
            (other, _) => format!("its signature was not accepted: {other}"),
        },
        other => other.to_string(),
    }
}

/// What is wrong with an `aud` claim for `client_id`; `None` when nothing this function knows.
fn audience_refusal(aud: Option<&Value>, client_id: &str) -> Option<String> {
    let audiences: Vec<&str> = match aud? {
        Value::String(one) => vec![one.as_str()],
        Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
        _ => return None,
    };
    let quoted = |values: &[&str]| {
        let q: Vec<String> = values
            .iter()
            .map(|v| format!("'{}'", claim_text(v)))
            .collect();
        q.join(", ")
    };
    if !audiences.contains(&client_id) {
        return Some(format!(
            "its aud {} does not name this client ('{}')",
            quoted(&audiences),
            claim_text(client_id)
        ));
    }
    let others: Vec<&str> = audiences.into_iter().filter(|a| *a != client_id).collect();
    (!others.is_empty()).then(|| {
        format!(
            "its aud also names {}, which Keyfob does not trust (OIDC Core 3.1.3.7 item 3)",
            quoted(&others)
        )
    })
}

fn wrong_issuer(iss: &str, issuer: &str) -> String {
    format!("it names the issuer '{iss}', not '{issuer}'")
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use serde_json::json;

    const ISSUER: &str = "https://idp.example";

    fn jwt(header: Value, claims: Value) -> String {
        let part = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
        format!("{}.{}.c2ln", part(&header), part(&claims))
    }

    fn claims(extra: Value) -> Value {
        let mut c = json!({"iss": ISSUER, "sub": "alice", "aud": "me", "exp": 2, "iat": 1});
        for (k, v) in extra.as_object().unwrap() {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        c
    }

    fn parse_error() -> serde_json::Error {
        serde_json::from_str::<u8>("x").unwrap_err()
    }

    #[test]
    fn a_missing_required_claim_is_named() {
        for missing in REQUIRED {
            let raw = jwt(json!({"alg": "RS256"}), claims(json!({ missing: null })));
            let reason = unreadable(&raw, ISSUER, &parse_error());
            assert_eq!(
                reason,
                format!("it has no '{missing}' claim, which every ID token must have")
            );
        }
        let raw = jwt(
            json!({"alg": "RS256"}),
            claims(json!({"iss": "idp.example"})),
        );
        assert_eq!(
            unreadable(&raw, ISSUER, &parse_error()),
            "it names the issuer 'idp.example', not 'https://idp.example'"
        );
        assert!(unreadable("garbage", ISSUER, &parse_error()).starts_with("not a JWT: "));
    }

    fn refused(error: ClaimsVerificationError, header: Value, extra: Value) -> String {
        refusal(&error, &jwt(header, claims(extra)), ISSUER, "me")
    }

    #[test]
    fn signature_failures_name_the_alg_and_key() {
        let sig = ClaimsVerificationError::SignatureVerification;
        let crypto = || sig(SignatureVerificationError::CryptoError("bad".into()));
        assert_eq!(
            refused(crypto(), json!({"alg": "ES256", "kid": "k1"}), json!({})),
            "its ES256 signature does not verify with the provider's key 'k1'"
        );
        assert_eq!(
            refused(crypto(), json!({"alg": "RS256"}), json!({})),
            "its RS256 signature does not verify with the provider's key"
        );
        let ambiguous = sig(SignatureVerificationError::AmbiguousKeyId("2".into()));
        assert!(
            refused(ambiguous, json!({"alg": "RS256"}), json!({})).starts_with(
                "its header names no key ('kid') and the provider publishes several keys for RS256"
            )
        );
        let none = sig(SignatureVerificationError::NoMatchingKey);
        assert_eq!(
            refused(none, json!({"alg": "RS256", "kid": "gone"}), json!({})),
            "the provider publishes no RS256 key 'gone', the one its header names"
        );
    }

    #[test]
    fn issuer_audience_and_nonce_failures_name_the_values() {
        let iss = ClaimsVerificationError::InvalidIssuer("x".into());
        assert_eq!(
            refused(iss, json!({}), json!({"iss": "https://evil.example"})),
            "it names the issuer 'https://evil.example', not 'https://idp.example'"
        );
        let aud = || ClaimsVerificationError::InvalidAudience("x".into());
        assert_eq!(
            refused(aud(), json!({}), json!({"aud": ["them", "others"]})),
            "its aud 'them', 'others' does not name this client ('me')"
        );
        assert_eq!(
            refused(aud(), json!({}), json!({"aud": ["me", "api"]})),
            "its aud also names 'api', which Keyfob does not trust (OIDC Core 3.1.3.7 item 3)"
        );
        let nonce = ClaimsVerificationError::InvalidNonce("its nonce is wrong".into());
        assert_eq!(refused(nonce, json!({}), json!({})), "its nonce is wrong");
    }
}
