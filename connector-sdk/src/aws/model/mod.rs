//! AWS services as tables generated from their API models: the types of
//! those tables, and a connector's whole operation list built from one.
//!
//! A generated `model.rs` (see `connector-sdk/codegen/aws.py`) holds a
//! [`Service`]: every operation with its input and output shapes, as
//! indices into one shape table. From it this module derives, with no
//! code per operation:
//!
//! - each operation's input JSON Schema and output schema ([`schema`]);
//! - the check and conversion of a user's snake_case input to the API's
//!   JSON, naming the member at fault ([`input`]);
//! - listings that follow their page tokens when asked to ([`pages`]);
//! - a `call_api` operation for actions newer than the table
//!   ([`universal`], for the JSON protocols, where an action is a name);
//! - the call itself, in the service's protocol: AWS JSON, REST-JSON or
//!   REST-XML with members bound to the path, query and headers
//!   ([`rest`]), query or EC2 ([`query`]), with XML by the table ([`xml`]),
//!   or Smithy RPC v2 CBOR ([`cbor`]); replies that stream events are read
//!   whole into the list of their events (`events`).
//!
//! ```ignore
//! struct Dynamo;
//! impl connector_sdk::Connector for Dynamo {
//!     fn info() -> connector_sdk::Info { model::SERVICE.info("aws-dynamodb", env!("CARGO_PKG_VERSION")) }
//!     fn operations() -> connector_sdk::Operations { model::SERVICE.operations() }
//! }
//! ```

#[cfg(feature = "rpc-v2-cbor")]
pub mod cbor;
mod events;
pub mod input;
pub mod pages;
pub mod query;
pub mod rest;
pub mod schema;
mod time;
pub mod universal;
pub mod xml;

use serde_json::Value;

use crate::aws::json::{self, Version};
use crate::{Error, Info, Operations};

/// One AWS service, as its generated table describes it.
#[derive(Debug)]
pub struct Service {
    /// The service's name for people (`Amazon DynamoDB`).
    pub title: &'static str,
    /// SigV4 signing name, which the host also picks the endpoint by.
    pub signing_name: &'static str,
    /// How requests go on the wire.
    pub protocol: Protocol,
    /// Every operation, sorted by `name`.
    pub operations: &'static [Operation],
    /// Every shape an operation's input or output reaches; indices in
    /// operations, members and kinds point into it.
    pub shapes: &'static [Shape],
    /// The model names of the recursive shapes, by index (sorted): the
    /// names of their schema definitions.
    pub definitions: &'static [(u16, &'static str)],
}

/// A service's wire protocol.
#[derive(Debug, Clone, Copy)]
pub enum Protocol {
    /// AWS JSON 1.0 or 1.1: `POST /`, the action in `X-Amz-Target` as
    /// `target_prefix.Action`.
    Json { version: Version, target_prefix: &'static str },
    /// REST-JSON: each operation's method and path, members bound to the
    /// path, query and headers ([`Operation::http`]), the rest a JSON body.
    RestJson,
    /// The query protocol of API `version`: form parameters in, XML out.
    Query { version: &'static str },
    /// REST-XML (S3, Route 53, CloudFront): as REST-JSON, with XML bodies.
    RestXml,
    /// EC2's query protocol of API `version`.
    Ec2 { version: &'static str },
    /// Smithy RPC v2 CBOR: `POST /service/{target}/operation/{Action}`,
    /// CBOR in and out.
    RpcV2Cbor { target: &'static str },
}

/// One API operation.
#[derive(Debug)]
pub struct Operation {
    /// snake_case name, the SDK's method name (`admin_create_user`).
    pub name: &'static str,
    /// The API's name (`AdminCreateUser`).
    pub api_name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    /// Index of the input structure.
    pub input: u16,
    /// Index of the output structure, if the action answers with one.
    pub output: Option<u16>,
    /// False for the operations a service accepts without SigV4 (they
    /// authenticate with a token or a secret in the body instead).
    pub signed: bool,
    /// Set for listings that return a page of items and a token for the next.
    pub pagination: Option<&'static Pagination>,
    /// How the operation goes over HTTP, for the REST protocols.
    pub http: Option<&'static rest::Http>,
    /// Headers the operation always sends (an endpoint-discovery
    /// operation's `x-amz-api-version`).
    pub headers: &'static [(&'static str, &'static str)],
    /// API name of the input member the model marks as an idempotency
    /// token: filled from the run and step when the caller leaves it out,
    /// so a repeated step is the same request to the service.
    pub idempotency_token: Option<&'static str>,
    /// The endpoint host prefix the operation is sent to (`data.`,
    /// `{AccountId}.`, its labels input members).
    pub host_prefix: Option<&'static str>,
}

/// How a listing pages.
#[derive(Debug)]
pub struct Pagination {
    /// API name of the input member that takes the page token.
    pub input_token: &'static str,
    /// API name of the output member that holds the next page's token
    /// (any JSON value: a string, or a key object as DynamoDB's).
    pub output_token: &'static str,
    /// snake_case name of the page-size input member, if there is one.
    pub limit: Option<&'static str>,
    /// API names of the output members that hold the page's items (S3's
    /// `Contents` and `CommonPrefixes`), each gathered over the pages.
    pub items: &'static [&'static str],
    /// API names of numeric output members summed over the pages
    /// (DynamoDB's `Count`).
    pub totals: &'static [&'static str],
}

/// One shape of the API model.
#[derive(Debug)]
pub struct Shape {
    pub kind: Kind,
    /// Bounds on its length, size or value, if the model sets any (a
    /// reference, as few shapes have them and tables stay small).
    pub bounds: Option<&'static Bounds>,
    /// The model marks the value as secret (passwords, tokens).
    pub sensitive: bool,
    /// The shape is on a cycle (DynamoDB's `AttributeValue` holds lists
    /// and maps of itself): its schema is a shared definition (`$defs`),
    /// named in [`Service::definitions`], that refers to itself.
    pub recursive: bool,
    /// For the query protocol, a list's or map's element names where they
    /// are not the defaults.
    pub xml: Option<&'static xml::XmlNames>,
}

/// A shape's bounds.
#[derive(Debug)]
pub struct Bounds {
    /// Lower bound: string length, list or map size, or integer value.
    pub min: Option<i64>,
    /// Upper bound, as `min`.
    pub max: Option<i64>,
}

impl Shape {
    /// The lower bound, if there is one.
    pub fn min(&self) -> Option<i64> {
        self.bounds.and_then(|b| b.min)
    }

    /// The upper bound, if there is one.
    pub fn max(&self) -> Option<i64> {
        self.bounds.and_then(|b| b.max)
    }
}

/// What kind of value a shape holds. Indices point into the shape table.
#[derive(Debug)]
pub enum Kind {
    Structure(&'static [Member]),
    /// A structure of which exactly one member is set.
    Union(&'static [Member]),
    List {
        item: u16,
    },
    /// A free-form map: its keys are data and pass through untouched.
    Map {
        key: u16,
        value: u16,
    },
    /// A string, limited to `values` when that is not empty.
    String {
        values: &'static [&'static str],
    },
    Integer,
    Number,
    Boolean,
    /// Epoch seconds, as a JSON number; on the wire in its location's
    /// format unless the model names one.
    Timestamp(TimestampFormat),
    /// Base64 text.
    Blob,
    /// Any JSON value.
    Document,
    /// The events an operation streams to its caller (output only): each
    /// a member whose shape is the event's structure.
    EventStream(&'static [Event]),
}

/// One kind of event of an event stream.
#[derive(Debug)]
pub struct Event {
    /// The event's name (its `:event-type`) and structure.
    pub member: Member,
    /// API name of the event member the message's payload is, when the
    /// payload is not the whole event (S3's `Records` carry `Payload`).
    pub payload: Option<&'static str>,
}

/// The wire format the model gives a timestamp shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampFormat {
    /// The location's: epoch seconds in JSON, ISO 8601 in XML, paths and
    /// queries, an HTTP date in headers.
    Default,
    Iso8601,
    HttpDate,
    EpochSeconds,
}

/// One member of a structure.
#[derive(Debug)]
pub struct Member {
    /// snake_case name users write (`user_pool_id`).
    pub name: &'static str,
    /// The API's name sent on the wire (`UserPoolId`).
    pub api_name: &'static str,
    pub shape: u16,
    pub required: bool,
}

impl Service {
    /// The connector's manifest identity: `name`, this service's title and
    /// its signing name as the one service it calls.
    pub fn info(&'static self, name: &str, version: &str) -> Info {
        Info::new(name, self.title, version, &[self.signing_name])
    }

    /// Every operation of the table, each checked, converted and sent by
    /// [`Service::run`], with its output schema; then [`universal::NAME`].
    pub fn operations(&'static self) -> Operations {
        self.operations_with(|service, op, input| service.run(op, input), |_| false)
    }

    /// As [`Service::operations`], with `run` in place of [`Service::run`]
    /// (to make some operations safe to repeat, say), and those for which
    /// `safe_to_repeat` says so declared idempotent, as are those with an
    /// idempotency token.
    pub fn operations_with(
        &'static self,
        run: fn(&'static Service, &'static Operation, Value) -> Result<Value, Error>,
        safe_to_repeat: fn(&'static Operation) -> bool,
    ) -> Operations {
        let mut operations = Operations::new().on_unknown(move |name| self.unknown(name));
        for op in self.operations {
            let schema = move || {
                let mut input_schema = schema::input_schema(self, op.input, op.title);
                if let Some(pagination) = &op.pagination {
                    pages::extend_schema(pagination, &mut input_schema);
                }
                input_schema
            };
            operations =
                operations.add_raw(op.name, op.title, op.description, schema, move |input| run(self, op, input));
            if let Some(output) = op.output {
                operations = operations.output_schema(move || schema::output_schema(self, output));
            }
            if op.idempotency_token.is_some() || safe_to_repeat(op) {
                operations = operations.idempotent();
            }
        }
        match self.protocol {
            Protocol::Json { .. } => universal::add(self, operations),
            Protocol::RestJson
            | Protocol::RestXml
            | Protocol::Query { .. }
            | Protocol::Ec2 { .. }
            | Protocol::RpcV2Cbor { .. } => operations,
        }
    }

    /// Runs `op` with `input`: checks and converts it with the table, fills
    /// an idempotency token the caller left out, then calls the service,
    /// following pages when asked to.
    pub fn run(&'static self, op: &'static Operation, input: Value) -> Result<Value, Error> {
        let (paging, body) = self.request_body(op, input)?;
        match &op.pagination {
            Some(pagination) if paging.all_pages => {
                pages::fetch_all(pagination, body, paging.max_pages, |page| self.call(op, page))
            }
            _ => self.call(op, &body),
        }
    }

    /// What [`Service::run`] sends for `input`: the paging options taken
    /// out, the rest checked and converted to the API's JSON, and an
    /// idempotency token the caller left out filled in. For a `run` of
    /// one's own that sends it its own way.
    pub fn request_body(&'static self, op: &Operation, mut input: Value) -> Result<(pages::PageRequest, Value), Error> {
        let paging = pages::take_options(op, &mut input).map_err(Error::InvalidInput)?;
        let mut body = self.to_api(op, &input)?;
        if let (Some(member), Some(token)) = (op.idempotency_token, crate::repeat::token())
            && let Some(fields) = body.as_object_mut()
        {
            fields.entry(member).or_insert(Value::String(token));
        }
        Ok((paging, body))
    }

    /// Checks `input` (snake_case) against `op`'s input shape and converts
    /// it to the API's JSON, or says which member is wrong.
    pub fn to_api(&'static self, op: &Operation, input: &Value) -> Result<Value, Error> {
        input::to_api(self, op.input, input).map_err(|e| Error::InvalidInput(e.to_string()))
    }

    /// Sends `body` (`op`'s input in the API's JSON) and returns the
    /// service's answer: the protocol builds the request, the operation's
    /// own headers join it, the protocol reads the reply.
    pub fn call(&'static self, op: &Operation, body: &Value) -> Result<Value, Error> {
        let (mut request, read_error): (_, crate::aws::ErrorReader) = match (self.protocol, &op.http) {
            (Protocol::Json { version, target_prefix }, _) => (
                json::request(self.signing_name, target_prefix, version, op.api_name, body, op.signed)?,
                crate::aws::service_error,
            ),
            (Protocol::RestJson, Some(http)) => (rest::request(self, op, http, body)?, crate::aws::service_error),
            (Protocol::RestXml, Some(http)) => (rest::request(self, op, http, body)?, crate::aws::query::service_error),
            (Protocol::Query { version }, _) => {
                (query::request(self, op, version, body, query::Style::Query), crate::aws::query::service_error)
            }
            (Protocol::Ec2 { version }, _) => {
                (query::request(self, op, version, body, query::Style::Ec2), crate::aws::query::service_error)
            }
            #[cfg(feature = "rpc-v2-cbor")]
            (Protocol::RpcV2Cbor { target }, _) => (cbor::request(self, op, target, body)?, cbor::service_error),
            #[cfg(not(feature = "rpc-v2-cbor"))]
            (Protocol::RpcV2Cbor { .. }, _) => return Err(without_cbor()),
            (Protocol::RestJson | Protocol::RestXml, None) => {
                return Err(Error::Internal(format!("{} has no HTTP binding", op.api_name)));
            }
        };
        request.headers.extend(op.headers.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())));
        let prefix = op.host_prefix.map(|template| host_prefix(template, body)).transpose()?;
        let response = crate::aws::send_to(&request, prefix.as_deref(), read_error)?;
        // An action without output may still answer with a body: it says nothing.
        let Some(output) = op.output else { return Ok(Value::Object(serde_json::Map::new())) };
        match (self.protocol, &op.http) {
            (Protocol::RestJson | Protocol::RestXml, Some(http)) => rest::output(self, op, output, http, response),
            (Protocol::Query { .. }, _) => query::output(self, op, output, &response.body, query::Style::Query),
            (Protocol::Ec2 { .. }, _) => query::output(self, op, output, &response.body, query::Style::Ec2),
            #[cfg(feature = "rpc-v2-cbor")]
            (Protocol::RpcV2Cbor { .. }, _) => cbor::output(op, &response.body),
            #[cfg(not(feature = "rpc-v2-cbor"))]
            (Protocol::RpcV2Cbor { .. }, _) => Err(without_cbor()),
            _ => match events::stream_member(self, output) {
                Some((member, events)) => events::output(self, op.api_name, member, events, &response),
                None => json::output(op.api_name, &response.body),
            },
        }
    }

    /// Sends `body` as the API action `action`, signed or not (JSON
    /// protocols; a REST action needs its operation's bindings).
    pub fn call_action(&'static self, action: &str, signed: bool, body: &Value) -> Result<Value, Error> {
        match self.protocol {
            Protocol::Json { version, target_prefix } => {
                json::call(self.signing_name, target_prefix, version, action, body, signed)
            }
            Protocol::RestJson
            | Protocol::RestXml
            | Protocol::Query { .. }
            | Protocol::Ec2 { .. }
            | Protocol::RpcV2Cbor { .. } => match self.operations.iter().find(|op| op.api_name == action) {
                Some(op) => self.call(op, body),
                None => Err(Error::InvalidInput(format!("{action} is not an operation of {}", self.title))),
            },
        }
    }

    /// The operation called `name` (snake_case, as in the manifest).
    pub fn operation(&self, name: &str) -> Option<&'static Operation> {
        let operations = self.operations;
        operations.binary_search_by(|op| op.name.cmp(name)).ok().map(|i| &operations[i])
    }

    /// What to answer for an operation `name` not in the table: the right
    /// name when `name` is an API name, else how many there are.
    pub fn unknown(&self, name: &str) -> String {
        match self.operations.iter().find(|op| op.api_name == name) {
            Some(op) => format!("no operation `{name}`; did you mean `{}`?", op.name),
            None => {
                format!("no operation `{name}` in {} (the manifest lists all {})", self.title, self.operations.len())
            }
        }
    }

    /// The definition name of the recursive shape at `index`.
    pub(crate) fn definition_name(&self, index: u16) -> &'static str {
        let definitions = self.definitions;
        match definitions.binary_search_by_key(&index, |(i, _)| *i) {
            Ok(at) => definitions[at].1,
            Err(_) => "Recursive",
        }
    }

    /// The shape at `index`.
    pub(crate) fn shape(&self, index: u16) -> &'static Shape {
        let shapes = self.shapes;
        &shapes[index as usize]
    }
}

/// A host prefix template (`{AccountId}.`) with each label the input
/// member of that name, which must be one DNS label, so that no input can
/// point the request at another host.
fn host_prefix(template: &str, body: &Value) -> Result<String, Error> {
    let mut prefix = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        prefix.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('}') else { break };
        let name = &rest[start + 1..start + end];
        let value = match body.get(name) {
            Some(Value::String(text)) => text.as_str(),
            _ => return Err(Error::InvalidInput(format!("{name}: needed in the endpoint's host name"))),
        };
        let label = (1..=63).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !label {
            return Err(Error::InvalidInput(format!(
                "{name}: `{value}` cannot be a part of a host name (letters, digits and `-`, at most 63)"
            )));
        }
        prefix.push_str(value);
        rest = &rest[start + end + 1..];
    }
    prefix.push_str(rest);
    Ok(prefix)
}

/// The error of a connector whose table speaks CBOR, built without it.
#[cfg(not(feature = "rpc-v2-cbor"))]
fn without_cbor() -> Error {
    Error::Internal(
        "this connector speaks Smithy RPC v2 CBOR and was built without connector-sdk's `rpc-v2-cbor` feature".into(),
    )
}

/// A scalar as the wire carries it in text (a path, query, header, form
/// parameter or XML element): a timestamp in the model's format, else in
/// `location`'s (ISO 8601, or an HTTP date in headers); a string as it is
/// (blobs are base64 text already); anything else as JSON writes it.
pub(crate) fn scalar_text(kind: Option<&Kind>, value: &Value, location: TimestampFormat) -> String {
    match (kind, value) {
        (Some(Kind::Timestamp(format)), Value::Number(n)) => {
            time::text(n.as_f64().unwrap_or_default(), *format, location)
        }
        (_, Value::String(text)) => text.clone(),
        (_, other) => other.to_string(),
    }
}

/// A scalar the wire carries as text (an XML element, a header) as the
/// JSON value of its `kind`, timestamps in any format a model names; text
/// that does not parse stays text.
pub(crate) fn scalar_from_text(kind: &Kind, text: &str) -> Value {
    let number = |n: Option<f64>| n.and_then(serde_json::Number::from_f64).map(Value::Number);
    let parsed = match kind {
        Kind::Integer => text.parse::<i64>().ok().map(Value::from),
        Kind::Number => number(text.parse::<f64>().ok()),
        Kind::Boolean => match text {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => None,
        },
        Kind::Timestamp(_) => number(time::parse_any(text)),
        _ => None,
    };
    parsed.unwrap_or_else(|| Value::String(text.to_owned()))
}

/// A table as the generator writes them, small enough to read: a
/// recursive union (DynamoDB's `AttributeValue` in miniature), a listing
/// with key-object tokens, an operation with an idempotency token, one
/// that needs no signature.
#[cfg(test)]
pub(crate) mod sample {
    use super::*;

    pub static SERVICE: Service = Service {
        title: "Sample Store",
        signing_name: "sample",
        protocol: Protocol::Json { version: Version::V1_0, target_prefix: "Sample_2024" },
        operations: &[
            Operation {
                name: "put_item",
                api_name: "PutItem",
                title: "Put item",
                description: "Stores an item.",
                input: 5,
                output: None,
                signed: true,
                pagination: None,
                http: None,
                headers: &[],
                idempotency_token: Some("ClientToken"),
                host_prefix: None,
            },
            Operation {
                name: "query",
                api_name: "Query",
                title: "Query",
                description: "Lists items.",
                input: 7,
                output: Some(8),
                signed: false,
                pagination: Some(&Pagination {
                    input_token: "StartKey",
                    output_token: "LastKey",
                    limit: Some("limit"),
                    items: &["Items"],
                    totals: &["Count"],
                }),
                http: None,
                headers: &[],
                idempotency_token: None,
                host_prefix: None,
            },
        ],
        definitions: &[(1, "AttributeValue")],
        shapes: &[
            // 0: String
            Shape {
                kind: Kind::String { values: &[] },
                bounds: Some(&Bounds { min: Some(1), max: Some(8) }),
                sensitive: false,
                recursive: false,
                xml: None,
            },
            // 1: AttributeValue, a union holding lists and maps of itself
            Shape {
                kind: Kind::Union(&[
                    Member { name: "s", api_name: "S", shape: 0, required: false },
                    Member { name: "l", api_name: "L", shape: 2, required: false },
                    Member { name: "m", api_name: "M", shape: 3, required: false },
                ]),
                bounds: None,
                sensitive: false,
                recursive: true,
                xml: None,
            },
            // 2: ListAttributeValue
            Shape {
                kind: Kind::List { item: 1 },
                bounds: Some(&Bounds { min: None, max: Some(3) }),
                sensitive: false,
                recursive: false,
                xml: None,
            },
            // 3: MapAttributeValue
            Shape { kind: Kind::Map { key: 0, value: 1 }, bounds: None, sensitive: false, recursive: false, xml: None },
            // 4: Secret
            Shape { kind: Kind::String { values: &[] }, bounds: None, sensitive: true, recursive: false, xml: None },
            // 5: PutItemInput
            Shape {
                kind: Kind::Structure(&[
                    Member { name: "item", api_name: "Item", shape: 3, required: true },
                    Member { name: "client_token", api_name: "ClientToken", shape: 0, required: false },
                    Member { name: "password", api_name: "Password", shape: 4, required: false },
                ]),
                bounds: None,
                sensitive: false,
                recursive: false,
                xml: None,
            },
            // 6: Limit
            Shape {
                kind: Kind::Integer,
                bounds: Some(&Bounds { min: Some(1), max: Some(100) }),
                sensitive: false,
                recursive: false,
                xml: None,
            },
            // 7: QueryInput
            Shape {
                kind: Kind::Structure(&[
                    Member { name: "start_key", api_name: "StartKey", shape: 3, required: false },
                    Member { name: "limit", api_name: "Limit", shape: 6, required: false },
                ]),
                bounds: None,
                sensitive: false,
                recursive: false,
                xml: None,
            },
            // 8: QueryOutput
            Shape {
                kind: Kind::Structure(&[
                    Member { name: "items", api_name: "Items", shape: 9, required: false },
                    Member { name: "count", api_name: "Count", shape: 6, required: false },
                    Member { name: "last_key", api_name: "LastKey", shape: 3, required: false },
                ]),
                bounds: None,
                sensitive: false,
                recursive: false,
                xml: None,
            },
            // 9: ItemList
            Shape { kind: Kind::List { item: 3 }, bounds: None, sensitive: false, recursive: false, xml: None },
        ],
    };
}

#[cfg(test)]
mod tests {
    use super::sample::SERVICE;
    use super::*;
    use serde_json::json;

    #[test]
    fn recursive_shapes_are_definitions_that_refer_to_themselves() {
        let put = SERVICE.operation("put_item").unwrap();
        let schema = schema::input_schema(&SERVICE, put.input, put.title);
        assert_eq!(schema["properties"]["item"]["additionalProperties"], json!({"$ref": "#/$defs/AttributeValue"}));
        let value = &schema["$defs"]["AttributeValue"];
        assert_eq!(value["properties"]["l"]["items"], json!({"$ref": "#/$defs/AttributeValue"}));
        assert_eq!(value["properties"]["l"]["maxItems"], json!(3));
        assert_eq!((value["minProperties"].clone(), value["maxProperties"].clone()), (json!(1), json!(1)));
        assert_eq!(schema["properties"]["password"]["writeOnly"], json!(true));
        assert_eq!(schema["required"], json!(["item"]));
        let output = schema::output_schema(&SERVICE, SERVICE.operation("query").unwrap().output.unwrap());
        assert_eq!(output["properties"]["Items"]["items"]["additionalProperties"]["$ref"], "#/$defs/AttributeValue");
        assert_eq!(output["$defs"]["AttributeValue"]["properties"]["M"]["type"], "object");
    }

    #[test]
    fn nested_values_convert_and_a_union_takes_exactly_one_member() {
        let put = SERVICE.operation("put_item").unwrap();
        let item = json!({"item": {"a": {"l": [{"s": "x"}, {"m": {"b": {"s": "y"}}}]}}});
        assert_eq!(
            SERVICE.to_api(put, &item).unwrap(),
            json!({"Item": {"a": {"L": [{"S": "x"}, {"M": {"b": {"S": "y"}}}]}}})
        );
        let invalid = |input: Value| match SERVICE.to_api(put, &input) {
            Err(Error::InvalidInput(message)) => message,
            other => panic!("expected invalid input, got {other:?}"),
        };
        assert_eq!(invalid(json!({"item": {"a": {"s": "x", "l": []}}})), "item[\"a\"]: set exactly one of: s, l, m");
        assert_eq!(invalid(json!({"item": {"a": {}}})), "item[\"a\"]: set exactly one of: s, l, m");
        assert_eq!(
            invalid(json!({"item": {"a": {"l": [{"s": "123456789"}]}}})),
            "item[\"a\"].l[0].s: has 9 characters, at most 8 allowed"
        );
        assert_eq!(
            invalid(json!({"item": {}, "limit": 1})),
            "limit: unknown field; expected one of: item, client_token, password"
        );
    }

    #[test]
    fn host_prefixes_take_one_dns_label_per_member() {
        let body = json!({"AccountId": "123456789012", "Evil": "a.evil.com/x"});
        assert_eq!(host_prefix("{AccountId}.", &body).unwrap(), "123456789012.");
        assert_eq!(host_prefix("data.", &body).unwrap(), "data.");
        for (template, problem) in [
            ("{Evil}.", "Evil: `a.evil.com/x` cannot be a part of a host name"),
            ("{Missing}.", "Missing: needed in the endpoint's host name"),
        ] {
            match host_prefix(template, &body) {
                Err(Error::InvalidInput(message)) => assert!(message.starts_with(problem), "{message}"),
                other => panic!("{template}: expected invalid input, got {other:?}"),
            }
        }
    }

    #[test]
    fn operations_know_their_names_and_suggest_the_snake_case_one() {
        assert!(SERVICE.operation("query").is_some() && SERVICE.operation("Query").is_none());
        assert_eq!(SERVICE.unknown("PutItem"), "no operation `PutItem`; did you mean `put_item`?");
        assert_eq!(SERVICE.unknown("drop"), "no operation `drop` in Sample Store (the manifest lists all 2)");
    }

    #[test]
    fn the_table_becomes_the_manifest() {
        let operations = SERVICE.operations();
        let details = operations.details();
        let names: Vec<_> = details.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["put_item", "query", universal::NAME]);
        assert!(details[0].idempotent, "an idempotency token makes a repeat the same request");
        let listing: Value = serde_json::from_str(&operations.manifest()[1].input_schema).unwrap();
        assert_eq!(listing["properties"][pages::ALL_PAGES]["type"], "boolean");
        assert_eq!(operations.manifest()[2].title, "Call any Sample Store API action");
    }
}
