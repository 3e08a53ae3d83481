//! The console's HTML: escaping, the page frame, and JSON shown as text.
//! Every piece of text that comes from a connector, a run or a request
//! goes through [`esc`]; the pages carry no inline script or style, so the
//! Content-Security-Policy can forbid them.

use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use serde_json::Value;

use crate::server::console::session::Session;

/// `text` escaped for HTML text and attribute values.
pub(crate) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `value` as indented JSON, escaped, in a `<pre>`.
pub(super) fn json_block(value: &Value) -> String {
    let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string());
    format!("<pre class=\"json\">{}</pre>", esc(&text))
}

/// What the console's pages allow themselves: their own stylesheet and
/// script, forms to themselves, nothing else, never in a frame.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The hidden field that carries the session's CSRF token in a form.
pub(super) fn csrf_field(session: &Session) -> String {
    format!("<input type=\"hidden\" name=\"__csrf\" value=\"{}\">", esc(&session.csrf))
}

/// Whether a page reloads itself.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Refresh {
    /// It shows what will not change.
    Never,
    /// It shows a run in progress: reload every two seconds.
    WhileRunning,
}

impl Refresh {
    /// `WhileRunning` while something shown is `running`.
    pub(super) fn while_running(running: bool) -> Refresh {
        if running { Refresh::WhileRunning } else { Refresh::Never }
    }
}

/// A whole page: `title` (escaped here) and `body` (already HTML), with
/// the navigation for `session`, reloading itself as `refresh` says.
pub(super) fn page(title: &str, body: &str, session: Option<&Session>, refresh: Refresh) -> Response {
    let refresh = match refresh {
        Refresh::WhileRunning => "<meta http-equiv=\"refresh\" content=\"2\">\n",
        Refresh::Never => "",
    };
    let nav = match session {
        Some(session) => {
            let sign_out = if session.can_sign_out {
                format!(
                    "<form method=\"post\" action=\"/logout\" class=\"inline\">{}<button type=\"submit\">Sign out</button></form>",
                    csrf_field(session)
                )
            } else {
                String::new()
            };
            format!("<nav><a href=\"/connectors\">Connectors</a> <a href=\"/runs\">Runs</a> {sign_out}</nav>")
        }
        None => "<nav></nav>".to_owned(),
    };
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n{refresh}<title>{} · connector-host</title>\n\
         <link rel=\"stylesheet\" href=\"/console/console.css\">\n<script src=\"/console/console.js\" defer></script>\n\
         </head><body>\n<header><strong>connector-host</strong> {nav}</header>\n<main>\n<h1>{}</h1>\n{body}\n</main>\n</body></html>\n",
        esc(title),
        esc(title)
    );
    Html(html).into_response()
}

/// `response` with the console's security headers (every console
/// response gets them).
pub(super) fn secured(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // Other sites learn nothing of the console's URLs; `no-referrer` would
    // also make browsers send `Origin: null` on the console's own posts.
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
    }
}
