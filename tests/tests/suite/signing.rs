//! Requests are SigV4-signed with the host's credentials: ministack with
//! AUTH=true checks every signature against IAM keys created in it.

use connector_host::{ConnectorHost, Credentials, InvokeError};
use connector_tests::emulator::{Emulator, Kind};
use connector_tests::{components, host_config, sdk_client};
use serde_json::json;

async fn create_pool(
    emulator: &Emulator,
    credentials: Credentials,
    name: &str,
) -> Result<serde_json::Value, InvokeError> {
    let host = ConnectorHost::new(host_config(&emulator.endpoint(), credentials)).await.unwrap();
    let cognito = host.load(components::GUEST_COGNITO).await.unwrap();
    host.invoke(&cognito, "create_user_pool", &json!({"pool_name": name})).await
}

#[tokio::test]
async fn the_right_secret_works_and_a_wrong_one_is_refused() {
    let emulator = Emulator::start(Kind::Ministack { auth: true });
    let (key, session) = emulator.create_cognito_identity();

    let created = create_pool(&emulator, key.clone(), "Signed Pool").await.expect("a correctly signed call succeeds");
    let id = created["UserPool"]["Id"].as_str().unwrap();
    let sdk = sdk_client(&emulator.endpoint(), key.clone());
    let pool = sdk.describe_user_pool().user_pool_id(id).send().await.unwrap();
    assert_eq!(pool.user_pool().unwrap().name(), Some("Signed Pool"));

    let session_pool = create_pool(&emulator, session, "Session Pool").await;
    assert!(session_pool.is_ok(), "temporary credentials with a session token are signed too: {session_pool:?}");

    let wrong = Credentials::new(key.access_key_id(), "not-the-secret", None, None, "test");
    match create_pool(&emulator, wrong, "Forged Pool").await {
        Err(InvokeError::Service { code, message, retryable, .. }) => {
            assert_eq!(code, "InvalidSignatureException");
            assert!(message.contains("signature"), "{message}");
            assert!(!retryable);
        }
        other => panic!("a wrong secret must be refused, got {other:?}"),
    }
    let unknown = Credentials::new("AKIDUNKNOWN0000000000", "whatever", None, None, "test");
    assert!(matches!(create_pool(&emulator, unknown, "Unknown Pool").await, Err(InvokeError::Service { .. })));

    let pools = sdk.list_user_pools().max_results(60).send().await.unwrap();
    let names: Vec<_> = pools.user_pools().iter().filter_map(|p| p.name()).collect();
    assert!(!names.contains(&"Forged Pool") && !names.contains(&"Unknown Pool"), "{names:?}");
}
