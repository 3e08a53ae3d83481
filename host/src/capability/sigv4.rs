//! SigV4 signing of an HTTP request with aws-sigv4: the one place the host
//! turns credentials into a signature.
//!
//! Guards against leaking a secret: the credentials go into the signer and
//! nowhere else; what comes out is the `Authorization`, `X-Amz-Date` and
//! (for temporary credentials) `X-Amz-Security-Token` headers the request
//! needs.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings, UriPathNormalizationMode,
    sign,
};
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
        .settings(settings_for(service))
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

/// The signing settings `service` expects. S3 (and its variants) signs the
/// path as sent (no second percent-encoding, no `..` normalization, since a
/// key is data) and names the payload's hash in `x-amz-content-sha256`,
/// which it requires on every request; every other service takes the
/// defaults.
fn settings_for(service: &str) -> SigningSettings {
    let mut settings = SigningSettings::default();
    if matches!(service, "s3" | "s3-outposts" | "s3express") {
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    }
    settings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed(service: &str, path: &str) -> http::Request<Vec<u8>> {
        let mut request = http::Request::put(format!("https://example.com{path}")).body(b"data".to_vec()).unwrap();
        let credentials = Credentials::new("AKIDEXAMPLE", "secret", None, None, "test");
        sign_request(&mut request, &credentials, service, "us-east-1", SystemTime::UNIX_EPOCH).unwrap();
        request
    }

    #[test]
    fn s3_requests_carry_the_payload_hash_and_other_services_do_not() {
        let s3 = signed("s3", "/bucket/a%20b/../c");
        assert_eq!(
            s3.headers()["x-amz-content-sha256"],
            "3a6eb0790f39ac87c94f3856b2dd2c5d110e6811602261a9a923d3bb23adc8b7",
            "the SHA-256 of the body"
        );
        assert!(!signed("dynamodb", "/").headers().contains_key("x-amz-content-sha256"));
        // A key's `..` and `%20` are signed as sent: normalizing or encoding
        // them again gives another signature.
        let authorization = |r: &http::Request<Vec<u8>>| r.headers()["authorization"].to_str().unwrap().to_owned();
        assert_ne!(authorization(&s3), authorization(&signed("s3", "/bucket/c")));
    }
}
