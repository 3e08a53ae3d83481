//! Shared pieces of the end-to-end tests: the built components, Cognito
//! emulators on loopback, and clients (our host and the official SDK)
//! pointed at them.

pub mod api;
pub mod bench;
pub mod browser;
pub mod capture;
pub mod debian;
pub mod emulator;
pub mod http_apis;
pub mod nats;
pub mod registry;
pub mod server;

use aws_sdk_cognitoidentityprovider as cognito;
use connector_host::{ConnectorHost, Credentials, CredentialsConfig, Endpoints, HostConfig};

/// Paths of the components `build.rs` built.
pub mod components {
    include!(concat!(env!("OUT_DIR"), "/components.rs"));
}

/// Operations the hostile test component lists (`OPERATIONS` in
/// tests/guests/hostile).
pub const HOSTILE_OPERATIONS: usize = 21;

/// A copy of the hostile test component in `dir` whose manifest is of
/// `mode` (see `MANIFEST_MODE` in tests/guests/hostile): the same code in
/// different bytes.
pub fn hostile_variant(mode: &str, dir: &std::path::Path) -> std::path::PathBuf {
    const MARKER: &[u8] = b"HOSTILE_MANIFEST_MODE=normal____________";
    assert!(mode.len() <= 18, "mode `{mode}` is too long for the marker");
    let mut bytes = std::fs::read(components::HOSTILE).expect("the hostile component is built");
    let at = bytes.windows(MARKER.len()).position(|w| w == MARKER).expect("the marker is in the component");
    let replacement = format!("HOSTILE_MANIFEST_MODE={mode:_<18}");
    bytes[at..at + MARKER.len()].copy_from_slice(replacement.as_bytes());
    let path = dir.join(format!("hostile-{mode}.wasm"));
    std::fs::write(&path, bytes).expect("write the variant");
    path
}

/// Region every test signs for; the emulators keep state per region.
pub const REGION: &str = "us-east-1";

/// Credentials for emulators that do not check them.
pub fn test_credentials() -> Credentials {
    Credentials::new("AKIDCONNECTORTEST", "connector-test-secret", None, None, "connector-tests")
}

/// The seed workflow shipped with the host: a user pool, then a user in it.
pub fn seed_workflow_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../host/workflows/marketing-department.json")
}

/// The seed workflow as `serve` takes it: its `cognito` alias sends steps
/// to the loaded connector called `aws-cognito`.
pub fn served_seed_workflow() -> serde_json::Value {
    let mut workflow: serde_json::Value =
        serde_json::from_slice(&std::fs::read(seed_workflow_path()).expect("the seed workflow")).expect("JSON");
    workflow["connectors"] = serde_json::json!({"cognito": "aws-cognito"});
    workflow
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

/// Loads `workflow`'s connectors (component paths by alias from
/// `components`, else the workflow's own) and runs it, with no inputs
/// beyond its defaults.
pub async fn run_workflow(
    host: &ConnectorHost,
    workflow: &connector_host::workflow::Workflow,
    components: &std::collections::BTreeMap<String, std::path::PathBuf>,
    on_step: impl FnMut(usize, &connector_host::workflow::StepReport) + Send,
) -> anyhow::Result<Vec<connector_host::workflow::StepReport>> {
    let components = components.iter().map(|(alias, path)| (alias.clone(), path.clone().into())).collect();
    let connectors = connector_host::workflow::load_connectors(host, workflow, &components).await?;
    let inputs = workflow.accept_inputs(None).map_err(anyhow::Error::msg)?;
    Ok(connector_host::workflow::run(host, workflow, &connectors, &inputs, on_step).await)
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
