use connector_tests::emulator::{Emulator, Kind};
use connector_tests::{components, host_for};

#[tokio::test]
async fn describe_lists_every_operation() {
    let emulator = Emulator::start(Kind::Moto);
    let host = host_for(&emulator.endpoint()).await;
    let cognito = host.load(components::GUEST_COGNITO).await.unwrap();
    assert_eq!(cognito.manifest().operations.len(), 132);
}
