//! The Amazon S3 connector: every operation of the `s3` API (the REST-XML protocol: path labels, headers and XML bodies),
//! with input schemas and checks from the API model, sent through the
//! host's signed-HTTP capability. All of it is the generated table
//! (`model.rs`, from `connector-sdk/codegen/aws.py`); the SDK does the rest.

mod model;

/// Machine name of the connector, as hosts and workflows refer to it.
pub const NAME: &str = "aws-s3";

connector_sdk::aws_connector!(NAME, model::SERVICE);
