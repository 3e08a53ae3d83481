//! The AWS query protocols by the table, query (SNS, IAM, STS,
//! CloudFormation, ...) and EC2's: the input flattened into form
//! parameters as botocore serializes them (query: `Tags.member.1.Key`,
//! `Attributes.entry.1.value`; EC2: `Filter.1.Value.1`, names
//! capitalized), and the XML reply read into JSON by the output shape.

use serde_json::Value;

use super::xml::{names, read};
use super::{Kind, Operation, Service, Shape, TimestampFormat, scalar_text};
use crate::Error;
use crate::aws::query;
use crate::bindings::connector::api::signed_http::Request;

/// Which of the two query protocols.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Style {
    Query,
    /// EC2's: lists as `Name.1` without `member`, empty lists left out,
    /// parameter names capitalized, replies without a result wrapper.
    Ec2,
}

/// The request of `op` with `body` (its input in the API's JSON, checked),
/// of API `version`.
pub(super) fn request(service: &'static Service, op: &Operation, version: &str, body: &Value, style: Style) -> Request {
    let mut params = Vec::new();
    flatten(service, service.shape(op.input), body, "", style, &mut params);
    query::request(service.signing_name, op.api_name, version, &params, op.signed)
}

/// The output of `op` (of shape `output`) from a successful reply's `body`.
pub(super) fn output(
    service: &'static Service,
    op: &Operation,
    output: u16,
    body: &[u8],
    style: Style,
) -> Result<Value, Error> {
    let read_result = |result: roxmltree::Node<'_, '_>| {
        read(service, service.shape(output), result, 0).ok_or_else(|| query::too_deep(op.api_name))
    };
    match style {
        Style::Query => query::with_result(op.api_name, body, read_result),
        Style::Ec2 => query::with_root(op.api_name, body, read_result),
    }
}

/// The parameter name of `member` of `shape`.
fn parameter_name(shape: &Shape, api_name: &'static str, style: Style) -> std::borrow::Cow<'static, str> {
    if style == Style::Query {
        return api_name.into();
    }
    if let Some((_, name)) = shape.xml.and_then(|xml| xml.query_names.iter().find(|(member, _)| *member == api_name)) {
        return (*name).into();
    }
    let mut chars = api_name.chars();
    match chars.next() {
        Some(first) if first.is_ascii_lowercase() => format!("{}{}", first.to_ascii_uppercase(), chars.as_str()).into(),
        _ => api_name.into(),
    }
}

/// Adds `value` (of `shape`) to `params` under `prefix`, as botocore's
/// query or EC2 serializer does.
fn flatten(
    service: &'static Service,
    shape: &Shape,
    value: &Value,
    prefix: &str,
    style: Style,
    params: &mut Vec<(String, String)>,
) {
    let join = |name: &str| if prefix.is_empty() { name.to_owned() } else { format!("{prefix}.{name}") };
    match (&shape.kind, value) {
        (Kind::Structure(members) | Kind::Union(members), Value::Object(fields)) => {
            for (name, value) in fields {
                if let Some(member) = members.iter().find(|m| m.api_name == name) {
                    let parameter = parameter_name(shape, member.api_name, style);
                    flatten(service, service.shape(member.shape), value, &join(&parameter), style, params);
                }
            }
        }
        (Kind::List { item }, Value::Array(items)) if style == Style::Ec2 => {
            for (i, item_value) in items.iter().enumerate() {
                flatten(service, service.shape(*item), item_value, &format!("{prefix}.{}", i + 1), style, params);
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
                flatten(service, service.shape(*item), item_value, &format!("{list_prefix}.{}", i + 1), style, params);
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
                    style,
                    params,
                );
            }
        }
        (_, Value::Null) => {}
        (kind, scalar) => params.push((prefix.to_owned(), scalar_text(Some(kind), scalar, TimestampFormat::Iso8601))),
    }
}
