//! Hiding known secret values in text and bytes: what the host sent as a
//! credential must not come back to a connector or into a log through an
//! answer, an error page or a provider's message that echoes it.
//!
//! Guards against a secret shown in the forms an echo may give it: as is,
//! form-encoded (`a+b`), percent-encoded in upper or lower case (`a%2Fb`,
//! `a%2fb`), encoded only where a query needs it, and JSON-escaped (`a\/b`,
//! `\u0022`). Other transformations (base64 of a part, HTML entities,
//! compression) are not recognised: answers with a `Content-Encoding` are
//! refused before they get here.

use aho_corasick::{AhoCorasick, MatchKind};

/// What replaces a hidden value.
pub(crate) const HIDDEN: &str = "***";

/// A finder of a set of secret values in every form it knows.
pub(crate) struct Hider {
    finder: Option<AhoCorasick>,
    forms: usize,
}

impl Hider {
    /// A hider of `values` (empty ones ignored); an error when the set is
    /// too large to search (it does not happen within the host's bounds).
    pub(crate) fn new(values: &[String]) -> Result<Self, String> {
        let mut forms: Vec<String> = Vec::new();
        for value in values.iter().filter(|v| !v.is_empty()) {
            let percent = percent_encode(value);
            for form in [
                value.clone(),
                query_encode(value),
                form_encode(value),
                lower_hex_escapes(&percent),
                percent,
                json_escape(value),
                value.replace('/', "\\/"),
            ] {
                if !forms.contains(&form) {
                    forms.push(form);
                }
            }
        }
        if forms.is_empty() {
            return Ok(Hider { finder: None, forms: 0 });
        }
        let finder = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&forms)
            .map_err(|e| format!("too many values to hide: {e}"))?;
        Ok(Hider { finder: Some(finder), forms: forms.len() })
    }

    /// `bytes` with every value hidden; `None` when none is there.
    pub(crate) fn bytes(&self, bytes: &[u8]) -> Option<Vec<u8>> {
        let finder = self.finder.as_ref().filter(|f| f.is_match(bytes))?;
        Some(finder.replace_all_bytes(bytes, &vec![HIDDEN.as_bytes(); self.forms]))
    }

    /// `text` with every value hidden.
    pub(crate) fn text(&self, text: &str) -> String {
        match self.finder.as_ref().filter(|f| f.is_match(text)) {
            Some(finder) => finder.replace_all(text, &vec![HIDDEN; self.forms]),
            None => text.to_owned(),
        }
    }
}

/// `text` with every one of `values` hidden in every form [`Hider`]
/// knows; every character hidden when they are too many to search.
pub(crate) fn hide_values(text: &str, values: &[String]) -> String {
    match Hider::new(values) {
        Ok(hider) => hider.text(text),
        Err(_) => HIDDEN.to_owned(),
    }
}

/// `text` as a query value, encoded only where a query needs it: what a
/// query may hold as is (RFC 3986 `pchar`, `/`, `?`) is kept, but for the
/// separators `&`, `=`, `+` and `;`.
pub(crate) fn query_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~!$'()*,:@/?".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `text` as a form value (`a b` → `a+b`).
pub(crate) fn form_encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// `text` with everything but unreserved characters percent-encoded (`a b`
/// → `a%20b`).
fn percent_encode(text: &str) -> String {
    form_encode(text).replace('+', "%20")
}

/// `encoded` with the hex digits of its `%XX` escapes in lower case.
fn lower_hex_escapes(encoded: &str) -> String {
    let mut out = String::with_capacity(encoded.len());
    let mut chars = encoded.chars();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '%' {
            out.extend(chars.by_ref().take(2).map(|c| c.to_ascii_lowercase()));
        }
    }
    out
}

/// `text` as the inside of a JSON string.
fn json_escape(text: &str) -> String {
    let quoted = serde_json::to_string(text).unwrap_or_default();
    quoted.trim_start_matches('"').trim_end_matches('"').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_of_a_secret_is_hidden() {
        let hider = Hider::new(&["tok/en+1\"x".to_owned(), String::new()]).unwrap();
        for echo in [
            "tok/en+1\"x",
            "tok/en%2B1%22x",
            "tok%2Fen%2B1%22x",
            "tok%2fen%2b1%22x",
            "tok%2Fen%2B1%22x",
            "tok\\/en+1\"x",
            "tok/en+1\\\"x",
        ] {
            assert_eq!(hider.text(&format!("a {echo} b")), "a *** b", "{echo}");
        }
        assert_eq!(hider.bytes(b"nothing here"), None);
        assert_eq!(hider.bytes(b"[tok/en+1\"x]").unwrap(), b"[***]");
        assert_eq!(hide_values("none", &[]), "none");
        assert_eq!(query_encode("a b&c=d+e/f"), "a%20b%26c%3Dd%2Be/f");
    }
}
