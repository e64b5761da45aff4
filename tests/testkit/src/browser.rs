//! A scripted "system browser": drives the test IdP's login and consent pages
//! (and the GitHub-like pages of `tests/github/server.mjs`) over plain HTTP,
//! with a cookie jar, following redirects by hand.

use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use reqwest::{header, Method, StatusCode};
use url::Url;

/// What the user does on the consent page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consent {
    /// Press "Continue".
    Approve,
    /// Press "[ Cancel ]": the IdP redirects back with `error=access_denied`.
    Deny,
}

/// A browser with its own cookie jar (so its own IdP session). A second
/// [`authorize`](Self::authorize) with the same `Browser` reuses the session,
/// so the IdP may skip the login page; use a new `Browser` for a fresh user.
#[derive(Debug, Clone)]
pub struct Browser {
    client: reqwest::Client,
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

/// Upper bound on requests in one authorization, against redirect loops.
const MAX_STEPS: usize = 25;

impl Browser {
    /// A browser with an empty cookie jar.
    pub fn new() -> Browser {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .user_agent("keyfob-testkit-browser")
            .build()
            .expect("building the browser's HTTP client");
        Browser { client }
    }

    /// Opens `auth_url`, signs in as `login` if asked to, answers the consent
    /// page with `consent`, and returns the URL the IdP finally redirects to
    /// (a non-http(s) URL such as `dev.keyfob.app:/oauth/local?code=...`, or an
    /// http URL on another host:port than the IdP, such as a loopback redirect
    /// `http://127.0.0.1:<port>/oauth/local?code=...`) without requesting it.
    ///
    /// Errors if the IdP shows an error page (its text is in the error), or if
    /// `Consent::Deny` was asked for but the IdP never showed a consent page.
    ///
    /// `auth_url` may also be Keyfob's one-time start address (`http://127.0.0.1:<port>/start`,
    /// what Keyfob hands the system browser): it is opened first, and its redirect followed.
    pub async fn authorize(&self, auth_url: &str, login: &str, consent: Consent) -> Result<String> {
        self.drive(auth_url, login, consent, None).await
    }

    /// Enters `user_code` at a device flow's verification page (RFC 8628), signs in as
    /// `login` and answers the consent page; returns the text of the page the provider ends
    /// on (its "you may close this window" page, or its denial).
    pub async fn enter_device_code(
        &self,
        verification_uri: &str,
        user_code: &str,
        login: &str,
        consent: Consent,
    ) -> Result<String> {
        self.drive(verification_uri, login, consent, Some(user_code))
            .await
    }

    /// Follows the provider's pages from `start_url`: a redirect out of the provider ends the
    /// drive with its address; with a `user_code`, a page with a form asking for it gets it,
    /// and a page that is neither that, nor login, nor consent ends it with its text.
    async fn drive(
        &self,
        start_url: &str,
        login: &str,
        consent: Consent,
        user_code: Option<&str>,
    ) -> Result<String> {
        let mut start =
            Url::parse(start_url).with_context(|| format!("invalid auth URL {start_url:?}"))?;
        if is_start_address(&start) {
            start = self.start(&start).await?;
        }
        let mut code_entered = false;
        let idp_origin = start.origin();
        let mut trail: Vec<String> = Vec::new();
        let mut request = Step::get(start);
        let mut saw_consent = false;

        for _ in 0..MAX_STEPS {
            trail.push(format!("{} {}", request.method, request.url));
            let response = self
                .send(&request)
                .await
                .with_context(|| trail_text(&trail))?;
            let status = response.status();
            let url = response.url().clone();

            if status.is_redirection() {
                let location = response
                    .headers()
                    .get(header::LOCATION)
                    .ok_or_else(|| anyhow!("{status} without Location from {url}"))?
                    .to_str()
                    .context("non-ASCII Location header")?
                    .to_owned();
                let next = url
                    .join(&location)
                    .with_context(|| format!("invalid Location {location:?} from {url}"))?;
                let leaves_idp =
                    !matches!(next.scheme(), "http" | "https") || next.origin() != idp_origin;
                if leaves_idp {
                    if consent == Consent::Deny && !saw_consent {
                        bail!(
                            "Consent::Deny was requested but the IdP redirected to {next} without \
                             showing a consent page\n{}",
                            trail_text(&trail)
                        );
                    }
                    // Return what the IdP sent, resolved only if it was relative.
                    return Ok(if Url::parse(&location).is_ok() {
                        location
                    } else {
                        next.to_string()
                    });
                }
                request = Step::get(next);
                continue;
            }

            let is_html = response
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("text/html"));
            let body = response.text().await.unwrap_or_default();

            if !status.is_success() || !is_html {
                bail!(
                    "the IdP answered {status} at {url}: {}\n{}",
                    page_text(&body),
                    trail_text(&trail)
                );
            }

            let page = Page::parse(&body);
            match page.prompt() {
                Some("login") => {
                    let form = page.prompt_form("login").expect("prompt() found it");
                    let fields = form
                        .inputs
                        .iter()
                        .filter_map(|input| {
                            let name = input.name.clone()?;
                            let value = match (input.kind.as_str(), name.as_str()) {
                                ("password", _) => "password".to_owned(),
                                (_, "login") => login.to_owned(),
                                ("hidden", _) => input.value.clone().unwrap_or_default(),
                                ("text" | "email", _) => input.value.clone().unwrap_or_default(),
                                _ => return None,
                            };
                            Some((name, value))
                        })
                        .collect();
                    request = Step::post(url.join(&form.action)?, fields);
                }
                Some("consent") => {
                    saw_consent = true;
                    let form = page.prompt_form("consent").expect("prompt() found it");
                    match consent {
                        Consent::Approve => {
                            let mut fields = form.hidden_fields();
                            // A form with named submit buttons (GitHub's
                            // `authorize=1` / `authorize=0`) sends the one pressed.
                            if let Some(button) = form.button(false) {
                                fields.push(button);
                            }
                            request = Step::post(url.join(&form.action)?, fields);
                        }
                        Consent::Deny => {
                            let abort = page
                                .links
                                .iter()
                                .find(|href| href.trim_end_matches('/').ends_with("/abort"));
                            if let Some(abort) = abort {
                                request = Step::get(url.join(abort)?);
                            } else if let Some(button) = form.button(true) {
                                let mut fields = form.hidden_fields();
                                fields.push(button);
                                request = Step::post(url.join(&form.action)?, fields);
                            } else {
                                bail!(
                                    "no abort link or cancel button on the consent page at {url}: {}",
                                    page_text(&body)
                                );
                            }
                        }
                    }
                }
                _ => match (user_code, page.form_with("user_code")) {
                    // "Is this the code your device shows?": yes.
                    (Some(_), Some(form)) if form.hidden("confirm").is_some() => {
                        request = Step::post(url.join(&form.action)?, form.hidden_fields());
                    }
                    (Some(code), Some(form)) if !code_entered => {
                        code_entered = true;
                        let mut fields = form.hidden_fields();
                        fields.push(("user_code".into(), code.to_string()));
                        request = Step::post(url.join(&form.action)?, fields);
                    }
                    // The end: a success or denial page, or the code asked for again.
                    (Some(_), _) if code_entered => return Ok(page_text(&body)),
                    _ => bail!(
                        "the IdP showed a page that is neither login nor consent at {url}: {}\n{}",
                        page_text(&body),
                        trail_text(&trail)
                    ),
                },
            }
        }
        bail!(
            "no redirect out of the IdP after {MAX_STEPS} requests\n{}",
            trail_text(&trail)
        )
    }

    /// GETs `url` (typically a loopback redirect URL returned by
    /// [`authorize`](Self::authorize)) without following redirects, and returns
    /// the status code and body.
    pub async fn deliver(&self, url: &str) -> Result<(u16, String)> {
        let response = self
            .client
            .get(url)
            .send()
            .await
            .with_context(|| format!("GET {url}"))?;
        let status = response.status().as_u16();
        let body = response.text().await?;
        Ok((status, body))
    }

    /// Opens Keyfob's start address and returns where it redirects (the authorization URL).
    /// Errors unless it answers with a 303 that is neither cached nor referred.
    pub async fn start(&self, address: &Url) -> Result<Url> {
        let response = self.send(&Step::get(address.clone())).await?;
        let status = response.status();
        let header = |name: header::HeaderName| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let (location, cache, referrer) = (
            header(header::LOCATION),
            header(header::CACHE_CONTROL),
            header(header::REFERRER_POLICY),
        );
        if status != StatusCode::SEE_OTHER {
            let body = response.text().await.unwrap_or_default();
            bail!(
                "the start address {address} answered {status}: {}",
                page_text(&body)
            );
        }
        anyhow::ensure!(
            cache.as_deref() == Some("no-store") && referrer.as_deref() == Some("no-referrer"),
            "the start address's redirect may be kept or referred: {cache:?} {referrer:?}"
        );
        let location = location.ok_or_else(|| anyhow!("303 without Location from {address}"))?;
        Url::parse(&location).with_context(|| format!("invalid Location {location:?}"))
    }

    async fn send(&self, step: &Step) -> Result<reqwest::Response> {
        let mut request = self.client.request(step.method.clone(), step.url.clone());
        if let Some(fields) = &step.form {
            request = request.form(fields);
        }
        let response = request.send().await?;
        // A 304/305 etc. would be odd here; everything else is handled by the caller.
        if response.status() == StatusCode::NOT_MODIFIED {
            bail!("unexpected 304 from {}", step.url);
        }
        Ok(response)
    }
}

struct Step {
    method: Method,
    url: Url,
    form: Option<Vec<(String, String)>>,
}

impl Step {
    fn get(url: Url) -> Step {
        Step {
            method: Method::GET,
            url,
            form: None,
        }
    }

    fn post(url: Url, form: Vec<(String, String)>) -> Step {
        Step {
            method: Method::POST,
            url,
            form: Some(form),
        }
    }
}

/// Whether `url` has the shape of Keyfob's one-time start address.
pub fn is_start_address(url: &Url) -> bool {
    url.scheme() == "http"
        && url.host_str() == Some("127.0.0.1")
        && url.path() == "/start"
        && url.query().is_none()
}

fn trail_text(trail: &[String]) -> String {
    let mut out = String::from("requests so far:");
    for line in trail {
        out.push_str("\n  ");
        out.push_str(line);
    }
    out
}

// ---------------------------------------------------------------------------
// A minimal HTML reader: just enough for oidc-provider's dev interaction pages
// (forms, inputs, links) and for turning error pages into text.
// ---------------------------------------------------------------------------

#[derive(Debug, Default)]
struct Form {
    action: String,
    inputs: Vec<Input>,
    /// Named submit buttons, as (name, value).
    buttons: Vec<(String, String)>,
}

impl Form {
    fn hidden_fields(&self) -> Vec<(String, String)> {
        self.inputs
            .iter()
            .filter(|i| i.kind == "hidden")
            .filter_map(|i| Some((i.name.clone()?, i.value.clone().unwrap_or_default())))
            .collect()
    }

    /// The named submit button that denies (`deny`) or approves (`!deny`):
    /// a value such as `0`, `false`, `deny` or `cancel` denies.
    fn button(&self, deny: bool) -> Option<(String, String)> {
        self.buttons
            .iter()
            .find(|(_, value)| {
                let denies = matches!(
                    value.to_ascii_lowercase().as_str(),
                    "0" | "false" | "no" | "deny" | "cancel" | "abort"
                );
                denies == deny
            })
            .cloned()
    }

    fn hidden(&self, name: &str) -> Option<&str> {
        self.inputs
            .iter()
            .find(|i| i.kind == "hidden" && i.name.as_deref() == Some(name))
            .and_then(|i| i.value.as_deref())
    }
}

#[derive(Debug)]
struct Input {
    kind: String,
    name: Option<String>,
    value: Option<String>,
}

#[derive(Debug, Default)]
struct Page {
    forms: Vec<Form>,
    links: Vec<String>,
}

impl Page {
    fn parse(html: &str) -> Page {
        let mut page = Page::default();
        let mut current: Option<Form> = None;
        for tag in tags(html) {
            match tag.name.as_str() {
                "form" => {
                    if let Some(form) = current.take() {
                        page.forms.push(form);
                    }
                    current = Some(Form {
                        action: tag.attr("action").unwrap_or_default(),
                        inputs: Vec::new(),
                        buttons: Vec::new(),
                    });
                }
                "/form" => {
                    if let Some(form) = current.take() {
                        page.forms.push(form);
                    }
                }
                "input" => {
                    if let Some(form) = current.as_mut() {
                        form.inputs.push(Input {
                            kind: tag
                                .attr("type")
                                .unwrap_or_else(|| "text".to_owned())
                                .to_ascii_lowercase(),
                            name: tag.attr("name"),
                            value: tag.attr("value"),
                        });
                    }
                }
                "button" => {
                    let kind = tag
                        .attr("type")
                        .unwrap_or_else(|| "submit".to_owned())
                        .to_ascii_lowercase();
                    if let (Some(form), Some(name), "submit") =
                        (current.as_mut(), tag.attr("name"), kind.as_str())
                    {
                        form.buttons
                            .push((name, tag.attr("value").unwrap_or_default()));
                    }
                }
                "a" => {
                    if let Some(href) = tag.attr("href") {
                        page.links.push(href);
                    }
                }
                _ => {}
            }
        }
        if let Some(form) = current.take() {
            page.forms.push(form);
        }
        page
    }

    /// The `prompt` hidden field of the page's interaction form, if any.
    /// The form with an input named `name`.
    fn form_with(&self, name: &str) -> Option<&Form> {
        self.forms
            .iter()
            .find(|f| f.inputs.iter().any(|i| i.name.as_deref() == Some(name)))
    }

    fn prompt(&self) -> Option<&str> {
        self.forms.iter().find_map(|f| f.hidden("prompt"))
    }

    fn prompt_form(&self, prompt: &str) -> Option<&Form> {
        self.forms
            .iter()
            .find(|f| f.hidden("prompt") == Some(prompt))
    }
}

struct Tag {
    /// Lower-case; closing tags start with `/`.
    name: String,
    attrs: Vec<(String, Option<String>)>,
}

impl Tag {
    fn attr(&self, name: &str) -> Option<String> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone().unwrap_or_default())
    }
}

/// Start tags with their attributes, and end tags, skipping comments and the
/// contents of `<script>`/`<style>`.
fn tags(html: &str) -> Vec<Tag> {
    let mut out = Vec::new();
    let bytes = html.as_bytes();
    let mut i = 0;
    while let Some(off) = html[i..].find('<') {
        i += off + 1;
        if html[i..].starts_with("!--") {
            i = html[i..].find("-->").map_or(html.len(), |e| i + e + 3);
            continue;
        }
        let name_len = html[i..]
            .find(|c: char| c.is_ascii_whitespace() || c == '>' || c == '/')
            .unwrap_or(html.len() - i);
        let mut name = html[i..i + name_len].to_ascii_lowercase();
        if name.is_empty() && html[i..].starts_with('/') {
            // `</name>`
            let rest = &html[i + 1..];
            let len = rest
                .find(|c: char| c == '>' || c.is_ascii_whitespace())
                .unwrap_or(rest.len());
            name = format!("/{}", rest[..len].to_ascii_lowercase());
            i += 1 + len;
            out.push(Tag {
                name,
                attrs: Vec::new(),
            });
            continue;
        }
        if name.is_empty() || !name.as_bytes()[0].is_ascii_alphabetic() {
            continue;
        }
        i += name_len;
        // Attributes until `>`.
        let mut attrs = Vec::new();
        loop {
            while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b'/') {
                i += 1;
            }
            if i >= bytes.len() || bytes[i] == b'>' {
                i += 1;
                break;
            }
            let key_len = html[i..]
                .find(|c: char| c.is_ascii_whitespace() || c == '=' || c == '>' || c == '/')
                .unwrap_or(html.len() - i);
            let key = html[i..i + key_len].to_ascii_lowercase();
            i += key_len.max(1);
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            if i < bytes.len() && bytes[i] == b'=' {
                i += 1;
                while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                    i += 1;
                }
                let value = if i < bytes.len() && (bytes[i] == b'"' || bytes[i] == b'\'') {
                    let quote = bytes[i] as char;
                    let end = html[i + 1..].find(quote).map_or(html.len(), |e| i + 1 + e);
                    let v = &html[i + 1..end];
                    i = (end + 1).min(html.len());
                    v
                } else {
                    let len = html[i..]
                        .find(|c: char| c.is_ascii_whitespace() || c == '>')
                        .unwrap_or(html.len() - i);
                    let v = &html[i..i + len];
                    i += len;
                    v
                };
                attrs.push((key, Some(decode_entities(value))));
            } else {
                attrs.push((key, None));
            }
        }
        let raw_text = name == "script" || name == "style";
        out.push(Tag {
            name: name.clone(),
            attrs,
        });
        if raw_text {
            let close = format!("</{name}");
            i = find_ascii_ci(&html[i.min(html.len())..], &close).map_or(html.len(), |e| i + e);
        }
        if i >= html.len() {
            break;
        }
    }
    out
}

fn find_ascii_ci(haystack: &str, needle: &str) -> Option<usize> {
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let Some(semi) = rest.find(';').filter(|&semi| semi <= 12) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..semi];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some('\u{a0}'),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The visible text of an HTML page (or the body as is if it is not HTML),
/// whitespace collapsed, shortened to a readable length.
fn page_text(body: &str) -> String {
    let mut text = String::new();
    let mut i = 0;
    let lower = body.to_ascii_lowercase();
    while i < body.len() {
        match body[i..].find('<') {
            None => {
                text.push_str(&body[i..]);
                break;
            }
            Some(off) => {
                text.push_str(&body[i..i + off]);
                text.push(' ');
                let tag_start = i + off;
                let mut end = body[tag_start..]
                    .find('>')
                    .map_or(body.len(), |e| tag_start + e + 1);
                for raw in ["<style", "<script", "<details"] {
                    if lower[tag_start..].starts_with(raw) {
                        let close = format!("</{}", &raw[1..]);
                        end = lower[tag_start..]
                            .find(&close)
                            .map_or(body.len(), |e| tag_start + e);
                    }
                }
                i = end;
            }
        }
    }
    let text = decode_entities(&text);
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    const MAX: usize = 2000;
    if collapsed.len() > MAX {
        let mut cut = MAX;
        while !collapsed.is_char_boundary(cut) {
            cut -= 1;
        }
        format!("{}...", &collapsed[..cut])
    } else {
        collapsed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_login_form() {
        let html = r#"<!DOCTYPE html><html><head><style>a > b { x: "<form>" }</style></head>
        <body><form autocomplete="off" action="http://127.0.0.1:1/interaction/abc" method="post">
          <input type="hidden" name="prompt" value="login"/>
          <input required type="text" name="login" placeholder="Enter any login" autofocus="on">
          <input required type="password" name="password">
          <button type="submit">Sign-in</button>
        </form>
        <a href="http://127.0.0.1:1/interaction/abc/abort">[ Cancel ]</a></body></html>"#;
        let page = Page::parse(html);
        assert_eq!(page.forms.len(), 1);
        assert_eq!(page.prompt(), Some("login"));
        let form = &page.forms[0];
        assert_eq!(form.action, "http://127.0.0.1:1/interaction/abc");
        assert_eq!(form.inputs.len(), 3);
        assert_eq!(form.inputs[1].name.as_deref(), Some("login"));
        assert_eq!(form.inputs[2].kind, "password");
        assert_eq!(page.links, ["http://127.0.0.1:1/interaction/abc/abort"]);
    }

    #[test]
    fn parses_named_submit_buttons() {
        let html = r#"<form method="post" action="/login/oauth/authorize/confirm">
          <input type="hidden" name="prompt" value="consent">
          <input type="hidden" name="authorization_id" value="abc">
          <button type="submit" name="authorize" value="0">Cancel</button>
          <button name="authorize" value="1">Authorize</button>
          <button type="button" name="other" value="x">Other</button>
        </form>"#;
        let page = Page::parse(html);
        let form = page.prompt_form("consent").unwrap();
        assert_eq!(form.buttons.len(), 2);
        assert_eq!(
            form.button(false),
            Some(("authorize".to_owned(), "1".to_owned()))
        );
        assert_eq!(
            form.button(true),
            Some(("authorize".to_owned(), "0".to_owned()))
        );
        assert_eq!(form.hidden_fields().len(), 2);
    }

    #[test]
    fn decodes_entities_and_extracts_text() {
        assert_eq!(
            decode_entities("a&amp;b&#39;c&#x2F;&bogus;"),
            "a&b'c/&bogus;"
        );
        let text = page_text(
            "<html><head><style>h1{}</style></head><body><h1>oops! something went wrong</h1>\
             <pre><strong>error</strong>: invalid_request</pre></body></html>",
        );
        assert_eq!(text, "oops! something went wrong error : invalid_request");
    }
}
