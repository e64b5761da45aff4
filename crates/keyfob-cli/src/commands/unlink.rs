//! `keyfob unlink`: revoke at the provider, forget here.

use keyfob_core::{Keyfob, Revocation};

use crate::exit::Failure;
use crate::selector::select;

/// Unlinks the selected account and says what the provider did.
pub async fn run(kf: &Keyfob, selector: &str) -> Result<(), Failure> {
    let accounts = kf.accounts()?;
    let account = select(&accounts, selector)?;
    let provider = crate::terminal::clean(
        &kf.provider(&account.provider)
            .map(|p| p.name)
            .unwrap_or_else(|_| account.provider.clone()),
    );
    let report = kf.unlink(&account.id).await?;
    let who = &crate::terminal::clean(&report.account.display_name);
    let settings = report
        .manage_url
        .as_ref()
        .map(|u| format!(" at {u}"))
        .unwrap_or_else(|| format!(" in your {provider} settings"));
    match report.revocation {
        Revocation::Revoked => eprintln!("Unlinked {who}; {provider} revoked its tokens."),
        Revocation::AlreadyRevoked => eprintln!(
            "Unlinked {who}; {provider} had already revoked its tokens, so nothing was left to \
             revoke."
        ),
        Revocation::NotSupported => eprintln!(
            "Unlinked {who} and deleted its tokens here. {provider} offers no way to revoke them from \
             Keyfob: they stay valid until they expire or you revoke Keyfob's access{settings}."
        ),
        Revocation::Failed(reason) => eprintln!(
            "Unlinked {who} and deleted its tokens here, but {provider} could not revoke them ({}). \
             Revoke Keyfob's access{settings} to be sure.",
            crate::terminal::clean(&reason)
        ),
    }
    Ok(())
}
