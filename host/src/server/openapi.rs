//! `GET /openapi.json`: an OpenAPI 3.1 document of the API, generated from
//! the loaded connectors' manifests: one path per operation, its request
//! body the operation's input schema. Local `$defs` of an input schema are
//! moved to `components.schemas` (names prefixed by connector and
//! operation) so their `$ref`s resolve inside the document.

use axum::Json;
use axum::extract::State;
use serde_json::{Map, Value, json};

use crate::runtime::Connector;
use crate::server::AppState;

pub(super) async fn document(State(state): State<AppState>) -> Json<Value> {
    Json(build(&state.runtime.list(), state.token.is_some()))
}

/// The document for `connectors`; `secured` adds the bearer token scheme.
pub(super) fn build(connectors: &[Connector], secured: bool) -> Value {
    let mut paths = Map::new();
    let mut schemas = Map::new();
    schemas.insert("Error".into(), error_schema());
    for connector in connectors {
        let manifest = connector.manifest();
        for op in &manifest.operations {
            let id = format!("{}__{}", manifest.name, op.name);
            let schema = hoist_defs(&op.input_schema, &id, &mut schemas);
            let mut operation = json!({
                "operationId": id,
                "summary": op.title,
                "description": op.description,
                "tags": [manifest.name],
                "requestBody": {"required": true, "content": {"application/json": {"schema": schema}}},
                "responses": {
                    "200": {"description": "The operation's output, as the service returned it.",
                            "content": {"application/json": {"schema": {}}}},
                    "default": {"$ref": "#/components/responses/Error"}
                }
            });
            if secured {
                operation["security"] = json!([{"bearer": []}]);
            }
            paths
                .insert(format!("/v1/connectors/{}/operations/{}", manifest.name, op.name), json!({"post": operation}));
        }
    }
    let mut document = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "connector-host",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Operations of the connectors this host serves. Each takes the operation's input as a JSON object and returns its output."
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": {"Error": {"description": "The call failed; `kind` says how.",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}}
        }
    });
    if secured {
        document["components"]["securitySchemes"] = json!({"bearer": {"type": "http", "scheme": "bearer"}});
    }
    document
}

fn error_schema() -> Value {
    json!({
        "type": "object",
        "required": ["error"],
        "properties": {"error": {
            "type": "object",
            "required": ["kind", "message"],
            "properties": {
                "kind": {"type": "string"},
                "message": {"type": "string"},
                "code": {"type": "string"},
                "status": {"type": "integer"},
                "retryable": {"type": "boolean"},
                "reason": {"type": "string"}
            }
        }}
    })
}

/// `schema` without its `$defs`, which go to `schemas` as `{prefix}__{name}`,
/// with every `#/$defs/` reference rewritten to match.
fn hoist_defs(schema: &Value, prefix: &str, schemas: &mut Map<String, Value>) -> Value {
    let mut schema = schema.clone();
    let defs = schema.as_object_mut().and_then(|s| s.remove("$defs"));
    let rewrite = |value: &mut Value| rewrite_refs(value, prefix);
    if let Some(Value::Object(defs)) = defs {
        for (name, mut def) in defs {
            rewrite(&mut def);
            schemas.insert(format!("{prefix}__{name}"), def);
        }
    }
    rewrite_refs(&mut schema, prefix);
    schema
}

fn rewrite_refs(value: &mut Value, prefix: &str) {
    match value {
        Value::Object(members) => {
            for (key, member) in members.iter_mut() {
                match (key.as_str(), member) {
                    ("$ref", Value::String(reference)) => {
                        if let Some(name) = reference.strip_prefix("#/$defs/") {
                            *reference = format!("#/components/schemas/{prefix}__{name}");
                        }
                    }
                    (_, member) => rewrite_refs(member, prefix),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| rewrite_refs(item, prefix)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defs_move_to_components_and_refs_follow() {
        let mut schemas = Map::new();
        let schema = json!({"type": "object", "properties": {"u": {"$ref": "#/$defs/User"}},
            "$defs": {"User": {"type": "object", "properties": {"f": {"$ref": "#/$defs/User"}}}}});
        let hoisted = hoist_defs(&schema, "c__op", &mut schemas);
        assert_eq!(
            hoisted,
            json!({"type": "object", "properties": {"u": {"$ref": "#/components/schemas/c__op__User"}}})
        );
        assert_eq!(schemas["c__op__User"]["properties"]["f"]["$ref"], "#/components/schemas/c__op__User");
    }
}
