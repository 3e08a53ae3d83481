//! The Amazon SNS connector: every operation of the `sns` API (the query
//! protocol: form parameters in, XML out), with input schemas and checks
//! from the API model, sent through the host's signed-HTTP capability.
//! All of it is the generated table (`model.rs`, from
//! `connector-sdk/codegen/aws.py`); the SDK does the rest.

mod model;

/// Machine name of the connector, as hosts and workflows refer to it.
pub const NAME: &str = "aws-sns";

connector_sdk::aws_connector!(NAME, model::SERVICE);

#[cfg(test)]
mod tests {
    use super::*;
    use connector_sdk::Connector;
    use connector_sdk::aws::model::{Kind, Protocol};
    use model::SERVICE;

    #[test]
    fn the_table_speaks_the_query_protocol_with_its_element_names() {
        assert!(matches!(SERVICE.protocol, Protocol::Query { version: "2010-03-31" }));
        assert_eq!(
            Generated::operations().manifest().len(),
            SERVICE.operations.len(),
            "query services have no call_api"
        );
        let publish = SERVICE.operation("publish").unwrap();
        let Kind::Structure(members) = &SERVICE.shapes[publish.input as usize].kind else { panic!("a structure") };
        let attributes = members.iter().find(|m| m.api_name == "MessageAttributes").unwrap();
        let names = SERVICE.shapes[attributes.shape as usize].xml.expect("MessageAttributes names its elements");
        assert_eq!((names.key, names.value, names.flattened), ("Name", "Value", false));
    }
}
