//! JSON Schema (draft 2020-12) of an operation's input, built from the same
//! shape table that `input` checks against, so the two cannot disagree;
//! and of its output, as Cognito sends it (the API's member names), whose
//! `writeOnly` members (the model's sensitive shapes: tokens, secrets,
//! user names) the host hides where it records runs.

use serde_json::{Map, Value, json};

use crate::model::SHAPES;
use crate::shapes::{Kind, Shape};

/// Which way a value goes, which decides its schema's names and rules.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    /// What a user writes: snake_case members, every rule the model has,
    /// nothing unknown.
    Input,
    /// What Cognito answers: the API's member names, and room for what a
    /// newer API adds (members, enum values); bounds are the service's.
    Output,
}

/// The input schema of the structure shape `shape`.
pub fn input_schema(shape: u16, title: &str) -> Value {
    let mut schema = shape_schema(&SHAPES[shape as usize], Side::Input);
    if let Some(object) = schema.as_object_mut() {
        object.insert("$schema".into(), json!("https://json-schema.org/draft/2020-12/schema"));
        object.insert("title".into(), json!(title));
    }
    schema
}

/// The output schema of the structure shape `shape`.
pub fn output_schema(shape: u16) -> Value {
    let mut schema = shape_schema(&SHAPES[shape as usize], Side::Output);
    if let Some(object) = schema.as_object_mut() {
        object.insert("$schema".into(), json!("https://json-schema.org/draft/2020-12/schema"));
    }
    schema
}

fn shape_schema(shape: &Shape, side: Side) -> Value {
    let mut s = Map::new();
    match &shape.kind {
        Kind::Structure(members) => {
            s.insert("type".into(), json!("object"));
            let name = |m: &crate::shapes::Member| if side == Side::Input { m.name } else { m.api_name };
            let properties: Map<String, Value> =
                members.iter().map(|m| (name(m).to_owned(), shape_schema(&SHAPES[m.shape as usize], side))).collect();
            s.insert("properties".into(), Value::Object(properties));
            if side == Side::Input {
                let required: Vec<&str> = members.iter().filter(|m| m.required).map(|m| m.name).collect();
                if !required.is_empty() {
                    s.insert("required".into(), json!(required));
                }
                s.insert("additionalProperties".into(), json!(false));
            }
        }
        Kind::List { item } => {
            s.insert("type".into(), json!("array"));
            s.insert("items".into(), shape_schema(&SHAPES[*item as usize], side));
            if side == Side::Input {
                bounds(&mut s, shape, "minItems", "maxItems");
            }
        }
        Kind::Map { key, value } => {
            s.insert("type".into(), json!("object"));
            if side == Side::Input {
                s.insert("propertyNames".into(), shape_schema(&SHAPES[*key as usize], side));
                bounds(&mut s, shape, "minProperties", "maxProperties");
            }
            s.insert("additionalProperties".into(), shape_schema(&SHAPES[*value as usize], side));
        }
        Kind::String { values } => {
            s.insert("type".into(), json!("string"));
            match (side, values.is_empty()) {
                (Side::Output, _) => {}
                (Side::Input, true) => bounds(&mut s, shape, "minLength", "maxLength"),
                (Side::Input, false) => {
                    s.insert("enum".into(), json!(values));
                }
            }
        }
        Kind::Blob => {
            s.insert("type".into(), json!("string"));
            s.insert("contentEncoding".into(), json!("base64"));
        }
        Kind::Integer => {
            s.insert("type".into(), json!("integer"));
            if side == Side::Input {
                bounds(&mut s, shape, "minimum", "maximum");
            }
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

    #[test]
    fn outputs_use_the_api_names_and_mark_the_model_secrets() {
        let sign_in = operation("admin_initiate_auth").unwrap();
        let schema = output_schema(sign_in.output.unwrap());
        let tokens = &schema["properties"]["AuthenticationResult"]["properties"];
        for token in ["AccessToken", "IdToken", "RefreshToken"] {
            assert_eq!(tokens[token]["writeOnly"], json!(true), "{token}");
        }
        assert_eq!(tokens["ExpiresIn"]["type"], "integer");
        assert!(schema.get("additionalProperties").is_none(), "a newer API may add members");
        let user = output_schema(operation("admin_create_user").unwrap().output.unwrap());
        assert_eq!(user["properties"]["User"]["properties"]["Username"]["writeOnly"], json!(true));
        assert!(operation("admin_add_user_to_group").unwrap().output.is_none());
    }
}
