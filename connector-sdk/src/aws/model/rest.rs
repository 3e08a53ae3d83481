//! The REST protocols' bindings (REST-JSON so far): where each top-level
//! input member goes in the request (a label of the path, the query
//! string, a header, the whole body) and where each output member comes
//! from in the response (a header, the status code, the whole body), as
//! botocore serializes them.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value};

use super::time::{http_date, iso8601, parse_http_date};
use super::{Kind, Member, Operation, Service, scalar_from_text};
use crate::Error;
use crate::aws::{json, percent_encode};
use crate::bindings::connector::api::signed_http::{Request, Response};

/// How a REST operation goes over HTTP.
#[derive(Debug)]
pub struct Http {
    pub method: &'static str,
    /// The path template (`/2015-03-31/functions/{FunctionName}`), maybe
    /// with a fixed query (`?versioning`). A label ending in `+` is greedy:
    /// its `/` stay.
    pub uri: &'static str,
    /// Input members sent outside the JSON body, in the model's order.
    pub input: &'static [Binding],
    /// Output members read from outside the body.
    pub output: &'static [Binding],
    /// API name of the input member that is the whole body.
    pub input_payload: Option<&'static str>,
    /// API name of the output member that is the whole body.
    pub output_payload: Option<&'static str>,
}

impl Http {
    /// Whether the input member `name` travels outside the JSON body.
    fn binds(&self, name: &str) -> bool {
        self.input.iter().any(|binding| binding.member == name)
    }
}

/// The members of an input that make its JSON body: those no binding
/// takes elsewhere, serialized where they are, without a copy of the input.
struct BodyMembers<'a> {
    fields: &'a Map<String, Value>,
    http: &'a Http,
}

impl serde::Serialize for BodyMembers<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.fields.iter().filter(|(name, _)| !self.http.binds(name)))
    }
}

/// Where one member travels.
#[derive(Debug)]
pub struct Binding {
    /// The member's API name.
    pub member: &'static str,
    pub location: Location,
}

/// A member's place in a request or response.
#[derive(Debug)]
pub enum Location {
    /// `{name}` (or `{name+}`) in the path.
    Label(&'static str),
    /// A query parameter; a list repeats it.
    Query(&'static str),
    /// A map whose entries are query parameters.
    QueryMap,
    Header(&'static str),
    /// A map whose entries are headers named with this prefix.
    Headers(&'static str),
    /// The response's status code.
    StatusCode,
}

/// The request of `op` with `body` (its input in the API's JSON, checked):
/// members bound to the path, query and headers, the rest the body.
pub(super) fn request(service: &'static Service, op: &Operation, http: &Http, body: &Value) -> Result<Request, Error> {
    let no_fields = Map::new();
    let fields = body.as_object().unwrap_or(&no_fields);
    let input = members(service, Some(op.input));
    let (template, fixed_query) = http.uri.split_once('?').unwrap_or((http.uri, ""));
    let mut path = template.to_owned();
    let mut query: Vec<String> = fixed_query.split('&').filter(|p| !p.is_empty()).map(str::to_owned).collect();
    let mut headers = Vec::new();
    for binding in http.input {
        let value = fields.get(binding.member);
        let shape = member_kind(service, input, binding.member);
        match (&binding.location, value) {
            (Location::Label(label), Some(value)) => {
                let text = scalar_text(shape, value, TimeFormat::Iso8601);
                let greedy = format!("{{{label}+}}");
                path = if path.contains(&greedy) {
                    path.replace(&greedy, &percent_encode(&text).replace("%2F", "/"))
                } else {
                    path.replace(&format!("{{{label}}}"), &percent_encode(&text))
                };
            }
            (Location::Label(name), None) => {
                return Err(Error::InvalidInput(format!("{}: needed in the path (`{name}`)", binding.member)));
            }
            (Location::Query(name), Some(Value::Array(items))) => {
                let item = list_item(service, shape);
                query.extend(items.iter().map(|v| pair(name, &scalar_text(item, v, TimeFormat::Iso8601))));
            }
            (Location::Query(name), Some(value)) => {
                query.push(pair(name, &scalar_text(shape, value, TimeFormat::Iso8601)))
            }
            (Location::QueryMap, Some(Value::Object(entries))) => {
                for (key, value) in entries {
                    match value {
                        Value::Array(items) => query.extend(items.iter().map(|v| pair(key, &plain(v)))),
                        other => query.push(pair(key, &plain(other))),
                    }
                }
            }
            (Location::Header(name), Some(Value::Array(items))) if !items.is_empty() => {
                let item = list_item(service, shape);
                let texts: Vec<String> =
                    items.iter().map(|v| header_list_item(&scalar_text(item, v, TimeFormat::HttpDate))).collect();
                headers.push((name.to_ascii_lowercase(), texts.join(",")));
            }
            (Location::Header(_), Some(Value::Array(_))) => {}
            (Location::Header(name), Some(value)) => {
                headers.push((name.to_ascii_lowercase(), scalar_text(shape, value, TimeFormat::HttpDate)))
            }
            (Location::Headers(prefix), Some(Value::Object(entries))) => {
                headers.extend(entries.iter().map(|(k, v)| (format!("{prefix}{k}").to_ascii_lowercase(), plain(v))));
            }
            _ => {}
        }
    }
    let (body, json) = match http.input_payload {
        Some(payload) => match (fields.get(payload), member_kind(service, input, payload)) {
            (Some(Value::String(data)), Some(Kind::Blob)) => {
                let bytes =
                    BASE64.decode(data).map_err(|e| Error::InvalidInput(format!("{payload}: not base64 ({e})")))?;
                (bytes, false)
            }
            (Some(Value::String(text)), Some(Kind::String { .. })) => (text.as_bytes().to_vec(), false),
            (Some(value), _) => (to_json(value)?, true),
            (None, Some(Kind::Blob | Kind::String { .. })) => (Vec::new(), false),
            (None, _) => (b"{}".to_vec(), true),
        },
        None if fields.keys().any(|name| !http.binds(name)) => (to_json(&BodyMembers { fields, http })?, true),
        None => {
            // An empty object stands for a body whose members were all left out.
            let has_body = input.is_some_and(|members| members.iter().any(|m| !http.binds(m.api_name)));
            (if has_body { b"{}".to_vec() } else { Vec::new() }, has_body)
        }
    };
    if json && !headers.iter().any(|(name, _)| name == "content-type") {
        headers.push(("content-type".to_owned(), "application/json".to_owned()));
    }
    if !query.is_empty() {
        path.push('?');
        path.push_str(&query.join("&"));
    }
    Ok(Request {
        service: service.signing_name.to_owned(),
        method: http.method.to_owned(),
        path,
        headers,
        body,
        sign: op.signed,
    })
}

/// The output of `op` from a successful `response`: the body's JSON with
/// the members bound elsewhere added.
pub(super) fn output(
    service: &'static Service,
    op: &Operation,
    http: &Http,
    response: Response,
) -> Result<Value, Error> {
    let output = members(service, op.output);
    let mut fields = match http.output_payload {
        Some(payload) => {
            let value = match member_kind(service, output, payload) {
                Some(Kind::Blob) => Value::String(BASE64.encode(&response.body)),
                Some(Kind::String { .. }) => Value::String(String::from_utf8_lossy(&response.body).into_owned()),
                _ => json::output(op.api_name, &response.body)?,
            };
            let mut fields = Map::new();
            fields.insert(payload.to_owned(), value);
            fields
        }
        None => match json::output(op.api_name, &response.body)? {
            Value::Object(fields) => fields,
            other => return Err(Error::Internal(format!("{} returned {other}, not an object", op.api_name))),
        },
    };
    for binding in http.output {
        let header = |name: &str| response.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v);
        let value = match &binding.location {
            Location::StatusCode => Some(Value::from(response.status)),
            Location::Header(name) => {
                header(name).map(|text| typed(member_kind(service, output, binding.member), text))
            }
            Location::Headers(prefix) => {
                let entries: Map<String, Value> = response
                    .headers
                    .iter()
                    .filter_map(|(k, v)| {
                        let rest = k
                            .get(..prefix.len())
                            .filter(|p| p.eq_ignore_ascii_case(prefix))
                            .map(|_| &k[prefix.len()..]);
                        rest.map(|rest| (rest.to_owned(), Value::String(v.clone())))
                    })
                    .collect();
                (!entries.is_empty()).then_some(Value::Object(entries))
            }
            _ => None,
        };
        if let Some(value) = value {
            fields.insert(binding.member.to_owned(), value);
        }
    }
    Ok(Value::Object(fields))
}

/// The members of the structure shape `shape`, if it is one.
fn members(service: &'static Service, shape: Option<u16>) -> Option<&'static [Member]> {
    match shape.map(|s| &service.shape(s).kind) {
        Some(Kind::Structure(members) | Kind::Union(members)) => Some(members),
        _ => None,
    }
}

/// The kind of the member `name` of `members`.
fn member_kind(service: &'static Service, members: Option<&[Member]>, name: &str) -> Option<&'static Kind> {
    let member = members?.iter().find(|m| m.api_name == name)?;
    Some(&service.shape(member.shape).kind)
}

fn list_item(service: &'static Service, list: Option<&Kind>) -> Option<&'static Kind> {
    match list {
        Some(Kind::List { item }) => Some(&service.shape(*item).kind),
        _ => None,
    }
}

#[derive(Clone, Copy)]
enum TimeFormat {
    Iso8601,
    HttpDate,
}

/// A scalar as a path, query or header carries it.
fn scalar_text(kind: Option<&Kind>, value: &Value, time: TimeFormat) -> String {
    match (kind, value) {
        (Some(Kind::Timestamp), Value::Number(n)) => {
            let seconds = n.as_f64().unwrap_or_default();
            match time {
                TimeFormat::Iso8601 => iso8601(seconds),
                TimeFormat::HttpDate => http_date(seconds),
            }
        }
        _ => plain(value),
    }
}

fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn pair(name: &str, value: &str) -> String {
    format!("{}={}", percent_encode(name), percent_encode(value))
}

/// One string of a header list, quoted when it holds a comma or a quote.
fn header_list_item(text: &str) -> String {
    if text.contains([',', '"']) { format!("\"{}\"", text.replace('"', "\\\"")) } else { text.to_owned() }
}

/// A header's text as the member's type.
fn typed(kind: Option<&Kind>, text: &str) -> Value {
    match kind {
        Some(kind) => scalar_from_text(kind, text.trim(), parse_http_date),
        None => text.into(),
    }
}

fn to_json(value: &impl serde::Serialize) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(value).map_err(|e| Error::Internal(format!("the input does not serialize: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lists_quote_what_would_split_them() {
        assert_eq!(header_list_item("a,b"), "\"a,b\"");
        assert_eq!(header_list_item("say \"hi\""), "\"say \\\"hi\\\"\"");
        assert_eq!(header_list_item("plain"), "plain");
    }
}
