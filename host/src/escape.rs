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
        || matches!(
            c,
            '\u{ad}'
                | '\u{61c}'
                | '\u{180e}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{206f}'
                | '\u{feff}'
                | '\u{fff9}'..='\u{fffb}'
                | '\u{e0000}'..='\u{e007f}'
        )
}

/// `text` with every character of [`needs_escape`] written as `\u{..}`;
/// borrowed when nothing needed escaping.
///
/// ```
/// use connector_host::escape::escape_untrusted;
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

/// JSON text with every character of [`needs_escape`] that serde_json
/// leaves raw (DEL, C1 controls, bidi and invisible characters) written as
/// a `\uXXXX` escape: still the same JSON, and safe on a terminal. Such
/// characters only occur inside JSON strings, where the escape means them.
///
/// ```
/// use connector_host::escape::escape_untrusted_json;
/// let text = serde_json::to_string(&"x\u{9b}31m\u{202e}").unwrap();
/// let safe = escape_untrusted_json(&text);
/// assert_eq!(safe, r#""x\u009b31m\u202e""#);
/// assert_eq!(serde_json::from_str::<String>(&safe).unwrap(), "x\u{9b}31m\u{202e}");
/// ```
pub fn escape_untrusted_json(json: &str) -> Cow<'_, str> {
    // serde_json escapes these inside strings, so a raw one is the JSON's
    // own whitespace (pretty-printing).
    let escape = |c: char| needs_escape(c) && !matches!(c, '\n' | '\r' | '\t');
    if !json.chars().any(escape) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if escape(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
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

/// `text` from a connector as an error message quotes it: in backticks,
/// escaped, and cut after 64 characters, so a connector cannot fill or
/// shape a host message with text of its own.
pub(crate) fn quote_untrusted(text: &str) -> String {
    format!("`{}`", escape_untrusted(&truncate_chars(text, 64)))
}

/// At most `max` characters of `text`, with `…` marking a cut.
pub fn truncate_chars(text: &str, max: usize) -> Cow<'_, str> {
    match text.char_indices().nth(max) {
        None => Cow::Borrowed(text),
        Some((cut, _)) => Cow::Owned(format!("{}…", &text[..cut])),
    }
}

/// An error and its sources on one line, each source once
/// ("error sending request: connection refused").
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
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
            ("soft\u{ad}hyphen", "soft\\u{ad}hyphen"),
            ("tag\u{e0041}", "tag\\u{e0041}"),
            ("\u{61c}\u{206a}", "\\u{61c}\\u{206a}"),
        ] {
            assert_eq!(escape_untrusted(raw), escaped, "{raw:?}");
        }
        assert!(matches!(escape_untrusted("Grüße, 池"), Cow::Borrowed("Grüße, 池")));
        assert_eq!(Untrusted("a\nb").to_string(), "a\\u{a}b");
    }

    #[test]
    fn json_stays_json() {
        let value = serde_json::json!({"a\u{7f}": ["\u{e0041}\u{202e}\n", 1]});
        let text = serde_json::to_string(&value).unwrap();
        let safe = escape_untrusted_json(&text);
        assert!(!safe.chars().any(needs_escape), "{safe}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&safe).unwrap(), value);
        let pretty = serde_json::to_string_pretty(&value).unwrap();
        let safe = escape_untrusted_json(&pretty);
        assert!(safe.lines().count() > 3, "the layout stays: {safe}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&safe).unwrap(), value);
    }

    #[test]
    fn truncates_on_character_boundaries() {
        assert_eq!(truncate_chars("abcdef", 3), "abc…");
        assert_eq!(truncate_chars("池池池池", 2), "池池…");
        assert!(matches!(truncate_chars("abc", 3), Cow::Borrowed("abc")));
    }
}
