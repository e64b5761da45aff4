//! The core's error type: each variant says what went wrong and what the user can do.

use std::path::PathBuf;

use crate::callback_error::CallbackError;

/// What to do when no keyring answers, by the platform's keyring: the `keyring` crate reports a
/// refused or cancelled Keychain prompt and a failing Credential Manager as the same "platform
/// failure" that a missing Secret Service is on Linux.
#[cfg(target_os = "macos")]
const KEYRING_UNAVAILABLE_ADVICE: &str = "Unlock your login keychain, or choose Allow when macOS asks whether Keyfob may use it, and try again";
#[cfg(windows)]
const KEYRING_UNAVAILABLE_ADVICE: &str =
    "Check that Windows Credential Manager opens for your account, and try again";
#[cfg(not(any(target_os = "macos", windows)))]
const KEYRING_UNAVAILABLE_ADVICE: &str =
    "Start a Secret Service provider such as gnome-keyring and try again";

/// Everything that can go wrong in Keyfob's engine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No Secret Service / Keychain / Credential Manager could be reached.
    #[error("the system keyring is not available ({0}); Keyfob keeps tokens only in the keyring, so nothing was stored. {advice}", advice = KEYRING_UNAVAILABLE_ADVICE)]
    KeyringUnavailable(String),
    /// The keyring exists but is locked and could not be unlocked.
    #[error("the system keyring is locked ({0}); unlock it (for example by logging in to your desktop) and try again")]
    KeyringLocked(String),
    /// Any other keyring failure.
    #[error("keyring error: {0}")]
    Keyring(String),
    /// The keyring did not answer in time.
    #[error("the system keyring did not answer within {0} s (it may be waiting for a password to unlock it, or be stuck); unlock it, or restart its service, and try again")]
    KeyringTimedOut(u64),
    /// A secret that the metadata says exists is missing from the keyring.
    #[error("the keyring has no {what} for account {account}; link the account again")]
    SecretMissing { account: String, what: &'static str },

    /// Reading or writing one of Keyfob's files failed.
    #[error("cannot access {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Another Keyfob process held a lock for too long.
    #[error("waited {secs} s for {path}, which another Keyfob process holds; try again when it is done (or end it if it is stuck)")]
    LockTimedOut { path: PathBuf, secs: u64 },
    /// A file of Keyfob's exists but cannot be understood.
    #[error("{path} is damaged or from a newer Keyfob: {reason}")]
    CorruptFile { path: PathBuf, reason: String },
    /// No platform config/data directory could be determined.
    #[error("cannot determine where to keep Keyfob's files (no home directory); set KEYFOB_HOME")]
    NoHomeDirectory,

    /// No provider with that id is configured.
    #[error("no provider named '{0}' is configured")]
    ProviderNotFound(String),
    /// A provider with that id already exists.
    #[error("a provider named '{0}' already exists")]
    ProviderExists(String),
    /// A provider definition is not usable.
    #[error("provider '{provider}' is misconfigured: {reason}")]
    ProviderInvalid { provider: String, reason: String },
    /// An edit would change where the tokens of accounts linked through the provider go.
    #[error("provider '{provider}' cannot change {changes} while {accounts} account(s) are linked through it: their tokens and its client secret go only where they were linked. Unlink those accounts first (and link them again after the change), or set the new settings up as another provider and re-link the accounts there")]
    ProviderInUse {
        provider: String,
        accounts: usize,
        changes: String,
    },
    /// The provider's definition no longer matches what an account was linked with, so
    /// nothing was sent.
    #[error("provider '{provider}' no longer matches what account {account} was linked with ({changes}), so nothing was sent to it; re-link the account (or unlink it), or restore the provider's settings")]
    ProviderChanged {
        account: String,
        provider: String,
        changes: String,
    },
    /// The provider authenticates with a client secret, but the keyring holds none for it.
    #[error("provider '{0}' authenticates with a client secret, but the keyring holds none for it; set it again (Providers in the Keyfob window, or `keyfob provider secret {0}` with the secret on standard input)")]
    ClientSecretMissing(String),
    /// Discovery of an OpenID provider failed.
    #[error("discovery of {issuer} failed: {reason}")]
    Discovery { issuer: String, reason: String },
    /// A discovery document names another issuer than the one asked for (RFC 8414 section 3.3).
    #[error("the discovery document of {expected} claims to be issuer {found}; refusing it (RFC 8414 section 3.3)")]
    IssuerMismatch { expected: String, found: String },

    /// A callback URL was refused; nothing stored was changed.
    #[error("{0}")]
    Callback(#[from] CallbackError),
    /// The provider answered the authorization request with an error (the user denied, ...).
    #[error("{provider} did not authorize the link: {}", describe_oauth_error(code, description.as_deref()))]
    AuthorizationDenied {
        provider: String,
        code: String,
        description: Option<String>,
    },
    /// Nobody completed the sign-in before the link expired.
    #[error("the sign-in was not completed in time; start the link again")]
    LinkTimedOut,
    /// No pending link has that id.
    #[error("no pending link with id {0} (it finished, expired or was cancelled)")]
    LinkNotFound(String),
    /// The face's opener could not send the system browser to the sign-in page, so the link
    /// was cancelled. Says nothing of why: an opener's error may quote the URL and its state.
    #[error("Keyfob could not start your web browser; check that a default browser is set in your system settings, then try again")]
    BrowserNotOpened,
    /// Linking with a code is not turned on for this provider.
    #[error("linking with a code is not turned on for provider '{0}'; turn it on in the provider's settings (its discovery must offer it), or link through the browser")]
    DeviceFlowOff(String),
    /// The provider has the device flow turned off for this client (GitHub's
    /// `device_flow_disabled`).
    #[error("{0} has linking with a code turned off for this app: turn on \"Enable Device Flow\" in the app's settings there, or link through the browser instead")]
    DeviceFlowRefused(String),
    /// The provider refused the client that asked for a code: Google gives codes only to a
    /// client of type "TVs and Limited Input devices".
    #[error("{provider} refused the client for linking with a code ({detail}): it takes only a client of type \"TVs and Limited Input devices\", set as the provider's device client; nothing was linked")]
    DeviceClientRefused { provider: String, detail: String },
    /// A scope the provider does not allow when linking with a code (Google's device flow
    /// takes only a short list).
    #[error("{provider} does not allow a scope asked for when linking with a code ({detail}); link in a browser (without --device) for it; nothing was linked")]
    DeviceScopeRefused { provider: String, detail: String },
    /// The user denied the code at the provider.
    #[error("the code was denied at {0}; nothing was linked")]
    DeviceCodeDenied(String),
    /// Nobody entered the code before it expired.
    #[error("the code expired before it was entered; start the link again for a new one")]
    DeviceCodeExpired,

    /// The provider could not be reached.
    #[error("cannot reach {endpoint}: {reason}. Check your network connection and try again")]
    Network { endpoint: String, reason: String },
    /// The provider answered with a server error (5xx).
    #[error("{endpoint} is unavailable (HTTP {status}); try again later. Stored tokens were left as they were")]
    ProviderUnavailable { endpoint: String, status: u16 },
    /// The provider answered with something that is not a valid response.
    #[error("{endpoint} gave an invalid response: {reason}")]
    InvalidResponse { endpoint: String, reason: String },
    /// The provider answered 401 to a request made with the account's access token.
    #[error("{endpoint} refused the access token (HTTP 401{})", message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    AccessTokenRefused {
        endpoint: String,
        message: Option<String>,
        /// `WWW-Authenticate` said `error="invalid_token"` (RFC 6750 section 3.1): the token
        /// itself is dead, not merely meant for another resource.
        invalid_token: bool,
    },
    /// The token endpoint refused the request with an OAuth error.
    #[error("{endpoint} refused the request: {}", describe_oauth_error(code, description.as_deref()))]
    TokenRejected {
        endpoint: String,
        code: String,
        description: Option<String>,
    },

    /// The ID token failed validation (OIDC Core section 3.1.3.7).
    #[error("the ID token from {issuer} is not valid: {reason}")]
    InvalidIdToken { issuer: String, reason: String },
    /// The identity could not be established.
    #[error("cannot establish the identity at {provider}: {reason}")]
    Identity { provider: String, reason: String },

    /// No account matches.
    #[error("no account '{0}'")]
    AccountNotFound(String),
    /// A link would store its account under an id another identity's account holds.
    #[error("account id {id} is already taken by another account ({other}); unlink that one first, then link again")]
    AccountIdTaken { id: String, other: String },
    /// The account's grant is gone; the user must link it again.
    #[error("account {account} must be linked again: {reason}")]
    NeedsRelink { account: String, reason: String },
    /// The keyring refused to store a rotated refresh token; the account is marked and is not
    /// refreshed again.
    #[error("account {account} cannot be refreshed: {advice}")]
    RefreshTokenNotStored { account: String, advice: String },
    /// An unlink could not revoke at the provider for a reason that may pass; the account is
    /// kept, marked, for another try.
    #[error("account {account} was not unlinked: {advice}")]
    RevocationPending { account: String, advice: String },
    /// The account has no refresh token, yet its access token is still good: nothing was
    /// changed, but what was asked for cannot be had without a new link.
    #[error("account {account} cannot be refreshed: {reason}")]
    CannotRefresh { account: String, reason: String },
}

/// The core's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn describe_oauth_error(code: &str, description: Option<&str>) -> String {
    match description {
        Some(d) if !d.is_empty() => format!("{code} ({d})"),
        _ => code.to_string(),
    }
}

/// What kind of failure an [`Error`] is: the one classification the CLI's exit codes and the
/// UI's error kinds are both derived from, so a new variant is classified once, here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The keyring is unavailable, locked or failed.
    Keyring,
    /// The account's grant or one of its secrets is gone; it must be linked again.
    NeedsRelink,
    /// The account has no refresh token, so what was asked for needs a new link.
    CannotRefresh,
    /// No account matches.
    AccountNotFound,
    /// No provider with that id is configured.
    ProviderNotFound,
    /// No pending link has that id.
    LinkNotFound,
    /// A provider cannot be added as given (it exists already, or its definition is unusable).
    ProviderSetup,
    /// The keyring holds no client secret for a provider that needs one.
    ClientSecretMissing,
    /// Discovering an OpenID provider failed or named another issuer.
    Discovery,
    /// A callback URL was refused.
    Callback,
    /// The provider did not authorize the link.
    Denied,
    /// The sign-in was not completed before the link expired.
    TimedOut,
    /// The provider could not be reached or answered with a server error.
    Network,
    /// The provider answered, but refused the request or gave an unusable answer.
    ProviderResponse,
    /// Keyfob's own files cannot be found, read or written, or hold records in conflict.
    Storage,
    /// The system browser could not be opened for a link, which was cancelled.
    Browser,
}

impl Error {
    /// The kind of failure this is (see [`ErrorKind`]).
    pub fn kind(&self) -> ErrorKind {
        // No wildcard: a new variant fails to compile until it is given a kind.
        match self {
            Error::KeyringUnavailable(_)
            | Error::KeyringLocked(_)
            | Error::Keyring(_)
            | Error::KeyringTimedOut(_) => ErrorKind::Keyring,
            Error::SecretMissing { .. }
            | Error::NeedsRelink { .. }
            | Error::ProviderChanged { .. }
            | Error::RefreshTokenNotStored { .. } => ErrorKind::NeedsRelink,
            Error::RevocationPending { .. } => ErrorKind::Network,
            Error::CannotRefresh { .. } => ErrorKind::CannotRefresh,
            Error::AccountNotFound(_) => ErrorKind::AccountNotFound,
            Error::ProviderNotFound(_) => ErrorKind::ProviderNotFound,
            Error::LinkNotFound(_) => ErrorKind::LinkNotFound,
            Error::BrowserNotOpened => ErrorKind::Browser,
            Error::DeviceFlowOff(_)
            | Error::DeviceFlowRefused(_)
            | Error::DeviceClientRefused { .. }
            | Error::DeviceScopeRefused { .. } => ErrorKind::ProviderSetup,
            Error::DeviceCodeDenied(_) => ErrorKind::Denied,
            Error::DeviceCodeExpired => ErrorKind::TimedOut,
            Error::ProviderExists(_)
            | Error::ProviderInvalid { .. }
            | Error::ProviderInUse { .. } => ErrorKind::ProviderSetup,
            Error::ClientSecretMissing(_) => ErrorKind::ClientSecretMissing,
            Error::Discovery { .. } | Error::IssuerMismatch { .. } => ErrorKind::Discovery,
            Error::Callback(_) => ErrorKind::Callback,
            Error::AuthorizationDenied { .. } => ErrorKind::Denied,
            Error::LinkTimedOut => ErrorKind::TimedOut,
            Error::Network { .. } | Error::ProviderUnavailable { .. } => ErrorKind::Network,
            Error::InvalidResponse { .. }
            | Error::AccessTokenRefused { .. }
            | Error::TokenRejected { .. }
            | Error::InvalidIdToken { .. }
            | Error::Identity { .. } => ErrorKind::ProviderResponse,
            Error::Io { .. }
            | Error::LockTimedOut { .. }
            | Error::CorruptFile { .. }
            | Error::NoHomeDirectory
            | Error::AccountIdTaken { .. } => ErrorKind::Storage,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One of every variant with its kind: the CLI's exit codes and the UI's kinds rest on it.
    #[test]
    fn every_variant_has_its_kind() {
        let s = String::new;
        let table: Vec<(Error, ErrorKind)> = vec![
            (Error::KeyringUnavailable(s()), ErrorKind::Keyring),
            (Error::KeyringLocked(s()), ErrorKind::Keyring),
            (Error::KeyringTimedOut(90), ErrorKind::Keyring),
            (
                Error::LockTimedOut {
                    path: "p".into(),
                    secs: 1,
                },
                ErrorKind::Storage,
            ),
            (Error::Keyring(s()), ErrorKind::Keyring),
            (
                Error::SecretMissing {
                    account: s(),
                    what: "access token",
                },
                ErrorKind::NeedsRelink,
            ),
            (
                Error::io("p", std::io::Error::other("x")),
                ErrorKind::Storage,
            ),
            (
                Error::CorruptFile {
                    path: "p".into(),
                    reason: s(),
                },
                ErrorKind::Storage,
            ),
            (Error::NoHomeDirectory, ErrorKind::Storage),
            (Error::ProviderNotFound(s()), ErrorKind::ProviderNotFound),
            (Error::ProviderExists(s()), ErrorKind::ProviderSetup),
            (
                Error::ProviderInvalid {
                    provider: s(),
                    reason: s(),
                },
                ErrorKind::ProviderSetup,
            ),
            (
                Error::ProviderInUse {
                    provider: s(),
                    accounts: 1,
                    changes: s(),
                },
                ErrorKind::ProviderSetup,
            ),
            (
                Error::ProviderChanged {
                    account: s(),
                    provider: s(),
                    changes: s(),
                },
                ErrorKind::NeedsRelink,
            ),
            (
                Error::AccountIdTaken {
                    id: s(),
                    other: s(),
                },
                ErrorKind::Storage,
            ),
            (
                Error::ClientSecretMissing(s()),
                ErrorKind::ClientSecretMissing,
            ),
            (
                Error::Discovery {
                    issuer: s(),
                    reason: s(),
                },
                ErrorKind::Discovery,
            ),
            (
                Error::IssuerMismatch {
                    expected: s(),
                    found: s(),
                },
                ErrorKind::Discovery,
            ),
            (
                Error::Callback(CallbackError::UnknownState),
                ErrorKind::Callback,
            ),
            (
                Error::AuthorizationDenied {
                    provider: s(),
                    code: s(),
                    description: None,
                },
                ErrorKind::Denied,
            ),
            (Error::LinkTimedOut, ErrorKind::TimedOut),
            (Error::LinkNotFound(s()), ErrorKind::LinkNotFound),
            (Error::BrowserNotOpened, ErrorKind::Browser),
            (Error::DeviceFlowOff(s()), ErrorKind::ProviderSetup),
            (Error::DeviceFlowRefused(s()), ErrorKind::ProviderSetup),
            (
                Error::DeviceClientRefused {
                    provider: s(),
                    detail: s(),
                },
                ErrorKind::ProviderSetup,
            ),
            (
                Error::DeviceScopeRefused {
                    provider: s(),
                    detail: s(),
                },
                ErrorKind::ProviderSetup,
            ),
            (Error::DeviceCodeDenied(s()), ErrorKind::Denied),
            (Error::DeviceCodeExpired, ErrorKind::TimedOut),
            (
                Error::Network {
                    endpoint: s(),
                    reason: s(),
                },
                ErrorKind::Network,
            ),
            (
                Error::ProviderUnavailable {
                    endpoint: s(),
                    status: 503,
                },
                ErrorKind::Network,
            ),
            (
                Error::InvalidResponse {
                    endpoint: s(),
                    reason: s(),
                },
                ErrorKind::ProviderResponse,
            ),
            (
                Error::AccessTokenRefused {
                    endpoint: s(),
                    message: None,
                    invalid_token: true,
                },
                ErrorKind::ProviderResponse,
            ),
            (
                Error::TokenRejected {
                    endpoint: s(),
                    code: s(),
                    description: None,
                },
                ErrorKind::ProviderResponse,
            ),
            (
                Error::InvalidIdToken {
                    issuer: s(),
                    reason: s(),
                },
                ErrorKind::ProviderResponse,
            ),
            (
                Error::Identity {
                    provider: s(),
                    reason: s(),
                },
                ErrorKind::ProviderResponse,
            ),
            (Error::AccountNotFound(s()), ErrorKind::AccountNotFound),
            (
                Error::NeedsRelink {
                    account: s(),
                    reason: s(),
                },
                ErrorKind::NeedsRelink,
            ),
            (
                Error::CannotRefresh {
                    account: s(),
                    reason: s(),
                },
                ErrorKind::CannotRefresh,
            ),
            (
                Error::RefreshTokenNotStored {
                    account: s(),
                    advice: s(),
                },
                ErrorKind::NeedsRelink,
            ),
            (
                Error::RevocationPending {
                    account: s(),
                    advice: s(),
                },
                ErrorKind::Network,
            ),
        ];
        for (error, kind) in table {
            assert_eq!(error.kind(), kind, "{error:?}");
        }
    }

    /// The kinds serialize as stable snake_case names.
    /// The advice names the keyring of the platform it runs on, not Linux's everywhere.
    #[test]
    fn an_unavailable_keyring_gets_this_platform_s_advice() {
        let message = Error::KeyringUnavailable("no answer".into()).to_string();
        assert!(message.contains("(no answer)"), "{message}");
        let (ours, others): (&str, [&str; 2]) = if cfg!(target_os = "macos") {
            ("keychain", ["Secret Service", "Credential Manager"])
        } else if cfg!(windows) {
            ("Credential Manager", ["Secret Service", "keychain"])
        } else {
            ("Secret Service", ["keychain", "Credential Manager"])
        };
        assert!(message.contains(ours), "{message}");
        for other in others {
            assert!(!message.contains(other), "{message}");
        }
    }

    #[test]
    fn kinds_serialize_in_snake_case() {
        let name = |k| serde_json::to_string(&k).unwrap();
        assert_eq!(name(ErrorKind::NeedsRelink), "\"needs_relink\"");
        assert_eq!(name(ErrorKind::TimedOut), "\"timed_out\"");
    }
}
