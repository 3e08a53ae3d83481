//! Checking an input against its JSON Schema before a handler sees it: the
//! keywords schemars emits and hand-written schemas commonly use (`type`,
//! `properties`, `required`, `additionalProperties`, `items`, `enum`,
//! `const`, length, size and value bounds, `anyOf`/`oneOf`/`allOf`, local
//! `$ref`s). Errors name the field path (`users[2].email: expected a
//! string`). Keywords it does not know are ignored, never failed on.

use serde_json::{Map, Value};

/// How deep references and nesting are followed.
const MAX_DEPTH: usize = 64;

/// Checks `value` against `schema`; the first problem found, naming its
/// path.
///
/// ```
/// use serde_json::json;
/// let schema = json!({"type": "object", "required": ["name"],
///     "properties": {"name": {"type": "string", "minLength": 1}}, "additionalProperties": false});
/// assert!(connector_sdk::check_input(&schema, &json!({"name": "ann"})).is_ok());
/// assert_eq!(connector_sdk::check_input(&schema, &json!({"name": ""})).unwrap_err(),
///     "name: shorter than the minimum of 1 characters");
/// ```
pub fn check(schema: &Value, value: &Value) -> Result<(), String> {
    Checker { root: schema }.check(schema, value, "", 0)
}

struct Checker<'a> {
    root: &'a Value,
}

fn at(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") }
}

fn fail(path: &str, problem: String) -> Result<(), String> {
    Err(if path.is_empty() { problem } else { format!("{path}: {problem}") })
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn has_type(value: &Value, wanted: &str) -> bool {
    match wanted {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        "number" => value.is_number(),
        "integer" => {
            value.as_i64().is_some() || value.as_u64().is_some() || value.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        _ => true,
    }
}

impl Checker<'_> {
    fn check(&self, schema: &Value, value: &Value, path: &str, depth: usize) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return fail(path, "nested too deep to check".into());
        }
        let Some(schema) = schema.as_object() else {
            // `true` accepts anything, `false` nothing.
            return if schema == &Value::Bool(false) { fail(path, "no value is allowed here".into()) } else { Ok(()) };
        };
        if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            let target = reference.strip_prefix('#').and_then(|pointer| self.root.pointer(pointer));
            match target {
                Some(target) => self.check(target, value, path, depth + 1)?,
                None => return fail(path, format!("the schema refers to `{reference}`, which it does not hold")),
            }
        }
        self.check_type(schema, value, path)?;
        if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
            && !allowed.contains(value)
        {
            let list: Vec<String> = allowed.iter().map(Value::to_string).collect();
            return fail(path, format!("{value} is not one of {}", list.join(", ")));
        }
        if let Some(constant) = schema.get("const")
            && constant != value
        {
            return fail(path, format!("must be {constant}"));
        }
        for combinator in ["allOf", "anyOf", "oneOf"] {
            if let Some(schemas) = schema.get(combinator).and_then(Value::as_array) {
                let results: Vec<Result<(), String>> =
                    schemas.iter().map(|s| self.check(s, value, path, depth + 1)).collect();
                let passed = results.iter().filter(|r| r.is_ok()).count();
                let ok = match combinator {
                    "allOf" => passed == results.len(),
                    "anyOf" => passed > 0,
                    _ => passed == 1,
                };
                if !ok {
                    // The most telling failure is the first of the branches.
                    return match results.into_iter().find(Result::is_err) {
                        Some(Err(problem)) if combinator == "allOf" || schemas.len() == 1 => Err(problem),
                        _ => fail(path, format!("matches none of the allowed forms ({combinator})")),
                    };
                }
            }
        }
        match value {
            Value::String(text) => self.check_string(schema, text, path),
            Value::Number(_) => self.check_number(schema, value, path),
            Value::Array(items) => self.check_array(schema, items, path, depth),
            Value::Object(members) => self.check_object(schema, members, path, depth),
            _ => Ok(()),
        }
    }

    fn check_type(&self, schema: &Map<String, Value>, value: &Value, path: &str) -> Result<(), String> {
        let wanted: Vec<&str> = match schema.get("type") {
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
            _ => return Ok(()),
        };
        if wanted.iter().any(|t| has_type(value, t)) {
            return Ok(());
        }
        let expected: Vec<String> = wanted
            .iter()
            .map(|t| match *t {
                "object" | "array" | "integer" => format!("an {t}"),
                "null" => "null".to_owned(),
                other => format!("a {other}"),
            })
            .collect();
        fail(path, format!("expected {}, got {}", expected.join(" or "), type_name(value)))
    }

    fn check_string(&self, schema: &Map<String, Value>, text: &str, path: &str) -> Result<(), String> {
        let chars = text.chars().count() as u64;
        if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
            && chars < min
        {
            return fail(path, format!("shorter than the minimum of {min} characters"));
        }
        if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
            && chars > max
        {
            return fail(path, format!("longer than the maximum of {max} characters"));
        }
        Ok(())
    }

    fn check_number(&self, schema: &Map<String, Value>, value: &Value, path: &str) -> Result<(), String> {
        let Some(number) = value.as_f64() else { return Ok(()) };
        let bound = |key: &str| schema.get(key).and_then(Value::as_f64);
        if let Some(min) = bound("minimum")
            && number < min
        {
            return fail(path, format!("{value} is below the minimum of {min}"));
        }
        if let Some(max) = bound("maximum")
            && number > max
        {
            return fail(path, format!("{value} is above the maximum of {max}"));
        }
        if let Some(min) = bound("exclusiveMinimum")
            && number <= min
        {
            return fail(path, format!("{value} must be above {min}"));
        }
        if let Some(max) = bound("exclusiveMaximum")
            && number >= max
        {
            return fail(path, format!("{value} must be below {max}"));
        }
        Ok(())
    }

    fn check_array(
        &self,
        schema: &Map<String, Value>,
        items: &[Value],
        path: &str,
        depth: usize,
    ) -> Result<(), String> {
        let count = items.len() as u64;
        if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
            && count < min
        {
            return fail(path, format!("fewer than the minimum of {min} items"));
        }
        if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
            && count > max
        {
            return fail(path, format!("more than the maximum of {max} items"));
        }
        let prefix = schema.get("prefixItems").and_then(Value::as_array);
        for (i, item) in items.iter().enumerate() {
            let item_schema = prefix.and_then(|p| p.get(i)).or_else(|| schema.get("items"));
            if let Some(item_schema) = item_schema {
                self.check(item_schema, item, &format!("{path}[{i}]"), depth + 1)?;
            }
        }
        Ok(())
    }

    fn check_object(
        &self,
        schema: &Map<String, Value>,
        members: &Map<String, Value>,
        path: &str,
        depth: usize,
    ) -> Result<(), String> {
        let properties = schema.get("properties").and_then(Value::as_object);
        if let Some(required) = schema.get("required").and_then(Value::as_array) {
            for name in required.iter().filter_map(Value::as_str) {
                if !members.contains_key(name) {
                    return fail(&at(path, name), "required, but missing".into());
                }
            }
        }
        for (name, member) in members {
            let member_path = at(path, name);
            match properties.and_then(|p| p.get(name)) {
                Some(member_schema) => self.check(member_schema, member, &member_path, depth + 1)?,
                None => match schema.get("additionalProperties") {
                    Some(Value::Bool(false)) => {
                        let known: Vec<&str> =
                            properties.map(|p| p.keys().map(String::as_str).collect()).unwrap_or_default();
                        return fail(&member_path, format!("unknown field; expected one of: {}", known.join(", ")));
                    }
                    Some(additional @ Value::Object(_)) => self.check(additional, member, &member_path, depth + 1)?,
                    _ => {}
                },
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_the_first_problem_by_path() {
        let schema = json!({
            "type": "object",
            "properties": {
                "users": {"type": "array", "items": {"$ref": "#/$defs/user"}, "maxItems": 3},
                "kind": {"enum": ["a", "b"]},
                "size": {"type": ["integer", "null"], "minimum": 1}
            },
            "$defs": {"user": {"type": "object", "required": ["email"], "properties": {"email": {"type": "string"}}}}
        });
        assert!(check(&schema, &json!({"users": [{"email": "a@b"}], "kind": "a", "size": null})).is_ok());
        for (input, problem) in [
            (json!({"users": [{"email": "a@b"}, {"email": 3}]}), "users[1].email: expected a string, got a number"),
            (json!({"users": [{}]}), "users[0].email: required, but missing"),
            (json!({"kind": "c"}), r#"kind: "c" is not one of "a", "b""#),
            (json!({"size": 0}), "size: 0 is below the minimum of 1"),
            (json!({"size": 1.5}), "size: expected an integer or null, got a number"),
            (
                json!({"users": [{"email": ""}, {"email": ""}, {"email": ""}, {"email": ""}]}),
                "users: more than the maximum of 3 items",
            ),
            (json!([]), "expected an object, got an array"),
        ] {
            assert_eq!(check(&schema, &input).unwrap_err(), problem, "{input}");
        }
    }

    #[test]
    fn combinators_and_unresolved_references() {
        let either = json!({"anyOf": [{"type": "string"}, {"type": "integer"}]});
        assert!(check(&either, &json!(3)).is_ok());
        assert!(check(&either, &json!(true)).unwrap_err().contains("matches none of the allowed forms"));
        let broken = json!({"$ref": "#/$defs/nowhere"});
        assert!(check(&broken, &json!(1)).unwrap_err().contains("does not hold"));
        let endless = json!({"$ref": "#"});
        assert!(check(&endless, &json!(1)).unwrap_err().contains("too deep"));
    }
}

/// Property tests (`PROPTEST_CASES=N` runs more): checking any input
/// against any schema ends and never panics.
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn json(words: &'static [&'static str]) -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            proptest::sample::select(words).prop_map(|w| Value::String(w.to_owned())),
            any::<String>().prop_map(Value::String),
        ];
        leaf.prop_recursive(5, 48, 5, move |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                proptest::collection::vec((proptest::sample::select(words), inner), 0..5).prop_map(|members| {
                    Value::Object(members.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
                }),
            ]
        })
    }

    const WORDS: &[&str] = &[
        "type",
        "object",
        "string",
        "integer",
        "array",
        "properties",
        "required",
        "items",
        "enum",
        "const",
        "$ref",
        "#",
        "#/$defs/a",
        "$defs",
        "a",
        "anyOf",
        "oneOf",
        "allOf",
        "minimum",
        "maxLength",
        "additionalProperties",
    ];

    proptest! {
        #[test]
        fn any_value_against_any_schema(schema in json(WORDS), value in json(WORDS)) {
            let _ = check(&schema, &value);
        }
    }
}
