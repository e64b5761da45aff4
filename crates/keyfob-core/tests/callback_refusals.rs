//! Every callback that must be refused is refused with its own error and changes nothing:
//! after all the forgeries, the genuine callback still completes the link.

mod common;

use std::time::Duration;

use common::{with_param, World};
use keyfob_core::{CallbackError, Error, LinkOptions, Paths};
use keyfob_testkit::Consent;

/// Whether a refusal is the one expected.
type Expect = fn(&CallbackError) -> bool;

fn refusal(result: Result<keyfob_core::Account, Error>) -> CallbackError {
    match result {
        Err(Error::Callback(e)) => e,
        Err(other) => panic!("expected a callback refusal, got: {other}"),
        Ok(a) => panic!("a forged callback linked {}", a.id),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn forged_callbacks_change_nothing() -> anyhow::Result<()> {
    let w = World::start().await?;
    w.kf.add_openid_provider(
        common::draft(
            &w.idp,
            "other",
            keyfob_testkit::NATIVE_CLIENT_ID,
            keyfob_core::ClientAuth::None,
        ),
        None,
    )
    .await?;
    let genuine = w.callback("local", "alice", Consent::Approve).await?;
    let accounts_file = w.kf.paths().accounts_file();
    let pending_before = std::fs::read(w.kf.paths().pending_file())?;
    let state = url::Url::parse(&genuine)?
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .expect("state");
    let code = url::Url::parse(&genuine)?
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("code");

    let other_path = genuine.replacen("/oauth/local?", "/oauth/other?", 1);
    let forged: Vec<(String, Expect)> = vec![
        (with_param(&genuine, "state", Some("forged-state")), |e| {
            *e == CallbackError::UnknownState
        }),
        (with_param(&genuine, "state", None), |e| {
            *e == CallbackError::MissingState
        }),
        (format!("{genuine}&state={state}"), |e| {
            *e == CallbackError::DuplicateParameter("state")
        }),
        (format!("{genuine}&code=second"), |e| {
            *e == CallbackError::DuplicateParameter("code")
        }),
        (format!("{genuine}&iss=x"), |e| {
            *e == CallbackError::DuplicateParameter("iss")
        }),
        (
            with_param(&genuine, "iss", Some("https://evil.example")),
            |e| matches!(e, CallbackError::IssuerMismatch { .. }),
        ),
        (with_param(&genuine, "iss", None), |e| {
            matches!(e, CallbackError::MissingIssuer(_))
        }),
        (other_path, |e| {
            matches!(e, CallbackError::WrongRedirect { .. })
        }),
        (
            genuine.replacen("dev.keyfob.app:", "com.example.evil:", 1),
            |e| matches!(e, CallbackError::WrongRedirect { .. }),
        ),
        (with_param(&genuine, "code", None), |e| {
            *e == CallbackError::MissingCode
        }),
        (format!("{genuine}&pad={}", "x".repeat(9000)), |e| {
            matches!(e, CallbackError::TooLong(_))
        }),
        ("dev.keyfob.app:/oauth/local?code=%zz&state".into(), |e| {
            *e == CallbackError::MissingState
        }),
        ("::not a url::".into(), |e| {
            matches!(e, CallbackError::Malformed(_))
        }),
    ];
    for (url, expected) in forged {
        let err = refusal(w.kf.complete_link(&url).await);
        assert!(expected(&err), "{url:.120} gave: {err}");
        // The message names the problem and never echoes the code or the state.
        let text = Error::from(err).to_string();
        assert!(!text.contains(&state) && !text.contains(&code), "{text}");
        assert!(text.starts_with("refused a callback"), "{text}");
    }
    assert!(!accounts_file.exists(), "no account was written");
    assert_eq!(
        std::fs::read(w.kf.paths().pending_file())?,
        pending_before,
        "pending links unchanged"
    );

    // Nothing changed, so the genuine callback still works, exactly once.
    let account = w.kf.complete_link(&genuine).await?;
    assert_eq!(account.subject, "alice");
    let again = refusal(w.kf.complete_link(&genuine).await);
    assert_eq!(again, CallbackError::StateAlreadyUsed);
    assert_eq!(w.kf.accounts()?, vec![account]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn user_denial_ends_the_link_with_the_providers_error() -> anyhow::Result<()> {
    let w = World::start().await?;
    let denied = w.callback("local", "alice", Consent::Deny).await?;
    let err = w.kf.complete_link(&denied).await.unwrap_err();
    match &err {
        Error::AuthorizationDenied { code, .. } => assert_eq!(code, "access_denied"),
        other => panic!("expected a denial, got {other}"),
    }
    assert!(err.to_string().contains("access_denied"), "{err}");
    assert!(
        w.kf.pending_links()?.is_empty(),
        "the denial ended the link"
    );
    assert_eq!(
        refusal(w.kf.complete_link(&denied).await),
        CallbackError::StateAlreadyUsed
    );
    assert!(w.kf.accounts()?.is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_and_cancelled_links_are_refused() -> anyhow::Result<()> {
    let w = World::start().await?;
    let short = keyfob_core::Keyfob::open(Paths::under(w.home.path()))
        .with_link_lifetime(Duration::from_secs(1));
    let start = short.begin_link("local", LinkOptions::default()).await?;
    let url = w
        .browser
        .authorize(start.authorization_url.as_str(), "alice", Consent::Approve)
        .await?;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(matches!(
        refusal(short.complete_link(&url).await),
        CallbackError::StateExpired(_)
    ));
    assert!(short.accounts()?.is_empty());

    let start = w.kf.begin_link("local", LinkOptions::default()).await?;
    let url = w
        .browser
        .authorize(start.authorization_url.as_str(), "alice", Consent::Approve)
        .await?;
    w.kf.cancel_link(&start.link_id).await?;
    assert_eq!(
        refusal(w.kf.complete_link(&url).await),
        CallbackError::LinkCancelled
    );
    assert!(matches!(
        w.kf.cancel_link(&start.link_id).await,
        Err(Error::LinkNotFound(_))
    ));
    assert!(w.kf.accounts()?.is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_provider_without_rfc9207_may_omit_iss() -> anyhow::Result<()> {
    let w = World::start_with(serde_json::json!({"issAuthResp": false})).await?;
    assert!(!w.kf.provider("local")?.iss_parameter_supported);
    let url = w.callback("local", "alice", Consent::Approve).await?;
    assert!(!url.contains("iss="), "{url}");
    // ... but an iss that is present must still match.
    let wrong = with_param(&url, "iss", Some("https://evil.example"));
    assert!(matches!(
        refusal(w.kf.complete_link(&wrong).await),
        CallbackError::IssuerMismatch { .. }
    ));
    assert_eq!(w.kf.complete_link(&url).await?.subject, "alice");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_authorization_request_carries_pkce_s256_state_and_nonce() -> anyhow::Result<()> {
    let w = World::start().await?;
    let a = w.kf.begin_link("local", LinkOptions::default()).await?;
    let b = w.kf.begin_link("local", LinkOptions::default()).await?;
    let params = |u: &url::Url| {
        u.query_pairs()
            .into_owned()
            .collect::<std::collections::HashMap<_, _>>()
    };
    let (pa, pb) = (params(&a.authorization_url), params(&b.authorization_url));
    assert_eq!(pa["response_type"], "code");
    assert_eq!(pa["code_challenge_method"], "S256");
    assert_eq!(pa["redirect_uri"], "dev.keyfob.app:/oauth/local");
    assert!(pa["state"].len() >= 43 && pa["nonce"].len() >= 43);
    assert_ne!(pa["state"], pb["state"]);
    assert_ne!(pa["nonce"], pb["nonce"]);
    assert_ne!(pa["code_challenge"], pb["code_challenge"]);

    // The real provider refuses a request without a challenge: PKCE is enforced end to end.
    let mut stripped = a.authorization_url.clone();
    let kept: Vec<_> = pa
        .iter()
        .filter(|(k, _)| !k.starts_with("code_challenge"))
        .collect();
    stripped.query_pairs_mut().clear().extend_pairs(kept);
    let refused = w
        .browser
        .authorize(stripped.as_str(), "alice", Consent::Approve)
        .await?;
    let answer: std::collections::HashMap<String, String> = url::Url::parse(&refused)?
        .query_pairs()
        .into_owned()
        .collect();
    assert_eq!(
        answer.get("error").map(String::as_str),
        Some("invalid_request")
    );
    assert!(
        answer
            .get("error_description")
            .is_some_and(|d| d.contains("PKCE")),
        "the refusal is about PKCE: {answer:?}"
    );
    assert!(!answer.contains_key("code"), "{answer:?}");
    Ok(())
}
