//! The AWS Cognito user pools connector: every operation of the
//! `cognito-idp` API, with input schemas and checks from the API model, sent
//! through the host's signed-HTTP capability.

mod input;
mod model;
mod pages;
mod protocol;
mod repeat;
mod schema;
mod shapes;
mod universal;

use connector_sdk::{Connector, Effect, Error, Info, Operations};
use serde_json::Value;

/// Machine name of the connector, as hosts and workflows refer to it.
pub const NAME: &str = "aws-cognito";

struct Cognito;

impl Connector for Cognito {
    fn info() -> Info {
        Info::new(NAME, "AWS Cognito", env!("CARGO_PKG_VERSION"), &[model::SIGNING_NAME])
    }

    /// Every API operation from the generated model, each checked and
    /// converted by the model's shapes, with its output's schema; then
    /// `call_api`, which can do what any of them does.
    fn operations() -> Operations {
        let mut operations = Operations::new().on_unknown(unknown);
        for op in model::OPERATIONS {
            let schema = move || {
                let mut input_schema = schema::input_schema(op.input, op.title);
                if let Some(pagination) = &op.pagination {
                    pages::extend_schema(pagination, &mut input_schema);
                }
                input_schema
            };
            operations = operations.add_raw(op.name, op.title, op.description, schema, move |input| run(op, input));
            if let Some(output) = op.output {
                operations = operations.output_schema(move || schema::output_schema(output));
            }
            if repeat::recovery(op.name).is_some() {
                operations = operations.idempotent();
            }
        }
        operations
            .add_raw(universal::NAME, universal::TITLE, universal::DESCRIPTION, universal::input_schema, |input| {
                let call = universal::parse(input)?;
                protocol::call_action(&call.action, call.signed, &call.body)
            })
            .output_schema(universal::output_schema)
            .effect(Effect::Destructive)
    }
}

/// Runs `op` with `input`: checks and converts it with the model, then
/// calls Cognito, following pages when asked to; a create operation runs
/// once per step of a run, however often the step is tried.
fn run(op: &'static shapes::Operation, mut input: Value) -> Result<Value, Error> {
    let paging = pages::take_options(op, &mut input).map_err(Error::InvalidInput)?;
    let body = input::to_api(op.input, &input).map_err(|e| Error::InvalidInput(e.to_string()))?;
    if let Some(recovery) = repeat::recovery(op.name) {
        let earlier_effect = connector_sdk::repeat::earlier_effect();
        return recovery.run(&connector_sdk::invocation(), earlier_effect, body, |body| protocol::call(op, body));
    }
    match &op.pagination {
        Some(pagination) if paging.all_pages => {
            pages::fetch_all(pagination, body, paging.max_pages, |page| protocol::call(op, page))
        }
        _ => protocol::call(op, &body),
    }
}

connector_sdk::connector!(Cognito);

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
