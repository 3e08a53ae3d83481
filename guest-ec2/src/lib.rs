//! The Amazon EC2 connector: every operation of the `ec2` API (EC2's query protocol: form parameters in, XML out),
//! with input schemas and checks from the API model, sent through the
//! host's signed-HTTP capability. All of it is the generated table
//! (`model.rs`, from `connector-sdk/codegen/aws.py`); the SDK does the rest.

mod model;

/// Machine name of the connector, as hosts and workflows refer to it.
pub const NAME: &str = "aws-ec2";

connector_sdk::aws_connector!(NAME, model::SERVICE);

#[cfg(test)]
mod tests {
    use connector_sdk::aws::model::{Kind, Protocol};

    use super::model::SERVICE;

    #[test]
    fn the_table_speaks_ec2_with_its_parameter_names() {
        assert!(matches!(SERVICE.protocol, Protocol::Ec2 { version: "2016-11-15" }));
        assert_eq!(SERVICE.operations.len(), 811);
        // Two members whose query parameter is not their XML name capitalized.
        let renamed = SERVICE.shapes.iter().filter_map(|s| s.xml).flat_map(|xml| xml.query_names).count();
        assert_eq!(renamed, 2);
        let describe = SERVICE.operation("describe_security_groups").unwrap();
        let Kind::Structure(members) = &SERVICE.shapes[describe.output.unwrap() as usize].kind else { panic!() };
        assert!(members.iter().any(|m| m.api_name == "securityGroupInfo"), "replies are read by their XML names");
    }
}
