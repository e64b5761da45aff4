//! Account metadata: one JSON file with a schema version, written atomically. No secrets here.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::Result;
use crate::paths::Paths;
use crate::store::attention::Attention;
use crate::store::file::{Content, Format, VersionedFile};

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: u32 = 1;

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
    /// Stable id derived from (issuer, subject).
    pub id: String,
    /// The provider id it was linked through.
    pub provider: String,
    /// The issuer that vouches for `subject`.
    pub issuer: String,
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
        }
    }

    /// All accounts, in the order they were linked.
    pub fn load(&self) -> Result<Vec<Account>> {
        Ok(self.file.load()?.accounts)
    }

    /// A read-modify-write of the list under its lock.
    pub fn modify<T>(&self, f: impl FnOnce(&mut Vec<Account>) -> Result<T>) -> Result<T> {
        self.file.modify(|file| f(&mut file.accounts))
    }
}

/// The stable account id for an (issuer, subject) pair.
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
    fn account_ids_depend_on_issuer_and_subject_only() {
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
        assert!(a.starts_with("google-") && a.len() == "google-".len() + 10);
    }
}
