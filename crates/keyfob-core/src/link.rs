//! Linking an account: begin (authorization URL + pending link), complete (callback ->
//! validation -> exchange -> identity -> store), cancel.

use time::OffsetDateTime;
use url::Url;

use crate::authorize::pending::{prune, PendingLink, PendingStatus};
use crate::authorize::pkce::{fingerprint, random_token};
use crate::authorize::request::{authorization_url, RequestSecrets};
use crate::callback::{CallbackError, Outcome, ParsedCallback};
use crate::error::{Error, Result};
use crate::exchange::{exchange_code, Tokens};
use crate::facade::Keyfob;
use crate::identity::{establish, Identity};
use crate::provider::{ClientAuth, Flavor, Provider, ProviderKind, RedirectMode};
use crate::revocation::delete_github_token;
use crate::secret::Secret;
use crate::store::accounts::{account_id, Account, AccountStatus};
use crate::store::secrets::SecretKey;

/// Choices for one link.
#[derive(Debug, Clone, Default)]
pub struct LinkOptions {
    /// Scopes to ask for instead of the provider's defaults.
    pub scopes: Option<Vec<String>>,
    /// The loopback redirect URI of a listener the caller has opened (loopback mode only).
    pub loopback_redirect: Option<Url>,
}

/// A started link. The authorization URL carries the state: open it in the system browser
/// and hand it nowhere else (not to a webview, not to a log).
#[derive(Clone)]
pub struct LinkStart {
    /// Id to complete or cancel the link with; not a secret.
    pub link_id: String,
    /// The provider id.
    pub provider: String,
    /// Where the system browser must go.
    pub authorization_url: Url,
    /// Where the provider will send the browser back.
    pub redirect_uri: Url,
    /// When the link stops accepting a callback.
    pub expires_at: OffsetDateTime,
}

// Manual Debug: the authorization URL holds the state.
impl std::fmt::Debug for LinkStart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkStart")
            .field("link_id", &self.link_id)
            .field("provider", &self.provider)
            .field("redirect_uri", &self.redirect_uri.as_str())
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl Keyfob {
    /// Starts linking an account at `provider_id`.
    pub async fn begin_link(&self, provider_id: &str, options: LinkOptions) -> Result<LinkStart> {
        let provider = self.provider(provider_id)?;
        // A loopback redirect may be used with any provider that registered one (the CLI
        // always does); the provider's mode is what the desktop app picks by default.
        let redirect_uri =
            match (provider.redirect, options.loopback_redirect) {
                (_, Some(uri)) => {
                    check_loopback_redirect(&provider, &uri)?;
                    uri
                }
                (RedirectMode::Scheme, None) => provider.scheme_redirect_uri(),
                (RedirectMode::Loopback, None) => return Err(Error::ProviderInvalid {
                    provider: provider.id.clone(),
                    reason:
                        "it uses a loopback redirect, so a loopback listener must be opened first"
                            .into(),
                }),
            };
        let scopes = options
            .scopes
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| provider.scopes.clone());
        if provider.kind == ProviderKind::Openid && !scopes.iter().any(|s| s == "openid") {
            return Err(Error::ProviderInvalid {
                provider: provider.id.clone(),
                reason: "the scopes of an OpenID provider must include 'openid'".into(),
            });
        }
        // Found out now, not after the user has signed in and the code is lost.
        if provider.client_auth != ClientAuth::None
            && self.client_secret(&provider).await?.is_none()
        {
            return Err(Error::ClientSecretMissing(provider.id.clone()));
        }
        let secrets = RequestSecrets {
            state: random_token(),
            verifier: random_token(),
            nonce: (provider.kind == ProviderKind::Openid).then(random_token),
        };
        let now = OffsetDateTime::now_utc();
        let link = PendingLink {
            id: format!("link-{}", &fingerprint(random_token().expose())[..16]),
            provider: provider.id.clone(),
            issuer: provider.response_issuer(),
            iss_required: provider.iss_parameter_supported,
            redirect_uri: redirect_uri.clone(),
            scopes: scopes.clone(),
            state_fingerprint: fingerprint(secrets.state.expose()),
            created_at: now,
            expires_at: now + self.link_lifetime,
            status: PendingStatus::Waiting,
        };
        // Keyring first: if it is unavailable, no trace of the link is left anywhere.
        let blob = Secret::new(serde_json::to_string(&secrets).expect("secrets serialize"));
        self.secrets
            .put(SecretKey::PendingLink(link.id.clone()), &blob)
            .await?;
        let forgotten = self.pending.modify(|links| {
            let (kept, old) = prune(std::mem::take(links), now);
            *links = kept;
            links.push(link.clone());
            Ok(old)
        })?;
        for old in forgotten {
            let _ = self.secrets.delete(SecretKey::PendingLink(old.id)).await;
        }
        Ok(LinkStart {
            authorization_url: authorization_url(&provider, &redirect_uri, &scopes, &secrets),
            link_id: link.id,
            provider: provider.id,
            redirect_uri,
            expires_at: link.expires_at,
        })
    }

    /// Links still waiting for their callback.
    pub fn pending_links(&self) -> Result<Vec<PendingLink>> {
        let now = OffsetDateTime::now_utc();
        Ok(self
            .pending
            .load()?
            .into_iter()
            .filter(|l| l.status == PendingStatus::Waiting && l.expires_at > now)
            .collect())
    }

    /// Cancels a waiting link; a later callback for it is refused.
    pub async fn cancel_link(&self, link_id: &str) -> Result<()> {
        self.pending
            .modify(|links| match links.iter_mut().find(|l| l.id == link_id) {
                Some(l) if l.status == PendingStatus::Waiting => {
                    l.status = PendingStatus::Cancelled;
                    Ok(())
                }
                _ => Err(Error::LinkNotFound(link_id.to_string())),
            })?;
        self.secrets
            .delete(SecretKey::PendingLink(link_id.to_string()))
            .await
    }

    /// The link a callback URL belongs to, without consuming it. Lets a shell route a
    /// callback (for example to the right window) before completing it.
    pub fn link_for_callback(&self, callback_url: &str) -> Result<PendingLink> {
        let parsed = ParsedCallback::parse(callback_url)?;
        self.find_link(parsed.state()?)
    }

    /// Completes a link from the callback URL the browser was sent to. A callback that
    /// fails validation changes nothing.
    pub async fn complete_link(&self, callback_url: &str) -> Result<Account> {
        let parsed = ParsedCallback::parse(callback_url)?;
        let state = parsed.state()?;
        let link = self.find_link(state)?;
        let outcome = parsed.validate(&link, OffsetDateTime::now_utc())?;
        let provider = self.provider(&link.provider)?;

        // Consume the state before any network call: a second callback must not race it.
        self.pending
            .modify(|links| match links.iter_mut().find(|l| l.id == link.id) {
                Some(l) if l.status == PendingStatus::Waiting => {
                    l.status = PendingStatus::Used;
                    Ok(())
                }
                _ => Err(CallbackError::StateAlreadyUsed.into()),
            })?;
        let key = SecretKey::PendingLink(link.id.clone());
        let secrets = self.secrets.get(key.clone()).await?;
        let _ = self.secrets.delete(key).await;
        let secrets: RequestSecrets = secrets
            .and_then(|s| serde_json::from_str(s.expose()).ok())
            .ok_or_else(|| Error::SecretMissing {
                account: link.id.clone(),
                what: "pending link secret",
            })?;
        if fingerprint(secrets.state.expose()) != fingerprint(state) {
            return Err(CallbackError::UnknownState.into());
        }

        let code = match outcome {
            Outcome::Code(code) => code,
            Outcome::Error { code, description } => {
                return Err(Error::AuthorizationDenied {
                    provider: provider.name.clone(),
                    code,
                    description,
                })
            }
        };
        let client_secret = self.client_secret(&provider).await?;
        // Lifetimes count from the request, so stored expiries err early rather than late.
        let issued_at = OffsetDateTime::now_utc();
        let tokens = exchange_code(
            self.http(),
            &provider,
            client_secret.as_ref(),
            &code,
            &link.redirect_uri,
            &secrets.verifier,
        )
        .await?;
        let identity = establish(
            self.http(),
            &provider,
            client_secret.as_ref(),
            &tokens,
            secrets.nonce.as_ref(),
        )
        .await?;
        let (account, replaced) = self
            .save_link(&provider, &link, tokens, issued_at, identity)
            .await?;
        if let Some(old) = replaced {
            // Best effort: the link has succeeded whatever GitHub says here.
            let _ = delete_github_token(self.http(), &provider, client_secret.as_ref(), &old).await;
        }
        Ok(account)
    }

    fn find_link(&self, state: &str) -> Result<PendingLink> {
        let wanted = fingerprint(state);
        self.pending
            .load()?
            .into_iter()
            .find(|l| l.state_fingerprint == wanted)
            .ok_or_else(|| CallbackError::UnknownState.into())
    }

    /// Stores the tokens and the account. Also returns, for GitHub, the access token that a
    /// re-link replaced, so its place among GitHub's ten can be freed.
    async fn save_link(
        &self,
        provider: &Provider,
        link: &PendingLink,
        tokens: Tokens,
        issued_at: OffsetDateTime,
        identity: Identity,
    ) -> Result<(Account, Option<Secret>)> {
        let now = OffsetDateTime::now_utc();
        let id = self
            .accounts
            .load()?
            .into_iter()
            .find(|a| a.issuer == provider.issuer && a.subject == identity.subject)
            .map(|a| a.id)
            .unwrap_or_else(|| account_id(&provider.id, &provider.issuer, &identity.subject));
        // A relink replaces tokens: never at the same time as a refresh of that account.
        let _turn = self.account_turn(&id).await?;
        let existing = self
            .accounts
            .load()?
            .into_iter()
            .find(|a| a.issuer == provider.issuer && a.subject == identity.subject);

        let replaced = match &existing {
            Some(_) if provider.flavor == Flavor::Github => self
                .secrets
                .get(SecretKey::AccessToken(id.clone()))
                .await?
                .filter(|old| *old != tokens.access_token),
            _ => None,
        };

        let has_refresh = tokens.refresh_token.is_some()
            || existing.as_ref().is_some_and(|a| a.has_refresh_token);
        let account = Account {
            id: id.clone(),
            provider: provider.id.clone(),
            issuer: provider.issuer.clone(),
            subject: identity.subject.clone(),
            display_name: identity.display_name(),
            email: identity.email,
            login: identity.login,
            scopes: tokens.scopes.clone().unwrap_or_else(|| link.scopes.clone()),
            access_expires_at: tokens.access_expires_at(issued_at),
            has_refresh_token: has_refresh,
            refresh_expires_at: match tokens.refresh_expires_in {
                Some(_) => tokens.refresh_expires_at(issued_at),
                None if tokens.refresh_token.is_some() => None,
                None => existing.as_ref().and_then(|a| a.refresh_expires_at),
            },
            linked_at: existing.as_ref().map(|a| a.linked_at).unwrap_or(now),
            refreshed_at: None,
            access_issued_at: Some(issued_at),
            status: AccountStatus::Ok,
        };

        // Secrets before metadata: an account in the list always has its tokens.
        let stored = async {
            match &tokens.refresh_token {
                Some(rt) => {
                    self.secrets
                        .put(SecretKey::RefreshToken(id.clone()), rt)
                        .await?
                }
                None if existing.is_none() => {
                    self.secrets
                        .delete(SecretKey::RefreshToken(id.clone()))
                        .await?
                }
                None => {}
            }
            match &tokens.id_token {
                Some(t) => self.secrets.put(SecretKey::IdToken(id.clone()), t).await?,
                None => self.secrets.delete(SecretKey::IdToken(id.clone())).await?,
            }
            self.secrets
                .put(SecretKey::AccessToken(id.clone()), &tokens.access_token)
                .await?;
            self.accounts.modify(|accounts| {
                match accounts.iter_mut().find(|a| a.id == id) {
                    Some(slot) => *slot = account.clone(),
                    None => accounts.push(account.clone()),
                }
                Ok(())
            })
        }
        .await;
        if let Err(e) = stored {
            if existing.is_none() {
                // A first link that failed part-way: no file names the account (a failed
                // save leaves the old file), so nothing could use, unlink or revoke the
                // tokens already written, a live refresh token among them. Take them back,
                // best effort: the error to report is the one that stopped the link.
                let _ = self.delete_account_secrets(&id, provider.flavor).await;
            }
            return Err(e);
        }
        Ok((account, replaced))
    }
}

fn check_loopback_redirect(provider: &Provider, uri: &Url) -> Result<()> {
    let loopback_ip = match uri.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        // RFC 8252 section 8.3: not "localhost", which a resolver may send elsewhere.
        _ => false,
    };
    if uri.scheme() == "http"
        && loopback_ip
        && uri.port().is_some()
        && uri.path() == provider.redirect_path()
    {
        Ok(())
    } else {
        Err(Error::ProviderInvalid {
            provider: provider.id.clone(),
            reason: format!(
                "a loopback redirect must be http://127.0.0.1:<port>{}",
                provider.redirect_path()
            ),
        })
    }
}

// Keyring failures injected at each write of `save_link`, the part of a link (first or
// re-link) that stores what the provider gave, over the in-memory keyring.
#[cfg(test)]
mod keyring_failures {
    use std::time::Duration;

    use super::*;
    use crate::authorize::pending::PendingStatus;
    use crate::store::memory::{Failure, Op};
    use crate::testing::{same_tokens, Fixture};

    fn pending(provider: &Provider) -> PendingLink {
        let now = OffsetDateTime::now_utc();
        PendingLink {
            id: "link-test".into(),
            provider: provider.id.clone(),
            issuer: provider.issuer.clone(),
            iss_required: false,
            redirect_uri: provider.scheme_redirect_uri(),
            scopes: provider.scopes.clone(),
            state_fingerprint: "x".into(),
            created_at: now,
            expires_at: now + time::Duration::minutes(10),
            status: PendingStatus::Used,
        }
    }

    /// What a code exchange returns; every token is tagged `tag`.
    fn tokens(tag: &str) -> Tokens {
        Tokens {
            access_token: Secret::new(format!("access-{tag}")),
            refresh_token: Some(Secret::new(format!("refresh-{tag}"))),
            id_token: Some(Secret::new(format!("id-{tag}"))),
            expires_in: Some(Duration::from_secs(3600)),
            refresh_expires_in: None,
            scopes: None,
        }
    }

    fn identity(subject: &str) -> Identity {
        Identity {
            subject: subject.into(),
            email: Some(format!("{subject}@example.com")),
            login: None,
            name: None,
        }
    }

    async fn save(f: &Fixture, subject: &str, tag: &str) -> Result<Account> {
        let provider = f.kf.provider("stub")?;
        let link = pending(&provider);
        let now = OffsetDateTime::now_utc();
        let saved =
            f.kf.save_link(&provider, &link, tokens(tag), now, identity(subject));
        saved.await.map(|(account, _)| account)
    }

    /// The account's refresh, ID and access tokens as the keyring holds them.
    fn stored(f: &Fixture, id: &str) -> [Option<String>; 3] {
        [
            SecretKey::RefreshToken(id.into()),
            SecretKey::IdToken(id.into()),
            SecretKey::AccessToken(id.into()),
        ]
        .map(|key| f.secret(key))
    }

    #[tokio::test]
    async fn a_link_writes_every_secret_before_it_lists_the_account() {
        let f = Fixture::start().await;
        let bob = save(&f, "bob", "new").await.unwrap();
        let user = |what: &str| format!("put account/{}/{what}", bob.id);
        assert_eq!(
            f.keyring.writes(),
            [
                user("refresh_token"),
                user("id_token"),
                user("access_token")
            ]
        );
        assert_eq!(f.listed(&bob.id), Some(bob.clone()));
        assert_eq!(
            stored(&f, &bob.id),
            ["refresh-new", "id-new", "access-new"].map(|s| Some(s.to_string()))
        );
    }

    // A failed first link must not leave tokens that no file names: nothing could use,
    // unlink or revoke them (only purge's sweep finds them, and not on Windows).
    #[tokio::test]
    async fn a_first_link_failing_at_any_write_leaves_no_secret_behind() {
        for step in 1..=3 {
            let f = Fixture::start().await;
            f.keyring
                .fail_nth(Op::Put, "account/", step, Failure::Locked);
            let err = save(&f, "bob", "new").await.unwrap_err();
            assert!(matches!(err, Error::KeyringLocked(_)), "step {step}: {err}");
            assert!(f.kf.accounts().unwrap().is_empty(), "step {step}");
            assert_eq!(f.items(), Vec::<String>::new(), "step {step}");
            // The next attempt links as if nothing had happened.
            let bob = save(&f, "bob", "again").await.unwrap();
            assert_eq!(stored(&f, &bob.id)[0].as_deref(), Some("refresh-again"));
        }
    }

    #[tokio::test]
    async fn a_relink_failing_at_any_write_keeps_a_complete_account() {
        for step in 1..=3 {
            let f = Fixture::start().await;
            let alice = f.account("alice");
            let before = stored(&f, &alice.id);
            f.keyring
                .fail_nth(Op::Put, "account/", step, Failure::Unavailable);
            let err = save(&f, "alice", "new").await.unwrap_err();
            assert!(
                matches!(err, Error::KeyringUnavailable(_)),
                "step {step}: {err}"
            );

            // Still listed as it was, with a token of every kind: those written before the
            // failure are the new ones, the others the old ones.
            assert!(
                same_tokens(&f.listed(&alice.id).unwrap(), &alice),
                "step {step}"
            );
            let new = ["refresh-new", "id-new", "access-new"];
            let expected: Vec<Option<String>> = (0..3)
                .map(|i| match i + 1 < step {
                    true => Some(new[i].to_string()),
                    false => before[i].clone(),
                })
                .collect();
            assert_eq!(stored(&f, &alice.id).to_vec(), expected, "step {step}");

            let relinked = save(&f, "alice", "new").await.unwrap();
            assert_eq!(relinked.id, alice.id);
            assert_eq!(stored(&f, &alice.id), new.map(|s| Some(s.to_string())));
        }
    }
}
