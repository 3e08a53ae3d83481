//! The Amazon CloudWatch connector: every operation of the `cloudwatch`
//! API (Smithy RPC v2 CBOR: CBOR in and out), with input schemas and checks
//! from the API model, sent through the host's signed-HTTP capability.
//! All of it is the generated table (`model.rs`, from
//! `connector-sdk/codegen/aws.py`); the SDK does the rest.

mod model;

/// Machine name of the connector, as hosts and workflows refer to it.
pub const NAME: &str = "aws-cloudwatch";

connector_sdk::aws_connector!(NAME, model::SERVICE);

#[cfg(test)]
mod tests {
    use connector_sdk::aws::model::Protocol;

    use super::model::SERVICE;

    #[test]
    fn the_table_speaks_json_as_botocore_does() {
        // CloudWatch lists CBOR, JSON and query; botocore prefers JSON.
        assert!(matches!(SERVICE.protocol, Protocol::Json { target_prefix: "GraniteServiceVersion20100801", .. }));
        assert_eq!(SERVICE.signing_name, "monitoring");
        let headers = SERVICE.operation("put_metric_data").unwrap().headers;
        assert!(headers.contains(&("x-amzn-query-mode", "true")), "a query-compatible service");
    }
}
