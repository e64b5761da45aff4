//! Unit-test fixture: a Keyfob over a temporary folder and an in-memory keyring that fails on
//! demand, with a stub OAuth 2 provider (token and revocation endpoints only) on loopback.
//! Accounts are set up directly in the stores, so the tests reach the keyring steps of
//! refresh, link, unlink and purge in milliseconds and without a Secret Service. The flow
//! tests in `tests/` cover the same operations against the real keyring and provider.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use url::Url;

use crate::facade::Keyfob;
use crate::paths::Paths;
use crate::provider::discovery::OpenidProviderDraft;
use crate::provider::{ClientAuth, Flavor, Provider, ProviderKind, RedirectMode};
use crate::store::accounts::{Account, AccountStatus};
use crate::store::binding::Binding;
use crate::store::memory::MemoryKeyring;
use crate::store::secrets::SecretKey;

/// One test's profile, keyring and provider.
pub(crate) struct Fixture {
    pub(crate) kf: Keyfob,
    pub(crate) keyring: Arc<MemoryKeyring>,
    pub(crate) idp: StubProvider,
    _home: tempfile::TempDir,
}

impl Fixture {
    /// An empty profile with the stub provider `stub` configured.
    pub(crate) async fn start() -> Fixture {
        let home = tempfile::tempdir().expect("temp dir");
        let keyring = MemoryKeyring::new();
        let kf = Keyfob::open_with_store(Paths::under(home.path()), keyring.as_store());
        let idp = StubProvider::start().await;
        kf.add_provider(idp.provider("stub"), None)
            .await
            .expect("provider added");
        keyring.forget_writes();
        Fixture {
            kf,
            keyring,
            idp,
            _home: home,
        }
    }

    /// An account as a link leaves it: a live grant at the stub, its three tokens in the
    /// keyring, then its metadata. Its access token has expired, so the next
    /// `access_token` refreshes.
    pub(crate) fn account(&self, name: &str) -> Account {
        let id = format!("stub-{name}");
        let now = OffsetDateTime::now_utc();
        let account = Account {
            id: id.clone(),
            provider: "stub".into(),
            issuer: self.idp.base.clone(),
            linked_with: Some(Binding::of(&self.idp.provider("stub"))),
            subject: name.into(),
            display_name: format!("{name}@example.com"),
            email: Some(format!("{name}@example.com")),
            access_expires_at: Some(now - time::Duration::minutes(1)),
            access_issued_at: Some(now - time::Duration::hours(1)),
            ..crate::store::accounts::tests::sample(&id)
        };
        let refresh = self.idp.grant();
        for (key, value) in [
            (SecretKey::RefreshToken(id.clone()), refresh),
            (SecretKey::AccessToken(id.clone()), format!("{id}-access-0")),
            (SecretKey::IdToken(id.clone()), format!("{id}-id-0")),
        ] {
            self.preset(key, &value);
        }
        self.kf
            .accounts
            .modify(|accounts| {
                accounts.push(account.clone());
                Ok(())
            })
            .expect("account saved");
        account
    }

    /// A secret as the keyring holds it, read past any injected failure.
    pub(crate) fn secret(&self, key: SecretKey) -> Option<String> {
        self.keyring
            .peek(&self.kf.paths().keyring_service, &key.user())
    }

    /// Stores a secret directly, as an earlier operation left it.
    pub(crate) fn preset(&self, key: SecretKey, value: &str) {
        let service = &self.kf.paths().keyring_service;
        self.keyring.preset(service, &key.user(), value.as_bytes());
    }

    /// Every keyring item of this profile.
    pub(crate) fn items(&self) -> Vec<String> {
        self.keyring.users(&self.kf.paths().keyring_service)
    }

    /// The account as the accounts file holds it, if listed.
    pub(crate) fn listed(&self, id: &str) -> Option<Account> {
        let accounts = self.kf.accounts().expect("accounts readable");
        accounts.into_iter().find(|a| a.id == id)
    }
}

/// A stub OAuth 2 provider: a token endpoint that answers refresh grants and rotates refresh
/// tokens, refusing a reused one and ending its grant (as rotating providers do), and an
/// RFC 7009 revocation endpoint. Access tokens live an hour.
pub(crate) struct StubProvider {
    /// `http://127.0.0.1:<port>`.
    pub(crate) base: String,
    state: Arc<Mutex<StubState>>,
    server: tokio::task::JoinHandle<()>,
}

/// What the stub knows and has seen.
#[derive(Debug, Default)]
pub(crate) struct StubState {
    /// Refresh token -> (grant, still the grant's current one).
    tokens: HashMap<String, (u32, bool)>,
    /// Grants ended by a revocation or a reused refresh token.
    ended: Vec<u32>,
    grants: u32,
    issued: u32,
    /// Refresh requests answered with new tokens.
    pub(crate) refreshes: u32,
    /// Refresh requests refused.
    pub(crate) refused: u32,
    /// Tokens sent to the revocation endpoint, in order.
    pub(crate) revoked: Vec<String>,
    /// The status the next revocation requests get instead of 200.
    pub(crate) revocation_fails: Option<u16>,
}

impl StubProvider {
    /// Listens on an ephemeral loopback port until dropped.
    pub(crate) async fn start() -> StubProvider {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let state = Arc::new(Mutex::new(StubState::default()));
        let shared = state.clone();
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(answer(stream, shared.clone()));
            }
        });
        StubProvider {
            base,
            state,
            server,
        }
    }

    /// A public-client provider definition that points at the stub.
    pub(crate) fn provider(&self, id: &str) -> Provider {
        let url = |path: &str| Url::parse(&format!("{}{path}", self.base)).expect("URL");
        Provider {
            id: id.into(),
            name: "Stub".into(),
            kind: ProviderKind::Oauth2,
            issuer: self.base.clone(),
            authorization_endpoint: url("/authorize"),
            token_endpoint: url("/token"),
            userinfo_endpoint: Some(url("/user")),
            revocation_endpoint: Some(url("/revoke")),
            jwks_uri: None,
            scopes: vec!["profile".into()],
            client_id: "client".into(),
            client_auth: ClientAuth::None,
            extra_params: BTreeMap::new(),
            redirect: RedirectMode::Scheme,
            iss_parameter_supported: false,
            id_token_signing_alg_values_supported: Vec::new(),
            flavor: Flavor::Standard,
            loopback_port: None,
            device_authorization_endpoint: None,
            device_client_id: None,
            refresh_ahead: crate::keeper::refresh_ahead::RefreshAhead::Default,
        }
    }

    /// Opens a new grant; returns its refresh token.
    pub(crate) fn grant(&self) -> String {
        let mut state = self.state();
        state.grants += 1;
        let (grant, token) = (state.grants, format!("refresh-{}-0", state.grants));
        state.tokens.insert(token.clone(), (grant, true));
        token
    }

    /// Whether `refresh` is its grant's current refresh token and the grant is alive.
    pub(crate) fn is_live(&self, refresh: &str) -> bool {
        let state = self.state();
        matches!(state.tokens.get(refresh), Some((g, true)) if !state.ended.contains(g))
    }

    /// Refresh requests answered with new tokens, and refused.
    pub(crate) fn refreshes(&self) -> (u32, u32) {
        let state = self.state();
        (state.refreshes, state.refused)
    }

    /// The stub's state, to read counters or script failures (one guard at a time).
    pub(crate) fn state(&self) -> std::sync::MutexGuard<'_, StubState> {
        self.state.lock().expect("stub state poisoned")
    }
}

impl Drop for StubProvider {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Serves one request and closes the connection.
async fn answer(mut stream: TcpStream, state: Arc<Mutex<StubState>>) {
    let Some((path, form)) = read_request(&mut stream).await else {
        return;
    };
    let (status, body) = {
        let mut state = state.lock().expect("stub state poisoned");
        match path.as_str() {
            "/token" => state.token(&form),
            "/revoke" => state.revoke(&form),
            _ => (404, String::new()),
        }
    };
    let response = format!(
        "HTTP/1.1 {status} Stub\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// The path and form body of one HTTP/1.1 request.
async fn read_request(stream: &mut TcpStream) -> Option<(String, HashMap<String, String>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let path = head.split_whitespace().nth(1)?.to_string();
    let length: usize = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let form = url::form_urlencoded::parse(&buf[head_end..head_end + length])
        .into_owned()
        .collect();
    Some((path, form))
}

impl StubState {
    fn token(&mut self, form: &HashMap<String, String>) -> (u16, String) {
        let presented = form.get("refresh_token").cloned().unwrap_or_default();
        let refuse = |state: &mut StubState| {
            state.refused += 1;
            (400, r#"{"error":"invalid_grant"}"#.to_string())
        };
        if form.get("grant_type").map(String::as_str) != Some("refresh_token") {
            return (400, r#"{"error":"unsupported_grant_type"}"#.to_string());
        }
        let Some(&(grant, current)) = self.tokens.get(&presented) else {
            return refuse(self);
        };
        if !current {
            // A reused refresh token: someone holds a copy; end the whole grant.
            self.ended.push(grant);
        }
        if self.ended.contains(&grant) {
            return refuse(self);
        }
        self.issued += 1;
        self.refreshes += 1;
        let n = self.issued;
        let rotated = format!("refresh-{grant}-{n}");
        self.tokens.insert(presented, (grant, false));
        self.tokens.insert(rotated.clone(), (grant, true));
        let body = serde_json::json!({
            "access_token": format!("access-{grant}-{n}"),
            "token_type": "Bearer",
            "expires_in": 3600,
            "refresh_token": rotated,
        });
        (200, body.to_string())
    }

    fn revoke(&mut self, form: &HashMap<String, String>) -> (u16, String) {
        if let Some(status) = self.revocation_fails {
            return (status, String::new());
        }
        let token = form.get("token").cloned().unwrap_or_default();
        if let Some(&(grant, _)) = self.tokens.get(&token) {
            self.ended.push(grant);
        }
        self.revoked.push(token);
        (200, String::new())
    }
}

/// Whether `account` still says what `before` said about its tokens: a failed operation
/// left the metadata alone.
pub(crate) fn same_tokens(account: &Account, before: &Account) -> bool {
    account.access_expires_at == before.access_expires_at
        && account.access_issued_at == before.access_issued_at
        && account.refreshed_at == before.refreshed_at
        && account.has_refresh_token == before.has_refresh_token
        && account.status == AccountStatus::Ok
}

/// The testkit's real OpenID provider as a provider entry `id` for its native client
/// (the provider accepts the redirects of `local` and `local2`).
pub(crate) fn local_openid(idp: &keyfob_testkit::Idp, id: &str) -> OpenidProviderDraft {
    OpenidProviderDraft {
        id: id.into(),
        name: id.into(),
        issuer: idp.issuer().to_string(),
        client_id: keyfob_testkit::NATIVE_CLIENT_ID.into(),
        client_auth: ClientAuth::None,
        scopes: Some(
            ["openid", "email", "offline_access"]
                .map(String::from)
                .to_vec(),
        ),
        extra_params: [("prompt".to_string(), "consent".to_string())].into(),
        redirect: RedirectMode::Scheme,
        device_flow: false,
        refresh_ahead: crate::RefreshAhead::Default,
    }
}

/// Links `login` at `provider` through the scripted browser.
pub(crate) async fn link_as(kf: &Keyfob, provider: &str, login: &str) -> Account {
    let start = kf
        .begin_link(provider, crate::link::LinkOptions::default())
        .await
        .unwrap();
    let callback = keyfob_testkit::Browser::new()
        .authorize(
            start.authorization_url.as_str(),
            login,
            keyfob_testkit::Consent::Approve,
        )
        .await
        .unwrap();
    kf.complete_link(&callback).await.unwrap()
}
