//! The Amazon DynamoDB connector: every operation of the `dynamodb` API,
//! with input schemas and checks from the API model, sent through the
//! host's signed-HTTP capability. All of it is the generated table
//! (`model.rs`, from `connector-sdk/codegen/aws.py`); the SDK does the rest.

mod model;

/// Machine name of the connector, as hosts and workflows refer to it.
pub const NAME: &str = "aws-dynamodb";

connector_sdk::aws_connector!(NAME, model::SERVICE);

#[cfg(test)]
mod tests {
    use super::*;
    use connector_sdk::Connector;
    use connector_sdk::aws::model::schema::input_schema;
    use model::SERVICE;
    use serde_json::{Value, json};

    #[test]
    fn every_operation_is_listed_with_a_finite_schema() {
        let operations = Generated::operations();
        let manifest = operations.manifest();
        assert_eq!(manifest.len(), SERVICE.operations.len() + 1, "the API's operations and call_api");
        for operation in &manifest {
            let schema: Value = serde_json::from_str(&operation.input_schema).unwrap();
            assert_eq!(schema["type"], "object", "{}", operation.name);
        }
    }

    #[test]
    fn attribute_values_are_one_recursive_definition() {
        let put = SERVICE.operation("put_item").unwrap();
        let schema = input_schema(&SERVICE, put.input, put.title);
        assert_eq!(schema["required"], json!(["table_name", "item"]));
        assert_eq!(schema["properties"]["item"]["additionalProperties"]["$ref"], "#/$defs/AttributeValue");
        let value = &schema["$defs"]["AttributeValue"];
        assert_eq!(value["properties"]["l"]["items"]["$ref"], "#/$defs/AttributeValue");
        assert_eq!(value["properties"]["b"]["contentEncoding"], "base64");
    }

    #[test]
    fn listings_follow_their_keys_and_transactions_carry_a_token() {
        let query = SERVICE.operation("query").unwrap().pagination.as_ref().unwrap();
        assert_eq!(
            (query.input_token, query.output_token, query.items),
            ("ExclusiveStartKey", "LastEvaluatedKey", &["Items"][..])
        );
        assert_eq!(query.totals, ["Count", "ScannedCount"]);
        assert_eq!(SERVICE.operation("transact_write_items").unwrap().idempotency_token, Some("ClientRequestToken"));
    }
}
