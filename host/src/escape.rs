//! Text that came from a connector (manifest names and titles, error
//! messages, its stdout and stderr) made safe to print.
//!
//! Guards against terminal and log injection: a connector's text could
//! otherwise carry escape sequences that clear the screen, set the window
//! title or recolour output, a carriage return or newline that forges a log
//! line, or bidirectional and zero-width characters that make text read
//! differently from what it is. Those characters are written as `\u{..}`
//! escapes; everything else is kept as it is.

use std::borrow::Cow;
use std::fmt;

/// True for characters that must not reach a terminal or a log raw: C0 and
/// C1 controls, DEL, and Unicode's invisible formatting characters (bidi
/// overrides and isolates, zero-width characters, the byte-order mark).
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}')
}

/// `text` with every character of [`needs_escape`] written as `\u{..}`;
/// borrowed when nothing needed escaping.
///
/// ```
/// use connector_host::escape_untrusted;
/// assert_eq!(escape_untrusted("pool\x1b[2J\nWARN forged"), "pool\\u{1b}[2J\\u{a}WARN forged");
/// assert_eq!(escape_untrusted("Marketing Department"), "Marketing Department");
/// ```
pub fn escape_untrusted(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if needs_escape(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Displays untrusted text escaped, for log fields and `format!`:
/// `tracing::info!(connector = %Untrusted(name))`.
pub struct Untrusted<'a>(pub &'a str);

impl fmt::Display for Untrusted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&escape_untrusted(self.0))
    }
}

/// At most `max` characters of `text`, with `…` marking a cut.
pub fn truncate_chars(text: &str, max: usize) -> Cow<'_, str> {
    match text.char_indices().nth(max) {
        None => Cow::Borrowed(text),
        Some((cut, _)) => Cow::Owned(format!("{}…", &text[..cut])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_could_forge_or_hide_output() {
        for (raw, escaped) in [
            ("a\rb", "a\\u{d}b"),
            ("\x1b]0;title\x07", "\\u{1b}]0;title\\u{7}"),
            ("\u{9b}31m", "\\u{9b}31m"),
            ("x\u{7f}", "x\\u{7f}"),
            ("abc\u{202e}fed", "abc\\u{202e}fed"),
            ("zero\u{200b}width", "zero\\u{200b}width"),
            ("line\u{2028}sep", "line\\u{2028}sep"),
        ] {
            assert_eq!(escape_untrusted(raw), escaped, "{raw:?}");
        }
        assert!(matches!(escape_untrusted("Grüße, 池"), Cow::Borrowed("Grüße, 池")));
        assert_eq!(Untrusted("a\nb").to_string(), "a\\u{a}b");
    }

    #[test]
    fn truncates_on_character_boundaries() {
        assert_eq!(truncate_chars("abcdef", 3), "abc…");
        assert_eq!(truncate_chars("池池池池", 2), "池池…");
        assert!(matches!(truncate_chars("abc", 3), Cow::Borrowed("abc")));
    }
}
