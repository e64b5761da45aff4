//! Exit codes: the one place where core errors become a process status.

use keyfob_core::{Error, ErrorKind};

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
  7  the link was not completed (refused, denied, timed out or cancelled)
`keyfob exec` and `keyfob curl` exit with the command's own status once it has
run (128 + N when signal N ended it).";

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
    /// Ends Keyfob with `code` and no message: a child's status passed through (0 is
    /// success). Only `exec` and `curl` pass a child's status through, and they are Unix-only.
    #[cfg(unix)]
    pub fn exit_with(code: u8) -> Result<(), Failure> {
        match code {
            0 => Ok(()),
            code => Err(Failure::new(code, String::new())),
        }
    }

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
        Failure::new(code_for(e.kind()), e.to_string())
    }
}

/// The exit code the help text promises for each kind of core error.
fn code_for(kind: ErrorKind) -> u8 {
    // No wildcard: a new kind fails to compile until it is given a code.
    match kind {
        ErrorKind::AccountNotFound | ErrorKind::ProviderNotFound | ErrorKind::LinkNotFound => {
            NOT_FOUND
        }
        ErrorKind::NeedsRelink | ErrorKind::CannotRefresh => NEEDS_RELINK,
        ErrorKind::Network | ErrorKind::ProviderResponse | ErrorKind::Discovery => PROVIDER,
        ErrorKind::Keyring => KEYRING,
        ErrorKind::Callback | ErrorKind::Denied | ErrorKind::TimedOut | ErrorKind::Browser => LINK,
        ErrorKind::ProviderSetup => USAGE,
        ErrorKind::Storage | ErrorKind::ClientSecretMissing => OTHER,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyfob_core::CallbackError;

    /// One of every core error variant, with the code the help text promises for it. The
    /// matches in `Error::kind` and `code_for` have no wildcard, so a new variant fails to
    /// compile until it is classified; this table fails if one is classified against the help
    /// text.
    #[test]
    fn every_error_kind_has_the_documented_code() {
        let s = String::new;
        let io = || std::io::Error::other("x");
        let table: Vec<(Error, u8)> = vec![
            (Error::KeyringUnavailable(s()), KEYRING),
            (Error::KeyringLocked(s()), KEYRING),
            (Error::KeyringTimedOut(90), KEYRING),
            (
                Error::LockTimedOut {
                    path: "p".into(),
                    secs: 1,
                },
                OTHER,
            ),
            (Error::Keyring(s()), KEYRING),
            (
                Error::SecretMissing {
                    account: s(),
                    what: "access token",
                },
                NEEDS_RELINK,
            ),
            (
                Error::Io {
                    path: "p".into(),
                    source: io(),
                },
                OTHER,
            ),
            (
                Error::CorruptFile {
                    path: "p".into(),
                    reason: s(),
                },
                OTHER,
            ),
            (Error::NoHomeDirectory, OTHER),
            (Error::ProviderNotFound(s()), NOT_FOUND),
            (Error::ProviderExists(s()), USAGE),
            (
                Error::ProviderInUse {
                    provider: s(),
                    accounts: 1,
                    changes: s(),
                },
                USAGE,
            ),
            (
                Error::ProviderChanged {
                    account: s(),
                    provider: s(),
                    changes: s(),
                },
                NEEDS_RELINK,
            ),
            (
                Error::AccountIdTaken {
                    id: s(),
                    other: s(),
                },
                OTHER,
            ),
            (
                Error::ProviderInvalid {
                    provider: s(),
                    reason: s(),
                },
                USAGE,
            ),
            (Error::ClientSecretMissing(s()), OTHER),
            (
                Error::Discovery {
                    issuer: s(),
                    reason: s(),
                },
                PROVIDER,
            ),
            (
                Error::IssuerMismatch {
                    expected: s(),
                    found: s(),
                },
                PROVIDER,
            ),
            (Error::Callback(CallbackError::UnknownState), LINK),
            (
                Error::AuthorizationDenied {
                    provider: s(),
                    code: s(),
                    description: None,
                },
                LINK,
            ),
            (Error::LinkTimedOut, LINK),
            (Error::LinkNotFound(s()), NOT_FOUND),
            // The link was cancelled (the CLI's own opener never fails: it prints the URL).
            (Error::BrowserNotOpened, LINK),
            (Error::DeviceFlowOff(s()), USAGE),
            (Error::DeviceFlowRefused(s()), USAGE),
            (
                Error::DeviceClientRefused {
                    provider: s(),
                    detail: s(),
                },
                USAGE,
            ),
            (
                Error::DeviceScopeRefused {
                    provider: s(),
                    detail: s(),
                },
                USAGE,
            ),
            (Error::DeviceCodeDenied(s()), LINK),
            (Error::DeviceCodeExpired, LINK),
            (
                Error::Network {
                    endpoint: s(),
                    reason: s(),
                },
                PROVIDER,
            ),
            (
                Error::ProviderUnavailable {
                    endpoint: s(),
                    status: 503,
                },
                PROVIDER,
            ),
            (
                Error::InvalidResponse {
                    endpoint: s(),
                    reason: s(),
                },
                PROVIDER,
            ),
            (
                Error::AccessTokenRefused {
                    endpoint: s(),
                    message: None,
                    invalid_token: true,
                },
                PROVIDER,
            ),
            (
                Error::TokenRejected {
                    endpoint: s(),
                    code: s(),
                    description: None,
                },
                PROVIDER,
            ),
            (
                Error::InvalidIdToken {
                    issuer: s(),
                    reason: s(),
                },
                PROVIDER,
            ),
            (
                Error::Identity {
                    provider: s(),
                    reason: s(),
                },
                PROVIDER,
            ),
            (Error::AccountNotFound(s()), NOT_FOUND),
            (
                Error::NeedsRelink {
                    account: s(),
                    reason: s(),
                },
                NEEDS_RELINK,
            ),
            (
                Error::CannotRefresh {
                    account: s(),
                    reason: s(),
                },
                NEEDS_RELINK,
            ),
            (
                Error::RefreshTokenNotStored {
                    account: s(),
                    advice: s(),
                },
                NEEDS_RELINK,
            ),
            (
                Error::RevocationPending {
                    account: s(),
                    advice: s(),
                },
                PROVIDER,
            ),
        ];
        for (error, code) in table {
            let shown = format!("{error:?}");
            assert_eq!(Failure::from(error).code, code, "{shown}");
        }
        // Each code the help text lists is there, once.
        for code in [
            OTHER,
            USAGE,
            NOT_FOUND,
            NEEDS_RELINK,
            PROVIDER,
            KEYRING,
            LINK,
        ] {
            assert_eq!(
                HELP.matches(&format!("\n  {code}  ")).count(),
                1,
                "exit code {code} in the help text"
            );
        }
    }
}
