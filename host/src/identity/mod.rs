//! Who the host signs as: its own AWS identity and the named
//! authentications of an authentications file, each with credentials
//! resolved by aws-config and cached by the host, and connections to HTTP
//! APIs with the credentials the host applies to them; none ever shown to
//! a connector.

mod authentications;
mod connections;
mod credentials;
mod signer;
mod token_store;

pub use authentications::{Authentication, AuthenticationKind, AuthenticationSummary, Authentications, SecretRef};
pub(crate) use connections::{Applied, Connection, Outgoing};
pub use connections::{
    ClientAuth, ConnectionConfig, ConnectionSummary, KeyPlacement, Scheme, SignatureEncoding, is_api_name,
};
pub use credentials::CredentialsConfig;
pub(crate) use signer::{Identities, Identity, cached_provider};
