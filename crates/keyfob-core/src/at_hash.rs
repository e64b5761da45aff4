//! The ID token's `at_hash`: a hash of the access token it came with, checked when present.
//!
//! OIDC Core 3.1.3.8 makes `at_hash` optional in an ID token from the token endpoint, and when
//! it is there the client may check it (3.1.3.6 gives the recipe). Keyfob does: a mismatch
//! means the two tokens were not issued together, so neither is trusted.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256, Sha384, Sha512};

use crate::text::claim_text;

/// `Ok` when `at_hash` is the hash of `access_token` for a token signed with `alg`: the
/// base64url of the left half of the hash that `alg` uses (OIDC Core 3.1.3.6).
pub(crate) fn check_at_hash(at_hash: &str, alg: &str, access_token: &str) -> Result<(), String> {
    let expected = at_hash_of(alg, access_token).ok_or_else(|| {
        format!(
            "its at_hash cannot be checked for a token signed with {}",
            claim_text(alg)
        )
    })?;
    if expected == at_hash {
        Ok(())
    } else {
        Err(format!(
            "its at_hash '{}' is not the hash of the access token it came with (OIDC Core 3.1.3.8)",
            claim_text(at_hash)
        ))
    }
}

/// The `at_hash` of `access_token` under `alg`, or `None` for an algorithm without a hash.
/// EdDSA tokens are Ed25519 ones here, whose hash is SHA-512 (as openidconnect computes it).
fn at_hash_of(alg: &str, access_token: &str) -> Option<String> {
    let token = access_token.as_bytes();
    let digest: Vec<u8> = match alg {
        "RS256" | "PS256" | "ES256" | "HS256" => Sha256::digest(token).to_vec(),
        "RS384" | "PS384" | "ES384" | "HS384" => Sha384::digest(token).to_vec(),
        "RS512" | "PS512" | "ES512" | "HS512" | "EdDSA" => Sha512::digest(token).to_vec(),
        _ => return None,
    };
    Some(URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_example_matches() {
        // OpenID Connect Core 1.0, Appendix A.3 (RS256): access token and at_hash as printed.
        let token = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y";
        assert_eq!(
            check_at_hash("77QmUPtjPfzWtF2AnpK9RQ", "RS256", token),
            Ok(())
        );
    }

    #[test]
    fn the_hash_follows_the_algorithm() {
        let token = "an-access-token";
        for alg in ["RS256", "PS384", "ES256", "RS512", "EdDSA"] {
            let hash = at_hash_of(alg, token).unwrap();
            assert_eq!(check_at_hash(&hash, alg, token), Ok(()), "{alg}");
        }
        assert_eq!(at_hash_of("RS256", token).unwrap().len(), 22);
        assert_eq!(at_hash_of("ES384", token).unwrap().len(), 32);
        assert_eq!(at_hash_of("EdDSA", token).unwrap().len(), 43);
        // The same hash under another algorithm's length does not pass.
        let sha256 = at_hash_of("RS256", token).unwrap();
        assert!(check_at_hash(&sha256, "RS384", token).is_err());
    }

    #[test]
    fn a_mismatch_or_an_unknown_alg_is_refused_by_name() {
        let other = at_hash_of("RS256", "another-token").unwrap();
        let err = check_at_hash(&other, "RS256", "an-access-token").unwrap_err();
        assert!(
            err.contains(&format!(
                "its at_hash '{other}' is not the hash of the access token"
            )),
            "{err}"
        );
        let err = check_at_hash("x", "none", "t").unwrap_err();
        assert!(
            err.contains("cannot be checked for a token signed with none"),
            "{err}"
        );
    }
}
