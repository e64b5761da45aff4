//! Whether a provider definition still matches what an account was linked with (its
//! [`Binding`](crate::store::binding::Binding)). Its refresh token, access token and the client
//! secret go only where that record says, so a definition that no longer matches (edited by
//! hand, or by a face) cannot redirect them: editing one is refused while accounts use it, and
//! using one that changed anyway is refused before anything is sent.

use url::Url;

use crate::error::{Error, Result};
use crate::facade::Keyfob;
use crate::provider::{Provider, ProviderKind};
use crate::store::accounts::Account;

/// A way in which a provider definition departs from what an account was linked with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drift {
    /// Nothing was recorded: the account predates the record and its provider was missing
    /// when the accounts file was upgraded.
    Unrecorded,
    /// Another issuer.
    Issuer,
    /// Another token endpoint.
    TokenEndpoint,
    /// Another revocation endpoint.
    RevocationEndpoint,
    /// Another userinfo endpoint.
    UserinfoEndpoint,
    /// Another client id.
    ClientId,
    /// An OpenID provider turned into plain OAuth 2 (refreshed ID tokens would go unchecked).
    NoLongerOpenid,
    /// A provider whose responses had to carry `iss` no longer requires it.
    IssNoLongerRequired,
}

impl Drift {
    /// The drift in words.
    fn describe(self) -> &'static str {
        match self {
            Drift::Unrecorded => "the settings it was linked with were not recorded",
            Drift::Issuer => "the issuer",
            Drift::TokenEndpoint => "the token endpoint",
            Drift::RevocationEndpoint => "the revocation endpoint",
            Drift::UserinfoEndpoint => "the userinfo endpoint",
            Drift::ClientId => "the client id",
            Drift::NoLongerOpenid => "the kind (OpenID Connect, not plain OAuth 2)",
            Drift::IssNoLongerRequired => "the 'iss' requirement",
        }
    }
}

/// How `provider` departs from what `account` was linked with; empty when it may be used
/// for the account. What sends nothing new is no drift: a revocation or userinfo endpoint
/// removed (that request is then not made), an OAuth 2 provider becoming OpenID, or `iss`
/// newly required.
pub fn drift(account: &Account, provider: &Provider) -> Vec<Drift> {
    let Some(bound) = &account.linked_with else {
        return vec![Drift::Unrecorded];
    };
    [
        (account.issuer != provider.issuer, Drift::Issuer),
        (
            bound.token_endpoint != provider.token_endpoint,
            Drift::TokenEndpoint,
        ),
        (
            moved(&bound.revocation_endpoint, &provider.revocation_endpoint),
            Drift::RevocationEndpoint,
        ),
        (
            moved(&bound.userinfo_endpoint, &provider.userinfo_endpoint),
            Drift::UserinfoEndpoint,
        ),
        // Either of its clients: an account linked with a code keeps its device client.
        (!provider.has_client(&bound.client_id), Drift::ClientId),
        (
            bound.kind == ProviderKind::Openid && provider.kind != ProviderKind::Openid,
            Drift::NoLongerOpenid,
        ),
        (
            bound.iss_required && !provider.iss_parameter_supported,
            Drift::IssNoLongerRequired,
        ),
    ]
    .into_iter()
    .filter_map(|(differs, drift)| differs.then_some(drift))
    .collect()
}

/// Whether an optional endpoint now points elsewhere than recorded. One removed points
/// nowhere: the request is not made at all.
fn moved(recorded: &Option<Url>, now: &Option<Url>) -> bool {
    now.is_some() && now != recorded
}

/// "the token endpoint and the client id".
fn describe_all(drifts: &[Drift]) -> String {
    let words: Vec<&str> = drifts.iter().map(|d| d.describe()).collect();
    match words.split_last() {
        None => String::new(),
        Some((last, [])) => last.to_string(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

/// `provider`, speaking as the client that linked `account`, if the account may use it;
/// else the refusal, before anything is sent.
pub fn usable_for(account: &Account, provider: Provider) -> Result<Provider> {
    let drifts = drift(account, &provider);
    if let (true, Some(bound)) = (drifts.is_empty(), &account.linked_with) {
        return Ok(provider.for_client(&bound.client_id));
    }
    Err(Error::ProviderChanged {
        account: account.id.clone(),
        provider: provider.id,
        changes: describe_all(&drifts),
    })
}

/// Why saving `new` in place of `stored` is refused, if it is: it departs from what accounts
/// linked through it were linked with. Saving the definition unchanged is never refused (a
/// client secret set for a provider edited by hand), and an edit that brings it back to the
/// accounts' record always passes. Accounts without a record count for nothing here: no
/// definition is used for them anyway.
pub fn edit_refusal(
    stored: Option<&Provider>,
    new: &Provider,
    accounts: &[Account],
) -> Option<Error> {
    if stored == Some(new) {
        return None;
    }
    let users: Vec<&Account> = accounts.iter().filter(|a| a.provider == new.id).collect();
    let mut drifts: Vec<Drift> = Vec::new();
    for d in users.iter().flat_map(|a| drift(a, new)) {
        if d != Drift::Unrecorded && !drifts.contains(&d) {
            drifts.push(d);
        }
    }
    (!drifts.is_empty()).then(|| Error::ProviderInUse {
        provider: new.id.clone(),
        accounts: users.len(),
        changes: describe_all(&drifts),
    })
}

impl Keyfob {
    /// The provider `account` was linked through, refused with [`Error::ProviderChanged`]
    /// unless it still matches the account's record: every request with the account's
    /// tokens or its client's secret goes through here, so it goes only where it was linked.
    pub(crate) fn bound_provider(&self, account: &Account) -> Result<Provider> {
        usable_for(account, self.provider(&account.provider)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::tests::sample as provider;
    use crate::store::accounts::tests::sample;
    use crate::store::binding::Binding;

    /// An account linked through the sample provider.
    fn linked() -> Account {
        let p = provider();
        Account {
            provider: p.id.clone(),
            issuer: p.issuer.clone(),
            linked_with: Some(Binding::of(&p)),
            ..sample("local-1")
        }
    }

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn the_provider_it_was_linked_with_has_no_drift() {
        assert_eq!(drift(&linked(), &provider()), []);
        // Settings outside the record may change.
        let mut p = provider();
        p.name = "Renamed".into();
        p.scopes.push("profile".into());
        p.authorization_endpoint = url("http://127.0.0.1:4000/other-auth");
        p.jwks_uri = Some(url("http://127.0.0.1:4000/other-jwks"));
        assert_eq!(drift(&linked(), &p), []);
    }

    #[test]
    fn every_recorded_setting_that_changes_is_a_drift() {
        /// A change to a provider definition.
        type Edit = fn(&mut Provider);
        let cases: Vec<(Edit, Drift)> = vec![
            (|p| p.issuer = "https://other".into(), Drift::Issuer),
            (
                |p| p.token_endpoint = url("https://evil.example/token"),
                Drift::TokenEndpoint,
            ),
            (
                |p| p.revocation_endpoint = Some(url("https://evil.example/revoke")),
                Drift::RevocationEndpoint,
            ),
            (
                |p| p.userinfo_endpoint = Some(url("https://evil.example/me")),
                Drift::UserinfoEndpoint,
            ),
            (|p| p.client_id = "other".into(), Drift::ClientId),
            (|p| p.kind = ProviderKind::Oauth2, Drift::NoLongerOpenid),
            (
                |p| p.iss_parameter_supported = false,
                Drift::IssNoLongerRequired,
            ),
        ];
        for (change, expected) in cases {
            let mut p = provider();
            change(&mut p);
            assert_eq!(drift(&linked(), &p), [expected], "{p:?}");
        }
        let mut p = provider();
        p.token_endpoint = url("https://evil.example/token");
        p.client_id = "other".into();
        assert_eq!(
            drift(&linked(), &p),
            [Drift::TokenEndpoint, Drift::ClientId]
        );
    }

    #[test]
    fn what_sends_nothing_new_is_no_drift() {
        let mut before = provider();
        before.kind = ProviderKind::Oauth2;
        before.iss_parameter_supported = false;
        let account = Account {
            linked_with: Some(Binding::of(&before)),
            ..linked()
        };
        // OAuth 2 to OpenID, and `iss` newly required.
        assert_eq!(drift(&account, &provider()), []);
        // Endpoints removed: those requests are not made.
        let mut p = provider();
        p.userinfo_endpoint = None;
        assert_eq!(drift(&linked(), &p), []);
        // One recorded as none and added since is elsewhere.
        p.revocation_endpoint = Some(url("http://127.0.0.1:4000/revoke"));
        assert_eq!(drift(&linked(), &p), [Drift::RevocationEndpoint]);
    }

    #[test]
    fn an_account_without_a_record_matches_no_provider() {
        let account = Account {
            linked_with: None,
            ..linked()
        };
        assert_eq!(drift(&account, &provider()), [Drift::Unrecorded]);
    }

    #[test]
    fn a_drifted_provider_is_refused_naming_what_changed() {
        assert_eq!(usable_for(&linked(), provider()).unwrap(), provider());
        let mut p = provider();
        p.token_endpoint = url("https://evil.example/token");
        p.client_id = "other".into();
        p.iss_parameter_supported = false;
        let err = usable_for(&linked(), p).unwrap_err();
        assert!(matches!(err, Error::ProviderChanged { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            "provider 'local' no longer matches what account local-1 was linked with (the \
             token endpoint, the client id and the 'iss' requirement), so nothing was sent to \
             it; re-link the account (or unlink it), or restore the provider's settings"
        );
    }

    #[test]
    fn an_edit_that_redirects_linked_accounts_is_refused() {
        let stored = provider();
        let mut other_account = linked();
        other_account.provider = "elsewhere".into();
        let accounts = [linked(), linked(), other_account];
        let mut edited = provider();
        edited.kind = ProviderKind::Oauth2;
        edited.token_endpoint = url("https://evil.example/token");
        let err = edit_refusal(Some(&stored), &edited, &accounts).unwrap();
        assert!(
            matches!(err, Error::ProviderInUse { accounts: 2, .. }),
            "{err:?}"
        );
        let text = err.to_string();
        assert!(
            text.starts_with(
                "provider 'local' cannot change the token endpoint and the kind (OpenID \
                 Connect, not plain OAuth 2) while 2 account(s) are linked through it"
            ),
            "{text}"
        );
        assert!(
            text.contains("Unlink those accounts") && text.contains("re-link"),
            "{text}"
        );

        // Nobody linked through it: any valid edit goes.
        assert!(edit_refusal(Some(&stored), &edited, &accounts[2..]).is_none());
        // Settings outside the record go.
        let mut renamed = provider();
        renamed.name = "Renamed".into();
        assert!(edit_refusal(Some(&stored), &renamed, &accounts).is_none());
    }

    #[test]
    fn an_unchanged_or_restoring_save_is_never_refused() {
        // The file was edited by hand: saving it as it is (a new client secret) goes, and so
        // does putting the accounts' settings back; anything else is refused.
        let mut hand_edited = provider();
        hand_edited.token_endpoint = url("https://evil.example/token");
        let accounts = [linked()];
        assert!(edit_refusal(Some(&hand_edited), &hand_edited, &accounts).is_none());
        assert!(edit_refusal(Some(&hand_edited), &provider(), &accounts).is_none());
        let mut renamed = hand_edited.clone();
        renamed.name = "Renamed".into();
        assert!(edit_refusal(Some(&hand_edited), &renamed, &accounts).is_some());
        // A provider added back under the id of accounts left behind is checked too.
        assert!(edit_refusal(None, &hand_edited, &accounts).is_some());
        assert!(edit_refusal(None, &provider(), &accounts).is_none());
        // Accounts with no record are refused any provider when used, whatever the edit.
        let unrecorded = Account {
            linked_with: None,
            ..linked()
        };
        assert!(edit_refusal(Some(&provider()), &hand_edited, &[unrecorded]).is_none());
    }
}

// What a changed provider gets from an account's operations: nothing. Over the in-memory
// keyring and two stub providers, the one the account was linked with and the one its
// definition was changed to point at.
#[cfg(test)]
mod redirected {
    use std::time::Duration;

    use super::*;
    use crate::provider::ClientAuth;
    use crate::provider_setup::SecretUpdate;
    use crate::revocation::Revocation;
    use crate::secret::Secret;
    use crate::store::secrets::SecretKey;
    use crate::testing::{same_tokens, Fixture, StubProvider};

    /// Points the stub provider's `endpoint` at `elsewhere` by editing `providers.toml` on
    /// disk, as a person (or another program) could, past `save_provider`'s refusal.
    fn edit_on_disk(f: &Fixture, endpoint: &str, elsewhere: &StubProvider) {
        let path = f.kf.paths().providers_file();
        let text = std::fs::read_to_string(&path).unwrap();
        let (from, to) = (
            format!("{}{endpoint}", f.idp.base),
            format!("{}{endpoint}", elsewhere.base),
        );
        assert!(text.contains(&from), "{text}");
        std::fs::write(&path, text.replace(&from, &to)).unwrap();
    }

    #[tokio::test]
    async fn a_refresh_token_never_goes_to_a_token_endpoint_edited_on_disk() {
        let f = Fixture::start().await;
        let alice = f.account("alice");
        let refresh = f.secret(SecretKey::RefreshToken(alice.id.clone())).unwrap();
        let evil = StubProvider::start().await;
        edit_on_disk(&f, "/token", &evil);

        let err =
            f.kf.access_token(&alice.id, Duration::from_secs(60))
                .await
                .unwrap_err();
        assert!(matches!(err, Error::ProviderChanged { .. }), "{err}");
        assert!(err.to_string().contains("(the token endpoint)"), "{err}");
        assert_eq!(evil.refreshes(), (0, 0), "nothing reached the new endpoint");
        assert_eq!(f.idp.refreshes(), (0, 0));
        // Nothing changed: the grant, the tokens and the account are as they were.
        assert!(f.idp.is_live(&refresh));
        assert_eq!(
            f.secret(SecretKey::RefreshToken(alice.id.clone())),
            Some(refresh)
        );
        assert!(same_tokens(&f.listed(&alice.id).unwrap(), &alice));
        assert!(f.keyring.writes().is_empty());
        // Explicit refreshes and checks are refused alike.
        for err in [
            f.kf.refresh_account(&alice.id).await.unwrap_err(),
            f.kf.check_account(&alice.id).await.unwrap_err(),
        ] {
            assert!(matches!(err, Error::ProviderChanged { .. }), "{err}");
        }
        assert_eq!(evil.refreshes(), (0, 0));

        // Put back, the provider refreshes the account again.
        let restored = std::fs::read_to_string(f.kf.paths().providers_file()).unwrap();
        std::fs::write(
            f.kf.paths().providers_file(),
            restored.replace(
                &format!("{}/token", evil.base),
                &format!("{}/token", f.idp.base),
            ),
        )
        .unwrap();
        assert!(
            f.kf.access_token(&alice.id, Duration::from_secs(60))
                .await
                .unwrap()
                .refreshed
        );
        assert_eq!(f.idp.refreshes(), (1, 0));
    }

    #[tokio::test]
    async fn a_client_secret_never_goes_to_a_token_endpoint_edited_on_disk() {
        let f = Fixture::start().await;
        let mut confidential = f.kf.provider("stub").unwrap();
        confidential.client_auth = ClientAuth::Post;
        f.kf.save_provider(confidential, SecretUpdate::Set(Secret::new("s3cret")))
            .await
            .unwrap();
        let alice = f.account("alice");
        let evil = StubProvider::start().await;
        edit_on_disk(&f, "/token", &evil);
        let err =
            f.kf.access_token(&alice.id, Duration::from_secs(60))
                .await
                .unwrap_err();
        assert!(matches!(err, Error::ProviderChanged { .. }), "{err}");
        assert_eq!(evil.refreshes(), (0, 0));
    }

    #[tokio::test]
    async fn unlink_revokes_nothing_at_a_changed_endpoint_and_still_forgets_the_account() {
        let f = Fixture::start().await;
        let alice = f.account("alice");
        let refresh = f.secret(SecretKey::RefreshToken(alice.id.clone())).unwrap();
        let evil = StubProvider::start().await;
        edit_on_disk(&f, "/revoke", &evil);

        let report = f.kf.unlink(&alice.id).await.unwrap();
        match &report.revocation {
            Revocation::Failed(reason) => {
                assert!(reason.contains("the revocation endpoint"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
        assert!(
            evil.state().revoked.is_empty(),
            "nothing reached the new endpoint"
        );
        assert!(f.idp.state().revoked.is_empty());
        assert!(
            f.idp.is_live(&refresh),
            "the grant lives on where it was linked"
        );
        assert!(f.items().is_empty());
        assert!(f.listed(&alice.id).is_none());
    }

    #[tokio::test]
    async fn an_edit_that_redirects_a_linked_account_is_refused_and_writes_nothing() {
        let f = Fixture::start().await;
        let alice = f.account("alice");
        let before = std::fs::read_to_string(f.kf.paths().providers_file()).unwrap();
        let evil = StubProvider::start().await;
        let mut edited = f.kf.provider("stub").unwrap();
        edited.token_endpoint = evil.provider("stub").token_endpoint;
        edited.client_auth = ClientAuth::Post;

        let err =
            f.kf.save_provider(edited.clone(), SecretUpdate::Set(Secret::new("s3cret")))
                .await
                .unwrap_err();
        assert!(
            matches!(err, Error::ProviderInUse { accounts: 1, .. }),
            "{err}"
        );
        assert_eq!(err.kind(), crate::error::ErrorKind::ProviderSetup);
        assert_eq!(
            std::fs::read_to_string(f.kf.paths().providers_file()).unwrap(),
            before
        );
        assert!(
            f.keyring.writes().is_empty(),
            "no client secret stored either"
        );

        // A setting outside the record is saved.
        let mut renamed = f.kf.provider("stub").unwrap();
        renamed.name = "Renamed".into();
        f.kf.save_provider(renamed, SecretUpdate::Keep)
            .await
            .unwrap();

        // Once the account is unlinked, the edit goes.
        f.kf.unlink(&alice.id).await.unwrap();
        f.kf.save_provider(edited, SecretUpdate::Set(Secret::new("s3cret")))
            .await
            .unwrap();
    }
}

// The same against two of the testkit's real OpenID providers: an account linked through one,
// and its provider's token endpoint edited on disk to the other's. Only the keyring is in
// memory.
#[cfg(test)]
mod two_providers {
    use std::time::Duration;

    use keyfob_testkit::Idp;

    use super::*;
    use crate::paths::Paths;
    use crate::store::memory::MemoryKeyring;
    use crate::store::secrets::SecretKey;
    use crate::testing::{link_as, local_openid};

    #[tokio::test(flavor = "multi_thread")]
    async fn a_refresh_token_never_reaches_another_providers_token_endpoint() {
        // Short-lived access tokens, so that a token request would be a refresh.
        let linked = Idp::start_with(serde_json::json!({"ttl": {"AccessToken": 30}}))
            .await
            .unwrap();
        let other = Idp::start().await.unwrap();
        let home = tempfile::tempdir().unwrap();
        let keyring = MemoryKeyring::new();
        let kf = Keyfob::open_with_store(Paths::under(home.path()), keyring.as_store());
        kf.add_openid_provider(local_openid(&linked, "local"), None)
            .await
            .unwrap();
        let account = link_as(&kf, "local", "alice").await;
        let refresh = keyring
            .peek(
                &kf.paths().keyring_service,
                &SecretKey::RefreshToken(account.id.clone()).user(),
            )
            .unwrap();

        // (The revocation endpoint starts with the token endpoint's URL: the line is edited.)
        let path = kf.paths().providers_file();
        let text = std::fs::read_to_string(&path).unwrap();
        let line = |idp: &Idp| format!("token_endpoint = \"{}\"", idp.token_endpoint());
        assert!(text.contains(&line(&linked)), "{text}");
        std::fs::write(&path, text.replace(&line(&linked), &line(&other))).unwrap();

        let err = kf
            .access_token(&account.id, Duration::from_secs(3600))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::ProviderChanged { .. }), "{err}");
        assert!(err.to_string().contains("(the token endpoint)"), "{err}");
        assert_eq!(other.stats().await.unwrap().token.total(), 0);
        assert_eq!(linked.stats().await.unwrap().token.refresh_token, 0);
        assert!(linked.is_active(&refresh).await.unwrap());
        assert_eq!(kf.account(&account.id).unwrap(), account);

        // Put back, it refreshes where it was linked.
        std::fs::write(&path, text).unwrap();
        let fresh = kf
            .access_token(&account.id, Duration::from_secs(3600))
            .await
            .unwrap();
        assert!(fresh.refreshed);
        assert_eq!(linked.stats().await.unwrap().token.refresh_token, 1);
        assert_eq!(other.stats().await.unwrap().token.total(), 0);
    }
}
