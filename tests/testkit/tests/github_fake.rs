//! Proves that `tests/github/server.mjs` reproduces the GitHub behaviours
//! listed in `tests/github/QUIRKS.md`, driving it through the scripted
//! `Browser` and plain HTTP.

mod common;

use std::collections::HashMap;

use anyhow::{ensure, Context, Result};
use common::{pkce, random_token, Pkce};
use keyfob_testkit::*;
use serde_json::{json, Value};
use url::Url;

/// A registered app, as the token endpoint authenticates it.
#[derive(Clone, Copy)]
struct App<'a> {
    id: &'a str,
    secret: &'a str,
}

/// The default OAuth App and GitHub App of the fake.
const OAUTH_APP: App<'static> = App {
    id: GITHUB_OAUTH_APP_CLIENT_ID,
    secret: GITHUB_OAUTH_APP_CLIENT_SECRET,
};
const GITHUB_APP: App<'static> = App {
    id: GITHUB_APP_CLIENT_ID,
    secret: GITHUB_APP_CLIENT_SECRET,
};

/// An authorization request: its URL, its state and PKCE pair.
struct AuthRequest {
    url: String,
    state: String,
    pkce: Pkce,
}

fn auth_request(
    fake: &GitHubFake,
    client_id: &str,
    redirect_uri: Option<&str>,
    scope: Option<&str>,
) -> AuthRequest {
    let state = random_token();
    let pkce = pkce();
    let mut url = Url::parse(&fake.authorization_endpoint()).unwrap();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("client_id", client_id);
        if let Some(redirect_uri) = redirect_uri {
            q.append_pair("redirect_uri", redirect_uri);
        }
        if let Some(scope) = scope {
            q.append_pair("scope", scope);
        }
        q.append_pair("state", &state);
        q.append_pair("code_challenge", &pkce.challenge);
        q.append_pair("code_challenge_method", "S256");
    }
    AuthRequest {
        url: url.to_string(),
        state,
        pkce,
    }
}

/// The query parameters of a redirect URL (private-use schemes included).
fn query(redirect: &str) -> HashMap<String, String> {
    let url = Url::parse(redirect).expect("redirect URL parses");
    url.query_pairs().into_owned().collect()
}

/// Authorizes as `login` (approving) and returns the code, checking `state`.
async fn code_for(
    fake: &GitHubFake,
    browser: &Browser,
    app: App<'_>,
    redirect_uri: &str,
    scope: Option<&str>,
    login: &str,
) -> Result<(String, AuthRequest)> {
    let request = auth_request(fake, app.id, Some(redirect_uri), scope);
    let redirect = browser
        .authorize(&request.url, login, Consent::Approve)
        .await?;
    ensure!(
        redirect.starts_with(&format!("{redirect_uri}?")),
        "redirected to {redirect}, expected {redirect_uri}"
    );
    let params = query(&redirect);
    ensure!(
        params.get("state") == Some(&request.state),
        "state: {params:?}"
    );
    // RFC 9207, on every github.com callback since 2026-04-09.
    ensure!(
        params.get("iss") == Some(&fake.response_issuer()),
        "GitHub sends iss=<base>/login/oauth: {params:?}"
    );
    let code = params
        .get("code")
        .cloned()
        .with_context(|| format!("no code in {redirect}"))?;
    Ok((code, request))
}

/// Signs `login` in through `app` and exchanges the code: the token response's fields.
async fn sign_in(
    fake: &GitHubFake,
    browser: &Browser,
    app: App<'_>,
    redirect_uri: &str,
    scope: Option<&str>,
    login: &str,
) -> Result<HashMap<String, String>> {
    let (code, request) = code_for(fake, browser, app, redirect_uri, scope, login).await?;
    exchange(fake, app, &code, redirect_uri, &request.pkce.verifier).await
}

struct TokenAnswer {
    status: u16,
    content_type: String,
    body: String,
}

impl TokenAnswer {
    /// The body as a map, whatever its format.
    fn fields(&self) -> HashMap<String, String> {
        if self.content_type.starts_with("application/json") {
            let value: Value = serde_json::from_str(&self.body).expect("JSON body");
            value
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.clone(), v)
                })
                .collect()
        } else {
            url::form_urlencoded::parse(self.body.as_bytes())
                .into_owned()
                .collect()
        }
    }
}

async fn token_request(
    fake: &GitHubFake,
    params: &[(&str, &str)],
    accept: Option<&str>,
) -> Result<TokenAnswer> {
    let mut request = http().post(fake.token_endpoint()).form(params);
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = response.text().await?;
    Ok(TokenAnswer {
        status,
        content_type,
        body,
    })
}

async fn exchange(
    fake: &GitHubFake,
    app: App<'_>,
    code: &str,
    redirect_uri: &str,
    verifier: &str,
) -> Result<HashMap<String, String>> {
    let answer = token_request(
        fake,
        &[
            ("client_id", app.id),
            ("client_secret", app.secret),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
        ],
        Some("application/json"),
    )
    .await?;
    ensure!(answer.status == 200, "status {}", answer.status);
    Ok(answer.fields())
}

async fn refresh(
    fake: &GitHubFake,
    app: App<'_>,
    refresh_token: &str,
) -> Result<HashMap<String, String>> {
    let answer = token_request(
        fake,
        &[
            ("client_id", app.id),
            ("client_secret", app.secret),
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
        Some("application/json"),
    )
    .await?;
    ensure!(answer.status == 200, "status {}", answer.status);
    Ok(answer.fields())
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// `GET /user` as Keyfob will send it.
async fn get_user(fake: &GitHubFake, token: &str) -> Result<reqwest::Response> {
    Ok(http()
        .get(fake.user_endpoint())
        .header("user-agent", "keyfob-test")
        .header("accept", "application/vnd.github+json")
        .header("x-github-api-version", "2022-11-28")
        .bearer_auth(token)
        .send()
        .await?)
}

fn loopback(port: u16) -> String {
    format!("http://127.0.0.1:{port}/oauth/github")
}

#[tokio::test]
async fn oauth_app_token_is_form_encoded_by_default_with_comma_scopes_and_no_expiry() -> Result<()>
{
    let fake = GitHubFake::start().await?;
    let browser = Browser::new();
    let redirect_uri = loopback(45678);
    let (code, request) = code_for(
        &fake,
        &browser,
        OAUTH_APP,
        &redirect_uri,
        Some("repo gist"),
        GITHUB_USER_OCTOCAT,
    )
    .await?;

    let answer = token_request(
        &fake,
        &[
            ("client_id", GITHUB_OAUTH_APP_CLIENT_ID),
            ("client_secret", GITHUB_OAUTH_APP_CLIENT_SECRET),
            ("code", &code),
            ("redirect_uri", &redirect_uri),
            ("code_verifier", &request.pkce.verifier),
        ],
        None,
    )
    .await?;
    assert_eq!(answer.status, 200);
    assert!(
        answer
            .content_type
            .starts_with("application/x-www-form-urlencoded"),
        "{}",
        answer.content_type
    );
    assert!(answer.body.contains("scope=repo%2Cgist"), "{}", answer.body);
    let fields = answer.fields();
    let token = &fields["access_token"];
    assert!(token.starts_with("gho_"), "{token}");
    assert_eq!(fields["scope"], "repo,gist");
    assert_eq!(fields["token_type"], "bearer");
    for absent in ["expires_in", "refresh_token", "refresh_token_expires_in"] {
        assert!(!fields.contains_key(absent), "{absent} in {fields:?}");
    }

    let response = get_user(&fake, token).await?;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-oauth-scopes"], "repo, gist");
    assert!(response
        .headers()
        .get("github-authentication-token-expiration")
        .is_none());
    let user: Value = response.json().await?;
    assert_eq!(user["login"], GITHUB_USER_OCTOCAT);
    assert_eq!(user["id"], GITHUB_USER_OCTOCAT_ID);
    assert_eq!(user["name"], GITHUB_USER_OCTOCAT_NAME);
    assert_eq!(user["email"], GITHUB_USER_OCTOCAT_EMAIL);
    assert_eq!(user["node_id"], "MDQ6VXNlcjU4MzIzMQ==");
    assert_eq!(user["type"], "User");

    // `Authorization: token ...` works as well.
    let response = http()
        .get(fake.user_endpoint())
        .header("user-agent", "keyfob-test")
        .header("authorization", format!("token {token}"))
        .send()
        .await?;
    assert_eq!(response.status(), 200);

    let stats = fake.stats().await?;
    assert_eq!(stats.token.authorization_code, 1);
    assert_eq!(stats.user, 2);
    Ok(())
}

#[tokio::test]
async fn token_endpoint_answers_json_or_xml_when_asked() -> Result<()> {
    let fake = GitHubFake::start().await?;
    let browser = Browser::new();
    let redirect_uri = loopback(40001);
    for (accept, prefix) in [
        ("application/json", "application/json"),
        ("application/xml", "application/xml"),
    ] {
        let (code, request) = code_for(
            &fake,
            &browser,
            OAUTH_APP,
            &redirect_uri,
            Some("read:user"),
            GITHUB_USER_OCTOCAT,
        )
        .await?;
        let answer = token_request(
            &fake,
            &[
                ("client_id", GITHUB_OAUTH_APP_CLIENT_ID),
                ("client_secret", GITHUB_OAUTH_APP_CLIENT_SECRET),
                ("code", &code),
                ("code_verifier", &request.pkce.verifier),
            ],
            Some(accept),
        )
        .await?;
        assert_eq!(answer.status, 200);
        assert!(
            answer.content_type.starts_with(prefix),
            "{accept}: {}",
            answer.content_type
        );
        if prefix == "application/json" {
            let fields = answer.fields();
            assert!(fields["access_token"].starts_with("gho_"));
            assert_eq!(fields["scope"], "read:user");
            assert_eq!(fields["token_type"], "bearer");
        } else {
            assert!(answer.body.starts_with("<OAuth>"), "{}", answer.body);
            assert!(answer.body.contains("<token_type>bearer</token_type>"));
            assert!(answer.body.contains("<scope>read:user</scope>"));
        }
    }
    Ok(())
}

#[tokio::test]
async fn oauth_errors_come_back_with_status_200() -> Result<()> {
    let fake = GitHubFake::start().await?;
    let browser = Browser::new();
    let redirect_uri = loopback(40002);
    let (code, request) = code_for(
        &fake,
        &browser,
        OAUTH_APP,
        &redirect_uri,
        Some("repo"),
        GITHUB_USER_OCTOCAT,
    )
    .await?;
    let verifier = request.pkce.verifier.as_str();

    // Wrong secret, missing secret (PKCE does not replace it): incorrect_client_credentials.
    for secret in ["wrong", ""] {
        let fields = exchange(
            &fake,
            App {
                secret,
                ..OAUTH_APP
            },
            &code,
            &redirect_uri,
            verifier,
        )
        .await?;
        assert_eq!(
            fields["error"], "incorrect_client_credentials",
            "{fields:?}"
        );
        assert_eq!(
            fields["error_description"],
            "The client_id and/or client_secret passed are incorrect."
        );
        assert!(fields["error_uri"].contains("#incorrect-client-credentials"));
    }

    // A redirect_uri other than the authorization request's.
    let fields = exchange(&fake, OAUTH_APP, &code, &loopback(40003), verifier).await?;
    assert_eq!(fields["error"], "redirect_uri_mismatch", "{fields:?}");

    // The right request succeeds once...
    let fields = exchange(&fake, OAUTH_APP, &code, &redirect_uri, verifier).await?;
    assert!(fields["access_token"].starts_with("gho_"), "{fields:?}");

    // ...and a reused code is bad_verification_code, still with a 200, in
    // the default form encoding too.
    let answer = token_request(
        &fake,
        &[
            ("client_id", GITHUB_OAUTH_APP_CLIENT_ID),
            ("client_secret", GITHUB_OAUTH_APP_CLIENT_SECRET),
            ("code", &code),
            ("code_verifier", verifier),
        ],
        None,
    )
    .await?;
    assert_eq!(answer.status, 200);
    let fields = answer.fields();
    assert_eq!(fields["error"], "bad_verification_code");
    assert_eq!(
        fields["error_description"],
        "The code passed is incorrect or expired."
    );
    assert!(fields["error_uri"].ends_with("#bad-verification-code"));

    // An unknown code too.
    let fields = exchange(
        &fake,
        OAUTH_APP,
        "0123456789abcdef0123",
        &redirect_uri,
        verifier,
    )
    .await?;
    assert_eq!(fields["error"], "bad_verification_code");

    let stats = fake.stats().await?;
    assert_eq!(stats.token.authorization_code, 6);
    Ok(())
}

#[tokio::test]
async fn pkce_verifier_is_checked_and_only_s256_is_accepted() -> Result<()> {
    let fake = GitHubFake::start().await?;
    let browser = Browser::new();
    let redirect_uri = loopback(40004);
    let (code, request) = code_for(
        &fake,
        &browser,
        OAUTH_APP,
        &redirect_uri,
        None,
        GITHUB_USER_HUBOT,
    )
    .await?;
    for verifier in ["", "not-the-verifier-not-the-verifier-not-the-verifier"] {
        let fields = exchange(&fake, OAUTH_APP, &code, &redirect_uri, verifier).await?;
        assert_eq!(fields["error"], "bad_verification_code", "{fields:?}");
    }
    // A failed verifier does not burn the code.
    let fields = exchange(
        &fake,
        OAUTH_APP,
        &code,
        &redirect_uri,
        &request.pkce.verifier,
    )
    .await?;
    assert!(fields["access_token"].starts_with("gho_"), "{fields:?}");
    // No scope requested: an empty scope.
    assert_eq!(fields["scope"], "");

    // `plain` is refused at the authorization endpoint.
    let mut url = Url::parse(&fake.authorization_endpoint())?;
    url.query_pairs_mut()
        .append_pair("client_id", GITHUB_OAUTH_APP_CLIENT_ID)
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair("state", "s1")
        .append_pair("code_challenge", &request.pkce.verifier)
        .append_pair("code_challenge_method", "plain");
    let response = http().get(url.as_str()).send().await?;
    assert_eq!(response.status(), 302);
    let location = response.headers()["location"].to_str()?.to_owned();
    let params = query(&location);
    assert_eq!(params["error"], "invalid_request", "{location}");
    assert_eq!(params["state"], "s1");
    Ok(())
}

#[tokio::test]
async fn github_app_tokens_expire_and_refresh_tokens_rotate() -> Result<()> {
    let fake = GitHubFake::start().await?;
    let browser = Browser::new();
    let (code, request) = code_for(
        &fake,
        &browser,
        GITHUB_APP,
        GITHUB_CUSTOM_SCHEME_CALLBACK,
        Some("repo"),
        GITHUB_USER_OCTOCAT,
    )
    .await?;
    let first = exchange(
        &fake,
        GITHUB_APP,
        &code,
        GITHUB_CUSTOM_SCHEME_CALLBACK,
        &request.pkce.verifier,
    )
    .await?;
    assert!(first["access_token"].starts_with("ghu_"), "{first:?}");
    assert!(first["refresh_token"].starts_with("ghr_"), "{first:?}");
    assert_eq!(first["expires_in"], GITHUB_ACCESS_TOKEN_TTL.to_string());
    assert_eq!(
        first["refresh_token_expires_in"],
        GITHUB_REFRESH_TOKEN_TTL.to_string()
    );
    // GitHub Apps have permissions, not scopes: always an empty string.
    assert_eq!(first["scope"], "");
    assert_eq!(first["token_type"], "bearer");

    let response = get_user(&fake, &first["access_token"]).await?;
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("x-oauth-scopes").is_none());
    assert!(response
        .headers()
        .get("github-authentication-token-expiration")
        .is_some());

    // Refresh: a new pair; the old refresh and access tokens stop working.
    let second = refresh(&fake, GITHUB_APP, &first["refresh_token"]).await?;
    assert!(second["access_token"].starts_with("ghu_"));
    assert_ne!(second["access_token"], first["access_token"]);
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    assert_eq!(second["expires_in"], GITHUB_ACCESS_TOKEN_TTL.to_string());

    let reused = refresh(&fake, GITHUB_APP, &first["refresh_token"]).await?;
    assert_eq!(reused["error"], "bad_refresh_token", "{reused:?}");
    assert!(reused.contains_key("error_description"));
    let response = get_user(&fake, &first["access_token"]).await?;
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await?;
    assert_eq!(body["message"], "Bad credentials");
    assert!(body["documentation_url"].is_string());

    // The refresh needs the client secret as well.
    let no_secret = refresh(
        &fake,
        App {
            secret: "",
            ..GITHUB_APP
        },
        &second["refresh_token"],
    )
    .await?;
    assert_eq!(no_secret["error"], "incorrect_client_credentials");

    // An access token expired by the test hook: 401, and the refresh token works.
    fake.expire(&second["access_token"]).await?;
    assert_eq!(
        get_user(&fake, &second["access_token"]).await?.status(),
        401
    );
    let third = refresh(&fake, GITHUB_APP, &second["refresh_token"]).await?;
    assert_eq!(get_user(&fake, &third["access_token"]).await?.status(), 200);

    // An expired refresh token: bad_refresh_token.
    fake.expire_refresh(&third["refresh_token"]).await?;
    let expired = refresh(&fake, GITHUB_APP, &third["refresh_token"]).await?;
    assert_eq!(expired["error"], "bad_refresh_token");

    let stats = fake.stats().await?;
    assert_eq!(stats.token.authorization_code, 1);
    assert_eq!(stats.token.refresh_token, 5);
    Ok(())
}

#[tokio::test]
async fn offline_access_opts_an_oauth_app_into_expiring_tokens() -> Result<()> {
    let fake = GitHubFake::start().await?;
    let browser = Browser::new();
    let redirect_uri = loopback(40005);
    let (code, request) = code_for(
        &fake,
        &browser,
        OAUTH_APP,
        &redirect_uri,
        Some("repo offline_access"),
        GITHUB_USER_OCTOCAT,
    )
    .await?;
    let fields = exchange(
        &fake,
        OAUTH_APP,
        &code,
        &redirect_uri,
        &request.pkce.verifier,
    )
    .await?;
    assert!(fields["access_token"].starts_with("gho_"), "{fields:?}");
    assert!(fields["refresh_token"].starts_with("ghr_"), "{fields:?}");
    assert_eq!(fields["expires_in"], GITHUB_ACCESS_TOKEN_TTL.to_string());
    // offline_access is not tracked as a scope.
    assert_eq!(fields["scope"], "repo");
    let refreshed = refresh(&fake, OAUTH_APP, &fields["refresh_token"]).await?;
    assert!(refreshed["access_token"].starts_with("gho_"));
    assert_eq!(refreshed["scope"], "repo");
    Ok(())
}

#[tokio::test]
async fn user_agent_is_required_by_the_rest_api() -> Result<()> {
    let fake = GitHubFake::start().await?;
    // reqwest sends no User-Agent unless told to.
    let response = http()
        .get(fake.user_endpoint())
        .bearer_auth("gho_whatever")
        .send()
        .await?;
    assert_eq!(response.status(), 403);
    let text = response.text().await?;
    assert!(text.contains("User-Agent"), "{text}");

    // With a User-Agent but no token: 401 Requires authentication.
    let response = http()
        .get(fake.user_endpoint())
        .header("user-agent", "keyfob-test")
        .send()
        .await?;
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await?;
    assert_eq!(body["message"], "Requires authentication");

    // A version that is no longer supported: 410 Gone (the current API-versions page).
    let response = http()
        .get(fake.user_endpoint())
        .header("user-agent", "keyfob-test")
        .header("x-github-api-version", "1999-01-01")
        .bearer_auth("gho_whatever")
        .send()
        .await?;
    assert_eq!(response.status(), 410);

    let stats = fake.stats().await?;
    assert_eq!(stats.user_without_agent, 1);
    assert_eq!(stats.user, 1);
    Ok(())
}

#[tokio::test]
async fn deny_redirects_with_access_denied() -> Result<()> {
    let fake = GitHubFake::start().await?;
    let request = auth_request(
        &fake,
        GITHUB_OAUTH_APP_CLIENT_ID,
        Some(&loopback(40006)),
        Some("repo"),
    );
    let redirect = Browser::new()
        .authorize(&request.url, GITHUB_USER_OCTOCAT, Consent::Deny)
        .await?;
    assert!(
        redirect.starts_with(&format!("{}?", loopback(40006))),
        "{redirect}"
    );
    let params = query(&redirect);
    assert_eq!(params["error"], "access_denied");
    assert_eq!(
        params["error_description"],
        "The user has denied your application access."
    );
    assert!(params["error_uri"].ends_with("#access-denied"));
    assert_eq!(params["state"], request.state);
    assert_eq!(
        params["iss"],
        fake.response_issuer(),
        "errors carry iss too"
    );
    assert!(!params.contains_key("code"));
    Ok(())
}

#[tokio::test]
async fn an_older_enterprise_server_sends_no_iss() -> Result<()> {
    let fake = GitHubFake::start_with(json!({"iss": false})).await?;
    let request = auth_request(
        &fake,
        GITHUB_OAUTH_APP_CLIENT_ID,
        Some(&loopback(40007)),
        Some("repo"),
    );
    let redirect = Browser::new()
        .authorize(&request.url, GITHUB_USER_OCTOCAT, Consent::Approve)
        .await?;
    let params = query(&redirect);
    assert!(params.contains_key("code"), "{params:?}");
    assert!(!params.contains_key("iss"), "{params:?}");
    Ok(())
}

#[tokio::test]
async fn an_eleventh_token_silently_revokes_the_oldest() -> Result<()> {
    let fake = GitHubFake::start().await?;
    let browser = Browser::new();
    let mut tokens = Vec::new();
    for n in 0..11 {
        let redirect_uri = loopback(40100 + n);
        let fields = sign_in(
            &fake,
            &browser,
            OAUTH_APP,
            &redirect_uri,
            Some("repo"),
            GITHUB_USER_OCTOCAT,
        )
        .await?;
        tokens.push(fields["access_token"].clone());
    }
    let first = get_user(&fake, &tokens[0]).await?;
    assert_eq!(first.status(), 401);
    assert_eq!(first.json::<Value>().await?["message"], "Bad credentials");
    for token in &tokens[1..] {
        assert_eq!(get_user(&fake, token).await?.status(), 200);
    }
    assert_eq!(fake.stats().await?.revoked_by_limit, 1);

    // Another scope set has ten places of its own.
    sign_in(
        &fake,
        &browser,
        OAUTH_APP,
        &loopback(40120),
        Some("repo gist"),
        GITHUB_USER_OCTOCAT,
    )
    .await?;
    assert_eq!(get_user(&fake, &tokens[1]).await?.status(), 200);
    assert_eq!(fake.stats().await?.revoked_by_limit, 1);
    Ok(())
}

#[tokio::test]
async fn consent_is_skipped_once_granted_and_shown_again_after_reset() -> Result<()> {
    let fake = GitHubFake::start().await?;
    let browser = Browser::new();
    let redirect_uri = loopback(40007);
    code_for(
        &fake,
        &browser,
        OAUTH_APP,
        &redirect_uri,
        Some("repo"),
        GITHUB_USER_OCTOCAT,
    )
    .await?;
    // Same user, same scopes, a new browser: no authorization page, so a
    // Deny cannot happen.
    let request = auth_request(
        &fake,
        GITHUB_OAUTH_APP_CLIENT_ID,
        Some(&redirect_uri),
        Some("repo"),
    );
    let err = Browser::new()
        .authorize(&request.url, GITHUB_USER_OCTOCAT, Consent::Deny)
        .await
        .unwrap_err();
    assert!(
        format!("{err:#}").contains("without showing a consent page"),
        "{err:#}"
    );
    // A new scope asks again.
    let request = auth_request(
        &fake,
        GITHUB_OAUTH_APP_CLIENT_ID,
        Some(&redirect_uri),
        Some("repo gist"),
    );
    let redirect = Browser::new()
        .authorize(&request.url, GITHUB_USER_OCTOCAT, Consent::Deny)
        .await?;
    assert_eq!(query(&redirect)["error"], "access_denied");
    // After a reset, the grant is forgotten.
    fake.reset().await?;
    let request = auth_request(
        &fake,
        GITHUB_OAUTH_APP_CLIENT_ID,
        Some(&redirect_uri),
        Some("repo"),
    );
    let redirect = Browser::new()
        .authorize(&request.url, GITHUB_USER_OCTOCAT, Consent::Deny)
        .await?;
    assert_eq!(query(&redirect)["error"], "access_denied");
    Ok(())
}

#[tokio::test]
async fn redirect_uri_rules_loopback_port_subdirectory_and_github_app_exact_match() -> Result<()> {
    let fake = GitHubFake::start().await?;

    // OAuth App: any loopback port, and subdirectories of the callback path.
    for redirect_uri in [
        loopback(1234),
        loopback(54321),
        "http://127.0.0.1/oauth/github".to_owned(),
        "http://127.0.0.1:1234/oauth/github/sub/dir".to_owned(),
        GITHUB_CUSTOM_SCHEME_CALLBACK.to_owned(),
    ] {
        let (code, _) = code_for(
            &fake,
            &Browser::new(),
            OAUTH_APP,
            &redirect_uri,
            None,
            GITHUB_USER_OCTOCAT,
        )
        .await
        .with_context(|| redirect_uri.clone())?;
        assert_eq!(code.len(), 20);
    }

    // Mismatches redirect to the first registered callback with redirect_uri_mismatch.
    for (client_id, bad) in [
        (GITHUB_OAUTH_APP_CLIENT_ID, "http://127.0.0.1:1234/other"),
        (
            GITHUB_OAUTH_APP_CLIENT_ID,
            "http://127.0.0.1:1234/oauth/githubx",
        ),
        (
            GITHUB_OAUTH_APP_CLIENT_ID,
            "http://localhost:1234/oauth/github",
        ),
        (GITHUB_OAUTH_APP_CLIENT_ID, "dev.keyfob.app:/oauth/other"),
        (
            GITHUB_OAUTH_APP_CLIENT_ID,
            "https://evil.example/oauth/github",
        ),
        // The GitHub App's callbacks need an exact match: no loopback port.
        (GITHUB_APP_CLIENT_ID, "http://127.0.0.1:1234/oauth/github"),
        (GITHUB_APP_CLIENT_ID, "http://127.0.0.1/oauth/github/sub"),
    ] {
        let request = auth_request(&fake, client_id, Some(bad), None);
        let redirect = Browser::new()
            .authorize(&request.url, GITHUB_USER_OCTOCAT, Consent::Approve)
            .await?;
        assert!(
            redirect.starts_with("http://127.0.0.1/oauth/github?"),
            "{client_id} {bad}: {redirect}"
        );
        let params = query(&redirect);
        assert_eq!(params["error"], "redirect_uri_mismatch", "{bad}");
        assert_eq!(
            params["error_description"],
            "The redirect_uri MUST match the registered callback URL for this application."
        );
        assert_eq!(params["state"], request.state);
    }

    // The GitHub App's exact callbacks work.
    for redirect_uri in [GITHUB_LOOPBACK_CALLBACK, GITHUB_CUSTOM_SCHEME_CALLBACK] {
        code_for(
            &fake,
            &Browser::new(),
            GITHUB_APP,
            redirect_uri,
            None,
            GITHUB_USER_HUBOT,
        )
        .await?;
    }

    // Without redirect_uri: the first registered callback URL.
    let request = auth_request(&fake, GITHUB_APP_CLIENT_ID, None, None);
    let redirect = Browser::new()
        .authorize(&request.url, GITHUB_USER_OCTOCAT, Consent::Approve)
        .await?;
    assert!(
        redirect.starts_with(&format!("{GITHUB_LOOPBACK_CALLBACK}?code=")),
        "{redirect}"
    );
    Ok(())
}

#[tokio::test]
async fn unknown_client_and_unknown_login_show_error_pages() -> Result<()> {
    let fake = GitHubFake::start().await?;
    let request = auth_request(&fake, "Iv-nope", Some(&loopback(40008)), None);
    let err = Browser::new()
        .authorize(&request.url, GITHUB_USER_OCTOCAT, Consent::Approve)
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("404"), "{err:#}");

    let request = auth_request(
        &fake,
        GITHUB_OAUTH_APP_CLIENT_ID,
        Some(&loopback(40008)),
        None,
    );
    let err = Browser::new()
        .authorize(&request.url, "nobody", Consent::Approve)
        .await
        .unwrap_err();
    assert!(
        format!("{err:#}").contains("Incorrect username or password."),
        "{err:#}"
    );
    Ok(())
}

#[tokio::test]
async fn unverified_email_fails_the_code_exchange() -> Result<()> {
    let fake = GitHubFake::start_with(json!({
        "users": [{"login": "newbie", "id": 1, "email_verified": false}]
    }))
    .await?;
    let redirect_uri = loopback(40009);
    let (code, request) = code_for(
        &fake,
        &Browser::new(),
        OAUTH_APP,
        &redirect_uri,
        None,
        "newbie",
    )
    .await?;
    let fields = exchange(
        &fake,
        OAUTH_APP,
        &code,
        &redirect_uri,
        &request.pkce.verifier,
    )
    .await?;
    assert_eq!(fields["error"], "unverified_user_email", "{fields:?}");
    Ok(())
}

#[tokio::test]
async fn apps_delete_tokens_with_basic_auth() -> Result<()> {
    let fake = GitHubFake::start().await?;
    let redirect_uri = loopback(40010);
    let (code, request) = code_for(
        &fake,
        &Browser::new(),
        OAUTH_APP,
        &redirect_uri,
        Some("repo"),
        GITHUB_USER_OCTOCAT,
    )
    .await?;
    let fields = exchange(
        &fake,
        OAUTH_APP,
        &code,
        &redirect_uri,
        &request.pkce.verifier,
    )
    .await?;
    let token = &fields["access_token"];

    let delete = |secret: &'static str| {
        http()
            .delete(fake.delete_token_endpoint(GITHUB_OAUTH_APP_CLIENT_ID))
            .header("user-agent", "keyfob-test")
            .header("accept", "application/vnd.github+json")
            .basic_auth(GITHUB_OAUTH_APP_CLIENT_ID, Some(secret))
            .json(&json!({ "access_token": token }))
            .send()
    };
    // Without the client secret, nothing happens.
    assert_eq!(delete("wrong").await?.status(), 404);
    assert_eq!(get_user(&fake, token).await?.status(), 200);

    assert_eq!(delete(GITHUB_OAUTH_APP_CLIENT_SECRET).await?.status(), 204);
    assert_eq!(get_user(&fake, token).await?.status(), 401);
    // Deleting it again: 404.
    assert_eq!(delete(GITHUB_OAUTH_APP_CLIENT_SECRET).await?.status(), 404);

    // The grant endpoint deletes every token of the app for that user.
    let (code, request) = code_for(
        &fake,
        &Browser::new(),
        GITHUB_APP,
        GITHUB_CUSTOM_SCHEME_CALLBACK,
        None,
        GITHUB_USER_OCTOCAT,
    )
    .await?;
    let fields = exchange(
        &fake,
        GITHUB_APP,
        &code,
        GITHUB_CUSTOM_SCHEME_CALLBACK,
        &request.pkce.verifier,
    )
    .await?;
    let response = http()
        .delete(fake.delete_grant_endpoint(GITHUB_APP_CLIENT_ID))
        .header("user-agent", "keyfob-test")
        .basic_auth(GITHUB_APP_CLIENT_ID, Some(GITHUB_APP_CLIENT_SECRET))
        .json(&json!({ "access_token": fields["access_token"] }))
        .send()
        .await?;
    assert_eq!(response.status(), 204);
    assert_eq!(
        get_user(&fake, &fields["access_token"]).await?.status(),
        401
    );
    let refreshed = refresh(&fake, GITHUB_APP, &fields["refresh_token"]).await?;
    assert_eq!(refreshed["error"], "bad_refresh_token");

    // An expired token no longer names a grant: 404, and the grant stays.
    let fields = sign_in(
        &fake,
        &Browser::new(),
        GITHUB_APP,
        GITHUB_CUSTOM_SCHEME_CALLBACK,
        None,
        GITHUB_USER_OCTOCAT,
    )
    .await?;
    fake.expire(&fields["access_token"]).await?;
    let response = http()
        .delete(fake.delete_grant_endpoint(GITHUB_APP_CLIENT_ID))
        .header("user-agent", "keyfob-test")
        .basic_auth(GITHUB_APP_CLIENT_ID, Some(GITHUB_APP_CLIENT_SECRET))
        .json(&json!({ "access_token": fields["access_token"] }))
        .send()
        .await?;
    assert_eq!(response.status(), 404);
    let refreshed = refresh(&fake, GITHUB_APP, &fields["refresh_token"]).await?;
    assert!(refreshed.contains_key("access_token"), "{refreshed:?}");

    let stats = fake.stats().await?;
    assert_eq!(stats.delete_token, 3);
    assert_eq!(stats.delete_grant, 2);
    Ok(())
}

#[tokio::test]
async fn ttl_config_and_hubot_profile() -> Result<()> {
    let fake = GitHubFake::start_with(json!({ "ttl": { "access": 2 } })).await?;
    let (code, request) = code_for(
        &fake,
        &Browser::new(),
        GITHUB_APP,
        GITHUB_LOOPBACK_CALLBACK,
        None,
        GITHUB_USER_HUBOT,
    )
    .await?;
    let fields = exchange(
        &fake,
        GITHUB_APP,
        &code,
        GITHUB_LOOPBACK_CALLBACK,
        &request.pkce.verifier,
    )
    .await?;
    assert_eq!(fields["expires_in"], "2");
    let user: Value = get_user(&fake, &fields["access_token"])
        .await?
        .json()
        .await?;
    assert_eq!(user["login"], GITHUB_USER_HUBOT);
    assert_eq!(user["id"], GITHUB_USER_HUBOT_ID);
    assert!(user["name"].is_null());
    assert!(user["email"].is_null());
    Ok(())
}

/// Whose token did an authorization with `browser` produce?
async fn login_of(
    fake: &GitHubFake,
    browser: &Browser,
    app: App<'_>,
    redirect_uri: &str,
    extra: &[(&str, &str)],
    login: &str,
) -> Result<String> {
    let request = auth_request(fake, app.id, Some(redirect_uri), None);
    let mut url = Url::parse(&request.url)?;
    for (k, v) in extra {
        url.query_pairs_mut().append_pair(k, v);
    }
    let redirect = browser
        .authorize(url.as_str(), login, Consent::Approve)
        .await?;
    let code = query(&redirect)["code"].clone();
    let fields = exchange(fake, app, &code, redirect_uri, &request.pkce.verifier).await?;
    let user: Value = get_user(fake, &fields["access_token"])
        .await?
        .json()
        .await?;
    Ok(user["login"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn account_picker_for_custom_schemes_and_select_account() -> Result<()> {
    let fake = GitHubFake::start().await?;
    let browser = Browser::new();
    let http_uri = loopback(40011);

    // Signs in as octocat.
    let who = login_of(
        &fake,
        &browser,
        OAUTH_APP,
        &http_uri,
        &[],
        GITHUB_USER_OCTOCAT,
    )
    .await?;
    assert_eq!(who, GITHUB_USER_OCTOCAT);
    // Signed in, HTTP redirect: no picker, so the session's user is used.
    let who = login_of(
        &fake,
        &browser,
        OAUTH_APP,
        &http_uri,
        &[],
        GITHUB_USER_HUBOT,
    )
    .await?;
    assert_eq!(who, GITHUB_USER_OCTOCAT);
    // prompt=select_account shows the picker.
    let extra = [("prompt", "select_account")];
    let who = login_of(
        &fake,
        &browser,
        OAUTH_APP,
        &http_uri,
        &extra,
        GITHUB_USER_HUBOT,
    )
    .await?;
    assert_eq!(who, GITHUB_USER_HUBOT);
    // A non-HTTP redirect URI always shows the picker.
    let custom = GITHUB_CUSTOM_SCHEME_CALLBACK;
    let who = login_of(&fake, &browser, OAUTH_APP, custom, &[], GITHUB_USER_OCTOCAT).await?;
    assert_eq!(who, GITHUB_USER_OCTOCAT);
    let who = login_of(&fake, &browser, OAUTH_APP, custom, &[], GITHUB_USER_HUBOT).await?;
    assert_eq!(who, GITHUB_USER_HUBOT);
    Ok(())
}

/// POSTs a form to the fake with an optional `Accept`; status, content type and body.
async fn device_post(
    url: &str,
    form: &[(&str, &str)],
    accept: Option<&str>,
) -> Result<(u16, String, String)> {
    let mut request = http().post(url).form(form);
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    Ok((status, kind, response.text().await?))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_device_flow_is_opt_in_paced_and_answers_like_github() -> Result<()> {
    // Off by default: device_flow_disabled, with status 200 like every OAuth answer.
    let off = GitHubFake::start().await?;
    let (status, _, body) = device_post(
        &off.url("/login/device/code"),
        &[("client_id", OAUTH_APP.id)],
        Some("application/json"),
    )
    .await?;
    let body: Value = serde_json::from_str(&body)?;
    ensure!(
        status == 200 && body["error"] == "device_flow_disabled",
        "{body}"
    );

    let fake = GitHubFake::start_with(json!({
        "device_interval": 1,
        "apps": [{
            "client_id": OAUTH_APP.id, "client_secret": OAUTH_APP.secret, "kind": "oauth_app",
            "device_flow": true, "callback_urls": [GITHUB_LOOPBACK_CALLBACK],
        }],
    }))
    .await?;
    // Form-encoded unless JSON is asked for; 40-character device code, XXXX-XXXX user code.
    let (_, kind, form) = device_post(
        &fake.url("/login/device/code"),
        &[("client_id", OAUTH_APP.id), ("scope", "repo")],
        None,
    )
    .await?;
    ensure!(
        kind.starts_with("application/x-www-form-urlencoded"),
        "{kind}"
    );
    let form: HashMap<String, String> = url::form_urlencoded::parse(form.as_bytes())
        .into_owned()
        .collect();
    ensure!(form["device_code"].len() == 40, "{form:?}");
    let user_code = &form["user_code"];
    ensure!(
        user_code.len() == 9 && user_code.as_bytes()[4] == b'-',
        "{user_code}"
    );
    ensure!(
        form["verification_uri"] == fake.url("/login/device"),
        "{form:?}"
    );
    ensure!(
        form["expires_in"] == "900" && form["interval"] == "1",
        "{form:?}"
    );

    let token_url = fake.token_endpoint();
    let poll = |device_code: String| {
        let token_url = token_url.clone();
        async move {
            let (_, _, body) = device_post(
                &token_url,
                &[
                    ("client_id", OAUTH_APP.id),
                    ("device_code", &device_code),
                    ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ],
                Some("application/json"),
            )
            .await?;
            Ok::<Value, anyhow::Error>(serde_json::from_str(&body)?)
        }
    };
    let device_code = form["device_code"].clone();
    // No client secret needed; pending until the code is entered.
    let first = poll(device_code.clone()).await?;
    ensure!(first["error"] == "authorization_pending", "{first}");
    // Polling again within the interval: slow_down, and the interval grows by 5 s.
    let second = poll(device_code.clone()).await?;
    ensure!(
        second["error"] == "slow_down" && second["interval"] == 6,
        "{second}"
    );
    let wrong = poll("0".repeat(40)).await?;
    ensure!(wrong["error"] == "incorrect_device_code", "{wrong}");
    ensure!(fake.stats().await?.device.slow_down == 1);
    Ok(())
}
