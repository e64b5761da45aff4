//! Redirects: where the browser sends the user back, and what the user registers at a
//! provider: the redirect URIs Keyfob's faces send. The CLI's
//! messages, the window's setup forms and its provider editor all show this one answer.

use serde::{Deserialize, Serialize};

use crate::paths::APP_ID;
use crate::provider::flavor::Flavor;

/// Where the browser sends the user back.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RedirectMode {
    /// A private-use URI scheme, `dev.keyfob.app:/oauth/<provider>` (RFC 8252 section 7.1).
    #[default]
    Scheme,
    /// `http://127.0.0.1:<ephemeral port>/oauth/<provider>` (RFC 8252 section 7.3).
    Loopback,
}

/// One redirect URI to enter in the provider's app registration, and who sends it.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RedirectRegistration {
    /// The URI exactly as it must be registered.
    pub uri: String,
    /// The URI has no port because the provider must accept any loopback port (RFC 8252
    /// section 7.3); Keyfob picks a free one each time.
    pub any_port: bool,
    /// The desktop app sends it (the provider's redirect mode).
    pub app: bool,
    /// The `keyfob` command sends it (always the loopback redirect: a terminal has no
    /// registered URL scheme handler to come back to).
    pub cli: bool,
}

/// What decides the redirect URIs of a provider, also before it is saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedirectSetup<'a> {
    /// The provider id, which names the redirect path.
    pub id: &'a str,
    /// Whose quirks apply.
    pub flavor: Flavor,
    /// What the desktop app uses.
    pub redirect: RedirectMode,
    /// A fixed loopback port (GitHub Apps), else any port.
    pub loopback_port: Option<u16>,
}

/// The path both redirect modes share.
pub(crate) fn redirect_path(id: &str) -> String {
    format!("/oauth/{id}")
}

/// The private-use scheme redirect URI for provider `id` (RFC 8252 section 7.1).
pub(crate) fn scheme_redirect_uri(id: &str) -> String {
    format!("{APP_ID}:{}", redirect_path(id))
}

/// Every redirect URI to register for `setup`, the app's first; empty when none needs
/// registering.
pub fn redirect_registrations(setup: RedirectSetup<'_>) -> Vec<RedirectRegistration> {
    let app_uses_loopback = setup.redirect == RedirectMode::Loopback;
    let mut out = Vec::new();
    if !app_uses_loopback {
        out.push(RedirectRegistration {
            uri: scheme_redirect_uri(setup.id),
            any_port: false,
            app: true,
            cli: false,
        });
    }
    // Google's "Desktop app" clients accept any loopback port with nothing registered
    // (https://developers.google.com/identity/protocols/oauth2/native-app#redirect-uri_loopback).
    if setup.flavor != Flavor::Google {
        let path = redirect_path(setup.id);
        out.push(RedirectRegistration {
            uri: match setup.loopback_port {
                Some(port) => format!("http://127.0.0.1:{port}{path}"),
                None => format!("http://127.0.0.1{path}"),
            },
            any_port: setup.loopback_port.is_none(),
            app: app_uses_loopback,
            cli: true,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(
        flavor: Flavor,
        redirect: RedirectMode,
        port: Option<u16>,
    ) -> Vec<(String, bool, bool, bool)> {
        redirect_registrations(RedirectSetup {
            id: "x",
            flavor,
            redirect,
            loopback_port: port,
        })
        .into_iter()
        .map(|r| (r.uri, r.any_port, r.app, r.cli))
        .collect()
    }

    #[test]
    fn the_app_and_the_cli_each_get_their_uri() {
        use Flavor::*;
        use RedirectMode::*;
        let row = |uri: &str, any_port, app, cli| (uri.to_string(), any_port, app, cli);
        // An OpenID provider on the scheme: the app's scheme URI, the CLI's any-port loopback.
        assert_eq!(
            setup(Standard, Scheme, None),
            vec![
                row("dev.keyfob.app:/oauth/x", false, true, false),
                row("http://127.0.0.1/oauth/x", true, false, true),
            ]
        );
        // On loopback, one URI serves both.
        assert_eq!(
            setup(Github, Loopback, None),
            vec![row("http://127.0.0.1/oauth/x", true, true, true)]
        );
        // A GitHub App matches exactly: the fixed port is part of what is registered.
        assert_eq!(
            setup(Github, Scheme, Some(5000)),
            vec![
                row("dev.keyfob.app:/oauth/x", false, true, false),
                row("http://127.0.0.1:5000/oauth/x", false, false, true),
            ]
        );
        assert_eq!(
            setup(Standard, Loopback, Some(8080)),
            vec![row("http://127.0.0.1:8080/oauth/x", false, true, true)]
        );
        // Google Desktop clients register nothing for loopback.
        assert_eq!(setup(Google, Loopback, None), vec![]);
        assert_eq!(
            setup(Google, Scheme, None),
            vec![row("dev.keyfob.app:/oauth/x", false, true, false)]
        );
    }
}
