//! Checks a user's snake_case input against an operation's input shape and
//! converts it to the API's JSON (PascalCase member names), in one walk.
//!
//! Member names are converted from the shape table, never by a string rule,
//! and the keys of free-form maps (`client_metadata`, `user_pool_tags`) are
//! passed through as the user wrote them.

use serde_json::{Map, Value};

use super::{Kind, Member, Service, Shape};

/// Why an input was rejected: the field path and what is wrong with it.
#[derive(Debug, PartialEq)]
pub struct InputError {
    /// `schema[2].attribute_data_type`; empty for the input object itself.
    pub path: String,
    pub problem: String,
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            write!(f, "input: {}", self.problem)
        } else {
            write!(f, "{}: {}", self.path, self.problem)
        }
    }
}

/// Converts `input` (snake_case) to the API's JSON for `service`'s
/// structure shape `shape`, or says which field is wrong.
pub fn to_api(service: &'static Service, shape: u16, input: &Value) -> Result<Value, InputError> {
    let mut path = String::new();
    convert(service, service.shape(shape), input, &mut path)
}

fn convert(service: &'static Service, shape: &Shape, value: &Value, path: &mut String) -> Result<Value, InputError> {
    let fail = |path: &str, problem: String| Err(InputError { path: path.to_owned(), problem });
    match (&shape.kind, value) {
        (Kind::Structure(members), Value::Object(fields)) => convert_structure(service, members, fields, path),
        (Kind::Union(members), Value::Object(fields)) => {
            if fields.values().filter(|v| !v.is_null()).count() != 1 {
                return fail(path, format!("set exactly one of: {}", names(members)));
            }
            convert_structure(service, members, fields, path)
        }
        (Kind::List { item }, Value::Array(items)) => {
            check_bounds(shape, items.len(), "items", path)?;
            let item_shape = service.shape(*item);
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                out.push(convert(service, item_shape, item, path)?);
                path.truncate(len);
            }
            Ok(Value::Array(out))
        }
        (Kind::Map { key, value: value_shape }, Value::Object(entries)) => {
            check_bounds(shape, entries.len(), "entries", path)?;
            let (key_shape, value_shape) = (service.shape(*key), service.shape(*value_shape));
            let mut out = Map::with_capacity(entries.len());
            for (k, v) in entries {
                let len = path.len();
                push_key(path, k);
                check_string(key_shape, k, path)
                    .map_err(|e| InputError { problem: format!("invalid key: {}", e.problem), ..e })?;
                out.insert(k.clone(), convert(service, value_shape, v, path)?);
                path.truncate(len);
            }
            Ok(Value::Object(out))
        }
        (Kind::String { .. }, Value::String(s)) => {
            check_string(shape, s, path)?;
            Ok(value.clone())
        }
        (Kind::Blob, Value::String(_)) | (Kind::Boolean, Value::Bool(_)) | (Kind::Document, _) => Ok(value.clone()),
        (Kind::Integer, Value::Number(n)) => match n.as_i64() {
            Some(i) => {
                check_range(shape, i, path)?;
                Ok(value.clone())
            }
            None => fail(path, format!("expected an integer, got {n}")),
        },
        (Kind::Number | Kind::Timestamp(_), Value::Number(_)) => Ok(value.clone()),
        (kind, other) => fail(path, format!("expected {}, got {}", expected(kind), describe(other))),
    }
}

fn convert_structure(
    service: &'static Service,
    members: &[Member],
    fields: &Map<String, Value>,
    path: &mut String,
) -> Result<Value, InputError> {
    let mut out = Map::with_capacity(fields.len());
    for (key, value) in fields {
        let len = path.len();
        push_field(path, key);
        let Some(member) = members.iter().find(|m| m.name == key) else {
            let hint =
                match members.iter().find(|m| m.api_name == key || m.name.replace('_', "") == key.to_ascii_lowercase())
                {
                    Some(m) => format!("; did you mean `{}`?", m.name),
                    None => format!("; expected one of: {}", names(members)),
                };
            return Err(InputError { path: path.clone(), problem: format!("unknown field{hint}") });
        };
        // An explicit null is the same as leaving the member out.
        if !value.is_null() {
            out.insert(member.api_name.to_owned(), convert(service, service.shape(member.shape), value, path)?);
        }
        path.truncate(len);
    }
    for member in members.iter().filter(|m| m.required) {
        if !out.contains_key(member.api_name) {
            let len = path.len();
            push_field(path, member.name);
            let err = InputError { path: path.clone(), problem: "required field is missing".into() };
            path.truncate(len);
            return Err(err);
        }
    }
    Ok(Value::Object(out))
}

fn check_string(shape: &Shape, s: &str, path: &str) -> Result<(), InputError> {
    if let Kind::String { values } = shape.kind
        && !values.is_empty()
        && !values.contains(&s)
    {
        return Err(InputError {
            path: path.to_owned(),
            problem: format!("`{s}` is not one of: {}", values.join(", ")),
        });
    }
    check_bounds(shape, s.chars().count(), "characters", path)
}

fn check_bounds(shape: &Shape, len: usize, unit: &str, path: &str) -> Result<(), InputError> {
    let len = len as i64;
    let problem = match (shape.min(), shape.max()) {
        (Some(min), _) if len < min => format!("has {len} {unit}, at least {min} needed"),
        (_, Some(max)) if len > max => format!("has {len} {unit}, at most {max} allowed"),
        _ => return Ok(()),
    };
    Err(InputError { path: path.to_owned(), problem })
}

fn check_range(shape: &Shape, n: i64, path: &str) -> Result<(), InputError> {
    let problem = match (shape.min(), shape.max()) {
        (Some(min), _) if n < min => format!("{n} is below the minimum {min}"),
        (_, Some(max)) if n > max => format!("{n} is above the maximum {max}"),
        _ => return Ok(()),
    };
    Err(InputError { path: path.to_owned(), problem })
}

fn push_field(path: &mut String, name: &str) {
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(name);
}

fn push_key(path: &mut String, key: &str) {
    path.push('[');
    path.push_str(&Value::String(key.to_owned()).to_string());
    path.push(']');
}

fn names(members: &[Member]) -> String {
    members.iter().map(|m| m.name).collect::<Vec<_>>().join(", ")
}

fn expected(kind: &Kind) -> &'static str {
    match kind {
        Kind::Structure(_) | Kind::Union(_) | Kind::Map { .. } => "an object",
        Kind::List { .. } => "an array",
        Kind::String { .. } => "a string",
        Kind::Blob => "a base64 string",
        Kind::Integer => "an integer",
        Kind::Number => "a number",
        Kind::Boolean => "true or false",
        Kind::Timestamp(_) => "a timestamp in epoch seconds",
        Kind::Document => "any JSON value",
        Kind::EventStream(_) => "no value (the service streams these events)",
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) if s.chars().count() > 40 => "a string".into(),
        Value::String(s) => format!("the string {}", Value::String(s.clone())),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}
