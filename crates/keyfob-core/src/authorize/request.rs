//! The authorization request URL (RFC 6749 section 4.1.1, RFC 7636, OIDC Core 3.1.2.1).

use url::Url;

use crate::authorize::pkce::s256_challenge;
use crate::provider::{Provider, ProviderKind};
use crate::secret::Secret;

/// The secrets one authorization request is bound to.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RequestSecrets {
    /// The one-time `state`.
    pub state: Secret,
    /// The PKCE code verifier.
    pub verifier: Secret,
    /// The OpenID `nonce`.
    pub nonce: Option<Secret>,
}

/// Builds the URL the system browser opens.
pub fn authorization_url(
    provider: &Provider,
    redirect_uri: &Url,
    scopes: &[String],
    secrets: &RequestSecrets,
) -> Url {
    let mut url = provider.authorization_endpoint.clone();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", &provider.client_id)
            .append_pair("redirect_uri", redirect_uri.as_str())
            .append_pair("scope", &scopes.join(" "))
            .append_pair("state", secrets.state.expose())
            .append_pair("code_challenge", &s256_challenge(&secrets.verifier))
            .append_pair("code_challenge_method", "S256");
        if provider.kind == ProviderKind::Openid {
            if let Some(nonce) = &secrets.nonce {
                q.append_pair("nonce", nonce.expose());
            }
        }
        for (k, v) in &provider.extra_params {
            q.append_pair(k, v);
        }
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::tests::sample;

    #[test]
    fn carries_every_parameter_once() {
        let mut provider = sample();
        provider
            .extra_params
            .insert("prompt".into(), "consent".into());
        let secrets = RequestSecrets {
            state: Secret::new("st"),
            verifier: Secret::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            nonce: Some(Secret::new("no")),
        };
        let url = authorization_url(
            &provider,
            &provider.scheme_redirect_uri(),
            &["openid".into(), "email".into()],
            &secrets,
        );
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let get = |k: &str| {
            let v: Vec<_> = pairs
                .iter()
                .filter(|(n, _)| n == k)
                .map(|(_, v)| v.as_str())
                .collect();
            assert_eq!(v.len(), 1, "{k} once");
            v[0].to_string()
        };
        assert_eq!(get("response_type"), "code");
        assert_eq!(get("client_id"), "client");
        assert_eq!(get("redirect_uri"), "dev.keyfob.app:/oauth/local");
        assert_eq!(get("scope"), "openid email");
        assert_eq!(get("state"), "st");
        assert_eq!(get("nonce"), "no");
        assert_eq!(
            get("code_challenge"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert_eq!(get("code_challenge_method"), "S256");
        assert_eq!(get("prompt"), "consent");
        assert!(url.as_str().starts_with("http://127.0.0.1:4000/auth?"));
    }
}
