//! Loading refuses whatever is not a compatible connector, with an error
//! that says what the file is.

use connector_tests::{components, host_for};

async fn load_error(path: &std::path::Path) -> String {
    let host = host_for("http://127.0.0.1:9").await;
    let err = host.load(path).await.expect_err("loading must fail");
    format!("{err:#}")
}

#[tokio::test]
async fn a_component_without_the_connector_export_is_refused() {
    let err = load_error(components::NO_EXPORT.as_ref()).await;
    assert!(err.contains("is not a compatible connector"), "{err}");
    assert!(err.contains("does not export `connector:api/connector@0.1.0`"), "{err}");
    assert!(err.contains("wasi:cli/run"), "names what it does export: {err}");
}

#[tokio::test]
async fn an_incompatible_contract_version_is_refused_by_name() {
    let err = load_error(components::FUTURE_CONTRACT.as_ref()).await;
    assert!(err.contains("built for contract version 0.2.0"), "{err}");
    assert!(err.contains("this host implements connector:api@0.1.0 and accepts 0.1.x"), "{err}");
}

#[tokio::test]
async fn random_bytes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("random.wasm");
    let bytes: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    std::fs::write(&path, bytes).unwrap();
    let err = load_error(&path).await;
    assert!(err.contains("is not a connector: the file is not WebAssembly"), "{err}");
}

#[tokio::test]
async fn a_core_module_is_refused_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("module.wasm");
    std::fs::write(&path, b"\0asm\x01\0\0\0").unwrap();
    let err = load_error(&path).await;
    assert!(err.contains("core WebAssembly module, not a component"), "{err}");
}

#[tokio::test]
async fn a_truncated_component_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("truncated.wasm");
    let bytes = std::fs::read(components::GUEST_COGNITO).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let err = load_error(&path).await;
    assert!(err.contains("is not a valid WebAssembly component"), "{err}");
}

#[tokio::test]
async fn a_missing_file_is_named() {
    let err = load_error("/nonexistent/connector.wasm".as_ref()).await;
    assert!(err.contains("could not read /nonexistent/connector.wasm"), "{err}");
}
