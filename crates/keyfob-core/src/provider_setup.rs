//! Adding, changing and removing providers; their client secrets go to the keyring.

use crate::account_binding::edit_refusal;
use crate::error::{Error, Result};
use crate::facade::Keyfob;
use crate::provider::discovery::{discover, Discovered, OpenidProviderDraft};
use crate::provider::presets::{self, GithubOptions, GoogleOptions};
use crate::provider::{ClientAuth, Flavor, Provider};
use crate::secret::Secret;
use crate::store::secrets::SecretKey;
use url::Url;

/// The provider cannot link with a code: nothing names where to ask for one.
fn no_device_endpoint(provider: String) -> Error {
    Error::ProviderInvalid {
        provider,
        reason: "its discovery names no device_authorization_endpoint, so it offers no linking with a code".into(),
    }
}

/// What to do with a provider's stored client secret when saving it.
#[derive(Debug, Clone)]
pub enum SecretUpdate {
    /// Keep whatever is stored.
    Keep,
    /// Store this one.
    Set(Secret),
    /// Delete the stored one.
    Remove,
}

impl Keyfob {
    /// All configured providers.
    pub fn providers(&self) -> Result<Vec<Provider>> {
        self.providers.load()
    }

    /// One provider by id.
    pub fn provider(&self, id: &str) -> Result<Provider> {
        self.providers
            .load()?
            .into_iter()
            .find(|p| p.id == id)
            .ok_or_else(|| Error::ProviderNotFound(id.to_string()))
    }

    /// Adds a new provider, storing its client secret in the keyring.
    pub async fn add_provider(
        &self,
        provider: Provider,
        client_secret: Option<Secret>,
    ) -> Result<()> {
        if self.providers()?.iter().any(|p| p.id == provider.id) {
            return Err(Error::ProviderExists(provider.id));
        }
        let update = client_secret
            .map(SecretUpdate::Set)
            .unwrap_or(SecretUpdate::Remove);
        self.save_provider(provider, update).await
    }

    /// Adds or replaces a provider definition. Refused, before anything is written, when it
    /// would send the tokens of accounts linked through it elsewhere than where they were
    /// linked (see [`edit_refusal`]).
    pub async fn save_provider(&self, provider: Provider, secret: SecretUpdate) -> Result<()> {
        provider.validate()?;
        let stored = self.providers()?.into_iter().find(|p| p.id == provider.id);
        if let Some(refusal) = edit_refusal(stored.as_ref(), &provider, &self.accounts()?) {
            return Err(refusal);
        }
        let key = SecretKey::ClientSecret(provider.id.clone());
        let will_have_secret = match &secret {
            SecretUpdate::Set(_) => true,
            SecretUpdate::Remove => false,
            SecretUpdate::Keep => self.secrets.get(key.clone()).await?.is_some(),
        };
        if provider.client_auth != ClientAuth::None && !will_have_secret {
            return Err(Error::ProviderInvalid {
                provider: provider.id.clone(),
                reason: "this client authentication needs a client secret".into(),
            });
        }
        match secret {
            SecretUpdate::Set(s) => self.secrets.put(key, &s).await?,
            SecretUpdate::Remove => self.secrets.delete(key).await?,
            SecretUpdate::Keep => {}
        }
        self.providers.modify(|providers| {
            match providers.iter_mut().find(|p| p.id == provider.id) {
                Some(slot) => *slot = provider,
                None => providers.push(provider),
            }
            Ok(())
        })
    }

    /// Removes a provider; refused while accounts are linked through it.
    pub async fn remove_provider(&self, id: &str) -> Result<()> {
        let users = self
            .accounts()?
            .into_iter()
            .filter(|a| a.provider == id)
            .count();
        if users > 0 {
            return Err(Error::ProviderInvalid {
                provider: id.to_string(),
                reason: format!("{users} account(s) are linked through it; unlink them first"),
            });
        }
        self.providers.modify(|providers| {
            let before = providers.len();
            providers.retain(|p| p.id != id);
            if providers.len() == before {
                return Err(Error::ProviderNotFound(id.to_string()));
            }
            Ok(())
        })?;
        self.secrets
            .delete(SecretKey::ClientSecret(id.to_string()))
            .await?;
        self.secrets
            .delete(SecretKey::DeviceClientSecret(id.to_string()))
            .await
    }

    /// Reads an OpenID provider's discovery document, checked against `issuer`.
    pub async fn discover(&self, issuer: &str) -> Result<Discovered> {
        discover(self.http(), issuer).await
    }

    /// Adds a custom OpenID provider from its issuer URL alone, through discovery.
    pub async fn add_openid_provider(
        &self,
        draft: OpenidProviderDraft,
        client_secret: Option<Secret>,
    ) -> Result<Provider> {
        let found = self.discover(&draft.issuer).await?;
        if draft.device_flow && found.device_authorization_endpoint.is_none() {
            return Err(no_device_endpoint(draft.id));
        }
        let provider = draft.into_provider(found, Flavor::Standard);
        self.add_provider(provider.clone(), client_secret).await?;
        Ok(provider)
    }

    /// Where `provider` takes device authorization requests, for turning linking with a code
    /// on in an existing definition: GitHub's fixed address, else the one the issuer's
    /// discovery names (an error when it names none).
    pub async fn device_authorization_endpoint(&self, provider: &Provider) -> Result<Url> {
        match provider.flavor {
            Flavor::Github => {
                let web = Url::parse(&provider.issuer).map_err(|e| Error::ProviderInvalid {
                    provider: provider.id.clone(),
                    reason: format!("the issuer is not a URL: {e}"),
                })?;
                Ok(presets::github_device_endpoint(&web))
            }
            // Google lets only a separate client type link with a code; without one, its
            // discovery's endpoint would only answer `invalid_client`.
            Flavor::Google if provider.device_client_id.is_none() => Err(Error::ProviderInvalid {
                provider: provider.id.clone(),
                reason: "Google lets only a client of type \"TVs and Limited Input devices\" link with a code: add one with `keyfob provider google --device-client-id ID`".into(),
            }),
            Flavor::Google | Flavor::Standard => self
                .discover(&provider.issuer)
                .await?
                .device_authorization_endpoint
                .ok_or_else(|| no_device_endpoint(provider.id.clone())),
        }
    }

    /// Adds the GitHub preset (github.com or an Enterprise Server).
    pub async fn add_github(
        &self,
        options: GithubOptions,
        client_secret: Option<Secret>,
    ) -> Result<Provider> {
        let provider = presets::github(options);
        self.add_provider(provider.clone(), client_secret).await?;
        Ok(provider)
    }

    /// Adds the Google preset, reading Google's discovery document; a device client's
    /// secret goes to the keyring beside the desktop client's.
    pub async fn add_google(
        &self,
        options: GoogleOptions,
        client_secret: Option<Secret>,
    ) -> Result<Provider> {
        let device_secret = options.device_client.as_ref().map(|c| c.secret.clone());
        let draft = presets::google(options.clone());
        let found = self.discover(&draft.issuer).await?;
        if draft.device_flow && found.device_authorization_endpoint.is_none() {
            return Err(Error::ProviderInvalid {
                provider: draft.id,
                reason: "its discovery names no device_authorization_endpoint, so the device client cannot be used".into(),
            });
        }
        let provider = presets::google_provider(options, draft, found);
        provider.validate()?;
        if self.providers()?.iter().any(|p| p.id == provider.id) {
            return Err(Error::ProviderExists(provider.id));
        }
        // Before the definition: a saved provider always has its device client's secret.
        let device_key = SecretKey::DeviceClientSecret(provider.id.clone());
        match &device_secret {
            Some(secret) => self.secrets.put(device_key, secret).await?,
            None => self.secrets.delete(device_key).await?,
        }
        self.add_provider(provider.clone(), client_secret).await?;
        Ok(provider)
    }

    /// Whether a client secret is stored for `provider_id` (the secret itself is not read out).
    pub async fn has_client_secret(&self, provider_id: &str) -> Result<bool> {
        Ok(self
            .secrets
            .get(SecretKey::ClientSecret(provider_id.to_string()))
            .await?
            .is_some())
    }

    /// The provider's client secret, when it uses one: its device client's when `provider`
    /// speaks as that client ([`Provider::device_client`]).
    pub(crate) async fn client_secret(&self, provider: &Provider) -> Result<Option<Secret>> {
        if provider.client_auth == ClientAuth::None {
            return Ok(None);
        }
        let key = if provider.is_device_client() {
            SecretKey::DeviceClientSecret(provider.id.clone())
        } else {
            SecretKey::ClientSecret(provider.id.clone())
        };
        self.secrets.get(key).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Fixture;

    /// GitHub's address follows its web origin (github.com or an Enterprise); Google offers
    /// none Keyfob can use.
    #[tokio::test]
    async fn turning_the_device_flow_on_finds_the_presets_address() {
        let f = Fixture::start().await;
        let endpoint = |provider: Provider| {
            let kf = &f.kf;
            async move { kf.device_authorization_endpoint(&provider).await }
        };
        let github = presets::github(GithubOptions::github_com("id"));
        assert_eq!(
            endpoint(github).await.unwrap().as_str(),
            "https://github.com/login/device/code"
        );
        let ghes = GithubOptions::enterprise("https://ghe.example.com/", "id").unwrap();
        assert_eq!(
            endpoint(presets::github(ghes)).await.unwrap().as_str(),
            "https://ghe.example.com/login/device/code"
        );
        let mut google = f.idp.provider("google");
        google.flavor = Flavor::Google;
        let refused = endpoint(google.clone()).await.unwrap_err();
        assert!(
            refused.to_string().contains("--device-client-id"),
            "{refused}"
        );
        // With its device client, the endpoint comes from Google's discovery (which the stub
        // does not serve: the refusal is then discovery's, not the missing client's).
        google.device_client_id = Some("device.apps.googleusercontent.test".into());
        let asked = endpoint(google).await.unwrap_err();
        assert!(!asked.to_string().contains("--device-client-id"), "{asked}");
    }

    /// The device endpoint is not part of what accounts are bound to: linking with a code can
    /// be turned on and off while accounts use the provider (unlike, say, the token endpoint).
    #[tokio::test]
    async fn the_device_flow_can_be_toggled_while_accounts_are_linked() {
        let f = Fixture::start().await;
        f.account("a");
        let mut provider = f.kf.provider("stub").unwrap();
        // Bound to the stub as it is now, as a link through it leaves the account.
        let binding = crate::store::binding::Binding::of(&provider);
        f.kf.accounts
            .modify(|accounts| {
                accounts[0].linked_with = Some(binding);
                Ok(())
            })
            .unwrap();
        provider.device_authorization_endpoint =
            Some(Url::parse(&format!("{}/device", f.idp.base)).unwrap());
        f.kf.save_provider(provider.clone(), SecretUpdate::Keep)
            .await
            .expect("turned on while in use");
        assert!(f
            .kf
            .provider("stub")
            .unwrap()
            .device_authorization_endpoint
            .is_some());
        provider.device_authorization_endpoint = None;
        f.kf.save_provider(provider.clone(), SecretUpdate::Keep)
            .await
            .expect("turned off while in use");
        provider.token_endpoint = Url::parse(&format!("{}/other-token", f.idp.base)).unwrap();
        let refused = f.kf.save_provider(provider, SecretUpdate::Keep).await;
        assert!(
            matches!(refused, Err(Error::ProviderInUse { .. })),
            "{refused:?}"
        );
    }
}
