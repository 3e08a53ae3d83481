//! The Amazon CloudWatch connector: every operation of the `cloudwatch`
//! API (Smithy RPC v2 CBOR: CBOR in and out), with input schemas and checks
//! from the API model, sent through the host's signed-HTTP capability.
//! All of it is the generated table (`model.rs`, from
//! `connector-sdk/codegen/aws.py`); the SDK does the rest.

mod model;

/// Machine name of the connector, as hosts and workflows refer to it.
pub const NAME: &str = "aws-cloudwatch";

connector_sdk::aws_connector!(NAME, model::SERVICE);
