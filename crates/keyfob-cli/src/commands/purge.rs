//! `keyfob purge`: the clean slate an uninstall needs.

use keyfob_core::{Keyfob, Revocation};

use crate::exit::{Failure, USAGE};

/// Removes everything after an explicit `--yes`.
pub async fn run(kf: &Keyfob, revoke: bool, yes: bool) -> Result<(), Failure> {
    if !yes {
        // A damaged file is no reason to refuse: purge is the way out of one.
        let count = |n: keyfob_core::Result<usize>, what: &str| match n {
            Ok(n) => format!("{n} {what}(s)"),
            Err(_) => format!("the {what}s (their file cannot be read)"),
        };
        return Err(Failure::new(
            USAGE,
            format!(
                "this would {}remove {}, {} and all of Keyfob's keyring entries and files; run \
                 again with --yes to do it",
                if revoke { "revoke and " } else { "" },
                count(kf.accounts().map(|a| a.len()), "account"),
                count(kf.providers().map(|p| p.len()), "provider"),
            ),
        ));
    }
    let report = kf.purge(revoke).await?;
    for (who, revocation) in &report.accounts {
        let who = crate::terminal::clean(who);
        match revocation {
            Some(Revocation::Revoked) => eprintln!("Removed {who} (revoked at the provider)."),
            Some(Revocation::AlreadyRevoked) => {
                eprintln!("Removed {who} (the provider had already revoked it).")
            }
            Some(Revocation::NotSupported) | None => eprintln!("Removed {who}."),
            Some(Revocation::Failed(reason)) => {
                eprintln!(
                    "Removed {who}; revocation failed: {}.",
                    crate::terminal::clean(reason)
                )
            }
        }
    }
    for problem in &report.unreadable {
        let secrets = if report.swept_secrets.is_some() {
            "its keyring entries were deleted with all the others"
        } else {
            "its keyring entries could not be found; look for items named \
             account/... in your keyring and delete them by hand"
        };
        eprintln!(
            "{}. Nothing it lists could be revoked at a provider, and {secrets}.",
            crate::terminal::clean(problem)
        );
    }
    let rest = if report.unreadable.is_empty() || report.swept_secrets.is_some() {
        "every keyring entry and file of Keyfob's"
    } else {
        "Keyfob's files and the keyring entries they named"
    };
    eprintln!(
        "Removed {} account(s), {} provider(s), {} pending link(s) and {rest}.",
        report.accounts.len(),
        report.providers.len(),
        report.pending_links
    );
    Ok(())
}
