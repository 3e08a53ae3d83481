//! A small AWS IAM and STS connector, written with connector-sdk as a
//! third-party author would: each operation is an input type (its JSON
//! Schema derived, its input checked and parsed by the SDK) and a few lines
//! calling the query protocol. IAM is a global service: the host picks its
//! endpoint and signing region.

use connector_sdk::aws::query;
use connector_sdk::{Connector, Error, Info, Operations};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

const IAM_VERSION: &str = "2010-05-08";
const STS_VERSION: &str = "2011-06-15";

/// The input of `create_user`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct CreateUser {
    /// The new user's name.
    #[schemars(length(min = 1, max = 64))]
    user_name: String,
    /// The path the user goes under (`/`, `/division/`).
    #[schemars(length(min = 1, max = 512))]
    path: Option<String>,
}

/// A user, by name.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct UserName {
    #[schemars(length(min = 1, max = 64))]
    user_name: String,
}

/// The input of `get_user`: a user, or the caller itself.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct GetUser {
    #[schemars(length(min = 1, max = 64))]
    user_name: Option<String>,
}

/// The input of `list_users`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ListUsers {
    /// Only users under this path.
    path_prefix: Option<String>,
    /// The most users in one page.
    #[schemars(range(min = 1, max = 1000))]
    max_items: Option<u32>,
    /// Where the last page ended (its `Marker`).
    marker: Option<String>,
}

/// No input.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Nothing {}

struct Iam;

impl Connector for Iam {
    fn info() -> Info {
        Info::new("aws-iam", "AWS IAM", env!("CARGO_PKG_VERSION"), &["iam", "sts"])
    }

    fn operations() -> Operations {
        Operations::new()
            .add("create_user", "Create user", "Creates an IAM user.", |input: CreateUser| {
                let mut params = vec![("UserName", input.user_name)];
                params.extend(input.path.map(|p| ("Path", p)));
                query::call("iam", "CreateUser", IAM_VERSION, &params)
            })
            .add("get_user", "Get user", "Reads an IAM user, or the caller when no name is given.", |input: GetUser| {
                let params: Vec<(&str, String)> = input.user_name.map(|n| ("UserName", n)).into_iter().collect();
                query::call("iam", "GetUser", IAM_VERSION, &params)
            })
            .add("list_users", "List users", "Lists IAM users, a page at a time.", |input: ListUsers| {
                let mut params: Vec<(&str, String)> = Vec::new();
                params.extend(input.path_prefix.map(|p| ("PathPrefix", p)));
                params.extend(input.max_items.map(|m| ("MaxItems", m.to_string())));
                params.extend(input.marker.map(|m| ("Marker", m)));
                let mut page = query::call("iam", "ListUsers", IAM_VERSION, &params)?;
                // An empty list comes back as an empty element: still a list.
                if page.get("Users").is_some_and(|users| !users.is_array()) {
                    page["Users"] = Value::Array(Vec::new());
                }
                Ok(page)
            })
            .add("delete_user", "Delete user", "Deletes an IAM user.", |input: UserName| {
                query::call("iam", "DeleteUser", IAM_VERSION, &[("UserName", input.user_name)])
            })
            .add(
                "get_caller_identity",
                "Get caller identity",
                "Says which account and identity the host signs this connector's requests as (STS).",
                |_: Nothing| -> Result<Value, Error> {
                    query::call::<&str, &str>("sts", "GetCallerIdentity", STS_VERSION, &[])
                },
            )
    }
}

connector_sdk::connector!(Iam);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_come_from_the_input_types() {
        let manifest = connector_sdk::describe::<Iam>();
        assert_eq!(manifest.services, ["iam", "sts"]);
        let create = manifest.operations.iter().find(|op| op.name == "create_user").unwrap();
        let schema: Value = serde_json::from_str(&create.input_schema).unwrap();
        assert_eq!(schema["required"], serde_json::json!(["user_name"]));
        assert_eq!(schema["properties"]["user_name"]["maxLength"], 64);
        let refused = connector_sdk::invoke::<Iam>("create_user", r#"{"user_name": ""}"#).unwrap_err();
        assert!(
            matches!(&refused, Error::InvalidInput(m) if m.contains("user_name: shorter than the minimum of 1")),
            "{refused:?}"
        );
    }
}
