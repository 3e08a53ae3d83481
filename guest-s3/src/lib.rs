//! The Amazon S3 connector: every operation of the `s3` API (the REST-XML protocol: path labels, headers and XML bodies),
//! with input schemas and checks from the API model, sent through the
//! host's signed-HTTP capability. All of it is the generated table
//! (`model.rs`, from `connector-sdk/codegen/aws.py`); the SDK does the rest.

mod model;

/// Machine name of the connector, as hosts and workflows refer to it.
pub const NAME: &str = "aws-s3";

connector_sdk::aws_connector!(NAME, model::SERVICE);

#[cfg(test)]
mod tests {
    use connector_sdk::aws::model::Protocol;
    use connector_sdk::aws::model::rest::Checksum;

    use super::model::SERVICE;

    #[test]
    fn the_table_speaks_rest_xml_with_checksums_and_both_listings() {
        assert!(matches!(SERVICE.protocol, Protocol::RestXml));
        let put = SERVICE.operation("put_object").unwrap().http.unwrap();
        assert_eq!((put.method, put.uri, put.input_payload), ("PUT", "/{Bucket}/{Key+}", Some("Body")));
        let delete = SERVICE.operation("delete_objects").unwrap().http.unwrap();
        assert!(matches!(delete.checksum, Checksum::Crc32 { algorithm_header: Some("x-amz-sdk-checksum-algorithm") }));
        assert_eq!(delete.xml_root.as_ref().map(|root| root.name), Some("Delete"));
        let listing = SERVICE.operation("list_objects_v2").unwrap().pagination.unwrap();
        assert_eq!(listing.items, ["Contents", "CommonPrefixes"]);
        // An event stream is the list of its events, exceptions left to errors.
        let select = SERVICE.operation("select_object_content").unwrap();
        assert_eq!(select.http.unwrap().output_payload, Some("Payload"));
        let schema = connector_sdk::aws::model::schema::output_schema(&SERVICE, select.output.unwrap());
        let events = &schema["properties"]["Payload"];
        assert_eq!(events["type"], "array");
        let kinds: Vec<&String> = events["items"]["properties"].as_object().unwrap().keys().collect();
        assert_eq!(kinds, ["Records", "Stats", "Progress", "Cont", "End"]);
        assert_eq!(events["items"]["properties"]["Records"]["properties"]["Payload"]["contentEncoding"], "base64");
    }
}
