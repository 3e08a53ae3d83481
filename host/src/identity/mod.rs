//! Who the host signs as: its own AWS identity and the named
//! authentications of an authentications file, each with credentials
//! resolved by aws-config and cached by the host, never shown to a
//! connector.

mod authentications;
mod credentials;
mod signer;

pub use authentications::{Authentication, AuthenticationKind, AuthenticationSummary, Authentications, SecretRef};
pub use credentials::CredentialsConfig;
pub(crate) use signer::{Identities, Identity, cached_provider};
