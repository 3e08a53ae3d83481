//! Who the host signs as: AWS credentials resolved by aws-config and cached
//! by the host, never shown to a connector.

mod credentials;

pub use credentials::CredentialsConfig;
pub(crate) use credentials::{CredentialCache, load_sdk_config};
