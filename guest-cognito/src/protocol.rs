//! Cognito's protocol, AWS JSON 1.1, through the SDK: the operation's API
//! JSON goes out under its action name, Cognito's output JSON or a typed
//! service error comes back.

use connector_sdk::Error;
use connector_sdk::aws::json::{self, Version};
use serde_json::Value;

use crate::model::{SIGNING_NAME, TARGET_PREFIX};
use crate::shapes::Operation;

/// Sends `body` (the operation's API JSON) and returns Cognito's output JSON.
pub fn call(op: &Operation, body: &Value) -> Result<Value, Error> {
    call_action(op.api_name, op.signed, body)
}

/// Sends `body` as the API action `action`, signed or not.
pub fn call_action(action: &str, signed: bool, body: &Value) -> Result<Value, Error> {
    json::call(SIGNING_NAME, TARGET_PREFIX, Version::V1_1, action, body, signed)
}
