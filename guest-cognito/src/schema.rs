//! JSON Schema (draft 2020-12) of an operation's input, built from the same
//! shape table that `input` checks against, so the two cannot disagree.

use serde_json::{Map, Value, json};

use crate::model::SHAPES;
use crate::shapes::{Kind, Shape};

/// The input schema of the structure shape `shape`.
pub fn input_schema(shape: u16, title: &str) -> Value {
    let mut schema = shape_schema(&SHAPES[shape as usize]);
    let object = schema.as_object_mut().expect("operation inputs are structures");
    object.insert("$schema".into(), json!("https://json-schema.org/draft/2020-12/schema"));
    object.insert("title".into(), json!(title));
    schema
}

fn shape_schema(shape: &Shape) -> Value {
    let mut s = Map::new();
    match &shape.kind {
        Kind::Structure(members) => {
            s.insert("type".into(), json!("object"));
            let properties: Map<String, Value> =
                members.iter().map(|m| (m.name.to_owned(), shape_schema(&SHAPES[m.shape as usize]))).collect();
            s.insert("properties".into(), Value::Object(properties));
            let required: Vec<&str> = members.iter().filter(|m| m.required).map(|m| m.name).collect();
            if !required.is_empty() {
                s.insert("required".into(), json!(required));
            }
            s.insert("additionalProperties".into(), json!(false));
        }
        Kind::List { item } => {
            s.insert("type".into(), json!("array"));
            s.insert("items".into(), shape_schema(&SHAPES[*item as usize]));
            bounds(&mut s, shape, "minItems", "maxItems");
        }
        Kind::Map { key, value } => {
            s.insert("type".into(), json!("object"));
            s.insert("propertyNames".into(), shape_schema(&SHAPES[*key as usize]));
            s.insert("additionalProperties".into(), shape_schema(&SHAPES[*value as usize]));
            bounds(&mut s, shape, "minProperties", "maxProperties");
        }
        Kind::String { values } => {
            s.insert("type".into(), json!("string"));
            if values.is_empty() {
                bounds(&mut s, shape, "minLength", "maxLength");
            } else {
                s.insert("enum".into(), json!(values));
            }
        }
        Kind::Blob => {
            s.insert("type".into(), json!("string"));
            s.insert("contentEncoding".into(), json!("base64"));
        }
        Kind::Integer => {
            s.insert("type".into(), json!("integer"));
            bounds(&mut s, shape, "minimum", "maximum");
        }
        Kind::Number => {
            s.insert("type".into(), json!("number"));
        }
        Kind::Timestamp => {
            s.insert("type".into(), json!("number"));
            s.insert("description".into(), json!("Seconds since 1970-01-01T00:00:00Z"));
        }
        Kind::Boolean => {
            s.insert("type".into(), json!("boolean"));
        }
        Kind::Document => {}
    }
    if shape.sensitive {
        s.insert("writeOnly".into(), json!(true));
    }
    Value::Object(s)
}

fn bounds(s: &mut Map<String, Value>, shape: &Shape, min_key: &str, max_key: &str) {
    if let Some(min) = shape.min {
        s.insert(min_key.into(), json!(min));
    }
    if let Some(max) = shape.max {
        s.insert(max_key.into(), json!(max));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operation;

    #[test]
    fn create_user_pool_schema_matches_the_api() {
        let op = operation("create_user_pool").unwrap();
        let schema = input_schema(op.input, op.title);
        assert_eq!(schema["required"], json!(["pool_name"]));
        assert_eq!(schema["additionalProperties"], json!(false));
        let pool_name = &schema["properties"]["pool_name"];
        assert_eq!(pool_name["type"], "string");
        assert_eq!(pool_name["minLength"], 1);
        assert_eq!(pool_name["maxLength"], 128);
        let attribute = &schema["properties"]["schema"]["items"];
        assert_eq!(
            attribute["properties"]["attribute_data_type"]["enum"],
            json!(["String", "Number", "DateTime", "Boolean"])
        );
        assert_eq!(schema["properties"]["user_pool_tags"]["additionalProperties"]["type"], "string");
    }
}
