//! Text for the terminal: names and error descriptions come from providers, and an escape
//! sequence in them must not reach the user's terminal.

/// For messages: lines are kept, escapes and bidi controls become `?` (the core's rule).
pub fn clean(text: &str) -> String {
    keyfob_core::printable(text, true)
}

/// For one cell or line: newline and tab become `?` too, so a provider's text can neither move
/// the cursor nor break the layout.
pub fn clean_line(text: &str) -> String {
    keyfob_core::printable(text, false)
}

/// Whether a token can be printed as it is: visible ASCII only (RFC 6750 b64token and the
/// characters providers actually use), so it cannot break a line or a shell quote.
pub fn printable_token(token: &str) -> bool {
    !token.is_empty() && token.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_escape_sequences() {
        assert_eq!(clean("evil\u{1b}[2Jname\r"), "evil?[2Jname?");
        assert_eq!(clean("line\nnext\tcol"), "line\nnext\tcol");
        assert_eq!(
            clean_line("osc\u{1b}]52;c;aGk=\u{7}\nrow\t"),
            "osc?]52;c;aGk=??row?"
        );
    }

    #[test]
    fn tokens_must_be_visible_ascii() {
        assert!(printable_token("gho_abc-._~+/="));
        assert!(!printable_token("abc\r\nX-Injected: 1"));
        assert!(!printable_token("a b") && !printable_token(""));
    }
}
