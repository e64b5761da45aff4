//! GitHub and Google, configured from their documentation. Each fact that a line depends on
//! is cited next to it; `tests/github/QUIRKS.md` and the Google-like provider in `tests/idp`
//! reproduce the same behaviour locally.
//!
//! A distributor may bake default client registrations in at build time with the environment
//! variables `KEYFOB_GITHUB_CLIENT_ID`, `KEYFOB_GITHUB_CLIENT_SECRET`, `KEYFOB_GOOGLE_CLIENT_ID`
//! and `KEYFOB_GOOGLE_CLIENT_SECRET`; none is ever committed. (A native app's client secret is
//! not confidential anyway, RFC 8252 section 8.5; Keyfob still keeps it in the keyring.)

use crate::keeper::refresh_ahead::RefreshAhead;
use std::collections::BTreeMap;

use url::Url;

use crate::error::{Error, Result};
use crate::provider::discovery::{Discovered, OpenidProviderDraft};
use crate::provider::{ClientAuth, Flavor, Provider, ProviderKind, RedirectMode};
use crate::secret::Secret;

/// GitHub client id baked in at build time, if any.
const GITHUB_CLIENT_ID: Option<&str> = option_env!("KEYFOB_GITHUB_CLIENT_ID");
/// GitHub client secret baked in at build time, if any.
const GITHUB_CLIENT_SECRET: Option<&str> = option_env!("KEYFOB_GITHUB_CLIENT_SECRET");
/// Google client id baked in at build time, if any.
const GOOGLE_CLIENT_ID: Option<&str> = option_env!("KEYFOB_GOOGLE_CLIENT_ID");
/// Google client secret baked in at build time, if any.
const GOOGLE_CLIENT_SECRET: Option<&str> = option_env!("KEYFOB_GOOGLE_CLIENT_SECRET");

/// A preset that may have a client registration built into this build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// GitHub (OAuth App or GitHub App).
    Github,
    /// Google ("Desktop app" client).
    Google,
}

/// The client registration a preset signs in as.
#[derive(Debug)]
pub struct PresetClient {
    /// The client id.
    pub id: String,
    /// Its secret, if it has one.
    pub secret: Option<Secret>,
}

impl Preset {
    /// The provider's name, as users know it.
    pub fn name(self) -> &'static str {
        match self {
            Preset::Github => "GitHub",
            Preset::Google => "Google",
        }
    }

    /// Whether this build has a client registration of its own for the preset.
    pub fn has_built_in_client(self) -> bool {
        self.built_in().0.is_some()
    }

    /// The client the user gave, else the one built into this build; `None` when neither
    /// exists. One rule for both faces: a client id is trimmed and a blank one is no client id;
    /// a secret is taken as typed and an empty one is no secret. A built-in registration is
    /// used whole: its secret never goes with a client id the user registered, nor the
    /// user's secret with its id.
    pub fn client(self, id: Option<&str>, secret: Option<Secret>) -> Option<PresetClient> {
        let secret = secret.filter(|s| !s.expose().is_empty());
        match id.map(str::trim).filter(|id| !id.is_empty()) {
            Some(id) => Some(PresetClient {
                id: id.to_string(),
                secret,
            }),
            None => {
                let (id, built_in_secret) = self.built_in();
                Some(PresetClient {
                    id: id?.to_string(),
                    secret: built_in_secret.map(Secret::new),
                })
            }
        }
    }

    fn built_in(self) -> (Option<&'static str>, Option<&'static str>) {
        let (id, secret) = match self {
            Preset::Github => (GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET),
            Preset::Google => (GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET),
        };
        baked(id, secret)
    }
}

/// A built-in registration as the build environment gave it, by the same rule as a typed one:
/// the id trimmed and a blank one no registration, an empty secret no secret. A release
/// workflow passes a repository secret that was never set as an empty variable, which
/// `option_env!` reads as `Some("")`.
fn baked(
    id: Option<&'static str>,
    secret: Option<&'static str>,
) -> (Option<&'static str>, Option<&'static str>) {
    match id.map(str::trim).filter(|id| !id.is_empty()) {
        Some(id) => (Some(id), secret.filter(|s| !s.is_empty())),
        None => (None, None),
    }
}

/// github.com's web origin.
pub const GITHUB_WEB: &str = "https://github.com";
/// github.com's REST API root.
pub const GITHUB_API: &str = "https://api.github.com";
/// Google's issuer.
pub const GOOGLE_ISSUER: &str = "https://accounts.google.com";

/// Where a GitHub preset points and what it is registered as.
#[derive(Debug, Clone)]
pub struct GithubOptions {
    /// Provider id (default `github`).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Web origin: `https://github.com`, `https://NAME.ghe.com` or a GitHub Enterprise
    /// Server host.
    pub web: Url,
    /// REST API root: `https://api.github.com`, `https://api.NAME.ghe.com` or
    /// `https://HOST/api/v3`.
    pub api: Url,
    /// The OAuth App's or GitHub App's client id.
    pub client_id: String,
    /// Loopback by default: an OAuth App accepts any port on its loopback callback.
    pub redirect: RedirectMode,
    /// A fixed loopback port: GitHub Apps match callbacks exactly, port included.
    pub loopback_port: Option<u16>,
    /// Whether every callback carries `iss` (RFC 9207), so one without it is refused:
    /// github.com has sent it since 2026-04-09. Whether GHE.com and GitHub Enterprise Server
    /// send it is undocumented (a server may be older), so there a present `iss` is checked
    /// and a missing one tolerated.
    pub sends_iss: bool,
    /// Whether linking with a code is on (`/login/device/code`); the app must have "Enable
    /// Device Flow" ticked in its settings on GitHub. Off by default (it invites phishing).
    pub device_flow: bool,
}

/// The loopback port a GitHub App preset listens on; register
/// `http://127.0.0.1:47213/oauth/github` as one of the app's callback URLs.
pub const GITHUB_APP_LOOPBACK_PORT: u16 = 47213;

impl GithubOptions {
    /// github.com.
    pub fn github_com(client_id: impl Into<String>) -> Self {
        GithubOptions {
            id: "github".into(),
            name: Preset::Github.name().into(),
            web: Url::parse(GITHUB_WEB).expect("valid"),
            api: Url::parse(GITHUB_API).expect("valid"),
            client_id: client_id.into(),
            redirect: RedirectMode::Loopback,
            loopback_port: None,
            sends_iss: true,
            device_flow: false,
        }
    }

    /// For a GitHub App: its callback URLs match exactly (port included), so the desktop app
    /// uses the custom scheme and the CLI a fixed loopback port. Both URLs must be registered.
    /// https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-user-access-token-for-a-github-app
    pub fn github_app(mut self) -> Self {
        self.redirect = RedirectMode::Scheme;
        self.loopback_port = Some(GITHUB_APP_LOOPBACK_PORT);
        self
    }

    /// GitHub Enterprise at `base`, as the user typed it: a GitHub Enterprise Server
    /// (`https://ghe.example.com`, with or without a path; the API is under `/api/v3`) or
    /// GitHub Enterprise Cloud with data residency (`https://NAME.ghe.com`; the API is
    /// `https://api.NAME.ghe.com`).
    /// https://docs.github.com/en/enterprise-server@latest/rest/quickstart (API root)
    /// https://docs.github.com/en/enterprise-cloud@latest/admin/data-residency/network-details-for-ghecom
    pub fn enterprise(base: &str, client_id: impl Into<String>) -> Result<Self> {
        let invalid = |reason: String| Error::ProviderInvalid {
            provider: "github-enterprise".into(),
            reason,
        };
        let mut base = Url::parse(base.trim()).map_err(|e| {
            invalid(format!(
                "the GitHub Enterprise URL '{base}' is not a valid URL ({e}); \
                 write it as https://HOST"
            ))
        })?;
        if !matches!(base.scheme(), "https" | "http") || base.cannot_be_a_base() {
            return Err(invalid(format!(
                "the GitHub Enterprise URL '{base}' must start with https://"
            )));
        }
        base.set_query(None);
        base.set_fragment(None);
        if let Some(subdomain) = ghe_com_subdomain(&base) {
            if base.scheme() != "https" || base.path() != "/" || base.port().is_some() {
                return Err(invalid(format!(
                    "a GHE.com enterprise is reached at https://{subdomain}.ghe.com, \
                     without a port or path"
                )));
            }
            let api = Url::parse(&format!("https://api.{subdomain}.ghe.com/"))
                .map_err(|e| invalid(format!("no API URL for {base}: {e}")))?;
            return Ok(GithubOptions {
                id: "github-enterprise".into(),
                name: format!("GitHub Enterprise Cloud ({subdomain}.ghe.com)"),
                web: base,
                api,
                client_id: client_id.into(),
                redirect: RedirectMode::Loopback,
                loopback_port: None,
                // Undocumented for GHE.com: a present `iss` is checked, a missing one allowed.
                sends_iss: false,
                device_flow: false,
            });
        }
        // A base without a trailing slash would lose its last path segment in `join`.
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let api = base
            .join("api/v3/")
            .map_err(|e| invalid(format!("no API URL under {base}: {e}")))?;
        Ok(GithubOptions {
            id: "github-enterprise".into(),
            name: format!(
                "GitHub Enterprise ({})",
                base.host_str().unwrap_or("server")
            ),
            web: base,
            api,
            client_id: client_id.into(),
            redirect: RedirectMode::Loopback,
            loopback_port: None,
            sends_iss: false,
            device_flow: false,
        })
    }
}

/// `NAME` for a GHE.com (data residency) web host `NAME.ghe.com`.
fn ghe_com_subdomain(url: &Url) -> Option<String> {
    let host = url.host_str()?.to_ascii_lowercase();
    let name = host.strip_suffix(".ghe.com")?;
    (!name.is_empty() && !name.contains('.') && name != "api").then(|| name.to_string())
}

/// The GitHub preset (OAuth Apps and GitHub Apps).
///
/// From https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps
/// and https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-user-access-token-for-a-github-app:
/// - authorize at `/login/oauth/authorize`, exchange at `/login/oauth/access_token` with the
///   client secret in the body; the answer is form-encoded unless JSON is asked for
///   (`Http::oauth` accepts both), and errors come back with HTTP 200 and an `error` field;
/// - OAuth App tokens carry no `expires_in` (they do not expire); GitHub App user tokens with
///   expiration carry `expires_in`, `refresh_token` and `refresh_token_expires_in`;
/// - granted scopes are comma-separated;
/// - every callback carries `iss=<web>/login/oauth` (RFC 9207; on github.com and GHE.com since
///   2026-04-09, documented in "GitHub authentication discovery endpoints"), which is not the
///   account issuer (the web origin): `Provider::response_issuer` tells them apart;
/// - there is no RFC 7009 revocation endpoint; an app deletes a user's grant with
///   `DELETE /applications/{client_id}/grant` and its client credentials
///   (https://docs.github.com/en/rest/apps/oauth-applications), which `exchange::revoke` uses.
///
/// Identity comes from `GET /user` (login, numeric id as subject), which requires a
/// `User-Agent` and recommends `Accept: application/vnd.github+json`:
/// https://docs.github.com/en/rest/users/users#get-the-authenticated-user
pub fn github(options: GithubOptions) -> Provider {
    let web = with_trailing_slash(options.web);
    let api = with_trailing_slash(options.api);
    Provider {
        id: options.id,
        name: options.name,
        kind: ProviderKind::Oauth2,
        issuer: web.as_str().trim_end_matches('/').to_string(),
        authorization_endpoint: web.join("login/oauth/authorize").expect("valid"),
        token_endpoint: web.join("login/oauth/access_token").expect("valid"),
        userinfo_endpoint: Some(api.join("user").expect("valid")),
        revocation_endpoint: api
            .join(&format!(
                "applications/{}/grant",
                url_path_segment(&options.client_id)
            ))
            .ok(),
        jwks_uri: None,
        // https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/scopes-for-oauth-apps
        scopes: vec!["read:user".into()],
        client_id: options.client_id,
        client_auth: ClientAuth::Post,
        extra_params: BTreeMap::new(),
        redirect: options.redirect,
        iss_parameter_supported: options.sends_iss,
        id_token_signing_alg_values_supported: Vec::new(),
        flavor: Flavor::Github,
        loopback_port: options.loopback_port,
        // https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps#device-flow
        device_authorization_endpoint: options.device_flow.then(|| github_device_endpoint(&web)),
        // GitHub's device flow uses the app's own client.
        device_client_id: None,
        refresh_ahead: RefreshAhead::Default,
    }
}

/// Where GitHub (github.com, GHE.com or an Enterprise Server at `web`) takes device
/// authorization requests; the app must have "Enable Device Flow" ticked.
pub fn github_device_endpoint(web: &Url) -> Url {
    // https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps#device-flow
    with_trailing_slash(web.clone())
        .join("login/device/code")
        .expect("valid")
}

fn url_path_segment(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Where a Google preset points and what it is registered as.
#[derive(Debug, Clone)]
pub struct GoogleOptions {
    /// Provider id (default `google`).
    pub id: String,
    /// Display name.
    pub name: String,
    /// The issuer (`https://accounts.google.com`; a local reproduction in tests).
    pub issuer: String,
    /// The OAuth client id of a "Desktop app" client.
    pub client_id: String,
    /// Loopback by default: Desktop-app clients accept only loopback redirects. Use the
    /// custom scheme only for a client id whose registration allows it.
    pub redirect: RedirectMode,
    /// The client that links with a code, if any: Google allows its device flow only to a
    /// client of type "TVs and Limited Input devices", never to a "Desktop app" one. Without
    /// it, linking with a code stays off.
    pub device_client: Option<GoogleDeviceClient>,
}

/// Google's "TVs and Limited Input devices" client.
#[derive(Debug, Clone)]
pub struct GoogleDeviceClient {
    /// Its client id.
    pub id: String,
    /// Its client secret: Google's device-code polls require it.
    pub secret: Secret,
}

impl GoogleOptions {
    /// accounts.google.com.
    pub fn new(client_id: impl Into<String>) -> Self {
        GoogleOptions {
            id: "google".into(),
            name: Preset::Google.name().into(),
            issuer: GOOGLE_ISSUER.into(),
            client_id: client_id.into(),
            redirect: RedirectMode::Loopback,
            device_client: None,
        }
    }
}

/// The Google preset; its endpoints come from Google's discovery document.
///
/// From https://developers.google.com/identity/protocols/oauth2/native-app:
/// - desktop apps use a loopback redirect (`http://127.0.0.1:port`) and PKCE S256;
/// - "refresh tokens are always returned for installed applications", so no `prompt=consent`
///   (it would show the consent screen on every link); `access_type=offline`, the web-server
///   flow's way to ask for one, is kept because it costs nothing and Google accepts it, and a
///   re-link that brings no refresh token keeps the one already stored;
/// - callbacks carry `iss=https://accounts.google.com` though discovery does not announce it
///   (openiddict/openiddict-core#2428), so a present `iss` is checked and none is required;
/// - ID tokens may name the issuer without its scheme (`bare_issuer`);
/// - the token request carries `client_id` and `client_secret` in the body;
/// - a refreshed response carries no new refresh token (`token.rs` keeps the old one);
/// - tokens are revoked at the discovered `revocation_endpoint`, which answers 400
///   `invalid_token` for a token that is already dead (`revocation::was_already_dead`).
///
/// From https://developers.google.com/identity/protocols/oauth2/limited-input-device (and
/// tests/idp/GOOGLE.md "Device flow"): linking with a code needs a separate "TVs and Limited
/// Input devices" client ([`GoogleOptions::device_client`]), at discovery's
/// `device_authorization_endpoint`; its answer names `verification_url` (the `oauth2` crate
/// reads it), polls answer 428 while pending and 403 for `slow_down` and `access_denied`, and
/// its refresh tokens are refreshed with that client.
pub fn google(options: GoogleOptions) -> OpenidProviderDraft {
    OpenidProviderDraft {
        id: options.id,
        name: options.name,
        issuer: options.issuer,
        client_id: options.client_id,
        client_auth: ClientAuth::Post,
        scopes: Some(vec!["openid".into(), "email".into(), "profile".into()]),
        extra_params: BTreeMap::from([("access_type".to_string(), "offline".to_string())]),
        redirect: options.redirect,
        device_flow: options.device_client.is_some(),
        refresh_ahead: RefreshAhead::Default,
    }
}

/// The Google provider from `draft` (made by [`google`] from `options`) and Google's
/// discovery document `found`, with the device client of `options`.
pub fn google_provider(
    options: GoogleOptions,
    draft: OpenidProviderDraft,
    found: Discovered,
) -> Provider {
    Provider {
        device_client_id: options.device_client.map(|c| c.id.trim().to_string()),
        ..draft.into_provider(found, Flavor::Google)
    }
}

fn with_trailing_slash(mut url: Url) -> Url {
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_given_client_is_trimmed_and_a_blank_one_falls_back_to_the_built_in_one() {
        let secret = |s: &str| Some(Secret::new(s));
        let given = Preset::Github
            .client(Some(" Iv1.x "), secret("s"))
            .expect("given");
        assert_eq!(given.id, "Iv1.x");
        assert_eq!(given.secret.as_ref().map(Secret::expose), Some("s"));
        // An empty secret is no secret, and the built-in one never fills in for it.
        let without = Preset::Google
            .client(Some("id"), secret(""))
            .expect("given");
        assert!(without.secret.is_none());
        for preset in [Preset::Github, Preset::Google] {
            let blank = preset.client(Some("  "), None);
            assert_eq!(blank.is_some(), preset.has_built_in_client());
            assert_eq!(
                preset.client(None, None).is_some(),
                preset.has_built_in_client()
            );
        }
    }

    #[test]
    fn an_empty_build_variable_is_no_built_in_registration() {
        assert_eq!(baked(None, None), (None, None));
        assert_eq!(baked(Some(""), Some("")), (None, None));
        assert_eq!(baked(Some(" \n"), Some("s")), (None, None));
        assert_eq!(baked(Some(" Iv1.x\n"), Some("")), (Some("Iv1.x"), None));
        assert_eq!(baked(Some("id"), Some("s")), (Some("id"), Some("s")));
    }

    #[test]
    fn enterprise_urls_are_checked_and_keep_their_path() {
        let sub = GithubOptions::enterprise(" https://ghe.example.com/sub ", "abc").unwrap();
        assert_eq!(sub.web.as_str(), "https://ghe.example.com/sub/");
        assert_eq!(sub.api.as_str(), "https://ghe.example.com/sub/api/v3/");
        for bad in [
            "ghe.example.com",
            "ghe.example.com:8443",
            "ftp://ghe.example.com",
            "mailto:a@b",
        ] {
            let err = GithubOptions::enterprise(bad, "abc").unwrap_err();
            assert!(matches!(err, Error::ProviderInvalid { .. }), "{bad}: {err}");
            assert!(err.to_string().contains("https://"), "{bad}: {err}");
        }
    }

    #[test]
    fn github_endpoints_for_github_com_and_enterprise() {
        let p = github(GithubOptions::github_com("abc"));
        assert_eq!(
            p.authorization_endpoint.as_str(),
            "https://github.com/login/oauth/authorize"
        );
        assert_eq!(
            p.token_endpoint.as_str(),
            "https://github.com/login/oauth/access_token"
        );
        assert_eq!(
            p.userinfo_endpoint.unwrap().as_str(),
            "https://api.github.com/user"
        );
        assert_eq!(p.issuer, "https://github.com");
        assert_eq!(
            p.revocation_endpoint.as_ref().unwrap().as_str(),
            "https://api.github.com/applications/abc/grant"
        );
        assert_eq!(p.redirect, RedirectMode::Loopback);

        let ghe = github(GithubOptions::enterprise("https://ghe.example.com", "abc").unwrap());
        assert_eq!(
            ghe.authorization_endpoint.as_str(),
            "https://ghe.example.com/login/oauth/authorize"
        );
        assert_eq!(
            ghe.userinfo_endpoint.as_ref().unwrap().as_str(),
            "https://ghe.example.com/api/v3/user"
        );
        assert_eq!(
            ghe.manage_access_url().unwrap().as_str(),
            "https://ghe.example.com/settings/applications"
        );
        assert!(github(GithubOptions::github_com("abc")).validate().is_ok());
    }

    #[test]
    fn github_callbacks_name_the_login_oauth_issuer() {
        let com = github(GithubOptions::github_com("abc"));
        assert_eq!(
            com.issuer, "https://github.com",
            "accounts keep their issuer"
        );
        assert_eq!(com.response_issuer(), "https://github.com/login/oauth");
        assert!(com.iss_parameter_supported, "github.com always sends iss");

        let ghes = github(GithubOptions::enterprise("https://ghe.example.com/sub", "abc").unwrap());
        assert_eq!(ghes.issuer, "https://ghe.example.com/sub");
        assert_eq!(
            ghes.response_issuer(),
            "https://ghe.example.com/sub/login/oauth"
        );
        assert!(
            !ghes.iss_parameter_supported,
            "an older server may send none"
        );

        // A provider saved before the rule (issuer and flags as they were) gets it too.
        let mut saved = github(GithubOptions::github_com("abc"));
        saved.iss_parameter_supported = false;
        assert_eq!(saved.response_issuer(), "https://github.com/login/oauth");
    }

    #[test]
    fn ghe_com_has_its_api_on_a_subdomain() {
        let ghe = GithubOptions::enterprise("https://Octo-Corp.ghe.com/", "abc").unwrap();
        assert_eq!(ghe.api.as_str(), "https://api.octo-corp.ghe.com/");
        assert!(!ghe.sends_iss, "undocumented there: checked when present");
        assert_eq!(ghe.name, "GitHub Enterprise Cloud (octo-corp.ghe.com)");
        let p = github(ghe);
        assert_eq!(
            p.authorization_endpoint.as_str(),
            "https://octo-corp.ghe.com/login/oauth/authorize"
        );
        assert_eq!(
            p.token_endpoint.as_str(),
            "https://octo-corp.ghe.com/login/oauth/access_token"
        );
        assert_eq!(
            p.userinfo_endpoint.as_ref().unwrap().as_str(),
            "https://api.octo-corp.ghe.com/user"
        );
        assert_eq!(
            p.revocation_endpoint.as_ref().unwrap().as_str(),
            "https://api.octo-corp.ghe.com/applications/abc/grant"
        );
        assert_eq!(p.response_issuer(), "https://octo-corp.ghe.com/login/oauth");
        assert_eq!(
            p.manage_access_url().unwrap().as_str(),
            "https://octo-corp.ghe.com/settings/applications"
        );
        assert!(p.validate().is_ok());
        for bad in [
            "http://octo.ghe.com",
            "https://octo.ghe.com:8443",
            "https://octo.ghe.com/sub",
        ] {
            let err = GithubOptions::enterprise(bad, "abc")
                .unwrap_err()
                .to_string();
            assert!(err.contains("https://octo.ghe.com"), "{bad}: {err}");
        }
        // Not GHE.com: deeper subdomains and look-alikes are GitHub Enterprise Servers.
        for server in ["https://a.b.ghe.com", "https://ghe.com.example.org"] {
            let o = GithubOptions::enterprise(server, "abc").unwrap();
            assert!(o.api.as_str().ends_with("/api/v3/"), "{server}");
        }
    }

    #[test]
    fn google_asks_for_offline_access() {
        let found = crate::provider::discovery::Discovered {
            issuer: GOOGLE_ISSUER.into(),
            authorization_endpoint: Url::parse("https://accounts.google.com/o/oauth2/v2/auth")
                .unwrap(),
            token_endpoint: Url::parse("https://oauth2.googleapis.com/token").unwrap(),
            userinfo_endpoint: Some(
                Url::parse("https://openidconnect.googleapis.com/v1/userinfo").unwrap(),
            ),
            revocation_endpoint: Some(Url::parse("https://oauth2.googleapis.com/revoke").unwrap()),
            jwks_uri: Url::parse("https://www.googleapis.com/oauth2/v3/certs").unwrap(),
            code_challenge_methods_supported: Some(vec!["plain".into(), "S256".into()]),
            authorization_response_iss_parameter_supported: false,
            id_token_signing_alg_values_supported: vec!["RS256".into()],
            device_authorization_endpoint: None,
        };
        let p = google(GoogleOptions::new("id.apps.googleusercontent.com"))
            .into_provider(found, Flavor::Google);
        assert_eq!(p.extra_params["access_type"], "offline");
        assert!(
            !p.extra_params.contains_key("prompt"),
            "no consent screen on every link"
        );
        assert_eq!(p.redirect, RedirectMode::Loopback);
        assert!(p.validate().is_ok());
        assert_eq!(p.flavor, Flavor::Google);
    }
}
