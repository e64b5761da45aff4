//! The pages the loopback listener shows in the browser tab, and the HTTP answers that
//! carry them: small, self-contained, and with untrusted text escaped.

/// A small self-contained HTML answer for the browser tab.
pub(crate) struct Page {
    status: u16,
    title: &'static str,
    text: String,
}

impl Page {
    pub(crate) fn new(status: u16, title: &'static str, text: &str) -> Self {
        Page {
            status,
            title,
            text: text.to_string(),
        }
    }

    fn html(&self) -> String {
        let mark = if self.status == 200 { "&#10003;" } else { "!" };
        let tone = if self.status == 200 {
            "#1a7f37"
        } else {
            "#b42318"
        };
        format!(
            "<!doctype html><html lang=en><meta charset=utf-8><meta name=viewport content=\"width=device-width\">\
<title>Keyfob: {title}</title><style>body{{font:16px/1.5 system-ui,sans-serif;display:grid;place-items:center;\
min-height:90vh;margin:0;background:#f6f7f9;color:#1f2328}}main{{max-width:30rem;padding:2rem;background:#fff;\
border-radius:12px;box-shadow:0 1px 3px #0002}}b{{display:inline-grid;place-items:center;width:2rem;height:2rem;\
border-radius:50%;color:#fff;background:{tone}}}@media(prefers-color-scheme:dark){{body{{background:#0d1117;\
color:#e6edf3}}main{{background:#161b22}}}}</style><main><p><b>{mark}</b></p><h1>{title}</h1><p>{text}</p></main></html>",
            title = self.title,
            text = escape_html(&self.text),
        )
    }
}

fn escape_html(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '&' => "&amp;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&#39;".to_string(),
            c => c.to_string(),
        })
        .collect()
}

impl Page {
    /// The whole HTTP answer: head and page. `no-referrer`: the page's own URL carries the
    /// code; `no-store`: nor is it kept.
    pub(crate) fn response(&self) -> Vec<u8> {
        let body = self.html();
        let reason = match self.status {
            200 => "OK",
            403 => "Forbidden",
            404 => "Not Found",
            405 => "Method Not Allowed",
            410 => "Gone",
            421 => "Misdirected Request",
            _ => "Bad Request",
        };
        let head = format!(
            "HTTP/1.1 {} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
Cache-Control: no-store\r\nReferrer-Policy: no-referrer\r\n\
Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'\r\nConnection: close\r\n\r\n",
            self.status,
            body.len()
        );
        [head.into_bytes(), body.into_bytes()].concat()
    }
}

/// A `303 See Other` to the authorization URL: not kept (`no-store`: a reload must come
/// back to Keyfob, not replay the state), and the provider is not told where the browser came
/// from (`no-referrer`).
pub(crate) fn redirect(location: &url::Url) -> Vec<u8> {
    // A serialized URL is ASCII without spaces or line breaks: it cannot split the head.
    format!(
        "HTTP/1.1 303 See Other\r\nLocation: {location}\r\nContent-Length: 0\r\n\
Cache-Control: no-store\r\nReferrer-Policy: no-referrer\r\nConnection: close\r\n\r\n"
    )
    .into_bytes()
}

#[cfg(test)]
impl Page {
    pub(crate) fn status(&self) -> u16 {
        self.status
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_escape_untrusted_text() {
        let page = Page::new(400, "Account not linked", "<script>alert(1)</script> & 'x'");
        let html = page.html();
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#39;x&#39;"));
    }

    #[test]
    fn the_start_redirect_is_neither_kept_nor_referred() {
        let url = url::Url::parse("https://idp.example/auth?state=s&nonce=n").unwrap();
        let head = String::from_utf8(redirect(&url)).unwrap();
        assert!(head.starts_with("HTTP/1.1 303 See Other\r\n"), "{head}");
        assert!(head.contains("\r\nLocation: https://idp.example/auth?state=s&nonce=n\r\n"));
        assert!(head.contains("\r\nCache-Control: no-store\r\n"));
        assert!(head.contains("\r\nReferrer-Policy: no-referrer\r\n"));
        assert!(head.ends_with("\r\n\r\n"));
    }
}
