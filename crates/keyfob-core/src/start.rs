//! One link start for both faces: pick the redirect, begin the link, send the system browser
//! to the sign-in page through the face's own opener, and cancel the link if that fails.
//!
//! The authorization URL carries the link's `state`, `nonce` and PKCE challenge. The opener
//! never sees it: whatever a face opens lands in the argv of `xdg-open` and of the browser,
//! which every local user can read. It gets the link's one-time start address
//! (`http://127.0.0.1:<port>/start`, see `loopback::start`), which redirects the user's own
//! browser to the authorization URL once. [`StartedLink`] holds neither.

use std::fmt;

use time::OffsetDateTime;
use url::Url;

use crate::error::{Error, Result};
use crate::facade::Keyfob;
use crate::link::LinkOptions;
use crate::loopback::LoopbackListener;
use crate::provider::RedirectMode;
use crate::store::accounts::Account;

/// Which redirect a face starts its links with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRedirect {
    /// The provider's configured mode: its private-use scheme, or a loopback listener (the
    /// desktop app, which handles the scheme).
    Configured,
    /// A one-time loopback listener, whatever the provider's mode (the CLI, which cannot
    /// receive a scheme redirect).
    Loopback,
}

/// A started link whose sign-in page the browser was sent to. Holds no secret.
#[derive(Debug)]
pub struct StartedLink {
    /// Id to complete or cancel the link with; not a secret.
    pub link_id: String,
    /// The provider id.
    pub provider: String,
    /// When the link stops accepting a callback.
    pub expires_at: OffsetDateTime,
    /// For a loopback link, the listener that completes it: await it, or spawn it and keep
    /// the task to abort on cancel. `None` for a scheme link, which the face completes with
    /// the callback URL it is handed ([`Keyfob::complete_link`]).
    pub loopback: Option<LoopbackLink>,
}

/// A loopback link's listener, bound to its link.
pub struct LoopbackLink {
    listener: LoopbackListener,
    link_id: String,
    expires_at: OffsetDateTime,
}

impl fmt::Debug for LoopbackLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoopbackLink")
            .field("link_id", &self.link_id)
            .field("redirect_uri", &self.listener.redirect_uri().as_str())
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl LoopbackLink {
    /// Serves the browser until the link completes, fails or expires, then closes the port
    /// (see [`LoopbackListener::complete`]). Drop the future to stop listening.
    pub async fn complete(self, kf: &Keyfob) -> Result<Account> {
        self.listener
            .serve(kf, &self.link_id, self.expires_at)
            .await
    }
}

impl Keyfob {
    /// Starts linking an account at `provider_id` with the face's `redirect`, and hands the
    /// link's one-time start address to `open`, which must send the system browser there.
    /// The address holds no secret: its first visit, from the user's own connection,
    /// redirects to the authorization URL. It listens until the link ends (completed,
    /// cancelled or expired), on its own port, served by the core.
    ///
    /// If `open` fails, the link is cancelled, so its state can never be used, and
    /// [`Error::BrowserNotOpened`] is returned. A loopback listener is bound before the
    /// browser is sent, so the redirect always finds it.
    pub async fn start_link<E>(
        &self,
        provider_id: &str,
        redirect: LinkRedirect,
        scopes: Option<Vec<String>>,
        open: impl FnOnce(&Url) -> std::result::Result<(), E>,
    ) -> Result<StartedLink> {
        let provider = self.provider(provider_id)?;
        let (start, listener) = if uses_loopback(redirect, provider.redirect) {
            let (start, listener) = self.begin_loopback_link(provider_id, scopes).await?;
            (start, Some(listener))
        } else {
            let options = LinkOptions {
                scopes,
                loopback_redirect: None,
            };
            (self.begin_link(provider_id, options).await?, None)
        };
        let address = match self.open_start_page(&start).await {
            Ok(address) => address,
            Err(e) => {
                let _ = self.cancel_link(&start.link_id).await;
                return Err(e);
            }
        };
        if open(&address).is_err() {
            // Best effort: should the cancel fail too, the link expires unused. Cancelling
            // closes the start address; the listener, if any, closes when dropped here.
            let _ = self.cancel_link(&start.link_id).await;
            return Err(Error::BrowserNotOpened);
        }
        Ok(StartedLink {
            loopback: listener.map(|listener| LoopbackLink {
                listener,
                link_id: start.link_id.clone(),
                expires_at: start.expires_at,
            }),
            link_id: start.link_id,
            provider: start.provider,
            expires_at: start.expires_at,
        })
    }
}

/// Whether a link comes back over a loopback listener: always when the face asks for one,
/// else when the provider is configured so.
fn uses_loopback(redirect: LinkRedirect, mode: RedirectMode) -> bool {
    match redirect {
        LinkRedirect::Loopback => true,
        LinkRedirect::Configured => mode == RedirectMode::Loopback,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cli_always_listens_and_the_app_follows_the_provider() {
        assert!(uses_loopback(LinkRedirect::Loopback, RedirectMode::Scheme));
        assert!(uses_loopback(
            LinkRedirect::Loopback,
            RedirectMode::Loopback
        ));
        assert!(uses_loopback(
            LinkRedirect::Configured,
            RedirectMode::Loopback
        ));
        assert!(!uses_loopback(
            LinkRedirect::Configured,
            RedirectMode::Scheme
        ));
    }
}
