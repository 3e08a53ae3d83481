//! EventBridge v2, a service that speaks only Smithy RPC v2 CBOR, as a
//! connector generated from its API model: the wire test compares each of
//! its requests with boto3's.

mod model;

connector_sdk::aws_connector!("aws-events-v2", model::SERVICE);
