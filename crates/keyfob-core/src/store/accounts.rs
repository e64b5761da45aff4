//! Account metadata: one JSON file with a schema version, written atomically. No secrets here.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::paths::Paths;
use crate::provider::Provider;
use crate::store::attention::Attention;
use crate::store::binding::Binding;
use crate::store::file::{Content, Format, VersionedFile};
use crate::store::providers::ProviderStore;

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: u32 = 2;

/// The schema before accounts recorded what they were linked with (`linked_with`). A file of
/// it is upgraded when first read (see [`upgrade_v1`]).
const SCHEMA_V1: u32 = 1;

/// Whether an account can currently produce tokens.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AccountStatus {
    /// Tokens are usable or refreshable.
    Ok,
    /// The grant is gone (revoked, expired refresh token): only a new link helps.
    NeedsRelink {
        /// Why, in words a user understands.
        reason: String,
    },
}

/// What Keyfob knows about a linked account, without any secret.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// Stable id derived from (provider, issuer, subject).
    pub id: String,
    /// The provider id it was linked through.
    pub provider: String,
    /// The issuer that vouches for `subject`.
    pub issuer: String,
    /// The provider settings it was linked with: its tokens go nowhere else. `None` only for
    /// an account linked before they were recorded whose provider was missing when the file
    /// was upgraded; such an account can only be unlinked or linked again.
    pub linked_with: Option<Binding>,
    /// The provider's stable user id (`sub`, or GitHub's numeric id).
    pub subject: String,
    /// What to show: email or login.
    pub display_name: String,
    /// The email address, when the provider gave one.
    #[serde(default)]
    pub email: Option<String>,
    /// The login / preferred username, when the provider gave one.
    #[serde(default)]
    pub login: Option<String>,
    /// Scopes the provider granted.
    pub scopes: Vec<String>,
    /// When the access token expires; `None` means it does not expire.
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub access_expires_at: Option<OffsetDateTime>,
    /// Whether a refresh token is stored.
    pub has_refresh_token: bool,
    /// When the refresh token expires, where the provider says so.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub refresh_expires_at: Option<OffsetDateTime>,
    /// When the account was first linked.
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub linked_at: OffsetDateTime,
    /// When its tokens were last refreshed.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub refreshed_at: Option<OffsetDateTime>,
    /// When the current access token was asked for (link or refresh): with
    /// `access_expires_at`, its lifetime, kept when a refresh answer names none. Absent in
    /// files written before it was recorded.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub access_issued_at: Option<OffsetDateTime>,
    /// Whether it still works.
    pub status: AccountStatus,
    /// What an operation could only half do, for the user to act on; absent when nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub attention: Option<Attention>,
}

/// What `accounts.json` holds besides its schema number.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct AccountsFile {
    accounts: Vec<Account>,
}

impl Content for AccountsFile {}

/// The account metadata file.
#[derive(Debug, Clone)]
pub struct AccountStore {
    file: VersionedFile<AccountsFile>,
    /// Where an old file's accounts find what they were linked with.
    providers: ProviderStore,
}

impl AccountStore {
    /// The accounts file of the profile at `paths`.
    pub fn new(paths: &Paths) -> Self {
        AccountStore {
            file: VersionedFile::new(
                paths.accounts_file(),
                paths.lock_file("accounts"),
                Format::Json {
                    schema: SCHEMA_VERSION,
                },
            ),
            providers: ProviderStore::new(paths),
        }
    }

    /// All accounts, in the order they were linked.
    pub fn load(&self) -> Result<Vec<Account>> {
        match self.file.load() {
            Ok(file) => Ok(file.accounts),
            // Only a file this build cannot read is worth a second look: an older schema
            // is upgraded once, and anything else fails again with its own reason.
            Err(Error::CorruptFile { .. }) => {
                self.upgrade()?;
                Ok(self.file.load()?.accounts)
            }
            Err(e) => Err(e),
        }
    }

    /// A read-modify-write of the list under its lock.
    pub fn modify<T>(&self, f: impl FnOnce(&mut Vec<Account>) -> Result<T>) -> Result<T> {
        // Read first, so that an old file is upgraded rather than refused.
        self.load()?;
        self.file.modify(|file| f(&mut file.accounts))
    }

    /// Rewrites a schema 1 file in the current schema, binding its accounts to their
    /// providers' definitions as they are now.
    fn upgrade(&self) -> Result<()> {
        self.file.upgrade_from(SCHEMA_V1, |fields| {
            let providers = self.providers.load().map_err(|e| {
                format!(
                    "its accounts cannot be upgraded while the providers file is unreadable ({e})"
                )
            })?;
            upgrade_v1(fields, &providers)
        })
    }
}

/// A schema 1 file's content in the current schema: every account keeps all it held, and
/// gains the binding of its provider's definition at the time of the upgrade (the best
/// knowledge there is of what it was linked with), or none when that provider is missing.
fn upgrade_v1(
    mut fields: serde_json::Map<String, serde_json::Value>,
    providers: &[Provider],
) -> std::result::Result<AccountsFile, String> {
    let accounts = fields
        .get_mut("accounts")
        .and_then(serde_json::Value::as_array_mut)
        .ok_or("schema 1 file without an 'accounts' list")?;
    for account in accounts.iter_mut() {
        let account = account
            .as_object_mut()
            .ok_or("schema 1 account that is not an object")?;
        let binding = account
            .get("provider")
            .and_then(serde_json::Value::as_str)
            .and_then(|id| providers.iter().find(|p| p.id == id))
            .map(Binding::of);
        let binding = serde_json::to_value(binding).map_err(|e| e.to_string())?;
        account.insert("linked_with".into(), binding);
    }
    serde_json::from_value(serde_json::Value::Object(fields)).map_err(|e| e.to_string())
}

/// The stable account id for an identity: the provider's id, then a digest of (issuer,
/// subject). The digest has a fixed length, so the provider can be read back from the id and
/// two providers' accounts never share one.
pub fn account_id(provider: &str, issuer: &str, subject: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{issuer}\0{subject}").as_bytes());
    let tag: String = digest[..5].iter().map(|b| format!("{b:02x}")).collect();
    format!("{provider}-{tag}")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::error::Error;

    pub(crate) fn sample(id: &str) -> Account {
        Account {
            id: id.into(),
            provider: "p".into(),
            issuer: "https://issuer".into(),
            linked_with: Some(Binding::of(&crate::provider::tests::sample())),
            subject: "s".into(),
            display_name: "a@example.com".into(),
            email: Some("a@example.com".into()),
            login: None,
            scopes: vec!["openid".into()],
            access_expires_at: None,
            has_refresh_token: true,
            refresh_expires_at: None,
            linked_at: OffsetDateTime::UNIX_EPOCH,
            refreshed_at: None,
            access_issued_at: None,
            status: AccountStatus::Ok,
            attention: None,
        }
    }

    #[test]
    fn round_trips_and_checks_the_schema() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::under(dir.path());
        let store = AccountStore::new(&paths);
        assert!(store.load().unwrap().is_empty());
        store
            .modify(|accounts| {
                accounts.extend([sample("x"), sample("y")]);
                Ok(())
            })
            .unwrap();
        assert_eq!(store.load().unwrap(), vec![sample("x"), sample("y")]);

        std::fs::write(paths.accounts_file(), br#"{"schema": 99, "accounts": []}"#).unwrap();
        let err = store.load().unwrap_err().to_string();
        assert!(err.contains("schema version 99"), "{err}");
        std::fs::write(paths.accounts_file(), b"{nope").unwrap();
        assert!(matches!(store.load(), Err(Error::CorruptFile { .. })));
    }

    /// An accounts file as Keyfob wrote it before accounts recorded what they were linked
    /// with: one account of a configured provider, one of a provider since removed.
    const V1: &str = include_str!("testdata/accounts-v1.json");

    /// Writes a file where a profile keeps it, as an older Keyfob (or a person) left it.
    fn put(path: &std::path::Path, bytes: impl AsRef<[u8]>) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }

    fn json(path: &std::path::Path) -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    }

    // Files written before the mark existed read as unmarked; an unmarked account writes
    // no field, so older Keyfobs read the file too.
    #[test]
    fn the_attention_mark_is_optional() {
        let mut json = serde_json::to_value(sample("x")).unwrap();
        assert!(json.get("attention").is_none());
        json.as_object_mut().unwrap().remove("attention");
        assert_eq!(
            serde_json::from_value::<Account>(json).unwrap(),
            sample("x")
        );
        let marked = Account {
            attention: Some(Attention::RevocationPending { reason: "r".into() }),
            ..sample("x")
        };
        let back = serde_json::to_string(&marked).unwrap();
        assert_eq!(serde_json::from_str::<Account>(&back).unwrap(), marked);
    }

    #[test]
    fn a_schema_1_file_is_upgraded_once_keeping_everything_it_held() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::under(dir.path());
        let local = crate::provider::tests::sample();
        ProviderStore::new(&paths)
            .save(std::slice::from_ref(&local))
            .unwrap();
        put(&paths.accounts_file(), V1);
        let store = AccountStore::new(&paths);

        let accounts = store.load().unwrap();
        assert_eq!(accounts.len(), 2);
        let (old, new) = (
            serde_json::from_str::<serde_json::Value>(V1).unwrap(),
            json(&paths.accounts_file()),
        );
        assert_eq!(new["schema"], SCHEMA_VERSION);
        // Every field of every account is still there with its value.
        for (old, new) in old["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .zip(new["accounts"].as_array().unwrap())
        {
            for (field, value) in old.as_object().unwrap() {
                assert_eq!(&new[field], value, "{field}");
            }
        }
        // Bound to the provider's definition at the time of the upgrade; an account whose
        // provider is gone has no record, and can only be unlinked or linked again.
        assert_eq!(accounts[0].linked_with, Some(Binding::of(&local)));
        assert_eq!(accounts[1].linked_with, None);

        // Once: a provider edited afterwards changes no account's record.
        let mut edited = local.clone();
        edited.token_endpoint = url::Url::parse("https://evil.example/token").unwrap();
        ProviderStore::new(&paths).save(&[edited]).unwrap();
        assert_eq!(store.load().unwrap(), accounts);
        assert_eq!(json(&paths.accounts_file())["schema"], SCHEMA_VERSION);
    }

    #[test]
    fn a_change_to_a_schema_1_file_upgrades_it_first() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::under(dir.path());
        put(&paths.accounts_file(), V1);
        let store = AccountStore::new(&paths);
        store
            .modify(|accounts| {
                accounts.push(sample("x"));
                Ok(())
            })
            .unwrap();
        let ids: Vec<String> = store.load().unwrap().into_iter().map(|a| a.id).collect();
        assert_eq!(ids, ["local-0a1b2c3d4e", "gone-5f6a7b8c9d", "x"]);
    }

    #[test]
    fn a_schema_1_file_that_cannot_be_upgraded_is_left_as_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::under(dir.path());
        let store = AccountStore::new(&paths);
        // Its providers cannot be read: nothing to bind the accounts to yet.
        put(&paths.providers_file(), b"[[provider]]\nid = 3\n");
        put(&paths.accounts_file(), V1);
        let err = store.load().unwrap_err().to_string();
        assert!(
            err.contains("cannot be upgraded while the providers file is unreadable"),
            "{err}"
        );
        assert_eq!(std::fs::read_to_string(paths.accounts_file()).unwrap(), V1);
        // A damaged one is reported as damaged.
        std::fs::remove_file(paths.providers_file()).unwrap();
        let damaged = V1.replace("\"subject\": \"alice\"", "\"subject\": 7");
        std::fs::write(paths.accounts_file(), &damaged).unwrap();
        let err = store.load().unwrap_err();
        assert!(
            matches!(&err, Error::CorruptFile { reason, .. } if reason.contains("expected a string")),
            "{err}"
        );
        assert_eq!(
            std::fs::read_to_string(paths.accounts_file()).unwrap(),
            damaged
        );
    }

    #[test]
    fn account_ids_depend_on_provider_issuer_and_subject_only() {
        let a = account_id("google", "https://accounts.google.com", "123");
        assert_eq!(
            a,
            account_id("google", "https://accounts.google.com", "123")
        );
        assert_ne!(
            a,
            account_id("google", "https://accounts.google.com", "124")
        );
        assert_ne!(a, account_id("google", "https://other", "123"));
        assert_ne!(
            a,
            account_id("google2", "https://accounts.google.com", "123")
        );
        assert!(a.starts_with("google-") && a.len() == "google-".len() + 10);
    }
}
