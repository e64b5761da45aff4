//! Text from providers on its way to a terminal or a log. A provider's name, error
//! description or user name is chosen by whoever runs the provider; printed as it is, an
//! escape sequence could rewrite the terminal (or hide the rest of a message), and a
//! bidirectional override could make a name read as another. Both faces print such text only
//! through [`printable`].

/// The most characters of one text that are shown; the rest is cut.
pub const MAX_SHOWN: usize = 2000;

/// `text` made safe to print: control characters (except newline and tab when `keep_lines`)
/// and bidirectional formatting characters become `?`, and text longer than [`MAX_SHOWN`]
/// characters ends in `…`.
pub fn printable(text: &str, keep_lines: bool) -> String {
    let mut out: String = text
        .chars()
        .take(MAX_SHOWN)
        .map(|c| if harmless(c, keep_lines) { c } else { '?' })
        .collect();
    if text.chars().nth(MAX_SHOWN).is_some() {
        out.push('…');
    }
    out
}

/// A value from a token (a claim, a header field) made printable and cut to 100 characters,
/// for an error message that names it.
pub(crate) fn claim_text(value: &str) -> String {
    let shown: String = value.chars().take(100).collect();
    let cut = if value.chars().nth(100).is_some() {
        "…"
    } else {
        ""
    };
    format!("{}{cut}", printable(&shown, false))
}

/// Whether an access token can be handed out as it is, printed or copied: visible ASCII only
/// (RFC 6750's b64token and the characters providers actually use), so it can break no line,
/// header or shell quote, and hide nothing.
pub fn token_is_plain(token: &str) -> bool {
    !token.is_empty() && token.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

fn harmless(c: char, keep_lines: bool) -> bool {
    if c.is_control() {
        return keep_lines && (c == '\n' || c == '\t');
    }
    // Unicode's bidirectional formatting characters (UAX #9): marks, embeddings, overrides
    // and isolates. Trojan Source (CVE-2021-42574) is the same trick in source code.
    !matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_bidi_controls_become_question_marks() {
        assert_eq!(printable("evil\u{1b}[2Jname\r", true), "evil?[2Jname?");
        assert_eq!(printable("line\nnext\tcol", true), "line\nnext\tcol");
        assert_eq!(printable("line\nnext\tcol", false), "line?next?col");
        // "admin" written right to left behind an override reads as "nimda" elsewhere.
        assert_eq!(printable("\u{202E}nimda\u{202C}", false), "?nimda?");
        assert_eq!(printable("a\u{2066}b\u{2069}c\u{200F}", false), "a?b?c?");
        assert_eq!(printable("naïve 名前 ✓", false), "naïve 名前 ✓");
    }

    #[test]
    fn plain_tokens_are_visible_ascii() {
        assert!(token_is_plain("gho_abc-._~+/="));
        assert!(!token_is_plain("abc\r\nX-Injected: 1"));
        assert!(!token_is_plain("a b") && !token_is_plain(""));
        assert!(!token_is_plain("tok\u{202E}en"));
    }

    #[test]
    fn long_text_is_cut() {
        let long = "x".repeat(MAX_SHOWN + 5);
        let shown = printable(&long, false);
        assert_eq!(shown.chars().count(), MAX_SHOWN + 1);
        assert!(shown.ends_with('…'));
        assert_eq!(
            printable(&"y".repeat(MAX_SHOWN), false),
            "y".repeat(MAX_SHOWN)
        );
    }
}
