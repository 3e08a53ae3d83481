//! The AWS query protocol by the table (SNS, SQS's old API, IAM, STS,
//! CloudFormation, ...): the input flattened into form parameters
//! (`Tags.member.1.Key`, `Attributes.entry.1.value`) as botocore
//! serializes them, and the XML reply read into JSON by the output shape,
//! so a one-item list is still a list and numbers and booleans keep their
//! types.

use serde_json::{Map, Value};

use super::time::{iso8601, parse_iso8601};
use super::{Kind, Operation, Service, Shape};
use crate::Error;
use crate::aws::{percent_encode, query, send_reading_errors};
use crate::bindings::connector::api::signed_http::Request;

/// Element names of a list or map in XML and query parameters, where they
/// are not the defaults (`member`; `entry` with `key` and `value`) or the
/// shape is flattened (its items repeat in place of a wrapper).
#[derive(Debug)]
pub struct XmlNames {
    /// A list's item element, or `""` for the default.
    pub item: &'static str,
    /// A map's key and value elements, or `""` for the defaults.
    pub key: &'static str,
    pub value: &'static str,
    pub flattened: bool,
}

/// How deep a reply's elements may nest before it is refused.
const MAX_DEPTH: usize = 256;

/// Sends `body` (`op`'s input in the API's JSON, checked) as a query
/// request of API `version` and returns the reply's result as JSON.
pub(super) fn call(service: &'static Service, op: &Operation, version: &str, body: &Value) -> Result<Value, Error> {
    let mut params = vec![("Action".to_owned(), op.api_name.to_owned()), ("Version".to_owned(), version.to_owned())];
    flatten(service, service.shape(op.input), body, "", &mut params);
    let form: Vec<String> =
        params.iter().map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v))).collect();
    let mut headers = vec![("content-type".to_owned(), "application/x-www-form-urlencoded; charset=utf-8".to_owned())];
    headers.extend(op.headers.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())));
    let request = Request {
        service: service.signing_name.to_owned(),
        method: "POST".to_owned(),
        path: "/".to_owned(),
        headers,
        body: form.join("&").into_bytes(),
        sign: op.signed,
    };
    let response = send_reading_errors(&request, query::service_error)?;
    let Some(output) = op.output else { return Ok(Value::Object(Map::new())) };
    let text = std::str::from_utf8(&response.body)
        .map_err(|_| Error::Internal(format!("{} returned a body that is not UTF-8", op.api_name)))?;
    let document = roxmltree::Document::parse(text)
        .map_err(|e| Error::Internal(format!("{} returned a body that is not XML: {e}", op.api_name)))?;
    let wrapper = format!("{}Result", op.api_name);
    match document.descendants().find(|n| n.has_tag_name(wrapper.as_str())) {
        Some(result) => read(service, service.shape(output), result, 0).ok_or_else(|| {
            Error::Internal(format!("{} returned a reply nested more than {MAX_DEPTH} elements deep", op.api_name))
        }),
        None => Ok(Value::Object(Map::new())),
    }
}

/// Adds `value` (of `shape`) to `params` under `prefix`, as botocore's
/// query serializer does.
fn flatten(service: &'static Service, shape: &Shape, value: &Value, prefix: &str, params: &mut Vec<(String, String)>) {
    let join = |name: &str| if prefix.is_empty() { name.to_owned() } else { format!("{prefix}.{name}") };
    match (&shape.kind, value) {
        (Kind::Structure(members) | Kind::Union(members), Value::Object(fields)) => {
            for (name, value) in fields {
                if let Some(member) = members.iter().find(|m| m.api_name == name) {
                    flatten(service, service.shape(member.shape), value, &join(name), params);
                }
            }
        }
        (Kind::List { item }, Value::Array(items)) => {
            if items.is_empty() {
                params.push((prefix.to_owned(), String::new()));
                return;
            }
            let names = shape_names(shape);
            let list_prefix = match names {
                Some(names) if names.flattened && !names.item.is_empty() => match prefix.rsplit_once('.') {
                    Some((parent, _)) => format!("{parent}.{}", names.item),
                    None => names.item.to_owned(),
                },
                Some(names) if names.flattened => prefix.to_owned(),
                Some(names) if !names.item.is_empty() => format!("{prefix}.{}", names.item),
                _ => format!("{prefix}.member"),
            };
            for (i, item_value) in items.iter().enumerate() {
                flatten(service, service.shape(*item), item_value, &format!("{list_prefix}.{}", i + 1), params);
            }
        }
        (Kind::Map { value: value_shape, .. }, Value::Object(entries)) => {
            let names = shape_names(shape);
            let flattened = names.is_some_and(|n| n.flattened);
            let full = if flattened { prefix.to_owned() } else { format!("{prefix}.entry") };
            let key_name = names.map(|n| n.key).filter(|k| !k.is_empty()).unwrap_or("key");
            let value_name = names.map(|n| n.value).filter(|v| !v.is_empty()).unwrap_or("value");
            for (i, (key, entry)) in entries.iter().enumerate() {
                params.push((format!("{full}.{}.{key_name}", i + 1), key.clone()));
                flatten(service, service.shape(*value_shape), entry, &format!("{full}.{}.{value_name}", i + 1), params);
            }
        }
        (Kind::Timestamp, Value::Number(n)) => {
            params.push((prefix.to_owned(), iso8601(n.as_f64().unwrap_or_default())))
        }
        // Blobs are base64 text already, as the query protocol sends them.
        (_, Value::String(text)) => params.push((prefix.to_owned(), text.clone())),
        (_, Value::Null) => {}
        (_, other) => params.push((prefix.to_owned(), other.to_string())),
    }
}

fn shape_names(shape: &Shape) -> Option<&'static XmlNames> {
    shape.xml
}

/// The element `node` read as `shape`; `None` past [`MAX_DEPTH`].
fn read(service: &'static Service, shape: &Shape, node: roxmltree::Node<'_, '_>, depth: usize) -> Option<Value> {
    if depth > MAX_DEPTH {
        return None;
    }
    let elements = || node.children().filter(roxmltree::Node::is_element);
    let text = || node.text().unwrap_or("").trim().to_owned();
    Some(match &shape.kind {
        Kind::Structure(members) | Kind::Union(members) => {
            let mut out = Map::new();
            for member in *members {
                let member_shape = service.shape(member.shape);
                let flattened = shape_names(member_shape).filter(|n| n.flattened);
                let value = match (&member_shape.kind, flattened) {
                    // A flattened list or map repeats its items in place.
                    (Kind::List { .. } | Kind::Map { .. }, Some(names)) => {
                        let name = if names.item.is_empty() { member.api_name } else { names.item };
                        let items: Vec<_> = elements().filter(|c| c.has_tag_name(name)).collect();
                        if items.is_empty() {
                            continue;
                        }
                        read_items(service, member_shape, &items, depth)?
                    }
                    _ => match elements().find(|c| c.has_tag_name(member.api_name)) {
                        Some(child) => read(service, member_shape, child, depth + 1)?,
                        None => continue,
                    },
                };
                out.insert(member.api_name.to_owned(), value);
            }
            Value::Object(out)
        }
        Kind::List { .. } | Kind::Map { .. } => {
            let names = shape_names(shape);
            let item = match &shape.kind {
                Kind::List { .. } => names.map(|n| n.item).filter(|i| !i.is_empty()).unwrap_or("member"),
                _ => "entry",
            };
            let items: Vec<_> = elements().filter(|c| c.has_tag_name(item)).collect();
            read_items(service, shape, &items, depth)?
        }
        Kind::Integer => text().parse::<i64>().map_or_else(|_| Value::String(text()), Value::from),
        Kind::Number => text()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or_else(|| Value::String(text()), Value::Number),
        Kind::Boolean => match text().as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            other => Value::String(other.to_owned()),
        },
        Kind::Timestamp => parse_iso8601(&text())
            .and_then(serde_json::Number::from_f64)
            .map_or_else(|| Value::String(text()), Value::Number),
        Kind::Blob => Value::String(text()),
        Kind::String { .. } | Kind::Document => Value::String(text()),
    })
}

/// The items of a list, or the entries of a map, of `shape`.
fn read_items(
    service: &'static Service,
    shape: &Shape,
    items: &[roxmltree::Node<'_, '_>],
    depth: usize,
) -> Option<Value> {
    match &shape.kind {
        Kind::List { item } => items
            .iter()
            .map(|node| read(service, service.shape(*item), *node, depth + 1))
            .collect::<Option<Vec<_>>>()
            .map(Value::Array),
        Kind::Map { value, .. } => {
            let names = shape_names(shape);
            let key_name = names.map(|n| n.key).filter(|k| !k.is_empty()).unwrap_or("key");
            let value_name = names.map(|n| n.value).filter(|v| !v.is_empty()).unwrap_or("value");
            let mut out = Map::new();
            for entry in items {
                let child = |name: &str| entry.children().find(|c| c.is_element() && c.has_tag_name(name));
                let Some(key) = child(key_name).and_then(|k| k.text()) else { continue };
                let entry_value = match child(value_name) {
                    Some(node) => read(service, service.shape(*value), node, depth + 1)?,
                    None => Value::Null,
                };
                out.insert(key.trim().to_owned(), entry_value);
            }
            Some(Value::Object(out))
        }
        _ => Some(Value::Null),
    }
}
