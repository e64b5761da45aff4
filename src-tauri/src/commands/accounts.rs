//! Accounts: list, copy a fresh token, refresh, unlink, forget.

use std::time::Duration;

use keyfob_core::{Account, Revocation, Secret};
use serde::Serialize;
use tauri::{AppHandle, State};

use crate::error::{UiError, UiErrorKind};
use crate::events;
use crate::state::AppState;

/// A copied token must stay valid at least this long, else it is refreshed first: long
/// enough to paste it into a tool and send a request.
const COPY_MIN_VALIDITY: Duration = Duration::from_secs(60);

#[tauri::command]
pub async fn list_accounts(state: State<'_, AppState>) -> Result<Vec<Account>, UiError> {
    Ok(state.keyfob.accounts()?)
}

/// What the UI learns about a copy: never the token itself.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Serialize)]
pub struct Copied {
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(test, ts(type = "string | null"))]
    pub expires_at: Option<time::OffsetDateTime>,
    pub refreshed: bool,
    /// Seconds until the clipboard is cleared, if it will be.
    pub clears_in: Option<u64>,
}

#[tauri::command]
pub async fn copy_token(
    app: AppHandle,
    state: State<'_, AppState>,
    account_id: String,
) -> Result<Copied, UiError> {
    copy_fresh_token(&app, &state, &account_id).await
}

/// Copies a fresh token of `account_id` to the clipboard: the window's Copy and the tray's.
pub async fn copy_fresh_token(
    app: &AppHandle,
    state: &AppState,
    account_id: &str,
) -> Result<Copied, UiError> {
    let result = state
        .keyfob
        .access_token(account_id, COPY_MIN_VALIDITY)
        .await;
    let fresh = match result {
        Ok(fresh) => fresh,
        Err(e) => {
            // A failed refresh may have marked the account as needing a new link.
            events::accounts_changed(app);
            return Err(e.into());
        }
    };
    copyable(&fresh.token)?;
    state.clipboard.copy(app, &fresh.token)?;
    if fresh.refreshed {
        events::accounts_changed(app);
    }
    Ok(Copied {
        expires_at: fresh.expires_at,
        refreshed: fresh.refreshed,
        clears_in: state.clipboard.clear_after().map(|d| d.as_secs()),
    })
}

/// A token with a control character or a space could break the command line it is pasted
/// into; the CLI refuses to print one, and the window refuses to copy one (the core's rule).
fn copyable(token: &Secret) -> Result<(), UiError> {
    if keyfob_core::token_is_plain(token.expose()) {
        Ok(())
    } else {
        Err(UiError::new(
            UiErrorKind::ProviderResponse,
            "the provider's access token contains characters that cannot be copied safely",
        ))
    }
}

#[tauri::command]
pub async fn refresh_account(
    app: AppHandle,
    state: State<'_, AppState>,
    account_id: String,
) -> Result<Account, UiError> {
    let result = state.keyfob.refresh_account(&account_id).await;
    // Success changes the expiry; invalid_grant changes the status: both change the list.
    events::accounts_changed(&app);
    Ok(result?)
}

/// How an unlink went at the provider.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Serialize)]
pub struct Unlinked {
    pub account_id: String,
    pub display_name: String,
    pub revocation: RevocationOutcome,
    /// Why revocation failed, when it did (local data is deleted anyway).
    pub revocation_error: Option<String>,
}

/// What the provider did with the grant.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RevocationOutcome {
    /// The grant is gone at the provider.
    Revoked,
    /// The provider offers no way to revoke it: the user is pointed to its settings.
    NotSupported,
    /// The provider did not confirm (local data is deleted anyway).
    Failed,
}

#[tauri::command]
pub async fn unlink_account(
    app: AppHandle,
    state: State<'_, AppState>,
    account_id: String,
) -> Result<Unlinked, UiError> {
    let result = state.keyfob.unlink(&account_id).await;
    // Unlinked, or kept and marked for a retry: either way the list changed.
    events::accounts_changed(&app);
    let report = result?;
    let (revocation, revocation_error) = match report.revocation {
        // Either way the grant is gone at the provider.
        Revocation::Revoked | Revocation::AlreadyRevoked => (RevocationOutcome::Revoked, None),
        Revocation::NotSupported => (RevocationOutcome::NotSupported, None),
        Revocation::Failed(why) => (RevocationOutcome::Failed, Some(why)),
    };
    Ok(Unlinked {
        account_id: report.account.id,
        display_name: report.account.display_name,
        revocation,
        revocation_error,
    })
}

/// Forgets an account without asking its provider to revoke anything (the way out when an
/// unlink's revocation keeps failing).
#[tauri::command]
pub async fn forget_account(
    app: AppHandle,
    state: State<'_, AppState>,
    account_id: String,
) -> Result<(), UiError> {
    state.keyfob.forget_account(&account_id).await?;
    events::accounts_changed(&app);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_tokens_are_copied() {
        assert!(copyable(&Secret::new("gho_16C7e42F292c6912E7710c838347Ae178B4a")).is_ok());
        let e = copyable(&Secret::new("abc\r\nrm -rf ~")).unwrap_err();
        assert_eq!(e.kind, UiErrorKind::ProviderResponse);
        assert!(
            e.message.contains("cannot be copied safely"),
            "{}",
            e.message
        );
    }
}
