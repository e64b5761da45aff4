//! `keyfob purge`: the clean slate an uninstall needs.

use keyfob_core::{Keyfob, Revocation};

use crate::exit::{Failure, USAGE};

/// Removes everything after an explicit `--yes`.
pub async fn run(kf: &Keyfob, revoke: bool, yes: bool) -> Result<(), Failure> {
    let accounts = kf.accounts()?.len();
    let providers = kf.providers()?.len();
    if !yes {
        return Err(Failure::new(
            USAGE,
            format!(
                "this would {}remove {accounts} account(s), {providers} provider(s) and all of Keyfob's keyring \
                 entries and files; run again with --yes to do it",
                if revoke { "revoke and " } else { "" }
            ),
        ));
    }
    let report = kf.purge(revoke).await?;
    for (who, revocation) in &report.accounts {
        let who = crate::terminal::clean(who);
        match revocation {
            Some(Revocation::Revoked) => eprintln!("Removed {who} (revoked at the provider)."),
            Some(Revocation::NotSupported) | None => eprintln!("Removed {who}."),
            Some(Revocation::Failed(reason)) => {
                eprintln!("Removed {who}; revocation failed: {reason}.")
            }
        }
    }
    eprintln!(
        "Removed {} account(s), {} provider(s), {} pending link(s) and every keyring entry and file of Keyfob's.",
        report.accounts.len(),
        report.providers.len(),
        report.pending_links
    );
    Ok(())
}
