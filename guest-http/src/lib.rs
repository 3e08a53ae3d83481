//! The HTTP Request connector: any request to an HTTP API the operator
//! grants it (`--grant ALIAS=api:NAME`), in the spirit of n8n's "HTTP
//! Request" node, and GraphQL queries. It declares the API `*`, so it
//! reaches only the connections a grant names, and never holds their
//! credentials: the host applies them.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use connector_sdk::http::{Request, Response};
use connector_sdk::{Connector, Effect, Error, Info, Operations, ServiceError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Most pages one `request` follows.
const MAX_PAGES: u32 = 100;

#[derive(Deserialize, JsonSchema, Clone, Copy)]
#[serde(rename_all = "UPPERCASE")]
enum Method {
    Get,
    Head,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

/// The input of `request`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RequestInput {
    /// The connection to call, as granted (`github`).
    #[schemars(length(min = 1, max = 64))]
    api: String,
    /// The HTTP method; GET when not given.
    method: Option<Method>,
    /// The path below the connection's base URL, starting with `/`
    /// (`/repos/octo/hello/issues`).
    #[schemars(length(min = 1, max = 8192))]
    path: String,
    /// Query parameters, percent-encoded by the connector.
    #[serde(default)]
    query: BTreeMap<String, String>,
    /// Request headers (not `authorization`: the host applies the
    /// connection's credential).
    #[serde(default)]
    headers: BTreeMap<String, String>,
    /// A JSON body (sent with `content-type: application/json`).
    json: Option<Value>,
    /// A text body.
    text: Option<String>,
    /// A binary body, base64-encoded.
    base64: Option<String>,
    /// Follow a cursor through the pages of a listing.
    paginate: Option<Paginate>,
    /// Fail with the status as a service error when it is not 2xx (true
    /// when not given); false returns any status as output.
    fail_on_error_status: Option<bool>,
}

/// Following pages: by the `Link` header's `rel="next"` (`next_link`),
/// or by a cursor, each answer's cursor (at `cursor_path`) sent as query
/// parameter `cursor_param` of the next request; until there is none. The
/// items (at `items_path`, or each whole answer) of every page are joined.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Paginate {
    /// Follow `Link: <...>; rel="next"` (GitHub's way).
    #[serde(default)]
    next_link: bool,
    /// JSON pointer to the next cursor in an answer (`/next_cursor`).
    #[schemars(length(min = 1, max = 1024))]
    cursor_path: Option<String>,
    /// The query parameter the cursor goes in (`cursor`).
    #[schemars(length(min = 1, max = 128))]
    cursor_param: Option<String>,
    /// JSON pointer to the items of an answer (`/items`); each whole
    /// answer when not given.
    #[schemars(length(max = 1024))]
    items_path: Option<String>,
    /// Most pages to read (10 when not given).
    #[schemars(range(min = 1, max = 100))]
    max_pages: Option<u32>,
}

/// What `request` answers.
#[derive(Serialize, JsonSchema)]
struct RequestOutput {
    status: u16,
    /// Response headers (names in lower case; repeated ones joined with
    /// `, `).
    headers: BTreeMap<String, String>,
    /// The body, when it is JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    json: Option<Value>,
    /// The body, when it is text but not JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    /// The body, base64-encoded, when it is neither.
    #[serde(skip_serializing_if = "Option::is_none")]
    base64: Option<String>,
    /// With `paginate`: every page's items, in order.
    #[serde(skip_serializing_if = "Option::is_none")]
    items: Option<Vec<Value>>,
    /// With `paginate`: how many pages were read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pages: Option<u32>,
}

/// The input of `graphql`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct GraphqlInput {
    /// The connection to call, as granted.
    #[schemars(length(min = 1, max = 64))]
    api: String,
    /// The endpoint's path below the base URL (`/graphql` when not given).
    #[schemars(length(min = 1, max = 8192))]
    path: Option<String>,
    /// The GraphQL document.
    #[schemars(length(min = 1, max = 1048576))]
    query: String,
    /// Its variables.
    variables: Option<BTreeMap<String, Value>>,
    /// Which operation of the document to run.
    operation_name: Option<String>,
}

struct Http;

impl Connector for Http {
    fn info() -> Info {
        Info::new("http", "HTTP Request", env!("CARGO_PKG_VERSION"), &[]).api(
            "*",
            "Any HTTP API the operator grants this connector by name",
            "",
            &[],
        )
    }

    fn operations() -> Operations {
        Operations::new()
            .add(
                "request",
                "Request",
                "Sends one HTTP request to a granted API (or follows a cursor through its pages) and returns the \
                 status, headers and body.",
                request,
            )
            .output::<RequestOutput>()
            .effect(Effect::Destructive)
            .add(
                "graphql",
                "GraphQL query",
                "Runs a GraphQL query or mutation against a granted API and returns its data (and errors).",
                graphql,
            )
            .effect(Effect::Destructive)
    }
}

fn request(input: RequestInput) -> Result<RequestOutput, Error> {
    let bodies = [input.json.is_some(), input.text.is_some(), input.base64.is_some()];
    if bodies.iter().filter(|set| **set).count() > 1 {
        return Err(Error::InvalidInput("give at most one of `json`, `text` and `base64`".into()));
    }
    let body = match (&input.json, &input.text, &input.base64) {
        (Some(json), _, _) => Some((serde_json::to_vec(json).unwrap_or_default(), Some("application/json"))),
        (_, Some(text), _) => Some((text.clone().into_bytes(), Some("text/plain; charset=utf-8"))),
        (_, _, Some(encoded)) => {
            let bytes = BASE64.decode(encoded).map_err(|e| Error::InvalidInput(format!("base64: not base64 ({e})")))?;
            Some((bytes, None))
        }
        _ => None,
    };
    let build = |next: &Next| {
        let path = match next {
            Next::Link(path) => path.as_str(),
            _ => &input.path,
        };
        let mut request = Request::new(&input.api, input.method.unwrap_or(Method::Get).as_str(), path);
        // A linked page's path carries its own query.
        if !matches!(next, Next::Link(_)) {
            for (name, value) in &input.query {
                request = request.query(name, value);
            }
        }
        let cursor = match (next, input.paginate.as_ref().and_then(|p| p.cursor_param.as_deref())) {
            (Next::Cursor(value), Some(name)) => Some((name, value.as_str())),
            _ => None,
        };
        if let Some((name, value)) = cursor {
            request = request.query(name, value);
        }
        let has_content_type = input.headers.keys().any(|k| k.eq_ignore_ascii_case("content-type"));
        for (name, value) in &input.headers {
            request = request.header(name, value);
        }
        if let Some((bytes, content_type)) = &body {
            if let Some(content_type) = content_type.filter(|_| !has_content_type) {
                request = request.header("content-type", content_type);
            }
            request = request.body(bytes.clone());
        }
        request
    };
    let fail_on_error = input.fail_on_error_status.unwrap_or(true);
    let checked = |response: Response| if fail_on_error { response.error_for_status() } else { Ok(response) };
    let Some(paginate) = &input.paginate else {
        return Ok(output_of(checked(build(&Next::First).send()?)?));
    };
    let cursor_path = match (paginate.next_link, &paginate.cursor_path, &paginate.cursor_param) {
        (true, None, None) => None,
        (false, Some(path), Some(_)) => Some(path.as_str()),
        _ => {
            return Err(Error::InvalidInput(
                "paginate: give `next_link: true`, or `cursor_path` and `cursor_param`".into(),
            ));
        }
    };
    let max_pages = paginate.max_pages.unwrap_or(10).min(MAX_PAGES);
    let mut items = Vec::new();
    let mut next = Next::First;
    let mut pages = 0;
    loop {
        let response = checked(build(&next).send()?)?;
        pages += 1;
        let page: Value = response.json()?;
        match &paginate.items_path {
            None => items.push(page.clone()),
            Some(path) => match page.pointer(path) {
                Some(Value::Array(found)) => items.extend(found.iter().cloned()),
                Some(_) => return Err(Error::Internal(format!("page {pages}: `{path}` is not a list"))),
                None => {}
            },
        }
        next = match cursor_path {
            None => response.next_page(&input.api).map_or(Next::Done, Next::Link),
            Some(cursor_path) => match page.pointer(cursor_path) {
                Some(Value::String(cursor)) if !cursor.is_empty() => Next::Cursor(cursor.clone()),
                Some(Value::Number(cursor)) => Next::Cursor(cursor.to_string()),
                _ => Next::Done,
            },
        };
        if matches!(next, Next::Done) || pages >= max_pages {
            let mut output = output_of(response);
            output.items = Some(items);
            output.pages = Some(pages);
            return Ok(output);
        }
    }
}

/// Which page a paginated `request` asks for next.
enum Next {
    First,
    Cursor(String),
    /// A path below the base URL, from a `Link` header.
    Link(String),
    Done,
}

/// A response as `request` answers it: JSON parsed, text as text, other
/// bodies base64.
fn output_of(response: Response) -> RequestOutput {
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in &response.headers {
        headers
            .entry(name.clone())
            .and_modify(|joined| {
                joined.push_str(", ");
                joined.push_str(value);
            })
            .or_insert_with(|| value.clone());
    }
    let mut output = RequestOutput {
        status: response.status,
        headers,
        json: None,
        text: None,
        base64: None,
        items: None,
        pages: None,
    };
    if response.body.is_empty() {
        return output;
    }
    if let Ok(json) = serde_json::from_slice::<Value>(&response.body) {
        output.json = Some(json);
    } else if let Ok(text) = String::from_utf8(response.body.clone()) {
        output.text = Some(text);
    } else {
        output.base64 = Some(BASE64.encode(&response.body));
    }
    output
}

fn graphql(input: GraphqlInput) -> Result<Value, Error> {
    let mut document = serde_json::json!({"query": input.query});
    if let Some(variables) = input.variables {
        document["variables"] = serde_json::to_value(variables).unwrap_or_default();
    }
    if let Some(name) = input.operation_name {
        document["operationName"] = Value::String(name);
    }
    let path = input.path.as_deref().unwrap_or("/graphql");
    let response = Request::post(&input.api, path).header("accept", "application/json").json(&document)?.send()?;
    let status = response.status;
    let answer: Value = response.error_for_status()?.json()?;
    // Errors without data: the query failed as a whole.
    if answer.get("data").is_none_or(Value::is_null)
        && let Some(errors) = answer.get("errors").and_then(Value::as_array).filter(|e| !e.is_empty())
    {
        let message = errors.iter().filter_map(|e| e.get("message").and_then(Value::as_str)).collect::<Vec<_>>();
        return Err(Error::Service(ServiceError {
            code: "GraphQLError".into(),
            message: message.join("; "),
            status,
            retryable: false,
        }));
    }
    Ok(answer)
}

connector_sdk::connector!(Http);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_declares_any_api_and_checks_its_input() {
        let info = Http::info();
        assert_eq!(info.apis[0].name, "*");
        assert!(info.services.is_empty());
        let refused =
            connector_sdk::invoke::<Http>("request", r#"{"api": "x", "path": "/", "method": "TRACE"}"#).unwrap_err();
        assert!(matches!(&refused, Error::InvalidInput(m) if m.contains("method")), "{refused:?}");
        let two = connector_sdk::invoke::<Http>("request", r#"{"api": "x", "path": "/", "text": "a", "json": 1}"#)
            .unwrap_err();
        assert!(matches!(&two, Error::InvalidInput(m) if m.contains("at most one")), "{two:?}");
    }

    #[test]
    fn bodies_come_back_as_json_text_or_base64() {
        let response = |body: &[u8]| Response { status: 200, headers: vec![], body: body.to_vec() };
        assert_eq!(output_of(response(br#"{"a":1}"#)).json, Some(serde_json::json!({"a": 1})));
        assert_eq!(output_of(response(b"plain")).text.as_deref(), Some("plain"));
        assert_eq!(output_of(response(&[0xff, 0x00])).base64.as_deref(), Some("/wA="));
        let joined = output_of(Response {
            status: 200,
            headers: vec![("link".into(), "a".into()), ("link".into(), "b".into())],
            body: vec![],
        });
        assert_eq!(joined.headers["link"], "a, b");
    }
}
