//! Placeholder while the scenarios are written.
use connector_tests::api::Api;
use connector_tests::emulator::Kind;

#[tokio::test]
async fn placeholder() {
    let api = Api::start(Kind::Moto).await;
    assert!(!api.pool("P").await.is_empty());
}
