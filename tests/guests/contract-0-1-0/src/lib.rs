//! Exports `connector:api/connector@0.1.0` and imports
//! `connector:api/signed-http@0.1.0`: a connector from before 0.1.1, which
//! a later 0.1.x host must load, and whose calls it must serve.

wit_bindgen::generate!({
    path: "wit",
    world: "plugin",
});

use connector::api::signed_http::{self, Request};
use connector::api::types::{Error, Manifest, Operation};

struct Old;

impl exports::connector::api::connector::Guest for Old {
    fn describe() -> Manifest {
        Manifest {
            name: "contract-0-1-0".into(),
            title: "Built against contract 0.1.0".into(),
            version: "0.1.0".into(),
            services: vec!["cognito-idp".into()],
            operations: vec![Operation {
                name: "list_user_pools".into(),
                title: "List user pools".into(),
                description: "Sends ListUserPools through the capability and returns the reply.".into(),
                input_schema: r#"{"type":"object"}"#.into(),
            }],
        }
    }

    fn invoke(operation: String, _input: String) -> Result<String, Error> {
        if operation != "list_user_pools" {
            return Err(Error::UnknownOperation(operation));
        }
        let request = Request {
            service: "cognito-idp".into(),
            method: "POST".into(),
            path: "/".into(),
            headers: vec![
                ("x-amz-target".into(), "AWSCognitoIdentityProviderService.ListUserPools".into()),
                ("content-type".into(), "application/x-amz-json-1.1".into()),
            ],
            body: br#"{"MaxResults": 60}"#.to_vec(),
            sign: true,
        };
        let response = signed_http::send(&request).map_err(|e| Error::Host(format!("{e:?}")))?;
        String::from_utf8(response.body).map_err(|e| Error::Internal(e.to_string()))
    }
}

export!(Old);
