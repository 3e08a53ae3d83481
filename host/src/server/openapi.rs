//! `GET /openapi.json`: an OpenAPI 3.1 document of the API, generated from
//! the loaded connectors' manifests: one path per operation, its request
//! body the operation's input schema. Schemas come with their references
//! resolved at load; one that still holds a (recursive) `$ref` goes to
//! `components.schemas` under the operation's id, with its references
//! rewritten to point there, so they resolve inside the document.

use axum::Json;
use axum::extract::State;
use serde_json::{Map, Value, json};

use crate::runtime::Connector;
use crate::server::AppState;

pub(super) async fn document(State(state): State<AppState>) -> Json<Value> {
    let access = if state.token.is_some() { Access::BearerToken } else { Access::Open };
    Json(build(&state.runtime.list(), access))
}

/// How the documented operations are reached.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Access {
    /// Without credentials (a server on loopback without a token).
    Open,
    /// With the API token as a bearer token.
    BearerToken,
}

/// The document for `connectors`, reached as `access` says.
pub(super) fn build(connectors: &[Connector], access: Access) -> Value {
    let mut paths = Map::new();
    let mut schemas = Map::new();
    schemas.insert("Error".into(), error_schema());
    for connector in connectors {
        let manifest = connector.manifest();
        for op in &manifest.operations {
            let id = format!("{}__{}", manifest.name, op.name);
            let schema = placed(&op.input_schema, &id, &mut schemas);
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
            if access == Access::BearerToken {
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
    if access == Access::BearerToken {
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

/// `schema` as the document holds it: as it is, or, when it refers to
/// itself, a reference to `components.schemas[id]`, where it goes with
/// every `#...` reference made relative to that place.
fn placed(schema: &Value, id: &str, schemas: &mut Map<String, Value>) -> Value {
    let mut schema = schema.clone();
    if !rewrite_refs(&mut schema, &format!("#/components/schemas/{id}")) {
        return schema;
    }
    schemas.insert(id.to_owned(), schema);
    json!({"$ref": format!("#/components/schemas/{id}")})
}

/// Prefixes every local `$ref` in `value` with `base`; true if there was
/// one.
fn rewrite_refs(value: &mut Value, base: &str) -> bool {
    let mut found = false;
    let mut pending = vec![value];
    while let Some(value) = pending.pop() {
        match value {
            Value::Object(members) => {
                for (key, member) in members.iter_mut() {
                    match (key.as_str(), member) {
                        ("$ref", Value::String(reference)) if reference.starts_with('#') => {
                            *reference = format!("{base}{}", &reference[1..]);
                            found = true;
                        }
                        (_, member) => pending.push(member),
                    }
                }
            }
            Value::Array(items) => pending.extend(items.iter_mut()),
            _ => {}
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recursive_schemas_move_to_components_and_refs_follow() {
        let mut schemas = Map::new();
        let flat = json!({"type": "object", "properties": {"u": {"type": "string"}}});
        assert_eq!(placed(&flat, "c__op", &mut schemas), flat);
        assert!(schemas.is_empty());
        let recursive = json!({"type": "object", "properties": {"again": {"$ref": "#"}, "u": {"$ref": "#/$defs/User"}},
            "$defs": {"User": {"type": "object", "properties": {"f": {"$ref": "#/$defs/User"}}}}});
        assert_eq!(placed(&recursive, "c__op", &mut schemas), json!({"$ref": "#/components/schemas/c__op"}));
        let placed = &schemas["c__op"];
        assert_eq!(placed["properties"]["again"]["$ref"], "#/components/schemas/c__op");
        assert_eq!(placed["$defs"]["User"]["properties"]["f"]["$ref"], "#/components/schemas/c__op/$defs/User");
    }
}
