//! Cognito's create operations, tried again for the same step of a run
//! after a try that may have taken effect (a worker that stopped mid-step,
//! an answer lost), find what that try made instead of making it twice; a
//! first try, or one after tries that did nothing, that meets an existing
//! name is still a conflict. Against moto, read back with the SDK.

use connector_host::{CallContext, InvokeError};
use connector_tests::components;
use connector_tests::emulator::{Emulator, Kind};
use connector_tests::{host_for, sdk_client, test_credentials};
use serde_json::{Value, json};

#[tokio::test]
async fn a_repeated_create_finds_what_the_first_try_made() {
    let emulator = Emulator::start(Kind::Moto);
    let host = host_for(&emulator.endpoint()).await;
    let cognito = host.load(components::GUEST_COGNITO).await.unwrap();
    for name in ["admin_create_user", "create_group", "create_user_pool", "create_resource_server", "sign_up"] {
        assert!(cognito.manifest().operation(name).unwrap().idempotent, "{name} says it is idempotent");
    }
    assert!(!cognito.manifest().operation("create_user_pool_client").unwrap().idempotent);
    let sdk = sdk_client(&emulator.endpoint(), test_credentials());
    let call = async |operation: &str, input: Value, step: &str, attempt: u32| {
        let context = CallContext::default().with_step("run-1", step, attempt).with_earlier_effect(attempt > 1);
        host.invoke_in(&cognito, operation, &input, &context).await
    };

    // Two pools of one name; the repeat of the step finds its own by tag,
    // past a page of other pools.
    for n in 0..60 {
        sdk.create_user_pool().pool_name(format!("Filler {n}")).send().await.unwrap();
    }
    let other = call("create_user_pool", json!({"pool_name": "Twice"}), "other", 1).await.unwrap();
    let first = call("create_user_pool", json!({"pool_name": "Twice"}), "pool", 1).await.unwrap();
    let again = call("create_user_pool", json!({"pool_name": "Twice"}), "pool", 2).await.unwrap();
    let pool = first["UserPool"]["Id"].as_str().unwrap().to_owned();
    assert_eq!(again["UserPool"]["Id"], pool, "the repeat answers the first try's pool");
    assert_ne!(other["UserPool"]["Id"], pool);
    let mut named_twice = 0;
    let mut pages = sdk.list_user_pools().max_results(60).into_paginator().send();
    while let Some(page) = pages.next().await {
        named_twice += page.unwrap().user_pools().iter().filter(|p| p.name() == Some("Twice")).count();
    }
    assert_eq!(named_twice, 2, "no third pool");
    let described = sdk.describe_user_pool().user_pool_id(&pool).send().await.unwrap();
    let tags = described.user_pool().unwrap().user_pool_tags().unwrap();
    assert_eq!(tags.get("connector-host:step").map(String::len), Some(32), "{tags:?}");

    // A user: the repeat reads the first try's back.
    let user = json!({"user_pool_id": pool, "username": "once", "message_action": "SUPPRESS",
                      "user_attributes": [{"name": "email", "value": "once@example.com"}]});
    let made = call("admin_create_user", user.clone(), "user", 1).await.unwrap();
    let repeated = call("admin_create_user", user.clone(), "user", 2).await.unwrap();
    assert_eq!(repeated["User"]["Username"], made["User"]["Username"]);
    assert_eq!(repeated["User"]["UserStatus"], made["User"]["UserStatus"]);
    // The first try of another step that meets the name is a conflict,
    // and so is a second try after one that did nothing (throttled): the
    // user was there before.
    let conflict = call("admin_create_user", user.clone(), "another", 1).await;
    assert!(
        matches!(&conflict, Err(InvokeError::Service { code, .. }) if code == "UsernameExistsException"),
        "{conflict:?}"
    );
    let after_nothing = CallContext::default().with_step("run-1", "another", 2).with_earlier_effect(false);
    let conflict = host.invoke_in(&cognito, "admin_create_user", &user, &after_nothing).await;
    assert!(
        matches!(&conflict, Err(InvokeError::Service { code, .. }) if code == "UsernameExistsException"),
        "{conflict:?}"
    );

    // A group, likewise.
    let group = json!({"user_pool_id": pool, "group_name": "admins"});
    call("create_group", group.clone(), "group", 1).await.unwrap();
    let repeated = call("create_group", group, "group", 3).await.unwrap();
    assert_eq!(repeated["Group"]["GroupName"], "admins");
    let groups = sdk.list_groups().user_pool_id(&pool).send().await.unwrap();
    assert_eq!(groups.groups().len(), 1);

    // An identity provider and a domain, likewise.
    let provider = json!({"user_pool_id": pool, "provider_name": "Corporate", "provider_type": "OIDC",
        "provider_details": {"client_id": "c", "client_secret": "s", "attributes_request_method": "GET",
                             "oidc_issuer": "https://issuer.example.com", "authorize_scopes": "openid"}});
    call("create_identity_provider", provider.clone(), "provider", 1).await.unwrap();
    let repeated = call("create_identity_provider", provider, "provider", 2).await.unwrap();
    assert_eq!(repeated["IdentityProvider"]["ProviderName"], "Corporate", "{repeated}");
    let providers = sdk.list_identity_providers().user_pool_id(&pool).send().await.unwrap();
    assert_eq!(providers.providers().len(), 1);
    let domain = json!({"user_pool_id": pool, "domain": "marketing-once"});
    call("create_user_pool_domain", domain.clone(), "domain", 1).await.unwrap();
    call("create_user_pool_domain", domain, "domain", 2).await.unwrap();
    let described = sdk.describe_user_pool_domain().domain("marketing-once").send().await.unwrap();
    assert_eq!(described.domain_description().unwrap().user_pool_id(), Some(pool.as_str()));

    // A sign-up names only its app client: a repeat that meets the name
    // taken finds the pool by the client and reads the user back.
    let client = call("create_user_pool_client", json!({"user_pool_id": pool, "client_name": "web"}), "client", 1)
        .await
        .unwrap();
    let client_id = client["UserPoolClient"]["ClientId"].as_str().unwrap().to_owned();
    let sign_up = json!({"client_id": client_id, "username": "signed", "password": "Passw0rd!Passw0rd"});
    let first = call("sign_up", sign_up.clone(), "sign-up", 1).await.unwrap();
    let repeated = call("sign_up", sign_up.clone(), "sign-up", 2).await.unwrap();
    assert_eq!(repeated["UserSub"], first["UserSub"], "{repeated}");
    assert_eq!(repeated["UserConfirmed"], first["UserConfirmed"], "{repeated}");
    let conflict = call("sign_up", sign_up, "another-sign-up", 1).await;
    assert!(
        matches!(&conflict, Err(InvokeError::Service { code, .. }) if code == "UsernameExistsException"),
        "{conflict:?}"
    );
}
