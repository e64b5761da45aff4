//! `keyfob link`: sign in through the system browser with a one-time loopback listener.

use keyfob_core::Keyfob;

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
    let (start, listener) = kf.begin_loopback_link(provider, scopes).await?;
    let url = start.authorization_url.as_str();
    if no_browser {
        eprintln!("Open this address in a browser to sign in to {name}:\n\n  {url}\n");
    } else if let Err(e) = browser::open(url) {
        eprintln!(
            "Could not start a browser ({e}). Open this address to sign in to {name}:\n\n  {url}\n"
        );
    } else {
        eprintln!("Your browser is opening the {name} sign-in page.");
    }
    eprintln!(
        "Waiting for you to finish signing in (the link expires in {}; Ctrl-C cancels)...",
        crate::when::span(i64::try_from(timeout.as_secs()).unwrap_or(i64::MAX))
    );

    let account = tokio::select! {
        result = listener.complete(kf, &start) => result?,
        _ = tokio::signal::ctrl_c() => {
            let _ = kf.cancel_link(&start.link_id).await;
            return Err(Failure::new(LINK, "cancelled; nothing was linked"));
        }
    };
    eprintln!(
        "Linked {} at {} as {} (scopes: {}).",
        crate::terminal::clean(&account.display_name),
        crate::terminal::clean(&name),
        account.id,
        crate::terminal::clean_line(&account.scopes.join(" "))
    );
    println!("{}", account.id);
    Ok(())
}
