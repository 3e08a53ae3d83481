//! The REST protocols' bindings (REST-JSON and REST-XML): where each
//! top-level input member goes in the request (a label of the path, the
//! query string, a header, the whole body) and where each output member
//! comes from in the response (a header, the status code, the whole body),
//! as botocore serializes them; and the body's checksum where the model
//! asks for one.
//!
//! Guards against a label that would change the path's meaning: an empty,
//! `.` or `..` label is refused, naming the member, and every label is
//! percent-encoded.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value};

use super::xml::{self, XmlRoot};
use super::{Kind, Member, Operation, Protocol, Service, TimestampFormat, scalar_from_text, scalar_text};
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
    /// REST-XML: the root element of the request body (the payload
    /// member's, or the input's when its unbound members make the body).
    pub xml_root: Option<XmlRoot>,
    /// Whether the body carries a checksum.
    pub checksum: Checksum,
}

/// The checksum of a request body the model asks for (S3's
/// `httpChecksum`): as current AWS SDKs do by default, a CRC32 in
/// `x-amz-checksum-crc32` unless the caller gave a checksum of their own.
#[derive(Debug, Clone, Copy)]
pub enum Checksum {
    None,
    /// The operation takes a checksum; `algorithm_header` names the
    /// algorithm when the model has a member for it (`ChecksumAlgorithm`).
    Crc32 {
        algorithm_header: Option<&'static str>,
    },
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
    /// A header holding any JSON value, base64-encoded (the model's
    /// `jsonvalue` headers).
    JsonHeader(&'static str),
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
                let text = scalar_text(shape, value, TimestampFormat::Iso8601);
                if matches!(text.as_str(), "" | "." | "..") {
                    return Err(Error::InvalidInput(format!(
                        "{}: `{text}` cannot be a part of the path (`{label}`)",
                        binding.member
                    )));
                }
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
                query.extend(items.iter().map(|v| pair(name, &scalar_text(item, v, TimestampFormat::Iso8601))));
            }
            (Location::Query(name), Some(value)) => {
                query.push(pair(name, &scalar_text(shape, value, TimestampFormat::Iso8601)))
            }
            (Location::QueryMap, Some(Value::Object(entries))) => {
                // A parameter a member of its own sets wins over the map's.
                let named = |key: &str| {
                    http.input.iter().any(|b| {
                        matches!(b.location, Location::Query(name) if name == key) && fields.contains_key(b.member)
                    })
                };
                for (key, value) in entries.iter().filter(|(key, _)| !named(key)) {
                    match value {
                        Value::Array(items) => query
                            .extend(items.iter().map(|v| pair(key, &scalar_text(None, v, TimestampFormat::Iso8601)))),
                        other => query.push(pair(key, &scalar_text(None, other, TimestampFormat::Iso8601))),
                    }
                }
            }
            (Location::Header(name), Some(Value::Array(items))) if !items.is_empty() => {
                let item = list_item(service, shape);
                let texts: Vec<String> = items
                    .iter()
                    .map(|v| match v {
                        Value::String(text) => header_list_item(text),
                        other => scalar_text(item, other, TimestampFormat::HttpDate),
                    })
                    .collect();
                headers.push((name.to_ascii_lowercase(), texts.join(",")));
            }
            (Location::Header(_), Some(Value::Array(_))) => {}
            (Location::Header(name), Some(value)) => {
                headers.push((name.to_ascii_lowercase(), scalar_text(shape, value, TimestampFormat::HttpDate)))
            }
            (Location::JsonHeader(name), Some(value)) => {
                headers.push((name.to_ascii_lowercase(), BASE64.encode(to_json(value)?)))
            }
            (Location::Headers(prefix), Some(Value::Object(entries))) => {
                headers.extend(entries.iter().map(|(k, v)| {
                    (format!("{prefix}{k}").to_ascii_lowercase(), scalar_text(None, v, TimestampFormat::Iso8601))
                }));
            }
            _ => {}
        }
    }
    let xml_body = matches!(service.protocol, Protocol::RestXml);
    let (body, json) = match http.input_payload {
        Some(payload) => match (fields.get(payload), member_kind(service, input, payload)) {
            (Some(Value::String(data)), Some(Kind::Blob)) => {
                let bytes =
                    BASE64.decode(data).map_err(|e| Error::InvalidInput(format!("{payload}: not base64 ({e})")))?;
                (bytes, false)
            }
            (Some(Value::String(text)), Some(Kind::String { .. })) => (text.as_bytes().to_vec(), false),
            (Some(value), _) if xml_body => match (member_shape(service, input, payload), &http.xml_root) {
                (Some(shape), Some(root)) => (xml::document(service, shape, value, root), false),
                _ => return Err(Error::Internal(format!("{}: no XML root for {payload}", op.api_name))),
            },
            (Some(value), _) => (to_json(value)?, true),
            (None, _) if xml_body => (Vec::new(), false),
            (None, Some(Kind::Blob | Kind::String { .. })) => (Vec::new(), false),
            (None, _) => (b"{}".to_vec(), true),
        },
        None if xml_body => match &http.xml_root {
            Some(root) if fields.keys().any(|name| !http.binds(name)) => {
                let unbound: Map<String, Value> =
                    fields.iter().filter(|(name, _)| !http.binds(name)).map(|(k, v)| (k.clone(), v.clone())).collect();
                (xml::document(service, service.shape(op.input), &Value::Object(unbound), root), false)
            }
            _ => (Vec::new(), false),
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
    add_checksum(http.checksum, &body, &mut headers)?;
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

/// The output of `op` (of shape `output_shape`) from a successful
/// `response`: the body's JSON with the members bound elsewhere added.
pub(super) fn output(
    service: &'static Service,
    op: &Operation,
    output_shape: u16,
    http: &Http,
    response: Response,
) -> Result<Value, Error> {
    let output = members(service, Some(output_shape));
    let xml_body = matches!(service.protocol, Protocol::RestXml);
    let mut fields = match http.output_payload {
        Some(payload) => {
            let value = match member_kind(service, output, payload) {
                Some(Kind::Blob) => Some(Value::String(BASE64.encode(&response.body))),
                Some(Kind::EventStream(events)) => Some(Value::Array(
                    super::events::read(service, op.api_name, events, response.status, &response.body)?.0,
                )),
                Some(Kind::String { .. }) => Some(Value::String(String::from_utf8_lossy(&response.body).into_owned())),
                _ if xml_body => match member_shape(service, output, payload) {
                    Some(shape) => xml_output(service, op, shape, &response)?,
                    None => None,
                },
                _ => Some(json::output(op.api_name, &response.body)?),
            };
            let mut fields = Map::new();
            if let Some(value) = value {
                fields.insert(payload.to_owned(), value);
            }
            fields
        }
        None if xml_body => match xml_output(service, op, service.shape(output_shape), &response)? {
            Some(Value::Object(fields)) => fields,
            _ => Map::new(),
        },
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
            // Base64 of JSON; kept as sent when it is not.
            Location::JsonHeader(name) => header(name).map(|text| {
                let json = BASE64.decode(text.trim()).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok());
                json.unwrap_or_else(|| Value::String(text.clone()))
            }),
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

/// A REST-XML reply's body read as `shape`: `None` when it is empty; an
/// `<Error>` in place of the result (S3 answers some failures of a copy or
/// a multipart completion with 200) is the service error it reports.
fn xml_output(
    service: &'static Service,
    op: &Operation,
    shape: &'static super::Shape,
    response: &Response,
) -> Result<Option<Value>, Error> {
    if response.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    crate::aws::query::with_root(op.api_name, &response.body, |root| {
        if root.has_tag_name("Error") {
            return Err(Error::Service(crate::aws::query::service_error(
                response.status,
                &response.headers,
                &response.body,
            )));
        }
        xml::read(service, shape, root, 0).ok_or_else(|| crate::aws::query::too_deep(op.api_name))
    })
    .map(Some)
}

/// Adds the body's CRC32 (and its algorithm's name) unless the caller
/// gave a checksum; refuses an algorithm it would have to compute but
/// cannot, naming the header to give its value in.
fn add_checksum(checksum: Checksum, body: &[u8], headers: &mut Vec<(String, String)>) -> Result<(), Error> {
    let Checksum::Crc32 { algorithm_header } = checksum else { return Ok(()) };
    let given = |name: &str| headers.iter().any(|(k, _)| k == name);
    let algorithm = algorithm_header
        .and_then(|name| headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
        .map(|(_, v)| v.to_ascii_lowercase());
    let is_checksum_value = |name: &str| {
        name.strip_prefix("x-amz-checksum-").is_some_and(|rest| !matches!(rest, "algorithm" | "type" | "mode"))
    };
    if headers.iter().any(|(k, _)| is_checksum_value(k)) {
        return Ok(());
    }
    match algorithm.as_deref() {
        None | Some("crc32") => {}
        Some(other) => {
            return Err(Error::InvalidInput(format!(
                "checksum_algorithm {other}: give the body's checksum in checksum_{other} (the connector computes \
                 CRC32 only)"
            )));
        }
    }
    if let Some(name) = algorithm_header
        && !given(name)
    {
        headers.push((name.to_owned(), "CRC32".to_owned()));
    }
    let crc = crc32fast::hash(body);
    headers.push(("x-amz-checksum-crc32".to_owned(), BASE64.encode(crc.to_be_bytes())));
    Ok(())
}

/// The members of the structure shape `shape`, if it is one.
fn members(service: &'static Service, shape: Option<u16>) -> Option<&'static [Member]> {
    match shape.map(|s| &service.shape(s).kind) {
        Some(Kind::Structure(members) | Kind::Union(members)) => Some(members),
        _ => None,
    }
}

/// The shape of the member `name` of `members`.
fn member_shape(service: &'static Service, members: Option<&[Member]>, name: &str) -> Option<&'static super::Shape> {
    let member = members?.iter().find(|m| m.api_name == name)?;
    Some(service.shape(member.shape))
}

/// The kind of the member `name` of `members`.
fn member_kind(service: &'static Service, members: Option<&[Member]>, name: &str) -> Option<&'static Kind> {
    member_shape(service, members, name).map(|shape| &shape.kind)
}

fn list_item(service: &'static Service, list: Option<&Kind>) -> Option<&'static Kind> {
    match list {
        Some(Kind::List { item }) => Some(&service.shape(*item).kind),
        _ => None,
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
        Some(kind) => scalar_from_text(kind, text.trim()),
        None => text.into(),
    }
}

fn to_json(value: &impl serde::Serialize) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(value).map_err(|e| Error::Internal(format!("the input does not serialize: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::model::{Shape, TimestampFormat};
    use serde_json::json;

    fn shape(kind: Kind) -> Shape {
        Shape { kind, bounds: None, sensitive: false, recursive: false, xml: None }
    }

    static HTTP: Http = Http {
        method: "GET",
        uri: "/things/{Id}?list",
        input: &[
            Binding { member: "Id", location: Location::Label("Id") },
            Binding { member: "Limit", location: Location::Query("limit") },
            Binding { member: "Extra", location: Location::QueryMap },
            Binding { member: "Since", location: Location::Header("x-since") },
            Binding { member: "Attributes", location: Location::JsonHeader("x-attributes") },
        ],
        output: &[],
        input_payload: None,
        output_payload: None,
        xml_root: None,
        checksum: Checksum::None,
    };

    static SERVICE: std::sync::LazyLock<&'static Service> = std::sync::LazyLock::new(|| {
        let shapes = vec![
            shape(Kind::String { values: &[] }),
            shape(Kind::Integer),
            shape(Kind::Map { key: 0, value: 0 }),
            shape(Kind::Timestamp(TimestampFormat::Iso8601)),
            shape(Kind::Structure(&[
                Member { name: "id", api_name: "Id", shape: 0, required: true },
                Member { name: "limit", api_name: "Limit", shape: 1, required: false },
                Member { name: "extra", api_name: "Extra", shape: 2, required: false },
                Member { name: "since", api_name: "Since", shape: 3, required: false },
                Member { name: "attributes", api_name: "Attributes", shape: 5, required: false },
            ])),
            shape(Kind::Document),
        ];
        let operations = vec![Operation {
            name: "list_things",
            api_name: "ListThings",
            title: "List things",
            description: "Lists things.",
            input: 4,
            output: None,
            signed: true,
            pagination: None,
            http: Some(&HTTP),
            headers: &[],
            idempotency_token: None,
            host_prefix: None,
        }];
        Box::leak(Box::new(Service {
            title: "Things",
            signing_name: "things",
            protocol: Protocol::RestJson,
            operations: Box::leak(operations.into_boxed_slice()),
            shapes: Box::leak(shapes.into_boxed_slice()),
            definitions: &[],
        }))
    });

    fn send(body: Value) -> Result<Request, Error> {
        let service: &'static Service = *SERVICE;
        request(service, &service.operations[0], &HTTP, &body)
    }

    #[test]
    fn members_go_to_the_path_query_and_headers() {
        let sent = send(json!({"Id": "a b/c", "Limit": 5, "Extra": {"limit": "99", "tag": "x"}, "Since": 1700000000.5,
                               "Attributes": {"a": [1]}}))
        .unwrap();
        // The named parameter wins over the map's entry of the same name.
        assert_eq!(sent.path, "/things/a%20b%2Fc?list&limit=5&tag=x");
        // The model's format, in whole seconds as headers carry them.
        // A JSON header is base64 of the JSON text.
        assert_eq!(
            sent.headers,
            [
                ("x-since".to_owned(), "2023-11-14T22:13:20Z".to_owned()),
                ("x-attributes".to_owned(), BASE64.encode(br#"{"a":[1]}"#)),
            ]
        );
        assert!(sent.body.is_empty());
    }

    #[test]
    fn a_label_that_would_change_the_path_is_refused() {
        for label in ["", ".", ".."] {
            match send(json!({"Id": label})) {
                Err(Error::InvalidInput(message)) => {
                    assert!(
                        message.starts_with("Id: `") && message.contains("cannot be a part of the path"),
                        "{message}"
                    )
                }
                other => panic!("`{label}` must be refused, got {other:?}"),
            }
        }
    }

    #[test]
    fn header_lists_quote_what_would_split_them() {
        assert_eq!(header_list_item("a,b"), "\"a,b\"");
        assert_eq!(header_list_item("say \"hi\""), "\"say \\\"hi\\\"\"");
        assert_eq!(header_list_item("plain"), "plain");
    }
}
