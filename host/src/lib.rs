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
//!
//! The crate is layered: `sandbox` runs guests (wasmtime), `capability` is
//! the signed-HTTP door (AWS), `identity` holds credentials, `runtime` ties
//! them into loaded connectors, `workflow` runs steps over them, and `cli`
//! is a thin shell over all of it.

mod capability;
pub mod cli;
mod digest;
mod disk_cache;
mod error;
mod escape;
mod files;
mod identity;
mod oci;
pub mod queue;
mod runtime;
mod sandbox;
pub mod server;
pub mod workflow;

pub use capability::{
    ConnectorIdentity, ConnectorSelector, Endpoint, Endpoints, Grant, GrantRule, Grants, HttpLimits, RetryPolicy,
    SendError, sigv4,
};
pub use disk_cache::Pruned;
pub use error::{InvokeError, LoadError};
pub use escape::{Untrusted, escape_untrusted, escape_untrusted_json, truncate_chars};
pub use identity::{
    Authentication, AuthenticationKind, AuthenticationSummary, Authentications, CredentialsConfig, SecretRef,
};
pub use oci::{BlobStore, OciReference, Pulled, Registries, RegistryConfig};
pub use runtime::{
    CallContext, CallerIdentity, ComponentSource, Connector, ConnectorHost, DirectoryWatch, Effect, HostConfig,
    Inspection, LoadOptions, Manifest, OperationHints, OperationInfo, Reloaded, Runtime, RuntimeEvent,
};
pub use sandbox::{ArtifactCache, SandboxLimits};

/// AWS credentials type accepted by [`CredentialsConfig::Static`].
pub use aws_credential_types::Credentials;
