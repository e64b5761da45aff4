//! The one-time start address, `http://127.0.0.1:<port>/start`: what the faces hand the
//! system browser instead of the authorization URL. That URL carries the link's `state`,
//! `nonce` and PKCE challenge, and whatever a face opens lands in the argv of `xdg-open` and
//! of the browser, which every local user can read; the start address holds nothing secret.
//!
//! Its first GET (addressed to `127.0.0.1:<port>`, on a connection of the user Keyfob runs
//! as) is redirected to the authorization URL; every later one gets an "already used" page.
//! The port stays open until the link ends: completed or cancelled (both close it through
//! `start_pages`) or expired.

use std::net::Ipv4Addr;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use url::Url;

use super::page::{self, Page};
use super::{accept_loop, host_is, respond, Acceptor, RequestHead};
use crate::error::{Error, Result};
use crate::facade::Keyfob;
use crate::link::LinkStart;

/// The path of the start address.
const START_PATH: &str = "/start";

impl Keyfob {
    /// Listens on an ephemeral port of 127.0.0.1 for the start of `start`, until the link
    /// ends, and returns the start address to open instead of the authorization URL.
    pub(crate) async fn open_start_page(&self, start: &LinkStart) -> Result<Url> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(|e| Error::io("127.0.0.1 (sign-in start address)", e))?;
        let port = listener
            .local_addr()
            .map_err(|e| Error::io("127.0.0.1 (sign-in start address)", e))?
            .port();
        let address = Url::parse(&format!("http://127.0.0.1:{port}{START_PATH}"))
            .expect("valid start address");
        let deadline = tokio::time::Instant::now()
            + Duration::try_from(start.expires_at - OffsetDateTime::now_utc()).unwrap_or_default();
        let task = tokio::spawn(serve(
            listener,
            address.clone(),
            start.authorization_url.clone(),
            deadline,
        ));
        self.start_pages.insert(&start.link_id, task.abort_handle());
        Ok(address)
    }
}

/// Answers the start address until `deadline` (or until aborted).
async fn serve(
    listener: TcpListener,
    address: Url,
    authorization_url: Url,
    deadline: tokio::time::Instant,
) {
    let (tx, mut rx) = mpsc::channel(8);
    // Dropped with this future, aborted or not: the port closes with it.
    let _acceptor = Acceptor(tokio::spawn(accept_loop(listener, tx)));
    let mut used = false;
    loop {
        tokio::select! {
            Some((head, mut stream)) = rx.recv() => {
                let answer = match answer(&head, &address, used) {
                    Answer::Redirect => {
                        used = true;
                        page::redirect(&authorization_url)
                    }
                    Answer::Refuse(page) => page.response(),
                };
                let _ = respond(&mut stream, &answer).await;
            }
            _ = tokio::time::sleep_until(deadline) => break,
        }
    }
}

/// What a request to the start address gets.
enum Answer {
    /// The redirect to the authorization URL; the start address is used up.
    Redirect,
    /// A page, and nothing changes.
    Refuse(Page),
}

/// The decision for one request (from the user's own connection: others never get here).
fn answer(head: &RequestHead, address: &Url, used: bool) -> Answer {
    if !host_is(head.host.as_deref(), address) {
        // DNS rebinding: a page whose name resolves to 127.0.0.1 would carry its own name.
        return Answer::Refuse(Page::new(
            421,
            "Not allowed",
            "Keyfob only answers requests addressed to 127.0.0.1 here.",
        ));
    }
    if head.method != "GET" {
        return Answer::Refuse(Page::new(
            405,
            "Not allowed",
            "This address only starts a sign-in in the browser.",
        ));
    }
    if head.target != START_PATH {
        return Answer::Refuse(Page::new(404, "Not found", "Nothing here."));
    }
    if used {
        return Answer::Refuse(Page::new(
            410,
            "Sign-in already started",
            "This address starts a sign-in only once, and it has been used. \
             To sign in again, start again from Keyfob.",
        ));
    }
    Answer::Redirect
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(method: &str, target: &str, host: Option<&str>) -> RequestHead {
        RequestHead {
            method: method.into(),
            target: target.into(),
            host: host.map(Into::into),
        }
    }

    fn status(answer: Answer) -> u16 {
        match answer {
            Answer::Redirect => 303,
            Answer::Refuse(page) => page.status(),
        }
    }

    #[test]
    fn only_the_first_get_of_the_start_address_is_redirected() {
        let address = Url::parse("http://127.0.0.1:4100/start").unwrap();
        let get = head("GET", "/start", Some("127.0.0.1:4100"));
        assert_eq!(status(answer(&get, &address, false)), 303);
        assert_eq!(status(answer(&get, &address, true)), 410);
    }

    #[test]
    fn anything_else_is_refused_and_uses_nothing() {
        let address = Url::parse("http://127.0.0.1:4100/start").unwrap();
        for (request, expected) in [
            (head("GET", "/start", Some("evil.example:4100")), 421),
            (head("GET", "/start", Some("localhost:4100")), 421),
            (head("GET", "/start", None), 421),
            (head("POST", "/start", Some("127.0.0.1:4100")), 405),
            (head("HEAD", "/start", Some("127.0.0.1:4100")), 405),
            (head("GET", "/", Some("127.0.0.1:4100")), 404),
            (head("GET", "/start?x=1", Some("127.0.0.1:4100")), 404),
            (head("GET", "/start/", Some("127.0.0.1:4100")), 404),
        ] {
            let seen = status(answer(&request, &address, false));
            assert_eq!(seen, expected, "{request:?}");
        }
    }
}
