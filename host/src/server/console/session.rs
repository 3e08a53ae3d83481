//! Console sessions: who signed in with the API token, and the CSRF token
//! each of their forms must carry.
//!
//! Guards against: stolen or replayed cookies living forever (sessions
//! expire, on the server and in the browser), scripts reading the cookie
//! (`HttpOnly`), other sites sending it (`SameSite=Strict`) or posting a
//! form on the user's behalf (each POST must carry the session's CSRF token
//! and, when the browser says where it comes from, the server's own
//! origin), guessing session ids (244 random bits from the OS), and an
//! unbounded session table (at most [`MAX_SESSIONS`]: a new one past it
//! drops the least recently used, in constant time).

use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderValue, header};
use lru::LruCache;

/// The session cookie's name.
const COOKIE: &str = "connector_host_session";

/// How long a session lasts after sign-in.
pub(super) const LIFETIME: Duration = Duration::from_secs(12 * 60 * 60);

/// Most sessions kept at once.
const MAX_SESSIONS: usize = 10_000;

/// A signed-in browser, as handlers see it.
#[derive(Clone)]
pub(super) struct Session {
    /// The token its forms carry in `__csrf`.
    pub(super) csrf: String,
    /// Whether signing out means anything (a token is configured).
    pub(super) can_sign_out: bool,
}

struct Entry {
    csrf: String,
    expires: Instant,
}

/// The sessions of one server, least recently used first out.
pub(in crate::server) struct Sessions {
    entries: Mutex<LruCache<String, Entry>>,
}

impl Default for Sessions {
    fn default() -> Self {
        let bound = NonZeroUsize::new(MAX_SESSIONS).expect("the bound is above zero");
        Sessions { entries: Mutex::new(LruCache::new(bound)) }
    }
}

impl Sessions {
    /// A new session: its id (for the cookie) and its CSRF token. At the
    /// bound, the least recently used session makes room.
    pub(super) fn create(&self) -> (String, String) {
        let (id, csrf) = (random_token(), random_token());
        let entry = Entry { csrf: csrf.clone(), expires: Instant::now() + LIFETIME };
        self.entries.lock().expect("sessions lock").push(id.clone(), entry);
        (id, csrf)
    }

    /// The CSRF token of session `id`, if it exists and has not expired;
    /// marks it used.
    pub(super) fn csrf_of(&self, id: &str) -> Option<String> {
        let mut entries = self.entries.lock().expect("sessions lock");
        match entries.get(id) {
            Some(entry) if entry.expires > Instant::now() => Some(entry.csrf.clone()),
            Some(_) => {
                entries.pop(id);
                None
            }
            None => None,
        }
    }

    pub(super) fn remove(&self, id: &str) {
        self.entries.lock().expect("sessions lock").pop(id);
    }
}

/// Two UUIDs v4: 244 random bits from the operating system's generator.
fn random_token() -> String {
    format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

/// The session id the request's cookie names, if any.
pub(super) fn session_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim().to_owned())
}

/// The `Set-Cookie` that gives the browser session `id`.
pub(super) fn cookie(id: &str) -> HeaderValue {
    let value = format!("{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}", LIFETIME.as_secs());
    HeaderValue::from_str(&value).expect("session ids are hex")
}

/// The `Set-Cookie` that removes the session cookie.
pub(super) fn expired_cookie() -> HeaderValue {
    HeaderValue::from_str(&format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")).expect("ASCII")
}

/// Whether `offered` is `expected`, in time independent of how much of it
/// is right.
pub(super) fn same_token(expected: &str, offered: &str) -> bool {
    crate::server::auth::Token::new(expected).matches(offered)
}

/// Whether a form post comes from the console's own pages: a browser
/// names the page's origin in `Origin`, which must be this server's
/// (`Host`, or `X-Forwarded-Host` behind a proxy). Clients that send no
/// `Origin` are not browsers posting cross-site; the CSRF token still
/// guards them.
pub(super) fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Some(authority) =
        origin.to_str().ok().and_then(|o| o.strip_prefix("http://").or_else(|| o.strip_prefix("https://")))
    else {
        return false;
    };
    ["host", "x-forwarded-host"]
        .iter()
        .filter_map(|name| headers.get(*name).and_then(|v| v.to_str().ok()))
        .any(|host| host.eq_ignore_ascii_case(authority))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_come_and_go() {
        let sessions = Sessions::default();
        let (id, csrf) = sessions.create();
        assert_eq!(id.len(), 64);
        assert_eq!(sessions.csrf_of(&id), Some(csrf.clone()));
        assert_ne!(id, csrf);
        assert_eq!(sessions.csrf_of("nobody"), None);
        sessions.remove(&id);
        assert_eq!(sessions.csrf_of(&id), None);
    }

    #[test]
    fn the_table_is_bounded_and_keeps_the_sessions_in_use() {
        let sessions = Sessions::default();
        let (used, _) = sessions.create();
        let (idle, _) = sessions.create();
        for _ in 0..MAX_SESSIONS - 2 {
            sessions.create();
        }
        assert!(sessions.csrf_of(&used).is_some());
        for _ in 0..MAX_SESSIONS - 1 {
            sessions.create();
        }
        assert_eq!(sessions.entries.lock().unwrap().len(), MAX_SESSIONS);
        assert_eq!(sessions.csrf_of(&idle), None, "the least recently used went first");
        assert!(sessions.csrf_of(&used).is_some(), "a session in use stays");
    }

    #[test]
    fn cookies_and_origins() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; connector_host_session=abc ; b=2"));
        assert_eq!(session_id(&headers).as_deref(), Some("abc"));
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(same_origin(&headers), "no Origin");
        for (origin, ok) in [
            ("http://127.0.0.1:8080", true),
            ("https://127.0.0.1:8080", true),
            ("http://127.0.0.1:8081", false),
            ("http://evil.example", false),
            ("null", false),
        ] {
            headers.insert(header::ORIGIN, HeaderValue::from_static(origin));
            assert_eq!(same_origin(&headers), ok, "{origin}");
        }
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abc", "abd") && !same_token("abc", ""));
    }
}
