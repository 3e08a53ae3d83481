//! What the property tests share: strategies for hostile input.

use proptest::prelude::*;
use serde_json::{Map, Value};

/// Any JSON value, nested up to `depth` levels, with keys and strings
/// drawn from `words` (so that generated values hit the names a parser
/// looks for) and from arbitrary text.
pub(crate) fn json(depth: u32, words: &'static [&'static str]) -> impl Strategy<Value = Value> {
    let text = prop_oneof![proptest::sample::select(words).prop_map(str::to_owned), any::<String>()];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        text.clone().prop_map(Value::String),
    ];
    leaf.prop_recursive(depth, 64, 6, move |inner| {
        let key = prop_oneof![proptest::sample::select(words).prop_map(str::to_owned), "[a-z$]{0,6}"];
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((key, inner), 0..6)
                .prop_map(|members| Value::Object(members.into_iter().collect::<Map<String, Value>>())),
        ]
    })
}

/// The words of JSON Schema, for schemas that mean something.
pub(crate) const SCHEMA_WORDS: &[&str] = &[
    "type",
    "object",
    "array",
    "string",
    "integer",
    "number",
    "boolean",
    "properties",
    "items",
    "required",
    "enum",
    "$ref",
    "$defs",
    "#",
    "#/$defs/a",
    "#/$defs/b",
    "#/properties/a",
    "#/nowhere",
    "https://example.com/s.json",
    "a",
    "b",
    "writeOnly",
    "allOf",
    "anyOf",
    "additionalProperties",
    "maxLength",
];
