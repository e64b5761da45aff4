//! Forgetting everything: what an uninstall should do before removing the program. Revokes
//! each account (unless told not to), then deletes every keyring entry and file of the profile.

use crate::authorize::pending::PendingStatus;
use crate::error::{Error, Result};
use crate::store::secrets::SecretKey;
use crate::unlink::Revocation;
use crate::Keyfob;

/// What a purge did.
#[derive(Debug, Clone, Default)]
pub struct PurgeReport {
    /// Accounts removed, with what their providers did.
    pub accounts: Vec<(String, Option<Revocation>)>,
    /// Providers whose definitions and client secrets were removed.
    pub providers: Vec<String>,
    /// Links that were still waiting for their callback.
    pub pending_links: usize,
}

impl Keyfob {
    /// Removes every account, provider, pending link, keyring entry and file of this profile.
    /// With `revoke`, each account's grant is revoked at its provider first.
    pub async fn purge(&self, revoke: bool) -> Result<PurgeReport> {
        let mut report = PurgeReport::default();
        for account in self.accounts()? {
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
        for link in self.pending.load()? {
            if link.status == PendingStatus::Waiting {
                report.pending_links += 1;
            }
            self.secrets.delete(SecretKey::PendingLink(link.id)).await?;
        }
        for provider in self.providers()? {
            self.secrets
                .delete(SecretKey::ClientSecret(provider.id.clone()))
                .await?;
            report.providers.push(provider.id);
        }
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
