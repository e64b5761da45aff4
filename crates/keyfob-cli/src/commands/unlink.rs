//! `keyfob unlink`: revoke at the provider, forget here.

use keyfob_core::{Error, Keyfob, Revocation};

use crate::exit::Failure;
use crate::selector::select;

/// Unlinks the selected account and says what the provider did; with `forget`, forgets it
/// without asking the provider.
pub async fn run(kf: &Keyfob, selector: &str, forget: bool) -> Result<(), Failure> {
    let accounts = kf.accounts()?;
    let account = select(&accounts, selector)?;
    let provider = crate::terminal::clean(
        &kf.provider(&account.provider)
            .map(|p| p.name)
            .unwrap_or_else(|_| account.provider.clone()),
    );
    if forget {
        let forgotten = kf.forget_account(&account.id).await?;
        eprintln!(
            "Forgot {} here without revoking anything: its access stays valid at {provider} \
             until it expires or you revoke Keyfob's access in your {provider} settings.",
            crate::terminal::clean(&forgotten.display_name)
        );
        return Ok(());
    }
    let report = match kf.unlink(&account.id).await {
        Ok(report) => report,
        Err(e @ Error::RevocationPending { .. }) => {
            let mut failure = Failure::from(e);
            let id = &account.id;
            failure.message.push_str(&format!(
                ". Run `keyfob unlink {id}` to try again, or `keyfob unlink --forget {id}` to \
                 forget it here without revoking"
            ));
            return Err(failure);
        }
        Err(e) => return Err(e.into()),
    };
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
