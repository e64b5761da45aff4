//! Another local user's connections to Keyfob's loopback listeners are refused (403) and
//! change nothing: neither the start address nor a callback is used up by them.
//!
//! The other user is `nobody`: the requests are made by `curl` run through
//! `setpriv --reuid=nobody --regid=nogroup --clear-groups`, which needs root (the test
//! environment runs as root). Anywhere else these tests fail, saying so: they never pass
//! without having connected as another user.
#![cfg(target_os = "linux")]

mod common;

use std::convert::Infallible;
use std::process::Command;

use common::World;
use keyfob_core::LinkRedirect;
use keyfob_testkit::{Browser, Consent};
use url::Url;

/// GETs `url` as the user `nobody` and returns the HTTP status (0: no answer).
fn status_as_nobody(url: &str) -> u16 {
    let out = Command::new("setpriv")
        .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"])
        .args(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", url])
        .output()
        .expect("running setpriv (util-linux) and curl");
    assert!(
        out.status.success(),
        "could not make a request as another user: this test must run as root, with setpriv \
         and curl installed ({}; {})",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let code = String::from_utf8_lossy(&out.stdout);
    code.trim()
        .parse()
        .unwrap_or_else(|_| panic!("curl said {code:?}"))
}

/// `status_as_nobody` off the runtime's thread, so Keyfob's listeners keep answering.
async fn as_nobody(url: &str) -> u16 {
    let url = url.to_string();
    tokio::task::spawn_blocking(move || status_as_nobody(&url))
        .await
        .expect("the request as nobody")
}

#[tokio::test(flavor = "multi_thread")]
async fn another_user_cannot_use_the_start_address() -> anyhow::Result<()> {
    let w = World::start().await?;
    let mut opened = None;
    let open = |url: &Url| {
        opened = Some(url.clone());
        Ok::<(), Infallible>(())
    };
    w.kf.start_link("local", LinkRedirect::Configured, None, open)
        .await?;
    let opened = opened.expect("the opener was called");

    assert_eq!(as_nobody(opened.as_str()).await, 403);
    assert_eq!(as_nobody(opened.as_str()).await, 403);
    // Still unused: the user's own browser gets the sign-in page, and signs in.
    let authorization = w.browser.start(&opened).await?;
    let callback = w
        .browser
        .authorize(authorization.as_str(), "alice", Consent::Approve)
        .await?;
    assert_eq!(w.kf.complete_link(&callback).await?.subject, "alice");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn another_user_cannot_deliver_a_callback() -> anyhow::Result<()> {
    let w = World::start().await?;
    let mut opened = None;
    let open = |url: &Url| {
        opened = Some(url.clone());
        Ok::<(), Infallible>(())
    };
    let link =
        w.kf.start_link("local", LinkRedirect::Loopback, None, open)
            .await?;
    let listener = link.loopback.expect("a loopback link listens");
    let opened = opened.expect("the opener was called");

    // The worst case: another user holds a genuine callback for this link (as if the state
    // had leaked). Their delivery is refused and consumes nothing, so the same callback from
    // the user's own connection still completes the link.
    let browser = Browser::new();
    let browser_side = async {
        let callback = browser
            .authorize(opened.as_str(), "mallory", Consent::Approve)
            .await?;
        let foreign = as_nobody(&callback).await;
        let own = browser.deliver(&callback).await?;
        anyhow::Ok((foreign, own))
    };
    let (account, answers) = tokio::join!(listener.complete(&w.kf), browser_side);
    let (foreign, (status, page)) = answers?;
    assert_eq!(foreign, 403);
    assert_eq!(status, 200, "{page}");
    assert_eq!(account?.subject, "mallory");
    Ok(())
}
