//! Loading refuses whatever is not a compatible connector, with an error
//! that says what the file is.

use connector_host::{ConnectorHost, LoadError};
use connector_tests::{components, host_config, host_for, test_credentials};

/// The load error's kind and text.
async fn load_error_of_kind(path: &std::path::Path) -> (&'static str, String) {
    let host = host_for("http://127.0.0.1:9").await;
    let err: LoadError = host.load(path).await.expect_err("loading must fail");
    (err.kind(), format!("{err:#}"))
}

async fn load_error(path: &std::path::Path) -> String {
    load_error_of_kind(path).await.1
}

#[tokio::test]
async fn a_component_without_the_connector_export_is_refused() {
    let (kind, err) = load_error_of_kind(components::NO_EXPORT.as_ref()).await;
    assert_eq!(kind, "incompatible");
    assert!(err.contains("is not a compatible connector"), "{err}");
    assert!(err.contains("does not export `connector:api/connector@0.1.3`"), "{err}");
    assert!(err.contains("wasi:cli/run"), "names what it does export: {err}");
}

#[tokio::test]
async fn an_incompatible_contract_version_is_refused_by_name() {
    let err = load_error(components::FUTURE_CONTRACT.as_ref()).await;
    assert!(err.contains("built for contract version 0.2.0"), "{err}");
    assert!(err.contains("this host implements connector:api@0.1.3 and accepts 0.1.x"), "{err}");
}

/// A connector built before `invocation` and `details` existed (contract
/// 0.1.0) loads, and its signed requests go out: the host links its 0.1.0
/// imports and exports to its own 0.1.3 ones, and it has no details.
#[tokio::test]
async fn a_connector_built_against_contract_0_1_0_still_runs() {
    let emulator = connector_tests::emulator::Emulator::start(connector_tests::emulator::Kind::Moto);
    let host = host_for(&emulator.endpoint()).await;
    let old = host.load(components::CONTRACT_0_1_0).await.expect("a 0.1.0 connector loads");
    let output = host.invoke(&old, "list_user_pools", &serde_json::json!({})).await.expect("it runs");
    assert!(output["UserPools"].is_array(), "{output}");
    assert!(old.manifest().operations.iter().all(|op| op.output_schema.is_none() && op.effect.is_none()));
    let inspection = host.inspect(components::CONTRACT_0_1_0).await.unwrap();
    assert_eq!(inspection.contract, "connector:api/connector@0.1.0");
}

/// What a connector says in `details` (contract 0.1.2) reaches its
/// manifest: output schemas, effects and the HTTP APIs it calls; details
/// that name an operation the manifest lacks, an output schema that
/// expands without end, or APIs badly named, twice or too many, are
/// refused at load like any broken manifest.
#[tokio::test]
async fn details_come_with_the_manifest_and_are_checked() {
    let host = host_for("http://127.0.0.1:9").await;
    let hostile = host.load(components::HOSTILE).await.unwrap();
    let echo = hostile.manifest().operation("echo").unwrap();
    assert_eq!(echo.output_schema.as_ref().unwrap()["properties"]["token"]["writeOnly"], true);
    assert_eq!(hostile.manifest().apis[0].name, "echo");
    assert_eq!(hostile.manifest().apis[0].credentials, ["bearer"]);
    assert_eq!(hostile.grant().apis().collect::<Vec<_>>(), ["echo"], "granted as declared when no rule narrows");
    let forge = hostile.manifest().operation("forge_host_error").unwrap();
    assert_eq!(forge.effect, Some(connector_host::Effect::Destructive));
    assert!(forge.hints().destructive, "declared destructive");
    let dir = tempfile::tempdir().unwrap();
    for (mode, expected) in [
        ("details-unknown", "its details name operation `nope`, which its manifest does not list"),
        ("output-bomb", "the output schema of operation `echo` expands to more than 50000 values"),
        ("api-bad-name", "it declares API `evil.com/x`, which is not a machine name"),
        ("api-twice", "it declares API `echo` twice"),
        ("many-apis", "it declares 100 APIs, over the limit of 64"),
    ] {
        let refused = host.load(connector_tests::hostile_variant(mode, dir.path())).await.unwrap_err();
        assert_eq!(refused.kind(), "invalid-manifest", "{refused}");
        assert!(refused.to_string().contains(expected), "{refused}");
    }
    let cognito = host.load(components::GUEST_COGNITO).await.unwrap();
    let call_api = cognito.manifest().operation("call_api").unwrap();
    let tokens = &call_api.output_schema.as_ref().unwrap()["properties"]["AuthenticationResult"]["properties"];
    assert_eq!(tokens["AccessToken"]["writeOnly"], true, "what any action returns secret stays secret");
    let inspection = host.inspect(components::GUEST_COGNITO).await.unwrap();
    let listed = inspection.manifest["operations"].as_array().unwrap();
    let call_api = listed.iter().find(|op| op["name"] == "call_api").unwrap();
    assert_eq!(call_api["effect"], "destructive");
    assert_eq!(inspection.problems, Vec::<String>::new());
}

/// What a connector reads of its invocation through `invocation`: nothing
/// of a run outside one, and the run, step and attempt inside one.
#[tokio::test]
async fn a_connector_reads_its_run_step_and_attempt() {
    let host = host_for("http://127.0.0.1:9").await;
    let hostile = host.load(components::HOSTILE).await.unwrap();
    let plain = host.invoke(&hostile, "invocation", &serde_json::json!({})).await.unwrap();
    assert_eq!(plain, serde_json::json!({"run_id": null, "step_id": null, "attempt": 1}));
    let context = connector_host::CallContext::default().with_step("run-7", "pool", 3);
    let in_run = host.invoke_in(&hostile, "invocation", &serde_json::json!({}), &context).await.unwrap();
    assert_eq!(in_run, serde_json::json!({"run_id": "run-7", "step_id": "pool", "attempt": 3}));
}

#[tokio::test]
async fn random_bytes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("random.wasm");
    let bytes: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    std::fs::write(&path, bytes).unwrap();
    let (kind, err) = load_error_of_kind(&path).await;
    assert_eq!(kind, "not-a-component");
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
    let (kind, err) = load_error_of_kind(&path).await;
    assert_eq!(kind, "invalid-component");
    assert!(err.contains("is not a valid WebAssembly component"), "{err}");
}

#[tokio::test]
async fn a_missing_file_is_named() {
    let (kind, err) = load_error_of_kind("/nonexistent/connector.wasm".as_ref()).await;
    assert_eq!(kind, "unreadable");
    assert!(err.contains("could not read /nonexistent/connector.wasm"), "{err}");
}

/// Cold loads of one component at once, into an empty compiled cache: each
/// writer uses its own temporary file, so all succeed and one whole entry
/// remains (the temporary file was once named by process id alone).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_cold_loads_share_the_compiled_cache_safely() {
    let cache = tempfile::tempdir().unwrap();
    let mut config = host_config("http://127.0.0.1:9", test_credentials());
    config.cache_dir = Some(cache.path().to_owned());
    let host = ConnectorHost::new(config.clone()).await.unwrap();
    let loads: Vec<_> = (0..6)
        .map(|_| {
            let host = host.clone();
            tokio::spawn(async move { host.load(components::HOSTILE).await.map(|c| c.digest().to_owned()) })
        })
        .collect();
    for load in loads {
        load.await.unwrap().expect("every concurrent load succeeds");
    }
    let entries: Vec<String> = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(entries.len(), 1, "one entry and no temporary files: {entries:?}");
    assert!(entries[0].ends_with(".cwasm"), "{entries:?}");
    let reloaded = ConnectorHost::new(config).await.unwrap().load(components::HOSTILE).await.unwrap();
    assert_eq!(reloaded.name(), "hostile", "the entry loads");
}
