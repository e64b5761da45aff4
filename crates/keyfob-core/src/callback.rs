//! Parsing and validating a callback URL into a code or a precise refusal. Pure logic:
//! nothing here touches storage, so a refused callback cannot change anything.

use time::OffsetDateTime;
use url::Url;

use crate::authorize::pending::{PendingLink, PendingStatus};

pub use crate::callback_error::CallbackError;

#[cfg(test)]
mod properties;

/// The longest callback URL accepted.
pub const MAX_CALLBACK_LEN: usize = 8 * 1024;

/// The parameters of a callback URL, checked for shape only.
#[derive(Clone, PartialEq, Eq)]
pub struct ParsedCallback {
    url: Url,
    /// `code`.
    pub code: Option<String>,
    /// `state`.
    pub state: Option<String>,
    /// `iss` (RFC 9207).
    pub iss: Option<String>,
    /// `error`.
    pub error: Option<String>,
    /// `error_description`.
    pub error_description: Option<String>,
}

/// What a valid callback carries.
#[derive(Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The user authorized: exchange this code.
    Code(String),
    /// The provider answered with an error (access_denied, ...).
    Error {
        /// The OAuth error code.
        code: String,
        /// Its description, untrusted plain text.
        description: Option<String>,
    },
}

// Manual Debug: the URL, code and state must never reach a log through `{:?}`.
impl std::fmt::Debug for ParsedCallback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParsedCallback")
            .field("endpoint", &describe_endpoint(&self.url))
            .field("iss", &self.iss)
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Code(_) => f.write_str("Code(***)"),
            Outcome::Error { code, description } => f
                .debug_struct("Error")
                .field("code", code)
                .field("description", description)
                .finish(),
        }
    }
}

impl ParsedCallback {
    /// Parses a callback URL and refuses malformed or ambiguous ones.
    pub fn parse(raw: &str) -> Result<Self, CallbackError> {
        if raw.len() > MAX_CALLBACK_LEN {
            return Err(CallbackError::TooLong(raw.len()));
        }
        let raw = raw.trim();
        if has_dot_segment(raw) {
            // The parser would resolve them away; a genuine redirect never contains any.
            return Err(CallbackError::Malformed(
                "the path contains '.' or '..' segments".into(),
            ));
        }
        let url = Url::parse(raw).map_err(|e| CallbackError::Malformed(e.to_string()))?;
        let mut parsed = ParsedCallback {
            url: url.clone(),
            code: None,
            state: None,
            iss: None,
            error: None,
            error_description: None,
        };
        for (name, value) in url.query_pairs() {
            let (slot, name) = match name.as_ref() {
                "code" => (&mut parsed.code, "code"),
                "state" => (&mut parsed.state, "state"),
                "iss" => (&mut parsed.iss, "iss"),
                "error" => (&mut parsed.error, "error"),
                "error_description" => (&mut parsed.error_description, "error_description"),
                _ => continue,
            };
            if slot.replace(value.into_owned()).is_some() {
                return Err(CallbackError::DuplicateParameter(name));
            }
        }
        Ok(parsed)
    }

    /// The state, or a refusal when there is none.
    pub fn state(&self) -> Result<&str, CallbackError> {
        match self.state.as_deref() {
            Some(s) if !s.is_empty() => Ok(s),
            _ => Err(CallbackError::MissingState),
        }
    }

    /// Checks the callback against the link its state found.
    pub fn validate(
        &self,
        link: &PendingLink,
        now: OffsetDateTime,
    ) -> Result<Outcome, CallbackError> {
        match link.status {
            PendingStatus::Used => return Err(CallbackError::StateAlreadyUsed),
            PendingStatus::Cancelled => return Err(CallbackError::LinkCancelled),
            PendingStatus::Waiting => {}
        }
        if now >= link.expires_at {
            let when = link
                .expires_at
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
            return Err(CallbackError::StateExpired(when));
        }
        if !same_endpoint(&self.url, &link.redirect_uri) {
            return Err(CallbackError::WrongRedirect {
                expected: describe_endpoint(&link.redirect_uri),
                got: describe_endpoint(&self.url),
            });
        }
        match &self.iss {
            Some(iss) if *iss != link.issuer => {
                return Err(CallbackError::IssuerMismatch {
                    expected: link.issuer.clone(),
                    got: iss.clone(),
                })
            }
            None if link.iss_required => {
                return Err(CallbackError::MissingIssuer(link.issuer.clone()))
            }
            _ => {}
        }
        if let Some(error) = &self.error {
            return Ok(Outcome::Error {
                code: error.clone(),
                description: self.error_description.clone(),
            });
        }
        match &self.code {
            Some(code) if !code.is_empty() => Ok(Outcome::Code(code.clone())),
            _ => Err(CallbackError::MissingCode),
        }
    }
}

/// Compares scheme, host, port, userinfo and path, never the query. One trailing slash is
/// tolerated because some providers append one; nothing else differs.
fn same_endpoint(got: &Url, expected: &Url) -> bool {
    let path = got.path();
    let wanted = expected.path();
    got.scheme() == expected.scheme()
        && got.host_str().unwrap_or("") == expected.host_str().unwrap_or("")
        && got.port_or_known_default() == expected.port_or_known_default()
        && got.username().is_empty()
        && got.password().is_none()
        && (path == wanted || path.strip_suffix('/') == Some(wanted))
}

/// Whether the path part of a raw URL has `.` or `..` segments, plain or percent-encoded.
fn has_dot_segment(raw: &str) -> bool {
    // The URL parser drops tabs and newlines anywhere before it resolves dot segments, so
    // "/.\t./" is a ".." too.
    let raw: String = raw
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    let end = raw.find(['?', '#']).unwrap_or(raw.len());
    raw[..end].split('/').any(|segment| {
        let s = segment.to_ascii_lowercase().replace("%2e", ".");
        s == "." || s == ".."
    })
}

/// Scheme, host and path of a URL, without its query (which holds the code).
fn describe_endpoint(url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(now: OffsetDateTime) -> PendingLink {
        PendingLink {
            id: "l1".into(),
            provider: "local".into(),
            issuer: "http://127.0.0.1:4000".into(),
            iss_required: true,
            redirect_uri: Url::parse("dev.keyfob.app:/oauth/local").unwrap(),
            scopes: vec!["openid".into()],
            state_fingerprint: "x".into(),
            created_at: now,
            expires_at: now + time::Duration::minutes(10),
            status: PendingStatus::Waiting,
        }
    }

    const ISS: &str = "iss=http%3A%2F%2F127.0.0.1%3A4000";

    fn check(url: &str) -> Result<Outcome, CallbackError> {
        let now = OffsetDateTime::now_utc();
        ParsedCallback::parse(url)?.validate(&link(now), now)
    }

    #[test]
    fn accepts_a_good_callback_and_a_trailing_slash() {
        let ok = Outcome::Code("c".into());
        assert_eq!(
            check(&format!("dev.keyfob.app:/oauth/local?code=c&state=s&{ISS}")),
            Ok(ok.clone())
        );
        assert_eq!(
            check(&format!(
                "dev.keyfob.app:/oauth/local/?code=c&state=s&{ISS}"
            )),
            Ok(ok.clone())
        );
        assert_eq!(
            check(&format!(
                "dev.keyfob.app:///oauth/local?code=c&state=s&{ISS}"
            )),
            Ok(ok)
        );
    }

    #[test]
    fn refuses_shapes_that_are_wrong() {
        let long = format!(
            "dev.keyfob.app:/oauth/local?code={}",
            "a".repeat(MAX_CALLBACK_LEN)
        );
        assert!(matches!(
            ParsedCallback::parse(&long),
            Err(CallbackError::TooLong(_))
        ));
        assert!(matches!(
            ParsedCallback::parse("not a url"),
            Err(CallbackError::Malformed(_))
        ));
        for p in ["code", "state", "iss"] {
            let url = format!("dev.keyfob.app:/oauth/local?{p}=a&code=c&state=s&{ISS}&{p}=b");
            assert_eq!(
                ParsedCallback::parse(&url).unwrap_err(),
                CallbackError::DuplicateParameter(p)
            );
        }
        let no_state = ParsedCallback::parse("dev.keyfob.app:/oauth/local?code=c").unwrap();
        assert_eq!(no_state.state(), Err(CallbackError::MissingState));
        let empty_state =
            ParsedCallback::parse("dev.keyfob.app:/oauth/local?code=c&state=").unwrap();
        assert_eq!(empty_state.state(), Err(CallbackError::MissingState));
    }

    #[test]
    fn refuses_another_providers_redirect() {
        for url in [
            format!("dev.keyfob.app:/oauth/github?code=c&state=s&{ISS}"),
            format!("other.app:/oauth/local?code=c&state=s&{ISS}"),
            format!("dev.keyfob.app://oauth/local?code=c&state=s&{ISS}"),
            format!("http://127.0.0.1:5000/oauth/local?code=c&state=s&{ISS}"),
        ] {
            assert!(
                matches!(check(&url), Err(CallbackError::WrongRedirect { .. })),
                "{url}"
            );
        }
        let err = check(&format!(
            "dev.keyfob.app:/oauth/github?code=secretcode&state=s&{ISS}"
        ))
        .unwrap_err();
        assert!(!err.to_string().contains("secretcode"), "{err}");
    }

    #[test]
    fn redirects_match_exactly_but_for_one_trailing_slash() {
        for url in [
            format!("dev.keyfob.app:/oauth/local//?code=c&state=s&{ISS}"),
            format!("dev.keyfob.app:/oauth/local///?code=c&state=s&{ISS}"),
            format!("dev.keyfob.app:/oauth/locall?code=c&state=s&{ISS}"),
            format!("dev.keyfob.app:/oauth/%6cocal?code=c&state=s&{ISS}"),
            format!("dev.keyfob.app:/OAUTH/local?code=c&state=s&{ISS}"),
        ] {
            assert!(
                matches!(check(&url), Err(CallbackError::WrongRedirect { .. })),
                "{url}"
            );
        }
        for url in [
            format!("dev.keyfob.app:/oauth/github/../local?code=c&state=s&{ISS}"),
            format!("dev.keyfob.app:/oauth/./local?code=c&state=s&{ISS}"),
            format!("dev.keyfob.app:/oauth/%2E%2E/oauth/local?code=c&state=s&{ISS}"),
            format!("dev.keyfob.app:/oauth/github/.\t./local?code=c&state=s&{ISS}"),
            format!("dev.keyfob.app:/oauth/github/.\n%2e/local?code=c&state=s&{ISS}"),
        ] {
            assert!(
                matches!(
                    ParsedCallback::parse(&url),
                    Err(CallbackError::Malformed(_))
                ),
                "{url}"
            );
        }
        // A dot inside a query value is not a path segment.
        assert!(check(&format!(
            "dev.keyfob.app:/oauth/local?code=a/../b&state=s&{ISS}"
        ))
        .is_ok());

        let now = OffsetDateTime::now_utc();
        let mut l = link(now);
        l.redirect_uri = Url::parse("http://127.0.0.1:5123/oauth/local").unwrap();
        let userinfo = ParsedCallback::parse(&format!(
            "http://user:pw@127.0.0.1:5123/oauth/local?code=c&state=s&{ISS}"
        ))
        .unwrap();
        let err = userinfo.validate(&l, now).unwrap_err();
        assert!(matches!(err, CallbackError::WrongRedirect { .. }));
        assert!(!err.to_string().contains("pw"), "{err}");
    }

    #[test]
    fn loopback_redirects_match_on_port_and_path() {
        let now = OffsetDateTime::now_utc();
        let mut l = link(now);
        l.redirect_uri = Url::parse("http://127.0.0.1:5123/oauth/local").unwrap();
        let ok = ParsedCallback::parse(&format!(
            "http://127.0.0.1:5123/oauth/local?code=c&state=s&{ISS}"
        ))
        .unwrap();
        assert!(ok.validate(&l, now).is_ok());
        let port = ParsedCallback::parse(&format!(
            "http://127.0.0.1:5124/oauth/local?code=c&state=s&{ISS}"
        ))
        .unwrap();
        assert!(matches!(
            port.validate(&l, now),
            Err(CallbackError::WrongRedirect { .. })
        ));
    }

    #[test]
    fn refuses_wrong_or_missing_issuer() {
        let wrong =
            check("dev.keyfob.app:/oauth/local?code=c&state=s&iss=https%3A%2F%2Fevil.example");
        assert!(matches!(wrong, Err(CallbackError::IssuerMismatch { .. })));
        let missing = check("dev.keyfob.app:/oauth/local?code=c&state=s");
        assert!(matches!(missing, Err(CallbackError::MissingIssuer(_))));
        // A provider that does not announce RFC 9207 may omit iss.
        let now = OffsetDateTime::now_utc();
        let mut l = link(now);
        l.iss_required = false;
        let p = ParsedCallback::parse("dev.keyfob.app:/oauth/local?code=c&state=s").unwrap();
        assert_eq!(p.validate(&l, now), Ok(Outcome::Code("c".into())));
    }

    #[test]
    fn refuses_used_cancelled_and_expired_links() {
        let now = OffsetDateTime::now_utc();
        let p = ParsedCallback::parse(&format!("dev.keyfob.app:/oauth/local?code=c&state=s&{ISS}"))
            .unwrap();
        let mut l = link(now);
        l.status = PendingStatus::Used;
        assert_eq!(p.validate(&l, now), Err(CallbackError::StateAlreadyUsed));
        l.status = PendingStatus::Cancelled;
        assert_eq!(p.validate(&l, now), Err(CallbackError::LinkCancelled));
        let l = link(now - time::Duration::minutes(11));
        assert!(matches!(
            p.validate(&l, now),
            Err(CallbackError::StateExpired(_))
        ));
    }

    #[test]
    fn errors_and_missing_codes() {
        let denied = check(&format!(
            "dev.keyfob.app:/oauth/local?error=access_denied&error_description=%3Cb%3Eno%3C%2Fb%3E&state=s&{ISS}"
        ));
        assert_eq!(
            denied,
            Ok(Outcome::Error {
                code: "access_denied".into(),
                description: Some("<b>no</b>".into())
            })
        );
        assert_eq!(
            check(&format!("dev.keyfob.app:/oauth/local?state=s&{ISS}")),
            Err(CallbackError::MissingCode)
        );
    }
}
