//! Who an ID token is from, about and for: `azp` checked against this client, and an ID token
//! from a refresh compared with the one from the sign-in.
//!
//! OIDC Core 3.1.3.7 items 4-5: with several audiences the client should find an `azp`, and an
//! `azp` that is present must be the client's own id (openidconnect leaves both out, see its
//! `verification/mod.rs`). OIDC Core 12.2: an ID token from a refresh must have the same `iss`,
//! `sub` and `aud` as the original, and the same `azp`, none if the original had none.

use serde_json::Value;

use crate::bare_issuer::decode_json;
use crate::text::claim_text;

/// `Ok` when `azp` (if any) names `client_id`, and is there when `audiences` are several.
pub(crate) fn check_azp(
    azp: Option<&str>,
    audiences: &[String],
    client_id: &str,
) -> Result<(), String> {
    match azp {
        Some(azp) if azp == client_id => Ok(()),
        Some(azp) => Err(format!(
            "its azp '{}' is not this client ('{}')",
            claim_text(azp),
            claim_text(client_id)
        )),
        None if audiences.len() > 1 => Err(format!(
            "it has several audiences ({}) but no azp naming this client",
            list(audiences)
        )),
        None => Ok(()),
    }
}

/// The claims OIDC Core 12.2 keeps fixed across refreshes, as an ID token states them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Party {
    iss: String,
    sub: String,
    /// The audiences, sorted: `"c"` and `["c"]` say the same (RFC 7519 section 4.1.3).
    aud: Vec<String>,
    azp: Option<String>,
}

impl Party {
    /// The party of a JWT, read without checking it (the caller has, or did when it was
    /// stored). A bare `issuer` without its scheme counts as `issuer`: Google's ID tokens use
    /// both forms of one issuer (bare_issuer.rs). `None` when the claims are not there.
    pub(crate) fn read(raw: &str, issuer: &str) -> Option<Party> {
        let claims = decode_json(raw.split('.').nth(1)?)?;
        let text = |name: &str| claims.get(name)?.as_str().map(String::from);
        let bare = issuer.split_once("://").map(|(_, rest)| rest);
        let iss = text("iss")?;
        let iss = if Some(iss.as_str()) == bare {
            issuer.to_string()
        } else {
            iss
        };
        let mut aud = match claims.get("aud")? {
            Value::String(one) => vec![one.clone()],
            Value::Array(many) => many
                .iter()
                .map(|a| a.as_str().map(String::from))
                .collect::<Option<Vec<_>>>()?,
            _ => return None,
        };
        aud.sort();
        Some(Party {
            iss,
            sub: text("sub")?,
            aud,
            azp: text("azp"),
        })
    }
}

/// `Ok` when a refreshed ID token's party is the original's; else which claim differs.
pub(crate) fn same_party(original: &Party, refreshed: &Party) -> Result<(), String> {
    let differs = |claim: &str, new: String, old: String| {
        Err(format!(
            "the refreshed ID token's {claim} {new} differs from the original's {old} \
             (OIDC Core 12.2)"
        ))
    };
    let quoted = |s: &str| format!("'{}'", claim_text(s));
    if refreshed.iss != original.iss {
        return differs("iss", quoted(&refreshed.iss), quoted(&original.iss));
    }
    if refreshed.sub != original.sub {
        return differs("sub", quoted(&refreshed.sub), quoted(&original.sub));
    }
    if refreshed.aud != original.aud {
        return differs("aud", list(&refreshed.aud), list(&original.aud));
    }
    if refreshed.azp != original.azp {
        let azp = |azp: &Option<String>| azp.as_deref().map_or("(none)".into(), quoted);
        return differs("azp", azp(&refreshed.azp), azp(&original.azp));
    }
    Ok(())
}

/// `'a', 'b'`: values for a message.
fn list(values: &[String]) -> String {
    let quoted: Vec<String> = values
        .iter()
        .map(|v| format!("'{}'", claim_text(v)))
        .collect();
    quoted.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use serde_json::json;

    const ISSUER: &str = "https://idp.example";

    fn jwt(claims: Value) -> String {
        let part = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
        format!("{}.{}.c2ln", part(&json!({"alg": "RS256"})), part(&claims))
    }

    fn party(claims: Value) -> Party {
        Party::read(&jwt(claims), ISSUER).expect("a party")
    }

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| v.to_string()).collect()
    }

    #[test]
    fn azp_must_name_this_client_when_present() {
        assert_eq!(check_azp(None, &strings(&["me"]), "me"), Ok(()));
        assert_eq!(check_azp(Some("me"), &strings(&["me"]), "me"), Ok(()));
        assert_eq!(
            check_azp(Some("me"), &strings(&["me", "api"]), "me"),
            Ok(())
        );
        let err = check_azp(Some("evil"), &strings(&["me"]), "me").unwrap_err();
        assert_eq!(err, "its azp 'evil' is not this client ('me')");
        let err = check_azp(Some("evil\u{1b}[2J"), &strings(&["me"]), "me").unwrap_err();
        assert!(err.contains("'evil?[2J'"), "{err}");
    }

    #[test]
    fn several_audiences_need_an_azp() {
        let err = check_azp(None, &strings(&["me", "api"]), "me").unwrap_err();
        assert_eq!(
            err,
            "it has several audiences ('me', 'api') but no azp naming this client"
        );
    }

    #[test]
    fn a_party_reads_aud_as_one_or_many_and_google_issuers_in_both_forms() {
        let one = party(json!({"iss": ISSUER, "sub": "alice", "aud": "me"}));
        let many = party(json!({"iss": "idp.example", "sub": "alice", "aud": ["me"]}));
        assert_eq!(one, many);
        assert_eq!(one.azp, None);
        let reordered = party(json!({"iss": ISSUER, "sub": "a", "aud": ["b", "a"]}));
        assert_eq!(reordered.aud, ["a", "b"]);
        for broken in [
            json!({"sub": "a", "aud": "me"}),
            json!({"iss": ISSUER, "aud": "me"}),
            json!({"iss": ISSUER, "sub": "a"}),
            json!({"iss": ISSUER, "sub": "a", "aud": [1]}),
        ] {
            assert_eq!(Party::read(&jwt(broken.clone()), ISSUER), None, "{broken}");
        }
        assert_eq!(Party::read("not a jwt", ISSUER), None);
    }

    #[test]
    fn a_refreshed_token_must_keep_iss_sub_aud_and_azp() {
        let original = json!({"iss": ISSUER, "sub": "alice", "aud": "me"});
        let same = party(json!({"iss": ISSUER, "sub": "alice", "aud": ["me"], "nonce": "x"}));
        assert_eq!(same_party(&party(original.clone()), &same), Ok(()));

        let refused = |changes: Value| {
            let mut refreshed = original.clone();
            for (k, v) in changes.as_object().unwrap() {
                refreshed[k] = v.clone();
            }
            same_party(&party(original.clone()), &party(refreshed)).unwrap_err()
        };
        assert_eq!(
            refused(json!({"iss": "https://other.example"})),
            "the refreshed ID token's iss 'https://other.example' differs from the original's \
             'https://idp.example' (OIDC Core 12.2)"
        );
        assert!(refused(json!({"sub": "mallory"})).contains("sub 'mallory' differs"));
        assert!(refused(json!({"aud": ["me", "api"]}))
            .contains("aud 'api', 'me' differs from the original's 'me'"));
        assert!(
            refused(json!({"azp": "me"})).contains("azp 'me' differs from the original's (none)")
        );

        // An azp the original had must stay, and stay the same.
        let with_azp = party(json!({"iss": ISSUER, "sub": "alice", "aud": "me", "azp": "me"}));
        let err = same_party(&with_azp, &party(original)).unwrap_err();
        assert!(
            err.contains("azp (none) differs from the original's 'me'"),
            "{err}"
        );
    }
}
