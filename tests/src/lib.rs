//! Shared pieces of the end-to-end tests: the built components, Cognito
//! emulators on loopback, and clients (our host and the official SDK)
//! pointed at them.

pub mod api;
pub mod bench;
pub mod capture;
pub mod emulator;

use aws_sdk_cognitoidentityprovider as cognito;
use connector_host::{ConnectorHost, Credentials, CredentialsConfig, Endpoints, HostConfig};

/// Paths of the components `build.rs` built.
pub mod components {
    include!(concat!(env!("OUT_DIR"), "/components.rs"));
}

/// Region every test signs for; the emulators keep state per region.
pub const REGION: &str = "us-east-1";

/// Credentials for emulators that do not check them.
pub fn test_credentials() -> Credentials {
    Credentials::new("AKIDCONNECTORTEST", "connector-test-secret", None, None, "connector-tests")
}

/// Compiled-component cache shared by the tests of this workspace.
pub fn cache_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/connector-cache")
}

/// Host configuration sending every service to `endpoint` with `credentials`.
pub fn host_config(endpoint: &str, credentials: Credentials) -> HostConfig {
    HostConfig {
        region: Some(REGION.into()),
        credentials: CredentialsConfig::Static(credentials),
        endpoints: Endpoints::all_services(endpoint).expect("a valid endpoint"),
        cache_dir: Some(cache_dir()),
        ..HostConfig::default()
    }
}

/// A host sending to `endpoint` with the test credentials.
pub async fn host_for(endpoint: &str) -> ConnectorHost {
    ConnectorHost::new(host_config(endpoint, test_credentials())).await.expect("host starts")
}

/// The official Cognito SDK client against `endpoint`: the independent
/// check of what the connector did.
pub fn sdk_client(endpoint: &str, credentials: Credentials) -> cognito::Client {
    let config = cognito::Config::builder()
        .behavior_version(cognito::config::BehaviorVersion::latest())
        .region(cognito::config::Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(credentials)
        .build();
    cognito::Client::from_conf(config)
}
