//! The universal operation: any Cognito action by its API name, with the
//! API's own JSON input (PascalCase), for actions AWS adds before this
//! connector's model has them.

use serde_json::{Map, Value, json};

use crate::model::OPERATIONS;
use connector_sdk::Error;

/// Name of the universal operation in the manifest.
pub const NAME: &str = "call_api";
pub const TITLE: &str = "Call any Cognito API action";
pub const DESCRIPTION: &str = "Sends any Cognito user pools action by its API name (for example AdminCreateUser) \
     with the API's own JSON input, as the API documents it. Use it for actions this connector does not list yet.";

/// Input schema of the universal operation.
pub fn input_schema() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": TITLE,
        "type": "object",
        "properties": {
            "action": {
                "type": "string",
                "pattern": "^[A-Z][A-Za-z0-9]{1,127}$",
                "description": "The API action name, as in X-Amz-Target (AdminCreateUser)."
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
pub fn output_schema() -> Value {
    connector_sdk::outputs::union(OPERATIONS.iter().filter_map(|op| op.output).map(crate::schema::output_schema))
}

/// A checked universal call: the action, its body, and whether to sign.
pub struct Call {
    pub action: String,
    pub body: Value,
    pub signed: bool,
}

/// Checks the universal operation's input.
pub fn parse(input: Value) -> Result<Call, Error> {
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
        return Err(invalid(format!("action: `{action}` is not an API action name (like AdminCreateUser)")));
    }
    let body = match fields.remove("input") {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(body @ Value::Object(_)) => body,
        Some(other) => return Err(invalid(format!("input: expected an object, got {other}"))),
    };
    let known = OPERATIONS.iter().find(|op| op.api_name == action);
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

    #[test]
    fn known_actions_keep_their_signing_rule() {
        let call = parse(json!({"action": "SignUp", "input": {"ClientId": "c"}})).unwrap();
        assert!(!call.signed);
        assert_eq!(call.body, json!({"ClientId": "c"}));
        assert!(parse(json!({"action": "AdminCreateUser"})).unwrap().signed);
        assert!(parse(json!({"action": "SomeFutureAction"})).unwrap().signed);
        assert!(!parse(json!({"action": "SomeFutureAction", "sign": false})).unwrap().signed);
    }

    #[test]
    fn the_output_schema_hides_what_any_action_returns_secret() {
        let schema = output_schema();
        let tokens = &schema["properties"]["AuthenticationResult"]["properties"];
        assert_eq!(tokens["AccessToken"]["writeOnly"], json!(true));
        assert_eq!(schema["properties"]["UserPool"]["properties"]["Id"]["type"], json!("string"));
    }

    #[test]
    fn bad_input_is_named() {
        let err = |v| match parse(v) {
            Err(Error::InvalidInput(m)) => m,
            _ => panic!("expected invalid input"),
        };
        assert!(err(json!({})).starts_with("action: required"));
        assert!(err(json!({"action": "Admin.Create"})).contains("not an API action name"));
        assert!(err(json!({"action": "X1", "input": []})).starts_with("input: expected an object"));
        assert!(err(json!({"action": "X1", "extra": 1})).starts_with("extra: unknown field"));
    }
}
