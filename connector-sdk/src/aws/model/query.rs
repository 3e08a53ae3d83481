//! The AWS query protocol by the table (SNS, SQS's old API, IAM, STS,
//! CloudFormation, ...): the input flattened into form parameters
//! (`Tags.member.1.Key`, `Attributes.entry.1.value`) as botocore
//! serializes them, and the XML reply read into JSON by the output shape,
//! so a one-item list is still a list and numbers and booleans keep their
//! types.

use serde_json::{Map, Value};

use super::time::{iso8601, parse_iso8601};
use super::{Kind, Operation, Service, Shape, scalar_from_text};
use crate::Error;
use crate::aws::query::{self, MAX_DEPTH};
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

/// The element names of `shape`, the defaults filled in.
struct Names {
    /// A list's item element, `None` for the default `member`.
    item: Option<&'static str>,
    key: &'static str,
    value: &'static str,
    flattened: bool,
}

fn names(shape: &Shape) -> Names {
    let given = |name: &'static str| (!name.is_empty()).then_some(name);
    match shape.xml {
        Some(xml) => Names {
            item: given(xml.item),
            key: given(xml.key).unwrap_or("key"),
            value: given(xml.value).unwrap_or("value"),
            flattened: xml.flattened,
        },
        None => Names { item: None, key: "key", value: "value", flattened: false },
    }
}

/// The request of `op` with `body` (its input in the API's JSON, checked),
/// of API `version`.
pub(super) fn request(service: &'static Service, op: &Operation, version: &str, body: &Value) -> Request {
    let mut params = Vec::new();
    flatten(service, service.shape(op.input), body, "", &mut params);
    query::request(service.signing_name, op.api_name, version, &params, op.signed)
}

/// The output of `op` from a successful reply's `body`.
pub(super) fn output(service: &'static Service, op: &Operation, body: &[u8]) -> Result<Value, Error> {
    let Some(output) = op.output else { return Ok(Value::Object(Map::new())) };
    query::with_result(op.api_name, body, |result| {
        read(service, service.shape(output), result, 0).ok_or_else(|| query::too_deep(op.api_name))
    })
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
            let names = names(shape);
            let list_prefix = match (names.flattened, names.item) {
                (true, Some(item)) => match prefix.rsplit_once('.') {
                    Some((parent, _)) => format!("{parent}.{item}"),
                    None => item.to_owned(),
                },
                (true, None) => prefix.to_owned(),
                (false, item) => format!("{prefix}.{}", item.unwrap_or("member")),
            };
            for (i, item_value) in items.iter().enumerate() {
                flatten(service, service.shape(*item), item_value, &format!("{list_prefix}.{}", i + 1), params);
            }
        }
        (Kind::Map { value: value_shape, .. }, Value::Object(entries)) => {
            let names = names(shape);
            let full = if names.flattened { prefix.to_owned() } else { format!("{prefix}.entry") };
            for (i, (key, entry)) in entries.iter().enumerate() {
                params.push((format!("{full}.{}.{}", i + 1, names.key), key.clone()));
                flatten(
                    service,
                    service.shape(*value_shape),
                    entry,
                    &format!("{full}.{}.{}", i + 1, names.value),
                    params,
                );
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
                let names = names(member_shape);
                let value = match &member_shape.kind {
                    // A flattened list or map repeats its items in place.
                    Kind::List { .. } | Kind::Map { .. } if names.flattened => {
                        let name = names.item.unwrap_or(member.api_name);
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
            let item = match &shape.kind {
                Kind::List { .. } => names(shape).item.unwrap_or("member"),
                _ => "entry",
            };
            let items: Vec<_> = elements().filter(|c| c.has_tag_name(item)).collect();
            read_items(service, shape, &items, depth)?
        }
        kind => scalar_from_text(kind, &text(), parse_iso8601),
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
            let Names { key: key_name, value: value_name, .. } = names(shape);
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
