//! The web console on `serve`: server-rendered pages over the same library
//! calls as the JSON API, for people. Sign in with the API token, browse
//! connectors and their operations, run one from a form generated from its
//! schema, and read every run step by step.
//!
//! Guards against: pages without a session (they redirect to `/login`
//! when a token is configured), cross-site form posts (a per-session CSRF
//! token in every form, and the browser's `Origin` must be this server),
//! markup from connectors and runs (everything is escaped, and a strict
//! Content-Security-Policy forbids inline script), and caching of pages
//! that show outputs (`no-store`).

mod form;
mod html;
mod pages;
mod session;

use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::server::AppState;
use html::Refresh;
pub(super) use session::Sessions;
use session::{Session, same_origin, same_token, session_id};

/// The console's routes; pages need a session, `/login` and the static
/// files do not.
pub(super) fn router(state: AppState) -> Router<AppState> {
    let pages = Router::new()
        .route("/", get(|| async { Redirect::to("/connectors") }))
        .route("/connectors", get(pages::connectors))
        .route("/connectors/{name}", get(pages::connector))
        .route("/connectors/{name}/operations/{operation}", get(pages::operation).post(pages::run_operation))
        .route("/runs", get(pages::runs))
        .route("/runs/{id}", get(pages::run))
        .route("/logout", post(logout))
        .route_layer(from_fn_with_state(state, require_session));
    Router::new()
        .merge(pages)
        .route("/login", get(login_page).post(login))
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .route("/console/console.css", get(|| static_file(include_str!("console.css"), "text/css; charset=utf-8")))
        .route("/console/console.js", get(|| static_file(include_str!("console.js"), "text/javascript; charset=utf-8")))
        .layer(axum::middleware::map_response(|response: Response| async { html::secured(response) }))
}

async fn static_file(text: &'static str, content_type: &'static str) -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static(content_type))], text).into_response()
}

/// Lets requests with a live session through, with the [`Session`] for
/// the handlers; without a token every browser gets a session, so its
/// forms carry CSRF tokens too. Anything else goes to `/login`.
async fn require_session(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let found = session_id(request.headers()).and_then(|id| state.sessions.csrf_of(&id));
    let (csrf, new_cookie) = match found {
        Some(csrf) => (csrf, None),
        None if state.token.is_none() => {
            let (id, csrf) = state.sessions.create();
            (csrf, Some(session::cookie(&id)))
        }
        None => return Redirect::to("/login").into_response(),
    };
    if !matches!(*request.method(), Method::GET | Method::HEAD) && !same_origin(request.headers()) {
        return refused("This form was sent from another site.");
    }
    request.extensions_mut().insert(Session { csrf, can_sign_out: state.token.is_some() });
    let mut response = next.run(request).await;
    if let Some(cookie) = new_cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// A 403 page saying why.
fn refused(reason: &str) -> Response {
    (
        StatusCode::FORBIDDEN,
        html::page("Refused", &format!("<p class=\"error\">{}</p>", html::esc(reason)), None, Refresh::Never),
    )
        .into_response()
}

/// The form's fields, or the page that says what was wrong with the form,
/// when it does not carry this session's CSRF token or cannot be read.
fn checked_form(
    session: &Session,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Result<Vec<(String, String)>, Box<Response>> {
    let pairs = match form {
        Ok(Form(pairs)) => pairs,
        Err(rejection) => {
            let body = format!("<p class=\"error\">{}</p>", html::esc(&rejection.body_text()));
            return Err(Box::new(
                (rejection.status(), html::page("Bad form", &body, Some(session), Refresh::Never)).into_response(),
            ));
        }
    };
    let offered = pairs.iter().find(|(key, _)| key == "__csrf").map_or("", |(_, value)| value.as_str());
    if !same_token(&session.csrf, offered) {
        return Err(Box::new(refused(
            "This form is stale or was not sent by the console: reload the page and try again.",
        )));
    }
    Ok(pairs)
}

fn login_form(problem: Option<&str>) -> String {
    let problem =
        problem.map(|p| format!("<p class=\"error\" id=\"login-error\">{}</p>\n", html::esc(p))).unwrap_or_default();
    format!(
        "{problem}<form method=\"post\" action=\"/login\" class=\"login\">\n\
         <div class=\"field\"><label for=\"token\">API token</label>\
         <input type=\"password\" id=\"token\" name=\"token\" autocomplete=\"current-password\" required autofocus></div>\n\
         <button type=\"submit\" id=\"sign-in\">Sign in</button>\n</form>"
    )
}

async fn login_page(State(state): State<AppState>) -> Response {
    if state.token.is_none() {
        return Redirect::to("/connectors").into_response();
    }
    html::page("Sign in", &login_form(None), None, Refresh::Never)
}

#[derive(Deserialize)]
struct LoginForm {
    token: String,
}

/// Signs in with the API token: a new session (never one the browser
/// brought along) and a redirect to the console.
async fn login(
    State(state): State<AppState>,
    client: Option<axum::Extension<crate::server::auth::ClientAddress>>,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    let Some(token) = &state.token else {
        return Redirect::to("/connectors").into_response();
    };
    let client = client.map(|axum::Extension(address)| address.0);
    if let Some(wait) = client.and_then(|ip| state.guesses.waiting(ip)) {
        return crate::server::auth::too_many_guesses(wait);
    }
    if !same_origin(&headers) {
        return refused("This form was sent from another site.");
    }
    let Ok(Form(form)) = form else {
        let body = login_form(Some("Send the API token in the `token` field."));
        return (StatusCode::BAD_REQUEST, html::page("Sign in", &body, None, Refresh::Never)).into_response();
    };
    if !token.matches(&form.token) {
        tracing::warn!("a console sign-in with a wrong token");
        if let Some(ip) = client {
            state.guesses.failed(ip);
        }
        let body = login_form(Some("That is not the API token."));
        return (StatusCode::UNAUTHORIZED, html::page("Sign in", &body, None, Refresh::Never)).into_response();
    }
    if let Some(ip) = client {
        state.guesses.succeeded(ip);
    }
    let (id, _) = state.sessions.create();
    let mut response = Redirect::to("/").into_response();
    response.headers_mut().append(header::SET_COOKIE, session::cookie(&id));
    response
}

async fn logout(
    State(state): State<AppState>,
    axum::Extension(session): axum::Extension<Session>,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    if let Err(page) = checked_form(&session, form) {
        return *page;
    }
    if let Some(id) = session_id(&headers) {
        state.sessions.remove(&id);
    }
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().append(header::SET_COOKIE, session::expired_cookie());
    response
}
