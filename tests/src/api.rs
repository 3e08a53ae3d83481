//! [`Api`]: the Cognito connector loaded twice against one emulator, once
//! in a host with AWS credentials and once in a host with none, plus the
//! official SDK client to read results back.

use connector_host::{Connector, ConnectorHost, CredentialsConfig, InvokeError};
use serde_json::{Value, json};

use crate::emulator::{Emulator, Kind};
use crate::{components, host_config, sdk_client, test_credentials};

pub struct Api {
    pub kind: Kind,
    pub emulator: Emulator,
    pub signed: (ConnectorHost, Connector),
    pub anonymous: (ConnectorHost, Connector),
}

/// Operations an emulator does not implement (seen on the pinned versions):
/// the tests check that those calls fail as service errors instead.
pub fn implements(kind: Kind, operation: &str) -> bool {
    let missing: &[&str] = match kind {
        Kind::Moto => &[
            "admin_disable_provider_for_user",
            "admin_link_provider_for_user",
            "admin_list_user_auth_events",
            "admin_update_auth_event_feedback",
            "delete_resource_server",
            "delete_user",
            "get_identity_provider_by_identifier",
            "get_tokens_from_refresh_token",
            "get_ui_customization",
            "list_tags_for_resource",
            "resend_confirmation_code",
            "revoke_token",
            "set_ui_customization",
            "tag_resource",
            "untag_resource",
            "update_auth_event_feedback",
            "update_resource_server",
        ],
        Kind::Ministack { .. } => &["update_group", "admin_delete_user_attributes"],
    };
    !missing.contains(&operation)
}

/// The error code the official SDK got back.
pub fn sdk_code<E: aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata>(error: E) -> String {
    error.code().unwrap_or("<no code>").to_owned()
}

/// Whether `result` of `operation` is `emulator`'s own answer to an action
/// it does not implement: ministack's `InvalidAction`; moto's server fault
/// (HTTP 500) only when its log says the action is not implemented, since
/// moto answers malformed input with the same 500 (counting every 500 once
/// let operations pass whatever they sent). Any other error is a real
/// answer and must not pass for "not implemented".
pub fn not_implemented<T>(emulator: &Emulator, operation: &str, result: &Result<T, InvokeError>) -> bool {
    match (emulator.kind, result) {
        (Kind::Moto, Err(InvokeError::Service { status: 500, .. })) => {
            let said = format!("The {operation} action has not been implemented");
            emulator.logs_within(&said, std::time::Duration::from_secs(5))
        }
        (Kind::Ministack { .. }, Err(InvokeError::Service { code, status: 400, .. })) => code == "InvalidAction",
        _ => false,
    }
}

impl Api {
    /// Runs `operation` where the emulator implements it; elsewhere checks
    /// that the emulator says it does not. Returns whether it ran.
    pub async fn ok_where_implemented(&self, operation: &str, input: Value) -> bool {
        if implements(self.kind, operation) {
            self.ok(operation, input).await;
            return true;
        }
        let result = self.call(operation, input).await;
        assert!(
            not_implemented(&self.emulator, operation, &result),
            "{operation} is not implemented by {:?}, yet it gave {result:?}",
            self.kind
        );
        false
    }

    pub async fn start(kind: Kind) -> Api {
        let emulator = Emulator::start(kind);
        let signed = ConnectorHost::new(host_config(&emulator.endpoint(), test_credentials())).await.unwrap();
        let mut config = host_config(&emulator.endpoint(), test_credentials());
        config.credentials = CredentialsConfig::None;
        let anonymous = ConnectorHost::new(config).await.unwrap();
        let signed_cognito = signed.load(components::GUEST_COGNITO).await.unwrap();
        let anonymous_cognito = anonymous.load(components::GUEST_COGNITO).await.unwrap();
        Api { kind, emulator, signed: (signed, signed_cognito), anonymous: (anonymous, anonymous_cognito) }
    }

    pub async fn call(&self, operation: &str, input: Value) -> Result<Value, InvokeError> {
        self.signed.0.invoke(&self.signed.1, operation, &input).await
    }

    pub async fn ok(&self, operation: &str, input: Value) -> Value {
        self.call(operation, input).await.unwrap_or_else(|e| panic!("{operation}: {e}"))
    }

    /// Calls through a host that holds no AWS credentials at all.
    pub async fn anonymous(&self, operation: &str, input: Value) -> Value {
        let (host, cognito) = &self.anonymous;
        host.invoke(cognito, operation, &input).await.unwrap_or_else(|e| panic!("{operation} (no credentials): {e}"))
    }

    pub fn sdk(&self) -> aws_sdk_cognitoidentityprovider::Client {
        sdk_client(&self.emulator.endpoint(), test_credentials())
    }

    pub async fn pool(&self, name: &str) -> String {
        let created = self.ok("create_user_pool", json!({"pool_name": name})).await;
        created["UserPool"]["Id"].as_str().unwrap().to_owned()
    }
}
