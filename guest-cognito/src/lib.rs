//! The AWS Cognito user pools connector: every operation of the
//! `cognito-idp` API, with input schemas and checks from the API model, sent
//! through the host's signed-HTTP capability.

mod input;
mod model;
mod pages;
mod protocol;
mod schema;
mod shapes;
mod universal;

use serde_json::Value;

use crate::connector::api::types::{Error, Manifest, Operation as ManifestOperation};
use exports::connector::api::connector::Guest;

wit_bindgen::generate!({
    path: "../wit",
    world: "plugin",
});

/// Machine name of the connector, as hosts and workflows refer to it.
pub const NAME: &str = "aws-cognito";

struct Cognito;

impl Guest for Cognito {
    fn describe() -> Manifest {
        Manifest {
            name: NAME.to_owned(),
            title: "AWS Cognito".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            services: vec![model::SIGNING_NAME.to_owned()],
            operations: model::OPERATIONS
                .iter()
                .map(|op| {
                    let mut input_schema = schema::input_schema(op.input, op.title);
                    if let Some(pagination) = &op.pagination {
                        pages::extend_schema(pagination, &mut input_schema);
                    }
                    ManifestOperation {
                        name: op.name.to_owned(),
                        title: op.title.to_owned(),
                        description: op.description.to_owned(),
                        input_schema: input_schema.to_string(),
                    }
                })
                .chain(std::iter::once(ManifestOperation {
                    name: universal::NAME.to_owned(),
                    title: universal::TITLE.to_owned(),
                    description: universal::DESCRIPTION.to_owned(),
                    input_schema: universal::input_schema().to_string(),
                }))
                .collect(),
        }
    }

    fn invoke(operation_name: String, input: String) -> Result<String, Error> {
        let op = match operation_name.as_str() {
            universal::NAME => None,
            name => Some(operation(name).ok_or_else(|| Error::UnknownOperation(unknown(name)))?),
        };
        let mut input: Value = if input.trim().is_empty() {
            Value::Object(Default::default())
        } else {
            serde_json::from_str(&input).map_err(|e| Error::InvalidInput(format!("input is not valid JSON: {e}")))?
        };
        let Some(op) = op else {
            let call = universal::parse(input)?;
            return Ok(protocol::call_action(&call.action, call.signed, &call.body)?.to_string());
        };
        let paging = pages::take_options(op, &mut input).map_err(Error::InvalidInput)?;
        let body = input::to_api(op.input, &input).map_err(|e| Error::InvalidInput(e.to_string()))?;
        let output = match &op.pagination {
            Some(pagination) if paging.all_pages => {
                pages::fetch_all(pagination, body, paging.max_pages, |page| protocol::call(op, page))?
            }
            _ => protocol::call(op, &body)?,
        };
        Ok(output.to_string())
    }
}

/// Checks `input` (snake_case) against `operation`'s input shape and converts
/// it to the API's JSON: what an invocation does before it sends anything.
/// Public for native benchmarks.
pub fn api_input(operation: &str, input: &Value) -> Result<Value, String> {
    let op = self::operation(operation).ok_or_else(|| unknown(operation))?;
    input::to_api(op.input, input).map_err(|e| e.to_string())
}

/// The operation called `name` (snake_case, as in the manifest).
fn operation(name: &str) -> Option<&'static shapes::Operation> {
    model::OPERATIONS.binary_search_by(|op| op.name.cmp(name)).ok().map(|i| &model::OPERATIONS[i])
}

fn unknown(name: &str) -> String {
    let by_api_name = model::OPERATIONS.iter().find(|op| op.api_name == name);
    match by_api_name {
        Some(op) => format!("no operation `{name}`; did you mean `{}`?", op.name),
        None => format!("no operation `{name}` in {NAME} (the manifest lists all {})", model::OPERATIONS.len()),
    }
}

// Native builds (unit tests) leave the component exports out: their symbol
// names are not valid in a native shared library.
#[cfg(target_family = "wasm")]
export!(Cognito);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_sorted_and_unique() {
        assert!(model::OPERATIONS.windows(2).all(|w| w[0].name < w[1].name));
        assert_eq!(model::OPERATIONS.len(), 132);
        assert!(operation("create_user_pool").is_some());
        assert!(operation("CreateUserPool").is_none());
        assert!(unknown("CreateUserPool").contains("did you mean `create_user_pool`"));
    }

    #[test]
    fn unsigned_operations_match_the_api() {
        let unsigned: Vec<_> = model::OPERATIONS.iter().filter(|op| !op.signed).map(|op| op.api_name).collect();
        assert_eq!(unsigned.len(), 32);
        for name in ["SignUp", "InitiateAuth", "GetUser", "ChangePassword", "RevokeToken"] {
            assert!(unsigned.contains(&name), "{name}");
        }
        assert!(operation("admin_create_user").unwrap().signed);
    }
}
