//! Hiding the secrets of an input before it is recorded or logged: members
//! the operation's JSON Schema marks `writeOnly` (passwords, client
//! secrets, tokens) are shown as `"***"`, and so is any copy of such a
//! value in a later step's input (a reference may carry a password into a
//! member that is not secret, or into a longer string). The operation
//! itself still gets the real value.
//!
//! Fails closed: where the schema cannot be followed (a `$ref` that points
//! nowhere, nesting past the walk's bound), the value is masked.

use serde_json::{Map, Value};

/// What a masked member shows instead of its value.
pub const MASK: &str = "***";

/// How deep the walk goes (`$ref`s included) before it masks what is left.
const MAX_DEPTH: usize = 64;

/// Copies of secrets shorter than this are not searched for elsewhere: too
/// likely to match ordinary text (a sensitive attribute whose value is
/// `true` once turned every `true` of a record into `"***"`).
const MIN_SECRET_CHARS: usize = 6;

/// `value` with every member that `schema` marks `writeOnly` replaced by
/// `"***"`. Follows `properties`, `additionalProperties`, `items`,
/// `prefixItems`, `allOf`/`anyOf`/`oneOf` and local `$ref`s.
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
    walk(schema, &[schema], value, 0, &mut |_| {})
}

/// The values (as text) at the members `schema` marks `writeOnly` in
/// `value`: what [`redact`] should hide wherever else it turns up. A
/// secret object or array gives its whole text and each string and
/// number inside it (a password inside a secret map of parameters).
pub fn write_only_values(schema: &Value, value: &Value) -> Vec<String> {
    let mut found = Vec::new();
    let mut keep = |text: String| {
        if text.chars().count() >= MIN_SECRET_CHARS {
            found.push(text);
        }
    };
    walk(schema, &[schema], value, 0, &mut |secret| {
        let mut pending = vec![secret];
        while let Some(value) = pending.pop() {
            match value {
                Value::String(text) => keep(text.clone()),
                Value::Number(number) => keep(number.to_string()),
                Value::Array(items) => pending.extend(items),
                Value::Object(members) => pending.extend(members.values()),
                Value::Bool(_) | Value::Null => {}
            }
        }
        if secret.is_object() || secret.is_array() {
            keep(secret.to_string());
        }
    });
    found
}

/// `value` with every occurrence of each of `secrets` inside its strings
/// (and keys) replaced by `"***"`, the longest first where they overlap
/// (a password that starts with a secret user name is hidden whole), and
/// numbers that are one of them too.
pub fn redact(value: &Value, secrets: &[String]) -> Value {
    if secrets.is_empty() {
        return value.clone();
    }
    let mut unique: Vec<&str> = secrets.iter().map(String::as_str).collect();
    unique.sort_unstable();
    unique.dedup();
    let Ok(finder) =
        aho_corasick::AhoCorasick::builder().match_kind(aho_corasick::MatchKind::LeftmostLongest).build(&unique)
    else {
        // Too many secrets for an automaton (it does not happen within
        // the run limits): hide every string rather than none.
        return hide_all(value);
    };
    redact_with(value, &finder, &unique)
}

fn redact_with(value: &Value, finder: &aho_corasick::AhoCorasick, secrets: &[&str]) -> Value {
    let hide = |text: &str| -> String {
        if finder.is_match(text) { finder.replace_all(text, &vec![MASK; secrets.len()]) } else { text.to_owned() }
    };
    match value {
        Value::String(s) => Value::String(hide(s)),
        Value::Array(items) => Value::Array(items.iter().map(|v| redact_with(v, finder, secrets)).collect()),
        Value::Object(members) => {
            Value::Object(members.iter().map(|(k, v)| (hide(k), redact_with(v, finder, secrets))).collect())
        }
        Value::Number(number) => {
            let text = number.to_string();
            if secrets.contains(&text.as_str()) { Value::String(MASK.to_owned()) } else { value.clone() }
        }
        // `true`, `false` and `null` carry no secret.
        other => other.clone(),
    }
}

/// `value` with every string masked.
fn hide_all(value: &Value) -> Value {
    match value {
        Value::String(_) => Value::String(MASK.to_owned()),
        Value::Array(items) => Value::Array(items.iter().map(hide_all).collect()),
        Value::Object(members) => Value::Object(members.iter().map(|(k, v)| (k.clone(), hide_all(v))).collect()),
        other => other.clone(),
    }
}

/// Masks `value` as the schemas `schemas` (all of which apply) say,
/// calling `found` with each masked value.
fn walk(root: &Value, schemas: &[&Value], value: &Value, depth: usize, found: &mut dyn FnMut(&Value)) -> Value {
    let Some(schemas) = expand(root, schemas, depth) else {
        found(value);
        return Value::String(MASK.to_owned());
    };
    if schemas.iter().any(|s| s.get("writeOnly").and_then(Value::as_bool) == Some(true)) {
        found(value);
        return Value::String(MASK.to_owned());
    }
    if depth >= MAX_DEPTH && (value.is_object() || value.is_array()) {
        found(value);
        return Value::String(MASK.to_owned());
    }
    match value {
        Value::Object(members) => {
            let masked: Map<String, Value> = members
                .iter()
                .map(|(key, member)| {
                    let member_schemas: Vec<&Value> = schemas
                        .iter()
                        .filter_map(|s| {
                            s.get("properties")
                                .and_then(|p| p.get(key))
                                .or_else(|| s.get("additionalProperties").filter(|a| a.is_object()))
                        })
                        .collect();
                    (key.clone(), walk(root, &member_schemas, member, depth + 1, found))
                })
                .collect();
            Value::Object(masked)
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    let item_schemas: Vec<&Value> = schemas
                        .iter()
                        .filter_map(|s| {
                            s.get("prefixItems")
                                .and_then(|p| p.get(i))
                                .or_else(|| s.get("items").filter(|items| items.is_object()))
                        })
                        .collect();
                    walk(root, &item_schemas, item, depth + 1, found)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// `schemas` with their `$ref`s resolved and their `allOf`, `anyOf` and
/// `oneOf` members added; `None` when a reference points nowhere or the
/// expansion goes past the bound.
fn expand<'a>(root: &'a Value, schemas: &[&'a Value], depth: usize) -> Option<Vec<&'a Value>> {
    let mut out: Vec<&Value> = Vec::new();
    let mut pending: Vec<(&Value, usize)> = schemas.iter().map(|s| (*s, depth)).collect();
    while let Some((schema, level)) = pending.pop() {
        if level > MAX_DEPTH || out.len() > 256 {
            return None;
        }
        if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            let target = reference.strip_prefix('#').and_then(|pointer| root.pointer(pointer))?;
            pending.push((target, level + 1));
        }
        for combinator in ["allOf", "anyOf", "oneOf"] {
            if let Some(members) = schema.get(combinator).and_then(Value::as_array) {
                pending.extend(members.iter().map(|m| (m, level + 1)));
            }
        }
        out.push(schema);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn masks_nested_maps_lists_references_and_combinators() {
        let schema = json!({
            "type": "object",
            "properties": {
                "auth_parameters": {"type": "object", "additionalProperties": {"type": "string"}, "writeOnly": true},
                "users": {"type": "array", "items": {"$ref": "#/$defs/user"}},
                "tags": {"type": "object", "additionalProperties": {"type": "string"}},
                "either": {"anyOf": [{"type": "string"}, {"type": "string", "writeOnly": true}]}
            },
            "$defs": {"user": {"type": "object", "properties": {
                "name": {"type": "string"}, "secret": {"type": "string", "writeOnly": true},
                "friend": {"$ref": "#/$defs/user"}}}}
        });
        let input = json!({
            "auth_parameters": {"PASSWORD": "hunter2"},
            "users": [{"name": "ann", "secret": "s1", "friend": {"name": "bo", "secret": "s2"}}],
            "tags": {"team": "marketing"},
            "either": "maybe secret",
            "unknown": "kept"
        });
        assert_eq!(
            mask_write_only(&schema, &input),
            json!({
                "auth_parameters": "***",
                "users": [{"name": "ann", "secret": "***", "friend": {"name": "bo", "secret": "***"}}],
                "tags": {"team": "marketing"},
                "either": "***",
                "unknown": "kept"
            })
        );
        let found =
            write_only_values(&schema, &json!({"auth_parameters": {"PASSWORD": "hunter2"}, "either": "maybe secret"}));
        assert_eq!(found, ["hunter2", r#"{"PASSWORD":"hunter2"}"#, "maybe secret"]);
    }

    #[test]
    fn what_cannot_be_followed_is_masked() {
        let broken = json!({"properties": {"a": {"$ref": "#/$defs/missing"}}});
        assert_eq!(mask_write_only(&broken, &json!({"a": "x", "b": "y"})), json!({"a": "***", "b": "y"}));
        let endless = json!({"$ref": "#"});
        assert_eq!(mask_write_only(&endless, &json!({"a": 1})), json!("***"));
    }

    #[test]
    fn secrets_inside_a_secret_map_are_hunted_one_by_one() {
        let schema = json!({"type": "object", "properties": {
            "auth_parameters": {"type": "object", "additionalProperties": {"type": "string"}, "writeOnly": true}}});
        let found = write_only_values(
            &schema,
            &json!({"auth_parameters": {"USERNAME": "gina-user", "PASSWORD": "Corr3ct-Horse!"}}),
        );
        assert!(found.contains(&"gina-user".to_owned()) && found.contains(&"Corr3ct-Horse!".to_owned()), "{found:?}");
        let copied = json!({"note": "signed in as gina-user with Corr3ct-Horse!"});
        assert_eq!(redact(&copied, &found), json!({"note": "signed in as *** with ***"}));
    }

    #[test]
    fn the_longest_secret_is_hidden_whole() {
        let secrets = vec!["marketing".to_owned(), "marketing-2024!".to_owned(), "marketing".to_owned()];
        assert_eq!(redact(&json!("pw: marketing-2024! user: marketing"), &secrets), json!("pw: *** user: ***"));
    }

    #[test]
    fn copies_of_secrets_are_redacted_anywhere() {
        let secrets = vec!["Corr3ct-Horse".to_owned(), "abc".to_owned(), "123456".to_owned()];
        let value = json!({"note": "password is Corr3ct-Horse!", "list": ["Corr3ct-Horse"], "short": "abc",
                           "pin": 123456, "enabled": true});
        assert_eq!(
            redact(&value, &secrets),
            json!({"note": "password is ***!", "list": ["***"], "short": "***", "pin": "***", "enabled": true})
        );
        for short in [json!("abcde"), json!(true)] {
            let found = write_only_values(&json!({"writeOnly": true}), &short);
            assert_eq!(found, Vec::<String>::new(), "too short to hunt: {short}");
        }
    }
}
