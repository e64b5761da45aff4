//! Provider definitions: endpoints, client registration, and how the callback comes back.

pub mod discovery;
pub mod presets;
pub mod registration;

mod device_client;
mod flavor;

pub use flavor::Flavor;
pub use registration::RedirectMode;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::error::{Error, Result};
use crate::http::ensure_secure_url;
use crate::keeper::refresh_ahead::RefreshAhead;

/// How the provider tells us who the user is.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// OpenID Connect: a validated ID token plus userinfo.
    Openid,
    /// Plain OAuth 2: a JSON userinfo endpoint gives the identity.
    Oauth2,
}

/// How the client authenticates at the token endpoint (RFC 6749 section 2.3.1).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    /// `Authorization: Basic base64(client_id:client_secret)`.
    Basic,
    /// `client_id` and `client_secret` in the form body.
    Post,
    /// A public client: only `client_id` in the body (PKCE protects the code).
    None,
}

/// One configured identity provider. The client secret lives in the keyring, not here.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provider {
    /// Short id used in commands and in the redirect path: `[a-z0-9-]`.
    pub id: String,
    /// Name shown to users.
    pub name: String,
    /// OpenID Connect or plain OAuth 2.
    pub kind: ProviderKind,
    /// The issuer identifier (for OAuth 2 providers, their base URL).
    pub issuer: String,
    /// Where the browser is sent to sign in.
    pub authorization_endpoint: Url,
    /// Where codes and refresh tokens are exchanged.
    pub token_endpoint: Url,
    /// Where the identity is read.
    #[serde(default)]
    pub userinfo_endpoint: Option<Url>,
    /// RFC 7009 revocation endpoint.
    #[serde(default)]
    pub revocation_endpoint: Option<Url>,
    /// The provider's signing keys (OpenID).
    #[serde(default)]
    pub jwks_uri: Option<Url>,
    /// Scopes asked for when the user names none.
    pub scopes: Vec<String>,
    /// The registered client id.
    pub client_id: String,
    /// How the client authenticates at the token endpoint.
    pub client_auth: ClientAuth,
    /// Extra authorization request parameters (`prompt`, `access_type`, ...).
    #[serde(default)]
    pub extra_params: BTreeMap<String, String>,
    /// Custom scheme or loopback redirect.
    #[serde(default)]
    pub redirect: RedirectMode,
    /// Whether every authorization response carries `iss` (RFC 9207), so one without it is
    /// refused; a present `iss` is checked either way.
    #[serde(default)]
    pub iss_parameter_supported: bool,
    /// Discovery's `id_token_signing_alg_values_supported`; empty: any algorithm Keyfob accepts.
    #[serde(default)]
    pub id_token_signing_alg_values_supported: Vec<String>,
    /// Provider-specific behaviour.
    #[serde(default)]
    pub flavor: Flavor,
    /// A fixed loopback port, for providers that match loopback redirects exactly (GitHub
    /// Apps); `None` takes an ephemeral port, as RFC 8252 section 7.3 intends.
    #[serde(default)]
    pub loopback_port: Option<u16>,
    /// RFC 8628 device authorization endpoint, set only when the user opted in to linking
    /// with a code (the device flow invites phishing: a code can be relayed to a victim).
    #[serde(default)]
    pub device_authorization_endpoint: Option<Url>,
    /// A second client that links with a code, when the provider allows that only to another
    /// client type (Google's "TVs and Limited Input devices"); its secret is in the keyring
    /// too. `None`: the client above links with a code as well.
    #[serde(default)]
    pub device_client_id: Option<String>,
    /// How long before expiry the keeper refreshes this provider's accounts
    /// (`refresh_ahead = "off"` or `"5m"`; absent: the default rule).
    #[serde(default, skip_serializing_if = "RefreshAhead::is_default")]
    #[cfg_attr(feature = "ts", ts(as = "Option<String>", optional))]
    pub refresh_ahead: RefreshAhead,
}

/// Parameters a provider definition may not set: those the authorization request sets itself,
/// and those that would change where or how the answer comes back (`response_mode`) or what
/// is asked for behind the request's back (`request`, `request_uri` and `claims` carry a whole
/// second set of parameters; OpenID Connect Core sections 5.5 and 6).
const RESERVED_PARAMS: &[&str] = &[
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "request",
    "request_uri",
    "response_mode",
    "claims",
];

/// Whether `name` is reserved. Servers differ in whether parameter names are case-sensitive,
/// so any spelling counts.
fn is_reserved(name: &str) -> bool {
    RESERVED_PARAMS.iter().any(|r| r.eq_ignore_ascii_case(name))
}

impl Provider {
    /// The private-use scheme redirect URI of this provider.
    pub fn scheme_redirect_uri(&self) -> Url {
        Url::parse(&registration::scheme_redirect_uri(&self.id)).expect("valid redirect URI")
    }

    /// Every redirect URI the user must register at the provider for this definition.
    pub fn redirect_registrations(&self) -> Vec<registration::RedirectRegistration> {
        registration::redirect_registrations(registration::RedirectSetup {
            id: &self.id,
            flavor: self.flavor,
            redirect: self.redirect,
            loopback_port: self.loopback_port,
        })
    }

    /// Where the user can revoke Keyfob's access when the provider offers no RFC 7009 endpoint.
    pub fn manage_access_url(&self) -> Option<Url> {
        match self.flavor {
            // https://docs.github.com/en/apps/oauth-apps/using-oauth-apps/reviewing-your-authorized-oauth-apps
            Flavor::Github => self
                .authorization_endpoint
                .join("/settings/applications")
                .ok(),
            // https://support.google.com/accounts/answer/13533235
            Flavor::Google => Url::parse("https://myaccount.google.com/connections").ok(),
            Flavor::Standard => None,
        }
    }

    /// The `iss` value its authorization responses carry (RFC 9207 section 2).
    ///
    /// For OpenID providers that is the issuer. GitHub's authorization server is
    /// `<web origin>/login/oauth` (its metadata document, and the `iss` it has appended to every
    /// callback since 2026-04-09), while accounts keep the web origin as their issuer so their
    /// ids stay as they were. Derived from the authorization endpoint, so GitHub providers
    /// saved before this rule need no migration.
    pub fn response_issuer(&self) -> String {
        match self.flavor {
            Flavor::Github => {
                let mut server = self.authorization_endpoint.clone();
                server.set_query(None);
                server.set_fragment(None);
                let path = server.path().trim_end_matches('/');
                let path = path.strip_suffix("/authorize").unwrap_or(path).to_string();
                server.set_path(&path);
                server.as_str().trim_end_matches('/').to_string()
            }
            Flavor::Standard | Flavor::Google => self.issuer.clone(),
        }
    }

    /// The path component shared by both redirect modes.
    pub fn redirect_path(&self) -> String {
        registration::redirect_path(&self.id)
    }

    /// Checks the definition; every problem is reported in words a user can act on.
    pub fn validate(&self) -> Result<()> {
        let invalid = |reason: String| Error::ProviderInvalid {
            provider: self.id.clone(),
            reason,
        };
        validate_id(&self.id)?;
        if self.name.trim().is_empty() {
            return Err(invalid("the display name is empty".into()));
        }
        if self.client_id.trim().is_empty() {
            return Err(invalid("the client id is empty".into()));
        }
        if let Some(reason) = self.device_client_problem() {
            return Err(invalid(reason.into()));
        }
        for (what, url) in [
            ("authorization endpoint", Some(&self.authorization_endpoint)),
            ("token endpoint", Some(&self.token_endpoint)),
            ("userinfo endpoint", self.userinfo_endpoint.as_ref()),
            ("revocation endpoint", self.revocation_endpoint.as_ref()),
            ("JWKS URI", self.jwks_uri.as_ref()),
            (
                "device authorization endpoint",
                self.device_authorization_endpoint.as_ref(),
            ),
        ] {
            if let Some(url) = url {
                ensure_secure_url(url).map_err(|reason| invalid(format!("{what}: {reason}")))?;
            }
        }
        if self.kind == ProviderKind::Openid {
            if self.jwks_uri.is_none() {
                return Err(invalid("an OpenID provider needs a JWKS URI".into()));
            }
            if !self.scopes.iter().any(|s| s == "openid") {
                return Err(invalid(
                    "an OpenID provider's scopes must include 'openid'".into(),
                ));
            }
        }
        if self.kind == ProviderKind::Oauth2 && self.userinfo_endpoint.is_none() {
            return Err(invalid(
                "an OAuth 2 provider needs a userinfo endpoint to tell who signed in".into(),
            ));
        }
        if let Some(p) = self.extra_params.keys().find(|k| is_reserved(k)) {
            return Err(invalid(format!(
                "the extra parameter '{p}' is set by Keyfob itself and cannot be overridden"
            )));
        }
        // A query in the endpoint itself would be sent along with Keyfob's own parameters, and
        // a server that reads the first of two `redirect_uri`s would obey the provider file.
        if let Some((p, _)) = self
            .authorization_endpoint
            .query_pairs()
            .find(|(k, _)| is_reserved(k))
        {
            return Err(invalid(format!(
                "the authorization endpoint's own query sets '{p}', which Keyfob sets itself; \
                 remove it from the URL"
            )));
        }
        Ok(())
    }
}

/// Checks that an id can be used in a redirect path and a keyring name.
pub fn validate_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 40
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !id.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(Error::ProviderInvalid {
            provider: id.to_string(),
            reason: "the id must be 1-40 characters of a-z, 0-9 and '-', not starting with '-'"
                .into(),
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample() -> Provider {
        Provider {
            id: "local".into(),
            name: "Local".into(),
            kind: ProviderKind::Openid,
            issuer: "http://127.0.0.1:4000".into(),
            authorization_endpoint: Url::parse("http://127.0.0.1:4000/auth").unwrap(),
            token_endpoint: Url::parse("http://127.0.0.1:4000/token").unwrap(),
            userinfo_endpoint: Some(Url::parse("http://127.0.0.1:4000/me").unwrap()),
            revocation_endpoint: None,
            jwks_uri: Some(Url::parse("http://127.0.0.1:4000/jwks").unwrap()),
            scopes: vec!["openid".into(), "email".into()],
            client_id: "client".into(),
            client_auth: ClientAuth::None,
            extra_params: BTreeMap::new(),
            redirect: RedirectMode::Scheme,
            iss_parameter_supported: true,
            id_token_signing_alg_values_supported: Vec::new(),
            flavor: Flavor::Standard,
            loopback_port: None,
            device_authorization_endpoint: None,
            device_client_id: None,
            refresh_ahead: crate::keeper::refresh_ahead::RefreshAhead::Default,
        }
    }

    #[test]
    fn redirect_uri_is_reverse_dns_with_a_single_slash() {
        assert_eq!(
            sample().scheme_redirect_uri().as_str(),
            "dev.keyfob.app:/oauth/local"
        );
    }

    #[test]
    fn validation_refuses_what_cannot_work() {
        assert!(sample().validate().is_ok());
        let mut p = sample();
        p.id = "Bad/Id".into();
        assert!(p.validate().is_err());
        let mut p = sample();
        p.token_endpoint = Url::parse("http://example.com/token").unwrap();
        let err = p.validate().unwrap_err().to_string();
        assert!(
            err.contains("token endpoint") && err.contains("https"),
            "{err}"
        );
        let mut p = sample();
        p.scopes = vec!["email".into()];
        assert!(p.validate().is_err());
        let mut p = sample();
        p.extra_params.insert("state".into(), "x".into());
        assert!(p.validate().unwrap_err().to_string().contains("'state'"));
        for name in [
            "request",
            "request_uri",
            "response_mode",
            "claims",
            "Redirect_URI",
        ] {
            let mut p = sample();
            p.extra_params.insert(name.into(), "x".into());
            let err = p.validate().unwrap_err().to_string();
            assert!(err.contains(&format!("'{name}'")), "{err}");
        }
        // Parameters that are not reserved stay allowed, in the map and in the endpoint.
        let mut p = sample();
        p.extra_params.insert("prompt".into(), "consent".into());
        p.authorization_endpoint = Url::parse("https://idp.example/authorize?tenant=acme").unwrap();
        assert!(p.validate().is_ok());
        for query in [
            "redirect_uri=https://evil.example/",
            "STATE=x",
            "response_mode=form_post",
        ] {
            let mut p = sample();
            p.authorization_endpoint =
                Url::parse(&format!("https://idp.example/authorize?{query}")).unwrap();
            let err = p.validate().unwrap_err().to_string();
            assert!(err.contains("authorization endpoint's own query"), "{err}");
        }
        let mut p = sample();
        p.token_endpoint = Url::parse("https://example.com/token").unwrap();
        assert!(p.validate().is_ok());
    }
}
