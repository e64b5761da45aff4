//! Where an account's secrets live, for `keyfob status`: the keyring, its service name and
//! each item, and whether the item is there. Values are read only to learn that they exist,
//! and go nowhere.

use serde::Serialize;

use crate::error::Result;
use crate::facade::Keyfob;
use crate::store::accounts::Account;
use crate::store::secrets::SecretKey;

/// One secret of an account and where it is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretPlace {
    /// `access_token`, `refresh_token` or `id_token`.
    pub what: &'static str,
    /// The keyring item's service name (one per Keyfob profile).
    pub service: String,
    /// The keyring item's user name.
    pub item: String,
    /// Whether the keyring holds it.
    pub stored: bool,
}

/// The system keyring Keyfob uses on this platform.
pub const KEYRING_NAME: &str = if cfg!(target_os = "macos") {
    "macOS Keychain"
} else if cfg!(windows) {
    "Windows Credential Manager"
} else {
    "Secret Service (D-Bus)"
};

impl Keyfob {
    /// Where `account`'s secrets are kept, and which of them the keyring holds now.
    pub async fn secret_places(&self, account: &Account) -> Result<Vec<SecretPlace>> {
        let id = account.id.clone();
        let mut places = Vec::new();
        for (what, key) in [
            ("access_token", SecretKey::AccessToken(id.clone())),
            ("refresh_token", SecretKey::RefreshToken(id.clone())),
            ("id_token", SecretKey::IdToken(id.clone())),
        ] {
            let stored = self.secrets.get(key.clone()).await?.is_some();
            places.push(SecretPlace {
                what,
                service: self.paths().keyring_service.clone(),
                item: key.user(),
                stored,
            });
        }
        Ok(places)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Fixture;

    #[tokio::test]
    async fn each_secret_is_named_with_its_item_and_whether_it_is_there() {
        let f = Fixture::start().await;
        let account = f.account("alice");
        f.kf.secrets
            .delete(SecretKey::IdToken(account.id.clone()))
            .await
            .unwrap();
        let places = f.kf.secret_places(&account).await.unwrap();
        let seen: Vec<(&str, bool)> = places.iter().map(|p| (p.what, p.stored)).collect();
        assert_eq!(
            seen,
            [
                ("access_token", true),
                ("refresh_token", true),
                ("id_token", false)
            ]
        );
        assert_eq!(
            places[0].item,
            format!("account/{}/access_token", account.id)
        );
        assert!(places
            .iter()
            .all(|p| p.service == f.kf.paths().keyring_service));
    }
}
