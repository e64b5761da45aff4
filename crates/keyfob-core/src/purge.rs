//! Forgetting everything: what an uninstall should do before removing the program. Revokes
//! each account (unless told not to), then deletes every keyring entry and file of the profile.

use crate::authorize::pending::PendingStatus;
use crate::error::{Error, Result};
use crate::facade::Keyfob;
use crate::revocation::Revocation;
use crate::store::secrets::SecretKey;
use crate::unlink::IfRevocationMayPass;

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
                // A purge is the way back to a clean slate: it keeps no account for a retry.
                let unlinked = self
                    .unlink_as(&account.id, IfRevocationMayPass::Forget)
                    .await?;
                report
                    .accounts
                    .push((account.display_name, Some(unlinked.revocation)));
            } else {
                // Under the account's lock, so that a refresh cannot write a token back.
                let _turn = self.account_turn(&account.id).await?;
                let provider = self.provider(&account.provider);
                let flavor = provider.map(|p| p.flavor).unwrap_or_default();
                self.delete_account_secrets(&account.id, flavor).await?;
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
            self.secrets
                .delete(SecretKey::DeviceClientSecret(provider.id.clone()))
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

// Keyring failures injected at each delete of a purge, over the in-memory keyring and the
// stub provider. A purge that stops must leave no secret that no file names: the files are
// how a second purge (or an unlink) finds what is left.
#[cfg(test)]
mod keyring_failures {
    use super::*;
    use crate::facade::Keyfob;
    use crate::paths::Paths;
    use crate::store::memory::{Failure, MemoryKeyring, Op};
    use crate::testing::Fixture;

    /// Two accounts, a pending link and the provider.
    async fn populated() -> Fixture {
        let f = Fixture::start().await;
        f.account("alice");
        f.account("bob");
        f.kf.begin_link("stub", Default::default()).await.unwrap();
        f.keyring.forget_writes();
        f
    }

    /// The keyring items that the profile's files name.
    fn named(kf: &Keyfob) -> Vec<String> {
        let mut keys = Vec::new();
        for account in kf.accounts().unwrap() {
            keys.push(SecretKey::RefreshToken(account.id.clone()));
            keys.push(SecretKey::AccessToken(account.id.clone()));
            keys.push(SecretKey::IdToken(account.id));
        }
        for link in kf.pending.load().unwrap() {
            keys.push(SecretKey::PendingLink(link.id));
        }
        for provider in kf.providers().unwrap() {
            keys.push(SecretKey::ClientSecret(provider.id.clone()));
            keys.push(SecretKey::DeviceClientSecret(provider.id));
        }
        keys.iter().map(SecretKey::user).collect()
    }

    fn is_gone(kf: &Keyfob) -> bool {
        !kf.paths().data_dir.exists() && !kf.paths().config_dir.exists()
    }

    #[tokio::test]
    async fn purge_deletes_every_secret_and_file() {
        for revoke in [false, true] {
            let f = populated().await;
            let report = f.kf.purge(revoke).await.unwrap();
            assert_eq!(report.accounts.len(), 2);
            assert_eq!((report.providers.len(), report.pending_links), (1, 1));
            assert_eq!(report.swept_secrets, Some(0), "every file was readable");
            // Each account's refresh and access token.
            assert_eq!(f.idp.state().revoked.len(), if revoke { 4 } else { 0 });
            assert!(f.items().is_empty() && is_gone(&f.kf), "revoke: {revoke}");
        }
    }

    // Where an unlink would keep the account for another try, a purge goes on and says so.
    #[tokio::test]
    async fn a_purge_removes_accounts_whose_revocation_may_pass() {
        let f = populated().await;
        f.idp.state().revocation_fails = Some(503);
        let report = f.kf.purge(true).await.unwrap();
        assert_eq!(report.accounts.len(), 2);
        for (_, revocation) in &report.accounts {
            assert!(
                matches!(revocation, Some(Revocation::Failed(r)) if r.contains("503")),
                "{revocation:?}"
            );
        }
        assert!(f.items().is_empty() && is_gone(&f.kf));
    }

    #[tokio::test]
    async fn a_purge_stopped_at_any_delete_leaves_files_naming_every_secret_left() {
        // Accounts' tokens (3 each), the pending link, the provider's client secret.
        const DELETES: usize = 3 * 2 + 1 + 1;
        for revoke in [false, true] {
            for step in 1..=DELETES {
                let f = populated().await;
                f.keyring.fail_nth(Op::Delete, "", step, Failure::Refused);
                let err = f.kf.purge(revoke).await.unwrap_err();
                assert!(matches!(err, Error::Keyring(_)), "{revoke}/{step}: {err}");
                let (items, named) = (f.items(), named(&f.kf));
                let orphans: Vec<_> = items.iter().filter(|i| !named.contains(i)).collect();
                assert!(orphans.is_empty(), "{revoke}/{step}: {orphans:?} unnamed");
                assert!(!is_gone(&f.kf), "{revoke}/{step}: files kept");

                f.keyring.heal();
                f.kf.purge(revoke).await.unwrap();
                assert!(f.items().is_empty() && is_gone(&f.kf), "{revoke}/{step}");
            }
        }
    }

    #[tokio::test]
    async fn a_failed_sweep_keeps_the_files() {
        let f = populated().await;
        f.keyring.fail_nth(Op::Search, "", 1, Failure::Locked);
        let err = f.kf.purge(false).await.unwrap_err();
        assert!(matches!(err, Error::KeyringLocked(_)), "{err}");
        assert!(f.items().is_empty(), "the named secrets went first");
        assert!(!is_gone(&f.kf));
        f.kf.purge(false).await.unwrap();
        assert!(is_gone(&f.kf));
    }

    // A damaged file names nothing, yet its secrets go with the sweep, and the report says
    // which file it could not read and how many entries the sweep found.
    #[tokio::test]
    async fn purge_reports_a_damaged_file_and_sweeps_what_it_named() {
        let f = populated().await;
        std::fs::write(f.kf.paths().accounts_file(), "{\"schema\": 99}").unwrap();
        let report = f.kf.purge(true).await.unwrap();
        assert!(report.accounts.is_empty());
        assert!(
            f.idp.state().revoked.is_empty(),
            "nothing named, nothing revoked"
        );
        assert_eq!(report.unreadable.len(), 1);
        assert!(report.unreadable[0].contains("accounts.json"));
        assert_eq!(report.swept_secrets, Some(6), "both accounts' tokens");
        assert!(f.items().is_empty() && is_gone(&f.kf));
    }

    #[tokio::test]
    async fn without_a_keyring_only_an_empty_profile_can_be_purged() {
        let home = tempfile::tempdir().unwrap();
        let keyring = MemoryKeyring::new();
        keyring.break_down(Failure::Unavailable);
        let kf = Keyfob::open_with_store(Paths::under(home.path()), keyring.as_store());
        let report = kf.purge(true).await.unwrap();
        assert_eq!(report.swept_secrets, None);

        let f = populated().await;
        f.keyring.break_down(Failure::Unavailable);
        let err = f.kf.purge(false).await.unwrap_err();
        assert!(matches!(err, Error::KeyringUnavailable(_)), "{err}");
        assert_eq!(f.kf.accounts().unwrap().len(), 2, "nothing removed");
        assert_eq!(f.items().len(), 3 * 2 + 1);
    }
}
