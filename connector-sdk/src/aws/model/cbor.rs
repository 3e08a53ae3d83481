//! Smithy RPC v2 CBOR by the table (the CBOR-only services such as
//! EventBridge v2): `POST /service/{target}/operation/{Action}` with the
//! input as CBOR, written by its shapes as botocore writes it (blobs as
//! byte strings, timestamps as tag 1 epoch seconds, `double` members as
//! floats); the reply's CBOR read back as JSON (byte strings as base64
//! text, timestamps as epoch seconds).
//!
//! The codec is this file's: the protocol uses a small part of CBOR, and a
//! general CBOR crate made every connector 80 KiB larger. Guards against
//! hostile replies: every length is checked against the bytes left before
//! anything is allocated, nesting past [`MAX_DEPTH`] is refused, the reply
//! must be exactly one item, and what does not fit JSON (a float that is
//! not finite, a non-text map key, an integer past 64 bits) becomes text.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Number, Value};

use super::{Kind, Operation, Service, Shape};
use crate::aws::error_of_document;
use crate::aws::query::MAX_DEPTH;
use crate::bindings::connector::api::signed_http::Request;
use crate::{Error, ServiceError};

/// The request of `op` with `body` (its input in the API's JSON, checked)
/// for the service whose target is `target`.
pub(super) fn request(service: &'static Service, op: &Operation, target: &str, body: &Value) -> Result<Request, Error> {
    let shape = service.shape(op.input);
    // An operation without input members sends no body, as botocore does
    // for one without an input shape.
    let empty = matches!(&shape.kind, Kind::Structure(members) if members.is_empty());
    let mut bytes = Vec::new();
    if !empty {
        write(service, shape, body, &mut bytes)?;
    }
    let mut headers = vec![
        ("smithy-protocol".to_owned(), "rpc-v2-cbor".to_owned()),
        ("accept".to_owned(), "application/cbor".to_owned()),
    ];
    if !bytes.is_empty() {
        headers.push(("content-type".to_owned(), "application/cbor".to_owned()));
    }
    Ok(Request {
        service: service.signing_name.to_owned(),
        method: "POST".to_owned(),
        path: format!("/service/{target}/operation/{}", op.api_name),
        headers,
        body: bytes,
        sign: op.signed,
    })
}

/// The output of `op` (an action with output) from a successful reply's
/// `body`.
pub(super) fn output(op: &Operation, body: &[u8]) -> Result<Value, Error> {
    if body.is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    match decode(body) {
        Some(Value::Object(fields)) => Ok(Value::Object(fields)),
        Some(other) => Err(Error::Internal(format!("{} returned {other}, not a map", op.api_name))),
        None => Err(Error::Internal(format!("{} returned a body that is not CBOR", op.api_name))),
    }
}

/// Reads an RPC v2 CBOR error: `__type` (without namespace) and `message`.
///
/// ```
/// let body = [0xa2, 0x66, b'_', b'_', b't', b'y', b'p', b'e', 0x69, b'T', b'h', b'r', b'o', b't', b't', b'l', b'e', b'd',
///             0x67, b'm', b'e', b's', b's', b'a', b'g', b'e', 0x62, b'n', b'o'];
/// let e = connector_sdk::aws::model::cbor::service_error(400, &[], &body);
/// assert_eq!((e.code.as_str(), e.message.as_str()), ("Throttled", "no"));
/// ```
pub fn service_error(status: u16, headers: &[(String, String)], body: &[u8]) -> ServiceError {
    error_of_document(status, headers, body, &decode(body).unwrap_or(Value::Null))
}

const UNSIGNED: u8 = 0;
const NEGATIVE: u8 = 1;
const BYTES: u8 = 2;
const TEXT: u8 = 3;
const ARRAY: u8 = 4;
const MAP: u8 = 5;
const TAG: u8 = 6;
const SIMPLE: u8 = 7;
/// The "break" that ends an item of indefinite length.
const BREAK: u8 = 0xff;

/// Appends an item's head: its major type and its argument, in the
/// shortest form.
fn put_head(out: &mut Vec<u8>, major: u8, argument: u64) {
    let major = major << 5;
    match argument {
        0..24 => out.push(major | argument as u8),
        24..0x100 => out.extend([major | 24, argument as u8]),
        0x100..0x1_0000 => {
            out.push(major | 25);
            out.extend((argument as u16).to_be_bytes());
        }
        0x1_0000..0x1_0000_0000 => {
            out.push(major | 26);
            out.extend((argument as u32).to_be_bytes());
        }
        _ => {
            out.push(major | 27);
            out.extend(argument.to_be_bytes());
        }
    }
}

fn put_text(out: &mut Vec<u8>, text: &str) {
    put_head(out, TEXT, text.len() as u64);
    out.extend_from_slice(text.as_bytes());
}

fn put_float(out: &mut Vec<u8>, value: f64) {
    out.push(SIMPLE << 5 | 27);
    out.extend(value.to_be_bytes());
}

/// A JSON number: an integer when it is one, else a double.
fn put_number(out: &mut Vec<u8>, n: &Number) {
    match (n.as_u64(), n.as_i64()) {
        (Some(u), _) => put_head(out, UNSIGNED, u),
        (_, Some(i)) => put_head(out, NEGATIVE, (-1 - i) as u64),
        _ => put_float(out, n.as_f64().unwrap_or_default()),
    }
}

/// Appends `value` (checked against `shape`) as CBOR.
fn write(service: &'static Service, shape: &Shape, value: &Value, out: &mut Vec<u8>) -> Result<(), Error> {
    match (&shape.kind, value) {
        (Kind::Structure(members) | Kind::Union(members), Value::Object(fields)) => {
            let present: Vec<_> = members
                .iter()
                .filter_map(|m| fields.get(m.api_name).filter(|v| !v.is_null()).map(|v| (m, v)))
                .collect();
            put_head(out, MAP, present.len() as u64);
            for (member, field) in present {
                put_text(out, member.api_name);
                write(service, service.shape(member.shape), field, out)?;
            }
        }
        (Kind::List { item }, Value::Array(items)) => {
            put_head(out, ARRAY, items.len() as u64);
            for item_value in items {
                write(service, service.shape(*item), item_value, out)?;
            }
        }
        (Kind::Map { value: value_shape, .. }, Value::Object(entries)) => {
            put_head(out, MAP, entries.len() as u64);
            for (key, entry) in entries {
                put_text(out, key);
                write(service, service.shape(*value_shape), entry, out)?;
            }
        }
        (Kind::Blob, Value::String(text)) => {
            let bytes = BASE64.decode(text).map_err(|e| Error::InvalidInput(format!("a blob is not base64 ({e})")))?;
            put_head(out, BYTES, bytes.len() as u64);
            out.extend(bytes);
        }
        (Kind::Timestamp(_), Value::Number(n)) => {
            put_head(out, TAG, 1);
            put_number(out, n);
        }
        (Kind::Number, Value::Number(n)) => put_float(out, n.as_f64().unwrap_or_default()),
        (_, other) => write_any(other, out),
    }
    Ok(())
}

/// Appends a JSON value of no particular shape (a document) as CBOR.
fn write_any(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.push(SIMPLE << 5 | 22),
        Value::Bool(b) => out.push(SIMPLE << 5 | if *b { 21 } else { 20 }),
        Value::Number(n) => put_number(out, n),
        Value::String(text) => put_text(out, text),
        Value::Array(items) => {
            put_head(out, ARRAY, items.len() as u64);
            items.iter().for_each(|item| write_any(item, out));
        }
        Value::Object(fields) => {
            put_head(out, MAP, fields.len() as u64);
            for (key, field) in fields {
                put_text(out, key);
                write_any(field, out);
            }
        }
    }
}

/// A CBOR body as JSON, or `None` when it is not exactly one well-formed
/// item or nests too deep.
fn decode(body: &[u8]) -> Option<Value> {
    let mut reader = Reader { bytes: body, at: 0 };
    let value = reader.item(0)?;
    (reader.at == body.len()).then_some(value)
}

/// Reads CBOR items from a byte slice, never past its end.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

/// An item's argument: a number, or "indefinite length".
enum Argument {
    Value(u64),
    Indefinite,
}

impl Reader<'_> {
    fn left(&self) -> usize {
        self.bytes.len() - self.at
    }

    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let taken = self.bytes.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(taken)
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn head(&mut self) -> Option<(u8, u8, Argument)> {
        let first = *self.take(1)?.first()?;
        let (major, info) = (first >> 5, first & 0x1f);
        let argument = match info {
            0..24 => Argument::Value(u64::from(info)),
            24 => Argument::Value(u64::from(self.take(1)?[0])),
            25 => Argument::Value(u64::from(u16::from_be_bytes(self.take(2)?.try_into().ok()?))),
            26 => Argument::Value(u64::from(u32::from_be_bytes(self.take(4)?.try_into().ok()?))),
            27 => Argument::Value(u64::from_be_bytes(self.take(8)?.try_into().ok()?)),
            31 => Argument::Indefinite,
            _ => return None,
        };
        Some((major, info, argument))
    }

    /// A length that fits in what is left, each element taking at least
    /// `unit` bytes: a claimed length is never trusted further.
    fn length(&self, n: u64, unit: usize) -> Option<usize> {
        usize::try_from(n).ok().filter(|n| n.checked_mul(unit).is_some_and(|bytes| bytes <= self.left()))
    }

    /// The bytes of a byte or text string of major type `major`, joined
    /// from its chunks when its length is indefinite.
    fn string(&mut self, major: u8, argument: Argument) -> Option<Vec<u8>> {
        match argument {
            Argument::Value(n) => {
                let n = self.length(n, 1)?;
                self.take(n).map(<[u8]>::to_vec)
            }
            Argument::Indefinite => {
                let mut joined = Vec::new();
                while self.peek()? != BREAK {
                    match self.head()? {
                        (chunk_major, _, Argument::Value(n)) if chunk_major == major => {
                            let n = self.length(n, 1)?;
                            joined.extend_from_slice(self.take(n)?);
                        }
                        _ => return None,
                    }
                }
                self.at += 1;
                Some(joined)
            }
        }
    }

    fn item(&mut self, depth: usize) -> Option<Value> {
        if depth > MAX_DEPTH {
            return None;
        }
        let (major, info, argument) = self.head()?;
        Some(match (major, argument) {
            (UNSIGNED, Argument::Value(n)) => Value::from(n),
            (NEGATIVE, Argument::Value(n)) => match i64::try_from(n) {
                Ok(n) => Value::from(-1 - n),
                // Past i64: -1 - n as text (n + 1 overflows only for u64::MAX).
                Err(_) => Value::String(match n.checked_add(1) {
                    Some(m) => format!("-{m}"),
                    None => "-18446744073709551616".to_owned(),
                }),
            },
            (BYTES, argument) => Value::String(BASE64.encode(self.string(BYTES, argument)?)),
            (TEXT, argument) => Value::String(String::from_utf8(self.string(TEXT, argument)?).ok()?),
            (ARRAY, argument) => {
                let mut items = Vec::new();
                match argument {
                    Argument::Value(n) => {
                        for _ in 0..self.length(n, 1)? {
                            items.push(self.item(depth + 1)?);
                        }
                    }
                    Argument::Indefinite => {
                        while self.peek()? != BREAK {
                            items.push(self.item(depth + 1)?);
                        }
                        self.at += 1;
                    }
                }
                Value::Array(items)
            }
            (MAP, argument) => {
                let mut fields = Map::new();
                let mut entry = |reader: &mut Self| -> Option<()> {
                    let key = match reader.item(depth + 1)? {
                        Value::String(text) => text,
                        other => other.to_string(),
                    };
                    let value = reader.item(depth + 1)?;
                    fields.insert(key, value);
                    Some(())
                };
                match argument {
                    Argument::Value(n) => {
                        for _ in 0..self.length(n, 2)? {
                            entry(self)?;
                        }
                    }
                    Argument::Indefinite => {
                        while self.peek()? != BREAK {
                            entry(self)?;
                        }
                        self.at += 1;
                    }
                }
                Value::Object(fields)
            }
            // Tag 1 (epoch seconds) and any other tag: the value it tags.
            (TAG, Argument::Value(_)) => self.item(depth + 1)?,
            (SIMPLE, _) => match info {
                20 => Value::Bool(false),
                21 => Value::Bool(true),
                22 | 23 => Value::Null,
                25 => float(half(u16::from_be_bytes(self.bytes[self.at - 2..self.at].try_into().ok()?))),
                26 => float(f64::from(f32::from_be_bytes(self.bytes[self.at - 4..self.at].try_into().ok()?))),
                27 => float(f64::from_be_bytes(self.bytes[self.at - 8..self.at].try_into().ok()?)),
                _ => return None,
            },
            _ => return None,
        })
    }
}

/// A float as JSON: a number, or its name when it is not finite (without
/// the float formatting code, which would add kilobytes to every
/// connector).
fn float(value: f64) -> Value {
    Number::from_f64(value).map_or_else(
        || {
            Value::String(
                match (value.is_nan(), value > 0.0) {
                    (true, _) => "NaN",
                    (false, true) => "Infinity",
                    (false, false) => "-Infinity",
                }
                .to_owned(),
            )
        },
        Value::Number,
    )
}

/// An IEEE 754 half-precision float's value.
fn half(bits: u16) -> f64 {
    let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exponent = i32::from((bits >> 10) & 0x1f);
    let fraction = f64::from(bits & 0x3ff);
    sign * match exponent {
        0 => fraction * 2f64.powi(-24),
        31 if fraction == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        _ => (1.0 + fraction / 1024.0) * 2f64.powi(exponent - 15),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ciborium::Value as Cbor;
    use proptest::prelude::*;
    use serde_json::json;

    fn encoded(value: &Cbor) -> Vec<u8> {
        let mut bytes = Vec::new();
        ciborium::into_writer(value, &mut bytes).unwrap();
        bytes
    }

    #[test]
    fn replies_read_as_json() {
        let reply = Cbor::Map(vec![
            (Cbor::Text("Data".into()), Cbor::Bytes(vec![0, 1, 255])),
            (Cbor::Text("At".into()), Cbor::Tag(1, Box::new(Cbor::Float(1_700_000_000.5)))),
            (Cbor::Text("Count".into()), Cbor::Integer(3.into())),
            (Cbor::Text("Debt".into()), Cbor::Integer((-3).into())),
            (Cbor::Text("Odd".into()), Cbor::Float(f64::NAN)),
            (Cbor::Text("Half".into()), Cbor::Float(1.5)),
            (Cbor::Integer(7.into()), Cbor::Array(vec![Cbor::Bool(true), Cbor::Null])),
        ]);
        assert_eq!(
            decode(&encoded(&reply)).unwrap(),
            json!({"Data": "AAH/", "At": 1_700_000_000.5, "Count": 3, "Debt": -3, "Odd": "NaN", "Half": 1.5,
                   "7": [true, null]})
        );
        // Indefinite lengths: a map holding a chunked text and an array.
        let indefinite = [0xbf, 0x61, b'a', 0x7f, 0x61, b'x', 0x61, b'y', 0xff, 0x61, b'b', 0x9f, 0x01, 0xff, 0xff];
        assert_eq!(decode(&indefinite).unwrap(), json!({"a": "xy", "b": [1]}));
        assert_eq!(decode(&[0xf9, 0x3e, 0x00]).unwrap(), json!(1.5), "a half-precision float");
        assert_eq!(
            decode(&[0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).unwrap(),
            json!("-18446744073709551616")
        );
    }

    #[test]
    fn hostile_replies_are_refused_not_a_crash() {
        // An array that says it holds 2^63 items and holds none.
        assert_eq!(decode(&[0x9b, 0x80, 0, 0, 0, 0, 0, 0, 0]), None);
        // Bytes that say they are 2^63 long.
        assert_eq!(decode(&[0x5b, 0x80, 0, 0, 0, 0, 0, 0, 0, 1]), None);
        // Arrays nested past the limit.
        assert_eq!(decode(&vec![0x81; 100_000]), None);
        // An indefinite string whose chunk is another type, one never ended,
        // a break where an item belongs, trailing bytes, text not UTF-8.
        for bad in
            [&[0x7f, 0x41, b'x', 0xff][..], &[0x9f, 0x01], &[0xff], &[0x01, 0x02], &[0x61, 0xff], b"not cbor \xff"]
        {
            assert_eq!(decode(bad), None, "{bad:?}");
        }
    }

    /// Any JSON value, as CBOR: what ciborium (a general CBOR crate) reads
    /// of this codec's writing, and what this codec reads of ciborium's.
    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
            ".{0,40}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                prop::collection::btree_map(".{0,8}", inner, 0..8).prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn the_codec_agrees_with_ciborium(value in json_value()) {
            let mut ours = Vec::new();
            write_any(&value, &mut ours);
            let theirs: Cbor = ciborium::from_reader(ours.as_slice()).expect("ciborium reads ours");
            prop_assert_eq!(decode(&encoded(&theirs)), Some(value.clone()));
            prop_assert_eq!(decode(&ours), Some(value));
        }

        #[test]
        fn any_bytes_decode_or_are_refused(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode(&bytes);
        }
    }
}
