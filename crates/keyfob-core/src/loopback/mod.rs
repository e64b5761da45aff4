//! The loopback redirect (RFC 8252 sections 7.3 and 8.3): a listener on 127.0.0.1 with an
//! ephemeral port, open only for one link, that accepts only the exact redirect path, answers
//! the browser with a small page, and closes after one valid callback or at the deadline.
//! Both listeners here (this one and the one-time start address, `start`) answer only
//! requests addressed to 127.0.0.1:<port> from the user Keyfob runs as (`peer`).

use std::net::Ipv4Addr;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use url::Url;

use crate::error::{Error, Result};
use crate::facade::Keyfob;
use crate::link::{LinkOptions, LinkStart};

mod page;
mod peer;
#[cfg(test)]
mod properties;
mod start;
pub(crate) mod start_pages;

use crate::provider::Provider;
use crate::store::accounts::Account;
use page::Page;

/// Longest request head read from the browser.
const MAX_REQUEST: usize = 16 * 1024;
/// How long one connection may take to send its request (browsers open idle preconnects).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections read at once; more wait in the kernel's backlog, so idle sockets opened by a
/// local process cannot exhaust file descriptors.
const MAX_CONNECTIONS: usize = 64;
/// The answer to a connection opened by another local user.
const FOREIGN_USER: &str =
    "Keyfob only answers connections from the user it runs as. This connection belongs to another user of this computer.";

/// A listener waiting for one link's redirect.
#[derive(Debug)]
pub struct LoopbackListener {
    listener: TcpListener,
    redirect_uri: Url,
}

impl LoopbackListener {
    /// Listens on `127.0.0.1:<ephemeral>` (or the provider's fixed port) for its redirect path.
    pub async fn bind(provider: &Provider) -> Result<Self> {
        let port = provider.loopback_port.unwrap_or(0);
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port))
            .await
            .map_err(|e| match provider.loopback_port {
                // The port is part of the registered callback URL (GitHub Apps match it
                // exactly): another port would never be redirected to, so there is no
                // fallback, only an error that says which port and why.
                Some(port) => Error::io(
                    format!(
                        "127.0.0.1:{port}, the fixed port in {}'s registered callback URL \
                         (close what uses it; Keyfob cannot listen elsewhere)",
                        provider.id
                    ),
                    e,
                ),
                None => Error::io("127.0.0.1 (loopback listener)", e),
            })?;
        let port = listener
            .local_addr()
            .map_err(|e| Error::io("127.0.0.1 (loopback listener)", e))?
            .port();
        let redirect_uri = Url::parse(&format!(
            "http://127.0.0.1:{port}{}",
            provider.redirect_path()
        ))
        .expect("valid loopback URI");
        Ok(LoopbackListener {
            listener,
            redirect_uri,
        })
    }

    /// The redirect URI to send in the authorization request.
    pub fn redirect_uri(&self) -> &Url {
        &self.redirect_uri
    }

    /// Serves the browser until the link completes, fails, or expires; then closes.
    /// Requests that fail validation (a forged or stale callback) are refused with a page
    /// and the listener keeps waiting for the genuine one. Drop the future to cancel.
    pub async fn complete(self, kf: &Keyfob, start: &LinkStart) -> Result<Account> {
        self.serve(kf, &start.link_id, start.expires_at).await
    }

    /// [`Self::complete`] for the link `link_id`, which expires at `expires_at`.
    pub(crate) async fn serve(
        self,
        kf: &Keyfob,
        link_id: &str,
        expires_at: OffsetDateTime,
    ) -> Result<Account> {
        let (tx, mut rx) = mpsc::channel::<(RequestHead, TcpStream)>(8);
        let deadline = tokio::time::Instant::now()
            + Duration::try_from(expires_at - OffsetDateTime::now_utc()).unwrap_or_default();
        let mut acceptor = Acceptor(tokio::spawn(accept_loop(self.listener, tx)));
        let result = loop {
            tokio::select! {
                Some((head, mut stream)) = rx.recv() => {
                    match handle(kf, &self.redirect_uri, &head).await {
                        Handled::Done(result, page) => {
                            let _ = respond(&mut stream, &page.response()).await;
                            break *result;
                        }
                        Handled::KeepWaiting(page) => {
                            let _ = respond(&mut stream, &page.response()).await;
                        }
                    }
                }
                _ = tokio::time::sleep_until(deadline) => {
                    let _ = kf.cancel_link(link_id).await;
                    break Err(Error::LinkTimedOut);
                }
            }
        };
        // Close the port now, not whenever the runtime gets to it.
        acceptor.stop().await;
        result
    }
}

/// The task that owns the listening socket; aborting it closes the port.
struct Acceptor(tokio::task::JoinHandle<()>);

impl Acceptor {
    async fn stop(&mut self) {
        self.0.abort();
        let _ = (&mut self.0).await;
    }
}

impl Drop for Acceptor {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Accepts connections, at most [`MAX_CONNECTIONS`] being read at once, and forwards each
/// request head of the user's own connections; the rest wait in the kernel's backlog.
/// Another user's connection is answered 403 here (see `peer`).
async fn accept_loop(listener: TcpListener, tx: mpsc::Sender<(RequestHead, TcpStream)>) {
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let slot = slots.clone().acquire_owned().await.expect("never closed");
        match listener.accept().await {
            Ok((stream, peer)) => {
                let tx = tx.clone();
                tokio::spawn(async move {
                    let _slot = slot;
                    // Asked before the request is read: the peer's socket is open now.
                    let same_user = match stream.local_addr() {
                        Ok(local) => peer::is_same_user(local, peer).await,
                        Err(_) => false,
                    };
                    let Ok((head, mut stream)) = read_request_within(stream).await else {
                        return;
                    };
                    if same_user {
                        let _ = tx.send((head, stream)).await;
                    } else {
                        // Another user's request reaches no handler: nothing is consumed.
                        let _ = respond(
                            &mut stream,
                            &Page::new(403, "Not allowed", FOREIGN_USER).response(),
                        )
                        .await;
                    }
                });
            }
            // Out of descriptors or similar: back off instead of spinning.
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

async fn handle(kf: &Keyfob, redirect_uri: &Url, head: &RequestHead) -> Handled {
    let (method, target) = (head.method.as_str(), head.target.as_str());
    if !host_is(head.host.as_deref(), redirect_uri) {
        // A page whose own name resolves to 127.0.0.1 (DNS rebinding) reaches this port
        // with its name in `Host`; only the browser's redirect names the listener itself.
        return Handled::KeepWaiting(Page::new(
            421,
            "Not allowed",
            "Keyfob only answers requests addressed to 127.0.0.1 here.",
        ));
    }
    if method != "GET" {
        return Handled::KeepWaiting(Page::new(
            405,
            "Not allowed",
            "Keyfob only accepts the browser's redirect here.",
        ));
    }
    let path = target.split('?').next().unwrap_or("");
    if path.trim_end_matches('/') != redirect_uri.path() {
        return Handled::KeepWaiting(Page::new(404, "Not found", "Nothing here."));
    }
    let origin = redirect_uri.origin().ascii_serialization();
    match kf.complete_link(&format!("{origin}{target}")).await {
        Ok(account) => {
            let text = format!(
                "{} is linked. You can close this tab and go back to Keyfob.",
                account.display_name
            );
            Handled::Done(
                Box::new(Ok(account)),
                Page::new(200, "Account linked", &text),
            )
        }
        Err(Error::Callback(refusal)) => Handled::KeepWaiting(Page::new(
            400,
            "Sign-in response refused",
            &format!("Keyfob {refusal}. If you were signing in, start again from Keyfob."),
        )),
        Err(e) => {
            let page = Page::new(
                400,
                "Account not linked",
                &format!("{e}. Go back to Keyfob to try again."),
            );
            Handled::Done(Box::new(Err(e)), page)
        }
    }
}

impl Keyfob {
    /// Starts a link that comes back over a loopback redirect: open the URL, then
    /// `listener.complete(...)`. The faces use [`Keyfob::start_link`], which does both.
    pub async fn begin_loopback_link(
        &self,
        provider_id: &str,
        scopes: Option<Vec<String>>,
    ) -> Result<(LinkStart, LoopbackListener)> {
        let provider = self.provider(provider_id)?;
        let listener = LoopbackListener::bind(&provider).await?;
        let options = LinkOptions {
            scopes,
            loopback_redirect: Some(listener.redirect_uri().clone()),
        };
        let start = self.begin_link(provider_id, options).await?;
        Ok((start, listener))
    }
}

enum Handled {
    Done(Box<Result<Account>>, Page),
    KeepWaiting(Page),
}

/// What Keyfob reads of a request: its method, target and `Host`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RequestHead {
    method: String,
    target: String,
    host: Option<String>,
}

/// Reads the request head within [`REQUEST_TIMEOUT`] and [`MAX_REQUEST`] bytes: a slow or
/// endless sender holds a connection slot for five seconds at most.
async fn read_request_within<S: AsyncRead + Unpin>(stream: S) -> std::io::Result<(RequestHead, S)> {
    tokio::time::timeout(REQUEST_TIMEOUT, read_request(stream))
        .await
        .unwrap_or_else(|_| Err(std::io::ErrorKind::TimedOut.into()))
}

/// Reads the request head.
pub async fn read_request<S: AsyncRead + Unpin>(
    mut stream: S,
) -> std::io::Result<(RequestHead, S)> {
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 || head.len() + n > MAX_REQUEST {
            return Err(std::io::ErrorKind::InvalidData.into());
        }
        head.extend_from_slice(&buf[..n]);
    }
    Ok((parse_head(&String::from_utf8_lossy(&head)), stream))
}

/// The request line's method and target, and the `Host` header (names are case-insensitive;
/// a repeated `Host` makes the request's host unknown).
fn parse_head(head: &str) -> RequestHead {
    let mut lines = head.split("\r\n");
    let mut request = lines.next().unwrap_or_default().split_whitespace();
    let (method, target) = (request.next().unwrap_or(""), request.next().unwrap_or(""));
    let hosts: Vec<&str> = lines
        .filter_map(|l| l.split_once(':'))
        .filter(|(name, _)| name.trim().eq_ignore_ascii_case("host"))
        .map(|(_, value)| value.trim())
        .collect();
    RequestHead {
        method: method.to_string(),
        target: target.to_string(),
        host: match hosts.as_slice() {
            [one] => Some(one.to_string()),
            _ => None,
        },
    }
}

/// Whether a request's `Host` names the listener itself: `127.0.0.1:<port>`.
fn host_is(host: Option<&str>, redirect_uri: &Url) -> bool {
    let expected = format!(
        "{}:{}",
        redirect_uri.host_str().unwrap_or_default(),
        redirect_uri.port().unwrap_or_default()
    );
    host.is_some_and(|h| h.eq_ignore_ascii_case(&expected))
}

async fn respond(stream: &mut TcpStream, answer: &[u8]) -> std::io::Result<()> {
    stream.write_all(answer).await?;
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_requests_addressed_to_the_listener_are_answered() {
        let head = parse_head(
            "GET /oauth/x?code=c HTTP/1.1\r\nhost: 127.0.0.1:4000\r\nAccept: */*\r\n\r\n",
        );
        assert_eq!(
            head,
            RequestHead {
                method: "GET".into(),
                target: "/oauth/x?code=c".into(),
                host: Some("127.0.0.1:4000".into()),
            }
        );
        let uri = Url::parse("http://127.0.0.1:4000/oauth/x").unwrap();
        assert!(host_is(head.host.as_deref(), &uri));
        for host in [
            Some("evil.example:4000"),
            Some("localhost:4000"),
            Some("127.0.0.1:4001"),
            Some("127.0.0.1"),
            None,
        ] {
            assert!(!host_is(host, &uri), "{host:?}");
        }
        let twice = parse_head("GET / HTTP/1.1\r\nHost: 127.0.0.1:4000\r\nHost: evil\r\n\r\n");
        assert_eq!(twice.host, None);
    }

    #[tokio::test]
    async fn a_fixed_port_in_use_is_an_error_that_names_it() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let mut provider = crate::provider::tests::sample();
        provider.loopback_port = Some(port);
        let e = LoopbackListener::bind(&provider)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(&format!("127.0.0.1:{port}, the fixed port"))
                && e.contains("cannot listen elsewhere"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn binds_an_ephemeral_port_on_127_0_0_1_with_the_providers_path() {
        let a = LoopbackListener::bind(&crate::provider::tests::sample())
            .await
            .unwrap();
        let b = LoopbackListener::bind(&crate::provider::tests::sample())
            .await
            .unwrap();
        assert_eq!(a.redirect_uri().host_str(), Some("127.0.0.1"));
        assert_eq!(a.redirect_uri().path(), "/oauth/local");
        assert_ne!(a.redirect_uri().port(), b.redirect_uri().port());
    }
}
