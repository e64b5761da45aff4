//! Adding, changing and removing providers; their client secrets go to the keyring.

use crate::error::{Error, Result};
use crate::provider::discovery::{discover, Discovered};
use crate::provider::{ClientAuth, Provider, ProviderKind, RedirectMode};
use crate::secret::Secret;
use crate::store::lock::FileLock;
use crate::store::secrets::SecretKey;
use crate::Keyfob;

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

    /// Adds or replaces a provider definition.
    pub async fn save_provider(&self, provider: Provider, secret: SecretUpdate) -> Result<()> {
        provider.validate()?;
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
        let _lock = FileLock::acquire(&self.lock_path("providers"))?;
        let mut providers = self.providers.load()?;
        match providers.iter_mut().find(|p| p.id == provider.id) {
            Some(slot) => *slot = provider,
            None => providers.push(provider),
        }
        self.providers.save(&providers)
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
        {
            let _lock = FileLock::acquire(&self.lock_path("providers"))?;
            let mut providers = self.providers.load()?;
            let before = providers.len();
            providers.retain(|p| p.id != id);
            if providers.len() == before {
                return Err(Error::ProviderNotFound(id.to_string()));
            }
            self.providers.save(&providers)?;
        }
        self.secrets
            .delete(SecretKey::ClientSecret(id.to_string()))
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
        let provider = Provider {
            id: draft.id,
            name: draft.name,
            kind: ProviderKind::Openid,
            issuer: found.issuer,
            authorization_endpoint: found.authorization_endpoint,
            token_endpoint: found.token_endpoint,
            userinfo_endpoint: found.userinfo_endpoint,
            revocation_endpoint: found.revocation_endpoint,
            jwks_uri: Some(found.jwks_uri),
            scopes: draft
                .scopes
                .unwrap_or_else(|| vec!["openid".into(), "email".into(), "profile".into()]),
            client_id: draft.client_id,
            client_auth: draft.client_auth,
            extra_params: draft.extra_params,
            redirect: draft.redirect,
            iss_parameter_supported: found.authorization_response_iss_parameter_supported,
        };
        self.add_provider(provider.clone(), client_secret).await?;
        Ok(provider)
    }

    /// The provider's client secret, when it uses one.
    pub(crate) async fn client_secret(&self, provider: &Provider) -> Result<Option<Secret>> {
        if provider.client_auth == ClientAuth::None {
            return Ok(None);
        }
        self.secrets
            .get(SecretKey::ClientSecret(provider.id.clone()))
            .await
    }
}

/// What a user types to add a custom OpenID provider; the rest comes from discovery.
#[derive(Debug, Clone)]
pub struct OpenidProviderDraft {
    /// Short id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Issuer URL, exactly as the provider names itself.
    pub issuer: String,
    /// Registered client id.
    pub client_id: String,
    /// Token endpoint authentication.
    pub client_auth: ClientAuth,
    /// Scopes; defaults to `openid email profile`.
    pub scopes: Option<Vec<String>>,
    /// Extra authorization parameters.
    pub extra_params: std::collections::BTreeMap<String, String>,
    /// Redirect mode.
    pub redirect: RedirectMode,
}
