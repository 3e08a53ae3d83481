//! More of the Cognito API end to end on the emulators: app clients,
//! domains and hosted UI styling, identity providers and linking, resource
//! servers and tags, the password and sign-up flows, tokens, MFA and
//! sign-out, and auth events. Each effect is read back through the official
//! SDK (or, for a pure read, compared with the SDK's answer to the same
//! call). Where an emulator does not implement an operation, the test checks
//! that the call reaches it and fails as a service error.

use connector_host::InvokeError;
use connector_tests::api::{Api, implements, not_implemented, sdk_code};
use connector_tests::emulator::{Kind, venv};
use serde_json::{Value, json};

const PASSWORD: &str = "Sup3r-secret-pw!";
const MINISTACK: Kind = Kind::Ministack { auth: false };

/// Calls `operation` through the host without AWS credentials.
async fn anonymous_call(api: &Api, operation: &str, input: Value) -> Result<Value, InvokeError> {
    let (host, cognito) = &api.anonymous;
    host.invoke(cognito, operation, &input).await
}

/// The code of the service error `result` must be.
fn service_code(operation: &str, result: Result<Value, InvokeError>) -> String {
    match result {
        Err(InvokeError::Service { code, .. }) => code,
        other => panic!("{operation} should fail as a service error, got {other:?}"),
    }
}

/// `api.anonymous(operation, input)` where the emulator implements the
/// operation; elsewhere checks that the emulator says it does not.
async fn anonymous_where_implemented(api: &Api, operation: &str, input: Value) -> Option<Value> {
    if implements(api.kind, operation) {
        return Some(api.anonymous(operation, input).await);
    }
    let result = anonymous_call(api, operation, input).await;
    assert!(
        not_implemented(&api.emulator, operation, &result),
        "{operation} is not implemented by {:?}, yet it gave {result:?}",
        api.kind
    );
    None
}

/// A read: its answer where the emulator implements it; elsewhere checks
/// that it fails as a service error.
async fn read_where_implemented(api: &Api, operation: &str, input: Value) -> Option<Value> {
    if implements(api.kind, operation) {
        return Some(api.ok(operation, input).await);
    }
    assert!(!api.ok_where_implemented(operation, input).await);
    None
}

/// The current RFC 6238 code (HMAC-SHA1, 30 s, 6 digits) for a base32
/// secret, as an authenticator app would show it.
fn totp(secret: &str) -> String {
    // A code made in the last seconds of its 30 s window may be checked in
    // the next one: wait for a fresh window instead.
    let into_window = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64() % 30.0;
    if into_window > 25.0 {
        std::thread::sleep(std::time::Duration::from_secs_f64(30.0 - into_window + 0.5));
    }
    let script = "import base64, hashlib, hmac, struct, sys, time\n\
                  s = sys.argv[1]\n\
                  key = base64.b32decode(s + '=' * (-len(s) % 8), casefold=True)\n\
                  mac = hmac.new(key, struct.pack('>Q', int(time.time() // 30)), hashlib.sha1).digest()\n\
                  o = mac[-1] & 15\n\
                  print('%06d' % ((struct.unpack('>I', mac[o:o + 4])[0] & 0x7FFFFFFF) % 10**6))";
    let output = std::process::Command::new(venv().join("bin/python"))
        .args(["-c", script, secret])
        .output()
        .expect("the venv's python runs");
    assert!(output.status.success(), "computing the TOTP code failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// An app client allowing the password and refresh flows.
async fn password_client(api: &Api, pool: &str) -> String {
    let client = api
        .ok(
            "create_user_pool_client",
            json!({"user_pool_id": pool, "client_name": "app",
                   "explicit_auth_flows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_ADMIN_USER_PASSWORD_AUTH",
                                           "ALLOW_REFRESH_TOKEN_AUTH"]}),
        )
        .await;
    client["UserPoolClient"]["ClientId"].as_str().unwrap().to_owned()
}

/// A confirmed user with `PASSWORD` and the given attributes.
async fn confirmed_user(api: &Api, pool: &str, username: &str, attributes: Value) {
    api.ok(
        "admin_create_user",
        json!({"user_pool_id": pool, "username": username, "message_action": "SUPPRESS",
               "user_attributes": attributes}),
    )
    .await;
    api.ok(
        "admin_set_user_password",
        json!({"user_pool_id": pool, "username": username, "password": PASSWORD, "permanent": true}),
    )
    .await;
}

/// Signs in with USER_PASSWORD_AUTH through the host without credentials.
async fn sign_in(api: &Api, client_id: &str, username: &str, password: &str) -> Value {
    api.anonymous(
        "initiate_auth",
        json!({"auth_flow": "USER_PASSWORD_AUTH", "client_id": client_id,
               "auth_parameters": {"USERNAME": username, "PASSWORD": password}}),
    )
    .await
}

async fn user_status(api: &Api, pool: &str, username: &str) -> String {
    let user = api.sdk().admin_get_user().user_pool_id(pool).username(username).send().await.unwrap();
    user.user_status().map(|s| s.as_str().to_owned()).unwrap_or_default()
}

async fn attribute(api: &Api, pool: &str, username: &str, name: &str) -> Option<String> {
    let user = api.sdk().admin_get_user().user_pool_id(pool).username(username).send().await.unwrap();
    user.user_attributes().iter().find(|a| a.name() == name).and_then(|a| a.value()).map(str::to_owned)
}

// App clients: list, describe, update, delete.

async fn app_clients(kind: Kind) {
    let api = Api::start(kind).await;
    let sdk = api.sdk();
    let pool = api.pool("Clients Pool").await;
    let mut ids = Vec::new();
    for name in ["web", "mobile"] {
        let created = api.ok("create_user_pool_client", json!({"user_pool_id": pool, "client_name": name})).await;
        ids.push(created["UserPoolClient"]["ClientId"].as_str().unwrap().to_owned());
    }
    let (web, mobile) = (&ids[0], &ids[1]);

    let listed = api.ok("list_user_pool_clients", json!({"user_pool_id": pool, "max_results": 10})).await;
    let mut names: Vec<&str> =
        listed["UserPoolClients"].as_array().unwrap().iter().map(|c| c["ClientName"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["mobile", "web"]);
    let sdk_listed = sdk.list_user_pool_clients().user_pool_id(&pool).max_results(10).send().await.unwrap();
    assert_eq!(sdk_listed.user_pool_clients().len(), 2);

    let described = api.ok("describe_user_pool_client", json!({"user_pool_id": pool, "client_id": web})).await;
    assert_eq!(described["UserPoolClient"]["ClientName"], "web");
    assert_eq!(described["UserPoolClient"]["UserPoolId"], pool.as_str());

    let updated = api
        .ok(
            "update_user_pool_client",
            json!({"user_pool_id": pool, "client_id": web, "client_name": "web-v2",
                   "refresh_token_validity": 10,
                   "explicit_auth_flows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
                   "callback_urls": ["https://app.example.com/callback"]}),
        )
        .await;
    assert_eq!(updated["UserPoolClient"]["ClientName"], "web-v2");
    let client = sdk.describe_user_pool_client().user_pool_id(&pool).client_id(web).send().await.unwrap();
    let client = client.user_pool_client().unwrap();
    assert_eq!(client.client_name(), Some("web-v2"));
    assert_eq!(client.refresh_token_validity(), 10);
    assert_eq!(client.callback_urls(), ["https://app.example.com/callback"]);
    let flows: Vec<&str> = client.explicit_auth_flows().iter().map(|f| f.as_str()).collect();
    assert_eq!(flows, ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]);

    api.ok("delete_user_pool_client", json!({"user_pool_id": pool, "client_id": mobile})).await;
    let gone = sdk.describe_user_pool_client().user_pool_id(&pool).client_id(mobile).send().await.unwrap_err();
    assert_eq!(sdk_code(gone), "ResourceNotFoundException");
    let sdk_listed = sdk.list_user_pool_clients().user_pool_id(&pool).max_results(10).send().await.unwrap();
    let left: Vec<&str> = sdk_listed.user_pool_clients().iter().filter_map(|c| c.client_id()).collect();
    assert_eq!(left, [web.as_str()]);
}

#[tokio::test]
async fn app_clients_on_moto() {
    app_clients(Kind::Moto).await;
}

#[tokio::test]
async fn app_clients_on_ministack() {
    app_clients(MINISTACK).await;
}

// Domains and classic hosted UI customization.

async fn domains_and_ui_customization(kind: Kind) {
    let api = Api::start(kind).await;
    let sdk = api.sdk();
    let pool = api.pool("Domain Pool").await;
    let client = api.ok("create_user_pool_client", json!({"user_pool_id": pool, "client_name": "web"})).await;
    let client_id = client["UserPoolClient"]["ClientId"].as_str().unwrap().to_owned();
    let first_cert = "arn:aws:acm:us-east-1:123456789012:certificate/11111111-1111-1111-1111-111111111111";
    let second_cert = "arn:aws:acm:us-east-1:123456789012:certificate/22222222-2222-2222-2222-222222222222";

    api.ok(
        "create_user_pool_domain",
        json!({"user_pool_id": pool, "domain": "auth.example.com",
               "custom_domain_config": {"certificate_arn": first_cert}}),
    )
    .await;
    let described = api.ok("describe_user_pool_domain", json!({"domain": "auth.example.com"})).await;
    let description = &described["DomainDescription"];
    assert_eq!(description["UserPoolId"], pool.as_str());
    assert_eq!(description["Domain"], "auth.example.com");
    assert_eq!(description["Status"], "ACTIVE");
    let before = description["CloudFrontDistribution"].as_str().unwrap().to_owned();
    assert!(before.ends_with(".cloudfront.net"), "{before}");
    let sdk_described = sdk.describe_user_pool_domain().domain("auth.example.com").send().await.unwrap();
    assert_eq!(sdk_described.domain_description().unwrap().cloud_front_distribution(), Some(before.as_str()));

    let updated = api
        .ok(
            "update_user_pool_domain",
            json!({"user_pool_id": pool, "domain": "auth.example.com", "managed_login_version": 2,
                   "custom_domain_config": {"certificate_arn": second_cert}}),
        )
        .await;
    let sdk_described = sdk.describe_user_pool_domain().domain("auth.example.com").send().await.unwrap();
    let description = sdk_described.domain_description().unwrap();
    assert_eq!(description.cloud_front_distribution(), updated["CloudFrontDomain"].as_str());
    match kind {
        // moto names the distribution after the certificate.
        Kind::Moto => assert_ne!(description.cloud_front_distribution(), Some(before.as_str())),
        Kind::Ministack { .. } => {
            assert_eq!(description.custom_domain_config().map(|c| c.certificate_arn()), Some(second_cert));
            assert_eq!(description.managed_login_version(), Some(2));
        }
    }

    let css = ".banner-customizable {background-color: #123456;}";
    if api
        .ok_where_implemented("set_ui_customization", json!({"user_pool_id": pool, "client_id": client_id, "css": css}))
        .await
    {
        let ui = sdk.get_ui_customization().user_pool_id(&pool).client_id(&client_id).send().await.unwrap();
        assert_eq!(ui.ui_customization().unwrap().css(), Some(css));
    }
    let get = json!({"user_pool_id": pool, "client_id": client_id});
    if let Some(ours) = read_where_implemented(&api, "get_ui_customization", get).await {
        assert_eq!(ours["UICustomization"]["CSS"], css);
        assert_eq!(ours["UICustomization"]["ClientId"], client_id.as_str());
    }
}

#[tokio::test]
async fn domains_and_ui_customization_on_moto() {
    domains_and_ui_customization(Kind::Moto).await;
}

#[tokio::test]
async fn domains_and_ui_customization_on_ministack() {
    domains_and_ui_customization(MINISTACK).await;
}

// Identity providers: describe, update, look up by identifier; linking a
// federated identity to a local user and unlinking it.

async fn identity_providers_and_linking(kind: Kind) {
    let api = Api::start(kind).await;
    let sdk = api.sdk();
    let pool = api.pool("Federation Pool").await;
    let details = json!({"client_id": "corp-client", "client_secret": "s", "attributes_request_method": "GET",
                         "oidc_issuer": "https://idp.example.com", "authorize_scopes": "openid"});
    api.ok(
        "create_identity_provider",
        json!({"user_pool_id": pool, "provider_name": "Corp", "provider_type": "OIDC", "provider_details": details,
               "attribute_mapping": {"email": "email"}, "idp_identifiers": ["corp.example.com"]}),
    )
    .await;
    let described = api.ok("describe_identity_provider", json!({"user_pool_id": pool, "provider_name": "Corp"})).await;
    assert_eq!(described["IdentityProvider"]["ProviderType"], "OIDC");
    assert_eq!(described["IdentityProvider"]["IdpIdentifiers"], json!(["corp.example.com"]));
    assert_eq!(described["IdentityProvider"]["ProviderDetails"]["client_id"], "corp-client");

    let mut new_details = details.clone();
    new_details["client_id"] = json!("corp-client-2");
    new_details["authorize_scopes"] = json!("openid email");
    api.ok(
        "update_identity_provider",
        json!({"user_pool_id": pool, "provider_name": "Corp", "provider_details": new_details,
               "attribute_mapping": {"email": "email", "name": "name"}, "idp_identifiers": ["corp.example.org"]}),
    )
    .await;
    let idp = sdk.describe_identity_provider().user_pool_id(&pool).provider_name("Corp").send().await.unwrap();
    let provider = idp.identity_provider().unwrap();
    let detail = |key: &str| provider.provider_details().and_then(|d| d.get(key)).map(String::as_str);
    assert_eq!(detail("client_id"), Some("corp-client-2"));
    assert_eq!(detail("authorize_scopes"), Some("openid email"));
    assert_eq!(provider.attribute_mapping().and_then(|m| m.get("name")).map(String::as_str), Some("name"));
    assert_eq!(provider.idp_identifiers(), ["corp.example.org"]);

    let lookup = json!({"user_pool_id": pool, "idp_identifier": "corp.example.org"});
    if let Some(found) = read_where_implemented(&api, "get_identity_provider_by_identifier", lookup).await {
        assert_eq!(found["IdentityProvider"]["ProviderName"], "Corp");
        let sdk_found = sdk
            .get_identity_provider_by_identifier()
            .user_pool_id(&pool)
            .idp_identifier("corp.example.org")
            .send()
            .await
            .unwrap();
        assert_eq!(sdk_found.identity_provider().unwrap().provider_name(), Some("Corp"));
        let missing = api
            .call(
                "get_identity_provider_by_identifier",
                json!({"user_pool_id": pool, "idp_identifier": "corp.example.com"}),
            )
            .await;
        assert_eq!(service_code("get_identity_provider_by_identifier", missing), "ResourceNotFoundException");
    }

    api.ok("admin_create_user", json!({"user_pool_id": pool, "username": "dana", "message_action": "SUPPRESS"})).await;
    let corp_user = json!({"provider_name": "Corp", "provider_attribute_name": "Cognito_Subject",
                           "provider_attribute_value": "corp-123"});
    let link = json!({"user_pool_id": pool, "source_user": corp_user,
                      "destination_user": {"provider_name": "Cognito", "provider_attribute_value": "dana"}});
    if api.ok_where_implemented("admin_link_provider_for_user", link).await {
        let identities = attribute(&api, &pool, "dana", "identities").await.expect("an identities attribute");
        let identities: Value = serde_json::from_str(&identities).unwrap();
        assert_eq!(identities[0]["userId"], "corp-123");
        assert_eq!(identities[0]["providerName"], "Corp");
    }
    if api
        .ok_where_implemented("admin_disable_provider_for_user", json!({"user_pool_id": pool, "user": corp_user}))
        .await
    {
        assert_eq!(attribute(&api, &pool, "dana", "identities").await, None);
        // Nothing is linked any more.
        let again = api.call("admin_disable_provider_for_user", json!({"user_pool_id": pool, "user": corp_user})).await;
        assert_eq!(service_code("admin_disable_provider_for_user", again), "ResourceNotFoundException");
    }
}

#[tokio::test]
async fn identity_providers_and_linking_on_moto() {
    identity_providers_and_linking(Kind::Moto).await;
}

#[tokio::test]
async fn identity_providers_and_linking_on_ministack() {
    identity_providers_and_linking(MINISTACK).await;
}

// Resource servers and user pool tags.

async fn resource_servers_and_tags(kind: Kind) {
    let api = Api::start(kind).await;
    let sdk = api.sdk();
    let created = api.ok("create_user_pool", json!({"pool_name": "Tagged Pool"})).await;
    let pool = created["UserPool"]["Id"].as_str().unwrap().to_owned();
    let arn = created["UserPool"]["Arn"].as_str().unwrap().to_owned();
    let identifier = "https://api.example.com";

    api.ok(
        "create_resource_server",
        json!({"user_pool_id": pool, "identifier": identifier, "name": "API",
               "scopes": [{"scope_name": "read", "scope_description": "Read"}]}),
    )
    .await;
    let described = api.ok("describe_resource_server", json!({"user_pool_id": pool, "identifier": identifier})).await;
    assert_eq!(described["ResourceServer"]["Name"], "API");
    assert_eq!(described["ResourceServer"]["Scopes"][0]["ScopeName"], "read");

    let update = json!({"user_pool_id": pool, "identifier": identifier, "name": "API v2",
                        "scopes": [{"scope_name": "read", "scope_description": "Read"},
                                   {"scope_name": "write", "scope_description": "Write"}]});
    if api.ok_where_implemented("update_resource_server", update).await {
        let server = sdk.describe_resource_server().user_pool_id(&pool).identifier(identifier).send().await.unwrap();
        let server = server.resource_server().unwrap();
        assert_eq!(server.name(), Some("API v2"));
        let scopes: Vec<&str> = server.scopes().iter().map(|s| s.scope_name()).collect();
        assert_eq!(scopes, ["read", "write"]);
    }

    let pool_tags = || async {
        let described = sdk.describe_user_pool().user_pool_id(&pool).send().await.unwrap();
        let mut tags: Vec<(String, String)> = described
            .user_pool()
            .unwrap()
            .user_pool_tags()
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        tags.sort();
        tags
    };
    let tag = json!({"resource_arn": arn, "tags": {"team": "identity", "stage": "test"}});
    if api.ok_where_implemented("tag_resource", tag).await {
        assert_eq!(
            pool_tags().await,
            [("stage".to_owned(), "test".to_owned()), ("team".to_owned(), "identity".to_owned())]
        );
    }
    if api.ok_where_implemented("untag_resource", json!({"resource_arn": arn, "tag_keys": ["stage"]})).await {
        assert_eq!(pool_tags().await, [("team".to_owned(), "identity".to_owned())]);
    }
    if let Some(ours) = read_where_implemented(&api, "list_tags_for_resource", json!({"resource_arn": arn})).await {
        assert_eq!(ours["Tags"], json!({"team": "identity"}));
        let theirs = sdk.list_tags_for_resource().resource_arn(&arn).send().await.unwrap();
        assert_eq!(theirs.tags().and_then(|t| t.get("team")).map(String::as_str), Some("identity"));
    }
}

#[tokio::test]
async fn resource_servers_and_tags_on_moto() {
    resource_servers_and_tags(Kind::Moto).await;
}

#[tokio::test]
async fn resource_servers_and_tags_on_ministack() {
    resource_servers_and_tags(MINISTACK).await;
}

// Sign-up confirmation, password recovery and change, self-service
// attribute updates and account deletion, and an administrator's reset.
//
// Confirmation codes: ministack issues fixed ones (123456 for sign-up,
// 654321 for password resets) and, without AUTH, does not check them; moto
// accepts any code except one of its own "moto-confirmation-code:" codes
// that does not match the one it issued.

async fn password_and_sign_up(kind: Kind) {
    let api = Api::start(kind).await;
    let pool = api.pool("Password Pool").await;
    let client_id = password_client(&api, &pool).await;

    api.anonymous(
        "sign_up",
        json!({"client_id": client_id, "username": "erin", "password": PASSWORD,
               "user_attributes": [{"name": "email", "value": "erin@example.com"}]}),
    )
    .await;
    assert_eq!(user_status(&api, &pool, "erin").await, "UNCONFIRMED");
    if let Some(resent) = anonymous_where_implemented(
        &api,
        "resend_confirmation_code",
        json!({"client_id": client_id, "username": "erin"}),
    )
    .await
    {
        assert_eq!(resent["CodeDeliveryDetails"]["DeliveryMedium"], "EMAIL");
        assert_eq!(resent["CodeDeliveryDetails"]["AttributeName"], "email");
    }
    api.anonymous(
        "confirm_sign_up",
        json!({"client_id": client_id, "username": "erin", "confirmation_code": "123456"}),
    )
    .await;
    assert_eq!(user_status(&api, &pool, "erin").await, "CONFIRMED");

    let forgot = api.anonymous("forgot_password", json!({"client_id": client_id, "username": "erin"})).await;
    assert!(forgot["CodeDeliveryDetails"]["DeliveryMedium"].is_string(), "{forgot}");
    let new_password = "N3w-secret-pw!";
    if kind == Kind::Moto {
        let wrong = anonymous_call(
            &api,
            "confirm_forgot_password",
            json!({"client_id": client_id, "username": "erin", "password": new_password,
                   "confirmation_code": "moto-confirmation-code:000000"}),
        )
        .await;
        assert_eq!(service_code("confirm_forgot_password", wrong), "ExpiredCodeException");
    }
    api.anonymous(
        "confirm_forgot_password",
        json!({"client_id": client_id, "username": "erin", "password": new_password, "confirmation_code": "654321"}),
    )
    .await;
    let old = api
        .sdk()
        .initiate_auth()
        .client_id(&client_id)
        .auth_flow("USER_PASSWORD_AUTH".into())
        .auth_parameters("USERNAME", "erin")
        .auth_parameters("PASSWORD", PASSWORD)
        .send()
        .await
        .unwrap_err();
    assert_eq!(sdk_code(old), "NotAuthorizedException");
    let signed_in = sign_in(&api, &client_id, "erin", new_password).await;
    let access_token = signed_in["AuthenticationResult"]["AccessToken"].as_str().unwrap().to_owned();

    let third_password = "Th1rd-secret-pw!";
    api.anonymous(
        "change_password",
        json!({"access_token": access_token, "previous_password": new_password, "proposed_password": third_password}),
    )
    .await;
    let admin_auth = |password: &'static str| {
        api.sdk()
            .admin_initiate_auth()
            .user_pool_id(&pool)
            .client_id(&client_id)
            .auth_flow("ADMIN_USER_PASSWORD_AUTH".into())
            .auth_parameters("USERNAME", "erin")
            .auth_parameters("PASSWORD", password)
            .send()
    };
    assert!(admin_auth(third_password).await.unwrap().authentication_result().is_some());
    assert_eq!(sdk_code(admin_auth(new_password).await.unwrap_err()), "NotAuthorizedException");

    api.anonymous(
        "update_user_attributes",
        json!({"access_token": access_token, "user_attributes": [{"name": "given_name", "value": "Erin"}]}),
    )
    .await;
    assert_eq!(attribute(&api, &pool, "erin", "given_name").await.as_deref(), Some("Erin"));

    if anonymous_where_implemented(&api, "delete_user", json!({"access_token": access_token})).await.is_some() {
        let gone = api.sdk().admin_get_user().user_pool_id(&pool).username("erin").send().await.unwrap_err();
        assert_eq!(sdk_code(gone), "UserNotFoundException");
    }

    // An administrator's reset: the user must choose a new password.
    confirmed_user(
        &api,
        &pool,
        "frank",
        json!([{"name": "email", "value": "frank@example.com"}, {"name": "email_verified", "value": "true"}]),
    )
    .await;
    api.ok("admin_reset_user_password", json!({"user_pool_id": pool, "username": "frank"})).await;
    assert_eq!(user_status(&api, &pool, "frank").await, "RESET_REQUIRED");
    let attempt = api
        .call(
            "admin_initiate_auth",
            json!({"user_pool_id": pool, "client_id": client_id, "auth_flow": "ADMIN_USER_PASSWORD_AUTH",
                   "auth_parameters": {"USERNAME": "frank", "PASSWORD": PASSWORD}}),
        )
        .await;
    match kind {
        Kind::Moto => assert_eq!(attempt.unwrap()["ChallengeName"], "NEW_PASSWORD_REQUIRED"),
        Kind::Ministack { .. } => {
            assert_eq!(service_code("admin_initiate_auth", attempt), "PasswordResetRequiredException");
            api.anonymous(
                "confirm_forgot_password",
                json!({"client_id": client_id, "username": "frank", "password": new_password,
                       "confirmation_code": "654321"}),
            )
            .await;
            assert_eq!(user_status(&api, &pool, "frank").await, "CONFIRMED");
            let tokens = sign_in(&api, &client_id, "frank", new_password).await;
            assert!(tokens["AuthenticationResult"]["AccessToken"].is_string());
        }
    }
}

#[tokio::test]
async fn password_and_sign_up_on_moto() {
    password_and_sign_up(Kind::Moto).await;
}

#[tokio::test]
async fn password_and_sign_up_on_ministack() {
    password_and_sign_up(MINISTACK).await;
}

// Tokens, MFA and sign-out: the administrator's sign-in with a challenge,
// refreshing and revoking tokens, signing out everywhere, and TOTP MFA from
// enrolment to a challenged sign-in.

async fn tokens_mfa_and_sign_out(kind: Kind) {
    let api = Api::start(kind).await;
    let sdk = api.sdk();
    let pool = api.pool("Token Pool").await;
    let client_id = password_client(&api, &pool).await;
    let refresh_fails = |refresh_token: String| {
        let sdk = &sdk;
        let client_id = &client_id;
        async move {
            let refused = sdk
                .initiate_auth()
                .client_id(client_id)
                .auth_flow("REFRESH_TOKEN_AUTH".into())
                .auth_parameters("REFRESH_TOKEN", refresh_token)
                .send()
                .await
                .unwrap_err();
            assert_eq!(sdk_code(refused), "NotAuthorizedException");
        }
    };

    // A first sign-in with a temporary password answers a challenge.
    api.ok(
        "admin_create_user",
        json!({"user_pool_id": pool, "username": "gina", "temporary_password": "Temp-0rary-pw!",
               "message_action": "SUPPRESS"}),
    )
    .await;
    let challenge = api
        .ok(
            "admin_initiate_auth",
            json!({"user_pool_id": pool, "client_id": client_id, "auth_flow": "ADMIN_USER_PASSWORD_AUTH",
                   "auth_parameters": {"USERNAME": "gina", "PASSWORD": "Temp-0rary-pw!"}}),
        )
        .await;
    assert_eq!(challenge["ChallengeName"], "NEW_PASSWORD_REQUIRED");
    let answered = api
        .ok(
            "admin_respond_to_auth_challenge",
            json!({"user_pool_id": pool, "client_id": client_id, "challenge_name": "NEW_PASSWORD_REQUIRED",
                   "session": challenge["Session"],
                   "challenge_responses": {"USERNAME": "gina", "NEW_PASSWORD": PASSWORD}}),
        )
        .await;
    assert_eq!(user_status(&api, &pool, "gina").await, "CONFIRMED");
    let refresh_token = answered["AuthenticationResult"]["RefreshToken"].as_str().unwrap().to_owned();

    let refresh = json!({"client_id": client_id, "refresh_token": refresh_token});
    if let Some(refreshed) = anonymous_where_implemented(&api, "get_tokens_from_refresh_token", refresh).await {
        let access_token = refreshed["AuthenticationResult"]["AccessToken"].as_str().unwrap();
        let me = sdk.get_user().access_token(access_token).send().await.unwrap();
        assert_eq!(me.username(), "gina");
    }
    let revoke = json!({"client_id": client_id, "token": refresh_token});
    if anonymous_where_implemented(&api, "revoke_token", revoke).await.is_some() {
        refresh_fails(refresh_token.clone()).await;
    }

    // Signing out everywhere ends the refresh tokens issued before. ministack
    // compares issue times in whole seconds, hence the pause.
    let tokens = sign_in(&api, &client_id, "gina", PASSWORD).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let access_token = tokens["AuthenticationResult"]["AccessToken"].as_str().unwrap().to_owned();
    api.anonymous("global_sign_out", json!({"access_token": access_token})).await;
    refresh_fails(tokens["AuthenticationResult"]["RefreshToken"].as_str().unwrap().to_owned()).await;
    if kind == Kind::Moto {
        let refused = sdk.get_user().access_token(&access_token).send().await.unwrap_err();
        assert_eq!(sdk_code(refused), "NotAuthorizedException");
    }

    let tokens = sign_in(&api, &client_id, "gina", PASSWORD).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    api.ok("admin_user_global_sign_out", json!({"user_pool_id": pool, "username": "gina"})).await;
    refresh_fails(tokens["AuthenticationResult"]["RefreshToken"].as_str().unwrap().to_owned()).await;
    if kind == Kind::Moto {
        let access_token = tokens["AuthenticationResult"]["AccessToken"].as_str().unwrap();
        let refused = sdk.get_user().access_token(access_token).send().await.unwrap_err();
        assert_eq!(sdk_code(refused), "NotAuthorizedException");
    }

    // TOTP MFA: enrol an authenticator, prefer it, and sign in through it.
    api.ok(
        "set_user_pool_mfa_config",
        json!({"user_pool_id": pool, "software_token_mfa_configuration": {"enabled": true},
               "mfa_configuration": "OPTIONAL"}),
    )
    .await;
    let tokens = sign_in(&api, &client_id, "gina", PASSWORD).await;
    let access_token = tokens["AuthenticationResult"]["AccessToken"].as_str().unwrap().to_owned();
    let associated = api.anonymous("associate_software_token", json!({"access_token": access_token})).await;
    let secret = associated["SecretCode"].as_str().expect("a TOTP secret").to_owned();
    if kind == MINISTACK {
        // moto accepts any code unless told to check them.
        let wrong = anonymous_call(
            &api,
            "verify_software_token",
            json!({"access_token": access_token, "user_code": "000000", "friendly_device_name": "phone"}),
        )
        .await;
        assert_eq!(service_code("verify_software_token", wrong), "EnableSoftwareTokenMFAException");
    }
    let verified = api
        .anonymous(
            "verify_software_token",
            json!({"access_token": access_token, "user_code": totp(&secret), "friendly_device_name": "phone"}),
        )
        .await;
    assert_eq!(verified["Status"], "SUCCESS");
    api.anonymous(
        "set_user_mfa_preference",
        json!({"access_token": access_token,
               "software_token_mfa_settings": {"enabled": true, "preferred_mfa": true}}),
    )
    .await;
    let gina = sdk.admin_get_user().user_pool_id(&pool).username("gina").send().await.unwrap();
    assert_eq!(gina.preferred_mfa_setting(), Some("SOFTWARE_TOKEN_MFA"));
    assert_eq!(gina.user_mfa_setting_list(), ["SOFTWARE_TOKEN_MFA"]);

    let challenge = sign_in(&api, &client_id, "gina", PASSWORD).await;
    assert_eq!(challenge["ChallengeName"], "SOFTWARE_TOKEN_MFA");
    let answer = |code: String| {
        json!({"client_id": client_id, "challenge_name": "SOFTWARE_TOKEN_MFA", "session": challenge["Session"],
               "challenge_responses": {"USERNAME": "gina", "SOFTWARE_TOKEN_MFA_CODE": code}})
    };
    if kind == MINISTACK {
        let wrong = anonymous_call(&api, "respond_to_auth_challenge", answer("000000".into())).await;
        assert_eq!(service_code("respond_to_auth_challenge", wrong), "CodeMismatchException");
    }
    let answered = api.anonymous("respond_to_auth_challenge", answer(totp(&secret))).await;
    let access_token = answered["AuthenticationResult"]["AccessToken"].as_str().expect("tokens after MFA");
    let me = sdk.get_user().access_token(access_token).send().await.unwrap();
    assert_eq!(me.username(), "gina");

    // The administrator turns MFA off for the user: no more challenge.
    api.ok(
        "admin_set_user_mfa_preference",
        json!({"user_pool_id": pool, "username": "gina",
               "software_token_mfa_settings": {"enabled": false, "preferred_mfa": false}}),
    )
    .await;
    let gina = sdk.admin_get_user().user_pool_id(&pool).username("gina").send().await.unwrap();
    assert!(gina.user_mfa_setting_list().is_empty(), "{:?}", gina.user_mfa_setting_list());
    assert_ne!(gina.preferred_mfa_setting(), Some("SOFTWARE_TOKEN_MFA"));
    let direct = api
        .ok(
            "admin_initiate_auth",
            json!({"user_pool_id": pool, "client_id": client_id, "auth_flow": "ADMIN_USER_PASSWORD_AUTH",
                   "auth_parameters": {"USERNAME": "gina", "PASSWORD": PASSWORD}}),
        )
        .await;
    assert!(direct.get("ChallengeName").is_none(), "{direct}");
    assert!(direct["AuthenticationResult"]["AccessToken"].is_string());
}

#[tokio::test]
async fn tokens_mfa_and_sign_out_on_moto() {
    tokens_mfa_and_sign_out(Kind::Moto).await;
}

#[tokio::test]
async fn tokens_mfa_and_sign_out_on_ministack() {
    tokens_mfa_and_sign_out(MINISTACK).await;
}

// Auth events of a pool with threat protection, and feedback on them.

async fn auth_events(kind: Kind) {
    let api = Api::start(kind).await;
    let sdk = api.sdk();
    let created = api
        .ok(
            "create_user_pool",
            json!({"pool_name": "Audited Pool", "user_pool_add_ons": {"advanced_security_mode": "AUDIT"}}),
        )
        .await;
    let pool = created["UserPool"]["Id"].as_str().unwrap().to_owned();
    let client_id = password_client(&api, &pool).await;
    confirmed_user(&api, &pool, "hank", json!([])).await;
    let admin_sign_in = |password: &str| {
        api.call(
            "admin_initiate_auth",
            json!({"user_pool_id": pool, "client_id": client_id, "auth_flow": "ADMIN_USER_PASSWORD_AUTH",
                   "auth_parameters": {"USERNAME": "hank", "PASSWORD": password}}),
        )
    };
    assert!(admin_sign_in(PASSWORD).await.unwrap()["AuthenticationResult"]["AccessToken"].is_string());
    let refused = admin_sign_in("Wr0ng-password!").await;
    assert_eq!(service_code("admin_initiate_auth", refused), "NotAuthorizedException");

    let list = json!({"user_pool_id": pool, "username": "hank", "max_results": 10});
    let mut failed_event = None;
    if let Some(events) = read_where_implemented(&api, "admin_list_user_auth_events", list).await {
        let events = events["AuthEvents"].as_array().unwrap();
        let responses: Vec<&str> = events.iter().map(|e| e["EventResponse"].as_str().unwrap()).collect();
        assert_eq!(responses, ["Fail", "Pass"], "newest first");
        assert!(events.iter().all(|e| e["EventType"] == "SignIn"));
        failed_event = Some(events[0]["EventId"].as_str().unwrap().to_owned());
    }
    let event_id = failed_event.clone().unwrap_or_else(|| "no-event".to_owned());

    let feedback = json!({"user_pool_id": pool, "username": "hank", "event_id": event_id, "feedback_value": "Invalid"});
    if api.ok_where_implemented("admin_update_auth_event_feedback", feedback).await {
        let listed = sdk.admin_list_user_auth_events().user_pool_id(&pool).username("hank").send().await.unwrap();
        let event = listed.auth_events().iter().find(|e| e.event_id() == failed_event.as_deref()).unwrap();
        let given = event.event_feedback().expect("the feedback is recorded");
        assert_eq!(given.feedback_value().as_str(), "Invalid");
        assert_eq!(given.provider(), "Admin");
    }

    // The user's own feedback needs the token of a notification email; the
    // emulator sends none, so no token it could get is valid.
    let user_feedback = json!({"user_pool_id": pool, "username": "hank", "event_id": event_id,
                               "feedback_token": "not-a-token", "feedback_value": "Valid"});
    let answered = anonymous_call(&api, "update_auth_event_feedback", user_feedback).await;
    match answered {
        Err(InvokeError::Service { code, status, .. }) if implements(kind, "update_auth_event_feedback") => {
            assert_eq!((code.as_str(), status), ("NotAuthorizedException", 400))
        }
        other if not_implemented(&api.emulator, "update_auth_event_feedback", &other) => {}
        other => panic!("update_auth_event_feedback should be refused, got {other:?}"),
    }

    // A pool without threat protection keeps no events.
    if implements(kind, "admin_list_user_auth_events") {
        let plain = api.pool("Plain Pool").await;
        confirmed_user(&api, &plain, "hank", json!([])).await;
        let refused = api.call("admin_list_user_auth_events", json!({"user_pool_id": plain, "username": "hank"})).await;
        assert_eq!(service_code("admin_list_user_auth_events", refused), "UserPoolAddOnNotEnabledException");
    }
}

#[tokio::test]
async fn auth_events_on_moto() {
    auth_events(Kind::Moto).await;
}

#[tokio::test]
async fn auth_events_on_ministack() {
    auth_events(MINISTACK).await;
}
