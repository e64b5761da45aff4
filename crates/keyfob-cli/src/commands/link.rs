//! `keyfob link`: sign in through the system browser with a one-time loopback listener.

use std::convert::Infallible;

use keyfob_core::{Keyfob, LinkRedirect};

use crate::browser;
use crate::exit::{Failure, LINK};

/// Links an account at `provider`; prints its id on stdout.
pub async fn run(
    kf: &Keyfob,
    provider: &str,
    scopes: Option<Vec<String>>,
    no_browser: bool,
    timeout: std::time::Duration,
) -> Result<(), Failure> {
    let name = kf.provider(provider)?.name;
    kf.check_keyring().await?;
    // The CLI cannot receive a scheme redirect: always a loopback listener. Its opener never
    // fails: when no browser starts (or none is wanted), the user gets the address instead.
    // The address is the link's one-time start address, which holds no secret: it may sit in
    // the browser's argv and on the terminal.
    let open = |url: &url::Url| {
        show_sign_in(url.as_str(), &name, no_browser);
        Ok::<(), Infallible>(())
    };
    let link = kf
        .start_link(provider, LinkRedirect::Loopback, scopes, open)
        .await?;
    let listener = link
        .loopback
        .expect("a loopback link comes with its listener");
    let mut interrupt = crate::interrupt::Interrupt::watch()?;
    eprintln!(
        "Waiting for you to finish signing in (the link expires in {}; Ctrl-C cancels)...",
        crate::when::span(i64::try_from(timeout.as_secs()).unwrap_or(i64::MAX))
    );

    let account = tokio::select! {
        result = listener.complete(kf) => result?,
        _ = interrupt.recv() => {
            let _ = kf.cancel_link(&link.link_id).await;
            return Err(Failure::new(LINK, "cancelled; nothing was linked"));
        }
    };
    report_linked(&account, &name);
    Ok(())
}

/// Says who was linked on stderr, and prints the account id on stdout (for scripts).
pub fn report_linked(account: &keyfob_core::Account, provider_name: &str) {
    eprintln!(
        "Linked {} at {} as {} (scopes: {}).",
        crate::terminal::clean(&account.display_name),
        crate::terminal::clean(provider_name),
        account.id,
        crate::terminal::clean_line(&account.scopes.join(" "))
    );
    println!("{}", account.id);
}

/// Sends the browser to the start address, which leads to the sign-in page ($BROWSER, else
/// the platform's opener), or prints the address on the terminal for the user to open: with
/// `--no-browser`, or when no browser starts.
fn show_sign_in(url: &str, name: &str, no_browser: bool) {
    if no_browser {
        eprintln!("Open this address in a browser to sign in to {name}:\n\n  {url}\n");
    } else if let Err(e) = browser::open(url) {
        eprintln!(
            "Could not start a browser ({e}). Open this address to sign in to {name}:\n\n  {url}\n"
        );
    } else {
        eprintln!("Your browser is opening the {name} sign-in page.");
    }
}
