//! The Amazon EC2 connector: every operation of the `ec2` API (EC2's query protocol: form parameters in, XML out),
//! with input schemas and checks from the API model, sent through the
//! host's signed-HTTP capability. All of it is the generated table
//! (`model.rs`, from `connector-sdk/codegen/aws.py`); the SDK does the rest.

mod model;

/// Machine name of the connector, as hosts and workflows refer to it.
pub const NAME: &str = "aws-ec2";

connector_sdk::aws_connector!(NAME, model::SERVICE);
