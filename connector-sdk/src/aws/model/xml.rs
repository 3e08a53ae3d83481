//! XML by the table, for the protocols that speak it (query, EC2,
//! REST-XML): an element read into JSON by its shape, so a one-item list
//! is still a list and numbers, booleans and timestamps keep their types;
//! and a value written as an element, as botocore's REST-XML serializer
//! writes it.
//!
//! Guards against hostile replies: nesting deeper than [`MAX_DEPTH`] is an
//! error, not a stack overflow; text written out is escaped, so no input
//! adds elements.

use serde_json::{Map, Value};

use super::{Kind, Service, Shape, TimestampFormat, scalar_from_text, scalar_text};
use crate::aws::query::MAX_DEPTH;

/// How a list, map or structure appears in XML and query parameters,
/// where it is not the default: a list's or map's element names (`member`;
/// `entry` with `key` and `value`), a flattened shape (its items repeat in
/// place of a wrapper), a structure's namespace and attributes.
#[derive(Debug)]
pub struct XmlNames {
    /// A list's item element, or `""` for the default.
    pub item: &'static str,
    /// A map's key and value elements, or `""` for the defaults.
    pub key: &'static str,
    pub value: &'static str,
    pub flattened: bool,
    /// A structure's namespace `(prefix, uri)`, declared on its element as
    /// `xmlns` (empty prefix) or `xmlns:prefix`.
    pub namespace: Option<(&'static str, &'static str)>,
    /// API names of a structure's members that are attributes of its
    /// element (S3's `xsi:type`), not child elements.
    pub attributes: &'static [&'static str],
    /// EC2: `(API name, query parameter)` of a structure's members whose
    /// parameter is not their API name capitalized.
    pub query_names: &'static [(&'static str, &'static str)],
}

/// The element names of `shape`, the defaults filled in.
pub(super) struct Names {
    /// A list's item element, `None` for the default `member`.
    pub(super) item: Option<&'static str>,
    pub(super) key: &'static str,
    pub(super) value: &'static str,
    pub(super) flattened: bool,
}

pub(super) fn names(shape: &Shape) -> Names {
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

fn is_attribute(shape: &Shape, member: &str) -> bool {
    shape.xml.is_some_and(|xml| xml.attributes.contains(&member))
}

/// The local part of a qualified name (`type` of `xsi:type`).
fn local(name: &str) -> &str {
    name.rsplit_once(':').map_or(name, |(_, local)| local)
}

/// The element `node` read as `shape`; `None` past [`MAX_DEPTH`].
pub(super) fn read(
    service: &'static Service,
    shape: &Shape,
    node: roxmltree::Node<'_, '_>,
    depth: usize,
) -> Option<Value> {
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
                    _ if is_attribute(shape, member.api_name) => {
                        let wanted = local(member.api_name);
                        match node.attributes().find(|a| a.name() == wanted) {
                            Some(attribute) => Value::String(attribute.value().to_owned()),
                            None => continue,
                        }
                    }
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
        kind => scalar_from_text(kind, &text()),
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

/// The root element of a REST-XML body.
#[derive(Debug)]
pub struct XmlRoot {
    /// The element's name (`CreateBucketConfiguration`).
    pub name: &'static str,
    /// Its namespace `(prefix, uri)`, if the model gives one.
    pub namespace: Option<(&'static str, &'static str)>,
}

/// `value` (of `shape`, checked against it) as the document element
/// `root`, as botocore's REST-XML serializer writes it.
pub(super) fn document(service: &'static Service, shape: &Shape, value: &Value, root: &XmlRoot) -> Vec<u8> {
    let mut out = String::new();
    write(service, shape, value, root.name, root.namespace, &mut out);
    out.into_bytes()
}

/// Appends `value` as the element `name` to `out`; a structure's element
/// declares `namespace` (the root's) or its own.
fn write(
    service: &'static Service,
    shape: &Shape,
    value: &Value,
    name: &str,
    namespace: Option<(&str, &str)>,
    out: &mut String,
) {
    match (&shape.kind, value) {
        (Kind::Structure(members) | Kind::Union(members), Value::Object(fields)) => {
            out.push('<');
            out.push_str(name);
            if let Some((prefix, uri)) = namespace.or_else(|| shape.xml.and_then(|xml| xml.namespace)) {
                out.push_str(if prefix.is_empty() { " xmlns" } else { " xmlns:" });
                out.push_str(prefix);
                push_attribute_value(out, uri);
            }
            // Attributes first, then children in the model's order.
            for member in members.iter().filter(|m| is_attribute(shape, m.api_name)) {
                if let Some(value) = fields.get(member.api_name) {
                    out.push(' ');
                    out.push_str(member.api_name);
                    let text = scalar_text(Some(&service.shape(member.shape).kind), value, TimestampFormat::Iso8601);
                    push_attribute_value(out, &text);
                }
            }
            out.push('>');
            for member in members.iter().filter(|m| !is_attribute(shape, m.api_name)) {
                if let Some(value) = fields.get(member.api_name).filter(|v| !v.is_null()) {
                    write(service, service.shape(member.shape), value, member.api_name, None, out);
                }
            }
            push_end(out, name);
        }
        (Kind::List { item }, Value::Array(items)) => {
            let names = names(shape);
            let item_shape = service.shape(*item);
            if names.flattened {
                for value in items {
                    write(service, item_shape, value, name, None, out);
                }
            } else {
                push_start(out, name);
                for value in items {
                    write(service, item_shape, value, names.item.unwrap_or("member"), None, out);
                }
                push_end(out, name);
            }
        }
        (Kind::Map { key, value: value_shape }, Value::Object(entries)) => {
            let names = names(shape);
            push_start(out, name);
            for (entry_key, entry_value) in entries {
                push_start(out, "entry");
                write(service, service.shape(*key), &Value::String(entry_key.clone()), names.key, None, out);
                write(service, service.shape(*value_shape), entry_value, names.value, None, out);
                push_end(out, "entry");
            }
            push_end(out, name);
        }
        _ => {
            push_start(out, name);
            push_text(out, &scalar_text(Some(&shape.kind), value, TimestampFormat::Iso8601));
            push_end(out, name);
        }
    }
}

fn push_start(out: &mut String, name: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
}

fn push_end(out: &mut String, name: &str) {
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

fn push_text(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

fn push_attribute_value(out: &mut String, text: &str) {
    out.push_str("=\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("&#10;"),
            '\t' => out.push_str("&#9;"),
            c => push_text(out, c.encode_utf8(&mut [0; 4])),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::model::{Member, Protocol};
    use serde_json::json;

    static GRANTEE_NAMES: XmlNames = XmlNames {
        item: "",
        key: "",
        value: "",
        flattened: false,
        namespace: Some(("xsi", "http://www.w3.org/2001/XMLSchema-instance")),
        attributes: &["xsi:type"],
        query_names: &[],
    };
    static GRANTS_NAMES: XmlNames = XmlNames {
        item: "Grant",
        key: "",
        value: "",
        flattened: false,
        namespace: None,
        attributes: &[],
        query_names: &[],
    };

    fn shape(kind: Kind, xml: Option<&'static XmlNames>) -> Shape {
        Shape { kind, bounds: None, sensitive: false, recursive: false, xml }
    }

    static SERVICE: std::sync::LazyLock<&'static Service> = std::sync::LazyLock::new(|| {
        let shapes = vec![
            // 0: text
            shape(Kind::String { values: &[] }, None),
            // 1: Grantee, with an attribute
            shape(
                Kind::Structure(&[
                    Member { name: "id", api_name: "ID", shape: 0, required: false },
                    Member { name: "type", api_name: "xsi:type", shape: 0, required: true },
                ]),
                Some(&GRANTEE_NAMES),
            ),
            // 2: Grants, a list of Grantee under <Grant>
            shape(Kind::List { item: 1 }, Some(&GRANTS_NAMES)),
            // 3: Policy
            shape(
                Kind::Structure(&[
                    Member { name: "grants", api_name: "AccessControlList", shape: 2, required: false },
                    Member { name: "when", api_name: "When", shape: 4, required: false },
                ]),
                None,
            ),
            // 4: a timestamp
            shape(Kind::Timestamp(TimestampFormat::Default), None),
        ];
        Box::leak(Box::new(Service {
            title: "Sample",
            signing_name: "sample",
            protocol: Protocol::RestXml,
            operations: &[],
            shapes: Box::leak(shapes.into_boxed_slice()),
            definitions: &[],
        }))
    });

    #[test]
    fn documents_are_written_with_namespaces_attributes_and_escaped_text() {
        let service: &'static Service = *SERVICE;
        let value =
            json!({"AccessControlList": [{"ID": "a<b&\"c\"", "xsi:type": "Canonical\"User"}], "When": 1700000000.5});
        let root = XmlRoot { name: "Policy", namespace: Some(("", "http://s3.amazonaws.com/doc/2006-03-01/")) };
        let text = String::from_utf8(document(service, &service.shapes[3], &value, &root)).unwrap();
        assert_eq!(
            text,
            "<Policy xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><AccessControlList>\
             <Grant xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"Canonical&quot;User\">\
             <ID>a&lt;b&amp;\"c\"</ID></Grant></AccessControlList><When>2023-11-14T22:13:20.500000Z</When></Policy>"
        );
        // What was written reads back the same.
        let document = roxmltree::Document::parse(&text).unwrap();
        let read_back = read(service, &service.shapes[3], document.root_element(), 0).unwrap();
        assert_eq!(
            read_back,
            json!({"AccessControlList": [{"ID": "a<b&\"c\"", "xsi:type": "Canonical\"User"}], "When": 1700000000.5})
        );
    }
}
