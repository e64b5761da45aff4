//! `Keyfob::start_link`, the one link start of both faces, against the real provider: the
//! redirect each face asks for, the opener it passes in, and a failed opener cancelling the
//! link so that its state can never be used.

mod common;

use std::convert::Infallible;

use common::{draft, World};
use keyfob_core::{CallbackError, ClientAuth, Error, LinkRedirect, LoopbackLink, RedirectMode};
use keyfob_testkit::Consent;
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
    assert_eq!(redirect_of(&opened).as_str(), "dev.keyfob.app:/oauth/local");
    assert!(
        !format!("{link:?}").contains("state"),
        "the started link holds no state: {link:?}"
    );

    let callback = w
        .browser
        .authorize(opened.as_str(), "alice", Consent::Approve)
        .await?;
    let account = w.kf.complete_link(&callback).await?;
    assert_eq!(account.subject, "alice");
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
    assert_eq!(redirect_of(&opened).host_str(), Some("127.0.0.1"));

    let (subject, status) = sign_in_on_loopback(&w, listener, &opened, "alice").await?;
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
    let redirect = redirect_of(&opened);
    assert_eq!(redirect.host_str(), Some("127.0.0.1"));
    assert_eq!(redirect.path(), "/oauth/local");

    let (subject, status) = sign_in_on_loopback(&w, listener, &opened, "bob").await?;
    assert_eq!((subject.as_str(), status), ("bob", 200));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_browser_that_does_not_open_cancels_the_link() -> anyhow::Result<()> {
    let w = World::start().await?;
    let mut opened = None;
    // An opener whose error quotes the URL, as a launcher's command line would.
    let open = |url: &Url| {
        opened = Some(url.clone());
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
        opened = Some(url.clone());
        Err(())
    };
    let err =
        w.kf.start_link("local", LinkRedirect::Loopback, None, open)
            .await
            .unwrap_err();
    assert!(matches!(err, Error::BrowserNotOpened), "{err:?}");
    assert!(w.kf.pending_links()?.is_empty(), "the link is cancelled");
    let redirect = redirect_of(&opened.expect("the opener was called"));
    let port = redirect.port().expect("a port");
    assert!(
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err(),
        "the port is closed"
    );
    Ok(())
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
