//! Proves the harness against the real provider: a hand-rolled authorization
//! code + PKCE flow through `Browser`, refresh rotation, denial, failure
//! injection and loopback redirects.

mod common;

use std::collections::HashMap;

use anyhow::{ensure, Context, Result};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use common::{pkce, random_token, Pkce};
use keyfob_testkit::*;
use openidconnect::JsonWebKey as _;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use url::Url;

struct AuthRequest {
    url: String,
    state: String,
    nonce: String,
    pkce: Pkce,
}

fn auth_request(
    idp: &Idp,
    client_id: &str,
    redirect_uri: &str,
    prompt_consent: bool,
) -> AuthRequest {
    let state = random_token();
    let pkce = pkce();
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("scope", "openid offline_access email"),
        ("state", &state),
        ("code_challenge", &pkce.challenge),
        ("code_challenge_method", "S256"),
    ];
    let nonce = random_token();
    params.push(("nonce", &nonce));
    if prompt_consent {
        params.push(("prompt", "consent"));
    }
    let url = Url::parse_with_params(&idp.authorization_endpoint(), &params)
        .unwrap()
        .to_string();
    AuthRequest {
        url,
        state,
        nonce,
        pkce,
    }
}

fn query(url: &str) -> Result<HashMap<String, String>> {
    let url = Url::parse(url).with_context(|| format!("bad URL {url}"))?;
    Ok(url.query_pairs().into_owned().collect())
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// POSTs a form to the token endpoint; returns status and JSON body.
async fn token_request(
    idp: &Idp,
    form: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> Result<(u16, Value)> {
    let mut request = http().post(idp.token_endpoint()).form(form);
    if let Some((id, secret)) = basic {
        request = request.basic_auth(id, Some(secret));
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    let text = response.text().await?;
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Ok((status, body))
}

async fn exchange_code(
    idp: &Idp,
    req: &AuthRequest,
    redirect: &str,
    redirect_uri: &str,
) -> Result<Value> {
    exchange_as(
        idp,
        req,
        redirect,
        redirect_uri,
        &[("client_id", NATIVE_CLIENT_ID)],
    )
    .await
}

/// A code exchange with the given client authentication parameters.
async fn exchange_as(
    idp: &Idp,
    req: &AuthRequest,
    redirect: &str,
    redirect_uri: &str,
    client: &[(&str, &str)],
) -> Result<Value> {
    let params = query(redirect)?;
    let code = params.get("code").context("no code in redirect")?;
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", redirect_uri),
        ("code_verifier", req.pkce.verifier.as_str()),
    ];
    form.extend_from_slice(client);
    let (status, body) = token_request(idp, &form, None).await?;
    ensure!(status == 200, "code exchange failed: {status} {body}");
    Ok(body)
}

/// The tokens of the first sign-in, which the later steps use.
struct FirstGrant {
    access: String,
    refresh: String,
}

/// The provider's life cycle end to end, as named steps that share one provider and browser.
#[tokio::test]
async fn full_flow_against_real_provider() -> Result<()> {
    let idp = Idp::start().await?;
    discovery_agrees_with_the_endpoint_helpers(&idp).await?;
    let browser = Browser::new();
    let grant = code_and_pkce_through_the_browser(&idp, &browser).await?;
    userinfo_and_introspection_accept_the_tokens(&idp, &grant).await?;
    let rotated = refresh_rotates_the_refresh_token(&idp, &grant).await?;
    reusing_a_rotated_refresh_token_revokes_the_grant(&idp, &grant, &rotated).await?;
    let access2 = a_second_sign_in_reuses_the_session(&idp, &browser).await?;
    without_prompt_consent_no_page_no_refresh_token_and_codes_are_single_use(&idp, &browser)
        .await?;
    a_denial_comes_back_with_state_and_iss(&idp).await?;
    revocation_is_counted(&idp, &access2).await?;
    idp.stop().await
}

async fn discovery_agrees_with_the_endpoint_helpers(idp: &Idp) -> Result<()> {
    let issuer = idp.issuer().to_owned();
    assert!(issuer.starts_with("http://127.0.0.1:"), "{issuer}");
    assert!(!issuer.ends_with('/'));

    // Discovery, and the endpoint helpers agree with it.
    let discovery = idp.discovery().await?;
    assert_eq!(discovery["issuer"], issuer);
    assert_eq!(
        discovery["authorization_response_iss_parameter_supported"],
        true
    );
    assert_eq!(
        discovery["authorization_endpoint"],
        idp.authorization_endpoint()
    );
    assert_eq!(discovery["token_endpoint"], idp.token_endpoint());
    assert_eq!(discovery["revocation_endpoint"], idp.revocation_endpoint());
    assert_eq!(
        discovery["introspection_endpoint"],
        idp.introspection_endpoint()
    );
    assert_eq!(discovery["userinfo_endpoint"], idp.userinfo_endpoint());
    assert_eq!(discovery["jwks_uri"], idp.jwks_uri());
    assert_eq!(
        discovery["code_challenge_methods_supported"],
        json!(["S256"])
    );
    assert_eq!(idp.stats().await?, Stats::default());

    Ok(())
}

async fn code_and_pkce_through_the_browser(idp: &Idp, browser: &Browser) -> Result<FirstGrant> {
    let issuer = idp.issuer().to_owned();
    // Authorization code + PKCE through the scripted browser.
    let req = auth_request(idp, NATIVE_CLIENT_ID, NATIVE_REDIRECT_URI, true);
    let redirect = browser
        .authorize(&req.url, "alice", Consent::Approve)
        .await?;
    assert!(
        redirect.starts_with("dev.keyfob.app:/oauth/local?"),
        "{redirect}"
    );
    let params = query(&redirect)?;
    assert!(params.contains_key("code"), "{redirect}");
    assert_eq!(params.get("state"), Some(&req.state));
    assert_eq!(params.get("iss"), Some(&issuer));

    let tokens = exchange_code(idp, &req, &redirect, NATIVE_REDIRECT_URI).await?;
    let access = tokens["access_token"]
        .as_str()
        .context("access_token")?
        .to_owned();
    let refresh = tokens["refresh_token"]
        .as_str()
        .context("refresh_token")?
        .to_owned();
    let id_token = tokens["id_token"].as_str().context("id_token")?;
    let payload = id_token.split('.').nth(1).context("JWT payload")?;
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload)?)?;
    assert_eq!(claims["iss"], issuer);
    assert_eq!(claims["aud"], NATIVE_CLIENT_ID);
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["nonce"], req.nonce);
    // conformIdTokenClaims is off: scope claims are in the ID token too.
    assert_eq!(claims["email"], "alice@example.test", "{claims}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 3600);
    assert_eq!(tokens["scope"], "openid offline_access email");

    Ok(FirstGrant { access, refresh })
}

async fn userinfo_and_introspection_accept_the_tokens(idp: &Idp, grant: &FirstGrant) -> Result<()> {
    let FirstGrant { access, refresh } = grant;
    // Userinfo and introspection.
    let userinfo: Value = http()
        .get(idp.userinfo_endpoint())
        .bearer_auth(access)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(userinfo["sub"], "alice", "{userinfo}");
    assert_eq!(userinfo["email"], "alice@example.test");
    assert_eq!(userinfo["email_verified"], true);
    assert!(idp.is_active(access).await?);
    let introspection = idp
        .introspect(refresh, CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET)
        .await?;
    assert_eq!(introspection["active"], true);
    // Refresh tokens have no token_type in oidc-provider's introspection.
    assert!(introspection.get("token_type").is_none(), "{introspection}");
    assert_eq!(
        introspection["exp"].as_i64().unwrap() - introspection["iat"].as_i64().unwrap(),
        86400,
        "default RefreshToken TTL"
    );
    assert_eq!(introspection["client_id"], NATIVE_CLIENT_ID);
    assert_eq!(introspection["sub"], "alice", "{introspection}");

    Ok(())
}

async fn refresh_rotates_the_refresh_token(idp: &Idp, grant: &FirstGrant) -> Result<String> {
    let refresh = &grant.refresh;
    // Refresh once: rotation gives a new refresh token.
    let (status, refreshed) = token_request(
        idp,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", NATIVE_CLIENT_ID),
        ],
        None,
    )
    .await?;
    assert_eq!(status, 200, "{refreshed}");
    let new_refresh = refreshed["refresh_token"]
        .as_str()
        .context("rotated refresh_token")?;
    assert_ne!(new_refresh, refresh);
    assert!(refreshed["access_token"].is_string());

    let stats = idp.stats().await?;
    assert_eq!(stats.token.authorization_code, 1);
    assert_eq!(stats.token.refresh_token, 1);
    assert_eq!(stats.token.other, 0);
    assert_eq!(stats.userinfo, 1);
    assert_eq!(stats.introspection, 2);
    assert_eq!(stats.revocation, 0);

    Ok(new_refresh.to_owned())
}

async fn reusing_a_rotated_refresh_token_revokes_the_grant(
    idp: &Idp,
    grant: &FirstGrant,
    new_refresh: &str,
) -> Result<()> {
    let refresh = &grant.refresh;
    // Reusing the old refresh token fails, and revokes the whole grant.
    let (status, body) = token_request(
        idp,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", NATIVE_CLIENT_ID),
        ],
        None,
    )
    .await?;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    assert!(!idp.is_active(new_refresh).await?);
    assert_eq!(idp.stats().await?.token.refresh_token, 2);

    Ok(())
}

async fn a_second_sign_in_reuses_the_session(idp: &Idp, browser: &Browser) -> Result<String> {
    // A second authorization with the same browser: the session is reused
    // (no login page), consent is asked again because of prompt=consent.
    let req2 = auth_request(idp, NATIVE_CLIENT_ID, NATIVE_REDIRECT_URI_2, true);
    let redirect2 = browser
        .authorize(&req2.url, "ignored", Consent::Approve)
        .await?;
    assert!(
        redirect2.starts_with("dev.keyfob.app:/oauth/local2?"),
        "{redirect2}"
    );
    let tokens2 = exchange_code(idp, &req2, &redirect2, NATIVE_REDIRECT_URI_2).await?;
    let access2 = tokens2["access_token"].as_str().unwrap();
    let userinfo2: Value = http()
        .get(idp.userinfo_endpoint())
        .bearer_auth(access2)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(
        userinfo2["sub"], "alice",
        "the session kept the first login"
    );

    Ok(access2.to_owned())
}

async fn without_prompt_consent_no_page_no_refresh_token_and_codes_are_single_use(
    idp: &Idp,
    browser: &Browser,
) -> Result<()> {
    // Without prompt=consent and with an existing grant, no page at all.
    let req3 = auth_request(idp, NATIVE_CLIENT_ID, NATIVE_REDIRECT_URI, false);
    let redirect3 = browser
        .authorize(&req3.url, "alice", Consent::Approve)
        .await?;
    assert!(query(&redirect3)?.contains_key("code"), "{redirect3}");
    // ...and no refresh token then (offline_access needs prompt=consent).
    let tokens3 = exchange_code(idp, &req3, &redirect3, NATIVE_REDIRECT_URI).await?;
    assert!(tokens3.get("refresh_token").is_none(), "{tokens3}");
    let access3 = tokens3["access_token"].as_str().unwrap();
    assert!(idp.is_active(access3).await?);

    // A code is single-use; replaying it also revokes what it produced.
    let (status, body) = token_request(
        idp,
        &[
            ("grant_type", "authorization_code"),
            ("code", &query(&redirect3)?["code"]),
            ("redirect_uri", NATIVE_REDIRECT_URI),
            ("client_id", NATIVE_CLIENT_ID),
            ("code_verifier", &req3.pkce.verifier),
        ],
        None,
    )
    .await?;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert!(!idp.is_active(access3).await?);

    Ok(())
}

async fn a_denial_comes_back_with_state_and_iss(idp: &Idp) -> Result<()> {
    let issuer = idp.issuer().to_owned();
    // Deny with a fresh browser.
    let req = auth_request(idp, NATIVE_CLIENT_ID, NATIVE_REDIRECT_URI, true);
    let denied = Browser::new()
        .authorize(&req.url, "bob", Consent::Deny)
        .await?;
    let params = query(&denied)?;
    assert_eq!(
        params.get("error").map(String::as_str),
        Some("access_denied"),
        "{denied}"
    );
    assert_eq!(params.get("state"), Some(&req.state));
    assert_eq!(params.get("iss"), Some(&issuer));

    Ok(())
}

async fn revocation_is_counted(idp: &Idp, access2: &str) -> Result<()> {
    // Revocation (RFC 7009) is counted too.
    let response = http()
        .post(idp.revocation_endpoint())
        .form(&[("token", access2), ("client_id", NATIVE_CLIENT_ID)])
        .send()
        .await?;
    assert_eq!(response.status().as_u16(), 200);
    assert!(!idp.is_active(access2).await?);
    assert_eq!(idp.stats().await?.revocation, 1);

    Ok(())
}

#[tokio::test]
async fn failure_injection() -> Result<()> {
    let idp = Idp::start().await?;
    let bogus = [
        ("grant_type", "refresh_token"),
        ("refresh_token", "nope"),
        ("client_id", NATIVE_CLIENT_ID),
    ];

    idp.fail_next("token", "status503", 1).await?;
    let (status, body) = token_request(&idp, &bogus, None).await?;
    assert_eq!(status, 503, "{body}");
    // Only once: the next request reaches the provider.
    let (status, body) = token_request(&idp, &bogus, None).await?;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    // The injected answer never reached the provider, so it is not counted.
    assert_eq!(idp.stats().await?.token.refresh_token, 1);

    idp.fail_next("token", "status500", 1).await?;
    let (status, body) = token_request(&idp, &bogus, None).await?;
    assert_eq!(
        (status, body["error"].as_str()),
        (500, Some("server_error"))
    );

    idp.fail_next("token", "error200", 1).await?;
    let (status, body) = token_request(&idp, &bogus, None).await?;
    assert_eq!(status, 200);
    assert_eq!(body["error"], "bad_verification_code");

    idp.fail_next("token", "garbage200", 2).await?;
    for _ in 0..2 {
        let response = http()
            .post(idp.token_endpoint())
            .form(&bogus)
            .send()
            .await?;
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(response.headers()["content-type"], "application/json");
        assert_eq!(response.text().await?, "not json");
    }

    idp.fail_next("userinfo", "html200", 1).await?;
    let response = http()
        .get(idp.userinfo_endpoint())
        .bearer_auth("x")
        .send()
        .await?;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["content-type"], "text/html");
    assert_eq!(response.text().await?, "<html>oops</html>");

    idp.fail_next("revocation", "status503", 1).await?;
    let response = http()
        .post(idp.revocation_endpoint())
        .form(&[("token", "x"), ("client_id", NATIVE_CLIENT_ID)])
        .send()
        .await?;
    assert_eq!(response.status().as_u16(), 503);

    // Bad injections are refused.
    assert!(idp.fail_next("token", "explode", 1).await.is_err());
    assert!(idp.fail_next("nowhere", "status503", 1).await.is_err());

    // reset clears counters and pending failures.
    idp.fail_next("token", "status503", 5).await?;
    idp.reset().await?;
    assert_eq!(idp.stats().await?, Stats::default());
    let (status, _) = token_request(&idp, &bogus, None).await?;
    assert_eq!(status, 400);
    let stats = idp.stats().await?;
    assert_eq!(stats.token.refresh_token, 1);
    assert_eq!(stats.token.total(), 1);

    // A missing grant_type counts as "other".
    let (status, _) = token_request(&idp, &[("client_id", NATIVE_CLIENT_ID)], None).await?;
    assert_eq!(status, 400);
    assert_eq!(idp.stats().await?.token.other, 1);
    Ok(())
}

/// Answers one HTTP request on `listener` with 200 "delivered" and returns
/// the request line.
async fn serve_once(listener: tokio::net::TcpListener) -> Result<String> {
    let (mut socket, _) = listener.accept().await?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = socket.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let request = String::from_utf8_lossy(&buf).into_owned();
    socket
        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 9\r\nconnection: close\r\n\r\ndelivered")
        .await?;
    Ok(request.lines().next().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn loopback_redirects_with_any_port() -> Result<()> {
    let idp = Idp::start().await?;
    let browser = Browser::new();

    // An arbitrary port on the registered http://127.0.0.1/oauth/local.
    let redirect_uri = "http://127.0.0.1:45678/oauth/local";
    let req = auth_request(&idp, NATIVE_CLIENT_ID, redirect_uri, true);
    let redirect = browser
        .authorize(&req.url, "carol", Consent::Approve)
        .await?;
    assert!(
        redirect.starts_with("http://127.0.0.1:45678/oauth/local?"),
        "{redirect}"
    );
    let tokens = exchange_code(&idp, &req, &redirect, redirect_uri).await?;
    assert!(tokens["refresh_token"].is_string());

    // /oauth/local2 on a port something actually listens on, then deliver.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let server = tokio::spawn(serve_once(listener));
    let redirect_uri = format!("http://127.0.0.1:{port}/oauth/local2");
    let req = auth_request(&idp, NATIVE_CLIENT_ID, &redirect_uri, true);
    let redirect = browser
        .authorize(&req.url, "carol", Consent::Approve)
        .await?;
    assert!(
        redirect.starts_with(&format!("{redirect_uri}?")),
        "{redirect}"
    );
    let (status, body) = browser.deliver(&redirect).await?;
    assert_eq!((status, body.as_str()), (200, "delivered"));
    let request_line = server.await??;
    assert!(
        request_line.starts_with("GET /oauth/local2?code="),
        "{request_line}"
    );

    // An unregistered path is an error page at the IdP, not a redirect.
    let req = auth_request(
        &idp,
        NATIVE_CLIENT_ID,
        "http://127.0.0.1:45678/elsewhere",
        true,
    );
    let err = browser
        .authorize(&req.url, "carol", Consent::Approve)
        .await
        .expect_err("unregistered redirect_uri must fail");
    let message = format!("{err:#}");
    assert!(message.contains("redirect_uri"), "{message}");
    assert!(message.contains("400"), "{message}");

    // The confidential client on its loopback redirect, with basic auth.
    let redirect_uri = "http://127.0.0.1:40001/oauth/local-secret";
    let req = auth_request(&idp, CONFIDENTIAL_CLIENT_ID, redirect_uri, true);
    let redirect = browser
        .authorize(&req.url, "carol", Consent::Approve)
        .await?;
    let code = query(&redirect)?.remove("code").context("code")?;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", redirect_uri),
        ("code_verifier", req.pkce.verifier.as_str()),
    ];
    let (status, body) =
        token_request(&idp, &form, Some((CONFIDENTIAL_CLIENT_ID, "wrong-secret"))).await?;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let (status, body) = token_request(
        &idp,
        &form,
        Some((CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET)),
    )
    .await?;
    assert_eq!(status, 200, "{body}");
    assert!(body["refresh_token"].is_string());

    // The client_secret_post client.
    let req = auth_request(&idp, POST_CLIENT_ID, POST_REDIRECT_URI, true);
    let redirect = browser
        .authorize(&req.url, "carol", Consent::Approve)
        .await?;
    let code = query(&redirect)?.remove("code").context("code")?;
    let (status, body) = token_request(
        &idp,
        &[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", POST_REDIRECT_URI),
            ("code_verifier", req.pkce.verifier.as_str()),
            ("client_id", POST_CLIENT_ID),
            ("client_secret", POST_CLIENT_SECRET),
        ],
        None,
    )
    .await?;
    assert_eq!(status, 200, "{body}");
    Ok(())
}

#[tokio::test]
async fn config_overrides() -> Result<()> {
    let idp = Idp::start_with(json!({
        "issAuthResp": false,
        "ttl": { "AccessToken": 5 },
        "clients": [{
            "client_id": "extra-client",
            "application_type": "native",
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
            "redirect_uris": ["dev.keyfob.app:/oauth/extra"]
        }]
    }))
    .await?;
    let discovery = idp.discovery().await?;
    assert_eq!(
        discovery["authorization_response_iss_parameter_supported"],
        false
    );

    let browser = Browser::new();
    let req = auth_request(&idp, "extra-client", "dev.keyfob.app:/oauth/extra", true);
    let redirect = browser
        .authorize(&req.url, "dave", Consent::Approve)
        .await?;
    let params = query(&redirect)?;
    assert!(params.contains_key("code"), "{redirect}");
    assert!(!params.contains_key("iss"), "{redirect}");
    let code = &params["code"];
    let (status, tokens) = token_request(
        &idp,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", "dev.keyfob.app:/oauth/extra"),
            ("client_id", "extra-client"),
            ("code_verifier", &req.pkce.verifier),
        ],
        None,
    )
    .await?;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["expires_in"], 5);

    // The default clients are still there; error responses lose iss too.
    let req = auth_request(&idp, NATIVE_CLIENT_ID, NATIVE_REDIRECT_URI, true);
    let denied = browser.authorize(&req.url, "dave", Consent::Deny).await?;
    let params = query(&denied)?;
    assert_eq!(
        params.get("error").map(String::as_str),
        Some("access_denied")
    );
    assert!(!params.contains_key("iss"), "{denied}");
    Ok(())
}

/// A misspelt tamper mode stops the provider from starting, rather than running a flow that
/// tampers with nothing and so lets a conformance test pass for the wrong reason.
#[tokio::test]
async fn an_unknown_tamper_mode_is_refused_at_start() -> Result<()> {
    let err = Idp::start_with(json!({"tamper": "sig-nothing"}))
        .await
        .expect_err("the provider started");
    let message = format!("{err:#}");
    assert!(
        message.contains("tamper must be one of sig-none, bad-sig,"),
        "{message}"
    );
    Ok(())
}

#[tokio::test]
async fn pkce_is_required() -> Result<()> {
    let idp = Idp::start().await?;
    // Without code_challenge the IdP redirects back with invalid_request.
    let url = Url::parse_with_params(
        &idp.authorization_endpoint(),
        &[
            ("response_type", "code"),
            ("client_id", CONFIDENTIAL_CLIENT_ID),
            ("redirect_uri", CONFIDENTIAL_REDIRECT_URI),
            ("scope", "openid"),
            ("state", "s"),
        ],
    )?;
    let redirect = Browser::new()
        .authorize(url.as_str(), "erin", Consent::Approve)
        .await?;
    let params = query(&redirect)?;
    assert_eq!(
        params.get("error").map(String::as_str),
        Some("invalid_request"),
        "{redirect}"
    );
    ensure!(params["error_description"].contains("PKCE"), "{redirect}");
    Ok(())
}

// ---------------------------------------------------------------------------
// Google-like mode (`{"google": true}`)
// ---------------------------------------------------------------------------

const GOOGLE_CLIENT_ID: &str = "google-desktop.apps.googleusercontent.test";
const GOOGLE_CLIENT_SECRET: &str = "google-desktop-secret";
/// Registered as `http://127.0.0.1/oauth/google`; loopback redirects may add any port.
const GOOGLE_REDIRECT_URI: &str = "http://127.0.0.1:47001/oauth/google";

/// An authorization request of the Google desktop client (scope without offline_access, as
/// Google has no such scope), with `extra` parameters such as `access_type`.
fn google_auth_request(idp: &Idp, extra: &[(&str, &str)]) -> AuthRequest {
    let state = random_token();
    let nonce = random_token();
    let pkce = pkce();
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", GOOGLE_CLIENT_ID),
        ("redirect_uri", GOOGLE_REDIRECT_URI),
        ("scope", "openid email"),
        ("state", &state),
        ("nonce", &nonce),
        ("code_challenge", &pkce.challenge),
        ("code_challenge_method", "S256"),
    ];
    params.extend_from_slice(extra);
    let url = Url::parse_with_params(&idp.authorization_endpoint(), &params)
        .unwrap()
        .to_string();
    AuthRequest {
        url,
        state,
        nonce,
        pkce,
    }
}

/// Code exchange of the Google desktop client (client_secret_post).
async fn google_exchange(idp: &Idp, req: &AuthRequest, redirect: &str) -> Result<Value> {
    let client = [
        ("client_id", GOOGLE_CLIENT_ID),
        ("client_secret", GOOGLE_CLIENT_SECRET),
    ];
    exchange_as(idp, req, redirect, GOOGLE_REDIRECT_URI, &client).await
}

async fn google_refresh(idp: &Idp, refresh_token: &str) -> Result<(u16, Value)> {
    token_request(
        idp,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", GOOGLE_CLIENT_ID),
            ("client_secret", GOOGLE_CLIENT_SECRET),
        ],
        None,
    )
    .await
}

/// POSTs to the revocation endpoint; returns status, content type and JSON body (or text).
async fn revoke(idp: &Idp, form: &[(&str, &str)]) -> Result<(u16, String, Value)> {
    let response = http()
        .post(idp.revocation_endpoint())
        .form(form)
        .send()
        .await?;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or_default().to_owned())
        .unwrap_or_default();
    let text = response.text().await?;
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Ok((status, content_type, body))
}

async fn google_revoke(idp: &Idp, token: &str) -> Result<(u16, String, Value)> {
    revoke(
        idp,
        &[
            ("token", token),
            ("client_id", GOOGLE_CLIENT_ID),
            ("client_secret", GOOGLE_CLIENT_SECRET),
        ],
    )
    .await
}

#[tokio::test]
async fn google_mode_sends_iss_without_announcing_it() -> Result<()> {
    let idp = Idp::start_with(json!({"google": true})).await?;
    let issuer = idp.issuer().to_owned();
    let discovery = idp.discovery().await?;
    assert!(
        discovery
            .get("authorization_response_iss_parameter_supported")
            .is_none(),
        "Google's discovery document has no such key: {discovery}"
    );

    let browser = Browser::new();
    let req = google_auth_request(&idp, &[]);
    let redirect = browser
        .authorize(&req.url, "gina", Consent::Approve)
        .await?;
    assert!(
        redirect.starts_with("http://127.0.0.1:47001/oauth/google?"),
        "{redirect}"
    );
    let params = query(&redirect)?;
    assert!(params.contains_key("code"), "{redirect}");
    assert_eq!(params.get("state"), Some(&req.state));
    assert_eq!(params.get("iss"), Some(&issuer), "{redirect}");

    // Error responses carry it too.
    let req = google_auth_request(&idp, &[("prompt", "consent")]);
    let denied = Browser::new()
        .authorize(&req.url, "gina", Consent::Deny)
        .await?;
    let params = query(&denied)?;
    assert_eq!(
        params.get("error").map(String::as_str),
        Some("access_denied")
    );
    assert_eq!(params.get("iss"), Some(&issuer), "{denied}");
    idp.stop().await?;

    // Google before it added `iss`: stripped from callbacks, still not announced.
    let idp = Idp::start_with(json!({"google": true, "issAuthResp": false})).await?;
    let discovery = idp.discovery().await?;
    assert!(
        discovery
            .get("authorization_response_iss_parameter_supported")
            .is_none(),
        "{discovery}"
    );
    let req = google_auth_request(&idp, &[]);
    let redirect = Browser::new()
        .authorize(&req.url, "gina", Consent::Approve)
        .await?;
    let params = query(&redirect)?;
    assert!(params.contains_key("code"), "{redirect}");
    assert!(!params.contains_key("iss"), "{redirect}");
    let req = google_auth_request(&idp, &[("prompt", "consent")]);
    let denied = Browser::new()
        .authorize(&req.url, "gina", Consent::Deny)
        .await?;
    let params = query(&denied)?;
    assert_eq!(
        params.get("error").map(String::as_str),
        Some("access_denied")
    );
    assert!(!params.contains_key("iss"), "{denied}");
    idp.stop().await
}

#[tokio::test]
async fn google_mode_always_returns_refresh_tokens_to_desktop_apps() -> Result<()> {
    let idp = Idp::start_with(json!({"google": true})).await?;
    let browser = Browser::new();

    // Neither access_type=offline nor prompt=consent.
    let req = google_auth_request(&idp, &[]);
    let redirect = browser
        .authorize(&req.url, "gina", Consent::Approve)
        .await?;
    let tokens = google_exchange(&idp, &req, &redirect).await?;
    let refresh = tokens["refresh_token"]
        .as_str()
        .with_context(|| format!("no refresh token: {tokens}"))?
        .to_owned();
    assert!(idp.is_active(&refresh).await?);

    // Refreshing gives no new refresh token; the old one stays valid and works again.
    for _ in 0..2 {
        let (status, refreshed) = google_refresh(&idp, &refresh).await?;
        assert_eq!(status, 200, "{refreshed}");
        assert!(refreshed["access_token"].is_string(), "{refreshed}");
        assert!(refreshed.get("refresh_token").is_none(), "{refreshed}");
        assert!(idp.is_active(&refresh).await?);
    }

    // access_type=offline and prompt=consent are still accepted.
    let req = google_auth_request(&idp, &[("access_type", "offline"), ("prompt", "consent")]);
    let redirect = browser
        .authorize(&req.url, "gina", Consent::Approve)
        .await?;
    let tokens = google_exchange(&idp, &req, &redirect).await?;
    assert!(tokens["refresh_token"].is_string(), "{tokens}");

    // An existing grant, no page shown at all: a refresh token all the same.
    let req = google_auth_request(&idp, &[("access_type", "offline")]);
    let redirect = browser
        .authorize(&req.url, "gina", Consent::Approve)
        .await?;
    let tokens = google_exchange(&idp, &req, &redirect).await?;
    assert!(tokens["refresh_token"].is_string(), "{tokens}");

    let stats = idp.stats().await?;
    assert_eq!(stats.token.authorization_code, 3);
    assert_eq!(stats.token.refresh_token, 2);
    idp.stop().await
}

#[tokio::test]
async fn google_mode_rejects_revoking_a_dead_token() -> Result<()> {
    let idp = Idp::start_with(json!({"google": true})).await?;
    let req = google_auth_request(&idp, &[]);
    let redirect = Browser::new()
        .authorize(&req.url, "gina", Consent::Approve)
        .await?;
    let tokens = google_exchange(&idp, &req, &redirect).await?;
    let refresh = tokens["refresh_token"].as_str().context("refresh_token")?;
    let access = tokens["access_token"].as_str().context("access_token")?;
    assert!(idp.is_active(access).await?);

    // A live refresh token: 200, and the grant ends.
    let (status, _, body) = google_revoke(&idp, refresh).await?;
    assert_eq!(status, 200, "{body}");
    assert!(!idp.is_active(refresh).await?);
    assert!(!idp.is_active(access).await?);

    // Again, and the access token that went with it: 400 invalid_token.
    for token in [refresh, access, "garbage-token"] {
        let (status, content_type, body) = google_revoke(&idp, token).await?;
        assert_eq!(status, 400, "{token}: {body}");
        assert!(
            content_type.starts_with("application/json"),
            "{content_type}"
        );
        assert_eq!(
            body,
            json!({"error": "invalid_token", "error_description": "Token expired or revoked"})
        );
    }

    // Client authentication is still checked first.
    let (status, _, body) = revoke(
        &idp,
        &[
            ("token", "garbage-token"),
            ("client_id", GOOGLE_CLIENT_ID),
            ("client_secret", "wrong"),
        ],
    )
    .await?;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client")),
        "{body}"
    );

    // Every request is counted, the 400s included; failure injection still wins.
    assert_eq!(idp.stats().await?.revocation, 5);
    idp.fail_next("revocation", "status503", 1).await?;
    let (status, _, _) = google_revoke(&idp, "garbage-token").await?;
    assert_eq!(status, 503);
    assert_eq!(idp.stats().await?.revocation, 5);
    idp.stop().await?;

    // Outside Google mode an unknown token is no error (RFC 7009 section 2.2).
    let idp = Idp::start().await?;
    let (status, _, body) = revoke(
        &idp,
        &[("token", "garbage-token"), ("client_id", NATIVE_CLIENT_ID)],
    )
    .await?;
    assert_eq!(status, 200, "{body}");
    idp.stop().await
}

#[tokio::test]
async fn google_bare_issuer_id_tokens() -> Result<()> {
    let idp = Idp::start_with(json!({"google": true, "googleBareIssuer": true})).await?;
    let bare = format!("127.0.0.1:{}", idp.port());
    assert_eq!(idp.issuer(), format!("http://{bare}"));
    // Discovery still names the full issuer, as Google's does.
    assert_eq!(idp.discovery().await?["issuer"], idp.issuer());
    let jwks: Value = http().get(idp.jwks_uri()).send().await?.json().await?;

    let req = google_auth_request(&idp, &[]);
    let redirect = Browser::new()
        .authorize(&req.url, "gina", Consent::Approve)
        .await?;
    let tokens = google_exchange(&idp, &req, &redirect).await?;
    let id_token = tokens["id_token"].as_str().context("id_token")?;
    let claims = check_id_token(id_token, &jwks)?;
    assert_eq!(claims["iss"], bare.as_str(), "{claims}");
    assert_eq!(claims["aud"], GOOGLE_CLIENT_ID);
    assert_eq!(claims["sub"], "gina");
    assert_eq!(claims["nonce"], req.nonce);
    assert_eq!(claims["email"], "gina@example.test");
    // The verification is real: the same signature over the full issuer fails.
    let mut full = claims.clone();
    full["iss"] = json!(idp.issuer());
    let parts: Vec<&str> = id_token.split('.').collect();
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&full)?),
        parts[2]
    );
    assert!(check_id_token(&forged, &jwks).is_err());

    // The refresh response's ID token too.
    let refresh = tokens["refresh_token"].as_str().context("refresh_token")?;
    let (status, refreshed) = google_refresh(&idp, refresh).await?;
    assert_eq!(status, 200, "{refreshed}");
    let id_token = refreshed["id_token"]
        .as_str()
        .context("refreshed id_token")?;
    let claims = check_id_token(id_token, &jwks)?;
    assert_eq!(claims["iss"], bare.as_str(), "{claims}");
    assert_eq!(claims["aud"], GOOGLE_CLIENT_ID);
    assert_eq!(claims["sub"], "gina");
    idp.stop().await?;

    // Without the knob Google mode keeps the full issuer.
    let idp = Idp::start_with(json!({"google": true})).await?;
    let jwks: Value = http().get(idp.jwks_uri()).send().await?.json().await?;
    let req = google_auth_request(&idp, &[]);
    let redirect = Browser::new()
        .authorize(&req.url, "gina", Consent::Approve)
        .await?;
    let tokens = google_exchange(&idp, &req, &redirect).await?;
    let claims = check_id_token(tokens["id_token"].as_str().context("id_token")?, &jwks)?;
    assert_eq!(claims["iss"], idp.issuer());
    idp.stop().await
}

/// Checks the header (RS256, the provider's kid) and the RS256 signature of `jwt` against the
/// key in `jwks`, and returns the payload.
fn check_id_token(jwt: &str, jwks: &Value) -> Result<Value> {
    let parts: Vec<&str> = jwt.split('.').collect();
    ensure!(parts.len() == 3, "not a JWS: {jwt}");
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0])?)?;
    ensure!(header["alg"] == "RS256", "{header}");
    let kid = header["kid"].as_str().context("no kid")?;
    ensure!(kid == "keyfob-test-rs256", "{header}");
    // The provider's own key, checked by the same JOSE code Keyfob uses.
    let keys: openidconnect::core::CoreJsonWebKeySet = serde_json::from_value(jwks.clone())?;
    let key = keys
        .keys()
        .iter()
        .find(|k| k.key_id().map(|id| id.as_str()) == Some(kid))
        .with_context(|| format!("no key {kid} in {jwks}"))?;
    let signature = URL_SAFE_NO_PAD.decode(parts[2])?;
    let signed = format!("{}.{}", parts[0], parts[1]);
    ensure!(
        key.verify_signature(
            &openidconnect::core::CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
            signed.as_bytes(),
            &signature
        )
        .is_ok(),
        "bad RS256 signature on {jwt}"
    );
    Ok(serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1])?)?)
}

#[tokio::test]
async fn google_mode_refuses_the_offline_access_scope() -> Result<()> {
    let idp = Idp::start_with(json!({"google": true})).await?;
    let req = google_auth_request(&idp, &[]);
    let with_scope = |scope: &str| -> Result<String> {
        let mut u = Url::parse(&req.url)?;
        let pairs: Vec<(String, String)> = u
            .query_pairs()
            .into_owned()
            .filter(|(k, _)| k != "scope")
            .chain([("scope".to_string(), scope.to_string())])
            .collect();
        u.query_pairs_mut().clear().extend_pairs(pairs);
        Ok(u.to_string())
    };
    let response = http()
        .get(with_scope("openid email offline_access")?)
        .send()
        .await?;
    assert_eq!(response.status(), 400, "an error page, not a redirect");
    let page = response.text().await?;
    assert!(page.contains("Error 400: invalid_scope"), "{page}");
    assert!(page.contains("invalid=[offline_access]"), "{page}");
    // Without it, the same request goes on to the sign-in page (oidc-provider's interaction
    // redirect within the provider, not an error sent back to the client).
    let ok = http().get(with_scope("openid email")?).send().await?;
    let location = ok
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(
        ok.status().is_redirection() && !location.starts_with(GOOGLE_REDIRECT_URI),
        "{} {location}",
        ok.status()
    );
    Ok(())
}

/// POSTs a device authorization request of `client`; status and JSON body.
async fn google_device_request(
    idp: &Idp,
    client: (&str, &str),
    scope: &str,
) -> Result<(u16, Value)> {
    let discovery = idp.discovery().await?;
    let endpoint = discovery["device_authorization_endpoint"]
        .as_str()
        .context("Google's discovery names the device endpoint")?
        .to_string();
    let response = http()
        .post(endpoint)
        .form(&[
            ("client_id", client.0),
            ("client_secret", client.1),
            ("scope", scope),
        ])
        .send()
        .await?;
    Ok((response.status().as_u16(), response.json().await?))
}

async fn google_device_poll(idp: &Idp, device_code: &str) -> Result<(u16, Value)> {
    token_request(
        idp,
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("device_code", device_code),
            ("client_id", GOOGLE_DEVICE_CLIENT_ID),
            ("client_secret", GOOGLE_DEVICE_CLIENT_SECRET),
        ],
        None,
    )
    .await
}

#[tokio::test]
async fn google_mode_device_flow_is_googles() -> Result<()> {
    let idp = Idp::start_with(json!({"google": true})).await?;
    let device = (GOOGLE_DEVICE_CLIENT_ID, GOOGLE_DEVICE_CLIENT_SECRET);

    // The desktop client is another client type.
    let (status, body) =
        google_device_request(&idp, (GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET), "openid").await?;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "invalid_client");
    ensure!(
        body["error_description"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Only clients of type 'TVs and Limited Input devices'"),
        "{body}"
    );

    // A scope off the list fails the request, naming the first one.
    let (status, body) = google_device_request(
        &idp,
        device,
        "openid https://www.googleapis.com/auth/gmail.readonly https://www.googleapis.com/auth/drive",
    )
    .await?;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_scope");
    assert_eq!(
        body["error_description"],
        "Invalid device flow scope: https://www.googleapis.com/auth/gmail.readonly"
    );

    // Google's field names: verification_url, no complete address, an interval.
    let (status, body) = google_device_request(
        &idp,
        device,
        "openid email profile https://www.googleapis.com/auth/drive.file",
    )
    .await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["verification_url"], idp.url("/device"));
    ensure!(body.get("verification_uri").is_none(), "{body}");
    ensure!(body.get("verification_uri_complete").is_none(), "{body}");
    assert_eq!(body["interval"], 5);
    assert_eq!(body["expires_in"], 1800);
    let page = body["verification_url"].as_str().unwrap().to_string();
    let device_code = body["device_code"].as_str().unwrap().to_string();
    let user_code = body["user_code"].as_str().unwrap().to_string();

    // Pending is 428; polling again at once is 403 slow_down.
    let (status, body) = google_device_poll(&idp, &device_code).await?;
    assert_eq!(
        (status, &body["error"]),
        (428, &json!("authorization_pending")),
        "{body}"
    );
    assert_eq!(body["error_description"], "Precondition Required");
    let (status, body) = google_device_poll(&idp, &device_code).await?;
    assert_eq!(
        (status, &body["error"]),
        (403, &json!("slow_down")),
        "{body}"
    );
    assert_eq!(body["error_description"], "Forbidden");

    // Approved: tokens, a refresh token among them, which refreshes as the device client.
    Browser::new()
        .enter_device_code(&page, &user_code, "dan", Consent::Approve)
        .await?;
    let (status, tokens) = google_device_poll(&idp, &device_code).await?;
    assert_eq!(status, 200, "{tokens}");
    let refresh = tokens["refresh_token"]
        .as_str()
        .context("always returned for devices")?;
    let (status, refreshed) = token_request(
        &idp,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", GOOGLE_DEVICE_CLIENT_ID),
            ("client_secret", GOOGLE_DEVICE_CLIENT_SECRET),
        ],
        None,
    )
    .await?;
    assert_eq!(status, 200, "{refreshed}");
    ensure!(refreshed.get("refresh_token").is_none(), "{refreshed}");
    let (status, body) = google_refresh(&idp, refresh).await?;
    assert_ne!(status, 200, "not as the desktop client: {body}");

    // Denied: 403 access_denied.
    let (_, body) = google_device_request(&idp, device, "openid").await?;
    let device_code = body["device_code"].as_str().unwrap().to_string();
    Browser::new()
        .enter_device_code(
            &page,
            body["user_code"].as_str().unwrap(),
            "dan",
            Consent::Deny,
        )
        .await?;
    let (status, body) = google_device_poll(&idp, &device_code).await?;
    assert_eq!(
        (status, &body["error"]),
        (403, &json!("access_denied")),
        "{body}"
    );
    Ok(())
}
