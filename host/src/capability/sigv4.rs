//! SigV4 signing of an HTTP request with aws-sigv4: the one place the host
//! turns credentials into a signature.
//!
//! Guards against leaking a secret: the credentials go into the signer and
//! nowhere else; what comes out is the `Authorization`, `X-Amz-Date` and
//! (for temporary credentials) `X-Amz-Security-Token` headers the request
//! needs.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;

/// Signs `request` in place for `service` in `region` at `time`.
///
/// ```
/// use connector_host::{Credentials, sigv4};
/// let mut request = http::Request::post("https://cognito-idp.us-east-1.amazonaws.com/")
///     .header("x-amz-target", "AWSCognitoIdentityProviderService.ListUserPools")
///     .body(br#"{"MaxResults":10}"#.to_vec())
///     .unwrap();
/// let credentials = Credentials::new("AKIDEXAMPLE", "secret", None, None, "example");
/// sigv4::sign_request(&mut request, &credentials, "cognito-idp", "us-east-1", std::time::SystemTime::now()).unwrap();
/// assert!(request.headers()["authorization"].to_str().unwrap().starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"));
/// ```
pub fn sign_request(
    request: &mut http::Request<Vec<u8>>,
    credentials: &Credentials,
    service: &str,
    region: &str,
    time: SystemTime,
) -> Result<(), String> {
    let identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| format!("could not sign the request: {e}"))?
        .into();
    let uri = request.uri().to_string();
    let headers = request.headers().iter().filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?)));
    let signable =
        SignableRequest::new(request.method().as_str(), uri.as_str(), headers, SignableBody::Bytes(request.body()))
            .map_err(|e| format!("could not sign the request: {e}"))?;
    let (instructions, _signature) =
        sign(signable, &params).map_err(|e| format!("could not sign the request: {e}"))?.into_parts();
    instructions.apply_to_request_http1x(request);
    Ok(())
}
