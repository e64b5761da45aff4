//! The one error type the UI sees: a kind to branch on and a message to show. Core errors are
//! converted here, once, at the boundary; their messages already say what the user can do.

use keyfob_core::ErrorKind;
use serde::Serialize;

/// A serializable error for the webview.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UiError {
    /// A stable machine-readable category (see [`kind_of`]).
    pub kind: UiErrorKind,
    /// A sentence for the user. Never contains a token, code, state or callback URL.
    pub message: String,
}

/// What the window does about an error: its colour, wording and offered action. Core errors
/// get theirs from their `ErrorKind`; the shell's own failures have their own.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum UiErrorKind {
    Keyring,
    NeedsRelink,
    CannotRefresh,
    /// How a provider is set up, as opposed to what it answered.
    Provider,
    Callback,
    Denied,
    Timeout,
    LinkNotFound,
    Network,
    ProviderResponse,
    AccountNotFound,
    Storage,
    /// The shell could not write the clipboard.
    Clipboard,
    /// The shell could not start the web browser.
    Browser,
    /// A setting the panel sent is out of range.
    InvalidSetting,
    /// The start at login entry could not be read or changed.
    Autostart,
    /// Never sent by the shell: the window's name for a failure of the IPC call itself.
    #[allow(dead_code)] // declared here so that the generated type has it
    Other,
}

impl UiError {
    pub fn new(kind: UiErrorKind, message: impl Into<String>) -> Self {
        UiError {
            kind,
            message: sentence(&message.into()),
        }
    }
}

impl From<keyfob_core::Error> for UiError {
    fn from(e: keyfob_core::Error) -> Self {
        UiError::new(kind_of(e.kind()), e.to_string())
    }
}

/// Groups core errors by what the UI does about them (colour, wording, offered action).
fn kind_of(kind: ErrorKind) -> UiErrorKind {
    // No wildcard: a new kind fails to compile until the UI is told what it is.
    match kind {
        ErrorKind::Keyring => UiErrorKind::Keyring,
        ErrorKind::NeedsRelink => UiErrorKind::NeedsRelink,
        ErrorKind::CannotRefresh => UiErrorKind::CannotRefresh,
        // Problems with how a provider is set up, as opposed to what it answered.
        ErrorKind::ProviderNotFound
        | ErrorKind::ProviderSetup
        | ErrorKind::ClientSecretMissing
        | ErrorKind::Discovery => UiErrorKind::Provider,
        ErrorKind::Callback => UiErrorKind::Callback,
        ErrorKind::Denied => UiErrorKind::Denied,
        ErrorKind::TimedOut => UiErrorKind::Timeout,
        ErrorKind::LinkNotFound => UiErrorKind::LinkNotFound,
        ErrorKind::Network => UiErrorKind::Network,
        ErrorKind::ProviderResponse => UiErrorKind::ProviderResponse,
        ErrorKind::AccountNotFound => UiErrorKind::AccountNotFound,
        ErrorKind::Storage => UiErrorKind::Storage,
        ErrorKind::Browser => UiErrorKind::Browser,
    }
}

/// Core messages are clauses ("the system keyring is locked ..."); the UI shows sentences.
fn sentence(text: &str) -> String {
    let mut chars = text.trim().chars();
    let mut out: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => return String::new(),
    };
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_errors_become_kinded_sentences() {
        let e: UiError = keyfob_core::Error::ProviderNotFound("github".into()).into();
        assert_eq!(e.kind, UiErrorKind::Provider);
        assert_eq!(e.message, "No provider named 'github' is configured.");
        let e: UiError =
            keyfob_core::Error::Callback(keyfob_core::CallbackError::UnknownState).into();
        assert_eq!(e.kind, UiErrorKind::Callback);
        assert!(e.message.starts_with("Refused a callback whose state"));
    }

    /// The provider editor shows a refused edit's message as it is; a provider changed under
    /// an account asks for a new link.
    #[test]
    fn binding_refusals_reach_the_window_with_their_kinds() {
        let e: UiError = keyfob_core::Error::ProviderInUse {
            provider: "local".into(),
            accounts: 1,
            changes: "the client id".into(),
        }
        .into();
        assert_eq!(e.kind, UiErrorKind::Provider);
        assert!(
            e.message.starts_with(
                "Provider 'local' cannot change the client id while 1 account(s) are linked"
            ) && e.message.contains("Unlink those accounts first"),
            "{}",
            e.message
        );
        let e: UiError = keyfob_core::Error::ProviderChanged {
            account: "local-1".into(),
            provider: "local".into(),
            changes: "the token endpoint".into(),
        }
        .into();
        assert_eq!(e.kind, UiErrorKind::NeedsRelink);
        assert!(e.message.contains("re-link the account"), "{}", e.message);
    }

    /// The kind strings the UI branches on stay what they were when they were derived from the
    /// core's variants directly.
    #[test]
    fn every_kind_keeps_its_ui_string() {
        let table = [
            (ErrorKind::Keyring, "keyring"),
            (ErrorKind::NeedsRelink, "needs_relink"),
            (ErrorKind::CannotRefresh, "cannot_refresh"),
            (ErrorKind::AccountNotFound, "account_not_found"),
            (ErrorKind::ProviderNotFound, "provider"),
            (ErrorKind::LinkNotFound, "link_not_found"),
            (ErrorKind::ProviderSetup, "provider"),
            (ErrorKind::ClientSecretMissing, "provider"),
            (ErrorKind::Discovery, "provider"),
            (ErrorKind::Callback, "callback"),
            (ErrorKind::Denied, "denied"),
            (ErrorKind::TimedOut, "timeout"),
            (ErrorKind::Network, "network"),
            (ErrorKind::ProviderResponse, "provider_response"),
            (ErrorKind::Storage, "storage"),
            (ErrorKind::Browser, "browser"),
        ];
        for (kind, ui) in table {
            // What the window receives is the serialized kind.
            let sent = serde_json::to_value(kind_of(kind)).expect("serializable");
            assert_eq!(sent, ui, "{kind:?}");
        }
    }

    /// The core's failed-opener error reaches the window as the shell's own did.
    #[test]
    fn a_browser_that_did_not_open_keeps_its_kind_and_message() {
        let e: UiError = keyfob_core::Error::BrowserNotOpened.into();
        assert_eq!(
            e,
            UiError::new(
                UiErrorKind::Browser,
                "Keyfob could not start your web browser; check that a default browser is set \
                 in your system settings, then try again",
            )
        );
        assert_eq!(
            e.message,
            "Keyfob could not start your web browser; check that a default browser is set in \
             your system settings, then try again."
        );
    }

    #[test]
    fn sentences_keep_existing_punctuation() {
        assert_eq!(sentence("done."), "Done.");
        assert_eq!(sentence(""), "");
    }
}
