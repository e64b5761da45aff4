//! OpenID Connect conformance: the local provider runs each flow as always, and a tamper mode
//! alters only the one thing that the OpenID Foundation's RP certification test of the same
//! name alters (tests/idp/server.mjs, TAMPER_MODES). Each test says what Keyfob must do: refuse
//! with an error that names the problem, and store nothing (no account, no keyring secret), or
//! accept where the specification says so. The README's table lists the same modes.

mod common;

use anyhow::Result;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use common::World;
use keyfob_core::internals::SecretKey;
use keyfob_core::{Account, AccountStatus, CallbackError, ClientAuth, Error, Keyfob, Paths};
use keyfob_testkit::{Consent, Idp, NATIVE_CLIENT_ID};
use serde_json::{json, Value};

/// A world whose provider runs `mode`, and more of its configuration.
async fn tampered(mode: &str, more: Value) -> Result<World> {
    let mut config = json!({ "tamper": mode });
    config
        .as_object_mut()
        .unwrap()
        .extend(more.as_object().unwrap().clone());
    World::start_with(config).await
}

/// Lets alice sign in to the world's `local` provider; the link must be refused. Checks that
/// nothing was stored: no account, and no secret left in the profile's keyring (the pending
/// link's own is consumed by the attempt). Returns the error.
async fn link_refused(w: &World) -> Result<Error> {
    let err = match w.link("local", "alice").await {
        Ok(account) => panic!("linked {} from a tampered provider", account.id),
        Err(e) => e.downcast::<Error>()?,
    };
    assert!(w.kf.accounts()?.is_empty(), "no account after: {err}");
    assert_eq!(
        w.secrets().delete_all().await?,
        Some(0),
        "no keyring secret after: {err}"
    );
    Ok(err)
}

/// The reason of an ID token refusal (OIDC Core 3.1.3.7), which must name the provider.
fn id_token_reason(w: &World, err: Error) -> String {
    match err {
        Error::InvalidIdToken { issuer, reason } => {
            assert_eq!(issuer, w.idp.issuer());
            reason
        }
        other => panic!("expected an ID token refusal, got: {other}"),
    }
}

/// The JOSE header and the claims of a JWT, unchecked.
fn jwt_parts(jwt: &str) -> (Value, Value) {
    let part = |i: usize| -> Value {
        let bytes = URL_SAFE_NO_PAD
            .decode(jwt.split('.').nth(i).unwrap())
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    };
    (part(0), part(1))
}

/// The ID token the keyring holds for `account`.
async fn stored_id_token(w: &World, account: &Account) -> Result<String> {
    let token = w.secret(SecretKey::IdToken(account.id.clone())).await?;
    Ok(token.expect("an ID token").expose().to_string())
}

// rp-id_token-sig-none. The OpenID Foundation's test expects an RP that registered
// id_token_signed_response_alg "none" to accept such a token from the token endpoint (OIDC
// Core 3.1.3.7 item 6). Keyfob registers no such thing and never accepts `none` (RFC 8725
// section 3.1): refusal is what it must do.
#[tokio::test(flavor = "multi_thread")]
async fn sig_none_is_refused() -> Result<()> {
    let w = tampered("sig-none", json!({})).await?;
    let reason = id_token_reason(&w, link_refused(&w).await?);
    assert_eq!(
        reason,
        "the ID token is not signed (alg 'none'), which Keyfob never accepts"
    );
    Ok(())
}

// rp-id_token-bad-sig-rs256: reject.
#[tokio::test(flavor = "multi_thread")]
async fn bad_signature_rs256_is_refused() -> Result<()> {
    let w = tampered("bad-sig", json!({})).await?;
    let reason = id_token_reason(&w, link_refused(&w).await?);
    assert_eq!(
        reason,
        "its RS256 signature does not verify with the provider's key 'keyfob-test-rs256'"
    );
    Ok(())
}

// rp-id_token-bad-sig-es256: reject.
#[tokio::test(flavor = "multi_thread")]
async fn bad_signature_es256_is_refused() -> Result<()> {
    let w = tampered("bad-sig", json!({"idTokenAlg": "ES256"})).await?;
    let reason = id_token_reason(&w, link_refused(&w).await?);
    assert_eq!(
        reason,
        "its ES256 signature does not verify with the provider's key 'keyfob-test-es256'"
    );
    Ok(())
}

// rp-id_token-issuer-mismatch: reject.
#[tokio::test(flavor = "multi_thread")]
async fn issuer_mismatch_is_refused() -> Result<()> {
    let w = tampered("iss-mismatch", json!({})).await?;
    let reason = id_token_reason(&w, link_refused(&w).await?);
    assert_eq!(
        reason,
        format!(
            "it names the issuer 'https://attacker.example', not '{}'",
            w.idp.issuer()
        )
    );
    Ok(())
}

// rp-id_token-aud: an aud that does not name the client: reject.
#[tokio::test(flavor = "multi_thread")]
async fn wrong_audience_is_refused() -> Result<()> {
    let w = tampered("aud-mismatch", json!({})).await?;
    let reason = id_token_reason(&w, link_refused(&w).await?);
    assert_eq!(
        reason,
        format!("its aud 'another-client' does not name this client ('{NATIVE_CLIENT_ID}')")
    );
    Ok(())
}

// OIDC Core 3.1.3.7 item 5: an azp that is not this client: reject.
#[tokio::test(flavor = "multi_thread")]
async fn untrusted_azp_is_refused() -> Result<()> {
    let w = tampered("azp-untrusted", json!({})).await?;
    let reason = id_token_reason(&w, link_refused(&w).await?);
    assert_eq!(
        reason,
        format!("its azp 'untrusted-client' is not this client ('{NATIVE_CLIENT_ID}')")
    );
    Ok(())
}

// rp-id_token-iat: iat is required (OIDC Core 2): reject.
#[tokio::test(flavor = "multi_thread")]
async fn missing_iat_is_refused() -> Result<()> {
    let w = tampered("iat-missing", json!({})).await?;
    let reason = id_token_reason(&w, link_refused(&w).await?);
    assert_eq!(
        reason,
        "it has no 'iat' claim, which every ID token must have"
    );
    Ok(())
}

// OIDC Core 3.1.3.7 item 10: an iat too far in the past (the acceptable range is the
// client's to choose; Keyfob's is the link lifetime): reject.
#[tokio::test(flavor = "multi_thread")]
async fn a_stale_iat_is_refused() -> Result<()> {
    let w = tampered("iat-stale", json!({})).await?;
    let reason = id_token_reason(&w, link_refused(&w).await?);
    assert!(
        reason.starts_with("it was issued 36")
            && reason.ends_with(" s ago, and Keyfob accepts at most 900 s"),
        "{reason}"
    );
    Ok(())
}

// rp-nonce-invalid: reject.
#[tokio::test(flavor = "multi_thread")]
async fn wrong_nonce_is_refused() -> Result<()> {
    let w = tampered("nonce-invalid", json!({})).await?;
    let reason = id_token_reason(&w, link_refused(&w).await?);
    assert_eq!(reason, "its nonce is not the one this link sent");
    Ok(())
}

// rp-nonce-unless-code-flow: the nonce is optional in the code flow, but Keyfob always sends
// one, and then OIDC Core 3.1.3.7 item 11 says the claim MUST be there: reject.
#[tokio::test(flavor = "multi_thread")]
async fn missing_nonce_is_refused() -> Result<()> {
    let w = tampered("nonce-missing", json!({})).await?;
    let reason = id_token_reason(&w, link_refused(&w).await?);
    assert_eq!(reason, "it has no nonce, though this link sent one");
    Ok(())
}

// OIDC Core 3.1.3.8: an at_hash that matches the access token: accept.
#[tokio::test(flavor = "multi_thread")]
async fn matching_at_hash_is_accepted() -> Result<()> {
    let w = tampered("at-hash", json!({})).await?;
    let account = w.link("local", "alice").await?;
    let (_, claims) = jwt_parts(&stored_id_token(&w, &account).await?);
    assert!(claims["at_hash"].is_string(), "the mode adds one: {claims}");
    Ok(())
}

// OIDC Core 3.1.3.8: an at_hash of another access token: reject.
#[tokio::test(flavor = "multi_thread")]
async fn wrong_at_hash_is_refused() -> Result<()> {
    let w = tampered("at-hash-wrong", json!({})).await?;
    let reason = id_token_reason(&w, link_refused(&w).await?);
    assert!(
        reason.starts_with("its at_hash '")
            && reason.ends_with(
                "' is not the hash of the access token it came with (OIDC Core 3.1.3.8)"
            ),
        "{reason}"
    );
    Ok(())
}

// rp-id_token-kid-absent-single-jwks: no kid, one key to try: accept.
#[tokio::test(flavor = "multi_thread")]
async fn absent_kid_with_one_key_is_accepted() -> Result<()> {
    let w = tampered("kid-absent-single", json!({})).await?;
    let account = w.link("local", "alice").await?;
    let (header, _) = jwt_parts(&stored_id_token(&w, &account).await?);
    assert_eq!(header.get("kid"), None, "the mode removes it: {header}");
    Ok(())
}

// rp-id_token-kid-absent-multiple-jwks: the RP "can do one of two things": reject, or try
// every key. OIDC Core 10.1 says "If there are multiple keys in the referenced JWK Set
// document, a kid value MUST be provided in the JOSE Header", so Keyfob rejects.
#[tokio::test(flavor = "multi_thread")]
async fn absent_kid_with_several_keys_is_refused() -> Result<()> {
    let w = tampered("kid-absent-multiple", json!({})).await?;
    let reason = id_token_reason(&w, link_refused(&w).await?);
    assert_eq!(
        reason,
        "its header names no key ('kid') and the provider publishes several keys for RS256, so \
         which one signed it is unknown (OIDC Core 10.1 requires a kid then)"
    );
    Ok(())
}

// rp-key-rotation-op-sign-key: the provider signs with a new key between the link and the
// refresh, and its JWKS holds only that one: the refresh fetches the keys again: accept.
#[tokio::test(flavor = "multi_thread")]
async fn a_key_rotated_between_link_and_refresh_is_accepted() -> Result<()> {
    let w = tampered("key-rotation", json!({})).await?;
    let account = w.link("local", "alice").await?;
    let (header, _) = jwt_parts(&stored_id_token(&w, &account).await?);
    assert_eq!(header["kid"], "keyfob-test-rs256");
    let refreshed = w.kf.refresh_account(&account.id).await?;
    assert_eq!(refreshed.status, AccountStatus::Ok);
    let (header, _) = jwt_parts(&stored_id_token(&w, &account).await?);
    assert_eq!(
        header["kid"], "keyfob-test-rs256-spare",
        "the new key signed it"
    );
    Ok(())
}

// OIDC Core 12.2: a refreshed ID token with an azp the original lacked: reject, and keep
// what the link stored (the rotated refresh token aside, which is stored first).
#[tokio::test(flavor = "multi_thread")]
async fn a_refreshed_id_token_with_another_azp_is_refused() -> Result<()> {
    let w = tampered("refresh-azp-added", json!({})).await?;
    let account = w.link("local", "alice").await?;
    let id_token = stored_id_token(&w, &account).await?;
    let access = w.secret(SecretKey::AccessToken(account.id.clone())).await?;
    let err = w.kf.refresh_account(&account.id).await.unwrap_err();
    let reason = id_token_reason(&w, err);
    assert_eq!(
        reason,
        format!(
            "the refreshed ID token's azp '{NATIVE_CLIENT_ID}' differs from the original's \
             (none) (OIDC Core 12.2)"
        )
    );
    assert_eq!(stored_id_token(&w, &account).await?, id_token);
    assert_eq!(
        w.secret(SecretKey::AccessToken(account.id.clone())).await?,
        access
    );
    assert_eq!(w.kf.account(&account.id)?, account);
    Ok(())
}

// rp-discovery-issuer-not-matching-config: refuse the provider; none is stored.
#[tokio::test(flavor = "multi_thread")]
async fn a_discovery_document_naming_another_issuer_is_refused() -> Result<()> {
    let idp = Idp::start_with(json!({"tamper": "discovery-issuer-mismatch"})).await?;
    let home = tempfile::tempdir()?;
    let kf = Keyfob::open(Paths::under(home.path()));
    let draft = common::draft(&idp, "local", NATIVE_CLIENT_ID, ClientAuth::None);
    let err = kf.add_openid_provider(draft, None).await.unwrap_err();
    match &err {
        Error::IssuerMismatch { expected, found } => {
            assert_eq!(expected, idp.issuer());
            assert_eq!(*found, format!("{}/not-this-one", idp.issuer()));
        }
        other => panic!("expected an issuer mismatch, got: {other}"),
    }
    assert!(kf.providers()?.is_empty());
    Ok(())
}

// rp-userinfo-bad-sub-claim: userinfo about someone else (OIDC Core 5.3.2): reject.
#[tokio::test(flavor = "multi_thread")]
async fn userinfo_about_another_subject_is_refused() -> Result<()> {
    let w = tampered("userinfo-sub-mismatch", json!({})).await?;
    match link_refused(&w).await? {
        Error::Identity { provider, reason } => {
            assert_eq!(provider, "Local local");
            assert_eq!(
                reason,
                "the userinfo 'sub' 'someone-else' differs from the ID token's subject 'alice'"
            );
        }
        other => panic!("expected an identity refusal, got: {other}"),
    }
    Ok(())
}

// RFC 9207 section 2.4: an authorization response from another issuer: refuse the callback,
// which changes nothing (the pending link and its secret stay, and the genuine callback, had
// there been one, would still work).
#[tokio::test(flavor = "multi_thread")]
async fn a_response_naming_another_issuer_is_refused() -> Result<()> {
    let w = tampered("response-iss-mismatch", json!({})).await?;
    let callback = w.callback("local", "alice", Consent::Approve).await?;
    match w.kf.complete_link(&callback).await.unwrap_err() {
        Error::Callback(CallbackError::IssuerMismatch { expected, got }) => {
            assert_eq!(expected, w.idp.issuer());
            assert_eq!(got, "https://attacker.example");
        }
        other => panic!("expected a callback refusal, got: {other}"),
    }
    assert!(w.kf.accounts()?.is_empty());
    assert_eq!(w.idp.stats().await?.token.total(), 0, "no code exchange");
    assert_eq!(
        w.secrets().delete_all().await?,
        Some(1),
        "only the pending link's secret"
    );
    Ok(())
}
