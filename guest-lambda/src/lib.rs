//! The AWS Lambda connector: every operation of the `lambda` API (REST-JSON:
//! members bound to the path, query and headers), with input schemas and
//! checks from the API model, sent through the host's signed-HTTP
//! capability. All of it is the generated table (`model.rs`, from
//! `connector-sdk/codegen/aws.py`); the SDK does the rest.

mod model;

/// Machine name of the connector, as hosts and workflows refer to it.
pub const NAME: &str = "aws-lambda";

connector_sdk::aws_connector!(NAME, model::SERVICE);

#[cfg(test)]
mod tests {
    use super::*;
    use connector_sdk::Connector;
    use connector_sdk::aws::model::rest::Location;
    use model::SERVICE;

    #[test]
    fn every_operation_has_its_http_binding() {
        let manifest = Generated::operations().manifest();
        assert_eq!(manifest.len(), SERVICE.operations.len(), "REST services have no call_api");
        assert!(SERVICE.operations.iter().all(|op| op.http.is_some()));
        let invoke = SERVICE.operation("invoke").unwrap().http.as_ref().unwrap();
        assert_eq!((invoke.method, invoke.uri), ("POST", "/2015-03-31/functions/{FunctionName}/invocations"));
        assert_eq!((invoke.input_payload, invoke.output_payload), (Some("Payload"), Some("Payload")));
        assert!(invoke.output.iter().any(|b| b.member == "StatusCode" && matches!(b.location, Location::StatusCode)));
        let streamed = SERVICE.operation("invoke_with_response_stream").unwrap().http.as_ref().unwrap();
        assert_eq!(streamed.output_payload, Some("EventStream"));
    }
}
