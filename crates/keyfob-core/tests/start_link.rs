//! `Keyfob::start_link`, the one link start of both faces, against the real provider: the
//! redirect each face asks for, the opener it passes in (which gets only the one-time start
//! address, never the authorization URL), the start address redirecting once, and a failed
//! opener cancelling the link so that its state can never be used.

mod common;

use std::convert::Infallible;

use common::{draft, World};
use keyfob_core::{CallbackError, ClientAuth, Error, LinkRedirect, LoopbackLink, RedirectMode};
use keyfob_testkit::{is_start_address, Consent};
use url::Url;

/// Adds `local2` (a redirect path the provider accepts from the native client): the local
/// provider again, configured for a loopback redirect.
async fn with_loopback_provider(w: &World) -> anyhow::Result<()> {
    let mut loopback = draft(
        &w.idp,
        "local2",
        keyfob_testkit::NATIVE_CLIENT_ID,
        ClientAuth::None,
    );
    loopback.redirect = RedirectMode::Loopback;
    w.kf.add_openid_provider(loopback, None).await?;
    Ok(())
}

/// A failed sign-in would leave the listener waiting for the link's ten minutes.
async fn within_a_minute<T>(f: impl std::future::Future<Output = T>) -> anyhow::Result<T> {
    tokio::time::timeout(std::time::Duration::from_secs(60), f)
        .await
        .map_err(|_| anyhow::anyhow!("the loopback link did not complete"))
}

/// What the opener got: the start address alone, nothing of the authorization request.
fn assert_start_address(opened: &Url) {
    assert!(is_start_address(opened), "{opened}");
    for secret in [
        "state",
        "nonce",
        "code_challenge",
        "redirect_uri",
        "client_id",
    ] {
        assert!(!opened.as_str().contains(secret), "{opened}");
    }
}

/// A port nobody listens on any more.
async fn closed(url: &Url) -> bool {
    let port = url.port().expect("a port");
    tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
}

fn redirect_of(url: &Url) -> Url {
    let (_, uri) = url
        .query_pairs()
        .find(|(k, _)| k == "redirect_uri")
        .expect("a redirect_uri");
    Url::parse(&uri).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_app_follows_the_providers_scheme_redirect() -> anyhow::Result<()> {
    let w = World::start().await?;
    let mut opened = None;
    let open = |url: &Url| {
        opened = Some(url.clone());
        Ok::<(), Infallible>(())
    };
    let link =
        w.kf.start_link("local", LinkRedirect::Configured, None, open)
            .await?;
    assert!(link.loopback.is_none(), "a scheme link has no listener");
    assert_eq!(link.provider, "local");
    let opened = opened.expect("the opener was called");
    assert_start_address(&opened);
    let authorization = w.browser.start(&opened).await?;
    assert_eq!(
        redirect_of(&authorization).as_str(),
        "dev.keyfob.app:/oauth/local"
    );
    assert!(
        !format!("{link:?}").contains("state"),
        "the started link holds no state: {link:?}"
    );

    let callback = w
        .browser
        .authorize(authorization.as_str(), "alice", Consent::Approve)
        .await?;
    let account = w.kf.complete_link(&callback).await?;
    assert_eq!(account.subject, "alice");
    assert!(
        closed(&opened).await,
        "the link's end closes its start address"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_start_address_redirects_once_then_refuses() -> anyhow::Result<()> {
    let w = World::start().await?;
    let mut opened = None;
    let open = |url: &Url| {
        opened = Some(url.clone());
        Ok::<(), Infallible>(())
    };
    let link =
        w.kf.start_link("local", LinkRedirect::Configured, None, open)
            .await?;
    let opened = opened.expect("the opener was called");
    assert_start_address(&opened);

    // Asked for by another name (DNS rebinding), it answers nothing and stays unused.
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let rebound = plain
        .get(opened.as_str())
        .header("Host", format!("evil.example:{}", opened.port().unwrap()))
        .send()
        .await?;
    assert_eq!(rebound.status(), 421);

    // The first visit: the authorization URL, neither kept nor referred (Browser::start checks).
    let authorization = w.browser.start(&opened).await?;
    let params: Vec<String> = authorization.query_pairs().map(|(k, _)| k.into()).collect();
    for name in ["state", "nonce", "code_challenge"] {
        assert!(params.iter().any(|p| p == name), "{name} in {params:?}");
    }
    assert_eq!(
        authorization.origin(),
        Url::parse(w.idp.issuer())?.origin(),
        "it leads to the provider"
    );

    // Every later visit: a page saying so, and no URL.
    for _ in 0..2 {
        let again = plain.get(opened.as_str()).send().await?;
        assert_eq!(again.status(), 410);
        assert!(again.headers().get("location").is_none());
        let page = again.text().await?;
        assert!(page.contains("already"), "{page}");
        assert!(!page.contains(authorization.as_str()), "{page}");
    }

    // The first visit's URL still signs in; cancelling instead would have closed the port too.
    let callback = w
        .browser
        .authorize(authorization.as_str(), "alice", Consent::Approve)
        .await?;
    assert_eq!(w.kf.complete_link(&callback).await?.subject, "alice");
    assert!(closed(&opened).await);
    assert!(
        !format!("{link:?}").contains(authorization.as_str()),
        "the started link holds no authorization URL: {link:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn cancelling_a_link_closes_its_start_address() -> anyhow::Result<()> {
    let w = World::start().await?;
    let mut opened = None;
    let open = |url: &Url| {
        opened = Some(url.clone());
        Ok::<(), Infallible>(())
    };
    let link =
        w.kf.start_link("local", LinkRedirect::Configured, None, open)
            .await?;
    let opened = opened.expect("the opener was called");
    assert!(!closed(&opened).await, "it listens while the link waits");
    w.kf.cancel_link(&link.link_id).await?;
    assert!(closed(&opened).await, "cancelled: nothing answers there");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_app_listens_on_loopback_for_a_loopback_provider() -> anyhow::Result<()> {
    let w = World::start().await?;
    with_loopback_provider(&w).await?;
    let mut opened = None;
    let open = |url: &Url| {
        opened = Some(url.clone());
        Ok::<(), Infallible>(())
    };
    let link =
        w.kf.start_link("local2", LinkRedirect::Configured, None, open)
            .await?;
    let listener = link.loopback.expect("a loopback provider's link listens");
    let opened = opened.expect("the opener was called");
    assert_start_address(&opened);
    let authorization = w.browser.start(&opened).await?;
    let redirect = redirect_of(&authorization);
    assert_eq!(redirect.host_str(), Some("127.0.0.1"));
    assert_ne!(
        redirect.port(),
        opened.port(),
        "the start address has its own port"
    );

    let (subject, status) = sign_in_on_loopback(&w, listener, &authorization, "alice").await?;
    assert_eq!((subject.as_str(), status), ("alice", 200));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_always_listens_on_loopback() -> anyhow::Result<()> {
    let w = World::start().await?;
    let mut opened = None;
    let open = |url: &Url| {
        opened = Some(url.clone());
        Ok::<(), Infallible>(())
    };
    // `local` is configured for its scheme; the CLI listens anyway.
    let link =
        w.kf.start_link("local", LinkRedirect::Loopback, None, open)
            .await?;
    let listener = link.loopback.expect("a loopback link listens");
    let opened = opened.expect("the opener was called");
    assert_start_address(&opened);
    let authorization = w.browser.start(&opened).await?;
    let redirect = redirect_of(&authorization);
    assert_eq!(redirect.host_str(), Some("127.0.0.1"));
    assert_eq!(redirect.path(), "/oauth/local");

    let (subject, status) = sign_in_on_loopback(&w, listener, &authorization, "bob").await?;
    assert_eq!((subject.as_str(), status), ("bob", 200));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_browser_that_does_not_open_cancels_the_link() -> anyhow::Result<()> {
    let w = World::start().await?;
    let mut opened = None;
    // A browser that got as far as the start address, then failed: an opener's error
    // quotes the URL it was given, as a launcher's command line would.
    let open = |url: &Url| {
        opened = Some(authorization_behind(&w, url));
        Err(format!("xdg-open {url} failed"))
    };
    let err =
        w.kf.start_link("local", LinkRedirect::Configured, None, open)
            .await
            .unwrap_err();
    assert!(matches!(err, Error::BrowserNotOpened), "{err:?}");
    let opened = opened.expect("the opener was called");
    let state = opened
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .expect("a state");
    assert!(!err.to_string().contains(&state), "{err}");
    assert!(!format!("{err:?}").contains(&state), "{err:?}");
    assert!(w.kf.pending_links()?.is_empty(), "the link is cancelled");

    // Should the URL reach a browser after all, its state is refused.
    let callback = w
        .browser
        .authorize(opened.as_str(), "alice", Consent::Approve)
        .await?;
    match w.kf.complete_link(&callback).await {
        Err(Error::Callback(CallbackError::LinkCancelled)) => {}
        other => panic!("{other:?}"),
    }
    assert!(w.kf.accounts()?.is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_browser_that_does_not_open_closes_the_loopback_listener() -> anyhow::Result<()> {
    let w = World::start().await?;
    let mut opened = None;
    let open = |url: &Url| {
        opened = Some((url.clone(), authorization_behind(&w, url)));
        Err(())
    };
    let err =
        w.kf.start_link("local", LinkRedirect::Loopback, None, open)
            .await
            .unwrap_err();
    assert!(matches!(err, Error::BrowserNotOpened), "{err:?}");
    assert!(w.kf.pending_links()?.is_empty(), "the link is cancelled");
    let (start, authorization) = opened.expect("the opener was called");
    assert!(
        closed(&redirect_of(&authorization)).await,
        "the listener is closed"
    );
    assert!(closed(&start).await, "the start address is closed");
    Ok(())
}

/// What a browser finds behind the start address `url`, fetched from inside the (blocking)
/// opener, as a browser would before its launcher reports a failure.
fn authorization_behind(w: &World, url: &Url) -> Url {
    assert_start_address(url);
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(w.browser.start(url)))
        .expect("the start address answers while the opener runs")
}

/// Signs `login` in through the opened URL while the link's listener waits for the callback;
/// returns the linked subject and the status of the page the browser was shown.
async fn sign_in_on_loopback(
    w: &World,
    listener: LoopbackLink,
    opened: &Url,
    login: &str,
) -> anyhow::Result<(String, u16)> {
    let browser = async {
        let callback = w
            .browser
            .authorize(opened.as_str(), login, Consent::Approve)
            .await?;
        w.browser.deliver(&callback).await
    };
    let (account, page) =
        within_a_minute(async { tokio::join!(listener.complete(&w.kf), browser) }).await?;
    Ok((account?.subject, page?.0))
}
