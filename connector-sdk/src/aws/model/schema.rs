//! JSON Schema (draft 2020-12) of an operation's input, built from the same
//! shape table that `input` checks against, so the two cannot disagree;
//! and of its output, as the service sends it (the API's member names), whose
//! `writeOnly` members (the model's sensitive shapes: tokens, secrets,
//! user names) the host hides where it records runs. A shape on a cycle
//! (a value holding lists and maps of its own kind) is a shared definition
//! under `$defs` that refers to itself, so every schema is finite.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::{Kind, Member, Service, Shape};

/// Which way a value goes, which decides its schema's names and rules.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    /// What a user writes: snake_case members, every rule the model has,
    /// nothing unknown.
    Input,
    /// What the service answers: the API's member names, and room for what
    /// a newer API adds (members, enum values); bounds are the service's.
    Output,
}

/// The input schema of `service`'s structure shape `shape`.
pub fn input_schema(service: &'static Service, shape: u16, title: &str) -> Value {
    let mut schema = root_schema(service, shape, Side::Input);
    if let Some(object) = schema.as_object_mut() {
        object.insert("title".into(), json!(title));
    }
    schema
}

/// The output schema of `service`'s structure shape `shape`.
pub fn output_schema(service: &'static Service, shape: u16) -> Value {
    root_schema(service, shape, Side::Output)
}

/// A schema and the definitions of the recursive shapes it reaches.
fn root_schema(service: &'static Service, shape: u16, side: Side) -> Value {
    let mut builder = Builder { service, side, definitions: BTreeMap::new() };
    let mut schema = builder.shape_schema(service.shape(shape));
    // Each definition may reach others: build until none is pending.
    while let Some((name, index)) = builder.pending() {
        let definition = builder.shape_schema(service.shape(index));
        builder.definitions.insert(name, Ok(definition));
    }
    if let Some(object) = schema.as_object_mut() {
        object.insert("$schema".into(), json!("https://json-schema.org/draft/2020-12/schema"));
        if !builder.definitions.is_empty() {
            let definitions =
                builder.definitions.into_iter().map(|(name, built)| (name.to_owned(), built.unwrap_or_default()));
            object.insert("$defs".into(), Value::Object(definitions.collect()));
        }
    }
    schema
}

struct Builder {
    service: &'static Service,
    side: Side,
    /// Recursive shapes referred to, by name: built, or the index of the
    /// shape still to build.
    definitions: BTreeMap<&'static str, Result<Value, u16>>,
}

impl Builder {
    /// A definition referred to and not built yet.
    fn pending(&self) -> Option<(&'static str, u16)> {
        self.definitions.iter().find_map(|(name, built)| built.as_ref().err().map(|index| (*name, *index)))
    }

    /// The schema of the shape at `index`: a reference for a recursive
    /// shape, the shape's own schema otherwise.
    fn member_schema(&mut self, index: u16) -> Value {
        let shape = self.service.shape(index);
        if shape.recursive {
            let name = self.service.definition_name(index);
            self.definitions.entry(name).or_insert(Err(index));
            json!({"$ref": format!("#/$defs/{name}")})
        } else {
            self.shape_schema(shape)
        }
    }

    fn shape_schema(&mut self, shape: &Shape) -> Value {
        let side = self.side;
        let mut s = Map::new();
        match &shape.kind {
            Kind::Structure(members) => self.structure(&mut s, members),
            Kind::Union(members) => {
                self.structure(&mut s, members);
                if side == Side::Input {
                    s.remove("required");
                    s.insert("minProperties".into(), json!(1));
                    s.insert("maxProperties".into(), json!(1));
                    s.insert("description".into(), json!("Exactly one of its members."));
                }
            }
            Kind::List { item } => {
                s.insert("type".into(), json!("array"));
                s.insert("items".into(), self.member_schema(*item));
                if side == Side::Input {
                    bounds(&mut s, shape, "minItems", "maxItems");
                }
            }
            Kind::Map { key, value } => {
                s.insert("type".into(), json!("object"));
                if side == Side::Input {
                    s.insert("propertyNames".into(), self.member_schema(*key));
                    bounds(&mut s, shape, "minProperties", "maxProperties");
                }
                s.insert("additionalProperties".into(), self.member_schema(*value));
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
            Kind::Timestamp(_) => {
                s.insert("type".into(), json!("number"));
                s.insert("description".into(), json!("Seconds since 1970-01-01T00:00:00Z"));
            }
            Kind::Boolean => {
                s.insert("type".into(), json!("boolean"));
            }
            Kind::Document => {}
            Kind::EventStream(events) => {
                s.insert("type".into(), json!("array"));
                s.insert("description".into(), json!("The events streamed, in order, each an object with one member: the event's name and its fields."));
                let mut item = Map::new();
                let properties: Map<String, Value> =
                    events.iter().map(|e| (e.member.api_name.to_owned(), self.member_schema(e.member.shape))).collect();
                item.insert("type".into(), json!("object"));
                item.insert("properties".into(), Value::Object(properties));
                item.insert("minProperties".into(), json!(1));
                item.insert("maxProperties".into(), json!(1));
                s.insert("items".into(), Value::Object(item));
            }
        }
        if shape.sensitive {
            s.insert("writeOnly".into(), json!(true));
        }
        Value::Object(s)
    }

    fn structure(&mut self, s: &mut Map<String, Value>, members: &[Member]) {
        let side = self.side;
        s.insert("type".into(), json!("object"));
        let name = |m: &Member| if side == Side::Input { m.name } else { m.api_name };
        let properties: Map<String, Value> =
            members.iter().map(|m| (name(m).to_owned(), self.member_schema(m.shape))).collect();
        s.insert("properties".into(), Value::Object(properties));
        if side == Side::Input {
            let required: Vec<&str> = members.iter().filter(|m| m.required).map(|m| m.name).collect();
            if !required.is_empty() {
                s.insert("required".into(), json!(required));
            }
            s.insert("additionalProperties".into(), json!(false));
        }
    }
}

fn bounds(s: &mut Map<String, Value>, shape: &Shape, min_key: &str, max_key: &str) {
    if let Some(min) = shape.min() {
        s.insert(min_key.into(), json!(min));
    }
    if let Some(max) = shape.max() {
        s.insert(max_key.into(), json!(max));
    }
}
