//! A workflow's inputs: the JSON Schema it declares (`"inputs"`), and the
//! values a run is given, checked against it before any step runs.
//!
//! The schema comes from whoever wrote the workflow: it is checked against
//! JSON Schema 2020-12's meta-schema, its `$ref`s cannot reach files or the
//! network (the validator is built without them), and its `pattern`s run
//! on a linear-time regex engine, so no input can make a check backtrack
//! for long.

use anyhow::{Context, bail};
use serde_json::{Map, Value};

/// Most problems one refusal lists.
const MAX_PROBLEMS: usize = 10;

/// Checks a workflow's input schema: valid JSON Schema 2020-12, describing
/// an object.
pub(crate) fn check_schema(schema: &Value) -> anyhow::Result<()> {
    if !schema.is_object() {
        bail!("inputs must be a JSON Schema object");
    }
    if let Some(kind) = schema.get("type")
        && kind != "object"
    {
        bail!("inputs must describe an object (its `type` is {kind})");
    }
    if let Some(problem) = crate::runtime::schema_problems("inputs", schema).into_iter().next() {
        bail!(problem);
    }
    validator(schema).map(|_| ())
}

fn validator(schema: &Value) -> anyhow::Result<jsonschema::Validator> {
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .with_pattern_options(jsonschema::PatternOptions::regex())
        .build(schema)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("inputs is not a usable JSON Schema")
}

/// The run's inputs: `given` checked against `schema`, with the defaults
/// of the top-level members it leaves out filled in; or every problem
/// found (up to ten), each with the path of the member at fault.
pub(crate) fn accept(schema: Option<&Value>, given: Option<&Value>) -> Result<Value, String> {
    let empty = Value::Object(Map::new());
    let Some(schema) = schema else {
        return match given {
            None => Ok(empty),
            Some(Value::Object(fields)) if fields.is_empty() => Ok(empty),
            Some(_) => Err("the workflow declares no inputs, and some were given".to_owned()),
        };
    };
    let mut inputs = given.cloned().unwrap_or(empty);
    if !inputs.is_object() {
        return Err("inputs must be a JSON object".to_owned());
    }
    if let (Value::Object(fields), Some(Value::Object(properties))) = (&mut inputs, schema.get("properties")) {
        for (name, property) in properties {
            if let Some(default) = property.get("default")
                && !fields.contains_key(name)
            {
                fields.insert(name.clone(), default.clone());
            }
        }
    }
    let validator = validator(schema).map_err(|e| format!("{e:#}"))?;
    let problems: Vec<String> = validator
        .iter_errors(&inputs)
        .take(MAX_PROBLEMS)
        .map(|error| {
            let path = error.instance_path().to_string();
            let message: String = error.to_string().chars().take(300).collect();
            format!("inputs{}: {message}", if path.is_empty() { String::new() } else { path })
        })
        .collect();
    if problems.is_empty() { Ok(inputs) } else { Err(problems.join("; ")) }
}

/// The names of the top-level members `schema` declares, if it lists them.
pub(crate) fn declared(schema: &Value) -> Option<Vec<&str>> {
    let properties = schema.get("properties")?.as_object()?;
    Some(properties.keys().map(String::as_str).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "pool_name": {"type": "string", "minLength": 1, "pattern": "^[A-Za-z ]+$"},
                "count": {"type": "integer", "minimum": 1, "default": 1},
                "password": {"type": "string", "writeOnly": true}
            },
            "required": ["pool_name"],
            "additionalProperties": false
        })
    }

    #[test]
    fn inputs_are_checked_and_defaults_filled() {
        let schema = schema();
        check_schema(&schema).unwrap();
        let given = json!({"pool_name": "Marketing Department"});
        assert_eq!(
            accept(Some(&schema), Some(&given)).unwrap(),
            json!({"pool_name": "Marketing Department", "count": 1})
        );
        let err = accept(Some(&schema), Some(&json!({"pool_name": "", "count": 0, "extra": true}))).unwrap_err();
        for part in ["inputs/pool_name", "inputs/count", "extra"] {
            assert!(err.contains(part), "{part} in {err}");
        }
        let missing = accept(Some(&schema), None).unwrap_err();
        assert!(missing.contains("\"pool_name\" is a required property"), "{missing}");
        assert_eq!(accept(None, None).unwrap(), json!({}));
        assert!(accept(None, Some(&json!({"a": 1}))).unwrap_err().contains("declares no inputs"));
        let untyped = json!({"properties": {"a": {"type": "string"}}});
        assert_eq!(accept(Some(&untyped), Some(&json!(["a"]))).unwrap_err(), "inputs must be a JSON object");
    }

    #[test]
    fn bad_schemas_are_refused() {
        assert!(check_schema(&json!("string")).is_err());
        assert!(format!("{:#}", check_schema(&json!({"type": "array"})).unwrap_err()).contains("describe an object"));
        assert!(check_schema(&json!({"type": "object", "properties": {"a": {"type": "strin"}}})).is_err());
        let remote = json!({"type": "object", "properties": {"a": {"$ref": "https://example.com/schema.json"}}});
        assert!(check_schema(&remote).is_err(), "no $ref to the network");
        let file = json!({"type": "object", "properties": {"a": {"$ref": "file:///etc/passwd"}}});
        assert!(check_schema(&file).is_err(), "no $ref to files");
    }
}
