//! Which algorithms an ID token may be signed with, decided before its signature is checked.
//!
//! OIDC Core 3.1.3.7 items 6-8: the signature is checked "using the algorithm specified in the
//! JWT alg Header Parameter", which SHOULD be RS256 or the one registered for the client, and a
//! MAC (HS256/384/512) is keyed with the client secret. RFC 8725 section 3.1 asks that a
//! verifier accept only the algorithms it expects, so the header's `alg` is never trusted on
//! its own: `none` is always refused (RFC 8725 section 2.1), HMAC from a public client too (its
//! "secret" is no secret, so anyone could sign), and the rest must be both verifiable by
//! openidconnect and advertised by the provider when its discovery document names any.

use openidconnect::core::CoreJwsSigningAlgorithm as Alg;

use crate::bare_issuer::decode_json;

/// The asymmetric algorithms Keyfob verifies. ES512 is left out: openidconnect cannot verify
/// P-521 signatures (`core/crypto.rs`, "unsupported").
const ASYMMETRIC: [Alg; 9] = [
    Alg::RsaSsaPkcs1V15Sha256,
    Alg::RsaSsaPkcs1V15Sha384,
    Alg::RsaSsaPkcs1V15Sha512,
    Alg::RsaSsaPssSha256,
    Alg::RsaSsaPssSha384,
    Alg::RsaSsaPssSha512,
    Alg::EcdsaP256Sha256,
    Alg::EcdsaP384Sha384,
    Alg::EdDsa,
];

/// MAC algorithms keyed with the client secret (OIDC Core 3.1.3.7 item 8 and section 10.1).
const HMAC: [Alg; 3] = [Alg::HmacSha256, Alg::HmacSha384, Alg::HmacSha512];

/// The algorithms accepted from a provider that `advertised` these (empty: none named), for a
/// confidential client (one with a client secret) or a public one.
///
/// HMAC needs a confidential client and a provider that names it: with nothing advertised only
/// the asymmetric algorithms are accepted, as openidconnect's defaults never accepted HMAC.
pub(crate) fn allowed_algs(advertised: &[String], confidential: bool) -> Vec<Alg> {
    let named = |alg: &Alg| advertised.iter().any(|a| a == name(alg));
    let asymmetric = ASYMMETRIC
        .into_iter()
        .filter(|alg| advertised.is_empty() || named(alg));
    let hmac = HMAC.into_iter().filter(|alg| confidential && named(alg));
    asymmetric.chain(hmac).collect()
}

/// `Ok` when a JWT whose header says `alg` may be verified; otherwise why not, naming `alg`.
pub(crate) fn check_alg(
    alg: &str,
    advertised: &[String],
    confidential: bool,
) -> Result<(), String> {
    let alg = printable(alg);
    if alg == "none" {
        return Err(
            "the ID token is not signed (alg 'none'), which Keyfob never accepts".to_string(),
        );
    }
    let known = ASYMMETRIC
        .iter()
        .chain(HMAC.iter())
        .find(|a| name(a) == alg);
    let Some(known) = known else {
        return Err(format!(
            "the ID token is signed with {alg}, which Keyfob does not support"
        ));
    };
    if HMAC.contains(known) && !confidential {
        return Err(format!(
            "the ID token is signed with {alg}, which Keyfob does not accept from a public \
             client (a MAC keyed with a secret the client does not have proves nothing)"
        ));
    }
    if allowed_algs(advertised, confidential).contains(known) {
        return Ok(());
    }
    if advertised.is_empty() {
        // Only HMAC without an advertised list gets here.
        return Err(format!(
            "the ID token is signed with {alg}, which the provider does not advertise \
             (its discovery document names no id_token_signing_alg_values_supported)"
        ));
    }
    let listed: Vec<String> = advertised.iter().map(|a| printable(a)).collect();
    Err(format!(
        "the ID token is signed with {alg}, which the provider does not advertise \
         (id_token_signing_alg_values_supported: {})",
        listed.join(", ")
    ))
}

/// The `alg` of a JWS header, read without any check; `None` when there is none to read.
pub(crate) fn header_alg(raw: &str) -> Option<String> {
    let header = decode_json(raw.split('.').next()?)?;
    header.get("alg")?.as_str().map(String::from)
}

/// The JWA name of `alg` (RFC 7518 section 3.1), as it appears in headers and discovery.
fn name(alg: &Alg) -> &'static str {
    match alg {
        Alg::HmacSha256 => "HS256",
        Alg::HmacSha384 => "HS384",
        Alg::HmacSha512 => "HS512",
        Alg::RsaSsaPkcs1V15Sha256 => "RS256",
        Alg::RsaSsaPkcs1V15Sha384 => "RS384",
        Alg::RsaSsaPkcs1V15Sha512 => "RS512",
        Alg::EcdsaP256Sha256 => "ES256",
        Alg::EcdsaP384Sha384 => "ES384",
        Alg::EcdsaP521Sha512 => "ES512",
        Alg::RsaSsaPssSha256 => "PS256",
        Alg::RsaSsaPssSha384 => "PS384",
        Alg::RsaSsaPssSha512 => "PS512",
        Alg::EdDsa => "EdDSA",
        Alg::None => "none",
        // The enum is non-exhaustive; a future variant is not one Keyfob lists above.
        _ => "",
    }
}

/// A header value fit for an error message: no control characters, at most 40 characters.
fn printable(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    fn list(algs: &[&str]) -> Vec<String> {
        algs.iter().map(|a| a.to_string()).collect()
    }

    fn names(algs: Vec<Alg>) -> Vec<&'static str> {
        algs.iter().map(name).collect()
    }

    #[test]
    fn with_nothing_advertised_every_supported_asymmetric_alg_is_allowed() {
        let all = [
            "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
        ];
        assert_eq!(names(allowed_algs(&[], false)), all);
        // No HMAC for a confidential client unless the provider names it.
        assert_eq!(names(allowed_algs(&[], true)), all);
    }

    #[test]
    fn what_the_provider_advertises_restricts_the_list() {
        // oidc-provider's default list: "Ed25519" (RFC 9864) is not one openidconnect knows.
        let advertised = list(&["RS256", "PS256", "ES256", "Ed25519", "EdDSA"]);
        assert_eq!(
            names(allowed_algs(&advertised, false)),
            ["RS256", "PS256", "ES256", "EdDSA"]
        );
        let advertised = list(&["RS256", "HS256", "none", "ES512"]);
        assert_eq!(names(allowed_algs(&advertised, false)), ["RS256"]);
        assert_eq!(names(allowed_algs(&advertised, true)), ["RS256", "HS256"]);
    }

    #[test]
    fn none_is_refused_always() {
        for confidential in [false, true] {
            for advertised in [list(&[]), list(&["none", "RS256"])] {
                let err = check_alg("none", &advertised, confidential).unwrap_err();
                assert!(err.contains("'none'") && err.contains("never"), "{err}");
            }
        }
    }

    #[test]
    fn hmac_is_refused_from_a_public_client_and_needs_advertising_for_a_confidential_one() {
        let advertised = list(&["RS256", "HS256"]);
        for alg in ["HS256", "HS384", "HS512"] {
            let err = check_alg(alg, &advertised, false).unwrap_err();
            assert!(
                err.contains(&format!("signed with {alg}, "))
                    && err.contains("does not accept from a public client"),
                "{err}"
            );
        }
        assert_eq!(check_alg("HS256", &advertised, true), Ok(()));
        let err = check_alg("HS384", &advertised, true).unwrap_err();
        assert!(
            err.contains("signed with HS384, which the provider does not advertise"),
            "{err}"
        );
        let err = check_alg("HS256", &[], true).unwrap_err();
        assert!(
            err.contains("signed with HS256, which the provider does not advertise"),
            "{err}"
        );
    }

    #[test]
    fn unsupported_and_unadvertised_algs_are_named() {
        let err = check_alg("ES512", &[], false).unwrap_err();
        assert!(
            err.contains("signed with ES512, which Keyfob does not support"),
            "{err}"
        );
        let err = check_alg("XS999\n\u{7}", &[], false).unwrap_err();
        assert!(err.contains("signed with XS999, which Keyfob"), "{err}");
        let err = check_alg("ES384", &list(&["RS256", "ES256"]), false).unwrap_err();
        assert!(
            err.contains("signed with ES384, which the provider does not advertise")
                && err.contains("RS256, ES256"),
            "{err}"
        );
        for alg in ASYMMETRIC.iter().map(name) {
            assert_eq!(check_alg(alg, &[], false), Ok(()), "{alg}");
            assert_eq!(check_alg(alg, &list(&[alg]), false), Ok(()), "{alg}");
        }
    }

    #[test]
    fn the_alg_is_read_from_the_jws_header() {
        let part = |json: &str| URL_SAFE_NO_PAD.encode(json);
        let jwt = |header: &str| format!("{}.{}.", part(header), part(r#"{"sub":"x"}"#));
        assert_eq!(
            header_alg(&jwt(r#"{"alg":"none"}"#)).as_deref(),
            Some("none")
        );
        assert_eq!(
            header_alg(&jwt(r#"{"alg":"ES256","kid":"k"}"#)).as_deref(),
            Some("ES256")
        );
        assert_eq!(header_alg(&jwt(r#"{"typ":"JWT"}"#)), None);
        assert_eq!(header_alg("not a jwt"), None);
    }
}
