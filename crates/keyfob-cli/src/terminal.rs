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
}
