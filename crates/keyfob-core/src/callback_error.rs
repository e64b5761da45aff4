//! Why a callback URL was refused. Its own module, below the core's error type that wraps it
//! ([`crate::error::Error::Callback`]): it imports nothing from the rest of the core.

/// Why a callback URL was refused. Messages never quote the code or the state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    /// Longer than [`MAX_CALLBACK_LEN`](crate::callback::MAX_CALLBACK_LEN).
    #[error("refused a callback of {0} bytes (the limit is 8 KiB)")]
    TooLong(usize),
    /// Not a URL.
    #[error("refused a callback that is not a valid URL: {0}")]
    Malformed(String),
    /// A parameter that must appear once appeared more often.
    #[error("refused a callback with more than one '{0}' parameter")]
    DuplicateParameter(&'static str),
    /// No `state`.
    #[error("refused a callback without a 'state' parameter")]
    MissingState,
    /// A `state` no link was started with.
    #[error("refused a callback whose state matches no link started by Keyfob")]
    UnknownState,
    /// The state was already consumed by an earlier callback.
    #[error("refused a callback for a link that was already completed (a state works only once)")]
    StateAlreadyUsed,
    /// The link was cancelled.
    #[error("refused a callback for a link that was cancelled; start a new link")]
    LinkCancelled,
    /// The link waited too long.
    #[error("refused a callback for a link that expired at {0}; start a new link")]
    StateExpired(String),
    /// The URL is not the redirect URI of the link's provider (mix-up defence).
    #[error("refused a callback that arrived at {got}, but that link expects {expected}")]
    WrongRedirect { expected: String, got: String },
    /// `iss` names another issuer (RFC 9207 section 2.4).
    #[error("refused a callback from issuer '{got}'; the link was started with '{expected}'")]
    IssuerMismatch { expected: String, got: String },
    /// `iss` is missing though the provider announces it (RFC 9207 section 2.4).
    #[error("refused a callback without 'iss', which {0} always sends (RFC 9207)")]
    MissingIssuer(String),
    /// Neither `code` nor `error`.
    #[error("refused a callback with neither a 'code' nor an 'error' parameter")]
    MissingCode,
}
