//! A host for WebAssembly connectors.
//!
//! A connector is a component (`wasm32-wasip2`) implementing the
//! `connector:api` WIT contract: it lists its operations with JSON Schemas
//! and runs one when asked. Connectors run sandboxed, with no files,
//! environment or sockets; their only way out is the host's signed-HTTP
//! capability, which sends requests to the AWS services they were granted,
//! signed with SigV4 using credentials only the host holds.
//!
//! Start with [`ConnectorHost`].

mod artifact_cache;
mod bindings;
pub mod cli;
mod credentials;
mod egress;
mod endpoint;
mod engine;
mod error;
mod guest_output;
mod host;
mod invoke;
mod plugin;
mod policy;
mod retry;
mod signed_http;
pub mod sigv4;
pub mod workflow;

pub use artifact_cache::ArtifactCache;
pub use credentials::CredentialsConfig;
pub use endpoint::{Endpoint, Endpoints};
pub use engine::SandboxLimits;
pub use error::InvokeError;
pub use host::{ConnectorHost, HostConfig};
pub use plugin::{Connector, Manifest, OperationInfo};
pub use policy::{Grant, Grants};
pub use retry::RetryPolicy;
pub use signed_http::HttpLimits;

/// AWS credentials type accepted by [`CredentialsConfig::Static`].
pub use aws_credential_types::Credentials;
