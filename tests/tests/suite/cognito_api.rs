//! The wider Cognito API end to end on the emulators: app clients, the
//! unauthenticated sign-up and sign-in flow, groups, domains, identity
//! providers, resource servers, MFA configuration and pagination, each
//! result read back through the official SDK.

use connector_host::{InvokeError, SendError};
use connector_tests::api::{Api, sdk_code};
use connector_tests::emulator::Kind;
use serde_json::json;

async fn sign_up_and_sign_in(kind: Kind) {
    let api = Api::start(kind).await;
    let sdk = api.sdk();
    let pool = api.pool("Auth Pool").await;
    let client = api
        .ok(
            "create_user_pool_client",
            json!({"user_pool_id": pool, "client_name": "web",
                   "explicit_auth_flows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]}),
        )
        .await;
    let client_id = client["UserPoolClient"]["ClientId"].as_str().unwrap().to_owned();
    let described = sdk.describe_user_pool_client().user_pool_id(&pool).client_id(&client_id).send().await.unwrap();
    assert_eq!(described.user_pool_client().unwrap().client_name(), Some("web"));

    let signed_up = api
        .anonymous(
            "sign_up",
            json!({"client_id": client_id, "username": "alice", "password": "Sup3r-secret-pw!",
                   "user_attributes": [{"name": "email", "value": "alice@example.com"}]}),
        )
        .await;
    assert_eq!(signed_up["UserConfirmed"], false);
    let user = sdk.admin_get_user().user_pool_id(&pool).username("alice").send().await.unwrap();
    assert_eq!(user.user_status().map(|s| s.as_str()), Some("UNCONFIRMED"));

    api.ok("admin_confirm_sign_up", json!({"user_pool_id": pool, "username": "alice"})).await;
    let user = sdk.admin_get_user().user_pool_id(&pool).username("alice").send().await.unwrap();
    assert_eq!(user.user_status().map(|s| s.as_str()), Some("CONFIRMED"));

    let auth = api
        .anonymous(
            "initiate_auth",
            json!({"auth_flow": "USER_PASSWORD_AUTH", "client_id": client_id,
                   "auth_parameters": {"USERNAME": "alice", "PASSWORD": "Sup3r-secret-pw!"}}),
        )
        .await;
    let access_token = auth["AuthenticationResult"]["AccessToken"].as_str().expect("an access token").to_owned();
    let me = api.anonymous("get_user", json!({"access_token": access_token})).await;
    assert_eq!(me["Username"], "alice");

    // Signed operations need credentials the anonymous host does not have.
    let (host, cognito) = &api.anonymous;
    match host.invoke(cognito, "admin_get_user", &json!({"user_pool_id": pool, "username": "alice"})).await {
        Err(InvokeError::Capability(SendError::Transport(message))) => {
            assert!(message.contains("without AWS credentials"), "{message}")
        }
        other => panic!("a signed call without credentials must fail in the host, got {other:?}"),
    }
}

#[tokio::test]
async fn sign_up_and_sign_in_on_moto() {
    sign_up_and_sign_in(Kind::Moto).await;
}

#[tokio::test]
async fn sign_up_and_sign_in_on_ministack() {
    sign_up_and_sign_in(Kind::Ministack { auth: false }).await;
}

async fn groups_and_membership(kind: Kind) {
    let api = Api::start(kind).await;
    let sdk = api.sdk();
    let pool = api.pool("Groups Pool").await;
    api.ok("admin_create_user", json!({"user_pool_id": pool, "username": "bob", "message_action": "SUPPRESS"})).await;
    api.ok(
        "create_group",
        json!({"user_pool_id": pool, "group_name": "editors", "description": "Can edit", "precedence": 2}),
    )
    .await;
    let group = sdk.get_group().user_pool_id(&pool).group_name("editors").send().await.unwrap();
    assert_eq!(group.group().unwrap().description(), Some("Can edit"));
    assert_eq!(
        api.ok("get_group", json!({"user_pool_id": pool, "group_name": "editors"})).await["Group"]["Precedence"],
        2
    );

    if api
        .ok_where_implemented(
            "update_group",
            json!({"user_pool_id": pool, "group_name": "editors", "description": "Edits"}),
        )
        .await
    {
        let group = sdk.get_group().user_pool_id(&pool).group_name("editors").send().await.unwrap();
        assert_eq!(group.group().unwrap().description(), Some("Edits"));
    }

    api.ok("admin_add_user_to_group", json!({"user_pool_id": pool, "username": "bob", "group_name": "editors"})).await;
    let members = sdk.list_users_in_group().user_pool_id(&pool).group_name("editors").send().await.unwrap();
    assert_eq!(members.users().iter().filter_map(|u| u.username()).collect::<Vec<_>>(), ["bob"]);
    let ours = api.ok("list_users_in_group", json!({"user_pool_id": pool, "group_name": "editors"})).await;
    assert_eq!(ours["Users"][0]["Username"], "bob");
    let of_bob = api.ok("admin_list_groups_for_user", json!({"user_pool_id": pool, "username": "bob"})).await;
    assert_eq!(of_bob["Groups"][0]["GroupName"], "editors");

    api.ok("admin_remove_user_from_group", json!({"user_pool_id": pool, "username": "bob", "group_name": "editors"}))
        .await;
    let members = sdk.list_users_in_group().user_pool_id(&pool).group_name("editors").send().await.unwrap();
    assert!(members.users().is_empty());
    api.ok("delete_group", json!({"user_pool_id": pool, "group_name": "editors"})).await;
    let gone = sdk.get_group().user_pool_id(&pool).group_name("editors").send().await.unwrap_err();
    assert_eq!(sdk_code(gone), "ResourceNotFoundException");
}

#[tokio::test]
async fn groups_and_membership_on_moto() {
    groups_and_membership(Kind::Moto).await;
}

#[tokio::test]
async fn groups_and_membership_on_ministack() {
    groups_and_membership(Kind::Ministack { auth: false }).await;
}

async fn users_and_attributes(kind: Kind) {
    let api = Api::start(kind).await;
    let sdk = api.sdk();
    let pool = api.pool("Users Pool").await;
    api.ok("admin_create_user", json!({"user_pool_id": pool, "username": "carol", "message_action": "SUPPRESS"})).await;
    api.ok(
        "admin_update_user_attributes",
        json!({"user_pool_id": pool, "username": "carol", "user_attributes": [{"name": "given_name", "value": "Carol"}]}),
    )
    .await;
    let carol = sdk.admin_get_user().user_pool_id(&pool).username("carol").send().await.unwrap();
    assert!(carol.user_attributes().iter().any(|a| a.name() == "given_name" && a.value() == Some("Carol")));

    api.ok("admin_disable_user", json!({"user_pool_id": pool, "username": "carol"})).await;
    assert!(!sdk.admin_get_user().user_pool_id(&pool).username("carol").send().await.unwrap().enabled());
    api.ok("admin_enable_user", json!({"user_pool_id": pool, "username": "carol"})).await;
    assert!(sdk.admin_get_user().user_pool_id(&pool).username("carol").send().await.unwrap().enabled());

    api.ok(
        "admin_set_user_password",
        json!({"user_pool_id": pool, "username": "carol", "password": "An0ther-secret!", "permanent": true}),
    )
    .await;
    let carol = sdk.admin_get_user().user_pool_id(&pool).username("carol").send().await.unwrap();
    assert_eq!(carol.user_status().map(|s| s.as_str()), Some("CONFIRMED"));

    let delete = json!({"user_pool_id": pool, "username": "carol", "user_attribute_names": ["given_name"]});
    if api.ok_where_implemented("admin_delete_user_attributes", delete).await {
        let carol = sdk.admin_get_user().user_pool_id(&pool).username("carol").send().await.unwrap();
        assert!(!carol.user_attributes().iter().any(|a| a.name() == "given_name"));
    }

    api.ok(
        "add_custom_attributes",
        json!({"user_pool_id": pool, "custom_attributes": [{"name": "tier", "attribute_data_type": "String"}]}),
    )
    .await;
    let described = sdk.describe_user_pool().user_pool_id(&pool).send().await.unwrap();
    assert!(described.user_pool().unwrap().schema_attributes().iter().any(|a| a.name() == Some("custom:tier")));

    api.ok("update_user_pool", json!({"user_pool_id": pool, "user_pool_tags": {"stage": "test"}})).await;
    let described = sdk.describe_user_pool().user_pool_id(&pool).send().await.unwrap();
    assert_eq!(
        described.user_pool().unwrap().user_pool_tags().and_then(|t| t.get("stage")).map(String::as_str),
        Some("test")
    );
}

#[tokio::test]
async fn users_and_attributes_on_moto() {
    users_and_attributes(Kind::Moto).await;
}

#[tokio::test]
async fn users_and_attributes_on_ministack() {
    users_and_attributes(Kind::Ministack { auth: false }).await;
}

async fn domains_providers_and_resource_servers(kind: Kind) {
    let api = Api::start(kind).await;
    let sdk = api.sdk();
    let pool = api.pool("Federation Pool").await;

    api.ok("create_user_pool_domain", json!({"user_pool_id": pool, "domain": "marketing-login"})).await;
    let domain = sdk.describe_user_pool_domain().domain("marketing-login").send().await.unwrap();
    assert_eq!(domain.domain_description().unwrap().user_pool_id(), Some(pool.as_str()));
    api.ok("delete_user_pool_domain", json!({"user_pool_id": pool, "domain": "marketing-login"})).await;

    api.ok(
        "create_identity_provider",
        json!({"user_pool_id": pool, "provider_name": "Corp", "provider_type": "OIDC",
               "provider_details": {"client_id": "corp-client", "client_secret": "s", "attributes_request_method": "GET",
                                    "oidc_issuer": "https://idp.example.com", "authorize_scopes": "openid"},
               "attribute_mapping": {"email": "email"}}),
    )
    .await;
    let idp = sdk.describe_identity_provider().user_pool_id(&pool).provider_name("Corp").send().await.unwrap();
    let provider = idp.identity_provider().unwrap();
    assert_eq!(provider.provider_details().and_then(|d| d.get("client_id")).map(String::as_str), Some("corp-client"));
    let listed = api.ok("list_identity_providers", json!({"user_pool_id": pool})).await;
    assert_eq!(listed["Providers"][0]["ProviderName"], "Corp");
    api.ok("delete_identity_provider", json!({"user_pool_id": pool, "provider_name": "Corp"})).await;
    let gone = sdk.describe_identity_provider().user_pool_id(&pool).provider_name("Corp").send().await.unwrap_err();
    assert_eq!(sdk_code(gone), "ResourceNotFoundException");

    api.ok(
        "create_resource_server",
        json!({"user_pool_id": pool, "identifier": "https://api.example.com", "name": "API",
               "scopes": [{"scope_name": "read", "scope_description": "Read"}]}),
    )
    .await;
    let server =
        sdk.describe_resource_server().user_pool_id(&pool).identifier("https://api.example.com").send().await.unwrap();
    assert_eq!(server.resource_server().unwrap().scopes()[0].scope_name(), "read");
    let listed = api.ok("list_resource_servers", json!({"user_pool_id": pool, "max_results": 10})).await;
    assert_eq!(listed["ResourceServers"][0]["Name"], "API");
    api.ok_where_implemented(
        "delete_resource_server",
        json!({"user_pool_id": pool, "identifier": "https://api.example.com"}),
    )
    .await;

    api.ok(
        "set_user_pool_mfa_config",
        json!({"user_pool_id": pool, "software_token_mfa_configuration": {"enabled": true}, "mfa_configuration": "OPTIONAL"}),
    )
    .await;
    let mfa = sdk.get_user_pool_mfa_config().user_pool_id(&pool).send().await.unwrap();
    assert_eq!(mfa.mfa_configuration().map(|m| m.as_str()), Some("OPTIONAL"));
    let ours = api.ok("get_user_pool_mfa_config", json!({"user_pool_id": pool})).await;
    assert_eq!(ours["SoftwareTokenMfaConfiguration"]["Enabled"], true);
}

#[tokio::test]
async fn domains_providers_and_resource_servers_on_moto() {
    domains_providers_and_resource_servers(Kind::Moto).await;
}

#[tokio::test]
async fn domains_providers_and_resource_servers_on_ministack() {
    domains_providers_and_resource_servers(Kind::Ministack { auth: false }).await;
}

async fn pagination(kind: Kind) {
    let api = Api::start(kind).await;
    let pool = api.pool("Paged Pool").await;
    for i in 0..7 {
        api.ok(
            "admin_create_user",
            json!({"user_pool_id": pool, "username": format!("user{i}"), "message_action": "SUPPRESS"}),
        )
        .await;
    }
    for i in 0..5 {
        api.ok("create_group", json!({"user_pool_id": pool, "group_name": format!("group{i}")})).await;
    }

    // By hand: the page token passes through both ways.
    let mut names = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut input = json!({"user_pool_id": pool, "limit": 2});
        if let Some(t) = &token {
            input["pagination_token"] = json!(t);
        }
        let page = api.ok("list_users", input).await;
        pages += 1;
        names.extend(page["Users"].as_array().unwrap().iter().map(|u| u["Username"].as_str().unwrap().to_owned()));
        match page["PaginationToken"].as_str() {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
    }
    names.sort();
    assert_eq!(names, (0..7).map(|i| format!("user{i}")).collect::<Vec<_>>());
    assert!(pages >= 4, "7 users in pages of 2 take 4 pages, took {pages}");

    let all = api.ok("list_users", json!({"user_pool_id": pool, "limit": 2, "all_pages": true})).await;
    assert_eq!(all["Users"].as_array().unwrap().len(), 7);
    assert!(all.get("PaginationToken").is_none());

    let groups = api.ok("list_groups", json!({"user_pool_id": pool, "limit": 2, "all_pages": true})).await;
    assert_eq!(groups["Groups"].as_array().unwrap().len(), 5);

    for i in 0..4 {
        api.pool(&format!("Extra Pool {i}")).await;
    }
    let pools = api.ok("list_user_pools", json!({"max_results": 2, "all_pages": true})).await;
    assert_eq!(pools["UserPools"].as_array().unwrap().len(), 5);

    match api.call("list_users", json!({"user_pool_id": pool, "limit": 2, "all_pages": true, "max_pages": 2})).await {
        Err(InvokeError::Connector(message)) => {
            assert!(message.contains("did not end within 2 pages (4 items so far)"), "{message}")
        }
        other => panic!("the page bound must stop the listing, got {other:?}"),
    }
    match api.call("list_users", json!({"user_pool_id": pool, "max_pages": 0})).await {
        Err(InvokeError::InvalidInput(message)) => assert!(message.starts_with("max_pages:"), "{message}"),
        other => panic!("expected invalid input, got {other:?}"),
    }
}

#[tokio::test]
async fn pagination_on_moto() {
    pagination(Kind::Moto).await;
}

#[tokio::test]
async fn pagination_on_ministack() {
    pagination(Kind::Ministack { auth: false }).await;
}

#[tokio::test]
async fn universal_operation_calls_any_action() {
    let api = Api::start(Kind::Moto).await;
    let created = api
        .ok(
            "call_api",
            json!({"action": "CreateUserPool", "input": {"PoolName": "Raw Pool", "MfaConfiguration": "OFF"}}),
        )
        .await;
    let id = created["UserPool"]["Id"].as_str().unwrap();
    let described = api.sdk().describe_user_pool().user_pool_id(id).send().await.unwrap();
    assert_eq!(described.user_pool().unwrap().name(), Some("Raw Pool"));
    match api.call("call_api", json!({"action": "DescribeUserPool", "input": {"UserPoolId": "us-east-1_none"}})).await {
        Err(InvokeError::Service { code, .. }) => assert_eq!(code, "ResourceNotFoundException"),
        other => panic!("expected a service error, got {other:?}"),
    }
}
