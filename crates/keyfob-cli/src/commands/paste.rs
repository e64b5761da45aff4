//! `keyfob link PROVIDER --paste`: sign in from a browser on any machine, then paste the
//! address it ended on. For SSH sessions: the provider sends that browser to
//! `http://127.0.0.1:PORT/...`, which is this machine only from this machine's own browser;
//! elsewhere the page fails to load, but its address bar holds the callback. A pasted address
//! is checked exactly as a redirect would be (`Keyfob::complete_link`), and a refused one
//! changes nothing, so the user may paste again. A local browser's redirect still works.
//!
//! The authorization URL is printed, not handed to a browser: it is for another machine, so
//! it cannot be the one-time start address (which answers this machine's user only).

use keyfob_core::{Error, Keyfob};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::commands::link::report_linked;
use crate::exit::{Failure, LINK};
use crate::terminal::clean;

/// Links an account at `provider` from a pasted callback address; prints its id on stdout.
pub async fn run(kf: &Keyfob, provider: &str, scopes: Option<Vec<String>>) -> Result<(), Failure> {
    let name = kf.provider(provider)?.name;
    kf.check_keyring().await?;
    let (start, listener) = kf.begin_loopback_link(provider, scopes).await?;
    let mut interrupt = crate::interrupt::Interrupt::watch()?;
    eprintln!(
        "Open this address in a browser on any machine and sign in to {}:\n\n  {}\n\n\
         The browser then goes to an address starting with {} (it may say it cannot connect).\n\
         Copy that whole address from its address bar and paste it here (Ctrl-C cancels):",
        clean(&name),
        start.authorization_url,
        start.redirect_uri
    );
    let pasted = async {
        let mut lines = BufReader::new(tokio::io::stdin()).lines();
        loop {
            let Some(line) = lines
                .next_line()
                .await
                .map_err(|e| Failure::new(LINK, format!("cannot read the pasted address: {e}")))?
            else {
                return Err(Failure::new(
                    LINK,
                    "no address was pasted; nothing was linked",
                ));
            };
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            match kf.complete_link(line).await {
                Ok(account) => return Ok(account),
                // Refused without a change: the link still waits for the right address.
                Err(Error::Callback(refusal)) => eprintln!(
                    "That address was refused: Keyfob {refusal}. Paste the address the browser ended on:"
                ),
                Err(e) => return Err(e.into()),
            }
        }
    };
    let account = tokio::select! {
        result = listener.complete(kf, &start) => result?,
        result = pasted => result?,
        _ = interrupt.recv() => {
            let _ = kf.cancel_link(&start.link_id).await;
            return Err(Failure::new(LINK, "cancelled; nothing was linked"));
        }
    };
    report_linked(&account, &name);
    Ok(())
}
