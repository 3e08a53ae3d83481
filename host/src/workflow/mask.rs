//! Hiding the secrets of an input before it is recorded or logged: members
//! the operation's JSON Schema marks `writeOnly` (passwords, client
//! secrets, tokens) are shown as `"***"`. The operation itself still gets
//! the real value.

use serde_json::{Map, Value};

/// What a masked member shows instead of its value.
pub const MASK: &str = "***";

/// How deep `$ref`s are followed before the walk stops (a schema may refer
/// to itself).
const MAX_REF_DEPTH: usize = 32;

/// `value` with every member that `schema` marks `writeOnly` replaced by
/// `"***"`. Follows `properties`, `additionalProperties`, `items`,
/// `prefixItems` and local `$ref`s (`#/$defs/...`).
///
/// ```
/// use connector_host::workflow::mask_write_only;
/// use serde_json::json;
/// let schema = json!({"type": "object", "properties": {
///     "username": {"type": "string"},
///     "password": {"type": "string", "writeOnly": true}}});
/// let masked = mask_write_only(&schema, &json!({"username": "ann", "password": "hunter2"}));
/// assert_eq!(masked, json!({"username": "ann", "password": "***"}));
/// ```
pub fn mask_write_only(schema: &Value, value: &Value) -> Value {
    mask(schema, schema, value, 0)
}

fn mask(root: &Value, schema: &Value, value: &Value, depth: usize) -> Value {
    let Some(schema) = resolve(root, schema, depth) else { return value.clone() };
    if schema.get("writeOnly").and_then(Value::as_bool) == Some(true) {
        return Value::String(MASK.to_owned());
    }
    match value {
        Value::Object(members) => {
            let properties = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties").filter(|s| s.is_object());
            let masked: Map<String, Value> = members
                .iter()
                .map(|(key, member)| {
                    let member_schema = properties.and_then(|p| p.get(key)).or(additional);
                    let shown = match member_schema {
                        Some(member_schema) => mask(root, member_schema, member, depth + 1),
                        None => member.clone(),
                    };
                    (key.clone(), shown)
                })
                .collect();
            Value::Object(masked)
        }
        Value::Array(items) => {
            let prefix = schema.get("prefixItems").and_then(Value::as_array);
            let rest = schema.get("items").filter(|s| s.is_object());
            Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| match prefix.and_then(|p| p.get(i)).or(rest) {
                        Some(item_schema) => mask(root, item_schema, item, depth + 1),
                        None => item.clone(),
                    })
                    .collect(),
            )
        }
        other => other.clone(),
    }
}

/// `schema`, or what its local `$ref` points at.
fn resolve<'a>(root: &'a Value, schema: &'a Value, depth: usize) -> Option<&'a Value> {
    let mut schema = schema;
    for _ in depth..MAX_REF_DEPTH {
        let Some(reference) = schema.get("$ref").and_then(Value::as_str) else { return Some(schema) };
        if schema.get("writeOnly").and_then(Value::as_bool) == Some(true) {
            return Some(schema);
        }
        let pointer = reference.strip_prefix('#')?;
        schema = root.pointer(pointer)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn masks_nested_maps_lists_and_references() {
        let schema = json!({
            "type": "object",
            "properties": {
                "auth_parameters": {"type": "object", "additionalProperties": {"type": "string"}, "writeOnly": true},
                "users": {"type": "array", "items": {"$ref": "#/$defs/user"}},
                "tags": {"type": "object", "additionalProperties": {"type": "string"}}
            },
            "$defs": {"user": {"type": "object", "properties": {
                "name": {"type": "string"}, "secret": {"type": "string", "writeOnly": true},
                "friend": {"$ref": "#/$defs/user"}}}}
        });
        let input = json!({
            "auth_parameters": {"PASSWORD": "hunter2"},
            "users": [{"name": "ann", "secret": "s1", "friend": {"name": "bo", "secret": "s2"}}],
            "tags": {"team": "marketing"},
            "unknown": "kept"
        });
        assert_eq!(
            mask_write_only(&schema, &input),
            json!({
                "auth_parameters": "***",
                "users": [{"name": "ann", "secret": "***", "friend": {"name": "bo", "secret": "***"}}],
                "tags": {"team": "marketing"},
                "unknown": "kept"
            })
        );
    }

    #[test]
    fn self_referencing_schemas_end() {
        let schema = json!({"$ref": "#"});
        assert_eq!(mask_write_only(&schema, &json!({"a": 1})), json!({"a": 1}));
        let broken = json!({"properties": {"a": {"$ref": "#/$defs/missing"}}});
        assert_eq!(mask_write_only(&broken, &json!({"a": "x"})), json!({"a": "x"}));
    }
}
