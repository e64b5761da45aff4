//! Loopback redirects (RFC 8252 7.3, 8.3) against the real provider: one listener per link,
//! exact path, forged requests refused while it keeps waiting, closed afterwards.

mod common;

use std::time::Duration;

use common::World;
use keyfob_core::{Error, Keyfob, Paths};
use keyfob_testkit::Consent;

#[tokio::test(flavor = "multi_thread")]
async fn links_through_a_loopback_redirect_and_closes_the_port() -> anyhow::Result<()> {
    let w = World::start().await?;
    let (start, listener) = w.kf.begin_loopback_link("local", None).await?;
    let redirect = listener.redirect_uri().clone();
    assert_eq!(redirect.host_str(), Some("127.0.0.1"));
    assert_eq!(redirect.path(), "/oauth/local");
    assert!(start
        .authorization_url
        .query_pairs()
        .any(|(k, v)| k == "redirect_uri" && v == redirect.as_str()));

    let browser = async {
        let callback = w
            .browser
            .authorize(start.authorization_url.as_str(), "alice", Consent::Approve)
            .await?;
        assert!(callback.starts_with(redirect.as_str()), "{callback}");
        let origin = format!("http://127.0.0.1:{}", redirect.port().unwrap());

        // A local process guessing at the listener gets refused pages; the link goes on.
        let (status, body) = w
            .browser
            .deliver(&format!("{origin}/oauth/local?code=x&state=forged"))
            .await?;
        assert_eq!(status, 400);
        assert!(
            body.contains("refused a callback whose state matches no link"),
            "{body}"
        );
        let (status, _) = w.browser.deliver(&format!("{origin}/favicon.ico")).await?;
        assert_eq!(status, 404);

        let (status, body) = w.browser.deliver(&callback).await?;
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("alice@example.test is linked"), "{body}");
        anyhow::Ok(origin)
    };
    let (account, origin) = tokio::join!(listener.complete(&w.kf, &start), browser);
    let (account, origin) = (account?, origin?);
    assert_eq!(account.subject, "alice");
    assert_eq!(w.kf.accounts()?.len(), 1);
    // Closed after one valid callback.
    assert!(
        tokio::net::TcpStream::connect(origin.trim_start_matches("http://"))
            .await
            .is_err()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_denial_is_shown_in_the_tab_and_ends_the_link() -> anyhow::Result<()> {
    let w = World::start().await?;
    let (start, listener) = w.kf.begin_loopback_link("local", None).await?;
    let browser = async {
        let callback = w
            .browser
            .authorize(start.authorization_url.as_str(), "alice", Consent::Deny)
            .await?;
        w.browser.deliver(&callback).await
    };
    let (result, page) = tokio::join!(listener.complete(&w.kf, &start), browser);
    assert!(matches!(result, Err(Error::AuthorizationDenied { .. })));
    let (status, body) = page?;
    assert_eq!(status, 400);
    assert!(
        body.contains("access_denied") && body.contains("Account not linked"),
        "{body}"
    );
    assert!(w.kf.accounts()?.is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unanswered_link_times_out_and_is_cancelled() -> anyhow::Result<()> {
    let w = World::start().await?;
    let short =
        Keyfob::open(Paths::under(w.home.path())).with_link_lifetime(Duration::from_secs(1));
    let (start, listener) = short.begin_loopback_link("local", None).await?;
    let port = listener.redirect_uri().port().unwrap();
    assert!(matches!(
        listener.complete(&short, &start).await,
        Err(Error::LinkTimedOut)
    ));
    assert!(short.pending_links()?.is_empty());
    assert!(tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_connections_from_a_local_process_do_not_block_the_callback() -> anyhow::Result<()> {
    let w = World::start().await?;
    let (start, listener) = w.kf.begin_loopback_link("local", None).await?;
    let port = listener.redirect_uri().port().unwrap();
    // Two and a half times as many idle sockets as the listener reads at once (64), opened
    // while it listens; they never send a request. The first 64 hold every reading slot until
    // the listener gives up on them, the rest and then the real callback wait in the kernel's
    // backlog (128 by Rust's default, so no more than 64 + 128 can wait at all).
    let browser = async {
        let mut idle = Vec::new();
        for _ in 0..160 {
            idle.push(tokio::net::TcpStream::connect(("127.0.0.1", port)).await?);
        }
        let callback = w
            .browser
            .authorize(start.authorization_url.as_str(), "alice", Consent::Approve)
            .await?;
        let page = w.browser.deliver(&callback).await;
        drop(idle);
        page
    };
    // Well within the link's lifetime, or the idle sockets have won.
    let (account, page) = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        tokio::join!(listener.complete(&w.kf, &start), browser)
    })
    .await
    .map_err(|_| anyhow::anyhow!("the callback was stuck behind idle connections"))?;
    assert_eq!(account?.subject, "alice");
    assert_eq!(page?.0, 200);
    // The listener is gone with its link: nothing answers on the port any more.
    assert!(
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err(),
        "the port is closed"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_addressed_to_another_host_is_refused_and_changes_nothing() -> anyhow::Result<()>
{
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let w = World::start().await?;
    let (start, listener) = w.kf.begin_loopback_link("local", None).await?;
    let port = listener.redirect_uri().port().unwrap();
    let browser = async {
        let callback = w
            .browser
            .authorize(start.authorization_url.as_str(), "alice", Consent::Approve)
            .await?;
        // The genuine callback, sent by a page whose own name resolves to 127.0.0.1 (DNS
        // rebinding): the listener refuses it before looking at it, so its state still works.
        let target = &callback[callback.find("/oauth/").expect("callback path")..];
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
        let request = format!("GET {target} HTTP/1.1\r\nHost: rebind.example:{port}\r\n\r\n");
        stream.write_all(request.as_bytes()).await?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await?;
        assert!(answer.starts_with("HTTP/1.1 421 "), "{answer}");
        assert!(w.kf.accounts()?.is_empty());
        w.browser.deliver(&callback).await
    };
    let (account, page) = tokio::join!(listener.complete(&w.kf, &start), browser);
    assert_eq!(account?.subject, "alice");
    assert_eq!(page?.0, 200);
    Ok(())
}
