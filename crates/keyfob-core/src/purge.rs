//! Forgetting everything: what an uninstall should do before removing the program. Revokes
//! each account (unless told not to), then deletes every keyring entry and file of the profile.

use crate::authorize::pending::PendingStatus;
use crate::error::{Error, Result};
use crate::facade::Keyfob;
use crate::revocation::Revocation;
use crate::store::secrets::SecretKey;

/// What a purge did.
#[derive(Debug, Clone, Default)]
pub struct PurgeReport {
    /// Accounts removed, with what their providers did.
    pub accounts: Vec<(String, Option<Revocation>)>,
    /// Providers whose definitions and client secrets were removed.
    pub providers: Vec<String>,
    /// Links that were still waiting for their callback.
    pub pending_links: usize,
    /// Files that could not be read (damaged, or from a newer Keyfob), with why. Their
    /// accounts were not revoked at the providers, but their secrets went with the sweep.
    pub unreadable: Vec<String>,
    /// Keyring entries the final sweep found that no file named any more; `None` when there
    /// was no sweep (Windows' keyring cannot be searched safely, or an empty profile on a
    /// machine without a keyring).
    pub swept_secrets: Option<usize>,
}

impl Keyfob {
    /// Removes every account, provider, pending link, keyring entry and file of this profile.
    /// With `revoke`, each account's grant is revoked at its provider first. A damaged file
    /// does not stop it: it is the way back to a clean slate.
    pub async fn purge(&self, revoke: bool) -> Result<PurgeReport> {
        let mut report = PurgeReport::default();
        let accounts = readable(self.accounts(), &mut report)?;
        for account in accounts {
            if revoke {
                let unlinked = self.unlink(&account.id).await?;
                report
                    .accounts
                    .push((account.display_name, Some(unlinked.revocation)));
            } else {
                // Under the account's lock, so that a refresh cannot write a token back.
                let _turn = self.account_turn(&account.id).await?;
                self.delete_account_secrets(&account.id).await?;
                report.accounts.push((account.display_name, None));
            }
        }
        for link in readable(self.pending.load(), &mut report)? {
            if link.status == PendingStatus::Waiting {
                report.pending_links += 1;
            }
            self.secrets.delete(SecretKey::PendingLink(link.id)).await?;
        }
        for provider in readable(self.providers(), &mut report)? {
            self.secrets
                .delete(SecretKey::ClientSecret(provider.id.clone()))
                .await?;
            report.providers.push(provider.id);
        }
        report.swept_secrets = match self.secrets.delete_all().await {
            Ok(swept) => swept,
            // Nothing here ever needed a keyring: an empty profile on a machine without one
            // still gets its files removed.
            Err(Error::KeyringUnavailable(_)) if report.is_empty() => None,
            Err(e) => return Err(e),
        };
        for dir in [&self.paths().data_dir, &self.paths().config_dir] {
            match std::fs::remove_dir_all(dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(dir, e)),
            }
        }
        Ok(report)
    }
}

impl PurgeReport {
    /// Whether the profile held nothing that lives in the keyring.
    fn is_empty(&self) -> bool {
        self.accounts.is_empty()
            && self.providers.is_empty()
            && self.pending_links == 0
            && self.unreadable.is_empty()
    }
}

/// The list a file holds; a damaged file counts as empty and is reported, any other error
/// (an unreadable disk, say) stops the purge.
fn readable<T>(read: Result<Vec<T>>, report: &mut PurgeReport) -> Result<Vec<T>> {
    match read {
        Ok(items) => Ok(items),
        Err(e @ Error::CorruptFile { .. }) => {
            report.unreadable.push(e.to_string());
            Ok(Vec::new())
        }
        Err(e) => Err(e),
    }
}
