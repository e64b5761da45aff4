//! Linking an account: begin (authorization URL + pending link), complete (callback ->
//! validation -> exchange -> identity -> store), cancel.

use time::OffsetDateTime;
use url::Url;

use crate::account_binding::drift;
use crate::authorize::pending::{prune, PendingLink, PendingStatus};
use crate::authorize::pkce::{fingerprint, random_token};
use crate::authorize::request::{authorization_url, RequestSecrets};
use crate::callback::{CallbackError, Outcome, ParsedCallback};
use crate::error::{Error, Result};
use crate::exchange::{exchange_code, Tokens};
use crate::facade::Keyfob;
use crate::http::is_loopback;
use crate::identity::{establish, Identity, SentNonce};
use crate::provider::{ClientAuth, Flavor, Provider, ProviderKind, RedirectMode};
use crate::revocation::delete_github_token;
use crate::secret::Secret;
use crate::store::accounts::{account_id, Account, AccountStatus};
use crate::store::binding::Binding;
use crate::store::secrets::{SecretChange, SecretKey};

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
    /// Starts linking an account at `provider_id`. The faces use [`Keyfob::start_link`], which
    /// also opens the browser; this is the step it builds on.
    pub async fn begin_link(&self, provider_id: &str, options: LinkOptions) -> Result<LinkStart> {
        let provider = self.provider(provider_id)?;
        let redirect_uri = link_redirect_uri(&provider, options.loopback_redirect)?;
        let scopes = link_scopes(&provider, options.scopes)?;
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
        self.start_pages.close(link_id);
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

        // Read the link's secrets first: a keyring that fails here leaves the link waiting,
        // so the same callback can be tried again until the link expires.
        let key = SecretKey::PendingLink(link.id.clone());
        let secrets: RequestSecrets = self
            .secrets
            .get(key.clone())
            .await?
            .and_then(|s| serde_json::from_str(s.expose()).ok())
            .ok_or_else(|| Error::SecretMissing {
                account: link.id.clone(),
                what: "pending link secret",
            })?;
        if fingerprint(secrets.state.expose()) != fingerprint(state) {
            return Err(CallbackError::UnknownState.into());
        }
        // Then consume the state, before any network call: a second callback must not race
        // it (the index's lock makes exactly one of two concurrent callbacks win here).
        self.pending
            .modify(|links| match links.iter_mut().find(|l| l.id == link.id) {
                Some(l) if l.status == PendingStatus::Waiting => {
                    l.status = PendingStatus::Used;
                    Ok(())
                }
                _ => Err(CallbackError::StateAlreadyUsed.into()),
            })?;
        self.start_pages.close(&link.id);
        let _ = self.secrets.delete(key).await;

        let code = authorization_code(&provider, outcome)?;
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
            SentNonce::Sent(secrets.nonce.as_ref()),
        )
        .await?;
        let grant = Grant {
            provider: &provider,
            requested_scopes: &link.scopes,
            tokens,
            identity,
            issued_at,
        };
        let (account, replaced) = self.save_link(grant).await?;
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
    pub(crate) async fn save_link(&self, grant: Grant<'_>) -> Result<(Account, Option<Secret>)> {
        let Grant {
            provider,
            tokens,
            identity,
            ..
        } = &grant;
        let now = OffsetDateTime::now_utc();
        let accounts = self.accounts.load()?;
        let id = linked_account_id(
            provider,
            same_identity(&accounts, provider, &identity.subject),
            &identity.subject,
        );
        // A relink replaces tokens: never at the same time as a refresh of that account.
        let _turn = self.account_turn(&id).await?;
        // Read again in our turn: whether this is a relink decides what is kept.
        let accounts = self.accounts.load()?;
        let existing = same_identity(&accounts, provider, &identity.subject);
        // Before any write: the keyring items under this id must not be another's.
        ensure_id_free(&accounts, &id, existing)?;

        let replaced = if frees_replaced_token(provider, existing) {
            self.secrets
                .get(SecretKey::AccessToken(id.clone()))
                .await?
                .filter(|old| *old != tokens.access_token)
        } else {
            None
        };

        let relink = existing.is_some();
        let account = linked_account(id.clone(), &grant, existing, now);
        // Secrets before metadata: an account in the list always has its tokens. A new refresh
        // token first: it is the grant itself, and should a later write fail, a refresh with
        // it mends the rest, where a lost one would take the user's sign-in again.
        let stored = async {
            self.secrets
                .apply(
                    SecretKey::RefreshToken(id.clone()),
                    link_refresh_token(tokens.refresh_token.as_ref(), relink),
                )
                .await?;
            self.secrets
                .apply(
                    SecretKey::IdToken(id.clone()),
                    link_id_token(tokens.id_token.as_ref()),
                )
                .await?;
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
            if !relink {
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

/// What a completed link brings back: the grant, and whom it belongs to.
pub(crate) struct Grant<'a> {
    pub(crate) provider: &'a Provider,
    /// The scopes asked for; recorded when the token response lists none.
    pub(crate) requested_scopes: &'a [String],
    pub(crate) tokens: Tokens,
    pub(crate) identity: Identity,
    /// When the code was exchanged: lifetimes count from here.
    pub(crate) issued_at: OffsetDateTime,
}

/// The redirect URI of a new link. A loopback redirect may be used with any provider that
/// registered one (the CLI always does); the provider's mode is what the desktop app picks by
/// default, and a loopback provider needs its listener opened first.
fn link_redirect_uri(provider: &Provider, loopback: Option<Url>) -> Result<Url> {
    match (provider.redirect, loopback) {
        (_, Some(uri)) => {
            check_loopback_redirect(provider, &uri)?;
            Ok(uri)
        }
        (RedirectMode::Scheme, None) => Ok(provider.scheme_redirect_uri()),
        (RedirectMode::Loopback, None) => Err(Error::ProviderInvalid {
            provider: provider.id.clone(),
            reason: "it uses a loopback redirect, so a loopback listener must be opened first"
                .into(),
        }),
    }
}

/// The scopes a new link asks for: the caller's, else the provider's defaults. An OpenID
/// provider's must include `openid`, or no ID token (and no identity) comes back.
pub(crate) fn link_scopes(
    provider: &Provider,
    requested: Option<Vec<String>>,
) -> Result<Vec<String>> {
    let scopes = requested
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| provider.scopes.clone());
    if provider.kind == ProviderKind::Openid && !scopes.iter().any(|s| s == "openid") {
        return Err(Error::ProviderInvalid {
            provider: provider.id.clone(),
            reason: "the scopes of an OpenID provider must include 'openid'".into(),
        });
    }
    Ok(scopes)
}

/// The code a validated callback carries, or the provider's refusal as an error.
fn authorization_code(provider: &Provider, outcome: Outcome) -> Result<String> {
    match outcome {
        Outcome::Code(code) => Ok(code),
        Outcome::Error { code, description } => Err(Error::AuthorizationDenied {
            provider: provider.name.clone(),
            code,
            description,
        }),
    }
}

/// The account already linked for this identity through `provider`. Accounts are keyed by
/// (provider, issuer, subject), never by email: a link through one provider never replaces an
/// account of another, even one whose identity provider gives the same subject.
fn same_identity<'a>(
    accounts: &'a [Account],
    provider: &Provider,
    subject: &str,
) -> Option<&'a Account> {
    accounts
        .iter()
        .find(|a| a.provider == provider.id && a.issuer == provider.issuer && a.subject == subject)
}

/// Refuses to store a new account under an id another account holds (a file from before
/// accounts were keyed by provider can hold one whose id names another provider).
fn ensure_id_free(accounts: &[Account], id: &str, existing: Option<&Account>) -> Result<()> {
    match accounts.iter().find(|a| a.id == id) {
        Some(other) if existing.map(|e| &e.id) != Some(&other.id) => Err(Error::AccountIdTaken {
            id: id.to_string(),
            other: format!(
                "{} through provider '{}'",
                other.display_name, other.provider
            ),
        }),
        _ => Ok(()),
    }
}

/// The id a linked identity is stored under: the existing account's, so a relink updates it
/// in place, else a new one.
fn linked_account_id(provider: &Provider, existing: Option<&Account>, subject: &str) -> String {
    existing
        .map(|a| a.id.clone())
        .unwrap_or_else(|| account_id(&provider.id, &provider.issuer, subject))
}

/// What a link does to the stored refresh token. A new one replaces it. Without one, a relink
/// keeps the old (providers such as Google issue one only at the first consent, and it stays
/// good), while a new account deletes whatever an earlier account under the same id left.
fn link_refresh_token(new: Option<&Secret>, relink: bool) -> SecretChange<'_> {
    match (new, relink) {
        (Some(token), _) => SecretChange::Replace(token),
        (None, true) => SecretChange::Keep,
        (None, false) => SecretChange::Delete,
    }
}

/// What a link does to the stored ID token: the stored one always belongs to the latest
/// grant, so a link without one deletes the old.
fn link_id_token(new: Option<&Secret>) -> SecretChange<'_> {
    match new {
        Some(token) => SecretChange::Replace(token),
        None => SecretChange::Delete,
    }
}

/// Whether a link must look for the access token it replaces, to free its place: GitHub keeps
/// at most ten per user, app and scope set and revokes the oldest beyond that. Not when the
/// provider no longer matches what the old token was linked with: it would go elsewhere.
fn frees_replaced_token(provider: &Provider, existing: Option<&Account>) -> bool {
    provider.flavor == Flavor::Github && existing.is_some_and(|a| drift(a, provider).is_empty())
}

/// The account record a completed link stores. A relink keeps when it was first linked, and
/// the refresh token's facts when it brought no new refresh token (its token is kept too,
/// see [`link_refresh_token`]).
fn linked_account(
    id: String,
    grant: &Grant<'_>,
    existing: Option<&Account>,
    now: OffsetDateTime,
) -> Account {
    let Grant {
        provider,
        requested_scopes,
        tokens,
        identity,
        issued_at,
    } = grant;
    let issued_at = *issued_at;
    Account {
        id,
        provider: provider.id.clone(),
        issuer: provider.issuer.clone(),
        linked_with: Some(Binding::of(provider)),
        subject: identity.subject.clone(),
        display_name: identity.display_name(),
        email: identity.email.clone(),
        login: identity.login.clone(),
        scopes: tokens
            .scopes
            .clone()
            .unwrap_or_else(|| requested_scopes.to_vec()),
        access_expires_at: tokens.access_expires_at(issued_at),
        has_refresh_token: tokens.refresh_token.is_some()
            || existing.is_some_and(|a| a.has_refresh_token),
        refresh_expires_at: match tokens.refresh_expires_in {
            Some(_) => tokens.refresh_expires_at(issued_at),
            None if tokens.refresh_token.is_some() => None,
            None => existing.and_then(|a| a.refresh_expires_at),
        },
        linked_at: existing.map(|a| a.linked_at).unwrap_or(now),
        refreshed_at: None,
        access_issued_at: Some(issued_at),
        status: AccountStatus::Ok,
        // A new grant: whatever was half done to the old one no longer matters.
        attention: None,
    }
}

fn check_loopback_redirect(provider: &Provider, uri: &Url) -> Result<()> {
    if uri.scheme() == "http"
        && is_loopback(uri)
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
        save_through(f, "stub", subject, tag).await
    }

    async fn save_through(
        f: &Fixture,
        provider: &str,
        subject: &str,
        tag: &str,
    ) -> Result<Account> {
        let provider = f.kf.provider(provider)?;
        let link = pending(&provider);
        let grant = Grant {
            provider: &provider,
            requested_scopes: &link.scopes,
            tokens: tokens(tag),
            identity: identity(subject),
            issued_at: OffsetDateTime::now_utc(),
        };
        f.kf.save_link(grant).await.map(|(account, _)| account)
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

    // Two provider entries for one identity provider, which gives the same subject through
    // both: each entry gets its own account, and a link through one leaves the other's be.
    #[tokio::test]
    async fn a_link_through_another_provider_never_touches_this_ones_account() {
        let f = Fixture::start().await;
        f.kf.add_provider(f.idp.provider("stub2"), None)
            .await
            .unwrap();
        let first = save(&f, "alice", "one").await.unwrap();
        let first_tokens = stored(&f, &first.id);

        let second = save_through(&f, "stub2", "alice", "two").await.unwrap();
        assert_eq!(
            (second.provider.as_str(), second.subject.as_str()),
            ("stub2", "alice")
        );
        assert_eq!(second.issuer, first.issuer);
        assert_ne!(second.id, first.id);
        assert_eq!(
            f.listed(&first.id),
            Some(first.clone()),
            "the first account is untouched"
        );
        assert_eq!(stored(&f, &first.id), first_tokens, "and so are its tokens");
        assert_eq!(
            stored(&f, &second.id),
            ["refresh-two", "id-two", "access-two"].map(|t| Some(t.to_string()))
        );
        assert_eq!(f.kf.accounts().unwrap().len(), 2);

        // A relink through each updates only its own.
        let again = save(&f, "alice", "three").await.unwrap();
        assert_eq!(again.id, first.id);
        assert_eq!(f.listed(&second.id), Some(second));
    }

    // A file from before accounts were keyed by provider may list, under the id a link through
    // `stub` would take, an account another entry's link overwrote: it is not overwritten back.
    // The way out for an account whose provider changed under it: a relink records the
    // provider as it is now, and the account is usable again.
    #[tokio::test]
    async fn a_relink_binds_the_account_to_the_provider_as_it_is_now() {
        let f = Fixture::start().await;
        let alice = save(&f, "alice", "one").await.unwrap();
        let path = f.kf.paths().providers_file();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(
            &path,
            text.replace("client_id = \"client\"", "client_id = \"client-2\""),
        )
        .unwrap();
        let err = f.kf.bound_provider(&alice).unwrap_err();
        assert!(matches!(err, Error::ProviderChanged { .. }), "{err}");

        let relinked = save(&f, "alice", "two").await.unwrap();
        assert_eq!(relinked.id, alice.id);
        let now = f.kf.provider("stub").unwrap();
        assert_eq!(now.client_id, "client-2");
        assert_eq!(relinked.linked_with, Some(Binding::of(&now)));
        assert_eq!(f.kf.bound_provider(&relinked).unwrap(), now);
    }

    #[tokio::test]
    async fn a_link_never_takes_the_id_of_another_providers_account() {
        let f = Fixture::start().await;
        let id = account_id("stub", &f.idp.base, "alice");
        let theirs = Account {
            id: id.clone(),
            provider: "stub2".into(),
            issuer: f.idp.base.clone(),
            subject: "alice".into(),
            ..crate::store::accounts::tests::sample(&id)
        };
        f.kf.accounts
            .modify(|accounts| {
                accounts.push(theirs.clone());
                Ok(())
            })
            .unwrap();
        for key in [
            SecretKey::RefreshToken(id.clone()),
            SecretKey::IdToken(id.clone()),
            SecretKey::AccessToken(id.clone()),
        ] {
            f.preset(key, "theirs");
        }

        let err = save(&f, "alice", "new").await.unwrap_err();
        assert!(matches!(err, Error::AccountIdTaken { .. }), "{err}");
        assert!(f.keyring.writes().is_empty(), "no write before the refusal");
        assert_eq!(
            stored(&f, &id),
            [(); 3].map(|()| Some("theirs".to_string()))
        );
        assert_eq!(f.kf.accounts().unwrap(), [theirs]);
    }

    /// The callback URL the provider would send for `start`, with a code.
    fn callback_for(start: &LinkStart) -> String {
        let state = start
            .authorization_url
            .query_pairs()
            .find(|(k, _)| k == "state")
            .map(|(_, v)| v.into_owned())
            .unwrap();
        let mut callback = start.redirect_uri.clone();
        callback
            .query_pairs_mut()
            .append_pair("code", "c")
            .append_pair("state", &state);
        callback.to_string()
    }

    // A keyring failure while the state's secrets are read consumes nothing: the same
    // callback goes through once the keyring answers (here it reaches the code exchange,
    // which the stub refuses; that consumes the state, since the code was spent).
    #[tokio::test]
    async fn a_keyring_failure_reading_the_link_secrets_leaves_it_retryable() {
        let f = Fixture::start().await;
        let start =
            f.kf.begin_link("stub", LinkOptions::default())
                .await
                .unwrap();
        let callback = callback_for(&start);
        f.keyring.fail_nth(Op::Get, "pending/", 1, Failure::Locked);
        let err = f.kf.complete_link(&callback).await.unwrap_err();
        assert!(matches!(err, Error::KeyringLocked(_)), "{err}");
        let waiting = f.kf.pending_links().unwrap();
        assert_eq!(waiting.len(), 1, "still waiting");
        assert!(f
            .secret(SecretKey::PendingLink(start.link_id.clone()))
            .is_some());

        let err = f.kf.complete_link(&callback).await.unwrap_err();
        assert!(matches!(err, Error::TokenRejected { .. }), "{err}");
        assert!(f.kf.pending_links().unwrap().is_empty(), "used now");
        assert!(f.secret(SecretKey::PendingLink(start.link_id)).is_none());
        let err = f.kf.complete_link(&callback).await.unwrap_err();
        assert!(
            matches!(err, Error::Callback(CallbackError::StateAlreadyUsed)),
            "{err}"
        );
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::provider::tests::sample as provider;
    use crate::store::accounts::tests::sample as account;

    fn at(minutes: i64) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000) + time::Duration::minutes(minutes)
    }

    fn tokens() -> Tokens {
        Tokens {
            access_token: Secret::new("a2"),
            refresh_token: None,
            id_token: None,
            expires_in: Some(Duration::from_secs(3600)),
            refresh_expires_in: None,
            scopes: None,
        }
    }

    fn identity() -> Identity {
        Identity {
            subject: "s".into(),
            email: Some("new@example.com".into()),
            login: Some("new".into()),
            name: None,
        }
    }

    #[test]
    fn the_redirect_is_the_listeners_or_the_providers_scheme() {
        let p = provider();
        assert_eq!(
            link_redirect_uri(&p, None).unwrap().as_str(),
            "dev.keyfob.app:/oauth/local"
        );
        let listener = Url::parse("http://127.0.0.1:5000/oauth/local").unwrap();
        assert_eq!(
            link_redirect_uri(&p, Some(listener.clone())).unwrap(),
            listener
        );
        // RFC 8252 section 8.3: an IP literal, not "localhost"; the provider's path; a port.
        for bad in [
            "http://localhost:5000/oauth/local",
            "http://127.0.0.1:5000/oauth/other",
            "https://127.0.0.1:5000/oauth/local",
            "http://10.0.0.1:5000/oauth/local",
        ] {
            let uri = Url::parse(bad).unwrap();
            assert!(link_redirect_uri(&p, Some(uri)).is_err(), "{bad}");
        }
        let mut p = provider();
        p.redirect = RedirectMode::Loopback;
        let err = link_redirect_uri(&p, None).unwrap_err().to_string();
        assert!(
            err.contains("loopback listener must be opened first"),
            "{err}"
        );
        assert!(link_redirect_uri(&p, Some(listener)).is_ok());
    }

    #[test]
    fn scopes_default_to_the_providers_and_keep_openid() {
        let p = provider();
        assert_eq!(link_scopes(&p, None).unwrap(), ["openid", "email"]);
        assert_eq!(link_scopes(&p, Some(vec![])).unwrap(), ["openid", "email"]);
        let asked = vec!["openid".to_string(), "offline_access".to_string()];
        assert_eq!(link_scopes(&p, Some(asked.clone())).unwrap(), asked);
        assert!(link_scopes(&p, Some(vec!["email".into()])).is_err());
        let mut p = provider();
        p.kind = ProviderKind::Oauth2;
        assert_eq!(
            link_scopes(&p, Some(vec!["repo".into()])).unwrap(),
            ["repo"]
        );
    }

    #[test]
    fn a_refusal_in_the_callback_is_the_providers_denial() {
        let p = provider();
        assert_eq!(
            authorization_code(&p, Outcome::Code("c".into())).unwrap(),
            "c"
        );
        let denied = Outcome::Error {
            code: "access_denied".into(),
            description: Some("no".into()),
        };
        match authorization_code(&p, denied) {
            Err(Error::AuthorizationDenied {
                provider,
                code,
                description,
            }) => {
                assert_eq!(provider, "Local");
                assert_eq!(code, "access_denied");
                assert_eq!(description.as_deref(), Some("no"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_identity_is_its_provider_issuer_and_subject() {
        let p = provider();
        let mut known = account("known-id");
        known.issuer = p.issuer.clone();
        known.provider = p.id.clone();
        // The same issuer and subject, linked through another provider entry.
        let mut elsewhere = known.clone();
        elsewhere.id = "elsewhere-id".into();
        elsewhere.provider = "another-entry".into();
        let accounts = vec![account("other"), elsewhere.clone(), known];
        let found = same_identity(&accounts, &p, "s");
        assert_eq!(found.map(|a| a.id.as_str()), Some("known-id"));
        assert_eq!(linked_account_id(&p, found, "s"), "known-id");
        assert!(same_identity(&accounts, &p, "t").is_none());
        let mut other_issuer = p.clone();
        other_issuer.issuer = "https://elsewhere".into();
        assert!(same_identity(&accounts, &other_issuer, "s").is_none());
        // Only the other entry's own account is found through it.
        let mut entry = p.clone();
        entry.id = "another-entry".into();
        assert_eq!(
            same_identity(&accounts[..2], &entry, "s").map(|a| a.id.as_str()),
            Some("elsewhere-id")
        );
        assert!(same_identity(&[elsewhere], &p, "s").is_none());
        assert_eq!(
            linked_account_id(&p, None, "t"),
            account_id("local", &p.issuer, "t")
        );
        assert_ne!(
            account_id("local", &p.issuer, "s"),
            account_id("another-entry", &p.issuer, "s")
        );
    }

    #[test]
    fn an_id_held_by_another_account_is_refused() {
        let mine = account("local-1");
        let mut theirs = account("local-1");
        theirs.provider = "another-entry".into();
        assert!(ensure_id_free(&[], "local-1", None).is_ok());
        // A relink stores the account where it was.
        assert!(ensure_id_free(std::slice::from_ref(&mine), "local-1", Some(&mine)).is_ok());
        let err = ensure_id_free(std::slice::from_ref(&theirs), "local-1", None).unwrap_err();
        assert!(matches!(err, Error::AccountIdTaken { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            "account id local-1 is already taken by another account (a@example.com through \
             provider 'another-entry'); unlink that one first, then link again"
        );
    }

    #[test]
    fn a_link_replaces_keeps_or_deletes_the_refresh_token() {
        let new = Secret::new("r2");
        assert_eq!(
            link_refresh_token(Some(&new), false),
            SecretChange::Replace(&new)
        );
        assert_eq!(
            link_refresh_token(Some(&new), true),
            SecretChange::Replace(&new)
        );
        assert_eq!(link_refresh_token(None, true), SecretChange::Keep);
        assert_eq!(link_refresh_token(None, false), SecretChange::Delete);
        assert_eq!(link_id_token(Some(&new)), SecretChange::Replace(&new));
        assert_eq!(link_id_token(None), SecretChange::Delete);
    }

    #[test]
    fn only_a_github_relink_frees_the_replaced_token() {
        let mut p = provider();
        let existing = |p: &Provider| Account {
            issuer: p.issuer.clone(),
            linked_with: Some(Binding::of(p)),
            ..account("a")
        };
        assert!(!frees_replaced_token(&p, Some(&existing(&p))));
        p.flavor = Flavor::Github;
        assert!(frees_replaced_token(&p, Some(&existing(&p))));
        assert!(!frees_replaced_token(&p, None));
        // The old token never goes to a revocation endpoint it was not linked with.
        let old = existing(&p);
        p.revocation_endpoint = Some(Url::parse("https://evil.example/grant").unwrap());
        assert!(!frees_replaced_token(&p, Some(&old)));
    }

    #[test]
    fn a_new_account_records_what_the_grant_says() {
        let p = provider();
        let requested = vec!["openid".to_string(), "email".to_string()];
        let mut t = tokens();
        t.refresh_token = Some(Secret::new("r"));
        t.refresh_expires_in = Some(Duration::from_secs(600));
        let grant = Grant {
            provider: &p,
            requested_scopes: &requested,
            tokens: t,
            identity: identity(),
            issued_at: at(0),
        };
        let a = linked_account("id".into(), &grant, None, at(1));
        assert_eq!(a.id, "id");
        assert_eq!(
            (a.provider.as_str(), a.issuer.as_str()),
            ("local", p.issuer.as_str())
        );
        assert_eq!(a.subject, "s");
        assert_eq!(a.linked_with, Some(Binding::of(&p)));
        assert_eq!(a.display_name, "new@example.com");
        assert_eq!(a.login.as_deref(), Some("new"));
        assert_eq!(a.scopes, requested, "the response listed none");
        assert_eq!(a.access_expires_at, Some(at(60)));
        assert_eq!(a.access_issued_at, Some(at(0)));
        assert!(a.has_refresh_token);
        assert_eq!(a.refresh_expires_at, Some(at(10)));
        assert_eq!(a.linked_at, at(1));
        assert_eq!(a.refreshed_at, None);
        assert_eq!(a.status, AccountStatus::Ok);
    }

    #[test]
    fn a_relink_without_a_refresh_token_keeps_the_old_ones_facts() {
        let p = provider();
        let mut old = account("id");
        old.linked_at = at(-1000);
        old.refreshed_at = Some(at(-10));
        old.has_refresh_token = true;
        old.refresh_expires_at = Some(at(500));
        old.status = AccountStatus::NeedsRelink { reason: "r".into() };
        let mut t = tokens();
        t.scopes = Some(vec!["openid".into()]);
        let grant = Grant {
            provider: &p,
            requested_scopes: &[],
            tokens: t,
            identity: identity(),
            issued_at: at(0),
        };
        let a = linked_account("id".into(), &grant, Some(&old), at(1));
        assert_eq!(a.linked_at, at(-1000), "first linked then");
        assert_eq!(a.refreshed_at, None);
        assert_eq!(a.scopes, ["openid"], "the response's scopes win");
        assert!(a.has_refresh_token, "the old one is kept");
        assert_eq!(a.refresh_expires_at, Some(at(500)));
        assert_eq!(
            a.display_name, "new@example.com",
            "the identity is read anew"
        );
        assert_eq!(a.status, AccountStatus::Ok);

        // A new refresh token without a lifetime: its expiry is unknown, not the old one's.
        let mut grant = grant;
        grant.tokens.refresh_token = Some(Secret::new("r2"));
        let a = linked_account("id".into(), &grant, Some(&old), at(1));
        assert!(a.has_refresh_token);
        assert_eq!(a.refresh_expires_at, None);

        // No refresh token then, none now.
        old.has_refresh_token = false;
        old.refresh_expires_at = None;
        grant.tokens.refresh_token = None;
        let a = linked_account("id".into(), &grant, Some(&old), at(1));
        assert!(!a.has_refresh_token);
    }
}

// The same, through the testkit's real OpenID provider: one user signed in through two
// provider entries for it is two accounts. Only the keyring is in memory.
#[cfg(test)]
mod two_entries {
    use keyfob_testkit::Idp;

    use super::*;
    use crate::paths::Paths;
    use crate::store::memory::MemoryKeyring;
    use crate::testing::{link_as, local_openid};

    #[tokio::test(flavor = "multi_thread")]
    async fn one_user_through_two_provider_entries_is_two_accounts() {
        let idp = Idp::start().await.unwrap();
        let home = tempfile::tempdir().unwrap();
        let keyring = MemoryKeyring::new();
        let kf = Keyfob::open_with_store(Paths::under(home.path()), keyring.as_store());
        for id in ["local", "local2"] {
            kf.add_openid_provider(local_openid(&idp, id), None)
                .await
                .unwrap();
        }
        let tokens = |id: &str| {
            [
                SecretKey::RefreshToken(id.into()),
                SecretKey::IdToken(id.into()),
                SecretKey::AccessToken(id.into()),
            ]
            .map(|key| keyring.peek(&kf.paths().keyring_service, &key.user()))
        };

        let first = link_as(&kf, "local", "alice").await;
        let first_tokens = tokens(&first.id);
        let second = link_as(&kf, "local2", "alice").await;
        assert_eq!(
            (second.issuer.as_str(), second.subject.as_str()),
            (first.issuer.as_str(), first.subject.as_str())
        );
        assert_eq!(second.provider, "local2");
        assert_ne!(second.id, first.id);
        assert_eq!(
            kf.account(&first.id).unwrap(),
            first,
            "the first account is untouched"
        );
        assert_eq!(tokens(&first.id), first_tokens, "and so are its tokens");
        assert_ne!(tokens(&second.id), first_tokens);
        assert_eq!(kf.accounts().unwrap().len(), 2);
        // Each still refreshes with its own grant.
        for account in [&first, &second] {
            let refresh = tokens(&account.id)[0].clone().unwrap();
            assert!(idp.is_active(&refresh).await.unwrap(), "{}", account.id);
        }
    }
}
