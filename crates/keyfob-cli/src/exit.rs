//! Exit codes: the one place where core errors become a process status.

use keyfob_core::Error;

/// Help text listing the exit codes (shown by `keyfob --help`).
pub const HELP: &str = "\
Exit codes:
  0  success
  1  other error (files, configuration, a client secret missing from the keyring)
  2  usage error
  3  no such account or provider, or the account selector is ambiguous
  4  the account must be linked again (or, having no refresh token, cannot be
     refreshed to last as long as --min-valid asks)
  5  provider or network error
  6  the system keyring is unavailable or locked
  7  the link was not completed (refused, denied, timed out or cancelled)";

/// Anything not listed below.
pub const OTHER: u8 = 1;
/// Bad arguments (clap also exits with 2).
pub const USAGE: u8 = 2;
/// No such account/provider, or an ambiguous selector.
pub const NOT_FOUND: u8 = 3;
/// The account's grant is gone.
pub const NEEDS_RELINK: u8 = 4;
/// The provider failed or could not be reached.
pub const PROVIDER: u8 = 5;
/// No usable keyring.
pub const KEYRING: u8 = 6;
/// A link did not complete.
pub const LINK: u8 = 7;

/// An error on its way out: a message for stderr and an exit code.
#[derive(Debug)]
pub struct Failure {
    /// The process exit status.
    pub code: u8,
    /// What to tell the user.
    pub message: String,
}

impl Failure {
    /// A failure with a given code.
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
        }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let code = match &e {
            Error::AccountNotFound(_) | Error::ProviderNotFound(_) | Error::LinkNotFound(_) => {
                NOT_FOUND
            }
            Error::NeedsRelink { .. }
            | Error::SecretMissing { .. }
            | Error::CannotRefresh { .. } => NEEDS_RELINK,
            Error::Network { .. }
            | Error::ProviderUnavailable { .. }
            | Error::InvalidResponse { .. }
            | Error::AccessTokenRefused { .. }
            | Error::TokenRejected { .. }
            | Error::Discovery { .. }
            | Error::IssuerMismatch { .. }
            | Error::InvalidIdToken { .. }
            | Error::Identity { .. } => PROVIDER,
            Error::KeyringUnavailable(_) | Error::KeyringLocked(_) | Error::Keyring(_) => KEYRING,
            Error::Callback(_) | Error::AuthorizationDenied { .. } | Error::LinkTimedOut => LINK,
            Error::ProviderExists(_) | Error::ProviderInvalid { .. } => USAGE,
            Error::Io { .. }
            | Error::CorruptFile { .. }
            | Error::NoHomeDirectory
            | Error::ClientSecretMissing(_) => OTHER,
        };
        Failure::new(code, e.to_string())
    }
}
