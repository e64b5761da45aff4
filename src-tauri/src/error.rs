//! The one error type the UI sees: a kind to branch on and a message to show. Core errors are
//! converted here, once, at the boundary; their messages already say what the user can do.

use serde::Serialize;

/// A serializable error for the webview.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UiError {
    /// A stable machine-readable category (see [`kind_of`]).
    pub kind: &'static str,
    /// A sentence for the user. Never contains a token, code, state or callback URL.
    pub message: String,
}

impl UiError {
    pub fn new(kind: &'static str, message: impl Into<String>) -> Self {
        UiError {
            kind,
            message: sentence(&message.into()),
        }
    }
}

impl From<keyfob_core::Error> for UiError {
    fn from(e: keyfob_core::Error) -> Self {
        UiError::new(kind_of(&e), e.to_string())
    }
}

/// Groups core errors by what the UI does about them (colour, wording, offered action).
fn kind_of(e: &keyfob_core::Error) -> &'static str {
    use keyfob_core::Error as E;
    match e {
        E::KeyringUnavailable(_) | E::KeyringLocked(_) | E::Keyring(_) => "keyring",
        E::SecretMissing { .. } | E::NeedsRelink { .. } => "needs_relink",
        E::CannotRefresh { .. } => "cannot_refresh",
        E::ProviderNotFound(_)
        | E::ProviderExists(_)
        | E::ClientSecretMissing(_)
        | E::ProviderInvalid { .. }
        | E::Discovery { .. }
        | E::IssuerMismatch { .. } => "provider",
        E::Callback(_) => "callback",
        E::AuthorizationDenied { .. } => "denied",
        E::LinkTimedOut => "timeout",
        E::LinkNotFound(_) => "link_not_found",
        E::Network { .. } | E::ProviderUnavailable { .. } => "network",
        E::InvalidResponse { .. }
        | E::AccessTokenRefused { .. }
        | E::TokenRejected { .. }
        | E::InvalidIdToken { .. }
        | E::Identity { .. } => "provider_response",
        E::AccountNotFound(_) => "account_not_found",
        E::Io { .. } | E::CorruptFile { .. } | E::NoHomeDirectory => "storage",
        // The core grows variants (for example loopback time-outs); they still carry a
        // readable message.
        #[allow(unreachable_patterns)]
        _ => "other",
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
        assert_eq!(e.kind, "provider");
        assert_eq!(e.message, "No provider named 'github' is configured.");
        let e: UiError =
            keyfob_core::Error::Callback(keyfob_core::CallbackError::UnknownState).into();
        assert_eq!(e.kind, "callback");
        assert!(e.message.starts_with("Refused a callback whose state"));
    }

    #[test]
    fn sentences_keep_existing_punctuation() {
        assert_eq!(sentence("done."), "Done.");
        assert_eq!(sentence(""), "");
    }
}
