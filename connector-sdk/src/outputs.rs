//! Output schemas for operations that can return what any of several
//! others return (a universal "call any action" operation): one schema
//! holding every member of theirs, with every member any of them marks
//! `writeOnly` marked so, so a host hides a secret whichever action
//! answered.

use serde_json::{Map, Value};

/// The union of `schemas` for hiding secrets: objects hold the members of
/// all of them (merged where names meet), arrays and maps merge their
/// items and values, definitions (`$defs`) are merged by name, the
/// alternatives of `anyOf`, `oneOf` and `allOf` are all kept, a member is
/// `writeOnly` if it is in any, and a type stays only where all agree.
///
/// ```
/// use serde_json::json;
/// let sign_in = json!({"type": "object", "properties": {"Token": {"type": "string", "writeOnly": true}}});
/// let pool = json!({"type": "object", "properties": {"Id": {"type": "string"}}});
/// let union = connector_sdk::outputs::union([sign_in, pool]);
/// assert_eq!(union["properties"]["Token"]["writeOnly"], json!(true));
/// assert_eq!(union["properties"]["Id"]["type"], json!("string"));
/// ```
pub fn union(schemas: impl IntoIterator<Item = Value>) -> Value {
    let mut merged = Map::new();
    let mut first = true;
    for schema in schemas {
        if let Value::Object(schema) = schema {
            if first {
                merged = schema;
                first = false;
            } else {
                merge(&mut merged, schema);
            }
        }
    }
    merged.remove("title");
    merged.remove("description");
    Value::Object(merged)
}

fn merge(into: &mut Map<String, Value>, from: Map<String, Value>) {
    if into.get("type") != from.get("type") {
        into.remove("type");
    }
    for (key, value) in from {
        match (key.as_str(), into.get_mut(&key), value) {
            ("writeOnly", _, Value::Bool(true)) => {
                into.insert(key, Value::Bool(true));
            }
            ("properties" | "$defs" | "definitions", Some(Value::Object(ours)), Value::Object(theirs)) => {
                for (name, schema) in theirs {
                    match (ours.get_mut(&name), schema) {
                        (Some(Value::Object(mine)), Value::Object(other)) => merge(mine, other),
                        (None, schema) => {
                            ours.insert(name, schema);
                        }
                        _ => {}
                    }
                }
            }
            ("items" | "additionalProperties", Some(Value::Object(ours)), Value::Object(theirs)) => {
                merge(ours, theirs);
            }
            // Every alternative of either still applies somewhere.
            ("anyOf" | "oneOf" | "allOf", Some(Value::Array(ours)), Value::Array(theirs)) => ours.extend(theirs),
            ("type", ..) => {}
            (_, None, value) => {
                into.insert(key, value);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_anywhere_stay_secret_in_the_union() {
        let a = json!({"type": "object", "properties": {
            "User": {"type": "object", "properties": {"Username": {"type": "string", "writeOnly": true}}},
            "Items": {"type": "array", "items": {"type": "object", "properties": {"Value": {"type": "string"}}}}}});
        let b = json!({"type": "object", "properties": {
            "User": {"type": "object", "properties": {"Enabled": {"type": "boolean"}}},
            "Items": {"type": "array", "items": {"type": "object", "properties": {"Value": {"writeOnly": true}}}},
            "Tags": {"type": "object", "additionalProperties": {"type": "string"}}}});
        let union = union([a, b, json!(true)]);
        let user = &union["properties"]["User"]["properties"];
        assert_eq!(user["Username"]["writeOnly"], json!(true));
        assert_eq!(user["Enabled"]["type"], json!("boolean"));
        assert_eq!(union["properties"]["Items"]["items"]["properties"]["Value"]["writeOnly"], json!(true));
        assert!(union["properties"]["Items"]["items"]["properties"]["Value"].get("type").is_none());
        assert_eq!(union["properties"]["Tags"]["additionalProperties"]["type"], json!("string"));
    }

    #[test]
    fn definitions_and_alternatives_of_every_schema_are_kept() {
        let a = json!({"$defs": {"A": {"type": "string"}}, "anyOf": [{"$ref": "#/$defs/A"}]});
        let b =
            json!({"$defs": {"A": {"writeOnly": true}, "B": {"type": "integer"}}, "anyOf": [{"$ref": "#/$defs/B"}]});
        let union = union([a, b]);
        assert_eq!(union["$defs"]["A"]["writeOnly"], json!(true));
        assert_eq!(union["$defs"]["B"]["type"], json!("integer"));
        assert_eq!(union["anyOf"].as_array().unwrap().len(), 2);
    }
}
