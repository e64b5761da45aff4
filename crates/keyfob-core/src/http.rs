//! The one HTTP client policy: rustls, no redirects (the oauth2 docs warn of SSRF), timeouts,
//! and plain http only for loopback hosts.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::time::Duration;

use serde::de::DeserializeOwned;
use url::Url;

use crate::error::{Error, Result};
use crate::secret::Secret;

/// Bytes of a response body Keyfob is willing to read.
const MAX_BODY: usize = 1 << 20;

/// The HTTP client every provider request goes through.
#[derive(Debug, Clone)]
pub struct Http {
    client: reqwest::Client,
}

/// Why an HTTP exchange for the oauth2 crate failed before OAuth semantics apply.
#[derive(Debug, thiserror::Error)]
pub enum HttpFailure {
    /// No answer: DNS, connection, TLS, timeout.
    #[error("{0}")]
    Network(String),
    /// A 5xx answer.
    #[error("HTTP {0}")]
    Status(u16),
    /// An answer that is neither JSON nor form-encoded.
    #[error("HTTP {status} with content type '{content_type}' instead of JSON")]
    NotJson { status: u16, content_type: String },
    /// A refused URL (for example plain http to a remote host).
    #[error("{0}")]
    Insecure(String),
    /// A body larger than Keyfob reads.
    #[error("the answer is larger than 1 MiB")]
    TooLarge,
}

impl Http {
    /// Builds the client with Keyfob's policy.
    pub fn new() -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("Keyfob/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("HTTP client builds");
        Http { client }
    }

    /// GETs a JSON document, optionally with a bearer token and extra headers.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        url: &Url,
        bearer: Option<&Secret>,
        headers: &[(&str, &str)],
    ) -> Result<T> {
        let endpoint = endpoint_name(url);
        let mut request = self
            .client
            .get(url.clone())
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(token) = bearer {
            request = request.bearer_auth(token.expose());
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = send(url, request).await.map_err(|failure| match failure {
            HttpFailure::Network(reason) => Error::Network {
                endpoint: endpoint.clone(),
                reason,
            },
            other => Error::InvalidResponse {
                endpoint: endpoint.clone(),
                reason: other.to_string(),
            },
        })?;
        let status = response.status();
        if status.is_server_error() {
            return Err(Error::ProviderUnavailable {
                endpoint,
                status: status.as_u16(),
            });
        }
        if status == reqwest::StatusCode::UNAUTHORIZED && bearer.is_some() {
            let invalid_token = response
                .headers()
                .get_all(reqwest::header::WWW_AUTHENTICATE)
                .iter()
                .any(|v| says_invalid_token(v.to_str().unwrap_or("")));
            let body = read_limited(response).await.unwrap_or_default();
            return Err(Error::AccessTokenRefused {
                endpoint,
                message: refusal_message(&body),
                invalid_token,
            });
        }
        if !status.is_success() {
            return Err(Error::InvalidResponse {
                endpoint,
                reason: format!("HTTP {}", status.as_u16()),
            });
        }
        let body = read_limited(response)
            .await
            .map_err(|reason| Error::InvalidResponse {
                endpoint: endpoint.clone(),
                reason: reason.to_string(),
            })?;
        serde_json::from_slice(&body).map_err(|e| Error::InvalidResponse {
            endpoint,
            reason: format!("not the expected JSON: {e}"),
        })
    }

    /// POSTs a form, with HTTP Basic client credentials when given; returns status and body.
    pub async fn post_form(
        &self,
        url: &Url,
        form: &[(&str, &str)],
        basic: Option<(&str, &Secret)>,
    ) -> Result<(u16, Vec<u8>), HttpFailure> {
        let mut request = self
            .client
            .post(url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .form(form);
        if let Some((id, secret)) = basic {
            // RFC 6749 section 2.3.1: form-encode both parts before Basic encoding.
            let enc =
                |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            request = request.basic_auth(enc(id), Some(enc(secret.expose())));
        }
        let response = send(url, request).await?;
        let status = response.status().as_u16();
        let body = read_limited(response).await?;
        Ok((status, body))
    }

    /// DELETEs with a JSON body and HTTP Basic credentials; returns status and body.
    pub async fn delete_json(
        &self,
        url: &Url,
        body: &serde_json::Value,
        basic: (&str, &Secret),
        headers: &[(&str, &str)],
    ) -> Result<(u16, Vec<u8>), HttpFailure> {
        let mut request = self
            .client
            .delete(url.clone())
            .basic_auth(basic.0, Some(basic.1.expose()))
            .json(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = send(url, request).await?;
        let status = response.status().as_u16();
        let body = read_limited(response).await?;
        Ok((status, body))
    }

    /// Performs a request built by the oauth2 crate, normalising provider quirks first:
    /// GitHub answers errors with HTTP 200 and may answer form-encoded.
    pub async fn oauth(
        &self,
        request: oauth2::HttpRequest,
    ) -> Result<oauth2::HttpResponse, HttpFailure> {
        let url = Url::parse(&request.uri().to_string())
            .map_err(|e| HttpFailure::Insecure(e.to_string()))?;
        let request = reqwest::Request::try_from(request)
            .map_err(|e| HttpFailure::Network(e.without_url().to_string()))?;
        let request = reqwest::RequestBuilder::from_parts(self.client.clone(), request);
        let response = send(&url, request).await?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let body = read_limited(response).await?;
        normalise(status, &content_type, body)
    }
}

// A concrete client type (rather than a closure) keeps the oauth2 futures `Send` for every
// lifetime, which the desktop shell needs to spawn them.
impl<'c> oauth2::AsyncHttpClient<'c> for Http {
    type Error = HttpFailure;
    type Future =
        Pin<Box<dyn Future<Output = Result<oauth2::HttpResponse, HttpFailure>> + Send + 'c>>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(self.oauth(request))
    }
}

impl Default for Http {
    fn default() -> Self {
        Self::new()
    }
}

fn normalise(
    status: u16,
    content_type: &str,
    body: Vec<u8>,
) -> Result<oauth2::HttpResponse, HttpFailure> {
    if status >= 500 {
        return Err(HttpFailure::Status(status));
    }
    let json = if content_type.starts_with("application/json") || content_type.ends_with("+json") {
        body
    } else if content_type.starts_with("application/x-www-form-urlencoded") {
        let map: serde_json::Map<String, serde_json::Value> = url::form_urlencoded::parse(&body)
            .map(|(k, v)| (k.into_owned(), serde_json::Value::String(v.into_owned())))
            .collect();
        serde_json::to_vec(&map).expect("map serializes")
    } else if status == 200 || !body.is_empty() {
        return Err(HttpFailure::NotJson {
            status,
            content_type: if content_type.is_empty() {
                "none".into()
            } else {
                content_type.into()
            },
        });
    } else {
        body
    };
    let json = numbers_as_numbers(json);
    // An OAuth error with status 200 (GitHub) becomes the 400 that RFC 6749 section 5.2 expects.
    let status = if status == 200 && has_error_field(&json) {
        400
    } else {
        status
    };
    http::Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(json)
        .map_err(|e| HttpFailure::Network(e.to_string()))
}

/// Lifetimes as numbers. A form-encoded answer has only strings, and some servers write
/// `"expires_in": "3600"` in JSON too; the oauth2 crate reads numbers only. A lifetime that
/// is not a whole number of seconds is dropped, as if the server had named none.
fn numbers_as_numbers(json: Vec<u8>) -> Vec<u8> {
    let Ok(serde_json::Value::Object(mut map)) = serde_json::from_slice(&json) else {
        return json;
    };
    let mut changed = false;
    for key in ["expires_in", "refresh_token_expires_in"] {
        if let Some(serde_json::Value::String(text)) = map.get(key) {
            match text.trim().parse::<u64>() {
                Ok(n) => map.insert(key.to_string(), n.into()),
                Err(_) => map.remove(key),
            };
            changed = true;
        } else if map.get(key).is_some_and(|v| !v.is_u64()) {
            // Negative, fractional or null: no usable lifetime.
            map.remove(key);
            changed = true;
        }
    }
    if changed {
        serde_json::to_vec(&map).expect("map serializes")
    } else {
        json
    }
}

/// Whether a `WWW-Authenticate` challenge carries `error="invalid_token"` (RFC 6750 3.1).
fn says_invalid_token(challenge: &str) -> bool {
    challenge
        .split(',')
        .filter_map(|part| part.split_once('='))
        .any(|(name, value)| {
            name.trim().rsplit(' ').next() == Some("error")
                && value.trim().trim_matches('"') == "invalid_token"
        })
}

/// What a 401 body says, from GitHub's `message` ("Bad credentials") or an OAuth
/// `error_description` / `error`; short, single-line text only.
fn refusal_message(body: &[u8]) -> Option<String> {
    let json: serde_json::Value = serde_json::from_slice(body).ok()?;
    ["message", "error_description", "error"]
        .iter()
        .find_map(|k| json.get(k).and_then(|v| v.as_str()))
        .map(|m| m.chars().filter(|c| !c.is_control()).take(200).collect())
}

fn has_error_field(json: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(json)
        .ok()
        .and_then(|v| v.get("error").map(|e| e.is_string()))
        .unwrap_or(false)
}

/// Sends a request for `url` under the client's policy: every request Keyfob makes goes
/// through here, so none reaches plain http on a remote host, and no failure message quotes
/// the URL (its query may hold a code or a token).
async fn send(
    url: &Url,
    request: reqwest::RequestBuilder,
) -> Result<reqwest::Response, HttpFailure> {
    ensure_secure_url(url).map_err(HttpFailure::Insecure)?;
    request
        .send()
        .await
        .map_err(|e| HttpFailure::Network(describe(e)))
}

async fn read_limited(mut response: reqwest::Response) -> Result<Vec<u8>, HttpFailure> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| HttpFailure::Network(describe(e)))?
    {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(HttpFailure::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn describe(e: reqwest::Error) -> String {
    use std::error::Error as _;
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    match e.without_url().source() {
        Some(source) => format!("{kind}: {source}"),
        None => kind.to_string(),
    }
}

/// The host and path of an endpoint, for messages (never a query string).
pub fn endpoint_name(url: &Url) -> String {
    format!(
        "{}{}",
        url.host_str()
            .map(|h| match url.port() {
                Some(p) => format!("{h}:{p}"),
                None => h.to_string(),
            })
            .unwrap_or_default(),
        url.path()
    )
}

/// Refuses anything but https, except plain http to a loopback address.
pub fn ensure_secure_url(url: &Url) -> Result<(), String> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        "http" => Err(format!(
            "{url} must use https (plain http is allowed only for 127.0.0.1)"
        )),
        other => Err(format!(
            "{url} has the scheme '{other}'; only https is allowed"
        )),
    }
}

/// Whether `url` names a loopback IP address (the one test for "loopback" in Keyfob).
pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        // Not "localhost": a resolver may send it elsewhere (RFC 8252 section 8.3).
        Some(url::Host::Domain(_)) | None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_become_numbers_or_go() {
        let read = |body: &str| -> serde_json::Value {
            serde_json::from_slice(&numbers_as_numbers(body.as_bytes().to_vec())).unwrap()
        };
        assert_eq!(read(r#"{"expires_in":"3600"}"#)["expires_in"], 3600);
        assert_eq!(read(r#"{"expires_in":3600}"#)["expires_in"], 3600);
        assert_eq!(
            read(r#"{"refresh_token_expires_in":" 60 "}"#)["refresh_token_expires_in"],
            60
        );
        for dropped in [
            r#"{"expires_in":"soon"}"#,
            r#"{"expires_in":-1}"#,
            r#"{"expires_in":1.5}"#,
            r#"{"expires_in":null}"#,
        ] {
            assert!(read(dropped).get("expires_in").is_none(), "{dropped}");
        }
        assert_eq!(read(r#"{"access_token":"x"}"#)["access_token"], "x");
    }

    #[test]
    fn invalid_token_challenges_are_recognised() {
        assert!(says_invalid_token(
            r#"Bearer realm="example", error="invalid_token", error_description="expired""#
        ));
        assert!(says_invalid_token(r#"Bearer error="invalid_token""#));
        assert!(!says_invalid_token(r#"Bearer error="insufficient_scope""#));
        assert!(!says_invalid_token(r#"Bearer realm="x""#));
        assert!(!says_invalid_token(""));
    }

    #[test]
    fn only_https_or_loopback_http() {
        let ok = [
            "https://a.example/x",
            "http://127.0.0.1:9/x",
            "http://[::1]:9/",
        ];
        for u in ok {
            assert!(ensure_secure_url(&Url::parse(u).unwrap()).is_ok(), "{u}");
        }
        for u in [
            "http://a.example/x",
            "ftp://a.example/",
            "http://10.0.0.1/",
            "http://localhost/",
        ] {
            assert!(ensure_secure_url(&Url::parse(u).unwrap()).is_err(), "{u}");
        }
    }

    #[test]
    fn a_200_with_an_error_field_becomes_a_400() {
        let r = normalise(
            200,
            "application/json",
            br#"{"error":"bad_verification_code"}"#.to_vec(),
        )
        .unwrap();
        assert_eq!(r.status(), 400);
        let r = normalise(
            200,
            "application/json; charset=utf-8",
            br#"{"access_token":"x"}"#.to_vec(),
        )
        .unwrap();
        assert_eq!(r.status(), 200);
    }

    #[test]
    fn form_encoded_answers_become_json() {
        let r = normalise(
            200,
            "application/x-www-form-urlencoded",
            b"access_token=abc&scope=repo%2Cgist&token_type=bearer".to_vec(),
        )
        .unwrap();
        let v: serde_json::Value = serde_json::from_slice(r.body()).unwrap();
        assert_eq!(v["access_token"], "abc");
        assert_eq!(v["scope"], "repo,gist");
    }

    #[test]
    fn server_errors_and_html_are_specific_failures() {
        assert!(matches!(
            normalise(503, "text/html", b"down".to_vec()),
            Err(HttpFailure::Status(503))
        ));
        assert!(matches!(
            normalise(200, "text/html", b"<html>".to_vec()),
            Err(HttpFailure::NotJson { status: 200, .. })
        ));
    }
}
