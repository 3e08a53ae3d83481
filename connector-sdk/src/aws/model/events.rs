//! AWS event streams (`application/vnd.amazon.eventstream`) read whole:
//! the reply of an operation that streams events to its caller (S3's
//! `SelectObjectContent`, Lambda's `InvokeWithResponseStream`, Bedrock's
//! `ConverseStream`), which the host hands over once the stream has ended,
//! within its body cap, becomes the list of its events.
//!
//! Every length in a message is checked against the bytes there are, and
//! both CRCs, before anything is read: a reply is hostile until it is.

use serde_json::{Map, Value};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::{Event, Kind, Protocol, Service};
use crate::bindings::connector::api::signed_http::Response;
use crate::{Error, ServiceError};

/// The 12-byte prelude (total length, headers length, prelude CRC) and
/// the 4-byte message CRC.
const PRELUDE: usize = 12;
const OVERHEAD: usize = PRELUDE + 4;

/// One message of the stream.
#[derive(Debug)]
struct Message<'a> {
    headers: Vec<(&'a str, HeaderValue<'a>)>,
    payload: &'a [u8],
}

/// A header's value, by the wire's type byte.
#[derive(Debug, PartialEq)]
enum HeaderValue<'a> {
    Bool(bool),
    Integer(i64),
    Bytes(&'a [u8]),
    Text(&'a str),
    /// Milliseconds since the epoch.
    Timestamp(i64),
    Uuid(&'a [u8]),
}

impl Message<'_> {
    /// The text header `name` (`:message-type`, `:event-type`).
    fn text(&self, name: &str) -> Option<&str> {
        self.headers.iter().find_map(|(key, value)| match value {
            HeaderValue::Text(text) if *key == name => Some(*text),
            _ => None,
        })
    }
}

/// Splits `body` into its messages, or says what is wrong with it.
fn messages(mut body: &[u8]) -> Result<Vec<Message<'_>>, String> {
    let mut out = Vec::new();
    while !body.is_empty() {
        let at = out.len();
        let prelude = body.get(..PRELUDE).ok_or_else(|| format!("message {at}: cut short in its prelude"))?;
        let total = u32::from_be_bytes([prelude[0], prelude[1], prelude[2], prelude[3]]) as usize;
        let headers_len = u32::from_be_bytes([prelude[4], prelude[5], prelude[6], prelude[7]]) as usize;
        let prelude_crc = u32::from_be_bytes([prelude[8], prelude[9], prelude[10], prelude[11]]);
        if crc32fast::hash(&prelude[..8]) != prelude_crc {
            return Err(format!("message {at}: its prelude fails its CRC"));
        }
        if total < OVERHEAD || total > body.len() || headers_len > total - OVERHEAD {
            return Err(format!(
                "message {at}: lengths {total} and {headers_len} do not fit the {} bytes left",
                body.len()
            ));
        }
        let (message, rest) = body.split_at(total);
        let (covered, crc) = message.split_at(total - 4);
        if crc32fast::hash(covered) != u32::from_be_bytes([crc[0], crc[1], crc[2], crc[3]]) {
            return Err(format!("message {at}: fails its CRC"));
        }
        let headers = headers(&covered[PRELUDE..PRELUDE + headers_len]).map_err(|e| format!("message {at}: {e}"))?;
        out.push(Message { headers, payload: &covered[PRELUDE + headers_len..] });
        body = rest;
    }
    Ok(out)
}

/// A message's headers: a name (one length byte), a type byte, a value.
fn headers(mut bytes: &[u8]) -> Result<Vec<(&str, HeaderValue<'_>)>, String> {
    fn take<'a>(bytes: &mut &'a [u8], n: usize) -> Result<&'a [u8], String> {
        if bytes.len() < n {
            return Err("a header is cut short".into());
        }
        let (head, rest) = bytes.split_at(n);
        *bytes = rest;
        Ok(head)
    }
    fn int(bytes: &[u8]) -> i64 {
        bytes.iter().fold(0i64, |n, b| (n << 8) | i64::from(*b))
    }
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let name_len = take(&mut bytes, 1)?[0] as usize;
        let name = std::str::from_utf8(take(&mut bytes, name_len)?).map_err(|_| "a header name is not UTF-8")?;
        let value = match take(&mut bytes, 1)?[0] {
            0 => HeaderValue::Bool(true),
            1 => HeaderValue::Bool(false),
            2 => HeaderValue::Integer(i64::from(take(&mut bytes, 1)?[0] as i8)),
            3 => HeaderValue::Integer(i64::from(int(take(&mut bytes, 2)?) as i16)),
            4 => HeaderValue::Integer(i64::from(int(take(&mut bytes, 4)?) as i32)),
            5 => HeaderValue::Integer(int(take(&mut bytes, 8)?)),
            kind @ (6 | 7) => {
                let len = int(take(&mut bytes, 2)?) as usize;
                let value = take(&mut bytes, len)?;
                match kind {
                    6 => HeaderValue::Bytes(value),
                    _ => HeaderValue::Text(
                        std::str::from_utf8(value).map_err(|_| format!("header {name} is not UTF-8"))?,
                    ),
                }
            }
            8 => HeaderValue::Timestamp(int(take(&mut bytes, 8)?)),
            9 => HeaderValue::Uuid(take(&mut bytes, 16)?),
            other => return Err(format!("header {name} has the unknown type {other}")),
        };
        out.push((name, value));
    }
    Ok(out)
}

/// The member of the output structure at `output` that is an event
/// stream, if one is: its API name and events.
pub(super) fn stream_member(service: &'static Service, output: u16) -> Option<(&'static str, &'static [Event])> {
    let Kind::Structure(members) = &service.shape(output).kind else { return None };
    members.iter().find_map(|member| match &service.shape(member.shape).kind {
        Kind::EventStream(events) => Some((member.api_name, *events)),
        _ => None,
    })
}

/// An AWS JSON operation's output from a reply that is an event stream:
/// the members of its `initial-response`, and the events under `member`.
pub(super) fn output(
    service: &'static Service,
    api_name: &str,
    member: &str,
    events: &'static [Event],
    response: &Response,
) -> Result<Value, Error> {
    let (events, mut fields) = read(service, api_name, events, response.status, &response.body)?;
    fields.insert(member.to_owned(), Value::Array(events));
    Ok(Value::Object(fields))
}

/// What a stream said: its events, each `{"EventType": {...}}` as the AWS
/// SDKs give them (blobs as base64), and the members of its
/// `initial-response` (AWS JSON streams begin with the output's other
/// members). An exception or error message is the service error it names.
pub(super) fn read(
    service: &'static Service,
    api_name: &str,
    events: &'static [Event],
    status: u16,
    body: &[u8],
) -> Result<(Vec<Value>, Map<String, Value>), Error> {
    let messages =
        messages(body).map_err(|e| Error::Internal(format!("{api_name} sent a broken event stream: {e}")))?;
    let mut out = Vec::with_capacity(messages.len());
    let mut initial = Map::new();
    for message in &messages {
        let kind = message.text(":event-type").unwrap_or("");
        match message.text(":message-type") {
            Some("event") if kind == "initial-response" => {
                if let Value::Object(fields) = document(service, api_name, None, message.payload)? {
                    initial = fields;
                }
            }
            Some("event") => {
                let value = match events.iter().find(|event| event.member.api_name == kind) {
                    Some(event) => event_value(service, api_name, event, message.payload)?,
                    // An event newer than the table: its payload kept as it came.
                    None => Value::String(BASE64.encode(message.payload)),
                };
                let mut event = Map::new();
                event.insert(kind.to_owned(), value);
                out.push(Value::Object(event));
            }
            Some("exception") => {
                let document = document(service, api_name, None, message.payload).unwrap_or(Value::Null);
                let text = ["message", "Message"].iter().find_map(|k| document.get(k).and_then(Value::as_str));
                return Err(Error::Service(stream_error(status, message.text(":exception-type"), text)));
            }
            Some("error") => {
                let (code, text) = (message.text(":error-code"), message.text(":error-message"));
                return Err(Error::Service(stream_error(status, code, text)));
            }
            other => {
                return Err(Error::Internal(format!(
                    "{api_name} sent an event stream message of type {:?}",
                    other.unwrap_or("(none)")
                )));
            }
        }
    }
    Ok((out, initial))
}

/// The service error an `exception` or `error` message reports.
fn stream_error(status: u16, code: Option<&str>, message: Option<&str>) -> ServiceError {
    crate::aws::error_of(
        status,
        &[],
        b"",
        Some(code.unwrap_or("EventStreamError").to_owned()),
        Some(message.unwrap_or("the service ended its event stream with an error").to_owned()),
    )
}

/// One event's value: its payload member (a blob as base64, a structure
/// read by the protocol) or the whole payload read as the event's shape.
fn event_value(service: &'static Service, api_name: &str, event: &Event, payload: &[u8]) -> Result<Value, Error> {
    let shape = service.shape(event.member.shape);
    let Kind::Structure(members) = &shape.kind else { return document(service, api_name, Some(shape), payload) };
    let Some(name) = event.payload else { return document(service, api_name, Some(shape), payload) };
    let member = members.iter().find(|m| m.api_name == name);
    let member_shape = member.map(|m| service.shape(m.shape));
    let value = match member_shape.map(|s| &s.kind) {
        Some(Kind::Blob) | None => Value::String(BASE64.encode(payload)),
        Some(Kind::String { .. }) => Value::String(String::from_utf8_lossy(payload).into_owned()),
        Some(_) => document(service, api_name, member_shape, payload)?,
    };
    let mut fields = Map::new();
    fields.insert(name.to_owned(), value);
    Ok(Value::Object(fields))
}

/// A payload document in the service's protocol (XML for REST-XML, JSON
/// otherwise), read as `shape` when there is one; empty is `{}`.
fn document(
    service: &'static Service,
    api_name: &str,
    shape: Option<&'static super::Shape>,
    payload: &[u8],
) -> Result<Value, Error> {
    match (service.protocol, shape) {
        (Protocol::RestXml, Some(_)) if payload.iter().all(u8::is_ascii_whitespace) => Ok(Value::Object(Map::new())),
        (Protocol::RestXml, Some(shape)) => crate::aws::query::with_root(api_name, payload, |root| {
            super::xml::read(service, shape, root, 0).ok_or_else(|| crate::aws::query::too_deep(api_name))
        }),
        _ => crate::aws::json::output(api_name, payload),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// One message as a service writes it: text headers, then the payload.
    pub(crate) fn message(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
        let mut encoded = Vec::new();
        for (name, value) in headers {
            encoded.push(name.len() as u8);
            encoded.extend_from_slice(name.as_bytes());
            encoded.push(7);
            encoded.extend_from_slice(&(value.len() as u16).to_be_bytes());
            encoded.extend_from_slice(value.as_bytes());
        }
        let total = (OVERHEAD + encoded.len() + payload.len()) as u32;
        let mut out = Vec::new();
        out.extend_from_slice(&total.to_be_bytes());
        out.extend_from_slice(&(encoded.len() as u32).to_be_bytes());
        out.extend_from_slice(&crc32fast::hash(&out).to_be_bytes());
        out.extend_from_slice(&encoded);
        out.extend_from_slice(payload);
        out.extend_from_slice(&crc32fast::hash(&out).to_be_bytes());
        out
    }

    pub(crate) fn event(kind: &str, payload: &[u8]) -> Vec<u8> {
        message(&[(":message-type", "event"), (":event-type", kind)], payload)
    }

    #[test]
    fn messages_split_and_headers_read() {
        let mut body = event("Records", b"a,b\n");
        body.extend(event("End", b""));
        let read = messages(&body).unwrap();
        assert_eq!(read.len(), 2);
        assert_eq!((read[0].text(":event-type"), read[0].payload), (Some("Records"), &b"a,b\n"[..]));
        assert_eq!(read[1].text(":event-type"), Some("End"));
    }

    #[test]
    fn every_header_type_reads() {
        let mut bytes = Vec::new();
        let mut put = |name: &str, kind: u8, value: &[u8]| {
            bytes.push(name.len() as u8);
            bytes.extend_from_slice(name.as_bytes());
            bytes.push(kind);
            bytes.extend_from_slice(value);
        };
        put("t", 0, &[]);
        put("f", 1, &[]);
        put("b", 2, &[0xff]);
        put("s", 3, &[0x80, 0]);
        put("i", 4, &7i32.to_be_bytes());
        put("l", 5, &(-2i64).to_be_bytes());
        put("x", 6, &[0, 2, 1, 2]);
        put("ts", 8, &1_700_000_000_000i64.to_be_bytes());
        put("u", 9, &[9; 16]);
        let read = headers(&bytes).unwrap();
        let values: Vec<_> = read.into_iter().map(|(_, v)| v).collect();
        assert_eq!(
            values,
            [
                HeaderValue::Bool(true),
                HeaderValue::Bool(false),
                HeaderValue::Integer(-1),
                HeaderValue::Integer(-32768),
                HeaderValue::Integer(7),
                HeaderValue::Integer(-2),
                HeaderValue::Bytes(&[1, 2]),
                HeaderValue::Timestamp(1_700_000_000_000),
                HeaderValue::Uuid(&[9; 16]),
            ]
        );
    }

    #[test]
    fn broken_streams_are_refused_with_the_message_at_fault() {
        let good = event("Records", b"payload");
        let mut bad_crc = good.clone();
        *bad_crc.last_mut().unwrap() ^= 1;
        assert!(messages(&bad_crc).unwrap_err().contains("fails its CRC"));
        let mut cut = good.clone();
        cut.extend_from_slice(&good[..good.len() - 1]);
        assert!(messages(&cut).unwrap_err().starts_with("message 1:"));
        // A prelude that claims more than there is, with a valid CRC.
        let mut liar = 1_000_000u32.to_be_bytes().to_vec();
        liar.extend_from_slice(&0u32.to_be_bytes());
        liar.extend_from_slice(&crc32fast::hash(&liar).to_be_bytes());
        assert!(messages(&liar).unwrap_err().contains("do not fit"));
        // Headers longer than the message.
        let mut long_headers = 16u32.to_be_bytes().to_vec();
        long_headers.extend_from_slice(&5u32.to_be_bytes());
        long_headers.extend_from_slice(&crc32fast::hash(&long_headers).to_be_bytes());
        long_headers.extend_from_slice(&crc32fast::hash(&long_headers).to_be_bytes());
        assert!(messages(&long_headers).unwrap_err().contains("do not fit"));
        // A header whose value runs past the headers.
        assert!(headers(&[1, b'a', 7, 0, 9, b'x']).unwrap_err().contains("cut short"));
        assert!(headers(&[1, b'a', 42]).unwrap_err().contains("unknown type 42"));
    }

    /// S3's `SelectObjectContent` events in miniature.
    static SELECT: Service = Service {
        title: "Select",
        signing_name: "s3",
        protocol: Protocol::RestXml,
        operations: &[],
        definitions: &[],
        shapes: &[
            shape(Kind::Blob),
            shape(Kind::Structure(&[member("Payload", 0)])),
            shape(Kind::Structure(&[member("BytesScanned", 3)])),
            shape(Kind::Integer),
            shape(Kind::Structure(&[member("Details", 2)])),
            shape(Kind::Structure(&[])),
            shape(Kind::EventStream(&[
                Event { member: member("Records", 1), payload: Some("Payload") },
                Event { member: member("Stats", 4), payload: Some("Details") },
                Event { member: member("End", 5), payload: None },
            ])),
        ],
    };

    const fn shape(kind: Kind) -> super::super::Shape {
        super::super::Shape { kind, bounds: None, sensitive: false, recursive: false, xml: None }
    }

    const fn member(api_name: &'static str, shape: u16) -> super::super::Member {
        super::super::Member { name: api_name, api_name, shape, required: false }
    }

    fn events() -> &'static [Event] {
        match &SELECT.shapes[6].kind {
            Kind::EventStream(events) => events,
            _ => unreachable!(),
        }
    }

    #[test]
    fn a_stream_reads_as_its_events_in_order() {
        let mut body = event("initial-response", br#"{"RequestId":"r-1"}"#);
        body.extend(event("Records", b"1,a\n"));
        body.extend(event("Stats", b"<Stats><BytesScanned>42</BytesScanned></Stats>"));
        body.extend(event("Cont", b""));
        body.extend(event("End", b""));
        let (events, initial) = read(&SELECT, "SelectObjectContent", events(), 200, &body).unwrap();
        assert_eq!(
            Value::Array(events),
            serde_json::json!([
                {"Records": {"Payload": "MSxhCg=="}},
                {"Stats": {"Details": {"BytesScanned": 42}}},
                {"Cont": ""},
                {"End": {}},
            ])
        );
        assert_eq!(Value::Object(initial), serde_json::json!({"RequestId": "r-1"}));
    }

    #[test]
    fn an_exception_or_error_message_is_the_service_error_it_names() {
        let mut body = event("Records", b"x");
        body.extend(message(
            &[(":message-type", "exception"), (":exception-type", "ThrottlingException")],
            br#"{"message":"Slow down"}"#,
        ));
        let Err(Error::Service(e)) = read(&SELECT, "Select", events(), 200, &body) else { panic!("not refused") };
        assert_eq!((e.code.as_str(), e.message.as_str(), e.retryable), ("ThrottlingException", "Slow down", true));
        let body =
            message(&[(":message-type", "error"), (":error-code", "InternalError"), (":error-message", "Oops")], b"");
        let Err(Error::Service(e)) = read(&SELECT, "Select", events(), 200, &body) else { panic!("not refused") };
        assert_eq!((e.code.as_str(), e.message.as_str()), ("InternalError", "Oops"));
        let body = message(&[(":message-type", "gossip")], b"");
        assert!(
            matches!(read(&SELECT, "Select", events(), 200, &body), Err(Error::Internal(m)) if m.contains("gossip"))
        );
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_read_or_are_refused(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let _ = messages(&body);
            let _ = headers(&body);
        }
    }
}
