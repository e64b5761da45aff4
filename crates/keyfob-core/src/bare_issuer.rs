//! Google's ID tokens name their issuer "https://accounts.google.com or accounts.google.com"
//! (https://developers.google.com/identity/openid-connect/openid-connect, "Validating an ID
//! token"). The scheme-less form is not a URL, so openidconnect cannot even parse such a
//! token. For Google only, Keyfob checks the signature of the token as received, then hands
//! openidconnect the same claims with the issuer written in full, for every other check.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use openidconnect::core::{CoreJsonWebKeySet, CoreJwsSigningAlgorithm};
use openidconnect::JsonWebKey;
use serde_json::Value;

/// Google signs ID tokens with RS256 only (`id_token_signing_alg_values_supported` in
/// https://accounts.google.com/.well-known/openid-configuration).
const GOOGLE_ALG: &str = "RS256";

/// `Some(token with the full issuer)` when `raw` names `issuer` without its scheme and its
/// signature verifies with `keys`; `None` when it does not use the bare form (the ordinary
/// checks then apply); an error when it does but its signature is not valid.
pub(crate) fn with_full_issuer(
    raw: &str,
    issuer: &str,
    keys: &CoreJsonWebKeySet,
) -> Result<Option<String>, String> {
    let Some((_, bare)) = issuer.split_once("://") else {
        return Ok(None);
    };
    let parts: Vec<&str> = raw.split('.').collect();
    let [header, payload, signature] = parts[..] else {
        return Ok(None);
    };
    let Some(mut claims) = decode_json(payload) else {
        return Ok(None);
    };
    if claims.get("iss").and_then(Value::as_str) != Some(bare) {
        return Ok(None);
    }
    let header = decode_json(header).ok_or("the JWT header is not JSON")?;
    if header.get("alg").and_then(Value::as_str) != Some(GOOGLE_ALG) {
        return Err(format!("Google signs ID tokens with {GOOGLE_ALG} only"));
    }
    let kid = header.get("kid").and_then(Value::as_str);
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| "the JWT signature is not base64url")?;
    let signed = format!("{}.{}", parts[0], parts[1]);
    let verified = keys
        .keys()
        .iter()
        .filter(|k| kid.is_none() || k.key_id().map(|id| id.as_str()) == kid)
        .any(|k| {
            k.verify_signature(
                &CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
                signed.as_bytes(),
                &signature,
            )
            .is_ok()
        });
    if !verified {
        return Err("the signature does not verify with the provider's keys".into());
    }
    claims["iss"] = Value::String(issuer.to_string());
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).expect("claims serialize"));
    Ok(Some(format!("{}.{payload}.{}", parts[0], parts[2])))
}

/// The `iss` a JWT claims, read without any check (for error messages only).
pub(crate) fn claimed_issuer(raw: &str) -> Option<String> {
    let payload = raw.split('.').nth(1)?;
    decode_json(payload)?
        .get("iss")?
        .as_str()
        .map(|iss| iss.chars().filter(|c| !c.is_control()).take(200).collect())
}

/// A base64url JWT part decoded as a JSON object.
pub(crate) fn decode_json(part: &str) -> Option<Value> {
    let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
    serde_json::from_slice(&bytes).ok().filter(Value::is_object)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(header: &Value, claims: &Value) -> String {
        let enc = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap());
        format!(
            "{}.{}.{}",
            enc(header),
            enc(claims),
            URL_SAFE_NO_PAD.encode(b"sig")
        )
    }

    fn no_keys() -> CoreJsonWebKeySet {
        CoreJsonWebKeySet::new(vec![])
    }

    #[test]
    fn full_issuers_are_left_to_the_ordinary_checks() {
        let raw = jwt(
            &serde_json::json!({"alg": "RS256"}),
            &serde_json::json!({"iss": "https://accounts.google.com"}),
        );
        assert_eq!(
            with_full_issuer(&raw, "https://accounts.google.com", &no_keys()),
            Ok(None)
        );
        let other = jwt(
            &serde_json::json!({"alg": "RS256"}),
            &serde_json::json!({"iss": "evil.example"}),
        );
        assert_eq!(
            with_full_issuer(&other, "https://accounts.google.com", &no_keys()),
            Ok(None)
        );
        assert_eq!(
            with_full_issuer("garbage", "https://accounts.google.com", &no_keys()),
            Ok(None)
        );
    }

    #[test]
    fn a_bare_issuer_needs_a_valid_rs256_signature() {
        let claims = serde_json::json!({"iss": "accounts.google.com"});
        let unsigned = jwt(&serde_json::json!({"alg": "none"}), &claims);
        let err = with_full_issuer(&unsigned, "https://accounts.google.com", &no_keys());
        assert!(err.unwrap_err().contains("RS256"));
        let forged = jwt(&serde_json::json!({"alg": "RS256", "kid": "k"}), &claims);
        let err = with_full_issuer(&forged, "https://accounts.google.com", &no_keys());
        assert!(err.unwrap_err().contains("signature"));
    }
}
