//! The AWS Cognito user pools connector: every operation of the
//! `cognito-idp` API, with input schemas and checks from the API model, sent
//! through the host's signed-HTTP capability.

mod model;
mod repeat;

use connector_sdk::aws::model::{Operation, Service};
use connector_sdk::{Connector, Error, Info, Operations};
use serde_json::Value;

use model::SERVICE;

/// Machine name of the connector, as hosts and workflows refer to it.
pub const NAME: &str = "aws-cognito";

struct Cognito;

impl Connector for Cognito {
    fn info() -> Info {
        SERVICE.info(NAME, env!("CARGO_PKG_VERSION"))
    }

    /// Every API operation from the generated model, the create operations
    /// made safe to repeat; then `call_api`, which can do what any of them
    /// does.
    fn operations() -> Operations {
        SERVICE.operations_with(run, |op| repeat::recovery(op.name).is_some())
    }
}

/// Runs `op` with `input` as the model says; a create operation runs once
/// per step of a run, however often the step is tried.
fn run(service: &'static Service, op: &'static Operation, input: Value) -> Result<Value, Error> {
    let Some(recovery) = repeat::recovery(op.name) else {
        return service.run(op, input);
    };
    let (_, body) = service.request_body(op, input)?;
    let earlier_effect = connector_sdk::repeat::earlier_effect();
    recovery.run(&connector_sdk::invocation(), earlier_effect, body, |body| service.call(op, body))
}

connector_sdk::connector!(Cognito);

/// Checks `input` (snake_case) against `operation`'s input shape and converts
/// it to the API's JSON: what an invocation does before it sends anything.
/// Public for native benchmarks.
pub fn api_input(operation: &str, input: &Value) -> Result<Value, String> {
    let op = SERVICE.operation(operation).ok_or_else(|| SERVICE.unknown(operation))?;
    connector_sdk::aws::model::input::to_api(&SERVICE, op.input, input).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use connector_sdk::aws::model::input::{InputError, to_api};
    use connector_sdk::aws::model::schema::{input_schema, output_schema};
    use serde_json::json;

    fn operation(name: &str) -> Option<&'static Operation> {
        SERVICE.operation(name)
    }

    #[test]
    fn operations_are_sorted_and_unique() {
        assert!(SERVICE.operations.windows(2).all(|w| w[0].name < w[1].name));
        assert_eq!(SERVICE.operations.len(), 132);
        assert!(operation("create_user_pool").is_some());
        assert!(operation("CreateUserPool").is_none());
        assert!(SERVICE.unknown("CreateUserPool").contains("did you mean `create_user_pool`"));
    }

    #[test]
    fn unsigned_operations_match_the_api() {
        let unsigned: Vec<_> = SERVICE.operations.iter().filter(|op| !op.signed).map(|op| op.api_name).collect();
        assert_eq!(unsigned.len(), 32);
        for name in ["SignUp", "InitiateAuth", "GetUser", "ChangePassword", "RevokeToken"] {
            assert!(unsigned.contains(&name), "{name}");
        }
        assert!(operation("admin_create_user").unwrap().signed);
    }

    #[test]
    fn create_operations_made_safe_to_repeat_say_so() {
        let details = Cognito::operations().details();
        let idempotent = |name: &str| details.iter().find(|d| d.name == name).unwrap().idempotent;
        assert!(idempotent("create_user_pool") && idempotent("admin_create_user"));
        assert!(!idempotent("create_user_pool_client") && !idempotent("list_user_pools"));
    }

    fn convert_for(op: &str, input: Value) -> Result<Value, InputError> {
        to_api(&SERVICE, operation(op).unwrap().input, &input)
    }

    #[test]
    fn converts_names_at_every_depth_and_keeps_map_keys() {
        let out = convert_for(
            "create_user_pool",
            json!({
                "pool_name": "Marketing Department",
                "schema": [{"name": "email", "attribute_data_type": "String", "required": true,
                            "string_attribute_constraints": {"min_length": "1"}}],
                "user_pool_tags": {"cost_center": "42", "Team": "growth"},
                "sms_configuration": {"sns_caller_arn": "arn:aws:iam::123456789012:role/sms"},
            }),
        )
        .unwrap();
        assert_eq!(
            out,
            json!({
                "PoolName": "Marketing Department",
                "Schema": [{"Name": "email", "AttributeDataType": "String", "Required": true,
                            "StringAttributeConstraints": {"MinLength": "1"}}],
                "UserPoolTags": {"cost_center": "42", "Team": "growth"},
                "SmsConfiguration": {"SnsCallerArn": "arn:aws:iam::123456789012:role/sms"},
            })
        );
    }

    #[test]
    fn acronym_members_follow_the_type_table() {
        let out = convert_for(
            "admin_set_user_settings",
            json!({"user_pool_id": "p", "username": "u",
                   "mfa_options": [{"delivery_medium": "SMS", "attribute_name": "phone_number"}]}),
        )
        .unwrap();
        assert_eq!(out["MFAOptions"][0]["DeliveryMedium"], "SMS");
    }

    #[test]
    fn client_metadata_keys_pass_through() {
        let out = convert_for(
            "admin_create_user",
            json!({"user_pool_id": "p", "username": "u", "client_metadata": {"some_key": "v", "OtherKey": "w"}}),
        )
        .unwrap();
        assert_eq!(out["ClientMetadata"], json!({"some_key": "v", "OtherKey": "w"}));
    }

    #[test]
    fn rejections_name_the_field() {
        let cases = [
            (json!({}), "pool_name", "required field is missing"),
            (json!({"pool_name": 5}), "pool_name", "expected a string, got the number 5"),
            (json!({"pool_name": "x", "bogus": 1}), "bogus", "unknown field"),
            (json!({"PoolName": "x"}), "PoolName", "did you mean `pool_name`?"),
            (
                json!({"pool_name": "x", "schema": [{"name": "a"}, {"name": "b", "attribute_data_type": "Text"}]}),
                "schema[1].attribute_data_type",
                "`Text` is not one of: String, Number, DateTime, Boolean",
            ),
            (json!({"pool_name": ""}), "pool_name", "has 0 characters, at least 1 needed"),
            (
                json!({"pool_name": "x", "policies": {"password_policy": {"minimum_length": 2}}}),
                "policies.password_policy.minimum_length",
                "2 is below the minimum 6",
            ),
            (json!({"pool_name": "x", "alias_attributes": "email"}), "alias_attributes", "expected an array"),
        ];
        for (input, path, problem) in cases {
            let err = convert_for("create_user_pool", input.clone()).unwrap_err();
            assert_eq!(err.path, path, "{input}");
            assert!(err.problem.contains(problem), "{input}: {}", err.problem);
        }
    }

    #[test]
    fn null_means_absent() {
        let err = convert_for("describe_user_pool", json!({"user_pool_id": null})).unwrap_err();
        assert_eq!(err.to_string(), "user_pool_id: required field is missing");
    }

    #[test]
    fn create_user_pool_schema_matches_the_api() {
        let op = operation("create_user_pool").unwrap();
        let schema = input_schema(&SERVICE, op.input, op.title);
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
        let schema = output_schema(&SERVICE, sign_in.output.unwrap());
        let tokens = &schema["properties"]["AuthenticationResult"]["properties"];
        for token in ["AccessToken", "IdToken", "RefreshToken"] {
            assert_eq!(tokens[token]["writeOnly"], json!(true), "{token}");
        }
        assert_eq!(tokens["ExpiresIn"]["type"], "integer");
        assert!(schema.get("additionalProperties").is_none(), "a newer API may add members");
        let user = output_schema(&SERVICE, operation("admin_create_user").unwrap().output.unwrap());
        assert_eq!(user["properties"]["User"]["properties"]["Username"]["writeOnly"], json!(true));
        assert!(operation("admin_add_user_to_group").unwrap().output.is_none());
    }

    #[test]
    fn the_universal_output_schema_hides_what_any_action_returns_secret() {
        let manifest = Cognito::operations().details();
        let call_api = manifest.iter().find(|d| d.name == "call_api").unwrap();
        let schema: Value = serde_json::from_str(call_api.output_schema.as_deref().unwrap()).unwrap();
        let tokens = &schema["properties"]["AuthenticationResult"]["properties"];
        assert_eq!(tokens["AccessToken"]["writeOnly"], json!(true));
        assert_eq!(schema["properties"]["UserPool"]["properties"]["Id"]["type"], json!("string"));
    }
}
