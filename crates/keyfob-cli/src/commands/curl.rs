//! `keyfob curl ACCOUNT -- CURL-ARGS`: runs curl with the account's `Authorization` header,
//! which curl reads from a pipe (`-H @/dev/fd/3`), so the token is in no process's argv.
//! curl sends such a header only to the host named on its command line, not to the hosts
//! `-L` redirects to (unless `--location-trusted` is given).

use std::ffi::OsString;
use std::time::Duration;

use keyfob_core::Keyfob;

use crate::child::{self, SECRET_FD};
use crate::commands::token::plain;
use crate::exit::Failure;
use crate::selector::select_here;

/// The curl to run: `$KEYFOB_CURL`, else `curl` from `PATH`.
fn curl_program() -> OsString {
    std::env::var_os("KEYFOB_CURL").unwrap_or_else(|| "curl".into())
}

/// Runs curl with `args` and the selected account's fresh token.
pub async fn run(
    kf: &Keyfob,
    selector: &str,
    min_valid: Duration,
    args: &[OsString],
) -> Result<(), Failure> {
    let accounts = kf.accounts()?;
    let account = select_here(&accounts, selector)?;
    let fresh = kf.access_token_of(account, min_valid).await?;
    let header = format!("Authorization: Bearer {}\n", plain(&fresh.token)?);
    let status = child::run(
        &curl_program(),
        &curl_args(args),
        &[],
        Some(header.as_bytes()),
    )
    .await?;
    Failure::exit_with(child::exit_code(status))
}

/// The header file first, so the user's own options come after it.
fn curl_args(args: &[OsString]) -> Vec<OsString> {
    let mut all = vec!["-H".into(), format!("@/dev/fd/{SECRET_FD}").into()];
    all.extend_from_slice(args);
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curl_reads_the_header_from_the_pipe_and_gets_the_users_arguments() {
        let args = curl_args(&["-s".into(), "https://api.example/me".into()]);
        assert_eq!(args, ["-H", "@/dev/fd/3", "-s", "https://api.example/me"]);
    }
}
