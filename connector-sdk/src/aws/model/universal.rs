//! The universal operation: any action of a service by its API name, with
//! the API's own JSON input (PascalCase), for actions AWS adds before a
//! connector's table has them.

use serde_json::{Map, Value, json};

use super::{Service, schema};
use crate::Error;
use crate::Operations;
use crate::bindings::exports::connector::api::details::Effect;

/// Name of the universal operation in the manifest.
pub const NAME: &str = "call_api";

/// Adds the universal operation of `service` to `operations`. It can do
/// what any action does, so it is declared destructive.
pub fn add(service: &'static Service, operations: Operations) -> Operations {
    let title = format!("Call any {} API action", service.title);
    let example = service.operations.first().map_or("Action", |op| op.api_name);
    let description = format!(
        "Sends any {} action by its API name (for example {example}) with the API's own JSON input, as the API \
         documents it. Use it for actions this connector does not list yet.",
        service.title
    );
    let schema_title = title.clone();
    operations
        .add_raw(
            NAME,
            &title,
            &description,
            move || input_schema(&schema_title),
            move |input| {
                let call = parse(service, input)?;
                service.call_action(&call.action, call.signed, &call.body)
            },
        )
        .output_schema(move || output_schema(service))
        .effect(Effect::Destructive)
}

/// Input schema of the universal operation.
fn input_schema(title: &str) -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": title,
        "type": "object",
        "properties": {
            "action": {
                "type": "string",
                "pattern": "^[A-Z][A-Za-z0-9]{1,127}$",
                "description": "The API action name (as in X-Amz-Target for JSON protocols)."
            },
            "input": {
                "type": "object",
                "description": "The action's input in the API's own member names (PascalCase), sent as is."
            },
            "sign": {
                "type": "boolean",
                "description": "Sign with the host's AWS credentials. Defaults to the action's own rule, or true for actions this connector does not know."
            }
        },
        "required": ["action"],
        "additionalProperties": false
    })
}

/// Output schema of the universal operation: what any action may answer,
/// so that every secret any of them returns is hidden in run records.
fn output_schema(service: &'static Service) -> Value {
    let outputs = service.operations.iter().filter_map(|op| op.output);
    crate::outputs::union(outputs.map(|output| schema::output_schema(service, output)))
}

/// A checked universal call: the action, its body, and whether to sign.
struct Call {
    pub action: String,
    pub body: Value,
    pub signed: bool,
}

/// Checks the universal operation's input.
fn parse(service: &Service, input: Value) -> Result<Call, Error> {
    let invalid = |m: String| Error::InvalidInput(m);
    let Value::Object(mut fields) = input else {
        return Err(invalid("input: expected an object".into()));
    };
    let action = match fields.remove("action") {
        Some(Value::String(action)) => action,
        Some(other) => return Err(invalid(format!("action: expected a string, got {other}"))),
        None => return Err(invalid("action: required field is missing".into())),
    };
    let valid_name = action.len() >= 2
        && action.len() <= 128
        && action.starts_with(|c: char| c.is_ascii_uppercase())
        && action.chars().all(|c| c.is_ascii_alphanumeric());
    if !valid_name {
        return Err(invalid(format!("action: `{action}` is not an API action name (like CreateTable)")));
    }
    let body = match fields.remove("input") {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(body @ Value::Object(_)) => body,
        Some(other) => return Err(invalid(format!("input: expected an object, got {other}"))),
    };
    let known = service.operations.iter().find(|op| op.api_name == action);
    let signed = match fields.remove("sign") {
        None | Some(Value::Null) => known.is_none_or(|op| op.signed),
        Some(Value::Bool(sign)) => sign,
        Some(other) => return Err(invalid(format!("sign: expected true or false, got {other}"))),
    };
    if let Some(unknown) = fields.keys().next() {
        return Err(invalid(format!("{unknown}: unknown field; expected action, input, sign")));
    }
    Ok(Call { action, body, signed })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::model::sample::SERVICE;

    #[test]
    fn known_actions_keep_their_signing_rule() {
        let call = parse(&SERVICE, json!({"action": "Query", "input": {"Limit": 1}})).unwrap();
        assert!(!call.signed);
        assert_eq!(call.body, json!({"Limit": 1}));
        assert!(parse(&SERVICE, json!({"action": "PutItem"})).unwrap().signed);
        assert!(parse(&SERVICE, json!({"action": "SomeFutureAction"})).unwrap().signed);
        assert!(!parse(&SERVICE, json!({"action": "SomeFutureAction", "sign": false})).unwrap().signed);
    }

    #[test]
    fn the_output_schema_hides_what_any_action_returns_secret() {
        let schema = output_schema(&SERVICE);
        assert_eq!(schema["properties"]["Count"]["type"], json!("integer"));
        assert_eq!(schema["$defs"]["AttributeValue"]["properties"]["S"]["type"], json!("string"));
    }

    #[test]
    fn bad_input_is_named() {
        let err = |v| match parse(&SERVICE, v) {
            Err(Error::InvalidInput(m)) => m,
            _ => panic!("expected invalid input"),
        };
        assert!(err(json!({})).starts_with("action: required"));
        assert!(err(json!({"action": "Admin.Create"})).contains("not an API action name"));
        assert!(err(json!({"action": "X1", "input": []})).starts_with("input: expected an object"));
        assert!(err(json!({"action": "X1", "extra": 1})).starts_with("extra: unknown field"));
    }
}
